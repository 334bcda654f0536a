import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId } from '../../core/activities/activity-id.js';
import type { GroupRange, GroupRecord, PageEntry, TimelineEntry, TimelineRange, LegacyTimelineStore as TimelineStore } from '../../ports/legacy/timeline-store.js';
import type { SqliteDatabase } from './database.js';
import { SqliteGroups } from './sqlite-groups.js';

interface Row {
  /** The sort key; absent when the statement returned the id instead. */
  sk: Buffer;
  id?: string;
  origin: string | null;
  body?: string;
}

/** A pull-served feed a reader follows: its integer, name, flat entry count and `since` bound. */
export interface Pulled {
  id: number;
  fid: string;
  n: number;
  since: Buffer | null;
}

/** Appended to a sort key: the smallest key after it (keys compare bytewise, all of one length). */
const ZERO = Buffer.of(0);
/** Sorts below every sort key: "no lower bound". */
const NONE = Buffer.alloc(0);

/** The later of two inclusive lower bounds (null = none). */
function later(a: Buffer | null, b: Buffer | null): Buffer | null {
  if (a === null) return b;
  if (b === null) return a;
  return Buffer.compare(a, b) >= 0 ? a : b;
}

/** How long the count of pull-served feeds is reused before counting again. */
const PULL_COUNT_TTL_MS = 1000;
/** Up to this many pull-served feeds, reads find the ones a feed follows by walking the flags. */
const SCAN_FLAGS_MAX = 256;

/** {@link TimelineStore} on SQLite: a range scan of the (feed, sort key) primary key. */
export class SqliteTimelineStore implements TimelineStore {
  readonly #d: SqliteDatabase;
  readonly #ranges = new Map<string, Database.Statement>();
  readonly #entriesOf: Database.Statement;
  readonly #pulledByFollows: Database.Statement;
  readonly #pulledByFlags: Database.Statement;
  readonly #pullCount: Database.Statement;
  readonly #reader: Database.Statement;
  readonly #pulledByIds: Database.Statement;
  readonly #pulledByForeignId: Database.Statement;
  /** Keys-only merges of a merged list (a count, or the key at a position), per source count. */
  readonly #keyAt = new Map<string, Database.Statement>();
  /** How many feeds are pull-served (all apps), and when that was counted (ms). */
  #pullServed = { count: 0, at: -Infinity };
  readonly #groups: SqliteGroups;

