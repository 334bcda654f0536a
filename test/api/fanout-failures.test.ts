// The fan-out worker facing failures: a job that always fails (a poison job) is retried with a
// growing wait, then dead-lettered with its error, while the jobs around it are delivered; a
// transient store failure charges no job. Seen through feed reads, /metrics, /readyz and the logs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../src/core/errors.js';
import type { Store } from '../../src/ports/store.js';
import { DEFAULT_RETRY } from '../../src/services/fanout-round.js';
import { parseExposition, total } from '../support/prometheus.js';
import { startServer, uid, type TestServer } from '../support/server.js';

/**
 * Wraps the store so that the fan-out worker's read of a poisoned feed fails (as a bug or bad data
 * would): the check of which activities the feed still holds, which only the worker makes for an add.
 */
function poisonable(poisoned: Map<string, () => Error>) {
  return (store: Store): Store => {
    const timelines = new Proxy(store.ports.timelines, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop !== 'entriesOf') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (app: string, feed: string, ...rest: unknown[]) => {
          const make = poisoned.get(feed);
          if (make) throw make();
          return (v as (...a: unknown[]) => unknown).call(target, app, feed, ...rest);
        };
      },
    });
    const ports = { ...store.ports, timelines };
    return new Proxy(store, {
      get(target, prop) {
        if (prop === 'ports') return ports;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
}

describe('a fan-out job that keeps failing', () => {
  let t: TestServer;
  let nowUs = Date.UTC(2026, 5, 1) * 1000;
  const poisoned = new Map<string, () => Error>();
  const logs: Record<string, unknown>[] = [];
  before(async () => {
    t = await startServer({
      worker: 'manual',
      fanout: { inline_max_followers: 0 },
      clock: { nowUs: () => nowUs },
      wrapStore: poisonable(poisoned),
      logs,
    });
  });
  after(() => t.close());

  const origin = () => t.baseUrl.replace(/\/api\/$/, '');
  const timelineIds = async (feed: string) => (await t.client().feed('timeline', feed).get({ limit: 10 })).results.map((a) => (a as { id: string }).id);

  it('is retried, then dead-lettered with its error, and never holds back the jobs around it', async () => {
    const c = t.client();
    const bad = uid('bad');
    const good = [uid('good'), uid('good')];
    const readers = { bad: uid('r'), good: [uid('r'), uid('r')] };
    await c.feed('timeline', readers.bad).follow('user', bad);
    for (let i = 0; i < good.length; i++) await c.feed('timeline', readers.good[i]).follow('user', good[i]);
    poisoned.set(`user:${bad}`, () => new Error('the follower page cannot be read'));

    // The poison job is the oldest in the queue: it used to block every job behind it.
    const poison = await c.feed('user', bad).addActivity({ actor: bad, verb: 'post', object: 'o:bad' });
    const first = await c.feed('user', good[0]).addActivity({ actor: good[0], verb: 'post', object: 'o:1' });
    await t.rivulet.worker!.drainAll();
    assert.deepEqual(await timelineIds(readers.good[0]), [first.id]);
    assert.deepEqual(await timelineIds(readers.bad), []);
    let [job] = await t.rivulet.store.ports.intents.pending(10);
    assert.equal(job.attempts, 1, 'the failure was recorded against the job');
    assert.equal(job.source, `user:${bad}`);
    assert.equal(await t.rivulet.store.ports.intents.pendingCount(), 1);

    // Not due yet: a drain leaves it alone and delivers newer jobs.
    const second = await c.feed('user', good[1]).addActivity({ actor: good[1], verb: 'post', object: 'o:2' });
    await t.rivulet.worker!.drainAll();
    assert.deepEqual(await timelineIds(readers.good[1]), [second.id]);
    [job] = await t.rivulet.store.ports.intents.pending(10);
    assert.equal(job.attempts, 1, 'a job waiting for its retry is not run early');

    // Each retry waits twice as long as the one before; the last failure dead-letters it.
    for (let attempt = 1; attempt < DEFAULT_RETRY.maxAttempts; attempt++) {
      nowUs += DEFAULT_RETRY.baseMs * 2 ** (attempt - 1) * 1000 - 1000;
      await t.rivulet.worker!.drainAll();
      assert.equal((await t.rivulet.store.ports.intents.pending(10))[0]?.attempts, attempt, `attempt ${attempt + 1} waits for its time`);
      nowUs += 1000;
      await t.rivulet.worker!.drainAll();
    }
    assert.equal(await t.rivulet.store.ports.intents.pendingCount(), 0);
    assert.equal(await t.rivulet.store.ports.intents.deadLetterCount(), 1);
    const [dead] = await t.rivulet.store.ports.intents.deadLetters(10);
    assert.equal(dead.source, `user:${bad}`);
    assert.deepEqual(dead.ids, [poison.id]);
    assert.equal(dead.attempts, DEFAULT_RETRY.maxAttempts);
    assert.match(dead.error, /the follower page cannot be read/);

    const warned = logs.filter((l) => l.msg === 'fan-out job failed; will retry');
    assert.equal(warned.length, DEFAULT_RETRY.maxAttempts - 1);
    const buried = logs.filter((l) => l.msg === 'fan-out job failed for good; moved to the dead-letter list');
    assert.equal(buried.length, 1);
    assert.equal(buried[0].level, 50);
    assert.equal(buried[0].source, `user:${bad}`);
    assert.equal(buried[0].attempts, DEFAULT_RETRY.maxAttempts);

    const metrics = parseExposition(await (await fetch(`${origin()}/metrics`)).text());
    assert.equal(total(metrics, 'rivulet_fanout_dead_letter_jobs'), 1);
    assert.equal(total(metrics, 'rivulet_fanout_queue_jobs'), 0);
    const ready = (await (await fetch(`${origin()}/readyz`)).json()) as { ready?: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
    assert.equal(ready.checks.store.ok, true, 'a dead letter needs an operator, not a restart');
    assert.match(ready.checks.store.detail ?? '', /1 dead-lettered/);

    // Once the cause is gone, the operator puts it back and it is delivered.
    poisoned.clear();
    assert.equal(await t.rivulet.store.ports.intents.requeueDeadLetters(), 1);
    assert.equal(await t.rivulet.store.ports.intents.deadLetterCount(), 0);
    await t.rivulet.worker!.drainAll();
    assert.deepEqual(await timelineIds(readers.bad), [poison.id]);
    assert.equal(await t.rivulet.store.ports.intents.pendingCount(), 0);
  });

  it('is not charged for a transient store failure: the round is retried, the job keeps its attempts', async () => {
    const c = t.client();
    const star = uid('star');
    const reader = uid('r');
    await c.feed('timeline', reader).follow('user', star);
    poisoned.set(`user:${star}`, () => new StoreError('store failure during entriesOf', Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), { transient: true }));
    const post = await c.feed('user', star).addActivity({ actor: star, verb: 'post', object: 'o:1' });
    await assert.rejects(t.rivulet.worker!.drainAll(), /store failure/);
    const [job] = await t.rivulet.store.ports.intents.pending(10);
    assert.equal(job.attempts, 0);
    poisoned.clear();
    await t.rivulet.worker!.drainAll();
    assert.deepEqual(await timelineIds(reader), [post.id]);
    assert.equal(await t.rivulet.store.ports.intents.deadLetterCount(), 0);
  });
});
