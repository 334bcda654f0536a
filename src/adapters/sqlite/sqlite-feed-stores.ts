import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId, timeOfId } from '../../core/activities/activity-id.js';
import type { ActivityRecord, ActivityStore } from '../../ports/activity-store.js';
import type { Follower, FollowEdge, FollowerPage, FollowStore, PullSource } from '../../ports/follow-store.js';
import type { FeedGroups, GroupAsk, GroupRange, GroupRecord, GroupStore, GroupWrite, StoredGroup } from '../../ports/group-store.js';
import type { ApplyOptions, FeedChange, FeedOp, FeedScan, ReaderState, SpreadOptions, TimelineEntry, TimelineStore } from '../../ports/timeline-store.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteActivityStore } from './sqlite-activity-store.js';
import type { SqliteFollowStore } from './sqlite-follow-store.js';
import type { SqliteTimelineStore } from './sqlite-timeline-store.js';
import type { GroupRow as GroupRowBase } from './sqlite-groups.js';
import type { SqliteWriteStore } from './sqlite-write-store.js';
import type { SqliteChangeMarks } from './sqlite-change-marks.js';
import { changeKey } from '../../ports/change-marks.js';

/** {@link ActivityStore} on SQLite. */
export class SqliteActivities implements ActivityStore {
  readonly #d: SqliteDatabase;
  readonly #legacy: SqliteActivityStore;
  readonly #byForeignId: Database.Statement;

  constructor(d: SqliteDatabase, legacy: SqliteActivityStore) {
    this.#d = d;
    this.#legacy = legacy;
    this.#byForeignId = d.db.prepare("SELECT id FROM activities WHERE app = ? AND foreign_id = ? AND foreign_id <> '' ORDER BY sk DESC").pluck();
  }

  getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>> {
    return this.#legacy.getActivities(app, ids);
  }

  async idsByForeignId(app: string, foreignId: string): Promise<string[]> {
    return this.#d.read('idsByForeignId', () => this.#byForeignId.all(this.#d.appInt(app), foreignId) as string[]);
  }
}

/** The id of a sort key given as hex (see `sortKeyToId`). */
function hexToId(hex: string): string {
  return hex.slice(8, 16) + '-' + hex.slice(4, 8) + '-' + hex.slice(0, 4) + '-' + hex.slice(16, 20) + '-' + hex.slice(20, 32);
}

/**
 * The entries of an ids scan from its one text: per entry, the sort key as 32 lower-case hex
 * digits followed by the origin feed's integer (nothing when direct), entries joined by commas,
 * newest first. The hex digits order as the keys do, so the order is checked here: an aggregate
 * without ORDER BY takes its rows in the order the subquery gives them, which SQLite does not
 * promise (asking for the order makes it sort again).
 */
export function parseIds(text: string, d: { feedName(id: number): string }): TimelineEntry[] {
  const parts = text.split(',');
  const out: TimelineEntry[] = new Array(parts.length);
  let ordered = true;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    // Whole texts compare as their keys do: two entries never share a key, so the first 32
    // digits always differ and decide.
    if (i > 0 && p > parts[i - 1]) ordered = false;
    out[i] = { id: hexToId(p), origin: p.length > 32 ? d.feedName(Number(p.slice(32))) : null };
  }
  if (!ordered) {
    const keys = new Map(out.map((e, i) => [e, parts[i].slice(0, 32)]));
    out.sort((a, b) => (keys.get(a)! < keys.get(b)! ? 1 : -1));
  }
  return out;
}

interface ScanRow {
  sk: Buffer;
  origin: string | null;
  body?: string;
}

/** Feeds whose count bound the writer keeps at most (see SqliteTimelines' `#totals`). */
const MAX_KNOWN_TOTALS = 1_000_000;

/** Recent entries (see {@link SqliteTimelines}) after which the writer merges them into `entries`. */
export const MERGE_AT_ROWS = 16_000;
/** Recent entries one merge transaction moves at most (whole feeds: the last feed may add a few). */
export const MERGE_STEP_ROWS = 2_000;
/**
 * Calls adding at least this many entries (a fan-out worker's chunk) write into `entries`
 * directly: they already rewrite each page once for many entries, and going through the recent
 * table would write every entry twice.
 */
export const DIRECT_ADD_ROWS = 2_000;

/**
 * {@link TimelineStore} on SQLite: range scans of the (feed, sort key) primary key, and per-feed
 * operations applied in the write store's group commit. Only flat entries (no group) are touched
 * by the operations; grouped feeds change through {@link SqliteGroupStore}.
 *
 * Two tables hold a feed's flat entries, each entry in exactly one of them: `entries`, clustered
 * on (feed, sort key), and the small `recent_entries` of the same shape, where adds land. A
 * fan-out commit puts one entry into each of hundreds of feeds: into `entries` that rewrites one
 * B-tree page per feed (and the WAL carries every one of them), into the small table only its few
 * pages. The writer then merges recent entries into `entries` in feed order
 * ({@link mergeStep}), in steps of about {@link MERGE_STEP_ROWS} rows once
 * {@link MERGE_AT_ROWS} are waiting, so each feed's page is rewritten once for all the entries it
 * got meanwhile. Reads merge both tables' ranges in one statement (one snapshot, so a merge
 * committing meanwhile is never seen half done); `feeds.n` counts the entries of `entries`, and
 * the count of a feed is that plus its recent entries. Trims and removals take entries out of
 * whichever table holds them, at once, so every operation keeps its contract. A call adding
 * {@link DIRECT_ADD_ROWS} entries or more (a fan-out worker's chunk) writes into `entries`
 * directly, as it rewrites each page once for many entries already.
 */
export class SqliteTimelines implements TimelineStore {
  readonly #d: SqliteDatabase;
  readonly #writes: SqliteWriteStore;
  readonly #legacy: SqliteTimelineStore;
  readonly #scans = new Map<string, Database.Statement>();
  readonly #reader: Database.Statement;
  readonly #hidden: Database.Statement;
  readonly #byForeignId: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #insertMain: Database.Statement;
  readonly #insertFresh: Database.Statement;
  readonly #inMain: Database.Statement;
  readonly #recentOf: Database.Statement;
  readonly #count: Database.Statement;
  readonly #countTotal: Database.Statement;
  readonly #total: Database.Statement;
  readonly #countMany: Database.Statement;
  readonly #oldest: Database.Statement;
  readonly #trimMain: Database.Statement;
  readonly #trimRecent: Database.Statement;
  readonly #remove: Database.Statement;
  readonly #removeRecent: Database.Statement;
  readonly #removeFrom: Database.Statement;
  readonly #removeFromRecent: Database.Statement;
  readonly #removeOrigin: Database.Statement;
  readonly #removeOriginRecent: Database.Statement;
  readonly #mergeBound: Database.Statement;
  readonly #mergeFirst: Database.Statement;
  readonly #mergeTx: Database.Transaction<(after: number, upto: number | null) => number>;
  /**
   * Upper bounds of flat feeds' entry counts (both tables), by feed integer, kept by the writing
   * connection so that an add to a feed far below its length needs no count (see
   * {@link countAndTrim}). A bound is an exact count read in a write transaction plus the adds
   * made since; removals and trims leave it above the count, which is safe. It holds while only
   * this connection writes: emptied when another connection committed (`data_version` moved, see
   * {@link checkTotals}) and when a transaction rolled back.
   */
  readonly #totals = new Map<number, number>();
  #totalsVersion = -1;
  readonly #dataVersion: Database.Statement;
  /** Recent entries this connection knows of (its own adds since it counted), for {@link mergeDue}. */
  #recentRows = -1;
  /** The merge's position: it goes on after this feed integer (0: from the start). */
  #mergeAfter = 0;
  readonly #hide: Database.Statement;
  readonly #raiseFloor: Database.Statement;
  readonly #unhide: Database.Statement;
  readonly #marks: SqliteChangeMarks;

  readonly #apply: (args: [string, PackedOps, boolean], rows?: number, graph?: boolean, relaxed?: boolean) => Promise<PackedChanges>;
  readonly #spread: (args: [string, string, readonly string[], SpreadArgs, boolean], rows?: number, graph?: boolean, relaxed?: boolean) => Promise<{ changes: PackedChanges; skipped: string[] }>;
  /** A feed's followers as feed integers, with whether each edge is grouped (for {@link spread}). */
  readonly #followersOf: Database.Statement;

