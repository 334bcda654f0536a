import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { finishActivity, parseActivity } from '../core/activities/activity.js';
import { newAppConfig, parseConfig } from '../config/config.js';
import type { App } from '../core/feeds/feed-group.js';
import { parseFeedId } from '../core/feeds/feed-id.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { QueuedIntent } from '../ports/intent-queue.js';
import { TimeSource, type Services } from './context.js';
import { addActivities } from './add-activities.js';
import { runFanoutRound } from './fanout-round.js';
import { LEASE_MS, runFanoutJobs } from './run-fanout-jobs.js';
import { FeedWork, planIntents, runWrite, type Spread } from './write-step.js';

/** A store in memory, one app with the default groups, services over it; `aheadMs` moves the clock. */
function setup() {
  const store = new SqliteStore(':memory:');
  const config = parseConfig(newAppConfig(), '/tmp');
  const app = config.apps[0];
  const clock = { aheadMs: 0, nowUs: () => (Date.now() + clock.aheadMs) * 1000 };
  let woken = 0;
  const s: Services = {
    ports: store.ports,
    signalStore: store.signals,
    clock: new TimeSource(clock),
    fanout: { inlineMaxFollowers: 1000, chunkSize: 2, pullMinFollowers: 10_000 },
    onJobsEnqueued: () => woken++,
  };
  return { store, app, s, clock, apps: new Map([[app.appId, app]]), woken: () => woken };
}

function activity(s: Services, object: string): ActivityRecord {
  const draft = parseActivity({ actor: 'SU:a', verb: 'post', object }, (v) => String(v));
  return { ...finishActivity(draft, s.clock.next(), s.clock.writer), home: 'user:a' };
}

/** Everything the feeds of the test hold: flat entries with origins, and the aggregated groups. */
async function feeds(s: Services, app: App): Promise<unknown> {
  const flat = await s.ports.timelines.scanMany(app.appId, ['user:a', 'timeline:f1', 'timeline:f2', 'timeline:f3'].map((feed) => ({ feed, limit: 100 })));
  const [groups] = await s.ports.groups.readForMerge(app.appId, [{ feed: 'timeline_aggregated:g', oldest: 100 }]);
  return { flat, groups: groups.groups, counts: groups.counts };
}

