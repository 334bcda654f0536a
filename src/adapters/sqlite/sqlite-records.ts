import type { RecordStores } from '../../ports/record-stores.js';
import type { StoragePorts } from '../../ports/storage.js';
import type { SqliteDatabase } from './database.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import { SqliteFileIndex } from './sqlite-file-index.js';
import { SqliteFlagStore } from './sqlite-flag-store.js';
import { SqliteUserData } from './sqlite-user-data.js';

/**
 * The record stores on the embedded store's database (the same file, the same connection);
 * audit appends are steps of that store's intent queue.
 */
export function sqliteRecords(store: { readonly database: SqliteDatabase; readonly ports: Pick<StoragePorts, 'intents'> }): RecordStores {
  const d = store.database;
  return { files: new SqliteFileIndex(d), flags: new SqliteFlagStore(d), audit: new SqliteAuditLog(d, store.ports.intents), userData: new SqliteUserData(d) };
}
