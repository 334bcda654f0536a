import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyAtTime } from '../../core/activities/activity-id.js';
import type { EntryWrite, WriteBatch, WriteStore } from '../../ports/write-store.js';
import type { SqliteDatabase } from './database.js';
import { SqliteGroups } from './sqlite-groups.js';
import { SqliteHideWrites } from './sqlite-hide-writes.js';
import { SqliteReactionWrites } from './sqlite-reaction-store.js';
import { signalRows, SqliteSignalWrites } from './sqlite-signal-writes.js';
import type { SignalWrites } from '../../ports/signal-writes.js';
import { batchChanges, changeKey } from '../../ports/change-marks.js';
import { SqliteChangeMarks } from './sqlite-change-marks.js';

/**
 * A write batch, or signal writes (SqliteSignalStore shares this group commit), or a function
 * that writes through its own statements (the stores of the ports in `src/ports/`) and whose
 * result the caller's promise resolves to, on this store.
 */
type SqliteBatch = WriteBatch & { readonly signals?: SignalWrites; readonly run?: () => unknown; readonly rows?: number; readonly relaxed?: boolean };

/**
 * A write handed to another thread as plain data: a batch (`op` absent) or a named operation
 * (see {@link SqliteWriteStore.define}) with its arguments.
 */
export interface WriteItem {
  readonly app: string;
  readonly batch?: WriteBatch & { readonly signals?: SignalWrites };
  readonly op?: string;
  readonly args?: readonly unknown[];
  readonly rows: number;
  /** It creates or removes follow edges (reads of the graph wait for it). */
  readonly graph: boolean;
  /** It writes activities or content tags, or anything (a named operation). */
  readonly content: boolean;
  /** It need not reach the disk before it is acknowledged (see {@link SqliteWriteStore.transactOp}). */
  readonly relaxed?: boolean;
}

/** Applies writes elsewhere (the writer thread): each promise settles once its write committed or failed. */
export interface RemoteWriter {
  send(item: WriteItem): Promise<unknown>;
}

/** A batch waiting for its group commit, with the caller's promise. */
interface Waiting {
  readonly app: string;
  readonly batch: SqliteBatch;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Rows (entries, activities, edges…) after which a group is committed without waiting for the turn to end. */
export const MAX_GROUP_ROWS = 50_000;

/**
 * {@link WriteStore} on SQLite with group commit. With synchronous = FULL every commit waits for
 * an fsync, and that, not the statements, limits how many writes per second the store takes. So
 * the batches handed to {@link commit} during one event-loop turn wait and are applied together in
 * ONE IMMEDIATE transaction: at the end of the turn (setImmediate), when they hold
 * {@link MAX_GROUP_ROWS} rows, or before any other store call. Each caller's promise resolves only
 * after that transaction committed, so an acknowledged write is on disk. If the group's
 * transaction fails, its batches are applied again one by one, each in its own transaction, so a
 * bad batch fails alone.
 *
 * Ordering: every store call on this database first commits the waiting batches (see
 * {@link SqliteDatabase.guard}), so a use case that reads and then commits sees every write handed
 * to the store before its read — exactly as if each commit had been applied when it was called.
 * Reads of the follow graph alone (follower pages, pull flags) let the batches wait unless one of
 * them follows or unfollows, since nothing else changes the graph; that is what lets concurrent
 * posts, whose planning reads only the graph, share a commit. Likewise reads of activity rows and
 * content tags alone let them wait unless one of them writes activities or tags: analytics
 * requests, which read the activities their events name and then commit events and profile
 * changes, share a commit that way.
 *
 * Entry inserts are `INSERT OR IGNORE` on (feed, sort key), so a replayed fan-out chunk is a
 * no-op; each feed keeps an entry count so trimming to max length costs nothing until a feed is
 * full.
 */
export class SqliteWriteStore implements WriteStore {
  readonly #d: SqliteDatabase;
  readonly #groups: SqliteGroups;
  readonly #reactions: SqliteReactionWrites;
  readonly #marks: SqliteChangeMarks;
  readonly #groupTx: Database.Transaction<(group: readonly Waiting[]) => void>;
  readonly #oneTx: Database.Transaction<(w: Waiting) => void>;
  #waiting: Waiting[] = [];
  /** Results of the `run` functions of the transaction being committed. */
  readonly #results = new Map<Waiting, unknown>();
  #waitingRows = 0;
  /** Whether a waiting batch creates or removes follow edges. */
  #waitingGraph = false;
  /** Whether a waiting batch writes or erases activities, or replaces content tags. */
  #waitingContent = false;
  #scheduled = false;
  /** Named operations (see {@link define}). */
  readonly #ops = new Map<string, (...args: never[]) => unknown>();
  /** The writer thread, when writes are applied there instead of on this connection. */
  #remote: RemoteWriter | null = null;
  /** Called after each transaction committed. */
  readonly #onCommit: (() => void) | null;
  readonly #upsertActivity: Database.Statement;
  readonly #insertEntry: Database.Statement;
  readonly #deleteEntry: Database.Statement;
  readonly #deleteEntryFrom: Database.Statement;
  readonly #deleteByOrigin: Database.Statement;
  readonly #addCount: Database.Statement;
  readonly #addCountReturning: Database.Statement;
  readonly #trim: Database.Statement;
  readonly #follow: Database.Statement;
  readonly #unfollow: Database.Statement;
  readonly #followerCount: Database.Statement;
  readonly #enqueue: Database.Statement;
  readonly #progress: Database.Statement;
  readonly #complete: Database.Statement;
  readonly #hides: SqliteHideWrites;
  readonly #signals: SqliteSignalWrites;
  readonly #eraseActivity: Database.Statement;
  readonly #audit: Database.Statement;

