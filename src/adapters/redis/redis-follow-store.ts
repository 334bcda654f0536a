import { idAtTime } from '../../core/activities/activity-id.js';
import type { FollowWrite } from '../../ports/intent-queue.js';
import type { Follower, FollowEdge, FollowerPage, FollowStore, PullSource } from '../../ports/follow-store.js';
import type { RedisConnection } from './connection.js';
import { partitionBase, partitionOf } from './partitions.js';
import { LuaScript } from './scripts.js';

/**
 * {@link FollowStore} on Redis.
 *
 * An edge is written in its step's partition (the partition of its source feed): the hash
 * `e:<app>` of the partition maps `source\ntarget` to the edge (`{"c":created,"g":grouped,"s":since}`),
 * the first edge kept. That is the edge's truth, acknowledged with the step. Right after the step
 * (and again by a worker's claim if the writer died: see {@link RedisIntentQueue}), the two feeds'
 * indexes are made to agree with the truth, each one script on its feed's slot:
 *
 * - target `{<app>|f|<target>}`: `fw` (followers, lex order: follower pages with a cursor), `fwg`
 *   (grouped followers only), `fwt` (followers by follow time: listings), `fwc` (follower count per
 *   slug), `pf` (the feed is pull-served, set once and never cleared).
 * - source `{<app>|f|<source>}`: `fg` (targets by follow time), `fgs` (target → since bound),
 *   `fgc` (following count per slug), `pl` (the pull-served targets with their since bound: the
 *   per-reader index of pulled sources).
 *
 * Syncing reads the truth again after writing the indexes and repeats when it moved, so a follow
 * and an unfollow of one edge racing in two processes leave the indexes as the later one.
 * Marking a feed pull-served sets `pf`, then walks its followers (pipelined) and adds it to each
 * follower's `pl` (a script that adds only while the follower's `fg` holds the edge).
 */

const TARGET_SYNC = `
local b = KEYS[1]
local source, edge, created, grouped, slug = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if edge ~= '' then
  if redis.call('ZADD', b .. 'fw', 0, source) == 1 then redis.call('HINCRBY', b .. 'fwc', slug, 1) end
  redis.call('ZADD', b .. 'fwt', created, source)
  if grouped == '1' then redis.call('ZADD', b .. 'fwg', 0, source) else redis.call('ZREM', b .. 'fwg', source) end
else
  if redis.call('ZREM', b .. 'fw', source) == 1 then redis.call('HINCRBY', b .. 'fwc', slug, -1) end
  redis.call('ZREM', b .. 'fwt', source)
  redis.call('ZREM', b .. 'fwg', source)
end
return redis.call('EXISTS', b .. 'pf')
`;

const SOURCE_SYNC = `
local b = KEYS[1]
local target, edge, created, slug, pulled, since = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if edge ~= '' then
  if redis.call('ZADD', b .. 'fg', created, target) == 1 then redis.call('HINCRBY', b .. 'fgc', slug, 1) end
  redis.call('HSET', b .. 'fgs', target, since)
  if pulled == '1' then redis.call('HSET', b .. 'pl', target, since) end
else
  if redis.call('ZREM', b .. 'fg', target) == 1 then redis.call('HINCRBY', b .. 'fgc', slug, -1) end
  redis.call('HDEL', b .. 'fgs', target)
  redis.call('HDEL', b .. 'pl', target)
end
return 0
`;

// Adds a pull-served target to a follower's pulled sources, only while the follower follows it.
const PULL_ADD = `
local b = KEYS[1]
local since = redis.call('HGET', b .. 'fgs', ARGV[1])
if since then redis.call('HSET', b .. 'pl', ARGV[1], since) end
return 0
`;

const GROUPED_SYNC = `
local b = KEYS[1]
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '1' then redis.call('ZADD', b .. 'fwg', 0, ARGV[i]) else redis.call('ZREM', b .. 'fwg', ARGV[i]) end
end
return 0
`;

const slugOf = (feed: string) => feed.slice(0, Math.max(0, feed.indexOf(':')));

/** The stored form of an edge (the partition's truth). */
export function edgeJson(f: FollowWrite): string {
  const since = f.since === null ? null : 'id' in f.since ? f.since.id : idAtTime(f.since.timeUs);
  return JSON.stringify({ c: f.createdUs, g: f.grouped, s: since });
}

interface StoredEdge {
  readonly c: number;
  readonly g: boolean;
  readonly s: string | null;
}