  constructor(d: SqliteDatabase, writes: SqliteWriteStore, legacy: SqliteTimelineStore, marks: SqliteChangeMarks) {
    this.#d = d;
    this.#writes = writes;
    this.#legacy = legacy;
    this.#marks = marks;
    this.#apply = writes.define('timelines.apply', (app: string, ops: PackedOps, report: boolean) => {
      const changes = this.applyNow(app, ops, report);
      return report ? packChanges(changes) : [];
    });
    this.#spread = writes.define('timelines.spread', (app: string, source: string, ids: readonly string[], how: SpreadArgs, report: boolean) => {
      const { changes, skipped } = this.spreadNow(app, source, ids, how, report);
      return { changes: report ? packChanges(changes) : [], skipped };
    });
    const db = d.db;
    writes.onRollback(() => this.#totals.clear());
    this.#dataVersion = db.prepare('SELECT data_version FROM pragma_data_version').pluck();
    this.#followersOf = db.prepare('SELECT source FROM follows WHERE target = ?').pluck();
    // One statement: a merge committing between two would move entries from one count to the other.
    this.#reader = db.prepare('SELECT n + (SELECT count(*) FROM recent_entries WHERE feed = @f) AS n, floor FROM feeds WHERE id = @f');
    this.#hidden = db.prepare('SELECT sk FROM hidden WHERE feed = ? ORDER BY sk DESC').pluck();
    this.#byForeignId = db.prepare(
      `SELECT e.sk, o.fid AS origin FROM activities a JOIN entries e ON e.feed = @feed AND e.sk = a.sk LEFT JOIN feeds o ON o.id = e.origin
       WHERE a.app = @app AND a.foreign_id = @foreignId AND a.foreign_id <> ''
       UNION ALL
       SELECT r.sk, o.fid AS origin FROM activities a JOIN recent_entries r ON r.feed = @feed AND r.sk = a.sk LEFT JOIN feeds o ON o.id = r.origin
       WHERE a.app = @app AND a.foreign_id = @foreignId AND a.foreign_id <> ''
       ORDER BY 1 DESC`,
    );
    // Unless either table holds it (a grouped entry with that key counts, as the primary key did).
    // Parameters (feed, sk, origin, feed, sk): positional binding costs less than named per row.
    // OR IGNORE rather than ON CONFLICT DO NOTHING (the same for a key already held; the values
    // are never NULL): a statement that may write several rows (INSERT … SELECT, UPDATE … FROM,
    // UPDATE … IN) and may abort gets a statement journal inside a transaction, which copies every
    // page it touches before changing it; one that ignores every conflict cannot abort and needs none.
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO recent_entries (feed, sk, origin) SELECT ?, ?, ?
       WHERE NOT EXISTS (SELECT 1 FROM entries WHERE feed = ? AND sk = ?)`,
    );
    // The same for an activity no feed holds in `entries` (see #inMain): no probe of `entries` per row.
    this.#insertFresh = db.prepare('INSERT INTO recent_entries (feed, sk, origin) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
    this.#inMain = db.prepare('SELECT 1 FROM entries WHERE sk = ? LIMIT 1').pluck();
    // A large call checks the recent entries once per activity (see applyNow), not per row.
    this.#insertMain = db.prepare('INSERT INTO entries (feed, sk, origin) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
    this.#recentOf = db.prepare('SELECT feed FROM recent_entries WHERE sk = ?').pluck();
    this.#count = db.prepare('UPDATE feeds SET n = n + ? WHERE id = ?');
    // Counts a large call's adds and returns the feed's total in one statement.
    this.#countTotal = db.prepare('UPDATE feeds SET n = n + ? WHERE id = ? RETURNING n + (SELECT count(*) FROM recent_entries WHERE feed = feeds.id)').pluck();
    this.#total = db.prepare('SELECT n + (SELECT count(*) FROM recent_entries WHERE feed = @f) FROM feeds WHERE id = @f').pluck();
    // #countTotal for many feeds with the same number of adds (a JSON array of feed integers).
    this.#countMany = db
      .prepare('UPDATE OR IGNORE feeds SET n = n + ? WHERE id IN (SELECT value FROM json_each(?)) RETURNING id, n + (SELECT count(*) FROM recent_entries WHERE feed = feeds.id)')
      .raw();
    // The oldest flat entries of both tables, with the table each is in (1: recent).
    this.#oldest = db
      .prepare(
        `SELECT sk, 0 FROM entries WHERE feed = @feed AND grp IS NULL UNION ALL SELECT sk, 1 FROM recent_entries WHERE feed = @feed
         ORDER BY 1 LIMIT +@excess`,
      )
      .raw();
    this.#trimMain = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? AND grp IS NULL');
    this.#trimRecent = db.prepare('DELETE FROM recent_entries WHERE feed = ? AND sk = ?');
    this.#remove = this.#trimMain;
    this.#removeRecent = this.#trimRecent;
    this.#removeFrom = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? AND origin IS ? AND grp IS NULL');
    this.#removeFromRecent = db.prepare('DELETE FROM recent_entries WHERE feed = ? AND sk = ? AND origin IS ?');
    this.#removeOrigin = db.prepare('DELETE FROM entries WHERE feed = ? AND origin = ? AND grp IS NULL RETURNING sk').pluck();
    this.#removeOriginRecent = db.prepare('DELETE FROM recent_entries WHERE feed = ? AND origin = ? RETURNING sk').pluck();
    // Merge steps: whole feeds, in feed order, from the feed after @after up to (not including) @upto.
    this.#mergeBound = db.prepare('SELECT feed FROM recent_entries WHERE feed > ? ORDER BY feed, sk LIMIT 1 OFFSET ?').pluck();
    this.#mergeFirst = db.prepare('SELECT min(feed) FROM recent_entries WHERE feed > ?').pluck();
    // OR IGNORE: no statement journal (see #insert); a merge step costs about a quarter less CPU.
    const mergeRows = db.prepare(
      `INSERT OR IGNORE INTO entries (feed, sk, origin) SELECT feed, sk, origin FROM recent_entries
       WHERE feed > @after AND feed < @upto ORDER BY feed, sk`,
    );
    const mergeCounts = db.prepare(
      `UPDATE OR IGNORE feeds SET n = n + c.k FROM
       (SELECT feed, count(*) AS k FROM recent_entries WHERE feed > @after AND feed < @upto GROUP BY feed) AS c
       WHERE feeds.id = c.feed`,
    );
    const mergeDelete = db.prepare('DELETE FROM recent_entries WHERE feed > @after AND feed < @upto');
    this.#mergeTx = db.transaction((after: number, upto: number | null) => {
      const range = { after, upto: upto ?? Number.MAX_SAFE_INTEGER };
      mergeRows.run(range);
      mergeCounts.run(range);
      return mergeDelete.run(range).changes;
    });
    this.#hide = db.prepare('INSERT OR IGNORE INTO hidden (feed, sk) VALUES (?, ?)');
    this.#raiseFloor = db.prepare("UPDATE feeds SET floor = max(coalesce(floor, x''), @floor) WHERE id = @feed");
    this.#unhide = db.prepare('DELETE FROM hidden WHERE feed = ? AND sk = ?');
  }

  /**
   * One prepared statement per shape of scan (bounds, direct only, bodies), built on first use.
   * Rows come back as arrays with the id as text and the origin as the feed's integer: a BLOB
   * column costs a Buffer per row, a join on the feeds table a probe per row, and the names of
   * origins are few and cached.
   */
  private statement(s: FeedScan): Database.Statement {
    const shape = `${s.idLt ? 1 : 0}${s.idLte ? 1 : 0}${s.idGt ? 1 : 0}${s.idGte ? 1 : 0}${s.directOnly ? 'd' : ''}${s.bodies ? 'b' : ''}`;
    let st = this.#scans.get(shape);
    if (!st) {
      const conds = ['feed = @feed'];
      if (s.directOnly) conds.push('origin IS NULL');
      if (s.idLt) conds.push('sk < @lt');
      if (s.idLte) conds.push('sk <= @lte');
      if (s.idGt) conds.push('sk > @gt');
      if (s.idGte) conds.push('sk >= @gte');
      const where = conds.join(' AND ');
      // Both tables' ranges merged newest first (SQLite's MERGE of two ordered index walks, no
      // sort). With bodies, the join walks that merged order: the subquery's LIMIT keeps its ORDER
      // BY (SQLite drops it from a subquery without one), CROSS JOIN keeps it the outer loop, and
      // the outer ORDER BY is then met without sorting.
      const merged = `SELECT sk, origin FROM entries WHERE ${where} AND grp IS NULL UNION ALL SELECT sk, origin FROM recent_entries WHERE ${where}
                      ORDER BY sk DESC`;
      st = this.#d.db
        .prepare(
          s.bodies
            ? // Each entry as one text (see \`scanOne\`): one value per row instead of an array of
              // three, each made one by one.
              `SELECT concat(a.id, e.origin, a.body) FROM (${merged} LIMIT -1) e CROSS JOIN activities a ON a.app = @app AND a.sk = e.sk
               ORDER BY e.sk DESC LIMIT +@limit OFFSET @offset`
            : // Without bodies, the page comes back as one text (see \`parseIds\`): one row instead
              // of one per entry, which costs about a third less than the same rows one by one.
              // The hex comes upper-case and is lowered in one pass over the text (see scanOne).
              `SELECT group_concat(hex(e.sk) || ifnull(e.origin, ''), ',') FROM (${merged} LIMIT +@limit OFFSET @offset) e`,
        )
        .pluck();
      this.#scans.set(shape, st);
    }
    return st;
  }

  private scanOne(app: string, s: FeedScan): (TimelineEntry & { body?: string })[] {
    const d = this.#d;
    const f = d.findFeed(app, s.feed);
    if (f === undefined || s.limit <= 0) return [];
    const params: Record<string, unknown> = { feed: f, limit: s.limit, offset: s.offset ?? 0 };
    if (s.bodies) params.app = d.appInt(app);
    if (s.idLt) params.lt = idToSortKey(s.idLt);
    if (s.idLte) params.lte = idToSortKey(s.idLte);
    if (s.idGt) params.gt = idToSortKey(s.idGt);
    if (s.idGte) params.gte = idToSortKey(s.idGte);
    if (!s.bodies) {
      const text = this.statement(s).get(params) as string | null;
      return text === null ? [] : parseIds(text.toLowerCase(), d);
    }
    // Per entry: the activity id (36 characters), the origin feed's integer (nothing when direct)
    // and the stored body, a JSON object (so the first brace after the id starts it).
    const rows = this.statement(s).all(params) as string[];
    const out: (TimelineEntry & { body: string })[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const t = rows[i];
      const brace = t.indexOf('{', 36);
      out[i] = { id: t.slice(0, 36), origin: brace === 36 ? null : d.feedName(Number(t.slice(36, brace))), body: t.slice(brace) };
    }
    return out;
  }

  async scan(app: string, scan: FeedScan): Promise<(TimelineEntry & { readonly body?: string })[]> {
    return this.#d.read('scan', () => this.scanOne(app, scan));
  }

  async scanMany(app: string, scans: readonly FeedScan[]): Promise<(TimelineEntry & { readonly body?: string })[][]> {
    return this.#d.read('scanMany', () => scans.map((s) => this.scanOne(app, s)));
  }

  async readerState(app: string, feed: string): Promise<ReaderState> {
    return this.#d.read('readerState', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return { count: 0, floor: null, hidden: [] };
      const r = this.#reader.get({ f }) as { n: number; floor: Buffer | null };
      const floor = r.floor === null || r.floor.length === 0 ? null : sortKeyToId(r.floor);
      return { count: r.n, floor, hidden: (this.#hidden.all(f) as Buffer[]).map(sortKeyToId) };
    });
  }

  entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]> {
    return this.#legacy.entriesOf(app, feed, ids);
  }

  async entriesByForeignId(app: string, feed: string, foreignId: string): Promise<TimelineEntry[]> {
    return this.#d.read('entriesByForeignId', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return [];
      const rows = this.#byForeignId.all({ feed: f, app: this.#d.appInt(app), foreignId }) as ScanRow[];
      return rows.map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin }));
    });
  }

  async apply(app: string, ops: readonly FeedOp[], opts: ApplyOptions = {}): Promise<FeedChange[]> {
    const rows = ops.reduce((n, op) => n + ('entries' in op ? op.entries.length : 'ids' in op ? op.ids.length : 1), 0);
    let packed = packOps(ops);
    // To the writer thread, the feeds of large adds go as the integers this connection knows (see
    // PackedOps). Only with a writer thread: this connection then never writes, so every integer
    // it knows is of a committed feed row, and feed rows are never deleted.
    if (this.#writes.remote) {
      const d = this.#d;
      packed = d.guard('apply', () => packed.map((item) => ('feeds' in item && item.feeds.length >= NUMBERED_FEEDS ? numbered(d, app, item) : item)), true);
    }
    // Covered by an intent: committed without waiting for fsync (see SqliteWriteStore.transactOp).
    return unpackChanges(await this.#apply([app, packed, opts.changes !== false], rows, false, opts.covered === true));
  }

  /**
   * {@link TimelineStore.spread}: one named write operation, so the writer applies it in the
   * transaction of the writes handed over with it (a post's step and own entries), reading the
   * followers inside that transaction.
   */
  async spread(app: string, source: string, ids: readonly string[], opts: SpreadOptions): Promise<{ changes: FeedChange[]; skipped: readonly string[] }> {
    const how: SpreadArgs = { maxLengths: opts.maxLengths, defaultMaxLength: opts.defaultMaxLength, skipGroups: opts.skipGroups };
    const done = await this.#spread([app, source, ids, how, opts.changes !== false], ids.length * 100, false, opts.covered === true);
    return { changes: unpackChanges(done.changes), skipped: done.skipped };
  }

  /**
   * {@link spread} inside the write transaction: the followers of `source` read now (every edge
   * committed before, or written earlier in this transaction, is seen), then one packed add per
   * feed length through {@link applyNow}, as a fan-out page would be applied.
   */
  private spreadNow(app: string, source: string, ids: readonly string[], how: SpreadArgs, report: boolean): { changes: Map<string, CallChange>; skipped: string[] } {
    const d = this.#d;
    const t = d.findFeed(app, source);
    const skipped: string[] = [];
    if (t === undefined || ids.length === 0) return { changes: new Map(), skipped };
    const followers = this.#followersOf.all(t) as number[];
    if (followers.length === 0) return { changes: new Map(), skipped };
    const skip = new Set(how.skipGroups);
    const byLength = new Map<number, number[]>();
    for (const f of followers) {
      const name = d.feedName(f);
      const group = name.slice(0, name.indexOf(':'));
      if (skip.has(group)) {
        skipped.push(name);
        continue;
      }
      const max = Object.hasOwn(how.maxLengths, group) ? how.maxLengths[group] : how.defaultMaxLength;
      const list = byLength.get(max);
      if (list === undefined) byLength.set(max, [f]);
      else list.push(f);
    }
    if (byLength.size === 0) return { changes: new Map(), skipped };
    const entries: TimelineEntry[] = ids.map((id) => ({ id, origin: source }));
    const packed: PackedAdd[] = [...byLength].map(([maxLength, ints]) => ({ feeds: [], ints: Int32Array.from(ints), entries, maxLength }));
    return { changes: this.applyNow(app, packed, report), skipped };
  }

  /** The feeds of a packed add as names and integers, each feed's row made when new (in the write transaction). */
  private feedsOf(app: string, item: PackedAdd): { names: readonly string[]; ints: ArrayLike<number> } {
    const d = this.#d;
    const ints = item.ints;
    if (ints === undefined) return { names: item.feeds, ints: item.feeds.map((f) => d.feedInt(app, f)) };
    const names: string[] = new Array(ints.length);
    const out = new Int32Array(ints.length);
    let k = 0;
    for (let i = 0; i < ints.length; i++) {
      if (ints[i] === 0) {
        names[i] = item.feeds[k++];
        out[i] = d.feedInt(app, names[i]);
      } else {
        names[i] = d.feedName(ints[i]);
        out[i] = ints[i];
      }
    }
    return { names, ints: out };
  }

  /**
   * {@link apply} inside the write transaction (a named write operation, also run by the writer
   * thread). A fan-out chunk names a few activities and a few origins across thousands of feeds,
   * often the same feed several times: sort keys and origin integers are converted once per call,
   * and a feed's count and trim are touched once per run of adds on it (see {@link Pending}).
   * `report`: build the change records (false: the caller does not use them, see ApplyOptions).
   */
  private applyNow(app: string, packed: PackedOps, report = true): Map<string, CallChange> {
    const feeds = packed.map((item) => ('feeds' in item ? this.feedsOf(app, item) : null));
    let rows = 0;
    for (let i = 0; i < packed.length; i++) {
      const item = packed[i];
      if ('feeds' in item) rows += item.entries.length * feeds[i]!.names.length;
    }
    const direct = rows >= DIRECT_ADD_ROWS;
    this.checkTotals();
    const ctx: ApplyCall = { app, direct, report, changes: new Map(), keys: new Map(), origins: new Map(), pending: new Map(), inRecent: null, inMain: new Map() };
    if (direct) {
      // Each entry lives in one table: the feeds that hold one of this call's activities among the
      // recent entries (its own feed, a small fan-out's followers) keep it there.
      const inRecent = new Map<string, Set<number>>();
      for (const item of packed) {
        if (!('feeds' in item)) continue;
        for (const e of item.entries) {
          if (ctx.keys.has(e.id)) continue;
          const sk = idToSortKey(e.id);
          ctx.keys.set(e.id, sk);
          const feeds = this.#recentOf.all(sk) as number[];
          if (feeds.length > 0) inRecent.set(e.id, new Set(feeds));
        }
      }
      if (inRecent.size > 0) ctx.inRecent = inRecent;
    }
    for (let i = 0; i < packed.length; i++) {
      const item = packed[i];
      if ('op' in item) this.applyOne(ctx, item.op);
      else {
        const { names, ints } = feeds[i]!;
        for (let j = 0; j < names.length; j++) this.addOne(ctx, names[j], ints[j], item.entries, item.maxLength);
      }
    }
    if (ctx.direct) this.countAndTrimAll(ctx);
    else for (const [f, p] of ctx.pending) this.countAndTrim(ctx, f, p);
    this.mark(app, packed, feeds);
    return ctx.changes;
  }

  /**
   * The change record of `feed` in this call, as a set of added entries and removed ids (a record
   * that only holds one add's entries becomes one).
   */
  private changeOf(ctx: ApplyCall, feed: string): CallChange & { added: Map<string, TimelineEntry> } {
    let c = ctx.changes.get(feed);
    if (!c) ctx.changes.set(feed, (c = { added: new Map(), removed: new Set() }));
    else if (c.whole) {
      c.added = new Map(c.whole.map((e) => [e.id, e]));
      c.whole = null;
    }
    return c as CallChange & { added: Map<string, TimelineEntry> };
  }

  /**
   * The change mark of operations just applied (in their transaction): each feed, the activities
   * removals name, and the app's pull key when a direct entry of a pull-served feed came or went.
   */
  private mark(app: string, packed: PackedOps, feeds: readonly ({ names: readonly string[]; ints: ArrayLike<number> } | null)[]): void {
    const keys = new Set<string>();
    let pulled = false;
    const isPull = (fid: string) => {
      const f = this.#d.findFeed(app, fid);
      return f !== undefined && this.#marks.isPull(f);
    };
    for (let i = 0; i < packed.length; i++) {
      const item = packed[i];
      if ('feeds' in item) {
        const direct = item.entries.some((e) => e.origin === null);
        const { names, ints } = feeds[i]!;
        for (let j = 0; j < names.length; j++) {
          keys.add(changeKey.feed(app, names[j]));
          if (direct && !pulled && this.#marks.isPull(ints[j])) pulled = true;
        }
        continue;
      }
      const op = item.op;
      keys.add(changeKey.feed(app, op.feed));
      if (op.kind === 'remove') {
        for (const id of op.ids) keys.add(changeKey.activity(app, id));
        if (!pulled && (op.origin === undefined || op.origin === null) && isPull(op.feed)) pulled = true;
      } else if (op.kind === 'add' && !pulled && op.entries.some((e) => e.origin === null) && isPull(op.feed)) pulled = true;
    }
    if (pulled) keys.add(changeKey.pulled(app));
    if (keys.size > 0) this.#marks.write(keys);
  }

  /**
   * Trims a feed that got adds to its newest `maxLength` entries when over, taking the oldest out
   * of whichever table holds each (adds went to the recent entries and left `feeds.n` alone).
   */
  private countAndTrim(ctx: ApplyCall, f: number, p: Pending, total?: number): void {
    const totals = this.#totals;
    if (!ctx.direct && total === undefined) {
      // Far enough below its length by the bound: no count needed.
      const bound = totals.get(f);
      if (bound !== undefined && bound + p.added <= p.maxLength) {
        totals.set(f, bound + p.added);
        return;
      }
    }
    // Adds of a large call went into `entries` (see DIRECT_ADD_ROWS), which `feeds.n` counts.
    const n = total ?? ((ctx.direct ? this.#countTotal.get(p.added, f) : this.#total.get({ f })) as number);
    if (totals.size >= MAX_KNOWN_TOTALS) totals.clear();
    totals.set(f, Math.min(n, p.maxLength));
    if (n <= p.maxLength) return;
    const change = ctx.report ? this.changeOf(ctx, p.feed) : null;
    const oldest = this.#oldest.all({ feed: f, excess: n - p.maxLength }) as [Buffer, number][];
    let main = 0;
    for (const [sk, recent] of oldest) {
      if (recent === 1) {
        this.#trimRecent.run(f, sk);
        this.#recentRows--;
      } else {
        this.#trimMain.run(f, sk);
        main++;
      }
      if (change === null) continue;
      const id = sortKeyToId(sk);
      if (!change.added.delete(id)) change.removed.add(id);
    }
    if (main > 0) this.#count.run(-main, f);
  }

  /** Forgets the count bounds when another connection committed since they were taken (inside the write transaction). */
  private checkTotals(): void {
    const v = this.#dataVersion.get() as number;
    if (v === this.#totalsVersion) return;
    this.#totals.clear();
    this.#totalsVersion = v;
  }

  /**
   * {@link countAndTrim} for every feed still pending in a large call: the counts of the feeds
   * that got the same number of entries move in one statement (a fan-out chunk: thousands of
   * feeds, one entry each), which returns their totals; only feeds over their length are trimmed.
   */
  private countAndTrimAll(ctx: ApplyCall): void {
    const byAdded = new Map<number, number[]>();
    for (const [f, p] of ctx.pending) {
      const list = byAdded.get(p.added);
      if (list === undefined) byAdded.set(p.added, [f]);
      else list.push(f);
    }
    for (const [added, feeds] of byAdded) {
      if (feeds.length === 1) {
        this.countAndTrim(ctx, feeds[0], ctx.pending.get(feeds[0])!);
        continue;
      }
      const totals = this.#countMany.all(added, JSON.stringify(feeds)) as [number, number][];
      for (const [f, n] of totals) this.countAndTrim(ctx, f, ctx.pending.get(f)!, n);
    }
  }

  /**
   * Whether enough recent entries wait for the writer to merge some ({@link mergeStep}); counted
   * by this connection from its own adds (another process's writer merges its own).
   */
  mergeDue(): boolean {
    if (this.#recentRows < 0) this.#recentRows = this.#d.db.prepare('SELECT count(*) FROM recent_entries').pluck().get() as number;
    return this.#recentRows >= MERGE_AT_ROWS || (this.#mergeAfter > 0 && this.#recentRows > 0);
  }

  /**
   * Moves the recent entries of the next feeds (in feed order, whole feeds, about
   * {@link MERGE_STEP_ROWS} rows, going on from the last step) into `entries` with their counts,
   * in its own transaction: readers see each entry in one table or the other, never both or
   * neither. Once a pass reaches the last feed, the next starts from the first. Returns the rows
   * moved. Called by the writer between group commits (see SqliteWriteStore), and by `mergeAll`.
   */
  mergeStep(rows = MERGE_STEP_ROWS): number {
    const after = this.#mergeAfter;
    const bound = (this.#mergeBound.get(after, rows) as number | undefined) ?? null;
    // Up to the feed of the row `rows` places on, or past it when that is the first feed (a feed
    // with more recent rows than a step moves in one step).
    const upto = bound !== null && bound === this.#mergeFirst.get(after) ? bound + 1 : bound;
    const moved = this.#d.guard('merge', () => this.#mergeTx.immediate(after, upto));
    // The range was (after, upto): the next step starts at `upto`.
    this.#mergeAfter = upto === null ? 0 : upto - 1;
    this.#recentRows = Math.max(0, this.#recentRows - moved);
    // Feeds past the last step's bound may still hold rows added meanwhile: the next pass has them.
    return moved;
  }

  /** Merges every recent entry into `entries` (tests, and the writer when it closes). */
  mergeAll(): void {
    this.#mergeAfter = 0;
    do this.mergeStep(Number.MAX_SAFE_INTEGER);
    while ((this.#d.db.prepare('SELECT count(*) FROM recent_entries').pluck().get() as number) > 0);
    this.#recentRows = 0;
  }

  /** An `add` operation (see {@link FeedOp}). */
  private addOne(ctx: ApplyCall, feed: string, f: number, entries: readonly TimelineEntry[], maxLength: number): void {
    const d = this.#d;
    const app = ctx.app;
    const inRecent = ctx.inRecent;
    // A feed met for the first time in this call whose entries all go in (a fan-out chunk's
    // common case) records them as the operation's own list, shared by every such feed.
    const report = ctx.report;
    const c = report ? ctx.changes.get(feed) : undefined;
    let fresh: TimelineEntry[] | null = null;
    let added = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      let origin: number | null = null;
      if (e.origin !== null) {
        origin = ctx.origins.get(e.origin) ?? null;
        if (origin === null) ctx.origins.set(e.origin, (origin = d.feedInt(app, e.origin)));
      }
      let sk = ctx.keys.get(e.id);
      if (sk === undefined) ctx.keys.set(e.id, (sk = idToSortKey(e.id)));
      let changes: number;
      if (ctx.direct) changes = inRecent !== null && inRecent.get(e.id)?.has(f) === true ? 0 : this.#insertMain.run(f, sk, origin).changes;
      else {
        // An activity no feed holds in `entries` (a new post's, the common case) needs no probe
        // of `entries` per feed: one look by sort key per call says so for all of them.
        let held = ctx.inMain.get(e.id);
        if (held === undefined) ctx.inMain.set(e.id, (held = this.#inMain.get(sk) !== undefined));
        changes = (held ? this.#insert.run(f, sk, origin, f, sk) : this.#insertFresh.run(f, sk, origin)).changes;
      }
      if (changes === 0) {
        if (report && c === undefined && fresh === null) fresh = entries.slice(0, i);
        continue;
      }
      added++;
      if (!ctx.direct) this.#recentRows++;
      if (!report) continue;
      if (c !== undefined) {
        // Back in after an earlier operation of this call took it out: no change overall.
        const m = this.changeOf(ctx, feed);
        if (!m.removed.delete(e.id)) m.added.set(e.id, { id: e.id, origin: e.origin });
      } else if (fresh !== null) fresh.push(e);
    }
    if (added === 0) return;
    if (report && c === undefined) {
      ctx.changes.set(feed, fresh === null ? { whole: entries, added: null, removed: new Set() } : { added: new Map(fresh.map((e) => [e.id, e])), removed: new Set() });
    }
    // "Set union, then newest N" over several adds equals doing each in turn (an entry a trim
    // drops has N newer ones, which stay), so the count and trim wait for the feed's last add
    // or its next other operation.
    const p = ctx.pending.get(f);
    if (p === undefined) ctx.pending.set(f, { added, maxLength, feed });
    else {
      p.added += added;
      if (maxLength !== p.maxLength) {
        // Another length (never within one feed group): settle at once with the smaller one.
        p.maxLength = Math.min(p.maxLength, maxLength);
        ctx.pending.delete(f);
        this.countAndTrim(ctx, f, p);
      }
    }
  }

  private applyOne(ctx: ApplyCall, op: FeedOp): void {
    const d = this.#d;
    const app = ctx.app;
    if (op.kind === 'add') {
      this.addOne(ctx, op.feed, d.feedInt(app, op.feed), op.entries, op.maxLength);
      return;
    }
    // Any other operation sees the feed counted and trimmed as the adds before it left it.
    const known = d.findFeed(app, op.feed);
    if (known !== undefined) {
      const p = ctx.pending.get(known);
      if (p !== undefined) {
        ctx.pending.delete(known);
        this.countAndTrim(ctx, known, p);
      }
    }
    switch (op.kind) {
      case 'remove': {
        const f = known;
        if (f === undefined) return;
        const origin = op.origin === undefined ? undefined : op.origin === null ? null : d.findFeed(app, op.origin);
        if (origin === undefined && op.origin !== undefined) return; // that origin never existed: nothing came from it
        const c = ctx.report ? this.changeOf(ctx, op.feed) : null;
        let n = 0;
        for (const id of op.ids) {
          const sk = idToSortKey(id);
          // In one table or the other: `feeds.n` counts only the entries of `entries`.
          const main = (origin === undefined ? this.#remove.run(f, sk) : this.#removeFrom.run(f, sk, origin)).changes;
          const recent = main > 0 ? 0 : (origin === undefined ? this.#removeRecent.run(f, sk) : this.#removeFromRecent.run(f, sk, origin)).changes;
          if (recent > 0) this.#recentRows--;
          if (main + recent > 0) {
            n += main;
            if (c !== null && !c.added.delete(id)) c.removed.add(id);
          }
        }
        if (n > 0) this.#count.run(-n, f);
        return;
      }
      case 'removeOrigin': {
        const f = known;
        const o = d.findFeed(app, op.origin);
        if (f === undefined || o === undefined) return;
        const main = this.#removeOrigin.all(f, o) as Buffer[];
        const recent = this.#removeOriginRecent.all(f, o) as Buffer[];
        if (main.length > 0) this.#count.run(-main.length, f);
        this.#recentRows -= recent.length;
        if (main.length + recent.length === 0 || !ctx.report) return;
        const c = this.changeOf(ctx, op.feed);
        for (const sk of [...main, ...recent]) {
          const id = sortKeyToId(sk);
          if (!c.added.delete(id)) c.removed.add(id);
        }
        return;
      }
      case 'hide': {
        const f = d.feedInt(app, op.feed);
        for (const id of op.ids) this.#hide.run(f, idToSortKey(id));
        if (op.floor !== undefined) this.#raiseFloor.run({ feed: f, floor: idToSortKey(op.floor) });
        return;
      }
      case 'unhide': {
        const f = known;
        if (f === undefined) return;
        for (const id of op.ids) this.#unhide.run(f, idToSortKey(id));
        return;
      }
    }
  }
}

/**
 * Per-feed operations as they cross to the writer thread: a fan-out chunk puts the same entries
 * into thousands of feeds, so adds with the same entries and length travel as one item with a list
 * of feed ids (structured cloning copies a list of strings far faster than thousands of objects).
 * Other operations travel as they are. Items run in order; an add joins an earlier item only when
 * no other operation on its feed comes between them, so each feed's operations keep their order.
 */
type PackedOps = readonly (PackedAdd | { readonly op: FeedOp })[];

/**
 * Adds of the same entries to many feeds. With `ints` (a large add on its way to the writer
 * thread, see {@link numbered}): the feeds in order as integers, 0 for a feed sent by name, and
 * `feeds` holds only those names, in order (an array of integers crosses threads as one block of
 * bytes, and the writer looks integers up without hashing names).
 */
/** {@link SqliteTimelines.spread}'s options as they cross to the writer thread. */
interface SpreadArgs {
  readonly maxLengths: Readonly<Record<string, number>>;
  readonly defaultMaxLength: number;
  readonly skipGroups: readonly string[];
}

interface PackedAdd {
  readonly feeds: string[];
  readonly ints?: Int32Array;
  readonly entries: readonly TimelineEntry[];
  readonly maxLength: number;
}

/** Adds to at least this many feeds go to the writer thread as feed integers. */
const NUMBERED_FEEDS = 64;

/** `item` with its feeds as the integers `d` knows (a feed it does not know goes by name). */
function numbered(d: SqliteDatabase, app: string, item: PackedAdd): PackedAdd {
  const ints = new Int32Array(item.feeds.length);
  const names: string[] = [];
  for (let i = 0; i < item.feeds.length; i++) {
    const f = d.findFeed(app, item.feeds[i]);
    if (f === undefined) names.push(item.feeds[i]);
    else ints[i] = f;
  }
  return { feeds: names, ints, entries: item.entries, maxLength: item.maxLength };
}

export function packOps(ops: readonly FeedOp[]): PackedOps {
  const out: ({ feeds: string[]; entries: readonly TimelineEntry[]; maxLength: number } | { op: FeedOp })[] = [];
  /** Index of the add item of each (entries, length), and the last item each feed is in. */
  const bySig = new Map<string, Map<number, number>>();
  const lastOf = new Map<string, number>();
  // Adds often share one entries list (a follower page's): its signature is built once.
  const sigOf = new Map<readonly TimelineEntry[], string>();
  for (const op of ops) {
    if (op.kind !== 'add') {
      lastOf.set(op.feed, out.length);
      out.push({ op });
      continue;
    }
    let sig = sigOf.get(op.entries);
    if (sig === undefined) {
      sig = '';
      for (const e of op.entries) sig += '\u0001' + e.id + '\u0002' + (e.origin ?? '');
      sigOf.set(op.entries, sig);
    }
    let byLength = bySig.get(sig);
    if (byLength === undefined) bySig.set(sig, (byLength = new Map()));
    const at = byLength.get(op.maxLength);
    const last = lastOf.get(op.feed);
    if (at !== undefined && (last === undefined || last <= at)) {
      (out[at] as { feeds: string[] }).feeds.push(op.feed);
      lastOf.set(op.feed, at);
    } else {
      byLength.set(op.maxLength, out.length);
      lastOf.set(op.feed, out.length);
      out.push({ feeds: [op.feed], entries: op.entries, maxLength: op.maxLength });
    }
  }
  return out;
}

/** {@link FeedChange}s on their way back: feeds with the same change share one item (see {@link PackedOps}). */
type PackedChanges = readonly { readonly feeds: string[]; readonly added: readonly TimelineEntry[]; readonly removed: readonly string[] }[];

function packChanges(changes: ReadonlyMap<string, CallChange>): PackedChanges {
  const out = new Map<string, { feeds: string[]; added: TimelineEntry[]; removed: string[] }>();
  // Feeds that took all of one add's entries share that list: grouped by it, no key to build.
  const wholes = new Map<readonly TimelineEntry[], { feeds: string[]; added: TimelineEntry[]; removed: string[] }>();
  for (const [feed, c] of changes) {
    if (c.whole) {
      const item = wholes.get(c.whole);
      if (item) item.feeds.push(feed);
      else wholes.set(c.whole, { feeds: [feed], added: [...c.whole], removed: [] });
      continue;
    }
    if (c.added === null || (c.added.size === 0 && c.removed.size === 0)) continue;
    let sig = '';
    for (const e of c.added.values()) sig += e.id + '\u0002' + (e.origin ?? '') + '\u0001';
    sig += '\u0003';
    for (const id of c.removed) sig += id + '\u0001';
    const item = out.get(sig);
    if (item) item.feeds.push(feed);
    else out.set(sig, { feeds: [feed], added: [...c.added.values()], removed: [...c.removed] });
  }
  return [...wholes.values(), ...out.values()];
}

function unpackChanges(packed: PackedChanges): FeedChange[] {
  const out: FeedChange[] = [];
  for (const item of packed) for (const feed of item.feeds) out.push({ feed, added: item.added, removed: item.removed });
  return out;
}

/**
 * What one feed changed in an {@link SqliteTimelines.apply} call: the entries added, either as one
 * add operation's whole list (`whole`, shared with every feed that took all of it) or as a map,
 * and the ids removed.
 */
interface CallChange {
  whole?: readonly TimelineEntry[] | null;
  added: Map<string, TimelineEntry> | null;
  readonly removed: Set<string>;
}

/** Entries a run of adds put into one feed, not counted and trimmed yet. */
interface Pending {
  added: number;
  maxLength: number;
  readonly feed: string;
}

/** The state of one {@link SqliteTimelines.apply} call. */
interface ApplyCall {
  readonly app: string;
  /** Adds go into `entries` directly (a large call, see DIRECT_ADD_ROWS), not the recent entries. */
  readonly direct: boolean;
  /** Whether to record what changed in {@link changes} (see ApplyOptions.changes). */
  readonly report: boolean;
  readonly changes: Map<string, CallChange>;
  /** Sort keys of the ids met, and integers of the origins met. */
  readonly keys: Map<string, Buffer>;
  readonly origins: Map<string, number>;
  /** By feed integer. */
  readonly pending: Map<number, Pending>;
  /** A large call: the feeds whose recent entries hold each of its activities (null: none). */
  inRecent: Map<string, Set<number>> | null;
  /**
   * A call into the recent entries: whether any feed holds each activity met in `entries` (looked
   * up once per activity; this call writes nothing there, so the answer holds to its end).
   */
  readonly inMain: Map<string, boolean>;
}

/** A group row with the newest activity its limit dropped (see the core's group rules). */
interface GroupRow extends GroupRowBase {
  trimmed: Buffer | null;
}

/**
 * {@link GroupStore} on SQLite: a group is a row of `groups` and its retained activities are
 * entries of the feed marked with the group; every change of a group row moves the feed's
 * `gver` (triggers), the version compare-and-set writes check.
 */
export class SqliteGroupStore implements GroupStore {
  readonly #d: SqliteDatabase;
  readonly #writes: SqliteWriteStore;
  readonly #legacy: SqliteTimelineStore;
  readonly #feedState: Database.Statement;
  readonly #byKeys: Database.Statement;
  readonly #byIds: Database.Statement;
  readonly #byEntries: Database.Statement;
  readonly #oldest: Database.Statement;
  readonly #entries: Database.Statement;
  readonly #byGsk: Database.Statement;
  readonly #insertGroup: Database.Statement;
  readonly #updateGroup: Database.Statement;
  readonly #deleteGroup: Database.Statement;
  readonly #deleteGroupEntries: Database.Statement;
  readonly #groupEntryKeys: Database.Statement;
  readonly #deleteEntry: Database.Statement;
  readonly #putEntry: Database.Statement;
  readonly #unputRecent: Database.Statement;
  readonly #setCounts: Database.Statement;
  readonly #markAllSeen: Database.Statement;
  readonly #markAllRead: Database.Statement;
  readonly #marks: SqliteChangeMarks;

  readonly #write: (args: [string, readonly GroupWrite[]], rows?: number, graph?: boolean, relaxed?: boolean) => Promise<string[]>;

  constructor(d: SqliteDatabase, writes: SqliteWriteStore, legacy: SqliteTimelineStore, marks: SqliteChangeMarks) {
    this.#d = d;
    this.#writes = writes;
    this.#legacy = legacy;
    this.#marks = marks;
    this.#write = writes.define('groups.write', (app: string, groupWrites: readonly GroupWrite[]) => this.writeNow(app, groupWrites));
    const db = d.db;
    this.#feedState = db.prepare('SELECT gver, ngroups, unseen, unread FROM feeds WHERE id = ?');
    this.#byKeys = db.prepare('SELECT * FROM groups WHERE feed = ? AND key IN (SELECT value FROM json_each(?))');
    this.#byIds = db.prepare('SELECT * FROM groups WHERE feed = ? AND gsk IN (SELECT unhex(value) FROM json_each(?))');
    this.#byEntries = db.prepare(
      'SELECT * FROM groups WHERE id IN (SELECT grp FROM entries WHERE feed = ? AND grp IS NOT NULL AND sk IN (SELECT unhex(value) FROM json_each(?)))',
    );
    this.#oldest = db.prepare('SELECT * FROM groups WHERE feed = ? ORDER BY updated, gsk LIMIT +?');
    this.#entries = db.prepare(
      `SELECT e.sk, o.fid AS origin, json_extract(a.body, '$.actor') AS actor, json_extract(a.body, '$.verb') AS verb
       FROM entries e INDEXED BY entries_group LEFT JOIN activities a ON a.app = ? AND a.sk = e.sk LEFT JOIN feeds o ON o.id = e.origin
       WHERE e.feed = ? AND e.grp = ? ORDER BY e.sk DESC`,
    );
    this.#byGsk = db.prepare('SELECT id FROM groups WHERE feed = ? AND gsk = ?').pluck();
    this.#insertGroup = db.prepare(
      `INSERT INTO groups (feed, key, gsk, verb, created, updated, activity_count, actors, seen, read, trimmed)
       VALUES (@feed, @key, @gsk, @verb, @created, @updated, @count, @actors, @seen, @read, @trimmed) RETURNING id`,
    ).pluck();
    this.#updateGroup = db.prepare(
      `UPDATE groups SET key = @key, verb = @verb, created = @created, updated = @updated, activity_count = @count,
       actors = @actors, seen = @seen, read = @read, trimmed = @trimmed WHERE id = @id`,
    );
    this.#deleteGroup = db.prepare('DELETE FROM groups WHERE id = ?');
    this.#deleteGroupEntries = db.prepare('DELETE FROM entries WHERE feed = ? AND grp = ?');
    this.#groupEntryKeys = db.prepare('SELECT sk FROM entries INDEXED BY entries_group WHERE feed = ? AND grp = ?').pluck();
    this.#deleteEntry = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ?');
    this.#putEntry = db.prepare('INSERT OR REPLACE INTO entries (feed, sk, origin, grp) VALUES (?, ?, ?, ?)');
    // A grouped entry replaces a flat one of the same key, wherever that one is (see SqliteTimelines).
    this.#unputRecent = db.prepare('DELETE FROM recent_entries WHERE feed = ? AND sk = ?');
    this.#setCounts = db.prepare('UPDATE feeds SET ngroups = ?, unseen = ?, unread = ? WHERE id = ?');
    this.#markAllSeen = db.prepare('UPDATE groups SET seen = 1 WHERE feed = ? AND seen = 0');
    this.#markAllRead = db.prepare('UPDATE groups SET seen = 1, read = 1 WHERE feed = ? AND (read = 0 OR seen = 0)');
  }

  readGroups(app: string, feed: string, range: GroupRange): Promise<GroupRecord[]> {
    return this.#legacy.readGroups(app, feed, range);
  }

  groupCounts(app: string, feed: string): Promise<{ unseen: number; unread: number }> {
    return this.#legacy.groupCounts(app, feed);
  }

  async readForMerge(app: string, asks: readonly GroupAsk[]): Promise<FeedGroups[]> {
    return this.#d.read('readForMerge', () => asks.map((ask) => this.readOne(app, ask)));
  }

  private readOne(app: string, ask: GroupAsk): FeedGroups {
    const f = this.#d.findFeed(app, ask.feed);
    if (f === undefined) return { feed: ask.feed, version: 0, counts: { groups: 0, unseen: 0, unread: 0 }, groups: [] };
    const st = this.#feedState.get(f) as { gver: number; ngroups: number; unseen: number; unread: number };
    const rows = new Map<number, GroupRow>();
    const add = (list: unknown[]) => {
      for (const r of list as GroupRow[]) rows.set(r.id, r);
    };
    if (ask.keys && ask.keys.length > 0) add(this.#byKeys.all(f, JSON.stringify(ask.keys)));
    if (ask.ids && ask.ids.length > 0) add(this.#byIds.all(f, JSON.stringify(ask.ids.map((id) => idToSortKey(id).toString('hex')))));
    if (ask.entryIds && ask.entryIds.length > 0) add(this.#byEntries.all(f, JSON.stringify(ask.entryIds.map((id) => idToSortKey(id).toString('hex')))));
    if (ask.oldest && ask.oldest > 0) add(this.#oldest.all(f, ask.oldest));
    const a = this.#d.appInt(app);
    const groups: StoredGroup[] = [...rows.values()].map((r) => ({
      id: sortKeyToId(r.gsk),
      key: r.key,
      verb: r.verb,
      activityCount: r.activity_count,
      actors: JSON.parse(r.actors) as string[],
      createdUs: r.created,
      updatedUs: r.updated,
      seen: r.seen === 1,
      read: r.read === 1,
      trimmed: r.trimmed === null ? null : sortKeyToId(r.trimmed),
      entries: (this.#entries.all(a, f, r.id) as { sk: Buffer; origin: string | null; actor: unknown; verb: unknown }[]).map((e) => {
        const id = sortKeyToId(e.sk);
        return { id, origin: e.origin, timeUs: timeOfId(id), actor: String(e.actor ?? ''), verb: String(e.verb ?? '') };
      }),
    }));
    return { feed: ask.feed, version: st.gver, counts: { groups: st.ngroups, unseen: st.unseen, unread: st.unread }, groups };
  }

  writeGroups(app: string, writes: readonly GroupWrite[], opts: ApplyOptions = {}): Promise<string[]> {
    const rows = writes.reduce((n, w) => n + w.put.length + w.drop.length, 0);
    return this.#write([app, writes], rows, false, opts.covered === true);
  }

  /** {@link writeGroups} inside the write transaction (a named write operation). */
  private writeNow(app: string, writes: readonly GroupWrite[]): string[] {
    const conflicts: string[] = [];
    const keys = new Set<string>();
    for (const w of writes) {
      if (!this.writeOne(app, w)) conflicts.push(w.feed);
      else keys.add(changeKey.feed(app, w.feed));
    }
    if (keys.size > 0) this.#marks.write(keys);
    return conflicts;
  }

  private writeOne(app: string, w: GroupWrite): boolean {
    const d = this.#d;
    const f = d.feedInt(app, w.feed);
    const st = this.#feedState.get(f) as { gver: number };
    if (st.gver !== w.version) return false;
    if (w.markAll) (w.markAll.read ? this.#markAllRead : this.#markAllSeen).run(f);
    for (const id of w.drop) {
      const gid = this.#byGsk.get(f, idToSortKey(id)) as number | undefined;
      if (gid === undefined) continue;
      this.#deleteGroupEntries.run(f, gid);
      this.#deleteGroup.run(gid);
    }
    for (const g of w.put) {
      const gsk = idToSortKey(g.id);
      const fields = {
        key: g.key,
        verb: g.verb,
        created: g.createdUs,
        updated: g.updatedUs,
        count: g.activityCount,
        actors: JSON.stringify(g.actors),
        seen: g.seen ? 1 : 0,
        read: g.read ? 1 : 0,
        trimmed: g.trimmed === null ? null : idToSortKey(g.trimmed),
      };
      let gid = this.#byGsk.get(f, gsk) as number | undefined;
      if (gid === undefined) gid = this.#insertGroup.get({ feed: f, gsk, ...fields }) as number;
      else this.#updateGroup.run({ id: gid, ...fields });
      const want = new Map(g.entries.map((e) => [idToSortKey(e.id).toString('hex'), e]));
      for (const sk of this.#groupEntryKeys.all(f, gid) as Buffer[]) {
        const hex = sk.toString('hex');
        if (want.has(hex)) want.delete(hex);
        else this.#deleteEntry.run(f, sk);
      }
      for (const [hex, e] of want) {
        const sk = Buffer.from(hex, 'hex');
        this.#unputRecent.run(f, sk);
        this.#putEntry.run(f, sk, e.origin === null ? null : d.feedInt(app, e.origin), gid);
      }
    }
    this.#setCounts.run(w.counts.groups, w.counts.unseen, w.counts.unread, f);
    return true;
  }
}

/**
 * First follower pages of up to this many followers are cached: a post's plan reads one of 1 or
 * `inline_max_followers` + 1, and a small fan-out then reads its followers in one page.
 */
const GRAPH_CACHE_MAX_PAGE = 1024;
/** Followers and flags held by the cache at most; past it, the cache starts again empty. */
const GRAPH_CACHE_BUDGET = 200_000;

/**
 * First follower pages and pull flags of feeds, read on this thread's connection, kept while the
 * follow graph stands still: a post plans its fan-out from its feeds' follower count and pull
 * flag, and after each commit of the writer thread SQLite starts this connection's reads on an
 * emptied page cache, so reading them again costs several times what they cost warm.
 *
 * Exact: only writes that create or remove follow edges or mark feeds pull-served change what it
 * holds (the grouped marks' sync at start too), and the write store counts each one this process
 * settles, before its caller hears of it ({@link SqliteWriteStore.graphWrites}). Any other
 * process's commit empties it ({@link SqliteDatabase.othersMark}). A read between a graph write's
 * commit and its acknowledgement may be answered as of before it: the write is then concurrent
 * with the read.
 */
class GraphCache {
  mark = '';
  readonly pages = new Map<string, FollowerPage>();
  readonly pulled = new Map<string, boolean>();
  #held = 0;

  reset(mark: string): void {
    this.mark = mark;
    this.pages.clear();
    this.pulled.clear();
    this.#held = 0;
  }

  keep(key: string, page: FollowerPage): void {
    this.room(1 + page.followers.length);
    this.pages.set(key, page);
  }

  keepPulled(key: string, pulled: boolean): void {
    this.room(1);
    this.pulled.set(key, pulled);
  }

  private room(n: number): void {
    if (this.#held + n > GRAPH_CACHE_BUDGET) this.reset(this.mark);
    this.#held += n;
  }
}

/**
 * {@link FollowStore} on SQLite: follower pages walk the (target, source) primary key; the
 * pull-served feeds a reader follows come from the pull flags (few) or the reader's follows.
 */
export class SqliteFollowGraph implements FollowStore {
  readonly #d: SqliteDatabase;
  readonly #writes: SqliteWriteStore;
  readonly #legacy: SqliteFollowStore;
  readonly #timelines: SqliteTimelineStore;
  readonly #page: Database.Statement;
  readonly #pageGrouped: Database.Statement;
  readonly #total: Database.Statement;
  readonly #markPull: Database.Statement;
  readonly #marks: SqliteChangeMarks;

  readonly #markPullServed: (args: [string, readonly string[]], rows?: number, graph?: boolean) => Promise<void>;
  readonly #cache = new GraphCache();

  constructor(d: SqliteDatabase, writes: SqliteWriteStore, legacy: SqliteFollowStore, timelines: SqliteTimelineStore, marks: SqliteChangeMarks) {
    this.#d = d;
    this.#marks = marks;
    this.#writes = writes;
    this.#legacy = legacy;
    this.#timelines = timelines;
    this.#markPullServed = writes.define('follows.markPullServed', (app: string, feeds: readonly string[]) => {
      let changed = 0;
      for (const feed of feeds) changed += this.#markPull.run(this.#d.feedInt(app, feed)).changes;
      // The followers of a feed turned to pull merge its direct entries from now on.
      if (changed > 0) this.#marks.write([changeKey.pulled(app), ...feeds.map((f) => changeKey.feed(app, f))]);
    });
    const db = d.db;
    // Followers by integer: their names come from the database's cache of feed names (feeds are
    // never renumbered), which spares a probe of the feeds table per follower.
    this.#page = db.prepare('SELECT source, grouped FROM follows WHERE target = ? AND source > ? ORDER BY source LIMIT +?').raw();
    this.#pageGrouped = db.prepare(
      `SELECT source, grouped FROM follows INDEXED BY follows_grouped
       WHERE target = ? AND grouped = 1 AND source > ? ORDER BY source LIMIT +?`,
    ).raw();
    this.#total = db.prepare('SELECT followers FROM feeds WHERE id = ?').pluck();
    this.#markPull = db.prepare('UPDATE feeds SET pull = 1 WHERE id = ? AND pull = 0');
  }

  async followerPage(app: string, target: string, cursor: string | null, limit: number, groupedOnly?: boolean): Promise<FollowerPage> {
    return this.#d.read(
      'followerPage',
      () => {
        if (cursor !== null) return this.readPage(app, target, cursor, limit, groupedOnly === true);
        const cache = this.graphCache();
        const key = `${groupedOnly === true ? 'g' : 'a'}${limit}\u0000${app}\u0000${target}`;
        let page = cache.pages.get(key);
        if (page === undefined) {
          page = this.readPage(app, target, null, limit, groupedOnly === true);
          if (page.followers.length <= GRAPH_CACHE_MAX_PAGE) cache.keep(key, page);
        }
        return page;
      },
      true,
    );
  }

  private readPage(app: string, target: string, cursor: string | null, limit: number, groupedOnly: boolean): FollowerPage {
    const t = this.#d.findFeed(app, target);
    if (t === undefined) return { followers: [], cursor: null, total: 0 };
    const after = cursor === null ? 0 : Number(cursor);
    const rows = (groupedOnly ? this.#pageGrouped : this.#page).all(t, after, limit) as [number, number][];
    const d = this.#d;
    const followers: Follower[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) followers[i] = { feed: d.feedName(rows[i][0]), grouped: rows[i][1] === 1 };
    return { followers, cursor: rows.length < limit ? null : String(rows[rows.length - 1][0]), total: this.#total.get(t) as number };
  }

  /**
   * The cache of first follower pages and pull flags, emptied first when the graph may have
   * changed since it was filled (see {@link GraphCache}).
   */
  private graphCache(): GraphCache {
    const mark = `${this.#writes.graphWrites}:${this.#d.othersMark()}`;
    if (this.#cache.mark !== mark) this.#cache.reset(mark);
    return this.#cache;
  }

  async pullSources(app: string, reader: string): Promise<PullSource[]> {
    return this.#d.read(
      'pullSources',
      () => {
        const f = this.#d.findFeed(app, reader);
        if (f === undefined) return [];
        return this.#timelines.pulledOf(f).map((p) => ({ feed: p.fid, since: p.since === null || p.since.length === 0 ? null : sortKeyToId(p.since), count: p.n }));
      },
      true,
    );
  }

  async pullServed(app: string, feeds: readonly string[]): Promise<Set<string>> {
    if (feeds.length === 0) return new Set();
    return this.#d.read(
      'pullServed',
      () => {
        const cache = this.graphCache();
        const out = new Set<string>();
        let unknown: string[] | null = null;
        for (const f of feeds) {
          const pulled = cache.pulled.get(`${app}\u0000${f}`);
          if (pulled === undefined) (unknown ??= []).push(f);
          else if (pulled) out.add(f);
        }
        if (unknown === null) return out;
        const read = this.#legacy.pullServedNow(app, unknown);
        for (const f of unknown) {
          cache.keepPulled(`${app}\u0000${f}`, read.has(f));
          if (read.has(f)) out.add(f);
        }
        return out;
      },
      true,
    );
  }

  markPullServed(app: string, feeds: readonly string[]): Promise<void> {
    return this.#markPullServed([app, feeds], feeds.length, true);
  }

  async syncGroupedEdges(app: string, groupedSlugs: readonly string[]): Promise<void> {
    try {
      await this.#legacy.syncGroupedEdges(app, groupedSlugs);
    } finally {
      this.#writes.noteGraphWrite();
    }
  }

  followersAmong(app: string, target: string, candidates: readonly string[]): Promise<string[]> {
    return this.#legacy.followersAmong(app, target, candidates);
  }

  followers(app: string, target: string, limit: number, offset: number): Promise<FollowEdge[]> {
    return this.#legacy.followers(app, target, limit, offset);
  }

  following(app: string, source: string, limit: number, offset: number, filter?: readonly string[]): Promise<FollowEdge[]> {
    return this.#legacy.following(app, source, limit, offset, filter);
  }

  edgesAmong(app: string, pairs: readonly (readonly [source: string, target: string])[]): Promise<boolean[]> {
    return this.#legacy.edgesAmong(app, pairs);
  }

  followCounts(app: string, feed: string, followersSlugs?: readonly string[], followingSlugs?: readonly string[]): Promise<{ followers: number; following: number }> {
    return this.#legacy.followCounts(app, feed, followersSlugs, followingSlugs);
  }
}
