import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { sqlitePath, type Config } from '../../src/config/config.js';
import type { Store } from '../../src/ports/store.js';

/**
 * The backend the API tests run on, from one switch: the environment variable
 * `RIVULET_TEST_STORE` (default `sqlite`). Every API test takes its store from here, so the whole
 * API suite runs unchanged on another backend once it is listed below.
 */
export const TEST_STORE = process.env.RIVULET_TEST_STORE ?? 'sqlite';

/** Backends the API tests can run on, by name: each opens the store a test server's config names. */
const BACKENDS: Record<string, (config: Config) => Store> = {
  sqlite: (config) => new SqliteStore(sqlitePath(config)),
};

/** Opens the test backend over the data a test server's `config` names (a fresh one, or reopened after a restart). */
export function openTestStore(config: Config): Store {
  const open = BACKENDS[TEST_STORE];
  if (!open) throw new Error(`RIVULET_TEST_STORE=${TEST_STORE}: no such test backend (known: ${Object.keys(BACKENDS).join(', ')})`);
  return open(config);
}
