import { idToSortKey, isUuid } from '../core/activities/activity-id.js';
import { isPlainObject } from '../core/activities/activity.js';
import { InputError, NotFoundError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { parseFeedId } from '../core/feeds/feed-id.js';
import type { ReactionRecord } from '../ports/reaction-store.js';
import { audit, auditBatch, change } from './audit.js';
import { entryJson } from './collections.js';
import type { Services, Uses } from './context.js';
import type { StoragePorts } from '../ports/storage.js';
import { changeKey } from '../ports/change-marks.js';
import { deleteFiles, type FileServices } from './files.js';
import { unfollow } from './follows.js';
import { deleteReaction, type ReactionChangeDeps } from './reactions.js';
import { removeActivity, type RemoveActivityDeps } from './remove-activity.js';
import { parseUserId, userJson } from './users.js';

/** What a user's data export uses: what the user wrote, found through the per-user index. */
export type DataExportDeps = Uses<'activities' | 'collections' | 'follows' | 'reactions' | 'users', 'userData'>;
/** What erasing a user uses: every storage port, the per-user index, audit and flags. */
export type DataErasureDeps = Uses<keyof StoragePorts, 'audit' | 'changes' | 'clock' | 'fanout' | 'flags' | 'onJobsEnqueued' | 'realtime' | 'userData'>;

/** Items per data-privacy delete request, as for other batch endpoints (§23.2). */
export const MAX_PRIVACY_BATCH = 100;
/** Store page while walking one user's data. */
const PAGE = 1000;

function userDataOf(s: Pick<Services, 'userData'>) {
  if (!s.userData) throw new Error('data privacy needs the user-data index');
  return s.userData;
}

/**
 * Deletes activities everywhere (§18.1): from their home feed (and so from their `to` targets and
 * every follower feed), from each of `remove_from_feeds`, and then their records, so that getting
 * them by id finds nothing. Unknown ids are skipped. Each step is idempotent: a request cut short
 * is finished by sending it again.
 */
export async function deleteActivitiesEverywhere(s: RemoveActivityDeps, app: App, body: unknown): Promise<void> {
  if (!isPlainObject(body) || !Array.isArray(body.activities)) throw new InputError('body must be {"activities": [{"id": "...", "remove_from_feeds": [...]}]}');
  if (body.activities.length > MAX_PRIVACY_BATCH) throw new InputError(`at most ${MAX_PRIVACY_BATCH} activities per request`);
  const items = body.activities.map((it, i) => {
    if (!isPlainObject(it) || typeof it.id !== 'string' || !isUuid(it.id.toLowerCase())) throw new InputError(`activities[${i}].id must be an activity id`);
    const feeds = it.remove_from_feeds ?? [];
    if (!Array.isArray(feeds)) throw new InputError(`activities[${i}].remove_from_feeds must be an array of feed ids`);
    return { id: it.id.toLowerCase(), feeds: feeds.map((f, j) => parseFeedId(f, `activities[${i}].remove_from_feeds[${j}]`)) };
  });
  await eraseActivities(s, app, items);
}

async function eraseActivities(s: RemoveActivityDeps, app: App, items: readonly { id: string; feeds: readonly ReturnType<typeof parseFeedId>[] }[]): Promise<number> {
  if (items.length === 0) return 0;
  const found = await s.ports.activities.getActivities(app.appId, items.map((i) => i.id));
  const erased: string[] = [];
  for (const it of items) {
    const a = found.get(it.id);
    if (!a) continue;
    // An activity created by a full update of a missing id is in no feed (home '').
    const home = a.home === '' ? null : parseFeedId(a.home);
    if (home && app.groups.has(home.slug)) await removeActivity(s, app, home, a.id, false);
    for (const f of it.feeds) if (f.fid !== a.home && app.groups.has(f.slug)) await removeActivity(s, app, f, a.id, false);
    erased.push(a.id);
  }
  if (erased.length > 0) {
    const audit = auditBatch(s, erased.map((id) => change('activity', id, 'erased', '')));
    await s.ports.intents.commit(app.appId, [{ erase: erased, ...(audit ? { audit } : {}) }]);
  }
  return erased.length;
}

/** Deletes reactions for good (§18.1), with their children and target-feed activities; unknown ids are skipped. */
export async function deleteReactionsEverywhere(s: ReactionChangeDeps, app: App, body: unknown): Promise<void> {
  if (!isPlainObject(body) || !Array.isArray(body.ids)) throw new InputError('body must be {"ids": ["<reaction id>", ...]}');
  if (body.ids.length > MAX_PRIVACY_BATCH) throw new InputError(`at most ${MAX_PRIVACY_BATCH} reactions per request`);
  const ids = body.ids.map((id, i) => {
    if (typeof id !== 'string' || id === '' || id.length > 255) throw new InputError(`ids[${i}] must be a reaction id`);
    return id;
  });
  for (const id of ids) await deleteQuietly(s, app, id);
}

async function deleteQuietly(s: ReactionChangeDeps, app: App, id: string): Promise<void> {
  try {
    await deleteReaction(s, app, { kind: 'server' }, id, false);
  } catch (err) {
    // Already gone (or removed with its parent earlier in the same request).
    if (!(err instanceof NotFoundError)) throw err;
  }
}

/** Ids of the activities whose actor is the user (`alice` or `SU:alice`), oldest first. */
async function activityIdsOf(s: Pick<Services, 'userData'>, app: App, userId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const actor of [userId, `SU:${userId}`]) {
    let after: string | null = null;
    for (;;) {
      const page = await userDataOf(s).activityIdsByActor(app.appId, actor, after, PAGE);
      ids.push(...page);
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
  }
  return ids.sort((a, b) => Buffer.compare(idToSortKey(a), idToSortKey(b)));
}

/** The user's reactions (soft-deleted ones too), oldest first. */
async function reactionsOf(s: Uses<'reactions'>, app: App, userId: string): Promise<ReactionRecord[]> {
  const out: ReactionRecord[] = [];
  let gt = { createdUs: -1, id: '' };
  for (;;) {
    const page = await s.ports.reactions.listReactions(app.appId, { lookup: { by: 'user_id', value: userId }, gt, limit: PAGE, includeDeleted: true });
    out.push(...page);
    if (page.length < PAGE) return out;
    const last = page[page.length - 1];
    gt = { createdUs: last.createdUs, id: last.id };
  }
}

/**
 * The ids of everything a user wrote (§18.1): activities whose actor is the user and reactions by
 * the user, each oldest first.
 */
export async function exportIds(s: Uses<'reactions', 'userData'>, app: App, rawUserId: string): Promise<Record<string, unknown>> {
  const userId = parseUserId(rawUserId, 'user_id');
  const [activityIds, reactions] = await Promise.all([activityIdsOf(s, app, userId), reactionsOf(s, app, userId)]);
  return {
    user_id: userId,
    activity_count: activityIds.length,
    reaction_count: reactions.length,
    activity_ids: activityIds,
    reaction_ids: reactions.map((r) => r.id),
  };
}

/** The feeds of a user: one per feed group of the app (`user:alice`, `timeline:alice`, …). */
function feedsOf(app: App, userId: string): string[] {
  return [...app.groups.keys()].map((g) => `${g}:${userId}`);
}

/** Every follow edge from or to one of the user's feeds. */
async function followsOf(s: Uses<'follows'>, app: App, userId: string): Promise<{ source: string; target: string; created_at: number }[]> {
  const out: { source: string; target: string; created_at: number }[] = [];
  const seen = new Set<string>();
  for (const fid of feedsOf(app, userId)) {
    for (const direction of ['following', 'followers'] as const) {
      for (let offset = 0; ; offset += 500) {
        const page = direction === 'following' ? await s.ports.follows.following(app.appId, fid, 500, offset) : await s.ports.follows.followers(app.appId, fid, 500, offset);
        for (const e of page) {
          // An edge between two of the user's own feeds is listed from both ends.
          const key = `${e.source}>${e.target}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ source: e.source, target: e.target, created_at: e.createdUs });
        }
        if (page.length < 500) break;
      }
    }
  }
  return out;
}

/**
 * Everything Rivulet keeps about one user, as one JSON object: the profile, the activities whose
 * actor the user is, the user's reactions, the follows of the user's feeds in both directions,
 * the collection entries and files the user owns.
 */
export async function exportUser(s: DataExportDeps, files: FileServices | undefined, app: App, rawUserId: string): Promise<string> {
  const userId = parseUserId(rawUserId, 'user_id');
  const user = (await s.ports.users.getUsers(app.appId, [userId])).get(userId);
  const activityIds = await activityIdsOf(s, app, userId);
  const bodies: string[] = [];
  for (let i = 0; i < activityIds.length; i += PAGE) {
    const found = await s.ports.activities.getActivities(app.appId, activityIds.slice(i, i + PAGE));
    for (const id of activityIds.slice(i, i + PAGE)) {
      const a = found.get(id);
      if (a) bodies.push(a.body);
    }
  }
  const reactions = await reactionsOf(s, app, userId);
  const follows = await followsOf(s, app, userId);
  const refs = await userDataOf(s).entriesOwnedBy(app.appId, userId, 100_000);
  const entries = [...(await s.ports.collections.getEntries(app.appId, refs)).values()];
  const owned = files ? await files.files.filesOf(app.appId, userId) : [];
  const iso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();
  return JSON.stringify({
    user_id: userId,
    user: user ? JSON.parse(userJson(user)) : null,
    activities: bodies.map((b) => JSON.parse(b)),
    reactions: reactions.map((r) => ({
      id: r.id,
      kind: r.kind,
      activity_id: r.activityId,
      parent: r.parent,
      data: JSON.parse(r.data),
      target_feeds: r.targetFeeds,
      created_at: iso(r.createdUs),
      updated_at: iso(r.updatedUs),
      ...(r.deletedUs !== null ? { deleted_at: iso(r.deletedUs) } : {}),
    })),
    follows: follows.map((f) => ({ source: f.source, target: f.target, created_at: iso(f.created_at) })),
    collections: entries.map((e) => JSON.parse(entryJson(e))),
    files: owned.map((f) => ({ id: f.id, name: f.name, kind: f.kind, content_type: f.contentType, size: f.size, variant_of: f.parent, created_at: iso(f.createdUs) })),
  });
}

/** What {@link deleteUser} removed. */
export interface Erasure {
  readonly activities: number;
  readonly reactions: number;
  readonly follows: number;
  readonly collections: number;
  readonly files: number;
  readonly user: boolean;
}

/**
 * Deletes everything of one user: activities whose actor the user is (everywhere, records
 * included), the user's reactions (with their children), every follow from or to the user's feeds
 * (copies in follower feeds go with them), the collection entries and files the user owns,
 * moderation flags by or about the user, and the profile. The audit log keeps that it happened.
 * Idempotent: run again, it finds nothing more to delete.
 */
export async function deleteUser(s: DataErasureDeps, files: FileServices | undefined, app: App, rawUserId: string): Promise<Erasure> {
  const userId = parseUserId(rawUserId, 'user_id');
  const activityIds = await activityIdsOf(s, app, userId);
  let activities = 0;
  for (let i = 0; i < activityIds.length; i += MAX_PRIVACY_BATCH) {
    activities += await eraseActivities(s, app, activityIds.slice(i, i + MAX_PRIVACY_BATCH).map((id) => ({ id, feeds: [] })));
  }
  const reactions = await reactionsOf(s, app, userId);
  for (const r of reactions) await deleteQuietly(s, app, r.id);
  const follows = await followsOf(s, app, userId);
  for (let i = 0; i < follows.length; i += 2500) {
    await unfollow(
      s,
      app,
      follows.slice(i, i + 2500).map((f) => ({ source: parseFeedId(f.source), target: parseFeedId(f.target), keepHistory: false })),
    );
  }
  const refs = await userDataOf(s).entriesOwnedBy(app.appId, userId, 100_000);
  if (refs.length > 0) await s.ports.collections.deleteEntries(app.appId, refs);
  let fileCount = 0;
  if (files) {
    const owned = await files.files.filesOf(app.appId, userId);
    fileCount = (await deleteFiles(files, app, owned.map((f) => f.id))).length;
  }
  await s.flags?.forgetUser(app.appId, userId);
  await s.changes?.record([changeKey.app(app.appId)]);
  const user = (await s.ports.users.deleteUsers(app.appId, [userId])).length > 0;
  const erasure: Erasure = { activities, reactions: reactions.length, follows: follows.length, collections: refs.length, files: fileCount, user };
  await audit(s, app, [change('user', userId, 'erased', userId, { ...erasure })]);
  return erasure;
}
