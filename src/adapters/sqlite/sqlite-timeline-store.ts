import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId } from '../../core/activities/activity-id.js';
import type { GroupRange, GroupRecord, PageEntry, TimelineEntry, TimelineRange, TimelineStore } from '../../ports/timeline-store.js';
import type { SqliteDatabase } from './database.js';
import { SqliteGroups } from './sqlite-groups.js';

interface Row {
  sk: Buffer;
  origin: string | null;
  body?: string;
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
      'SELECT t.id, t.fid, f.since FROM follows f JOIN feeds t ON t.id = f.target WHERE f.source = ? AND t.pull = 1',
    );
    // CROSS JOIN fixes the loop order: without it SQLite walks the reader's follows instead.
    this.#pulledByFlags = d.db.prepare(
      `SELECT t.id, t.fid, f.since FROM feeds t INDEXED BY feeds_pull CROSS JOIN follows f ON f.source = ? AND f.target = t.id
       WHERE t.pull = 1`,
    );
    this.#pullCount = d.db.prepare('SELECT count(*) FROM feeds INDEXED BY feeds_pull WHERE pull = 1').pluck();
    this.#entriesOf = d.db.prepare(
      `SELECT e.sk, o.fid AS origin FROM entries e LEFT JOIN feeds o ON o.id = e.origin
       WHERE e.feed = ? AND e.sk IN (SELECT unhex(value) FROM json_each(?))`,
    );
  }

  /** One prepared statement per combination of bounds (at most 16), built on first use. */
  private rangeStatement(r: TimelineRange, directOnly = false, bodies = false, since = false): Database.Statement {
    const shape = `${r.idLt ? 1 : 0}${r.idLte ? 1 : 0}${r.idGt ? 1 : 0}${r.idGte ? 1 : 0}${directOnly ? 'd' : ''}${bodies ? 'b' : ''}${since ? 's' : ''}`;
    let st = this.#ranges.get(shape);
    if (!st) {
      const conds = ['e.feed = @feed'];
      if (directOnly) conds.push('e.origin IS NULL');
      if (since) conds.push('e.sk >= @since');
      if (r.idLt) conds.push('e.sk < @lt');
      if (r.idLte) conds.push('e.sk <= @lte');
      if (r.idGt) conds.push('e.sk > @gt');
      if (r.idGte) conds.push('e.sk >= @gte');
      // With bodies, the page's activities come in the same statement (one B-tree probe per
      // entry) instead of a second lookup by a list of keys.
      st = this.#d.db.prepare(
        bodies
          ? `SELECT e.sk, o.fid AS origin, a.body FROM entries e JOIN activities a ON a.app = @app AND a.sk = e.sk
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
  private pulledOf(feed: number): { id: number; fid: string; since: Buffer | null }[] {
    const now = Date.now();
    if (now - this.#pullServed.at > PULL_COUNT_TTL_MS) this.#pullServed = { count: this.#pullCount.get() as number, at: now };
    const st = this.#pullServed.count <= SCAN_FLAGS_MAX ? this.#pulledByFlags : this.#pulledByFollows;
    return st.all(feed) as { id: number; fid: string; since: Buffer | null }[];
  }

  private rows(feed: number, range: TimelineRange, directOnly = false, app?: number, since: Buffer | null = null): Row[] {
    const params: Record<string, unknown> = { feed, limit: range.limit, offset: range.offset };
    if (app !== undefined) params.app = app;
    if (since !== null) params.since = since;
    if (range.idLt) params.lt = idToSortKey(range.idLt);
    if (range.idLte) params.lte = idToSortKey(range.idLte);
    if (range.idGt) params.gt = idToSortKey(range.idGt);
    if (range.idGte) params.gte = idToSortKey(range.idGte);
    return this.rangeStatement(range, directOnly, app !== undefined, since !== null).all(params) as Row[];
  }

  async readFeed(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]> {
    return this.#d.guard('readFeed', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return [];
      return this.rows(f, range).map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin }));
    });
  }

  async readTimeline(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]> {
    return this.#d.guard('readTimeline', () => this.merged(app, feed, range, false).map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin })));
  }

  async readTimelinePage(app: string, feed: string, range: TimelineRange): Promise<PageEntry[]> {
    return this.#d.guard('readTimelinePage', () =>
      this.merged(app, feed, range, true).map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin, body: r.body! })),
    );
  }

  /** The feed's rows merged with the direct rows of the pull-served feeds it follows. */
  private merged(app: string, feed: string, range: TimelineRange, bodies: boolean): Row[] {
    const f = this.#d.findFeed(app, feed);
    if (f === undefined) return [];
    const a = bodies ? this.#d.appInt(app) : undefined;
    const pulled = this.pulledOf(f);
    if (pulled.length === 0) return this.rows(f, range, false, a);
    // k-way merge: each source is read only as deep as the page needs (offset + limit).
    const window = { ...range, offset: 0, limit: range.offset + range.limit };
    const merged = new Map<string, Row>();
    for (const r of this.rows(f, window, false, a)) merged.set(r.sk.toString('hex'), r);
    for (const p of pulled) {
      // `since`: the follower sees the pulled feed from where its follow's copy would have started.
      for (const r of this.rows(p.id, window, true, a, p.since)) {
        const key = r.sk.toString('hex');
        if (!merged.has(key)) merged.set(key, { ...r, origin: p.fid });
      }
    }
    return [...merged.values()].sort((x, y) => Buffer.compare(y.sk, x.sk)).slice(range.offset, range.offset + range.limit);
  }

  async readGroups(app: string, feed: string, range: GroupRange): Promise<GroupRecord[]> {
    return this.#d.guard('readGroups', () => {
      const f = this.#d.findFeed(app, feed);
      return f === undefined ? [] : this.#groups.read(f, range);
    });
  }

  async groupCounts(app: string, feed: string): Promise<{ unseen: number; unread: number }> {
    return this.#d.guard('groupCounts', () => {
      const f = this.#d.findFeed(app, feed);
      return f === undefined ? { unseen: 0, unread: 0 } : this.#groups.counts(f);
    });
  }

  async entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]> {
    if (ids.length === 0) return [];
    return this.#d.guard('entriesOf', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return [];
      const keys = JSON.stringify(ids.map((id) => idToSortKey(id).toString('hex')));
      const rows = this.#entriesOf.all(f, keys) as Row[];
      return rows.map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin }));
    });
  }
}
