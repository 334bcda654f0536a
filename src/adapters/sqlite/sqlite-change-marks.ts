import type Database from 'better-sqlite3';
import type { ChangeMarks, ChangesSince } from '../../ports/change-marks.js';
import type { SqliteDatabase } from './database.js';

/** Marks kept: a reader further behind than this takes everything as changed. */
export const KEEP_MARKS = 4096;
/** Marks read in one {@link SqliteChangeMarks.changesSince}; further behind, everything counts as changed. */
const MAX_READ = 2048;

/**
 * {@link ChangeMarks} on SQLite: the `changes` table, one row per committed write naming the keys
 * it changed (a JSON array), numbered by AUTOINCREMENT. Writers serialize on SQLite's write lock,
 * so row numbers follow commit order, and a mark is written in the transaction of its write: a
 * connection that reads data sees the marks of every write it sees. Every process over the same
 * file (`serve --workers`, a separate `rivulet worker`) reads the same marks.
 *
 * The newest rows ({@link KEEP_MARKS} by default) are kept; a reader that fell further behind learns that the
 * log no longer reaches back (`complete: false`).
 */
export class SqliteChangeMarks implements ChangeMarks {
  readonly #d: SqliteDatabase;
  readonly #insert: Database.Statement;
  readonly #prune: Database.Statement;
  readonly #position: Database.Statement;
  readonly #since: Database.Statement;
  readonly #isPull: Database.Statement;
  readonly #recordTx: Database.Transaction<(keys: readonly string[]) => number>;

  readonly #keep: number;
  readonly #pruneEvery: number;

  /** `keep`: how many of the newest marks are kept. */
  constructor(d: SqliteDatabase, keep = KEEP_MARKS) {
    this.#d = d;
    this.#keep = keep;
    this.#pruneEvery = Math.min(256, Math.max(1, keep >> 2));
    const db = d.db;
    this.#insert = db.prepare('INSERT INTO changes (keys) VALUES (?)');
    this.#prune = db.prepare('DELETE FROM changes WHERE seq <= ?');
    // The newest row, or the counter when every row was pruned (never: the newest are kept).
    this.#position = db
      .prepare("SELECT coalesce((SELECT max(seq) FROM changes), (SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)")
      .pluck();
    this.#since = db.prepare(`SELECT seq, keys FROM changes WHERE seq > ? ORDER BY seq LIMIT ${MAX_READ + 1}`).raw();
    this.#isPull = db.prepare('SELECT pull FROM feeds WHERE id = ?').pluck();
    this.#recordTx = db.transaction((keys: readonly string[]) => this.write(keys));
  }

  async position(): Promise<number> {
    return this.#d.read('changes.position', () => this.#position.get() as number, true);
  }

  async changesSince(after: number): Promise<ChangesSince> {
    return this.#d.read('changes.since', () => this.since(after), true);
  }

  async record(keys: readonly string[]): Promise<number> {
    return this.#d.read('changes.record', () => this.#recordTx.immediate(keys));
  }

  /**
   * The marks after `after` (synchronous: the read cache looks them up on its hot path). Without
   * the store's guard: writes still waiting for their group commit are not in the data either.
   */
  since(after: number): ChangesSince {
    const rows = this.#since.all(after) as [number, string][];
    if (rows.length === 0) return { position: Math.max(after, this.#position.get() as number), keys: [], complete: true };
    // Row numbers have no holes (AUTOINCREMENT, rolled-back rows take theirs back), so a first row
    // past `after + 1` means the ones between were pruned.
    const complete = rows[0][0] === after + 1;
    if (rows.length > MAX_READ) return { position: this.#position.get() as number, keys: [], complete: false };
    const keys: string[] = [];
    for (const [, text] of rows) for (const k of JSON.parse(text) as string[]) keys.push(k);
    return { position: rows[rows.length - 1][0], keys, complete };
  }

  /** Writes a mark inside the caller's transaction; returns its position. */
  write(keys: Iterable<string>): number {
    const list = Array.isArray(keys) ? keys : [...keys];
    const seq = Number(this.#insert.run(JSON.stringify(list)).lastInsertRowid);
    if (seq % this.#pruneEvery === 0 && seq > this.#keep) this.#prune.run(seq - this.#keep);
    return seq;
  }

  /** Whether the feed with this integer is served by pull (its direct entries show in followers' merged reads). */
  isPull(feed: number): boolean {
    return this.#isPull.get(feed) === 1;
  }
}