  /** `groups` is shared with the other stores of the same database (one set of statements). */
  constructor(d: SqliteDatabase, groups: SqliteGroups = new SqliteGroups(d)) {
    this.#d = d;
    this.#groups = groups;
    // Two plans for "the pull-served feeds this feed follows": walking the reader's follows costs
    // one lookup per followed feed (a reader following 5,000 feeds: ~0.5 ms on every read);
    // walking the pull-served feeds costs one probe per such feed, and there are few of them.
    this.#pulledByFollows = d.db.prepare(
      'SELECT t.id, t.fid, t.n, f.since FROM follows f JOIN feeds t ON t.id = f.target WHERE f.source = ? AND t.pull = 1',
    );
    // CROSS JOIN fixes the loop order: without it SQLite walks the reader's follows instead.
    this.#pulledByFlags = d.db.prepare(
      `SELECT t.id, t.fid, t.n, f.since FROM feeds t INDEXED BY feeds_pull CROSS JOIN follows f ON f.source = ? AND f.target = t.id
       WHERE t.pull = 1`,
    );
    this.#reader = d.db.prepare('SELECT n, floor, EXISTS (SELECT 1 FROM hidden WHERE feed = @feed) AS hides FROM feeds WHERE id = @feed');
    const visible = `FROM follows f JOIN feeds t ON t.id = f.target AND t.pull = 1
       JOIN entries e ON e.feed = t.id AND e.origin IS NULL AND e.sk >= coalesce(f.since, x'')
       WHERE f.source = @feed AND NOT EXISTS (SELECT 1 FROM hidden h WHERE h.feed = @feed AND h.sk = e.sk)`;
    this.#pulledByIds = d.db.prepare(
      `SELECT e.sk, t.fid AS origin ${visible} AND e.sk IN (SELECT unhex(value) FROM json_each(@keys))`,
    );
    this.#pulledByForeignId = d.db.prepare(
      `SELECT e.sk, t.fid AS origin ${visible}
       AND e.sk IN (SELECT sk FROM activities WHERE app = @app AND foreign_id = @foreignId AND foreign_id <> '')`,
    );
    this.#pullCount = d.db.prepare('SELECT count(*) FROM feeds INDEXED BY feeds_pull WHERE pull = 1').pluck();
    this.#entriesOf = d.db.prepare(
      `SELECT e.sk, o.fid AS origin FROM entries e LEFT JOIN feeds o ON o.id = e.origin
       WHERE e.feed = ? AND e.sk IN (SELECT unhex(value) FROM json_each(?))`,
    );
  }

  /** One prepared statement per combination of bounds (at most 16), built on first use. */
  private rangeStatement(r: TimelineRange, directOnly = false, bodies = false, since = false, hidden = false, ids = false): Database.Statement {
    const shape = `${r.idLt ? 1 : 0}${r.idLte ? 1 : 0}${r.idGt ? 1 : 0}${r.idGte ? 1 : 0}${directOnly ? 'd' : ''}${bodies ? 'b' : ''}${since ? 's' : ''}${hidden ? 'h' : ''}${ids ? 'i' : ''}`;
    let st = this.#ranges.get(shape);
    if (!st) {
      const conds = ['e.feed = @feed'];
      if (directOnly) conds.push('e.origin IS NULL');
      if (since) conds.push('e.sk >= @since');
      if (hidden) conds.push('NOT EXISTS (SELECT 1 FROM hidden h WHERE h.feed = @reader AND h.sk = e.sk)');
      if (r.idLt) conds.push('e.sk < @lt');
      if (r.idLte) conds.push('e.sk <= @lte');
      if (r.idGt) conds.push('e.sk > @gt');
      if (r.idGte) conds.push('e.sk >= @gte');
      // With bodies, the page's activities come in the same statement (one B-tree probe per
      // entry) instead of a second lookup by a list of keys. `ids`: the activity's id text instead
      // of the sort key, when nothing is merged (a BLOB column costs a Buffer per row).
      st = this.#d.db.prepare(
        bodies
          ? `SELECT ${ids ? 'a.id' : 'e.sk'}, o.fid AS origin, a.body FROM entries e JOIN activities a ON a.app = @app AND a.sk = e.sk
             LEFT JOIN feeds o ON o.id = e.origin
             WHERE ${conds.join(' AND ')} ORDER BY e.sk DESC LIMIT @limit OFFSET @offset`
          : `SELECT e.sk, o.fid AS origin FROM entries e LEFT JOIN feeds o ON o.id = e.origin
             WHERE ${conds.join(' AND ')} ORDER BY e.sk DESC LIMIT @limit OFFSET @offset`,
      );
      this.#ranges.set(shape, st);
    }
    return st;
  }

  /**
   * The pull-served feeds `feed` follows. Both plans give the same answer; the count that picks
   * one may be a second old (another process may have flagged a feed since), which only costs
   * speed. Flags never clear, so the count only grows.
   */
  pulledOf(feed: number): Pulled[] {
    const now = Date.now();
    if (now - this.#pullServed.at > PULL_COUNT_TTL_MS) this.#pullServed = { count: this.#pullCount.get() as number, at: now };
    const st = this.#pullServed.count <= SCAN_FLAGS_MAX ? this.#pulledByFlags : this.#pulledByFollows;
    return st.all(feed) as Pulled[];
  }

  /**
   * `range` of one source. `since`: an inclusive lower bound on sort keys; `hiddenFor`: leave out
   * the entries that feed hid.
   */
  private rows(feed: number, range: TimelineRange, directOnly = false, app?: number, since: Buffer | null = null, hiddenFor?: number, ids = false): Row[] {
    const params: Record<string, unknown> = { feed, limit: range.limit, offset: range.offset };
    if (app !== undefined) params.app = app;
    if (since !== null) params.since = since;
    if (hiddenFor !== undefined) params.reader = hiddenFor;
    if (range.idLt) params.lt = idToSortKey(range.idLt);
    if (range.idLte) params.lte = idToSortKey(range.idLte);
    if (range.idGt) params.gt = idToSortKey(range.idGt);
    if (range.idGte) params.gte = idToSortKey(range.idGte);
    return this.rangeStatement(range, directOnly, app !== undefined, since !== null, hiddenFor !== undefined, ids).all(params) as Row[];
  }

  /**
   * A keys-only merge of the merged list of `feed`: its own entries and the unhidden direct entries
   * of each pulled feed (from its `since`), all from `lo` on, deduplicated, newest first. `count`:
   * how many keys there are, counting at most `n`; otherwise the keys at positions `n` and `n + 1`.
   * One statement: SQLite merges the sources in key order and stops there.
   */
  private mergedKeys(feed: number, pulled: readonly Pulled[], lo: Buffer | null, hides: boolean, what: 'count' | 'at', n: number): Buffer[] | number {
    const shape = `${what}${pulled.length}${hides ? 'h' : ''}`;
    let st = this.#keyAt.get(shape);
    if (!st) {
      if (this.#keyAt.size > 64) this.#keyAt.clear();
      const arms = ['SELECT sk FROM entries WHERE feed = ? AND sk >= ?'];
      const hidden = hides ? ' AND NOT EXISTS (SELECT 1 FROM hidden h WHERE h.feed = ? AND h.sk = entries.sk)' : '';
      for (let i = 0; i < pulled.length; i++) arms.push(`SELECT sk FROM entries WHERE feed = ? AND origin IS NULL AND sk >= ?${hidden}`);
      const merge = arms.join(' UNION ');
      st = this.#d.db
        .prepare(what === 'count' ? `SELECT count(*) FROM (${merge} ORDER BY 1 DESC LIMIT ?)` : `${merge} ORDER BY 1 DESC LIMIT 2 OFFSET ?`)
        .pluck();
      this.#keyAt.set(shape, st);
    }
    const params: unknown[] = [feed, lo ?? NONE];
    for (const p of pulled) {
      params.push(p.id, later(lo, p.since) ?? NONE);
      if (hides) params.push(feed);
    }
    params.push(n);
    return what === 'count' ? (st.get(...params) as number) : (st.all(...params) as Buffer[]);
  }

  /**
   * What a merged read of feed `f` needs to know about it: its floor, whether it hid anything,
   * and how many entries it and the pulled feeds hold together (an upper bound of the merge).
   */
  private readerState(f: number, pulled: readonly Pulled[]): { floor: Buffer | null; hides: number; total: number } {
    const r = this.#reader.get({ feed: f }) as { n: number; floor: Buffer | null; hides: number };
    return { floor: r.floor, hides: r.hides, total: r.n + pulled.reduce((sum, p) => sum + p.n, 0) };
  }

  async readFeed(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]> {
    return this.#d.read('readFeed', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return [];
      return this.rows(f, range).map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin }));
    });
  }

  async readTimeline(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]> {
    return this.#d.read('readTimeline', () => this.merged(app, feed, range, false).map((r) => ({ id: r.id ?? sortKeyToId(r.sk), origin: r.origin })));
  }

  async readTimelinePage(app: string, feed: string, range: TimelineRange): Promise<PageEntry[]> {
    return this.#d.read('readTimelinePage', () =>
      this.merged(app, feed, range, true).map((r) => ({ id: r.id ?? sortKeyToId(r.sk), origin: r.origin, body: r.body! })),
    );
  }

  /**
   * The feed's rows merged with the direct rows of the pull-served feeds it follows, as a
   * push-served feed would hold them: without the pulled entries the feed hid, nothing older than
   * its floor, and at most `range.maxLength` entries (the newest).
   */
  private merged(app: string, feed: string, range: TimelineRange, bodies: boolean): Row[] {
    const f = this.#d.findFeed(app, feed);
    if (f === undefined) return [];
    const a = bodies ? this.#d.appInt(app) : undefined;
    const pulled = this.pulledOf(f);
    // Without pulled feeds the stored entries are the whole feed, trimmed to max_length on write.
    if (pulled.length === 0) return this.rows(f, range, false, a, null, undefined, bodies);
    const reader = this.readerState(f, pulled);
    const floor = reader.floor;
    const hiddenFor = reader.hides ? f : undefined;
    // k-way merge: each source is read only as deep as the page needs (offset + limit).
    let depth = range.offset + range.limit;
    const max = range.maxLength ?? Infinity;
    if (range.idLt === undefined && range.idLte === undefined) {
      // Without an upper bound, positions in the list are positions in the whole merged feed.
      depth = Math.min(depth, max);
    } else if (reader.total > max) {
      // Only when the sources together could hold more than max_length: count the entries above
      // the upper bound (at most max_length of them, and a page deep in the feed is the only one
      // that counts many); the page's positions follow theirs.
      const lt = range.idLt !== undefined ? idToSortKey(range.idLt) : null;
      const lte = range.idLte !== undefined ? Buffer.concat([idToSortKey(range.idLte), ZERO]) : null;
      // Entries above the range: at or above the lower of the two bounds.
      const bound = lt === null ? lte! : lte === null || Buffer.compare(lt, lte) <= 0 ? lt : lte;
      const above = this.mergedKeys(f, pulled, later(floor, bound), hiddenFor !== undefined, 'count', max) as number;
      depth = Math.min(depth, max - above);
    }
    if (depth <= range.offset) return [];
    const window = { ...range, offset: 0, limit: depth };
    const merged = new Map<string, Row>();
    for (const r of this.rows(f, window, false, a, floor)) merged.set(r.sk.toString('hex'), r);
    for (const p of pulled) {
      // `since`: the follower sees the pulled feed from where its follow's copy would have started.
      for (const r of this.rows(p.id, window, true, a, later(floor, p.since), hiddenFor)) {
        const key = r.sk.toString('hex');
        if (!merged.has(key)) merged.set(key, { ...r, origin: p.fid });
      }
    }
    return [...merged.values()].sort((x, y) => Buffer.compare(y.sk, x.sk)).slice(range.offset, depth);
  }

  async pulledEntriesOf(app: string, feed: string, key: { readonly ids: readonly string[] } | { readonly foreignId: string }): Promise<TimelineEntry[]> {
    return this.#d.read('pulledEntriesOf', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return [];
      let rows: Row[];
      if ('ids' in key) {
        if (key.ids.length === 0) return [];
        const keys = JSON.stringify(key.ids.map((id) => idToSortKey(id).toString('hex')));
        rows = this.#pulledByIds.all({ feed: f, keys }) as Row[];
      } else {
        rows = this.#pulledByForeignId.all({ feed: f, app: this.#d.appInt(app), foreignId: key.foreignId }) as Row[];
      }
      // An activity written to two pulled feeds shows once.
      const out = new Map<string, TimelineEntry>();
      for (const r of rows) {
        const id = sortKeyToId(r.sk);
        if (!out.has(id)) out.set(id, { id, origin: r.origin });
      }
      return [...out.values()];
    });
  }

  async oldestKept(app: string, feed: string, maxLength: number): Promise<string | null> {
    return this.#d.read('oldestKept', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return null;
      const pulled = this.pulledOf(f);
      if (pulled.length === 0) return null;
      const reader = this.readerState(f, pulled);
      if (reader.total <= maxLength) return null;
      const kept = this.mergedKeys(f, pulled, reader.floor, reader.hides !== 0, 'at', maxLength - 1) as Buffer[];
      return kept.length === 2 ? sortKeyToId(kept[0]) : null;
    });
  }

  async readGroups(app: string, feed: string, range: GroupRange): Promise<GroupRecord[]> {
    return this.#d.read('readGroups', () => {
      const f = this.#d.findFeed(app, feed);
      return f === undefined ? [] : this.#groups.read(f, range);
    });
  }

  async groupCounts(app: string, feed: string): Promise<{ unseen: number; unread: number }> {
    return this.#d.read('groupCounts', () => {
      const f = this.#d.findFeed(app, feed);
      return f === undefined ? { unseen: 0, unread: 0 } : this.#groups.counts(f);
    });
  }

  async entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]> {
    if (ids.length === 0) return [];
    return this.#d.read('entriesOf', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return [];
      const keys = JSON.stringify(ids.map((id) => idToSortKey(id).toString('hex')));
      const rows = this.#entriesOf.all(f, keys) as Row[];
      return rows.map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin }));
    });
  }
}
