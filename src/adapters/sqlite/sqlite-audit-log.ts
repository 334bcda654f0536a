import type Database from 'better-sqlite3';
import type { AuditChange, AuditEntityType, AuditEntry, AuditLog, AuditQuery } from '../../ports/audit-log.js';
import type { IntentQueue } from '../../ports/intent-queue.js';
import type { SqliteDatabase } from './database.js';

export interface AuditRow {
  seq: number;
  entity_type: AuditEntityType;
  entity_id: string;
  action: string;
  user_id: string;
  custom: string;
  created: number;
}

export const COLUMNS = 'seq, entity_type, entity_id, action, user_id, custom, created';

/**
 * {@link AuditLog} on SQLite. Entry ids are the table's AUTOINCREMENT sequence, so they only grow.
 * Appends are steps of the intent queue holding only audit entries (on SQLite they join the group
 * commit of the same event-loop turn and are flushed before the database closes); changes written
 * in their own step carry their entries in it.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #d: SqliteDatabase;
  readonly #intents: Pick<IntentQueue, 'commit'>;
  readonly #latest: Database.Statement;
  readonly #pages: Map<string, Database.Statement> = new Map();

  constructor(d: SqliteDatabase, intents: Pick<IntentQueue, 'commit'>) {
    this.#d = d;
    this.#intents = intents;
    this.#latest = d.db.prepare(`SELECT ${COLUMNS} FROM audit WHERE app = ? AND entity_type = ? AND entity_id = ? ORDER BY seq DESC LIMIT 1`);
  }

  async append(app: string, changes: readonly AuditChange[], atUs: number): Promise<void> {
    if (changes.length === 0) return;
    await this.#intents.commit(app, [{ audit: { atUs, changes } }]);
  }

  async list(app: string, q: AuditQuery): Promise<AuditEntry[]> {
    return this.#d.read('listAudit', () => {
      // One statement per combination of filters, so each uses its index (entity or user).
      const where = ['app = @app'];
      if (q.entityType !== undefined) where.push('entity_type = @type');
      if (q.entityId !== undefined) where.push('entity_id = @entity');
      if (q.userId !== undefined) where.push('user_id = @user');
      if (q.before !== undefined) where.push('seq < @before');
      if (q.after !== undefined) where.push('seq > @after');
      // Paging toward newer entries reads oldest first from the bound, then turns the page round.
      const order = q.after !== undefined && q.before === undefined ? 'ASC' : 'DESC';
      const sql = `SELECT ${COLUMNS} FROM audit WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT +@limit`;
      let stmt = this.#pages.get(sql);
      if (!stmt) this.#pages.set(sql, (stmt = this.#d.db.prepare(sql)));
      const params: Record<string, unknown> = { app: this.#d.appInt(app), limit: q.limit };
      if (q.entityType !== undefined) params.type = q.entityType;
      if (q.entityId !== undefined) params.entity = q.entityId;
      if (q.userId !== undefined) params.user = q.userId;
      if (q.before !== undefined) params.before = Number(q.before);
      if (q.after !== undefined) params.after = Number(q.after);
      const rows = (stmt.all(params) as AuditRow[]).map(toEntry);
      return order === 'ASC' ? rows.reverse() : rows;
    });
  }

  async latest(app: string, entityType: AuditEntityType, entityId: string): Promise<AuditEntry | null> {
    return this.#d.read('latestAudit', () => {
      const row = this.#latest.get(this.#d.appInt(app), entityType, entityId) as AuditRow | undefined;
      return row ? toEntry(row) : null;
    });
  }
}

export function toEntry(r: AuditRow): AuditEntry {
  return {
    id: String(r.seq),
    entityType: r.entity_type,
    entityId: r.entity_id,
    action: r.action,
    userId: r.user_id,
    custom: r.custom,
    createdUs: r.created,
  };
}