describe('the write path (write-step.ts)', () => {
  let t: ReturnType<typeof setup>;
  before(async () => {
    t = setup();
    const follow = (source: string) => ({ follow: { source, target: 'user:a', createdUs: 1, grouped: source.startsWith('timeline_aggregated'), since: null } });
    await t.s.ports.intents.commit(t.app.appId, ['timeline:f1', 'timeline:f2', 'timeline:f3', 'timeline_aggregated:g'].map(follow));
  });
  after(() => t.store.close());

  /** A post to user:a with its intent, written by runWrite (or only committed, when `crash`). */
  async function post(object: string, crash = false): Promise<ActivityRecord> {
    const a = activity(t.s, object);
    const spreads: Spread[] = [{ kind: 'fanout.add', source: 'user:a', ids: [a.id] }];
    const intents = await planIntents(t.s, t.app, spreads);
    const step = { activity: a, intents: intents.filter((x) => x !== null) };
    if (crash) {
      await t.s.ports.intents.commit(t.app.appId, [step]);
      return a;
    }
    const work = new FeedWork([a]);
    work.add(t.app, 'user:a', a.id, null);
    await runWrite(t.s, t.app, [step], { work, spreads, intents, activities: [a] });
    return a;
  }

  it('applies a small fan-out before it resolves, in pages, and completes its intent', async () => {
    const a = await post('o:1');
    assert.equal(await t.s.ports.intents.pendingCount(), 0);
    for (const feed of ['timeline:f1', 'timeline:f2', 'timeline:f3']) {
      assert.deepEqual(await t.s.ports.timelines.scan(t.app.appId, { feed, limit: 10 }), [{ id: a.id, origin: 'user:a' }]);
    }
    const [g] = await t.s.ports.groups.readForMerge(t.app.appId, [{ feed: 'timeline_aggregated:g', oldest: 10 }]);
    assert.deepEqual(g.groups.flatMap((x) => x.entries.map((e) => e.id)), [a.id]);
  });

  it('applying an intent again leaves every feed as applying it once', async () => {
    const a = await post('o:2');
    const once = await feeds(t.s, t.app);
    const replay: QueuedIntent = { id: 'replay', app: t.app.appId, kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'inline', cursor: null, queuedAt: null, attempts: 0 };
    await runFanoutJobs(t.s, t.apps, [replay]);
    await runFanoutJobs(t.s, t.apps, [replay]);
    assert.deepEqual(await feeds(t.s, t.app), once);
  });

  it('a crash between the step and its operations is repaired by a worker once the intent\'s lease ran out', async () => {
    const before = await feeds(t.s, t.app);
    const a = await post('o:3', true);
    assert.deepEqual(await feeds(t.s, t.app), before, 'only the step was written');
    assert.equal(await t.s.ports.intents.pendingCount(), 1);
    // Not before the writer's lease ran out: it may still be applying the intent.
    assert.equal(await runFanoutRound(t.s, t.apps), 0);
    // Leases are measured by the store's clock, not the services' (which a test can move): a round
    // with a lease of 20 ms, 40 ms later, stands for a worker once the 30 s lease ran out.
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(await runFanoutRound(t.s, t.apps, { leaseMs: 20 }), 1);
    assert.equal(await t.s.ports.intents.pendingCount(), 0);
    assert.equal((await t.s.ports.timelines.scan(t.app.appId, { feed: 'user:a', limit: 1 }))[0].id, a.id, 'the written feed got its entry');
    for (const feed of ['timeline:f1', 'timeline:f2', 'timeline:f3']) {
      assert.deepEqual((await t.s.ports.timelines.scan(t.app.appId, { feed, limit: 1 }))[0], { id: a.id, origin: 'user:a' }, feed);
    }
    const [g] = await t.s.ports.groups.readForMerge(t.app.appId, [{ feed: 'timeline_aggregated:g', entryIds: [a.id] }]);
    assert.equal(g.groups.length, 1);
    // And the repaired feeds are what a replay leaves too.
    const repaired = await feeds(t.s, t.app);
    await runFanoutJobs(t.s, t.apps, [{ id: 'again', app: t.app.appId, kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'inline', cursor: null, queuedAt: null, attempts: 0 }]);
    assert.deepEqual(await feeds(t.s, t.app), repaired);
  });

  it('a replayed add does not bring back an activity removed from its feed since', async () => {
    const a = await post('o:4');
    const work = new FeedWork();
    work.ops.push({ kind: 'remove', feed: 'user:a', ids: [a.id], origin: null });
    const spreads: Spread[] = [{ kind: 'fanout.remove', source: 'user:a', ids: [a.id] }];
    const intents = await planIntents(t.s, t.app, spreads);
    await runWrite(t.s, t.app, [{ intents: intents.filter((x) => x !== null) }], { work, spreads, intents });
    const removed = await feeds(t.s, t.app);
    await runFanoutJobs(t.s, t.apps, [{ id: 'stale', app: t.app.appId, kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'queued', cursor: null, queuedAt: null, attempts: 0 }]);
    assert.deepEqual(await feeds(t.s, t.app), removed);
  });
});

