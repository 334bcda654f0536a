import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId } from '../../core/activities/activity-id.js';
import type { GroupRange, GroupRecord, TimelineEntry, TimelineRange, TimelineStore } from '../../ports/timeline-store.js';
import type { SqliteDatabase } from './database.js';
import { SqliteGroups } from './sqlite-groups.js';

interface Row {
  sk: Buffer;
  origin: string | null;
}

/** {@link TimelineStore} on SQLite: a range scan of the (feed, sort key) primary key. */
export class SqliteTimelineStore implements TimelineStore {
  readonly #d: SqliteDatabase;
  readonly #ranges = new Map<string, Database.Statement>();
  readonly #entriesOf: Database.Statement;
  readonly #groups: SqliteGroups;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    this.#groups = new SqliteGroups(d);
    this.#entriesOf = d.db.prepare(
      `SELECT e.sk, o.fid AS origin FROM entries e LEFT JOIN feeds o ON o.id = e.origin
       WHERE e.feed = ? AND e.sk IN (SELECT unhex(value) FROM json_each(?))`,
    );
  }

  /** One prepared statement per combination of bounds (at most 16), built on first use. */
  private rangeStatement(r: TimelineRange): Database.Statement {
    const shape = `${r.idLt ? 1 : 0}${r.idLte ? 1 : 0}${r.idGt ? 1 : 0}${r.idGte ? 1 : 0}`;
    let st = this.#ranges.get(shape);
    if (!st) {
      const conds = ['e.feed = @feed'];
      if (r.idLt) conds.push('e.sk < @lt');
      if (r.idLte) conds.push('e.sk <= @lte');
      if (r.idGt) conds.push('e.sk > @gt');
      if (r.idGte) conds.push('e.sk >= @gte');
      st = this.#d.db.prepare(
        `SELECT e.sk, o.fid AS origin FROM entries e LEFT JOIN feeds o ON o.id = e.origin
         WHERE ${conds.join(' AND ')} ORDER BY e.sk DESC LIMIT @limit OFFSET @offset`,
      );
      this.#ranges.set(shape, st);
    }
    return st;
  }

  async readFeed(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]> {
    return this.#d.guard('readFeed', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return [];
      const params: Record<string, unknown> = { feed: f, limit: range.limit, offset: range.offset };
      if (range.idLt) params.lt = idToSortKey(range.idLt);
      if (range.idLte) params.lte = idToSortKey(range.idLte);
      if (range.idGt) params.gt = idToSortKey(range.idGt);
      if (range.idGte) params.gte = idToSortKey(range.idGte);
      const rows = this.rangeStatement(range).all(params) as Row[];
      return rows.map((r) => ({ id: sortKeyToId(r.sk), origin: r.origin }));
    });
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
