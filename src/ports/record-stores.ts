import type { AuditLog } from './audit-log.js';
import type { FileIndex } from './file-index.js';
import type { FlagStore } from './flag-store.js';
import type { UserDataIndex } from './user-data.js';

/** The record stores kept beside the feed data: the file index, moderation flags, the audit log. */
export interface RecordStores {
  readonly files: FileIndex;
  readonly flags: FlagStore;
  readonly audit: AuditLog;
  readonly userData: UserDataIndex;
}
