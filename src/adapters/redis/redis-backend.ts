import { RedisConnection, type RedisSettings } from './connection.js';
import { RedisIntentQueue } from './redis-intent-queue.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisAuditLog, RedisFileIndex, RedisFlagStore } from './redis-records.js';
import { RedisSignalStore } from './redis-signal-store.js';
import { RedisTimelineStore } from './redis-timeline-store.js';

/**
 * The parts of Rivulet kept on a Redis Cluster, over one connection per process: realtime pubsub
 * and listener counts across nodes, shared rate-limit counters, the record stores (audit log,
 * moderation flags, file index), the personalization stores, activities with the intent queue,
 * and flat timelines (see docs/scaling.md for what is not on Redis yet). Opening checks that the
 * cluster's persistence matches the durability mode and rejects with what to change otherwise.
 */
export interface RedisBackend {
  readonly connection: RedisConnection;
  readonly pubsub: RedisPubSub;
  readonly rateLimiter: RedisRateLimiter;
  readonly records: { readonly files: RedisFileIndex; readonly flags: RedisFlagStore; readonly audit: RedisAuditLog };
  readonly signals: RedisSignalStore;
  /** Activities (ActivityStore) and the intent queue, written together. */
  readonly intents: RedisIntentQueue;
  readonly timelines: RedisTimelineStore;
  close(): Promise<void>;
}

export async function openRedisBackend(settings: RedisSettings): Promise<RedisBackend> {
  const connection = new RedisConnection(settings);
  try {
    await connection.checkPersistence();
  } catch (err) {
    await connection.close();
    throw err;
  }
  const pubsub = new RedisPubSub({ nodes: settings.nodes, keys: connection.keys, publisher: connection.cluster });
  try {
    await pubsub.started();
  } catch (err) {
    await pubsub.close();
    await connection.close();
    throw err;
  }
  const audit = new RedisAuditLog(connection);
  const intents = new RedisIntentQueue(connection, audit);
  return {
    connection,
    pubsub,
    rateLimiter: new RedisRateLimiter(connection),
    records: { files: new RedisFileIndex(connection), flags: new RedisFlagStore(connection), audit },
    signals: new RedisSignalStore(connection),
    intents,
    timelines: new RedisTimelineStore(connection, intents),
    async close() {
      await pubsub.close();
      await connection.close();
    },
  };
}
