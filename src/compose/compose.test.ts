import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError, parseConfig, type Config } from '../config/config.js';
import { feedId } from '../core/feeds/feed-id.js';
import type { FeedEvent } from '../ports/pubsub.js';
import { addActivities } from '../services/add-activities.js';
import { follow } from '../services/follows.js';
import { localPubSub, openStore } from './adapters.js';
import { buildWorkers, openCore } from './services.js';

const silent = pino({ level: 'silent' });

describe('composition root', () => {
  let dir: string;
  let config: Config;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rivulet-compose-'));
    config = parseConfig(
      {
        apps: [{ app_id: 'a1', api_key: 'key1', api_secret: 'x'.repeat(20), feed_groups: [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }] }],
        storage: { backend: 'sqlite' },
        // Every fan-out is queued, so only the worker applies it.
        fanout: { inline_max_followers: 0 },
      },
      dir,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('opens the store storage.backend names, and stops on one it does not know', async () => {
    const store = await openStore(config);
    try {
      const { applied, latest } = await store.migrations!();
      assert.equal(applied, latest);
    } finally {
      await store.close();
    }
    const unknown = { storage: { ...config.storage, backend: 'cassandra' } } as unknown as Config;
    await assert.rejects(openStore(unknown), (err: unknown) => err instanceof ConfigError && /storage\.backend: "cassandra" is not a storage backend of this version of Rivulet \(known: sqlite, redis\)/.test(err.message));
    const file = (storage: unknown) => ({ apps: [{ app_id: 'a', api_key: 'keyy', api_secret: 'x'.repeat(20), feed_groups: [{ name: 'user', type: 'flat' as const }] }], storage });
    assert.throws(() => parseConfig(file({ backend: 'cassandra' }) as never, dir), /storage\.backend: .*Expected 'sqlite' \| 'redis'/);
    // Nothing listens there: the start stops, saying so (after the client's 10 s wait for the cluster).
    const closed = parseConfig(file({ backend: 'redis', nodes: ['127.0.0.1:1'], durability: 'fast' }) as never, dir);
    await assert.rejects(openStore(closed), (err: unknown) => err instanceof ConfigError && /storage \(redis\): cannot reach the Redis cluster/.test(err.message));
  });

  it('a worker process built like `rivulet worker` publishes the fan-out it applies through its pubsub', async () => {
    // An API process without workers, and a worker process, over the same data (as `serve --no-worker` + `worker`).
    const api = await openCore({ config, logger: silent, pubsub: localPubSub() });
    const pubsub = localPubSub();
    const worker = await openCore({ config, logger: silent, pubsub });
    const workers = buildWorkers(worker, silent);
    try {
      const app = config.apps[0];
      const events: FeedEvent[] = [];
      pubsub.subscribe((e) => events.push(e));
      pubsub.watch(app.appId, 'timeline:reader');
      await follow(api.services, app, [{ source: feedId('timeline', 'reader'), target: feedId('user', 'star'), copyLimit: 0 }]);
      const [post] = await addActivities(api.services, app, feedId('user', 'star'), [{ actor: 'star', verb: 'post', object: 'o:1' }], false);
      assert.equal(await worker.store.ports.intents.pendingCount(), 1, 'queued for the worker');
      await workers.fanout.drainAll();
      assert.equal(events.length, 1);
      assert.equal(events[0].feed, 'timeline:reader');
      assert.deepEqual(
        (events[0].message.new as { id: string; origin: string }[]).map((a) => [a.id, a.origin]),
        [[post.id, 'user:star']],
      );
    } finally {
      await workers.stop();
      await worker.store.close();
      await api.store.close();
    }
  });
});
