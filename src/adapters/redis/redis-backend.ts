import { RedisConnection, type RedisSettings } from './connection.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisAuditLog, RedisFileIndex, RedisFlagStore } from './redis-records.js';
import { RedisSignalStore } from './redis-signal-store.js';

/**
 * The parts of Rivulet kept on a Redis Cluster, over one connection per process: realtime pubsub
 * and listener counts across nodes, shared rate-limit counters, the record stores (audit log,
 * moderation flags, file index) and the personalization stores. Opening checks that the
 * cluster's persistence matches the durability mode and rejects with what to change otherwise.
 */
export interface RedisBackend {
  readonly connection: RedisConnection;
  readonly pubsub: RedisPubSub;
  readonly rateLimiter: RedisRateLimiter;
  readonly records: { readonly files: RedisFileIndex; readonly flags: RedisFlagStore; readonly audit: RedisAuditLog };
  readonly signals: RedisSignalStore;
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
  return {
    connection,
    pubsub,
    rateLimiter: new RedisRateLimiter(connection),
    records: { files: new RedisFileIndex(connection), flags: new RedisFlagStore(connection), audit: new RedisAuditLog(connection) },
    signals: new RedisSignalStore(connection),
    async close() {
      await pubsub.close();
      await connection.close();
    },
  };
}
