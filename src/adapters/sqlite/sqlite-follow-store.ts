import type Database from 'better-sqlite3';
import type { FollowEdge } from '../../ports/follow-store.js';
import type { SqliteDatabase } from './database.js';

interface EdgeRow {
  source: string;
  target: string;
  created: number;
}

/**
 * Follow-graph reads on SQLite (see `SqliteFollowGraph`, the `FollowStore` port). Reads here
 * see only follow edges and pull flags, which only follows and unfollows change, so they let
 * group-commit batches without either wait (the `graphRead` of {@link SqliteDatabase.guard}).
 */
export class SqliteFollowStore {
  readonly #d: SqliteDatabase;
  readonly #syncGrouped: Database.Statement;
  readonly #pullServed: Database.Statement;
  readonly #followersAmong: Database.Statement;
  readonly #followers: Database.Statement;
  readonly #following: Database.Statement;
  readonly #followingFiltered: Database.Statement;
  readonly #edgesAmong: Database.Statement;
  readonly #countFollowers: Database.Statement;
  readonly #countFollowing: Database.Statement;
  readonly #countFollowersSlugs: Database.Statement;
  readonly #countFollowingSlugs: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#syncGrouped = db.prepare(
      `UPDATE follows SET grouped = g.want FROM (
         SELECT id, (slug IN (SELECT value FROM json_each(@slugs))) AS want FROM feeds WHERE app = @app) AS g
       WHERE follows.source = g.id AND follows.grouped <> g.want`,
    );
    this.#pullServed = db
      .prepare('SELECT fid FROM feeds WHERE app = ? AND pull = 1 AND fid IN (SELECT value FROM json_each(?))')
      .pluck();
    this.#followersAmong = db
      .prepare(
        `SELECT s.fid FROM feeds s JOIN follows f ON f.target = ? AND f.source = s.id
         WHERE s.app = ? AND s.fid IN (SELECT value FROM json_each(?))`,
      )
      .pluck();
    this.#followers = db.prepare(
      `SELECT s.fid AS source, ? AS target, f.created FROM follows f JOIN feeds s ON s.id = f.source
       WHERE f.target = ? ORDER BY f.created DESC, f.source DESC LIMIT +? OFFSET ?`,
    );
    this.#following = db.prepare(
      `SELECT ? AS source, t.fid AS target, f.created FROM follows f JOIN feeds t ON t.id = f.target
       WHERE f.source = ? ORDER BY f.created DESC, f.target DESC LIMIT +? OFFSET ?`,
    );
    this.#followingFiltered = db.prepare(
      `SELECT ? AS source, t.fid AS target, f.created FROM follows f JOIN feeds t ON t.id = f.target
       WHERE f.source = ? AND t.app = ? AND t.fid IN (SELECT value FROM json_each(?))
       ORDER BY f.created DESC, f.target DESC LIMIT +? OFFSET ?`,
    );
    // Pairs as one JSON array of [target, source] feed integers; answers the indexes of the edges.
    this.#edgesAmong = db
      .prepare(
        `SELECT p.key FROM json_each(?) p
         WHERE EXISTS (SELECT 1 FROM follows f WHERE f.target = json_extract(p.value, '$[0]') AND f.source = json_extract(p.value, '$[1]'))`,
      )
      .pluck();
    this.#countFollowers = db.prepare('SELECT count(*) FROM follows WHERE target = ?').pluck();
    this.#countFollowing = db.prepare('SELECT count(*) FROM follows WHERE source = ?').pluck();
    this.#countFollowersSlugs = db
      .prepare(
        `SELECT count(*) FROM follows f JOIN feeds s ON s.id = f.source
         WHERE f.target = ? AND s.slug IN (SELECT value FROM json_each(?))`,
      )
      .pluck();
    this.#countFollowingSlugs = db
      .prepare(
        `SELECT count(*) FROM follows f JOIN feeds t ON t.id = f.target
         WHERE f.source = ? AND t.slug IN (SELECT value FROM json_each(?))`,
      )
      .pluck();
  }

  async pullServed(app: string, feeds: readonly string[]): Promise<Set<string>> {
    if (feeds.length === 0) return new Set();
    return this.#d.read('pullServed', () => this.pullServedNow(app, feeds), true);
  }

  /** Which of `feeds` are pull-served, read now (the caller holds the store's guard). */
  pullServedNow(app: string, feeds: readonly string[]): Set<string> {
    return new Set(this.#pullServed.all(this.#d.appInt(app), JSON.stringify(feeds)) as string[]);
  }

  async syncGroupedEdges(app: string, groupedSlugs: readonly string[]): Promise<void> {
    await this.#d.read('syncGroupedEdges', () => {
      this.#syncGrouped.run({ app: this.#d.appInt(app), slugs: JSON.stringify(groupedSlugs) });
    });
  }

  async followersAmong(app: string, target: string, candidates: readonly string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    return this.#d.read('followersAmong', () => {
      const t = this.#d.findFeed(app, target);
      if (t === undefined) return [];
      return this.#followersAmong.all(t, this.#d.appInt(app), JSON.stringify(candidates)) as string[];
    }, true);
  }

  async followers(app: string, target: string, limit: number, offset: number): Promise<FollowEdge[]> {
    return this.#d.read('followers', () => {
      const t = this.#d.findFeed(app, target);
      if (t === undefined) return [];
      return toEdges(this.#followers.all(target, t, limit, offset) as EdgeRow[]);
    }, true);
  }

  async following(app: string, source: string, limit: number, offset: number, filter?: readonly string[]): Promise<FollowEdge[]> {
    return this.#d.read('following', () => {
      const s = this.#d.findFeed(app, source);
      if (s === undefined) return [];
      const rows = filter && filter.length > 0
        ? this.#followingFiltered.all(source, s, this.#d.appInt(app), JSON.stringify(filter), limit, offset)
        : this.#following.all(source, s, limit, offset);
      return toEdges(rows as EdgeRow[]);
    }, true);
  }

  async edgesAmong(app: string, pairs: readonly (readonly [source: string, target: string])[]): Promise<boolean[]> {
    const out = new Array<boolean>(pairs.length).fill(false);
    if (pairs.length === 0) return out;
    return this.#d.read('edgesAmong', () => {
      // Feeds never written to have no integer and no edges.
      const ints: [number, number][] = [];
      const at: number[] = [];
      for (let i = 0; i < pairs.length; i++) {
        const s = this.#d.findFeed(app, pairs[i][0]);
        if (s === undefined) continue;
        const t = this.#d.findFeed(app, pairs[i][1]);
        if (t === undefined) continue;
        ints.push([t, s]);
        at.push(i);
      }
      if (ints.length > 0) for (const k of this.#edgesAmong.all(JSON.stringify(ints)) as number[]) out[at[k]] = true;
      return out;
    }, true);
  }

  async followCounts(
    app: string,
    feed: string,
    followersSlugs?: readonly string[],
    followingSlugs?: readonly string[],
  ): Promise<{ followers: number; following: number }> {
    return this.#d.read('followCounts', () => {
      const f = this.#d.findFeed(app, feed);
      if (f === undefined) return { followers: 0, following: 0 };
      const followers = followersSlugs
        ? (this.#countFollowersSlugs.get(f, JSON.stringify(followersSlugs)) as number)
        : (this.#countFollowers.get(f) as number);
      const following = followingSlugs
        ? (this.#countFollowingSlugs.get(f, JSON.stringify(followingSlugs)) as number)
        : (this.#countFollowing.get(f) as number);
      return { followers, following };
    }, true);
  }
}

function toEdges(rows: EdgeRow[]): FollowEdge[] {
  return rows.map((r) => ({ source: r.source, target: r.target, createdUs: r.created }));
}