describe('a large fan-out\'s intent (write-step.ts)', () => {
  /**
   * A store in memory whose user:a has four followers (flat and aggregated), every fan-out queued;
   * the intents port records the mode of every intent committed, and says it keeps the order of
   * writes or not (`ordered`: as the adapter says; false: as a cluster would).
   */
  async function queuedSetup(ordered: boolean) {
    const t = setup();
    const modes: string[] = [];
    const intents = t.s.ports.intents;
    const commit: typeof intents.commit = (app, steps, opts) => {
      for (const st of steps) for (const i of st.intents ?? []) modes.push(i.mode);
      return intents.commit(app, steps, opts);
    };
    const recording = new Proxy(intents, {
      get(target, prop) {
        if (prop === 'ordered') return ordered && target.ordered;
        if (prop === 'commit') return commit;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const s: Services = { ...t.s, ports: { ...t.s.ports, intents: recording }, fanout: { ...t.s.fanout, inlineMaxFollowers: 1 } };
    const follow = (source: string) => ({ follow: { source, target: 'user:a', createdUs: 1, grouped: source.startsWith('timeline_aggregated'), since: null } });
    await intents.commit(t.app.appId, ['timeline:f1', 'timeline:f2', 'timeline:f3', 'timeline_aggregated:g'].map(follow));
    modes.length = 0;
    return { ...t, s, modes };
  }

  it('is committed queued at once where the store keeps the order of writes, and a worker applies it exactly once', async () => {
    const t = await queuedSetup(true);
    assert.equal(t.s.ports.intents.ordered, true, 'SQLite keeps the order of its writes');
    const [a] = await addActivities(t.s, t.app, parseFeedId('user:a'), [{ actor: 'SU:a', verb: 'post', object: 'o:q1' }], false);
    assert.deepEqual(t.modes, ['queued'], 'committed queued, with no release after it');
    assert.equal(t.woken(), 1, 'the worker was woken');
    assert.deepEqual((await t.s.ports.timelines.scan(t.app.appId, { feed: 'user:a', limit: 10 })).map((e) => e.id), [a.id], 'the own feed holds it once answered');
    const [pending] = await t.s.ports.intents.pending(10);
    assert.deepEqual([pending.mode, pending.ids, pending.cursor], ['queued', [a.id], null]);
    // A worker takes it at once (no lease to run out) and applies it to every follower.
    assert.equal(await runFanoutRound(t.s, t.apps), 1);
    assert.equal(await t.s.ports.intents.pendingCount(), 0);
    for (const feed of ['timeline:f1', 'timeline:f2', 'timeline:f3']) {
      assert.deepEqual(await t.s.ports.timelines.scan(t.app.appId, { feed, limit: 10 }), [{ id: a.id, origin: 'user:a' }], feed);
    }
    const once = await feeds(t.s, t.app);
    const [g] = await t.s.ports.groups.readForMerge(t.app.appId, [{ feed: 'timeline_aggregated:g', oldest: 10 }]);
    assert.deepEqual(g.groups.flatMap((x) => x.entries.map((e) => e.id)), [a.id]);
    // Nothing is left to claim, and applying the intent again changes nothing.
    assert.equal(await runFanoutRound(t.s, t.apps), 0);
    await runFanoutJobs(t.s, t.apps, [{ ...pending, id: 'again' }]);
    assert.deepEqual(await feeds(t.s, t.app), once);
    t.store.close();
  });

  it('is committed inline and released after the own entries landed where the store does not keep the order of writes', async () => {
    const t = await queuedSetup(false);
    const [a] = await addActivities(t.s, t.app, parseFeedId('user:a'), [{ actor: 'SU:a', verb: 'post', object: 'o:q2' }], false);
    assert.deepEqual(t.modes, ['inline']);
    const [pending] = await t.s.ports.intents.pending(10);
    assert.deepEqual([pending.mode, pending.ids], ['queued', [a.id]], 'released to the workers');
    assert.equal(await runFanoutRound(t.s, t.apps), 1);
    for (const feed of ['timeline:f1', 'timeline:f2', 'timeline:f3']) {
      assert.deepEqual(await t.s.ports.timelines.scan(t.app.appId, { feed, limit: 10 }), [{ id: a.id, origin: 'user:a' }], feed);
    }
    t.store.close();
  });

  it('a removal\'s is committed inline and released even where the store keeps the order (its own operation follows the step)', async () => {
    const t = await queuedSetup(true);
    const [a] = await addActivities(t.s, t.app, parseFeedId('user:a'), [{ actor: 'SU:a', verb: 'post', object: 'o:q3' }], false);
    assert.equal(await runFanoutRound(t.s, t.apps), 1);
    t.modes.length = 0;
    const work = new FeedWork();
    const spreads: Spread[] = [];
    work.ops.push({ kind: 'remove', feed: 'user:a', ids: [a.id], origin: null });
    spreads.push({ kind: 'fanout.remove', source: 'user:a', ids: [a.id] });
    const intents = await planIntents(t.s, t.app, spreads);
    await runWrite(t.s, t.app, [{ intents: intents.filter((x) => x !== null) }], { work, spreads, intents });
    assert.deepEqual(t.modes, ['inline']);
    assert.equal(await runFanoutRound(t.s, t.apps), 1);
    for (const feed of ['user:a', 'timeline:f1', 'timeline:f2', 'timeline:f3']) {
      assert.deepEqual(await t.s.ports.timelines.scan(t.app.appId, { feed, limit: 10 }), [], feed);
    }
    t.store.close();
  });
});

describe('the completion of a small fan-out\'s intent (write-step.ts)', () => {
  /** A post to user:a (three followers, fanned out inline) whose completion is held until `let()`. */
  async function heldPost(ordered: boolean) {
    const t = setup();
    const intents = t.s.ports.intents;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const complete: typeof intents.complete = async (ids) => {
      await gate;
      return intents.complete(ids);
    };
    const held = new Proxy(intents, {
      get(target, prop) {
        if (prop === 'ordered') return ordered && target.ordered;
        if (prop === 'complete') return complete;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const s: Services = { ...t.s, ports: { ...t.s.ports, intents: held } };
    const follow = (source: string) => ({ follow: { source, target: 'user:a', createdUs: 1, grouped: false, since: null } });
    await intents.commit(t.app.appId, ['timeline:f1', 'timeline:f2', 'timeline:f3'].map(follow));
    let answered = false;
    const written = addActivities(s, t.app, parseFeedId('user:a'), [{ actor: 'SU:a', verb: 'post', object: 'o:c' }], false).then(([a]) => {
      answered = true;
      return a;
    });
    return { ...t, written, answered: () => answered, let: open };
  }

  it('is not waited for where the queue sees the writes handed over before its reads', async () => {
    const t = await heldPost(true);
    const a = await t.written;
    for (const feed of ['timeline:f1', 'timeline:f2', 'timeline:f3']) {
      assert.deepEqual(await t.s.ports.timelines.scan(t.app.appId, { feed, limit: 10 }), [{ id: a.id, origin: 'user:a' }], feed);
    }
    assert.equal(await t.s.ports.intents.pendingCount(), 1, 'the completion is still held');
    t.let();
    // Handed over once let through: the queue's next read sees it.
    await new Promise((r) => setImmediate(r));
    assert.equal(await t.s.ports.intents.pendingCount(), 0);
    t.store.close();
  });

  it('is waited for where it is not', async () => {
    const t = await heldPost(false);
    // The pages land, then the write waits for its completion.
    for (let i = 0; i < 20 && (await t.s.ports.timelines.scan(t.app.appId, { feed: 'timeline:f3', limit: 1 })).length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal((await t.s.ports.timelines.scan(t.app.appId, { feed: 'timeline:f3', limit: 1 })).length, 1);
    assert.equal(t.answered(), false);
    t.let();
    await t.written;
    assert.equal(await t.s.ports.intents.pendingCount(), 0);
    t.store.close();
  });
});

describe('disk waits of a post (SQLite, writer thread)', () => {
  // A post waits for one fsync before it is acknowledged: its step (activity and intents) and its
  // own feeds' entries share a transaction; the follower pages of a small fan-out and the hand-over
  // of a large one are covered by the step's durable intents and commit without waiting.
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-write-step-'));
  let store: SqliteStore;
  let app: App;
  const services = (inlineMaxFollowers: number): Services => ({
    ports: store.ports,
    signalStore: store.signals,
    clock: new TimeSource({ nowUs: () => Date.now() * 1000 }),
    fanout: { inlineMaxFollowers, chunkSize: 100, pullMinFollowers: 10_000 },
    onJobsEnqueued: () => undefined,
  });
  before(async () => {
    store = new SqliteStore(join(dir, 'db.sqlite'));
    app = parseConfig(newAppConfig(), dir).apps[0];
    const follow = (source: string) => ({ follow: { source, target: 'user:a', createdUs: 1, grouped: false, since: null } });
    await store.ports.intents.commit(app.appId, ['timeline:f1', 'timeline:f2', 'timeline:f3'].map(follow));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Posts one activity to user:a; returns the fsync-waiting commits it made before it resolved. */
  async function post(s: Services, object: string): Promise<number> {
    const before = store.durableCommits();
    await addActivities(s, app, parseFeedId('user:a'), [{ actor: 'SU:a', verb: 'post', object }], false);
    return store.durableCommits() - before;
  }

  it('the queue\'s reads see its writes handed over before them, settled or not', async () => {
    const [step] = await store.ports.intents.commit(app.appId, [{ intents: [{ kind: 'fanout.add', source: 'user:z', ids: ['x'], mode: 'inline' }] }]);
    const before = await store.ports.intents.pendingCount();
    const done = store.ports.intents.complete([step.intents[0].id]);
    assert.equal(await store.ports.intents.pendingCount(), before - 1);
    assert.ok(!(await store.ports.intents.pending(100)).some((i) => i.id === step.intents[0].id));
    await done;
  });

  it('a post fanned out before its answer waits for one fsync', async () => {
    const s = services(1000);
    assert.equal(await post(s, 'o:1'), 1);
    assert.equal(await store.ports.intents.pendingCount(), 0);
    const [mine] = await store.ports.timelines.scan(app.appId, { feed: 'user:a', limit: 1 });
    assert.deepEqual(await store.ports.timelines.scan(app.appId, { feed: 'timeline:f3', limit: 1 }), [{ id: mine.id, origin: 'user:a' }]);
  });

  it('a post fanned out before its answer makes one commit before it: step, own entries and followers\' entries together', async () => {
    const s = services(1000);
    const commits = () => Atomics.load(store.writerThread!.commits, 0);
    const before = commits();
    assert.equal(await post(s, 'o:3'), 1);
    // The intent's completion is handed over after the answer, in a commit of its own.
    assert.equal(commits() - before, 1);
    const [mine] = await store.ports.timelines.scan(app.appId, { feed: 'user:a', limit: 1 });
    for (const f of ['timeline:f1', 'timeline:f2', 'timeline:f3']) {
      assert.deepEqual(await store.ports.timelines.scan(app.appId, { feed: f, limit: 1 }), [{ id: mine.id, origin: 'user:a' }]);
    }
    assert.equal(await store.ports.intents.pendingCount(), 0);
  });

  it('a grouped follower of a small fan-out gets the post in its groups, flat followers with the step', async () => {
    const s = services(1000);
    await store.ports.intents.commit(app.appId, [{ follow: { source: 'notification:n1', target: 'user:a', createdUs: 1, grouped: true, since: null } }]);
    await post(s, 'o:4');
    const [mine] = await store.ports.timelines.scan(app.appId, { feed: 'user:a', limit: 1 });
    assert.deepEqual(await store.ports.timelines.scan(app.appId, { feed: 'timeline:f1', limit: 1 }), [{ id: mine.id, origin: 'user:a' }]);
    const [read] = await store.ports.groups.readForMerge(app.appId, [{ feed: 'notification:n1', oldest: 10 }]);
    assert.ok(read.groups.some((g) => g.entries.some((e) => e.id === mine.id)), 'the notification feed groups it');
    assert.equal(await store.ports.intents.pendingCount(), 0);
  });

  it('a post whose fan-out is queued makes one commit, which waits for fsync, and its own feed holds it once answered', async () => {
    const s = services(1);
    const commits = () => Atomics.load(store.writerThread!.commits, 0);
    const before = commits();
    assert.equal(await post(s, 'o:2'), 1);
    const [mine] = await store.ports.timelines.scan(app.appId, { feed: 'user:a', limit: 1, bodies: true });
    assert.equal(JSON.parse(mine.body!).object, 'o:2');
    // Nothing follows the answer: the next write (a claim taking nothing) is the next commit.
    assert.deepEqual(await store.ports.intents.claim(0, LEASE_MS, Date.now()), []);
    assert.equal(commits() - before, 2, 'the post\'s commit and the claim\'s');
    const queued = await store.ports.intents.pending(10);
    assert.deepEqual(queued.map((i) => [i.mode, i.ids]), [['queued', [mine.id]]], 'its intent, committed queued');
  });
});
