import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId } from '../../core/activities/activity-id.js';
import type { GroupRange, GroupRecord } from '../../ports/group-store.js';
import type { TimelineEntry } from '../../ports/timeline-store.js';
import type { SqliteDatabase } from './database.js';

/** A row of the `groups` table as the group statements select it. */
export interface GroupRow {
  id: number;
  key: string;
  gsk: Buffer;
  verb: string;
  created: number;
  updated: number;
  activity_count: number;
  actors: string;
  seen: number;
  read: number;
}

/**
 * Group reads of aggregated and notification feeds on SQLite. A group is a row of `groups`; its
 * activities are the feed's `entries` whose `grp` is the group's row id. Each feed row keeps the
 * number of groups and of unseen and unread groups, so counts never scan groups. Groups are
 * written by `SqliteGroupStore.writeGroups` (the core computes them).
 */
export class SqliteGroups {
  readonly #d: SqliteDatabase;
  readonly #counts: Database.Statement;
  readonly #position: Database.Statement;
  readonly #pages = new Map<string, Database.Statement>();
  readonly #groupEntries: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#counts = db.prepare('SELECT unseen, unread FROM feeds WHERE id = ?');
    this.#position = db.prepare('SELECT updated, gsk FROM groups WHERE feed = ? AND gsk = ?');
    this.#groupEntries = db.prepare(
      `SELECT grp, sk, origin FROM (
         SELECT e.grp, e.sk, o.fid AS origin, row_number() OVER (PARTITION BY e.grp ORDER BY e.sk DESC) AS rn
         FROM entries e LEFT JOIN feeds o ON o.id = e.origin
         WHERE e.feed = ? AND e.grp IN (SELECT value FROM json_each(?)))
       WHERE rn <= ? ORDER BY grp, sk DESC`,
    );
  }

  counts(feed: number): { unseen: number; unread: number } {
    const r = this.#counts.get(feed) as { unseen: number; unread: number } | undefined;
    return r ?? { unseen: 0, unread: 0 };
  }

  private pageStatement(r: GroupRange): Database.Statement {
    const shape = `${r.idLt ? 1 : 0}${r.idLte ? 1 : 0}${r.idGt ? 1 : 0}${r.idGte ? 1 : 0}`;
    let st = this.#pages.get(shape);
    if (!st) {
      // "Less than" in display order (updated desc, gsk desc) means later in the list.
      const conds = ['feed = @feed'];
      if (r.idLt) conds.push('(updated, gsk) < (@ltU, @ltK)');
      if (r.idLte) conds.push('(updated, gsk) <= (@lteU, @lteK)');
      if (r.idGt) conds.push('(updated, gsk) > (@gtU, @gtK)');
      if (r.idGte) conds.push('(updated, gsk) >= (@gteU, @gteK)');
      st = this.#d.db.prepare(
        `SELECT * FROM groups WHERE ${conds.join(' AND ')} ORDER BY updated DESC, gsk DESC LIMIT +@limit OFFSET @offset`,
      );
      this.#pages.set(shape, st);
    }
    return st;
  }

  /** A page of groups with their newest `perGroup` entries: two queries. */
  read(feed: number, r: GroupRange): GroupRecord[] {
    const params: Record<string, unknown> = { feed, limit: r.limit, offset: r.offset };
    for (const [name, id] of [['lt', r.idLt], ['lte', r.idLte], ['gt', r.idGt], ['gte', r.idGte]] as const) {
      if (!id) continue;
      const pos = this.#position.get(feed, idToSortKey(id)) as { updated: number; gsk: Buffer } | undefined;
      if (!pos) return []; // a bound naming a group that no longer exists selects nothing
      params[name + 'U'] = pos.updated;
      params[name + 'K'] = pos.gsk;
    }
    const rows = this.pageStatement(r).all(params) as GroupRow[];
    if (rows.length === 0) return [];
    const byGroup = new Map<number, TimelineEntry[]>(rows.map((g) => [g.id, []]));
    const entries = this.#groupEntries.all(feed, JSON.stringify(rows.map((g) => g.id)), r.perGroup) as {
      grp: number;
      sk: Buffer;
      origin: string | null;
    }[];
    for (const e of entries) byGroup.get(e.grp)?.push({ id: sortKeyToId(e.sk), origin: e.origin });
    return rows.map((g) => ({
      id: sortKeyToId(g.gsk),
      key: g.key,
      verb: g.verb,
      activityCount: g.activity_count,
      actorCount: (JSON.parse(g.actors) as string[]).length,
      createdUs: g.created,
      updatedUs: g.updated,
      seen: g.seen === 1,
      read: g.read === 1,
      entries: byGroup.get(g.id) ?? [],
    }));
  }
}
