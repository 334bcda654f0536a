// Shutdown (issue "Security and robustness", item 10): closing stops within the grace period even
// in the middle of a long fan-out round, leaving the rest of the round queued; the next start
// finishes it, so nothing acknowledged is lost.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { connect } from 'getstream';
import pino from 'pino';
import { openTestStore } from '../support/store.js';
import { parseConfig } from '../../src/config/config.js';
import { createRivulet } from '../../src/main.js';
import type { Store } from '../../src/ports/store.js';
import { startServer, TEST_GROUPS } from '../support/server.js';

const FOLLOWERS = 300;

describe('security: shutdown', () => {
  it('stops within the grace period mid-round; the next start completes the fan-out', async () => {
    let slow = false;
    // The fan-out worker's chunk records (cursors, completions) take 30 ms each once `slow` is on:
    // one follower per chunk makes the round last about 9 s, far past the 1 s grace period.
    const slowCommits = (real: Store): Store => {
      const intents = new Proxy(real.ports.intents, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          if (prop !== 'progress' && prop !== 'complete') return value.bind(target);
          return async (...args: unknown[]) => {
            if (slow) await new Promise((r) => setTimeout(r, 30));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const ports = { ...real.ports, intents };
      return new Proxy(real, {
        get(target, prop) {
          if (prop === 'ports') return ports;
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    };
    const t = await startServer({
      fanout: { inline_max_followers: 0, chunk_size: 1 },
      config: { shutdown: { grace_ms: 1000 } },
      wrapStore: slowCommits,
    });
    try {
      const server = t.client();
      for (let i = 0; i < FOLLOWERS; i += 100) {
        await server.followMany!(Array.from({ length: 100 }, (_, j) => ({ source: `timeline:f${i + j}`, target: 'user:star' })), 0);
      }
      slow = true;
      const act = await server.feed('user', 'star').addActivity({ actor: 'SU:star', verb: 'post', object: 'o:1' });
      // Wait until the worker is inside the round (its job has a cursor), then shut down.
      for (;;) {
        const [job] = await t.rivulet.store.ports.intents.pending(1);
        assert.ok(job, 'the fan-out job is queued');
        if (job.cursor !== null) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const started = Date.now();
      await t.rivulet.close();
      const took = Date.now() - started;
      // The round was left, not waited for: its job is still queued.
      const store = await openTestStore(parseConfig({ apps: [{ app_id: t.appId, api_key: t.apiKey, api_secret: t.apiSecret, feed_groups: TEST_GROUPS }] }, t.dataDir));
      const left = await store.ports.intents.pending(10);
      await store.close();
      assert.equal(left.length, 1, 'the rest of the round stays queued');
      assert.ok(took < 5000, `close took ${took} ms with a 1 s grace period`);

      // The next start finishes the job: every follower has the activity.
      const config = parseConfig({ apps: [{ app_id: t.appId, api_key: t.apiKey, api_secret: t.apiSecret, feed_groups: TEST_GROUPS }] }, t.dataDir);
      // On the test backend (test/support/store.ts), over the same data as before.
      const again = await createRivulet({ config, logger: pino({ level: 'silent' }), store: await openTestStore(config) });
      const address = await again.listen(0, '127.0.0.1');
      try {
        const deadline = Date.now() + 30_000;
        while ((await again.store.ports.intents.pending(1)).length > 0) {
          assert.ok(Date.now() < deadline, 'the queued fan-out finishes after restart');
          await new Promise((r) => setTimeout(r, 20));
        }
        const c = connect(t.apiKey, t.apiSecret, t.appId, { urlOverride: { api: `${address}/api/` } });
        for (let i = 0; i < FOLLOWERS; i++) {
          const { results } = await c.feed('timeline', `f${i}`).get({ limit: 5 });
          assert.deepEqual(results.map((a) => a.id), [act.id], `timeline:f${i}`);
        }
      } finally {
        await again.close();
      }
    } finally {
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
