import type Database from 'better-sqlite3';
import type { DeadLetter, Outbox, QueuedJob } from '../../ports/outbox.js';
import type { SqliteDatabase } from './database.js';

interface JobRow {
  id: number;
  app_id: string;
  kind: 'fanout.add' | 'fanout.remove';
  source: string;
  ids: string;
  cursor: string | null;
  queued_at: number | null;
  attempts: number;
}

interface DeadRow extends JobRow {
  error: string;
  failed_at: number;
}

const job = (r: JobRow): QueuedJob => ({
  jobId: r.id,
  app: r.app_id,
  kind: r.kind,
  source: r.source,
  ids: r.ids.split(','),
  cursor: r.cursor,
  queuedAt: r.queued_at,
  attempts: r.attempts,
});

/**
 * {@link Outbox} on SQLite: a table written in the same transaction as the change it fans out,
 * and `outbox_dead`, where a job that failed for good moves (same id, cursor and queue time).
 */
export class SqliteOutbox implements Outbox {
  readonly #d: SqliteDatabase;
  readonly #pending: Database.Statement;
  readonly #due: Database.Statement;
  readonly #count: Database.Statement;
  readonly #retry: Database.Statement;
  readonly #bury: Database.Statement;
  readonly #remove: Database.Statement;
  readonly #deadCount: Database.Statement;
  readonly #dead: Database.Statement;
  readonly #requeue: (ids: readonly number[] | undefined) => number;
  readonly #failed: (jobId: number, error: string, retryAt: number | null, now: number) => void;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    const columns = 'o.id, a.app_id, o.kind, o.source, o.ids, o.cursor, o.queued_at, o.attempts';
    this.#pending = db.prepare(`SELECT ${columns} FROM outbox o JOIN apps a ON a.id = o.app ORDER BY o.id LIMIT ?`);
    this.#due = db.prepare(
      `SELECT ${columns} FROM outbox o JOIN apps a ON a.id = o.app WHERE o.retry_at IS NULL OR o.retry_at <= ? ORDER BY o.id LIMIT ?`,
    );
    this.#count = db.prepare('SELECT count(*) FROM outbox').pluck();
    this.#retry = db.prepare('UPDATE outbox SET attempts = attempts + 1, retry_at = ? WHERE id = ?');
    this.#bury = db.prepare(
      `INSERT OR REPLACE INTO outbox_dead (id, app, kind, source, ids, cursor, queued_at, attempts, error, failed_at)
       SELECT id, app, kind, source, ids, cursor, queued_at, attempts + 1, ?, ? FROM outbox WHERE id = ?`,
    );
    this.#remove = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.#deadCount = db.prepare('SELECT count(*) FROM outbox_dead').pluck();
    this.#dead = db.prepare(
      `SELECT o.id, a.app_id, o.kind, o.source, o.ids, o.cursor, o.queued_at, o.attempts, o.error, o.failed_at
       FROM outbox_dead o JOIN apps a ON a.id = o.app ORDER BY o.id LIMIT ?`,
    );
    const back = db.prepare(
      `INSERT OR IGNORE INTO outbox (id, app, kind, source, ids, cursor, queued_at, attempts, retry_at)
       SELECT id, app, kind, source, ids, cursor, queued_at, 0, NULL FROM outbox_dead WHERE id = ?`,
    );
    const forget = db.prepare('DELETE FROM outbox_dead WHERE id = ?');
    const allDead = db.prepare('SELECT id FROM outbox_dead').pluck();
    this.#requeue = db.transaction((ids: readonly number[] | undefined) => {
      let moved = 0;
      for (const id of ids ?? (allDead.all() as number[])) {
        back.run(id);
        moved += forget.run(id).changes;
      }
      return moved;
    });
    this.#failed = db.transaction((jobId: number, error: string, retryAt: number | null, now: number) => {
      if (retryAt !== null) {
        this.#retry.run(retryAt, jobId);
        return;
      }
      if (this.#bury.run(error, now, jobId).changes > 0) this.#remove.run(jobId);
    });
  }

  async pendingJobs(limit: number, now?: number): Promise<QueuedJob[]> {
    return this.#d.read('pendingJobs', () => ((now === undefined ? this.#pending.all(limit) : this.#due.all(now, limit)) as JobRow[]).map(job));
  }

  async pendingCount(): Promise<number> {
    return this.#d.read('pendingCount', () => this.#count.get() as number);
  }

  async jobFailed(jobId: number, error: string, retryAt: number | null, now: number): Promise<void> {
    await this.#d.read('jobFailed', () => this.#failed(jobId, error, retryAt, now));
  }

  async deadLetterCount(): Promise<number> {
    return this.#d.read('deadLetterCount', () => this.#deadCount.get() as number);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.#d.read('deadLetters', () =>
      (this.#dead.all(limit) as DeadRow[]).map((r) => ({ ...job(r), error: r.error, failedAt: r.failed_at })),
    );
  }

  async requeueDeadLetters(jobIds?: readonly number[]): Promise<number> {
    return this.#d.read('requeueDeadLetters', () => this.#requeue(jobIds));
  }
}
