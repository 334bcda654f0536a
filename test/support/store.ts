import { redisServerStore } from '../../src/adapters/redis/redis-server-store.js';
import { RedisStore } from '../../src/adapters/redis/redis-store.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { sqlitePath, type Config } from '../../src/config/config.js';
import type { Store } from '../../src/ports/store.js';
import { sharedCluster } from './redis-cluster.js';

/**
 * The backend the API tests run on, from one switch: the environment variable
 * `RIVULET_TEST_STORE` (default `sqlite`). Every API test takes its store from here, so the whole
 * API suite runs unchanged on another backend once it is listed below.
 *
 * `redis`: a Redis Cluster this test process starts (3 masters, no replicas, `fast` durability;
 * `test/support/redis-cluster.ts`), one key prefix per test server's data directory, so a server
 * restarted on the same directory finds its data again.
 */
export const TEST_STORE = process.env.RIVULET_TEST_STORE ?? 'sqlite';

/** Key prefixes of the Redis test backend, by the data a test server's config names. */
const prefixes = new Map<string, string>();

/** Backends the API tests can run on, by name: each opens the store a test server's config names. */
const BACKENDS: Record<string, (config: Config) => Promise<Store>> = {
  sqlite: async (config) => new SqliteStore(sqlitePath(config)),
  redis: async (config) => {
    const where = await sharedCluster();
    const place = sqlitePath(config);
    let keyPrefix = prefixes.get(place);
    if (keyPrefix === undefined) prefixes.set(place, (keyPrefix = where.keyPrefix));
    return redisServerStore(await RedisStore.open({ nodes: where.nodes, keyPrefix, durability: 'fast' }));
  },
};

/** Opens the test backend over the data a test server's `config` names (a fresh one, or reopened after a restart). */
export async function openTestStore(config: Config): Promise<Store> {
  const open = BACKENDS[TEST_STORE];
  if (!open) throw new Error(`RIVULET_TEST_STORE=${TEST_STORE}: no such test backend (known: ${Object.keys(BACKENDS).join(', ')})`);
  return open(config);
}
