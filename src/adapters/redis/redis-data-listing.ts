import type { ActivityRecord } from '../../ports/activity-store.js';
import type { AuditEntry } from '../../ports/audit-log.js';
import type { EntryRecord } from '../../ports/collection-store.js';
import type { FileRecord } from '../../ports/file-index.js';
import type { FlagRecord } from '../../ports/flag-store.js';
import type { HiddenActivity, HiddenPlacement } from '../../ports/seen-store.js';
import type { DataListing, FollowEdge, ListPage } from '../../ports/data-listing.js';
import type { ReactionRecord } from '../../ports/reaction-store.js';
import type { UserRecord } from '../../ports/user-store.js';
import type { RedisConnection } from './connection.js';
import { partitionBase, PARTITIONS } from './partitions.js';
import type { RedisIntentQueue } from './redis-intent-queue.js';
import { reactionRecord } from './redis-reaction-store.js';
import type { RedisUsersCollections } from './redis-users-collections.js';

/** `*`, `?`, `[`, `]` and `\` matched as themselves in a SCAN pattern. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * {@link DataListing} on Redis.
 *
 * - Activities, follow edges and reactions live in the 16 write partitions (`a:<app>`, `e:<app>`,
 *   `r:<app>` with `rp:<app>` and `rd:<app>` beside it): a listing
 *   walks them one after the other with `HSCAN`; the cursor is `<partition>:<HSCAN cursor>`.
 * - Users and collection entries are one hash each in their own slot, with no index of all of
 *   them: the listing walks every master's keyspace with `SCAN … MATCH <prefix>{<app>|u|*}:usr`
 *   (or `…|o|*}:obj`); the cursor is `<master>:<SCAN cursor>`, masters in `host:port` order. The
 *   masters must stay the same during a listing (no failover or resharding meanwhile).
 *
 * - Feeds: `SCAN … MATCH <prefix>{<app>|f|*}:*` over every master, keeping the keys of what a
 *   feed holds of its own (`tl` entries, `g…` groups, `hid` hidden ids, `fl` floor, `pf` the
 *   pull-served flag); a feed with several such keys is listed once per key. Users' hides
 *   (`{<app>|u|*}:hid`, one hash per user) the same way.
 * - The app's own records sit in its slot: profiles (`{<app>}:prof:<user>`, found with `SCAN`),
 *   the file index (`files:e`, `HSCAN`), the audit log and flags (`audit:all` and `flags:all`,
 *   sorted by their sequence: range reads after the cursor's sequence).
 *
 * `HSCAN` and `SCAN` may return an element twice when the hash or keyspace is resized between two
 * pages (see {@link DataListing}). Reads only: never used on a request path.
 */
export class RedisDataListing implements DataListing {
  readonly #r: RedisConnection;
  readonly #activities: RedisIntentQueue;
  readonly #users: RedisUsersCollections;

  constructor(r: RedisConnection, activities: RedisIntentQueue, users: RedisUsersCollections) {
    this.#r = r;
    this.#activities = activities;
    this.#users = users;
  }

