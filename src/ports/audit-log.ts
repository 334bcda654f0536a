/** Kinds of things the audit log records changes of (stream-v2-api.md §18.2, plus Rivulet's own). */
export type AuditEntityType = 'activity' | 'reaction' | 'follow' | 'user' | 'collection' | 'config' | 'file';

/** One change to append: what changed, how, and on whose behalf. */
export interface AuditChange {
  readonly entityType: AuditEntityType;
  readonly entityId: string;
  /** `created`, `updated`, `deleted`, `soft_deleted`, `restored`, `followed`, `unfollowed`, … */
  readonly action: string;
  /** The user the change was made as or for (an activity's actor, a reaction's author…); '' when none. */
  readonly userId: string;
  /** Details as a JSON object text, e.g. `{"feed":"user:1"}`; `{}` when none. */
  readonly custom: string;
}

/** A recorded change. `id` orders entries: a later entry has a greater id (compared as numbers). */
export interface AuditEntry extends AuditChange {
  readonly id: string;
  readonly createdUs: number;
}

/**
 * A page of entries matching every given filter. Newest first; `before` / `after` are entry ids of
 * an earlier page (`after` pages toward newer entries and still returns them newest first).
 */
export interface AuditQuery {
  readonly entityType?: AuditEntityType;
  readonly entityId?: string;
  readonly userId?: string;
  readonly before?: string;
  readonly after?: string;
  readonly limit: number;
}

/**
 * The audit log of an app: who changed what. Appends are durable when the promise resolves;
 * entries are never changed or deleted (erasing a user keeps the record that it happened; entries hold ids, not content).
 */
export interface AuditLog {
  /** Appends changes at time `atUs`, in order, in one step. */
  append(app: string, changes: readonly AuditChange[], atUs: number): Promise<void>;

  /** Entries matching the query (see {@link AuditQuery}); one round trip. */
  list(app: string, q: AuditQuery): Promise<AuditEntry[]>;

  /** The newest entry of an entity, or null (e.g. the last recorded config of an app). */
  latest(app: string, entityType: AuditEntityType, entityId: string): Promise<AuditEntry | null>;

  /**
   * Appends entries another store recorded (an import), in order, with their times, keeping each
   * one's id when it is greater than every id the log holds and numbering the others anew, in one
   * step. Optional: a backend whose ids are shared by every app (SQLite numbers the entries of
   * all apps in one sequence) leaves it out, and imports append instead.
   */
  restore?(app: string, entries: readonly AuditEntry[]): Promise<void>;
}
