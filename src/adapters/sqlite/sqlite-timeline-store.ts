import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId } from '../../core/activities/activity-id.js';
import type { GroupRange, GroupRecord } from '../../ports/group-store.js';
import type { TimelineEntry } from '../../ports/timeline-store.js';
import type { SqliteDatabase } from './database.js';
import { SqliteGroups } from './sqlite-groups.js';

interface Row {
  sk: Buffer;
  origin: string | null;
}

/** A pull-served feed a reader follows: its integer, name, flat entry count and `since` bound. */
export interface Pulled {
  id: number;
  fid: string;
  n: number;
  since: Buffer | null;
}

/** How long the count of pull-served feeds is reused before counting again. */
const PULL_COUNT_TTL_MS = 1000;
/** Up to this many pull-served feeds, reads find the ones a feed follows by walking the flags. */
const SCAN_FLAGS_MAX = 256;

/**
 * Feed reads on SQLite that the port adapters (`sqlite-feed-stores.ts`) share: the pull-served
 * feeds a reader follows, a feed's entries by id, and the group pages of aggregated and
 * notification feeds.
 */
export class SqliteTimelineStore {
  readonly #d: SqliteDatabase;
  readonly #entriesOf: Database.Statement;
  readonly #pulledByFollows: Database.Statement;
  readonly #pulledByFlags: Database.Statement;
  readonly #pullCount: Database.Statement;
  /** How many feeds are pull-served (all apps), and when that was counted (ms). */
  #pullServed = { count: 0, at: -Infinity };
  /** The store's change mark at which no feed was pull-served (null: not known). */
  #nonePulledAt: string | null = null;
  readonly #groups: SqliteGroups;

  /** `groups` is shared with the other stores of the same database (one set of statements). */
  constructor(d: SqliteDatabase, groups: SqliteGroups = new SqliteGroups(d)) {
    this.#d = d;
    this.#groups = groups;
    // A feed's count is `n` plus its recent entries (see SqliteTimelines).
    // Two plans for "the pull-served feeds this feed follows": walking the reader's follows costs
    // one lookup per followed feed (a reader following 5,000 feeds: ~0.5 ms on every read);
    // walking the pull-served feeds costs one probe per such feed, and there are few of them.
    this.#pulledByFollows = d.db.prepare(
      'SELECT t.id, t.fid, t.n + (SELECT count(*) FROM recent_entries r WHERE r.feed = t.id) AS n, f.since FROM follows f JOIN feeds t ON t.id = f.target WHERE f.source = ? AND t.pull = 1',
    );
    // CROSS JOIN fixes the loop order: without it SQLite walks the reader's follows instead.
    this.#pulledByFlags = d.db.prepare(
      `SELECT t.id, t.fid, t.n + (SELECT count(*) FROM recent_entries r WHERE r.feed = t.id) AS n, f.since FROM feeds t INDEXED BY feeds_pull CROSS JOIN follows f ON f.source = ? AND f.target = t.id
       WHERE t.pull = 1`,
    );
    this.#pullCount = d.db.prepare('SELECT count(*) FROM feeds INDEXED BY feeds_pull WHERE pull = 1').pluck();
    // Flat entries are in `entries` or in `recent_entries` (see SqliteTimelines).
    this.#entriesOf = d.db.prepare(
      `SELECT e.sk, o.fid AS origin FROM entries e LEFT JOIN feeds o ON o.id = e.origin
       WHERE e.feed = @feed AND e.sk IN (SELECT unhex(value) FROM json_each(@keys))
       UNION ALL
       SELECT r.sk, o.fid AS origin FROM recent_entries r LEFT JOIN feeds o ON o.id = r.origin
       WHERE r.feed = @feed AND r.sk IN (SELECT unhex(value) FROM json_each(@keys))`,
    );
  }

  /**
   * The pull-served feeds `feed` follows. Both plans give the same answer; the count that picks
   * one may be a second old (another process may have flagged a feed since), which only costs
   * speed. Flags never clear, so the count only grows. A count of none is trusted only until the
   * store's change mark moves (see below), since it decides the answer.
   */
  pulledOf(feed: number): Pulled[] {
    // While no feed is pull-served (every feed below the pull threshold, the usual case) a read
    // needs no statement to know it follows none: a feed only becomes pull-served by a write, and
    // any write, by any process, moves the store's change mark. The mark is read before the count,
    // so a write landing in between moves it again and is counted at the next read.
    const mark = this.#d.changeMark();
    if (mark === this.#nonePulledAt) return [];
    const now = Date.now();
    if (now - this.#pullServed.at > PULL_COUNT_TTL_MS || this.#pullServed.count === 0) this.#pullServed = { count: this.#pullCount.get() as number, at: now };
    if (this.#pullServed.count === 0) {
      this.#nonePulledAt = mark;
      return [];
    }
    this.#nonePulledAt = null;
    const st = this.#pullServed.count <= SCAN_FLAGS_MAX ? this.#pulledByFlags : this.#pulledByFollows;
    return st.all(feed) as Pulled[];
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
      const rows = this.#entriesOf.all({ feed: f, keys }) as Row[];
      return rows.map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin }));
    });
  }
}
