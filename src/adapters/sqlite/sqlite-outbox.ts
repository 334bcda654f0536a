import type Database from 'better-sqlite3';
import type { Outbox, QueuedJob } from '../../ports/outbox.js';
import type { SqliteDatabase } from './database.js';

interface JobRow {
  id: number;
  app_id: string;
  kind: 'fanout.add' | 'fanout.remove';
  source: string;
  ids: string;
  cursor: string | null;
  queued_at: number | null;
}

/** {@link Outbox} on SQLite: a table written in the same transaction as the change it fans out. */
export class SqliteOutbox implements Outbox {
  readonly #d: SqliteDatabase;
  readonly #pending: Database.Statement;
  readonly #count: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    this.#pending = d.db.prepare(
      `SELECT o.id, a.app_id, o.kind, o.source, o.ids, o.cursor, o.queued_at FROM outbox o JOIN apps a ON a.id = o.app
       ORDER BY o.id LIMIT ?`,
    );
    this.#count = d.db.prepare('SELECT count(*) FROM outbox').pluck();
  }

  async pendingJobs(limit: number): Promise<QueuedJob[]> {
    return this.#d.guard('pendingJobs', () =>
      (this.#pending.all(limit) as JobRow[]).map((r) => ({
        jobId: r.id,
        app: r.app_id,
        kind: r.kind,
        source: r.source,
        ids: r.ids.split(','),
        cursor: r.cursor,
        queuedAt: r.queued_at,
      })),
    );
  }

  async pendingCount(): Promise<number> {
    return this.#d.guard('pendingCount', () => this.#count.get() as number);
  }
}
