import type Database from 'better-sqlite3';
import type { ChangeMarks, ChangesSince } from '../../ports/change-marks.js';
import type { SqliteDatabase } from './database.js';

/** Marks kept: a reader further behind than this takes everything as changed. */
export const KEEP_MARKS = 4096;
/** Marks read in one {@link SqliteChangeMarks.changesSince}; further behind, everything counts as changed. */
const MAX_READ = 2048;
/** Marks the main thread keeps of the writer thread's reports (see {@link SqliteChangeMarks.known}). */
const KEEP_REPORTED = 1024;

/**
 * The marks the writer thread reports with its acknowledgements (see
 * {@link SqliteChangeMarks.report}): every mark of the log after `after` up to `position`, as its
 * connection read them right after its commits, and how many commits the thread had made then.
 */
export interface MarksReport {
  readonly after: number;
  readonly position: number;
  /** Each mark's position and its keys (JSON text, parsed where they are used). */
  readonly rows: readonly (readonly [number, string])[];
  /** False when the marks read did not reach back to `after` (pruned, or too many). */
  readonly complete: boolean;
  /** The thread's commit counter when the marks were read: every commit up to it is among them. */
  readonly commits: number;
}

/** A reported mark on the main thread; its keys parsed on first use. */
interface Reported {
  readonly seq: number;
  readonly text: string;
  keys: string[] | null;
}

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
  readonly #own: Database.Statement;
  /** Writer thread side: the position up to which the marks were reported (-1: not reporting). */
  #reported = -1;
  /**
   * Main thread side: the marks the writer thread reported, a copy of the log over
   * (#from, #to], and how many of the thread's commits they cover.
   */
  #log: Reported[] = [];
  #from = -1;
  #to = -1;
  #acked = -1;
  #threadCommits: Int32Array | null = null;
  /** Takes the thread's acknowledgements sent but not received yet (see `WriterThread.takeAcknowledgements`). */
  #takeAcks: () => void = () => {};
  /** This connection's own changes and the other processes' mark when last looked (see {@link known}). */
  #base: string | null = null;
  /** The log's newest position when {@link #base} last moved: the reports must reach it. */
  #need = Number.MAX_SAFE_INTEGER;

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
    this.#own = db.prepare('SELECT total_changes()').pluck();
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

  /**
   * Writer thread: from now on, {@link report} reports the marks after the current position.
   * Called when the thread has opened its connection, before it writes anything.
   */
  startReports(): void {
    this.#reported = this.#position.get() as number;
  }

  /**
   * Writer thread: the marks committed since the last report (by this thread or any other
   * connection: they are read from the log, right after the thread's commits), to go with the
   * acknowledgement of those commits; `commits` is the thread's commit counter now. Null when not
   * reporting or the read failed (the main thread then reads the log itself).
   */
  report(commits: number): MarksReport | null {
    const after = this.#reported;
    if (after < 0) return null;
    try {
      const rows = this.#since.all(after) as [number, string][];
      if (rows.length > MAX_READ || (rows.length > 0 && rows[0][0] !== after + 1)) {
        const position = this.#position.get() as number;
        this.#reported = position;
        return { after, position, rows: [], complete: false, commits };
      }
      const position = rows.length === 0 ? after : rows[rows.length - 1][0];
      this.#reported = position;
      return { after, position, rows, complete: true, commits };
    } catch {
      return null;
    }
  }

  /**
   * Main thread: the writer thread whose reports {@link acknowledged} takes; `commits` is its
   * commit counter (shared memory, incremented after each commit, before its acknowledgement).
   */
  followThread(commits: Int32Array, takeAcknowledgements: () => void): void {
    this.#threadCommits = commits;
    this.#takeAcks = takeAcknowledgements;
  }

  /**
   * Main thread: a report of the writer thread (see {@link report}), taken before the writes it
   * acknowledges settle. Reports follow one another: one that does not start where the last ended
   * (a new thread) starts the copy of the log afresh.
   */
  acknowledged(r: MarksReport): void {
    this.#acked = r.commits;
    if (!r.complete || r.after !== this.#to) {
      this.#log = [];
      this.#from = this.#to = r.complete ? r.after : r.position;
      if (!r.complete) return;
    }
    for (const [seq, text] of r.rows) this.#log.push({ seq, text, keys: null });
    this.#to = r.position;
    if (this.#log.length > KEEP_REPORTED) {
      const drop = this.#log.length - KEEP_REPORTED / 2;
      this.#from = this.#log[drop - 1].seq;
      this.#log = this.#log.slice(drop);
    }
  }

  /**
   * The marks after `after` as {@link changesSince} would read them, from the writer thread's
   * reports, without reading the log; null when the reports cannot tell them all. They can when:
   * `after` lies within the reports; every commit the writer thread made is reported (its counter
   * equals the last report's); no other process has the file open, and none came and went, and
   * this connection wrote nothing, since the reports last reached the log's end as it was then (a
   * mark of this connection, e.g. `record`, or of another process is then in the reports too,
   * which are read from the log). So after its own commits a process learns its marks from the
   * acknowledgement, and reads the log only when someone else may have written.
   */
  known(after: number): ChangesSince | null {
    const commits = this.#threadCommits;
    if (commits === null) return null;
    // A commit whose acknowledgement was sent but not received yet: taken now.
    if (Atomics.load(commits, 0) !== this.#acked) this.#takeAcks();
    if (after < this.#from || after > this.#to) return null;
    if (Atomics.load(commits, 0) !== this.#acked) return null;
    const others = this.#d.othersMark();
    // Beside other processes it ends in their data_version (see SqliteDatabase.othersMark).
    if (others.startsWith('.')) return null;
    const base = `${this.#own.get() as number}:${others}`;
    if (base !== this.#base) {
      this.#base = base;
      this.#need = this.#position.get() as number;
    }
    if (this.#to < this.#need) return null;
    const keys: string[] = [];
    const log = this.#log;
    // Newest last: walk back to the first mark after `after`.
    let i = log.length;
    while (i > 0 && log[i - 1].seq > after) i--;
    for (; i < log.length; i++) {
      const r = log[i];
      r.keys ??= JSON.parse(r.text) as string[];
      for (const k of r.keys) keys.push(k);
    }
    return { position: this.#to, keys, complete: true };
  }

  /** Whether the feed with this integer is served by pull (its direct entries show in followers' merged reads). */
  isPull(feed: number): boolean {
    return this.#isPull.get(feed) === 1;
  }
}
