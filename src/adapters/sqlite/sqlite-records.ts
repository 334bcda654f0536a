import type { RecordStores } from '../../ports/record-stores.js';
import type { SqliteDatabase } from './database.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import { SqliteFileIndex } from './sqlite-file-index.js';
import { SqliteFlagStore } from './sqlite-flag-store.js';
import { SqliteUserData } from './sqlite-user-data.js';

/** The record stores on the embedded store's database (the same file, the same connection). */
export function sqliteRecords(d: SqliteDatabase): RecordStores {
  return { files: new SqliteFileIndex(d), flags: new SqliteFlagStore(d), audit: new SqliteAuditLog(d), userData: new SqliteUserData(d) };
}
