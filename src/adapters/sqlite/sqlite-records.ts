import type { RecordStores } from '../../ports/record-stores.js';
import type { WriteStore } from '../../ports/write-store.js';
import type { SqliteDatabase } from './database.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import { SqliteFileIndex } from './sqlite-file-index.js';
import { SqliteFlagStore } from './sqlite-flag-store.js';
import { SqliteUserData } from './sqlite-user-data.js';

/**
 * The record stores on the embedded store's database (the same file, the same connection);
 * `writes` is that store's write store, whose group commit audit appends join.
 */
export function sqliteRecords(store: { readonly database: SqliteDatabase } & WriteStore): RecordStores {
  const d = store.database;
  return { files: new SqliteFileIndex(d), flags: new SqliteFlagStore(d), audit: new SqliteAuditLog(d, store), userData: new SqliteUserData(d) };
}
