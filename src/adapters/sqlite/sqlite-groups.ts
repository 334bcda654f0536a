import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyToId, timeOfId } from '../../core/activities/activity-id.js';
import type { GroupRange, GroupRecord } from '../../ports/group-store.js';
import type { TimelineEntry } from '../../ports/timeline-store.js';
import type { GroupMarks, GroupPlacement } from '../../ports/write-store.js';
import type { SqliteDatabase } from './database.js';

/** Distinct actors remembered per group for `actor_count`; beyond this the count stops growing. */
export const MAX_ACTORS_TRACKED = 1000;

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
 * Aggregated and notification feeds on SQLite. A group is a row of `groups`; its activities are
 * the feed's `entries` whose `grp` is the group's row id. Each feed row keeps the number of
 * groups and of unseen and unread groups, so counts never scan groups. Called inside the write
 * store's transaction for writes.
 */
export class SqliteGroups {
  readonly #d: SqliteDatabase;
  readonly #byKey: Database.Statement;
  readonly #byRowId: Database.Statement;
  readonly #entryExists: Database.Statement;
  readonly #insertEntry: Database.Statement;
  readonly #insertGroup: Database.Statement;
  readonly #updateGroup: Database.Statement;
  readonly #deleteGroup: Database.Statement;
  readonly #deleteGroupEntries: Database.Statement;
  readonly #feedCounters: Database.Statement;
  readonly #addCounters: Database.Statement;
  readonly #retained: Database.Statement;
  readonly #trimGroup: Database.Statement;
  readonly #groupBounds: Database.Statement;
  readonly #oldestGroups: Database.Statement;
  readonly #groupActors: Database.Statement;
  readonly #newestVerb: Database.Statement;
  readonly #markAllSeen: Database.Statement;
  readonly #markAllRead: Database.Statement;
  readonly #markSeen: Database.Statement;
  readonly #markRead: Database.Statement;
  readonly #counts: Database.Statement;
  readonly #resetCounts: Database.Statement;
  readonly #position: Database.Statement;
  readonly #pages = new Map<string, Database.Statement>();
  readonly #groupEntries: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#byKey = db.prepare('SELECT * FROM groups WHERE feed = ? AND key = ?');
    this.#byRowId = db.prepare('SELECT * FROM groups WHERE id = ?');
    this.#entryExists = db.prepare('SELECT 1 FROM entries WHERE feed = ? AND sk = ?').pluck();
    this.#insertEntry = db.prepare('INSERT INTO entries (feed, sk, origin, grp) VALUES (?, ?, ?, ?)');
    this.#insertGroup = db.prepare(
      `INSERT INTO groups (feed, key, gsk, verb, created, updated, activity_count, actors)
       VALUES (?, ?, ?, ?, ?, ?, 1, ?) RETURNING id`,
    ).pluck();
    this.#updateGroup = db.prepare(
      `UPDATE groups SET verb = @verb, created = @created, updated = @updated, activity_count = @activity_count,
       actors = @actors, seen = @seen, read = @read WHERE id = @id`,
    );
    this.#deleteGroup = db.prepare('DELETE FROM groups WHERE id = ?');
    this.#deleteGroupEntries = db.prepare('DELETE FROM entries WHERE feed = ? AND grp = ?');
    this.#feedCounters = db.prepare('SELECT ngroups, unseen, unread FROM feeds WHERE id = ?');
    this.#addCounters = db.prepare('UPDATE feeds SET ngroups = ngroups + ?, unseen = unseen + ?, unread = unread + ? WHERE id = ?');
    this.#retained = db.prepare('SELECT count(*) FROM entries WHERE feed = ? AND grp = ?').pluck();
    this.#trimGroup = db.prepare(
      `DELETE FROM entries WHERE feed = @feed AND sk IN
       (SELECT sk FROM entries WHERE feed = @feed AND grp = @grp ORDER BY sk LIMIT @excess)`,
    );
    this.#groupBounds = db.prepare(
      'SELECT min(sk) AS oldest, max(sk) AS newest, count(*) AS n FROM entries WHERE feed = ? AND grp = ?',
    );
    this.#oldestGroups = db.prepare('SELECT * FROM groups WHERE feed = ? ORDER BY updated, gsk LIMIT ?');
    this.#groupActors = db
      .prepare(
        `SELECT DISTINCT json_extract(a.body, '$.actor') FROM entries e JOIN activities a ON a.app = ? AND a.sk = e.sk
         WHERE e.feed = ? AND e.grp = ? LIMIT ${MAX_ACTORS_TRACKED}`,
      )
      .pluck();
    this.#newestVerb = db
      .prepare(
        `SELECT json_extract(a.body, '$.verb') FROM entries e JOIN activities a ON a.app = ? AND a.sk = e.sk
         WHERE e.feed = ? AND e.grp = ? ORDER BY e.sk DESC LIMIT 1`,
      )
      .pluck();
    this.#markAllSeen = db.prepare('UPDATE groups SET seen = 1 WHERE feed = ? AND seen = 0');
    this.#markAllRead = db.prepare('UPDATE groups SET seen = 1, read = 1 WHERE feed = ? AND (read = 0 OR seen = 0)');
    this.#markSeen = db.prepare('UPDATE groups SET seen = 1 WHERE feed = ? AND gsk = ? AND seen = 0');
    this.#markRead = db.prepare('UPDATE groups SET read = 1 WHERE feed = ? AND gsk = ? AND read = 0');
    this.#counts = db.prepare('SELECT unseen, unread FROM feeds WHERE id = ?');
    this.#resetCounts = db.prepare('UPDATE feeds SET unseen = ?, unread = coalesce(?, unread) WHERE id = ?');
    this.#position = db.prepare('SELECT updated, gsk FROM groups WHERE feed = ? AND gsk = ?');
    this.#groupEntries = db.prepare(
      `SELECT grp, sk, origin FROM (
         SELECT e.grp, e.sk, o.fid AS origin, row_number() OVER (PARTITION BY e.grp ORDER BY e.sk DESC) AS rn
         FROM entries e LEFT JOIN feeds o ON o.id = e.origin
         WHERE e.feed = ? AND e.grp IN (SELECT value FROM json_each(?)))
       WHERE rn <= ? ORDER BY grp, sk DESC`,
    );
  }

  /** Puts one activity into its group (creating the group), keeping all limits. Returns 1 if added. */
  place(app: string, feed: number, id: string, origin: number | null, g: GroupPlacement): number {
    const sk = idToSortKey(id);
    if (this.#entryExists.get(feed, sk) !== undefined) return 0; // idempotent replay
    const row = this.#byKey.get(feed, g.key) as GroupRow | undefined;
    if (!row) {
      const gsk = this.freeGroupKey(feed, sk, g.key);
      const gid = this.#insertGroup.get(feed, g.key, gsk, g.verb, g.timeUs, g.timeUs, JSON.stringify([g.actor])) as number;
      this.#insertEntry.run(feed, sk, origin, gid);
      this.#addCounters.run(1, 1, 1, feed);
      const counters = this.#feedCounters.get(feed) as { ngroups: number };
      if (counters.ngroups > g.maxGroups) this.dropOldest(feed, counters.ngroups - g.maxGroups);
      return 1;
    }
    this.#insertEntry.run(feed, sk, origin, row.id);
    const actors = JSON.parse(row.actors) as string[];
    if (actors.length < MAX_ACTORS_TRACKED && !actors.includes(g.actor)) actors.push(g.actor);
    const newer = g.timeUs >= row.updated;
    let created = Math.min(row.created, g.timeUs);
    const retained = this.#retained.get(feed, row.id) as number;
    if (retained > g.maxPerGroup) {
      this.#trimGroup.run({ feed, grp: row.id, excess: retained - g.maxPerGroup });
      const b = this.#groupBounds.get(feed, row.id) as { oldest: Buffer };
      created = timeOfId(sortKeyToId(b.oldest));
    }
    this.#updateGroup.run({
      id: row.id,
      verb: newer ? g.verb : row.verb,
      created,
      updated: Math.max(row.updated, g.timeUs),
      activity_count: row.activity_count + 1,
      actors: JSON.stringify(actors),
      seen: 0,
      read: 0,
    });
    // A marked group that receives an activity becomes unseen and unread again.
    this.#addCounters.run(0, row.seen, row.read, feed);
    return 1;
  }

  /**
   * The id of a new group: the id of the activity creating it, unless a group of this feed already
   * has that id. That happens when the activity that created a group was removed (the group lives
   * on with its other activities) and is added again with content that puts it in another group.
   * Then the id keeps the activity's time and clock sequence and takes a node derived from the key.
   */
  private freeGroupKey(feed: number, sk: Buffer, key: string): Buffer {
    if (this.#position.get(feed, sk) === undefined) return sk;
    for (let i = 0; ; i++) {
      const alt = Buffer.from(sk);
      createHash('sha1').update(`${key}\u0000${i}`).digest().copy(alt, 10, 0, 6);
      if (this.#position.get(feed, alt) === undefined) return alt;
    }
  }

  private dropOldest(feed: number, count: number): void {
    for (const r of this.#oldestGroups.all(feed, count) as GroupRow[]) this.dropGroup(feed, r);
  }

  private dropGroup(feed: number, r: GroupRow): void {
    this.#deleteGroupEntries.run(feed, r.id);
    this.#deleteGroup.run(r.id);
    this.#addCounters.run(-1, r.seen ? 0 : -1, r.read ? 0 : -1, feed);
  }

  /**
   * Brings groups up to date after some of their entries were deleted (`removed` = how many
   * per group row id): counts, times, verb and actors; empty groups are dropped.
   */
  afterRemoval(app: string, feed: number, removed: Map<number, number>): void {
    const a = this.#d.appInt(app);
    for (const [gid, n] of removed) {
      const row = this.#byRowId.get(gid) as GroupRow | undefined;
      if (!row) continue;
      const b = this.#groupBounds.get(feed, gid) as { oldest: Buffer | null; newest: Buffer | null; n: number };
      if (b.n === 0 || !b.oldest || !b.newest) {
        this.dropGroup(feed, row);
        continue;
      }
      const actors = this.#groupActors.all(a, feed, gid) as string[];
      this.#updateGroup.run({
        id: gid,
        verb: (this.#newestVerb.get(a, feed, gid) as string | undefined) ?? row.verb,
        created: timeOfId(sortKeyToId(b.oldest)),
        updated: timeOfId(sortKeyToId(b.newest)),
        activity_count: Math.max(b.n, row.activity_count - n),
        actors: JSON.stringify(actors),
        seen: row.seen,
        read: row.read,
      });
    }
  }

  /** Applies marks; `read` implies `seen` (§23.3). Unknown group ids are ignored. */
  mark(feed: number, m: GroupMarks): void {
    if (m.read === 'all') {
      this.#markAllRead.run(feed);
      this.#resetCounts.run(0, 0, feed);
      return;
    }
    if (m.seen === 'all') {
      this.#markAllSeen.run(feed);
      this.#resetCounts.run(0, null, feed);
    }
    const seen = new Set<string>(Array.isArray(m.seen) ? m.seen : []);
    const read = Array.isArray(m.read) ? m.read : [];
    for (const id of read) seen.add(id);
    let unseen = 0;
    let unread = 0;
    if (m.seen !== 'all') for (const id of seen) unseen += this.#markSeen.run(feed, idToSortKey(id)).changes;
    for (const id of read) unread += this.#markRead.run(feed, idToSortKey(id)).changes;
    if (unseen || unread) this.#addCounters.run(0, -unseen, -unread, feed);
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
        `SELECT * FROM groups WHERE ${conds.join(' AND ')} ORDER BY updated DESC, gsk DESC LIMIT @limit OFFSET @offset`,
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