  /**
   * `groups` is shared with the other stores of the same database (one set of statements); every
   * transaction writes one change mark in `marks` naming what its batches changed.
   */
  constructor(
    d: SqliteDatabase,
    groups: SqliteGroups = new SqliteGroups(d),
    marks: SqliteChangeMarks = new SqliteChangeMarks(d),
    onCommit: (() => void) | null = null,
  ) {
    this.#d = d;
    this.#onCommit = onCommit;
    this.#groups = groups;
    this.#marks = marks;
    this.#reactions = new SqliteReactionWrites(d);
    const db = d.db;
    this.#upsertActivity = db.prepare(
      `INSERT INTO activities (app, sk, id, foreign_id, time, home, to_feeds, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, sk) DO UPDATE SET foreign_id = excluded.foreign_id, time = excluded.time,
         to_feeds = excluded.to_feeds, body = excluded.body`,
    );
    this.#insertEntry = db.prepare('INSERT OR IGNORE INTO entries (feed, sk, origin) VALUES (?, ?, ?)');
    // RETURNING grp tells which aggregated groups lost an activity.
    this.#deleteEntry = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? RETURNING grp');
    this.#deleteEntryFrom = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? AND origin IS ? RETURNING grp');
    this.#deleteByOrigin = db.prepare('DELETE FROM entries WHERE feed = ? AND origin = ? RETURNING grp');
    this.#addCount = db.prepare('UPDATE feeds SET n = n + ? WHERE id = ?');
    this.#addCountReturning = db.prepare('UPDATE feeds SET n = n + ? WHERE id = ? RETURNING n').pluck();
    this.#trim = db.prepare(
      'DELETE FROM entries WHERE feed = @feed AND sk IN (SELECT sk FROM entries WHERE feed = @feed ORDER BY sk LIMIT @excess)',
    );
    this.#follow = db.prepare('INSERT OR IGNORE INTO follows (target, source, created, grouped, since) VALUES (?, ?, ?, ?, ?)');
    this.#unfollow = db.prepare('DELETE FROM follows WHERE target = ? AND source = ?');
    this.#followerCount = db.prepare(
      'UPDATE feeds SET followers = followers + @delta, pull = CASE WHEN followers + @delta > @above THEN 1 ELSE pull END WHERE id = @id',
    );
    this.#enqueue = db.prepare('INSERT INTO outbox (app, kind, source, ids, queued_at) VALUES (?, ?, ?, ?, ?)');
    this.#progress = db.prepare('UPDATE outbox SET cursor = ? WHERE id = ?');
    this.#complete = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.#hides = new SqliteHideWrites(d);
    this.#signals = new SqliteSignalWrites(d);
    this.#eraseActivity = db.prepare('DELETE FROM activities WHERE app = ? AND sk = ?');
    this.#audit = db.prepare('INSERT INTO audit (app, entity_type, entity_id, action, user_id, custom, created) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#groupTx = db.transaction((group: readonly Waiting[]) => {
      for (const w of group) this.applyWaiting(w);
      this.mark(group.filter((w) => !w.batch.run));
    });
    this.#oneTx = db.transaction((w: Waiting) => {
      this.applyWaiting(w);
      if (!w.batch.run) this.mark([w]);
    });
    d.onAccess((reads) => {
      // Inside a transaction a commit would only be a savepoint: the caller is the flush itself.
      if (this.#waiting.length === 0 || db.inTransaction) return;
      if ((reads === 'graph' && !this.#waitingGraph) || (reads === 'content' && !this.#waitingContent)) return;
      this.flush();
    });
  }

  /**
   * Personalization signals, in the same group commit as feed writes: handed over in the same
   * event-loop turn as a {@link commit}, they share its transaction.
   */
  commitSignals(app: string, signals: SignalWrites): Promise<void> {
    return this.commit(app, { signals });
  }

  /**
   * From now on, hands every write to `remote` (the writer thread, which applies it with this
   * class's code on its own connection) instead of applying it here. Reads then see the writes
   * that were acknowledged, not the ones still on their way (see {@link WriterThread}).
   */
  useRemote(remote: RemoteWriter): void {
    this.#remote = remote;
  }

  /** Whether writes go to another thread. */
  get remote(): boolean {
    return this.#remote !== null;
  }

  /**
   * Names a write operation: `run` executes inside the group commit with data arguments, so that
   * the operation can also be applied by the writer thread, whose store defines the same names.
   * The returned function hands it over (see {@link transactOp}).
   */
  define<A extends unknown[], T>(name: string, run: (...args: A) => T): (args: A, rows?: number, graph?: boolean, relaxed?: boolean) => Promise<Awaited<T>> {
    if (this.#ops.has(name)) throw new Error(`write operation ${name} defined twice`);
    this.#ops.set(name, run as (...args: never[]) => unknown);
    return (args, rows = 1, graph = false, relaxed = false) => this.transactOp(name, args, rows, graph, relaxed) as Promise<Awaited<T>>;
  }

  /**
   * Runs the named operation inside the group commit, after every write handed over before it,
   * and resolves to its result once the transaction committed. `rows` sizes the group as
   * {@link commit}'s do; `graph`: it creates or removes follow edges.
   *
   * `relaxed`: the write need not be on disk when it is acknowledged, because a durable record
   * redoes it after a power loss (an intent's bookkeeping, operations an intent covers). A
   * transaction of relaxed writes only commits without waiting for fsync (synchronous = NORMAL);
   * one with any other write waits as always. SQLite's WAL keeps commits in order, so a relaxed
   * commit that reached the disk had every commit before it reach the disk too.
   */
  transactOp(name: string, args: readonly unknown[], rows = 1, graph = false, relaxed = false): Promise<unknown> {
    if (this.#remote) return this.#remote.send({ app: '', op: name, args, rows, graph, content: true, ...(relaxed ? { relaxed } : {}) });
    const run = this.#ops.get(name);
    if (!run) return Promise.reject(new Error(`no write operation named ${name}`));
    return this.enqueue('', { run: () => (run as (...a: readonly unknown[]) => unknown)(...args), rows, graphChange: graph, relaxed });
  }

  /**
   * Runs `run` inside the group commit, after every write handed over before it, and resolves to
   * its result once the transaction committed. A function cannot cross threads: with a writer
   * thread it runs in a transaction of this connection, which waits for the thread's lock
   * (prefer {@link define}).
   */
  transact<T>(run: () => T, rows = 1, graph = false): Promise<T> {
    if (this.#remote) return this.#d.read('transact', () => this.#d.db.transaction(run).immediate());
    return this.enqueue('', { run, rows, graphChange: graph }) as Promise<T>;
  }

  commit(app: string, batch: SqliteBatch): Promise<void> {
    if (this.#remote) {
      if (batch.run) return this.transact(batch.run).then(() => undefined);
      return this.#remote.send({
        app,
        batch,
        rows: rowsOf(batch),
        graph: graphOf(batch),
        content: contentOf(batch),
      }) as Promise<void>;
    }
    return this.enqueue(app, batch) as Promise<void>;
  }

  private enqueue(app: string, batch: SqliteBatch & { graphChange?: boolean }): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.#waiting.push({ app, batch, resolve, reject });
      if (graphOf(batch) || batch.graphChange) this.#waitingGraph = true;
      if (contentOf(batch)) this.#waitingContent = true;
      this.#waitingRows += rowsOf(batch);
      if (this.#waitingRows >= MAX_GROUP_ROWS) this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flushScheduled);
      }
    });
  }

  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Commits the waiting batches now, in the order they were handed over, and settles their promises. */
  flush(): void {
    const group = this.#waiting;
    if (group.length === 0) return;
    this.#waiting = [];
    this.#waitingRows = 0;
    this.#waitingGraph = false;
    this.#waitingContent = false;
    // Relaxed alone (see transactOp): this transaction does not wait for fsync; every other
    // commit on this connection does, as the connection was opened.
    const relaxed = this.#d.path !== ':memory:' && group.every((w) => w.batch.relaxed === true);
    if (relaxed) this.#d.db.pragma('synchronous = NORMAL');
    try {
      if (group.length > 1 && this.run(() => this.#groupTx.immediate(group), group, false)) return;
      // Alone, or the group failed: each batch in its own transaction, so only a bad one fails.
      for (const w of group) this.run(() => this.#oneTx.immediate(w), [w], true);
    } finally {
      if (relaxed) this.#d.db.pragma('synchronous = FULL');
    }
  }

  /** Runs one transaction; resolves `settles` once it committed, or rejects them (when asked) and returns false. */
  private run(tx: () => void, settles: readonly Waiting[], reject: boolean): boolean {
    try {
      this.#d.guard('commit', tx);
    } catch (err) {
      this.#results.clear();
      // Feed integers interned inside the rolled-back transaction no longer exist.
      this.#d.forgetFeeds();
      if (reject) for (const w of settles) w.reject(err);
      return false;
    }
    this.#onCommit?.();
    for (const w of settles) w.resolve(this.#results.get(w));
    this.#results.clear();
    return true;
  }

  private applyWaiting(w: Waiting): void {
    if (w.batch.run) this.#results.set(w, w.batch.run());
    else this.apply(w.app, w.batch);
  }

  /** Applies a batch, with its change mark, inside a transaction that is already open (a {@link transact} function). */
  applyInTransaction(app: string, b: WriteBatch): void {
    this.apply(app, b);
    this.mark([{ app, batch: b }]);
  }

  /**
   * Writes the change mark of the batches just applied (in their transaction): the keys they
   * change, and the app's pull key when a direct entry of a pull-served feed came or went.
   */
  private mark(batches: readonly { readonly app: string; readonly batch: SqliteBatch }[]): void {
    let keys: Set<string> | null = null;
    for (const { app, batch } of batches) {
      const changed = batchChanges(app, batch);
      if (this.touchesPulled(app, batch)) changed.add(changeKey.pulled(app));
      if (keys === null) keys = changed;
      else for (const k of changed) keys.add(k);
    }
    if (keys !== null && keys.size > 0) this.#marks.write(keys);
  }

  /** Whether the batch adds or removes a direct entry (origin null) of a pull-served feed. */
  private touchesPulled(app: string, b: SqliteBatch): boolean {
    const pull = (fid: string) => {
      const f = this.#d.findFeed(app, fid);
      return f !== undefined && this.#marks.isPull(f);
    };
    for (const e of b.entries ?? []) if (e.origin === null && pull(e.feed)) return true;
    for (const r of b.removals ?? []) if ((r.origin === undefined || r.origin === null) && pull(r.feed)) return true;
    return false;
  }

  private apply(app: string, b: SqliteBatch): void {
    const d = this.#d;
    const a = d.appInt(app);
    if (b.activities) {
      for (const act of b.activities) {
        this.#upsertActivity.run(a, idToSortKey(act.id), act.id, act.foreignId, act.timeUs, d.feedInt(app, act.home), act.to.join(','), act.body);
      }
    }
    if (b.follows) {
      for (const f of b.follows) {
        const t = d.feedInt(app, f.target);
        const source = d.feedInt(app, f.source);
        const since = !f.since ? null : 'id' in f.since ? idToSortKey(f.since.id) : sortKeyAtTime(f.since.timeUs);
        this.#hides.unhideFollowed(source, t, since);
        if (this.#follow.run(t, source, f.createdUs, f.grouped ? 1 : 0, since).changes > 0) {
          this.#followerCount.run({ delta: 1, above: f.pullAbove ?? Number.MAX_SAFE_INTEGER, id: t });
        }
      }
    }
    if (b.unfollows) {
      for (const f of b.unfollows) {
        const t = d.findFeed(app, f.target);
        const s = d.findFeed(app, f.source);
        if (t !== undefined && s !== undefined && this.#unfollow.run(t, s).changes > 0) {
          this.#followerCount.run({ delta: -1, above: Number.MAX_SAFE_INTEGER, id: t });
        }
      }
    }
    if (b.removals) {
      // A removal fan-out lists the same few ids once per follower: convert each id once.
      const keys = new Map<string, Buffer>();
      for (const r of b.removals) {
        const f = d.findFeed(app, r.feed);
        if (f === undefined) continue;
        const origin = r.origin === undefined ? undefined : r.origin === null ? null : d.findFeed(app, r.origin);
        if (origin === undefined && r.origin !== undefined) continue; // origin feed never existed: nothing came from it
        const rows: { grp: number | null }[] = [];
        for (const id of r.ids) {
          let sk = keys.get(id);
          if (sk === undefined) keys.set(id, (sk = idToSortKey(id)));
          rows.push(...((r.origin === undefined ? this.#deleteEntry.all(f, sk) : this.#deleteEntryFrom.all(f, sk, origin)) as { grp: number | null }[]));
        }
        this.afterRemoval(app, f, rows);
      }
    }
    if (b.removeByOrigin) {
      for (const r of b.removeByOrigin) {
        const f = d.findFeed(app, r.feed);
        const o = d.findFeed(app, r.origin);
        if (f === undefined || o === undefined) continue;
        this.afterRemoval(app, f, this.#deleteByOrigin.all(f, o) as { grp: number | null }[]);
      }
    }
    if (b.entries && b.entries.length > 0) this.insertEntries(app, b.entries);
    if (b.enqueue) {
      const queuedAt = Date.now();
      for (const j of b.enqueue) this.#enqueue.run(a, j.kind, j.source, j.ids.join(','), queuedAt);
    }
    if (b.reactions) this.#reactions.apply(app, b.reactions);
    if (b.marks) {
      for (const m of b.marks) {
        const f = d.findFeed(app, m.feed);
        if (f !== undefined) this.#groups.mark(f, m);
      }
    }
    if (b.progress) {
      for (const p of b.progress) this.#progress.run(p.cursor, p.jobId);
    }
    if (b.complete) {
      for (const id of b.complete) this.#complete.run(id);
    }
    if (b.hides || b.unhides) this.#hides.apply(app, b);
    if (b.signals) this.#signals.apply(app, b.signals);
    if (b.erase) for (const id of b.erase) this.#eraseActivity.run(a, idToSortKey(id));
    if (b.audit) {
      for (const c of b.audit.changes) this.#audit.run(a, c.entityType, c.entityId, c.action, c.userId, c.custom, b.audit.atUs);
    }
  }

  /** Keeps flat counts and aggregated groups right after entries were deleted. */
  private afterRemoval(app: string, feed: number, rows: { grp: number | null }[]): void {
    let flat = 0;
    let groups: Map<number, number> | null = null;
    for (const r of rows) {
      if (r.grp === null) flat++;
      else (groups ??= new Map()).set(r.grp, (groups.get(r.grp) ?? 0) + 1);
    }
    if (flat > 0) this.#addCount.run(-flat, feed);
    if (groups) this.#groups.afterRemoval(app, feed, groups);
  }

  /** Adds `added` to the feed's count and trims it to its `max` newest entries when over. */
  private countAndTrim(f: number, added: number, max: number): void {
    // One statement both counts and tells whether the feed is over its length.
    const n = this.#addCountReturning.get(added, f) as number;
    if (n > max) {
      const trimmed = this.#trim.run({ feed: f, excess: n - max }).changes;
      this.#addCount.run(-trimmed, f);
    }
  }

  private insertEntries(app: string, entries: readonly EntryWrite[]): void {
    const d = this.#d;
    // Group by feed so each feed's count and trim are touched once per batch.
    const byFeed = new Map<string, EntryWrite[]>();
    for (const e of entries) {
      const list = byFeed.get(e.feed);
      if (list) list.push(e);
      else byFeed.set(e.feed, [e]);
    }
    // A fan-out chunk writes the same few ids into many feeds: convert each id once.
    const keys = new Map<string, Buffer>();
    for (const [feed, list] of byFeed) {
      const f = d.feedInt(app, feed);
      let added = 0;
      let max = Infinity;
      for (const e of list) {
        const origin = e.origin === null ? null : d.feedInt(app, e.origin);
        if (e.group) {
          this.#groups.place(app, f, e.id, origin, e.group);
          continue;
        }
        let sk = keys.get(e.id);
        if (sk === undefined) keys.set(e.id, (sk = idToSortKey(e.id)));
        added += this.#insertEntry.run(f, sk, origin).changes;
        if (e.maxLength < max) max = e.maxLength;
      }
      if (added > 0) this.countAndTrim(f, added, max);
    }
  }
}

/** Whether a batch creates or removes follow edges. */
function graphOf(b: SqliteBatch): boolean {
  return (b.follows?.length ?? 0) > 0 || (b.unfollows?.length ?? 0) > 0;
}

/** Whether a batch writes or erases activities or replaces content tags; a function may write anything but follow edges (those it declares). */
function contentOf(b: SqliteBatch): boolean {
  return (b.activities?.length ?? 0) > 0 || (b.erase?.length ?? 0) > 0 || (b.signals?.tags?.length ?? 0) > 0 || b.run !== undefined;
}

/** Rough row count of a batch, to bound the size of a group. */
function rowsOf(b: SqliteBatch): number {
  return (
    (b.activities?.length ?? 0) +
    (b.entries?.length ?? 0) +
    (b.removals?.length ?? 0) +
    (b.follows?.length ?? 0) +
    (b.unfollows?.length ?? 0) +
    (b.enqueue?.length ?? 0) +
    signalRows(b.signals) +
    (b.erase?.length ?? 0) +
    (b.audit?.changes.length ?? 0) +
    (b.rows ?? 0) +
    1
  );
}