export class RedisFollowStore implements FollowStore {
  readonly #r: RedisConnection;
  readonly #targetSync: LuaScript;
  readonly #sourceSync: LuaScript;
  readonly #pullAdd: LuaScript;
  readonly #groupedSync: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#targetSync = new LuaScript(r.cluster, 'follow_target_sync', TARGET_SYNC);
    this.#sourceSync = new LuaScript(r.cluster, 'follow_source_sync', SOURCE_SYNC);
    this.#pullAdd = new LuaScript(r.cluster, 'follow_pull_add', PULL_ADD);
    this.#groupedSync = new LuaScript(r.cluster, 'follow_grouped_sync', GROUPED_SYNC);
  }

  #feed(app: string, feed: string): string {
    return this.#r.keys.feed(app, feed, '');
  }

  /** The partition key holding edge truths of `source`, and the field of one edge. */
  edgeTruth(app: string, source: string, target: string): { key: string; field: string } {
    return { key: `${partitionBase(this.#r.keys, partitionOf(source))}e:${app}`, field: `${source}\n${target}` };
  }

  /**
   * Makes the indexes of the edge source → target agree with its truth (present or absent).
   * Idempotent; safe to run any number of times, from any process.
   */
  async syncEdge(app: string, source: string, target: string): Promise<void> {
    const truth = this.edgeTruth(app, source, target);
    let edge = await this.#r.cluster.hget(truth.key, truth.field);
    for (let round = 0; round < 5; round++) {
      const e = edge === null ? null : (JSON.parse(edge) as StoredEdge);
      const created = e ? String(e.c) : '0';
      const [[pulled]] = await Promise.all([
        this.#r.write((p) => this.#targetSync.run(p, [this.#feed(app, target)], [source, edge ?? '', created, e?.g ? '1' : '0', slugOf(source)])) as Promise<[number]>,
      ]);
      await this.#r.write((p) => this.#sourceSync.run(p, [this.#feed(app, source)], [target, edge ?? '', created, slugOf(target), pulled === 1 ? '1' : '0', e?.s ?? '']));
      const again = await this.#r.cluster.hget(truth.key, truth.field);
      if (again === edge) return;
      edge = again;
    }
  }

  async followerPage(app: string, target: string, cursor: string | null, limit: number, groupedOnly?: boolean): Promise<FollowerPage> {
    const base = this.#feed(app, target);
    const n = Math.max(0, Math.trunc(limit));
    const from = cursor === null ? '-' : `(${cursor}`;
    const [members, total] = await Promise.all([
      n === 0 ? Promise.resolve([] as string[]) : this.#r.cluster.zrangebylex(`${base}${groupedOnly ? 'fwg' : 'fw'}`, from, '+', 'LIMIT', 0, n),
      this.#r.cluster.zcard(`${base}fw`),
    ]);
    let grouped: (string | null)[] = members.map(() => '0');
    if (!groupedOnly && members.length > 0) grouped = await this.#r.cluster.zmscore(`${base}fwg`, ...members);
    const followers: Follower[] = members.map((feed, i) => ({ feed, grouped: groupedOnly ? true : grouped[i] !== null }));
    return { followers, cursor: members.length < n || members.length === 0 ? null : members[members.length - 1], total };
  }

  async pullSources(app: string, reader: string): Promise<PullSource[]> {
    const pulled = await this.#r.cluster.hgetall(`${this.#feed(app, reader)}pl`);
    const feeds = Object.keys(pulled);
    if (feeds.length === 0) return [];
    const counts = await Promise.all(feeds.map((f) => this.#r.cluster.zcard(this.#r.keys.feed(app, f, 'tl'))));
    return feeds.map((feed, i) => ({ feed, since: pulled[feed] === '' ? null : pulled[feed], count: counts[i] }));
  }

  async pullServed(app: string, feeds: readonly string[]): Promise<Set<string>> {
    const flags = await Promise.all(feeds.map((f) => this.#r.cluster.exists(`${this.#feed(app, f)}pf`)));
    return new Set(feeds.filter((_, i) => flags[i] === 1));
  }

  async markPullServed(app: string, feeds: readonly string[]): Promise<void> {
    await Promise.all(
      [...new Set(feeds)].map(async (feed) => {
        // Recorded as a follow-up operation of the feed's partition first: if this process dies
        // during the walk, a worker's claim walks again (see RedisIntentQueue).
        const base = partitionBase(this.#r.keys, partitionOf(feed));
        const op = `pull\n${app}\n${feed}`;
        await this.#r.write((p) => p.hset(`${base}px`, op, JSON.stringify({ t: 'pull', app, feed })).zadd(`${base}pz`, Date.now(), op));
        await this.pullWalk(app, feed);
        await Promise.all([this.#r.cluster.hdel(`${base}px`, op), this.#r.cluster.zrem(`${base}pz`, op)]);
      }),
    );
  }

  /** Flags `feed` pull-served and adds it to every follower's pulled sources. Idempotent. */
  async pullWalk(app: string, feed: string): Promise<void> {
    const base = this.#feed(app, feed);
    await this.#r.write((p) => p.set(`${base}pf`, '1'));
    let from = '-';
    for (;;) {
      const page = await this.#r.cluster.zrangebylex(`${base}fw`, from, '+', 'LIMIT', 0, 1000);
      if (page.length === 0) break;
      await Promise.all(page.map((s) => this.#pullAdd.run(this.#r.cluster, [this.#feed(app, s)], [feed])));
      if (page.length < 1000) break;
      from = `(${page[page.length - 1]}`;
    }
  }

  /**
   * Sets the grouped mark of every follower edge of the app from the group types. Run at start:
   * it walks the app's follower indexes with SCAN on every master (never on a request path).
   */
  async syncGroupedEdges(app: string, groupedSlugs: readonly string[]): Promise<void> {
    const grouped = new Set(groupedSlugs);
    const match = `${this.#r.keys.feed(app, '*', 'fw')}`;
    const prefix = this.#r.keys.feed(app, '', '');
    const head = prefix.slice(0, prefix.indexOf('}'));
    for (const node of this.#r.cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const close = key.lastIndexOf('}:fw');
          if (close < 0 || !key.startsWith(head)) continue;
          const target = key.slice(head.length, close);
          let from = '-';
          for (;;) {
            const page = await this.#r.cluster.zrangebylex(key, from, '+', 'LIMIT', 0, 1000);
            if (page.length === 0) break;
            const args = page.flatMap((s) => [s, grouped.has(slugOf(s)) ? '1' : '0']);
            await this.#groupedSync.run(this.#r.cluster, [this.#feed(app, target)], args);
            if (page.length < 1000) break;
            from = `(${page[page.length - 1]}`;
          }
        }
      } while (cursor !== '0');
    }
  }

  async followersAmong(app: string, target: string, candidates: readonly string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    const scores = await this.#r.cluster.zmscore(`${this.#feed(app, target)}fw`, ...candidates);
    return [...new Set(candidates.filter((_, i) => scores[i] !== null))];
  }

  async followers(app: string, target: string, limit: number, offset: number): Promise<FollowEdge[]> {
    if (limit <= 0) return [];
    const rows = await this.#r.cluster.zrevrangebyscore(`${this.#feed(app, target)}fwt`, '+inf', '-inf', 'WITHSCORES', 'LIMIT', Math.max(0, offset), limit);
    const out: FollowEdge[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) out.push({ source: rows[i], target, createdUs: Number(rows[i + 1]) });
    return out;
  }

  async following(app: string, source: string, limit: number, offset: number, filter?: readonly string[]): Promise<FollowEdge[]> {
    if (limit <= 0) return [];
    const key = `${this.#feed(app, source)}fg`;
    if (filter && filter.length > 0) {
      const unique = [...new Set(filter)];
      const scores = await this.#r.cluster.zmscore(key, ...unique);
      const edges = unique.flatMap((target, i) => (scores[i] === null ? [] : [{ source, target, createdUs: Number(scores[i]) }]));
      edges.sort((x, y) => y.createdUs - x.createdUs || (x.target < y.target ? 1 : x.target > y.target ? -1 : 0));
      return edges.slice(Math.max(0, offset), Math.max(0, offset) + limit);
    }
    const rows = await this.#r.cluster.zrevrangebyscore(key, '+inf', '-inf', 'WITHSCORES', 'LIMIT', Math.max(0, offset), limit);
    const out: FollowEdge[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) out.push({ source, target: rows[i], createdUs: Number(rows[i + 1]) });
    return out;
  }

  async followCounts(app: string, feed: string, followersSlugs?: readonly string[], followingSlugs?: readonly string[]): Promise<{ followers: number; following: number }> {
    const base = this.#feed(app, feed);
    const sum = (vals: (string | null)[]) => vals.reduce((n, v) => n + Math.max(0, Number(v ?? 0)), 0);
    const [followers, following] = await Promise.all([
      followersSlugs ? (followersSlugs.length === 0 ? 0 : this.#r.cluster.hmget(`${base}fwc`, ...followersSlugs).then(sum)) : this.#r.cluster.zcard(`${base}fw`),
      followingSlugs ? (followingSlugs.length === 0 ? 0 : this.#r.cluster.hmget(`${base}fgc`, ...followingSlugs).then(sum)) : this.#r.cluster.zcard(`${base}fg`),
    ]);
    return { followers, following };
  }
}
