import type Database from 'better-sqlite3';
import type { FlagEntityType, FlagQuery, FlagRecord, FlagStore } from '../../ports/flag-store.js';
import type { SqliteDatabase } from './database.js';

export interface FlagRow {
  seq: number;
  id: string;
  entity_type: FlagEntityType;
  entity_id: string;
  target_user: string;
  flagged_by: string | null;
  reason: string | null;
  created: number;
}

export const COLUMNS = 'seq, id, entity_type, entity_id, target_user, flagged_by, reason, created';

/** {@link FlagStore} on SQLite: rows in insertion order (`seq`), so newest first is a reverse index scan. */
export class SqliteFlagStore implements FlagStore {
  readonly #d: SqliteDatabase;
  readonly #insert: Database.Statement;
  readonly #page: Database.Statement;
  readonly #seqOf: Database.Statement;
  readonly #flagged: Database.Statement;
  readonly #forget: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#insert = db.prepare(
      'INSERT INTO flags (app, id, entity_type, entity_id, target_user, flagged_by, reason, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // Optional filters are bound as NULL when absent; the planner still uses flags_entity when they are set.
    this.#page = db.prepare(
      `SELECT ${COLUMNS} FROM flags WHERE app = @app
         AND (@type IS NULL OR entity_type = @type) AND (@entity IS NULL OR entity_id = @entity)
         AND seq < @before
       ORDER BY seq DESC LIMIT +@limit`,
    );
    this.#seqOf = db.prepare('SELECT seq FROM flags WHERE app = ? AND id = ?').pluck();
    this.#flagged = db.prepare(
      'SELECT DISTINCT entity_id FROM flags WHERE app = ? AND entity_type = ? AND entity_id IN (SELECT value FROM json_each(?))',
    ).pluck();
    this.#forget = db.prepare(
      "DELETE FROM flags WHERE app = ? AND ((entity_type = 'stream:user' AND entity_id = ?) OR flagged_by = ? OR target_user = ?)",
    );
  }

  async addFlag(app: string, f: FlagRecord): Promise<void> {
    await this.#d.read('addFlag', () => {
      this.#insert.run(this.#d.appInt(app), f.id, f.entityType, f.entityId, f.targetUserId, f.flaggedBy, f.reason, f.createdUs);
    });
  }

  async listFlags(app: string, q: FlagQuery): Promise<FlagRecord[]> {
    return this.#d.read('listFlags', () => {
      const a = this.#d.appInt(app);
      let before = Number.MAX_SAFE_INTEGER;
      if (q.before !== undefined) {
        const seq = this.#seqOf.get(a, q.before) as number | undefined;
        if (seq === undefined) return [];
        before = seq;
      }
      const rows = this.#page.all({ app: a, type: q.entityType ?? null, entity: q.entityId ?? null, before, limit: q.limit }) as FlagRow[];
      return rows.map(toRecord);
    });
  }

  async flagged(app: string, entityType: FlagEntityType, ids: readonly string[]): Promise<Set<string>> {
    return this.#d.read('flagged', () => {
      if (ids.length === 0) return new Set<string>();
      return new Set(this.#flagged.all(this.#d.appInt(app), entityType, JSON.stringify(ids)) as string[]);
    });
  }

  async forgetUser(app: string, userId: string): Promise<void> {
    await this.#d.read('forgetUser', () => {
      this.#forget.run(this.#d.appInt(app), userId, userId, userId);
    });
  }
}

export function toRecord(r: FlagRow): FlagRecord {
  return {
    id: r.id,
    entityType: r.entity_type,
    entityId: r.entity_id,
    targetUserId: r.target_user,
    flaggedBy: r.flagged_by,
    reason: r.reason,
    createdUs: r.created,
  };
}
