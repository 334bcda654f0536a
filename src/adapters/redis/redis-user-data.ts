import { idOrderKey } from '../../core/activities/activity-id.js';
import type { ActivityStore } from '../../ports/activity-store.js';
import type { CollectionStore, EntryRef } from '../../ports/collection-store.js';
import type { UserDataIndex } from '../../ports/user-data.js';
import type { RedisConnection } from './connection.js';

/** Index members read per round while paging. */
const BATCH = 500;

/**
 * {@link UserDataIndex} on Redis, over two indexes in the user's slot:
 * - `rv:{<app>|u|<actor>}:acts`: the activities whose `actor` is that text, in id order (members
 *   `<order key><id>`, score 0, read with `ZRANGEBYLEX`), added by a follow-up operation of the
 *   activity's write step (`redis-intent-queue.ts`), so an activity that landed is indexed even
 *   when its writer died right after;
 * - `rv:{<app>|u|<user>}:own`: the collection entries the user owns (`<collection>\n<id>`), added
 *   before the entry is written (`redis-users-collections.ts`).
 *
 * Neither index is trimmed when an activity is erased or re-attributed or an entry deleted or
 * given to someone else, so every page checks its candidates against the stored records and
 * keeps only those that still match. Used by data export and erasure, not on a hot path.
 */
export class RedisUserData implements UserDataIndex {
  readonly #r: RedisConnection;
  readonly #activities: ActivityStore;
  readonly #collections: CollectionStore;

  constructor(r: RedisConnection, activities: ActivityStore, collections: CollectionStore) {
    this.#r = r;
    this.#activities = activities;
    this.#collections = collections;
  }

  async activityIdsByActor(app: string, actor: string, afterId: string | null, limit: number): Promise<string[]> {
    const key = this.#r.keys.user(app, actor, 'acts');
    const out: string[] = [];
    let from = afterId === null ? '-' : `(${idOrderKey(afterId)}${afterId}`;
    while (out.length < limit) {
      const members = await this.#r.cluster.zrangebylex(key, from, '+', 'LIMIT', 0, BATCH);
      if (members.length === 0) break;
      const ids = members.map((m) => m.slice(32));
      const found = await this.#activities.getActivities(app, ids);
      for (const id of ids) {
        const a = found.get(id);
        if (a === undefined || actorOf(a.body) !== actor) continue;
        out.push(id);
        if (out.length === limit) break;
      }
      if (members.length < BATCH) break;
      from = `(${members[members.length - 1]}`;
    }
    return out;
  }

  async entriesOwnedBy(app: string, userId: string, limit: number): Promise<EntryRef[]> {
    const key = this.#r.keys.user(app, userId, 'own');
    const out: EntryRef[] = [];
    let from = '-';
    while (out.length < limit) {
      const members = await this.#r.cluster.zrangebylex(key, from, '+', 'LIMIT', 0, BATCH);
      if (members.length === 0) break;
      const refs = members.map((m) => {
        const cut = m.indexOf('\n');
        return { collection: m.slice(0, cut), id: m.slice(cut + 1) };
      });
      const found = await this.#collections.getEntries(app, refs);
      for (const ref of refs) {
        if (found.get(`${ref.collection}:${ref.id}`)?.userId !== userId) continue;
        out.push(ref);
        if (out.length === limit) break;
      }
      if (members.length < BATCH) break;
      from = `(${members[members.length - 1]}`;
    }
    return out;
  }
}

/** The `actor` of an activity's stored JSON when it is text (what the per-actor index lists), else null. */
export function actorOf(body: string): string | null {
  try {
    const actor = (JSON.parse(body) as { actor?: unknown }).actor;
    return typeof actor === 'string' ? actor : null;
  } catch {
    return null;
  }
}
