import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId, timeOfId } from '../../core/activities/activity-id.js';
import type { ActivityRecord, ActivityStore } from '../../ports/activity-store.js';
import type { Follower, FollowEdge, FollowerPage, FollowStore, PullSource } from '../../ports/follow-store.js';
import type { FeedGroups, GroupAsk, GroupRange, GroupRecord, GroupStore, GroupWrite, StoredGroup } from '../../ports/group-store.js';
import type { FeedChange, FeedOp, FeedScan, ReaderState, TimelineEntry, TimelineStore } from '../../ports/timeline-store.js';
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

interface ScanRow {
  sk: Buffer;
  origin: string | null;
  body?: string;
}

/**
 * {@link TimelineStore} on SQLite: range scans of the (feed, sort key) primary key, and per-feed
 * operations applied in the write store's group commit. Only flat entries (no group) are touched
 * by the operations; grouped feeds change through {@link SqliteGroupStore}.
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
  readonly #count: Database.Statement;
  readonly #trim: Database.Statement;
  readonly #remove: Database.Statement;
  readonly #removeFrom: Database.Statement;
  readonly #removeOrigin: Database.Statement;
  readonly #hide: Database.Statement;
  readonly #raiseFloor: Database.Statement;
  readonly #unhide: Database.Statement;
  readonly #marks: SqliteChangeMarks;

  readonly #apply: (args: [string, PackedOps], rows?: number) => Promise<PackedChanges>;

  constructor(d: SqliteDatabase, writes: SqliteWriteStore, legacy: SqliteTimelineStore, marks: SqliteChangeMarks) {
    this.#d = d;
    this.#writes = writes;
    this.#legacy = legacy;
    this.#marks = marks;
    this.#apply = writes.define('timelines.apply', (app: string, ops: PackedOps) => packChanges(this.applyNow(app, unpackOps(ops))));
    const db = d.db;
    this.#reader = db.prepare('SELECT n, floor FROM feeds WHERE id = ?');
    this.#hidden = db.prepare('SELECT sk FROM hidden WHERE feed = ? ORDER BY sk DESC').pluck();
    this.#byForeignId = db.prepare(
      `SELECT e.sk, o.fid AS origin FROM activities a JOIN entries e ON e.feed = @feed AND e.sk = a.sk LEFT JOIN feeds o ON o.id = e.origin
       WHERE a.app = @app AND a.foreign_id = @foreignId AND a.foreign_id <> '' ORDER BY e.sk DESC`,
    );
    this.#insert = db.prepare('INSERT OR IGNORE INTO entries (feed, sk, origin) VALUES (?, ?, ?)');
    this.#count = db.prepare('UPDATE feeds SET n = n + ? WHERE id = ? RETURNING n').pluck();
    this.#trim = db
      .prepare(
        `DELETE FROM entries WHERE feed = @feed AND sk IN
         (SELECT sk FROM entries WHERE feed = @feed AND grp IS NULL ORDER BY sk LIMIT @excess) RETURNING sk`,
      )
      .pluck();
    this.#remove = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? AND grp IS NULL');
    this.#removeFrom = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? AND origin IS ? AND grp IS NULL');
    this.#removeOrigin = db.prepare('DELETE FROM entries WHERE feed = ? AND origin = ? AND grp IS NULL RETURNING sk').pluck();
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
      const conds = ['e.feed = ?', 'e.grp IS NULL'];
      if (s.directOnly) conds.push('e.origin IS NULL');
      if (s.idLt) conds.push('e.sk < ?');
      if (s.idLte) conds.push('e.sk <= ?');
      if (s.idGt) conds.push('e.sk > ?');
      if (s.idGte) conds.push('e.sk >= ?');
      st = this.#d.db
        .prepare(
          s.bodies
            ? `SELECT a.id, e.origin, a.body FROM entries e JOIN activities a ON a.app = ? AND a.sk = e.sk
               WHERE ${conds.join(' AND ')} ORDER BY e.sk DESC LIMIT ? OFFSET ?`
            : `SELECT lower(hex(e.sk)), e.origin FROM entries e WHERE ${conds.join(' AND ')} ORDER BY e.sk DESC LIMIT ? OFFSET ?`,
        )
        .raw();
      this.#scans.set(shape, st);
    }
    return st;
  }

  private scanOne(app: string, s: FeedScan): (TimelineEntry & { body?: string })[] {
    const d = this.#d;
    const f = d.findFeed(app, s.feed);
    if (f === undefined || s.limit <= 0) return [];
    const params: unknown[] = s.bodies ? [d.appInt(app), f] : [f];
    if (s.idLt) params.push(idToSortKey(s.idLt));
    if (s.idLte) params.push(idToSortKey(s.idLte));
    if (s.idGt) params.push(idToSortKey(s.idGt));
    if (s.idGte) params.push(idToSortKey(s.idGte));
    params.push(s.limit, s.offset ?? 0);
    const rows = this.statement(s).all(...params) as [string, number | null, string?][];
    const out: (TimelineEntry & { body?: string })[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [id, origin, body] = rows[i];
      const o = origin === null ? null : d.feedName(origin);
      out[i] = s.bodies ? { id, origin: o, body } : { id: hexToId(id), origin: o };
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
      const r = this.#reader.get(f) as { n: number; floor: Buffer | null };
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

  async apply(app: string, ops: readonly FeedOp[]): Promise<FeedChange[]> {
    const rows = ops.reduce((n, op) => n + ('entries' in op ? op.entries.length : 'ids' in op ? op.ids.length : 1), 0);
    return unpackChanges(await this.#apply([app, packOps(ops)], rows));
  }

  /**
   * {@link apply} inside the write transaction (a named write operation, also run by the writer
   * thread). A fan-out chunk names a few activities and a few origins across thousands of feeds,
   * often the same feed several times: sort keys and origin integers are converted once per call,
   * and a feed's count and trim are touched once per run of adds on it (see {@link Pending}).
   */
  private applyNow(app: string, ops: readonly FeedOp[]): Map<string, CallChange> {
    const ctx: ApplyCall = { app, changes: new Map(), keys: new Map(), origins: new Map(), pending: new Map() };
    for (const op of ops) this.applyOne(ctx, op);
    for (const [f, p] of ctx.pending) this.countAndTrim(f, p);
    this.mark(app, ops);
    return ctx.changes;
  }

  /** The change record of `feed` in this call. */
  private changeOf(ctx: ApplyCall, feed: string): CallChange {
    let c = ctx.changes.get(feed);
    if (!c) ctx.changes.set(feed, (c = { added: new Map(), removed: new Set() }));
    return c;
  }

  /**
   * The change mark of operations just applied (in their transaction): each feed, the activities
   * removals name, and the app's pull key when a direct entry of a pull-served feed came or went.
   */
  private mark(app: string, ops: readonly FeedOp[]): void {
    const keys = new Set<string>();
    let pulled = false;
    const isPull = (fid: string) => {
      const f = this.#d.findFeed(app, fid);
      return f !== undefined && this.#marks.isPull(f);
    };
    for (const op of ops) {
      keys.add(changeKey.feed(app, op.feed));
      if (op.kind === 'remove') {
        for (const id of op.ids) keys.add(changeKey.activity(app, id));
        if (!pulled && (op.origin === undefined || op.origin === null) && isPull(op.feed)) pulled = true;
      } else if (op.kind === 'add' && !pulled && op.entries.some((e) => e.origin === null) && isPull(op.feed)) pulled = true;
    }
    if (pulled) keys.add(changeKey.pulled(app));
    if (keys.size > 0) this.#marks.write(keys);
  }

  /** Adds a feed's pending count and trims it to its newest `maxLength` entries when over. */
  private countAndTrim(f: number, p: Pending): void {
    const n = this.#count.get(p.added, f) as number;
    if (n <= p.maxLength) return;
    const trimmed = this.#trim.all({ feed: f, excess: n - p.maxLength }) as Buffer[];
    this.#count.get(-trimmed.length, f);
    for (const sk of trimmed) {
      const id = sortKeyToId(sk);
      if (!p.change.added.delete(id)) p.change.removed.add(id);
    }
  }

  private applyOne(ctx: ApplyCall, op: FeedOp): void {
    const d = this.#d;
    const app = ctx.app;
    if (op.kind === 'add') {
      const f = d.feedInt(app, op.feed);
      const c = this.changeOf(ctx, op.feed);
      let added = 0;
      for (const e of op.entries) {
        let origin: number | null = null;
        if (e.origin !== null) {
          origin = ctx.origins.get(e.origin) ?? null;
          if (origin === null) ctx.origins.set(e.origin, (origin = d.feedInt(app, e.origin)));
        }
        let sk = ctx.keys.get(e.id);
        if (sk === undefined) ctx.keys.set(e.id, (sk = idToSortKey(e.id)));
        if (this.#insert.run(f, sk, origin).changes > 0) {
          added++;
          // Back in after an earlier operation of this call took it out: no change overall.
          if (!c.removed.delete(e.id)) c.added.set(e.id, { id: e.id, origin: e.origin });
        }
      }
      if (added === 0) return;
      // "Set union, then newest N" over several adds equals doing each in turn (an entry a trim
      // drops has N newer ones, which stay), so the count and trim wait for the feed's last add
      // or its next other operation.
      const p = ctx.pending.get(f);
      if (p === undefined) ctx.pending.set(f, { added, maxLength: op.maxLength, change: c });
      else {
        p.added += added;
        if (op.maxLength !== p.maxLength) {
          // Another length (never within one feed group): settle at once with the smaller one.
          p.maxLength = Math.min(p.maxLength, op.maxLength);
          ctx.pending.delete(f);
          this.countAndTrim(f, p);
        }
      }
      return;
    }
    // Any other operation sees the feed counted and trimmed as the adds before it left it.
    const known = d.findFeed(app, op.feed);
    if (known !== undefined) {
      const p = ctx.pending.get(known);
      if (p !== undefined) {
        ctx.pending.delete(known);
        this.countAndTrim(known, p);
      }
    }
    switch (op.kind) {
      case 'remove': {
        const f = known;
        if (f === undefined) return;
        const origin = op.origin === undefined ? undefined : op.origin === null ? null : d.findFeed(app, op.origin);
        if (origin === undefined && op.origin !== undefined) return; // that origin never existed: nothing came from it
        const c = this.changeOf(ctx, op.feed);
        let n = 0;
        for (const id of op.ids) {
          const sk = idToSortKey(id);
          const gone = (origin === undefined ? this.#remove.run(f, sk) : this.#removeFrom.run(f, sk, origin)).changes;
          if (gone > 0) {
            n += gone;
            if (!c.added.delete(id)) c.removed.add(id);
          }
        }
        if (n > 0) this.#count.get(-n, f);
        return;
      }
      case 'removeOrigin': {
        const f = known;
        const o = d.findFeed(app, op.origin);
        if (f === undefined || o === undefined) return;
        const gone = this.#removeOrigin.all(f, o) as Buffer[];
        if (gone.length === 0) return;
        this.#count.get(-gone.length, f);
        const c = this.changeOf(ctx, op.feed);
        for (const sk of gone) {
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
type PackedOps = readonly ({ readonly feeds: string[]; readonly entries: readonly TimelineEntry[]; readonly maxLength: number } | { readonly op: FeedOp })[];

export function packOps(ops: readonly FeedOp[]): PackedOps {
  const out: ({ feeds: string[]; entries: readonly TimelineEntry[]; maxLength: number } | { op: FeedOp })[] = [];
  /** Index of the add item of each (entries, length), and the last item each feed is in. */
  const bySig = new Map<string, number>();
  const lastOf = new Map<string, number>();
  for (const op of ops) {
    if (op.kind !== 'add') {
      lastOf.set(op.feed, out.length);
      out.push({ op });
      continue;
    }
    let sig = String(op.maxLength);
    for (const e of op.entries) sig += '\u0001' + e.id + '\u0002' + (e.origin ?? '');
    const at = bySig.get(sig);
    const last = lastOf.get(op.feed);
    if (at !== undefined && (last === undefined || last <= at)) {
      (out[at] as { feeds: string[] }).feeds.push(op.feed);
      lastOf.set(op.feed, at);
    } else {
      bySig.set(sig, out.length);
      lastOf.set(op.feed, out.length);
      out.push({ feeds: [op.feed], entries: op.entries, maxLength: op.maxLength });
    }
  }
  return out;
}

export function unpackOps(packed: PackedOps): FeedOp[] {
  const ops: FeedOp[] = [];
  for (const item of packed) {
    if ('op' in item) ops.push(item.op);
    else for (const feed of item.feeds) ops.push({ kind: 'add', feed, entries: item.entries, maxLength: item.maxLength });
  }
  return ops;
}

/** {@link FeedChange}s on their way back: feeds with the same change share one item (see {@link PackedOps}). */
type PackedChanges = readonly { readonly feeds: string[]; readonly added: readonly TimelineEntry[]; readonly removed: readonly string[] }[];

function packChanges(changes: ReadonlyMap<string, CallChange>): PackedChanges {
  const out = new Map<string, { feeds: string[]; added: TimelineEntry[]; removed: string[] }>();
  for (const [feed, c] of changes) {
    if (c.added.size === 0 && c.removed.size === 0) continue;
    let sig = '';
    for (const e of c.added.values()) sig += e.id + '\u0002' + (e.origin ?? '') + '\u0001';
    sig += '\u0003';
    for (const id of c.removed) sig += id + '\u0001';
    const item = out.get(sig);
    if (item) item.feeds.push(feed);
    else out.set(sig, { feeds: [feed], added: [...c.added.values()], removed: [...c.removed] });
  }
  return [...out.values()];
}

function unpackChanges(packed: PackedChanges): FeedChange[] {
  const out: FeedChange[] = [];
  for (const item of packed) for (const feed of item.feeds) out.push({ feed, added: item.added, removed: item.removed });
  return out;
}

/** What one feed changed in an {@link SqliteTimelines.apply} call. */
interface CallChange {
  readonly added: Map<string, TimelineEntry>;
  readonly removed: Set<string>;
}

/** Entries a run of adds put into one feed, not counted and trimmed yet. */
interface Pending {
  added: number;
  maxLength: number;
  readonly change: CallChange;
}

/** The state of one {@link SqliteTimelines.apply} call. */
interface ApplyCall {
  readonly app: string;
  readonly changes: Map<string, CallChange>;
  /** Sort keys of the ids met, and integers of the origins met. */
  readonly keys: Map<string, Buffer>;
  readonly origins: Map<string, number>;
  /** By feed integer. */
  readonly pending: Map<number, Pending>;
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
  readonly #setCounts: Database.Statement;
  readonly #markAllSeen: Database.Statement;
  readonly #markAllRead: Database.Statement;
  readonly #marks: SqliteChangeMarks;

  readonly #write: (args: [string, readonly GroupWrite[]], rows?: number) => Promise<string[]>;

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
    this.#oldest = db.prepare('SELECT * FROM groups WHERE feed = ? ORDER BY updated, gsk LIMIT ?');
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

  writeGroups(app: string, writes: readonly GroupWrite[]): Promise<string[]> {
    const rows = writes.reduce((n, w) => n + w.put.length + w.drop.length, 0);
    return this.#write([app, writes], rows);
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
      for (const [hex, e] of want) this.#putEntry.run(f, Buffer.from(hex, 'hex'), e.origin === null ? null : d.feedInt(app, e.origin), gid);
    }
    this.#setCounts.run(w.counts.groups, w.counts.unseen, w.counts.unread, f);
    return true;
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
    this.#page = db.prepare('SELECT source, grouped FROM follows WHERE target = ? AND source > ? ORDER BY source LIMIT ?').raw();
    this.#pageGrouped = db.prepare(
      `SELECT source, grouped FROM follows INDEXED BY follows_grouped
       WHERE target = ? AND grouped = 1 AND source > ? ORDER BY source LIMIT ?`,
    ).raw();
    this.#total = db.prepare('SELECT followers FROM feeds WHERE id = ?').pluck();
    this.#markPull = db.prepare('UPDATE feeds SET pull = 1 WHERE id = ? AND pull = 0');
  }

  async followerPage(app: string, target: string, cursor: string | null, limit: number, groupedOnly?: boolean): Promise<FollowerPage> {
    return this.#d.read(
      'followerPage',
      () => {
        const t = this.#d.findFeed(app, target);
        if (t === undefined) return { followers: [], cursor: null, total: 0 };
        const after = cursor === null ? 0 : Number(cursor);
        const rows = (groupedOnly ? this.#pageGrouped : this.#page).all(t, after, limit) as [number, number][];
        const d = this.#d;
        const followers: Follower[] = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) followers[i] = { feed: d.feedName(rows[i][0]), grouped: rows[i][1] === 1 };
        return { followers, cursor: rows.length < limit ? null : String(rows[rows.length - 1][0]), total: this.#total.get(t) as number };
      },
      true,
    );
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

  pullServed(app: string, feeds: readonly string[]): Promise<Set<string>> {
    return this.#legacy.pullServed(app, feeds);
  }

  markPullServed(app: string, feeds: readonly string[]): Promise<void> {
    return this.#markPullServed([app, feeds], feeds.length, true);
  }

  syncGroupedEdges(app: string, groupedSlugs: readonly string[]): Promise<void> {
    return this.#legacy.syncGroupedEdges(app, groupedSlugs);
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

  followCounts(app: string, feed: string, followersSlugs?: readonly string[], followingSlugs?: readonly string[]): Promise<{ followers: number; following: number }> {
    return this.#legacy.followCounts(app, feed, followersSlugs, followingSlugs);
  }
}