  /** HSCANs the partitions' `<what>:<app>` hashes from `cursor` until about `limit` fields. */
  async #partitions(what: string, app: string, cursor: string | null, limit: number, keep: (field: string) => boolean): Promise<{ fields: { part: number; field: string; value: string }[]; next: string | null }> {
    let [part, at] = cursor === null ? [0, '0'] : [Number(cursor.slice(0, cursor.indexOf(':'))), cursor.slice(cursor.indexOf(':') + 1)];
    const fields: { part: number; field: string; value: string }[] = [];
    while (part < PARTITIONS && fields.length < limit) {
      const [next, flat] = await this.#r.cluster.hscan(`${partitionBase(this.#r.keys, part)}${what}:${app}`, at, 'COUNT', Math.max(10, limit));
      for (let i = 0; i + 1 < flat.length; i += 2) if (keep(flat[i])) fields.push({ part, field: flat[i], value: flat[i + 1] });
      if (next === '0') {
        part++;
        at = '0';
      } else {
        at = next;
      }
    }
    return { fields, next: part >= PARTITIONS ? null : `${part}:${at}` };
  }

  /** SCANs the masters for keys matching `pattern` from `cursor` until about `limit` keys. */
  async #scan(pattern: string, cursor: string | null, limit: number): Promise<{ keys: string[]; next: string | null }> {
    const masters = this.#r.cluster.nodes('master').sort((x, y) => {
      const a = `${x.options.host}:${x.options.port}`;
      const b = `${y.options.host}:${y.options.port}`;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    let [node, at] = cursor === null ? [0, '0'] : [Number(cursor.slice(0, cursor.indexOf(':'))), cursor.slice(cursor.indexOf(':') + 1)];
    const keys: string[] = [];
    while (node < masters.length && keys.length < limit) {
      const [next, found] = await masters[node].scan(at, 'MATCH', pattern, 'COUNT', Math.max(100, limit * 4));
      keys.push(...found);
      if (next === '0') {
        node++;
        at = '0';
      } else {
        at = next;
      }
    }
    return { keys, next: node >= masters.length ? null : `${node}:${at}` };
  }

  async activities(app: string, cursor: string | null, limit: number): Promise<ListPage<ActivityRecord>> {
    const { fields, next } = await this.#partitions('a', app, cursor, limit, (f) => !f.endsWith('/h'));
    const found = await this.#activities.getActivities(app, fields.map((f) => f.field));
    return { items: fields.flatMap((f) => found.get(f.field) ?? []), next };
  }

  async follows(app: string, cursor: string | null, limit: number): Promise<ListPage<FollowEdge>> {
    const { fields, next } = await this.#partitions('e', app, cursor, limit, () => true);
    const items = fields.map(({ field, value: json }) => {
      const cut = field.indexOf('\n');
      const e = JSON.parse(json) as { c: number; g: boolean; s: string | null };
      return { source: field.slice(0, cut), target: field.slice(cut + 1), createdUs: e.c, grouped: e.g, since: e.s === null ? null : { id: e.s } };
    });
    return { items, next };
  }

  async reactions(app: string, cursor: string | null, limit: number): Promise<ListPage<ReactionRecord>> {
    const { fields, next } = await this.#partitions('r', app, cursor, limit, () => true);
    const items = await Promise.all(
      fields.map(async ({ part, field: id, value: core }) => {
        const base = partitionBase(this.#r.keys, part);
        const [payload, deleted] = await Promise.all([this.#r.cluster.hget(`${base}rp:${app}`, id), this.#r.cluster.hget(`${base}rd:${app}`, id)]);
        return reactionRecord(core, payload ?? '{}', deleted ?? '');
      }),
    );
    return { items, next };
  }

  async users(app: string, cursor: string | null, limit: number): Promise<ListPage<UserRecord>> {
    const head = this.#r.keys.user(app, '', '').slice(0, -2); // '<prefix>{<app>|u|'
    const { keys, next } = await this.#scan(`${escapeGlob(head)}*}:usr`, cursor, limit);
    const ids = keys.map((k) => k.slice(head.length, -'}:usr'.length));
    const found = await this.#users.getUsers(app, ids);
    return { items: ids.flatMap((id) => found.get(id) ?? []), next };
  }

  async entries(app: string, cursor: string | null, limit: number): Promise<ListPage<EntryRecord>> {
    const head = this.#r.keys.object(app, '', '', '').slice(0, -3); // '<prefix>{<app>|o|'
    const { keys, next } = await this.#scan(`${escapeGlob(head)}*}:obj`, cursor, limit);
    // `<collection>:<id>`: collection names hold no ':'.
    const refs = keys.map((k) => {
      const name = k.slice(head.length, -'}:obj'.length);
      const cut = name.indexOf(':');
      return { collection: name.slice(0, cut), id: name.slice(cut + 1) };
    });
    const found = await this.#users.getEntries(app, refs);
    return { items: refs.flatMap((r) => found.get(`${r.collection}:${r.id}`) ?? []), next };
  }

  async feeds(app: string, cursor: string | null, limit: number): Promise<ListPage<string>> {
    const head = this.#r.keys.feed(app, '', '').slice(0, -2); // '<prefix>{<app>|f|'
    const { keys, next } = await this.#scan(`${escapeGlob(head)}*`, cursor, limit);
    const feeds = new Set<string>();
    for (const k of keys) {
      const rest = k.slice(head.length);
      const cut = rest.lastIndexOf('}:');
      if (cut < 0) continue;
      const what = rest.slice(cut + 2);
      if (what === 'tl' || what === 'hid' || what === 'fl' || what === 'pf' || what.startsWith('g')) feeds.add(rest.slice(0, cut));
    }
    return { items: [...feeds], next };
  }

  async hiddenActivities(app: string, cursor: string | null, limit: number): Promise<ListPage<HiddenActivity & { readonly user: string }>> {
    const head = this.#r.keys.user(app, '', '').slice(0, -2); // '<prefix>{<app>|u|'
    const { keys, next } = await this.#scan(`${escapeGlob(head)}*}:hid`, cursor, limit);
    const all = await Promise.all(keys.map((k) => this.#r.cluster.hgetall(k)));
    const items = keys.flatMap((k, i) =>
      Object.entries(all[i]).map(([activityId, json]) => {
        const h = JSON.parse(json) as { hiddenUs: number; placements: HiddenPlacement[] };
        return { user: k.slice(head.length, -'}:hid'.length), activityId, hiddenUs: h.hiddenUs, placements: h.placements };
      }),
    );
    return { items, next };
  }

  async profileUsers(app: string, cursor: string | null, limit: number): Promise<ListPage<string>> {
    const head = this.#r.keys.app(app, 'prof:');
    const { keys, next } = await this.#scan(`${escapeGlob(head)}*`, cursor, limit);
    return { items: keys.map((k) => k.slice(head.length)), next };
  }

  async files(app: string, cursor: string | null, limit: number): Promise<ListPage<FileRecord>> {
    const at = cursor ?? '0';
    const [next, flat] = await this.#r.cluster.hscan(this.#r.keys.app(app, 'files:e'), at, 'COUNT', Math.max(10, limit));
    const items: FileRecord[] = [];
    for (let i = 1; i < flat.length; i += 2) items.push(JSON.parse(flat[i]) as FileRecord);
    return { items, next: next === '0' ? null : next };
  }

  /** `<what>:all` (members by sequence) after the cursor's sequence, with their records from `<what>:e`. */
  async #sequence(app: string, what: string, cursor: string | null, limit: number): Promise<{ records: string[]; next: string | null }> {
    const rows = await this.#r.cluster.zrangebyscore(this.#r.keys.app(app, `${what}:all`), `(${Number(cursor ?? 0)}`, '+inf', 'WITHSCORES', 'LIMIT', 0, limit);
    const members: string[] = [];
    for (let i = 0; i < rows.length; i += 2) members.push(rows[i]);
    const records = members.length === 0 ? [] : await this.#r.cluster.hmget(this.#r.keys.app(app, `${what}:e`), ...members);
    return { records: records.flatMap((r) => (r === null ? [] : [r])), next: members.length < limit ? null : rows[rows.length - 1] };
  }

  async audit(app: string, cursor: string | null, limit: number): Promise<ListPage<AuditEntry>> {
    const { records, next } = await this.#sequence(app, 'audit', cursor, limit);
    return { items: records.map((r) => JSON.parse(r) as AuditEntry), next };
  }

  async flags(app: string, cursor: string | null, limit: number): Promise<ListPage<FlagRecord>> {
    const { records, next } = await this.#sequence(app, 'flags', cursor, limit);
    return { items: records.map((r) => JSON.parse(r) as FlagRecord), next };
  }
}
