import { checkNesting, finishActivity, isPlainObject, parseActivity, type StoredActivity } from '../core/activities/activity.js';
import { randomTimeId, uuidTimeUs } from '../core/activities/activity-id.js';
import { ConflictError, InputError, MissingUserError, NotAllowedError, NotFoundError, StaleWriteError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { formatActivityTime } from '../core/time.js';
import type { ReactionLookup, ReactionRecord } from '../ports/reaction-store.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import { bodyFeed, type Uses } from './context.js';
import { MAX_REACTION_DEPTH } from './enrich.js';
import { dataText } from './users.js';
import { checkReplacements, userMayTarget } from './user-policy.js';
import { FeedWork, placeDirect, takeDirect, writeOne, type Spread } from './write-step.js';
import { reactionEvent } from './signals/reaction-events.js';
import { eventsRecorded } from './signals/signal-context.js';
import { auditBatch, change } from './audit.js';
import { reactionsWithoutFlagged } from './moderation.js';

/** What adding a reaction uses (the reaction with its intent, the feeds its `target_feeds` reach, audit, its event). */
export type AddReactionDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'reactions' | 'timelines', 'audit' | 'clock' | 'fanout' | 'onJobsEnqueued' | 'realtime' | 'signalStore' | 'signals'>;
/** What updating, deleting and restoring a reaction use. */
export type ReactionChangeDeps = Uses<'follows' | 'groups' | 'intents' | 'reactions' | 'timelines', 'audit' | 'clock' | 'fanout' | 'onJobsEnqueued' | 'realtime'>;
/** What reading reactions uses. */
export type ReactionReadDeps = Uses<'activities' | 'reactions', 'flags' | 'hideFlagged'>;

export const MAX_TARGET_FEEDS = 20;
export const DEFAULT_FILTER_LIMIT = 10;
export const MAX_FILTER_LIMIT = 25;

const KIND_RE = /^[\w-]{1,64}$/;
const REACTION_ID_RE = /^[\w-]{1,255}$/;

/** Who is acting: a user token's user, or a server token (which names the author in the body). */
export type Actor = { readonly kind: 'user'; readonly userId: string } | { readonly kind: 'server' };

/** A reaction's `data`: a JSON object of at most 10 KB, `{}` when absent (the users rule). */
const reactionData = (value: unknown, what: string) => dataText(value, what, { absent: 'empty', nonEmpty: false });

/** Validates `target_feeds` (feed ids of existing groups, at most 20) and the user policy. */
export function parseTargetFeeds(app: App, actor: Actor, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InputError('target_feeds must be an array of feed ids');
  if (value.length > MAX_TARGET_FEEDS) throw new InputError(`target_feeds has more than ${MAX_TARGET_FEEDS} feeds`);
  const feeds = [...new Set(value.map((v) => bodyFeed(app, v, 'target_feeds').fid))];
  if (actor.kind === 'user') {
    for (const f of feeds) if (!userMayTarget(app, actor.userId, f)) throw new NotAllowedError(`user ${actor.userId} cannot post reactions to ${f}`);
  }
  return feeds;
}

/**
 * Validates `target_feeds_extra_data`: custom fields of the reaction's activity in its target
 * feeds, checked whether or not there are target feeds (it is echoed in the answer either way).
 * `to` is refused: the activity goes to `target_feeds`, and a `to` list would be stored unchecked.
 */
export function parseExtraData(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw new InputError('target_feeds_extra_data must be an object');
  if (value.to !== undefined) {
    throw new InputError('target_feeds_extra_data cannot set to; use target_feeds', { fields: { 'target_feeds_extra_data.to': ['not allowed'] } });
  }
  for (const [key, v] of Object.entries(value)) checkNesting(v, `target_feeds_extra_data.${key}`);
  return value;
}

/** The activity a reaction writes into each of its target feeds (§10.8). */
export function reactionActivity(r: ReactionRecord, extra: Record<string, unknown>): StoredActivity {
  const draft = parseActivity(
    {
      ...extra,
      actor: `SU:${r.userId}`,
      verb: r.kind,
      object: `SA:${r.activityId}`,
      foreign_id: `reaction:${r.id}`,
      time: formatActivityTime(r.createdUs),
      target: '',
      reaction: `SR:${r.id}`,
    },
    (v) => String(v),
  );
  return finishActivity(draft, r.createdUs);
}

export interface AddedReaction {
  readonly reaction: ReactionRecord;
  /** `target_feeds_extra_data` as sent, echoed in the response only. */
  readonly extraData?: Record<string, unknown>;
}

/**
 * Adds a reaction or a child reaction (§10.1, §10.2): validates, assigns id and time, and in one
 * commit stores it (counts included) and writes its activity into every target feed.
 */
export async function addReaction(s: AddReactionDeps, app: App, actor: Actor, body: unknown): Promise<AddedReaction> {
  if (!isPlainObject(body)) throw new InputError('body must be a reaction object');
  const kind = body.kind;
  if (typeof kind !== 'string' || !KIND_RE.test(kind)) throw new InputError('kind is required: 1-64 letters, digits, _ or -');
  let userId: string;
  if (actor.kind === 'user') {
    if (body.user_id !== undefined && body.user_id !== null && body.user_id !== actor.userId) {
      throw new NotAllowedError(`user ${actor.userId} cannot add reactions as ${String(body.user_id).slice(0, 64)}`);
    }
    userId = actor.userId;
  } else {
    if (typeof body.user_id !== 'string' || body.user_id === '') throw new MissingUserError('user_id is required for reactions added with a server token');
    userId = body.user_id;
  }
  if (!REACTION_ID_RE.test(userId)) throw new InputError('user_id may hold letters, digits, _ and - only');
  const data = reactionData(body.data, 'data');
  const targetFeeds = parseTargetFeeds(app, actor, body.target_feeds);
  const extra = parseExtraData(body.target_feeds_extra_data);
  const now = s.clock.next();
  let id: string;
  const ownId = body.id !== undefined && body.id !== null && body.id !== '';
  if (ownId) {
    if (typeof body.id !== 'string' || !REACTION_ID_RE.test(body.id)) throw new InputError('id may hold letters, digits, _ and - only');
    id = body.id;
  } else {
    // Time-based (version 1, random other bits): a page bound naming a reaction deleted since
    // still orders by the time in its id (filterReactions).
    id = randomTimeId(now);
  }
  let activityId: string;
  let parent = '';
  let depth = 1;
  if (body.parent !== undefined && body.parent !== null && body.parent !== '') {
    if (typeof body.parent !== 'string') throw new InputError('parent must be a reaction id');
    const p = (await s.ports.reactions.getReactions(app.appId, [body.parent])).get(body.parent);
    if (!p) throw new InputError(`parent reaction ${body.parent.slice(0, 64)} does not exist`);
    if (p.depth >= MAX_REACTION_DEPTH) throw new InputError(`reactions nest at most ${MAX_REACTION_DEPTH} levels`);
    activityId = p.activityId;
    parent = p.id;
    depth = p.depth + 1;
  } else {
    if (typeof body.activity_id !== 'string' || body.activity_id === '') throw new InputError('activity_id is required');
    if (body.activity_id.length > 255) throw new InputError('activity_id is too long');
    activityId = body.activity_id;
  }
  // Only an id the client chose can name an existing reaction: one made here carries this
  // process's next clock tick and 62 random bits.
  if (ownId && (await s.ports.reactions.getReactions(app.appId, [id], true)).size > 0) throw new ConflictError(`reaction ${id} already exists`);
  const reaction: ReactionRecord = { id, kind, activityId, userId, parent, depth, data, targetFeeds, createdUs: now, updatedUs: now, deletedUs: null };
  const spreads: Spread[] = [];
  let work = new FeedWork();
  let activity: ActivityRecord | undefined;
  if (targetFeeds.length > 0) {
    const act = reactionActivity(reaction, extra ?? {});
    // The activity's id comes from the reaction's id and time; never let it land on someone else's.
    if (actor.kind === 'user') await checkReplacements(s, app, [act.id], actor.userId);
    activity = withHome(act, targetFeeds[0]);
    work = new FeedWork([act]);
    placeDirect(app, work, spreads, act.id, targetFeeds);
  }
  // The reaction is also an engagement event (with its profile changes), handed over in the same
  // turn: one transaction on the embedded store, and keyed by the reaction id everywhere.
  const event = await reactionEvent(s, app, reaction);
  const audit = auditBatch(s, [reactionChange(reaction, 'created')]);
  try {
    await writeOne(s, app, { ...(activity ? { activity } : {}), reactions: { add: [reaction], checked: true }, ...(audit ? { audit } : {}) }, {
      work,
      spreads,
      activities: activity ? [activity] : undefined,
      beside: () => s.signalStore.recordSignals(app.appId, { events: [event] }),
    });
  } catch (err) {
    // The parent was removed for good after it was read above (nothing of this add was written).
    if (err instanceof StaleWriteError) throw new InputError(`parent reaction ${parent.slice(0, 64)} does not exist`);
    throw err;
  }
  if (activity) await unplaceIfGone(s, app, id, activity.id, targetFeeds);
  eventsRecorded(s);
  return { reaction, extraData: extra };
}

function reactionChange(r: ReactionRecord, action: string) {
  return change('reaction', r.id, action, r.userId, { kind: r.kind, activity_id: r.activityId, parent: r.parent || undefined });
}

function withHome(act: StoredActivity, home: string) {
  return { ...act, home };
}

async function loadOwn(s: Uses<'reactions'>, app: App, actor: Actor, id: string, includeDeleted: boolean): Promise<ReactionRecord> {
  const r = (await s.ports.reactions.getReactions(app.appId, [id], includeDeleted)).get(id);
  if (!r) throw new NotFoundError(`reaction ${id.slice(0, 64)} does not exist`);
  if (actor.kind === 'user' && r.userId !== actor.userId) throw new NotAllowedError(`reaction ${id.slice(0, 64)} belongs to another user`);
  return r;
}

/** Gets a reaction, soft-deleted ones included (§10.3). */
export async function getReaction(s: Uses<'reactions'>, app: App, id: string): Promise<ReactionRecord> {
  const r = (await s.ports.reactions.getReactions(app.appId, [id], true)).get(id);
  if (!r) throw new NotFoundError(`reaction ${id.slice(0, 64)} does not exist`);
  return r;
}

/** Most ids one `reaction/get_many/` call takes. */
export const MAX_GET_MANY = 100;

/**
 * Gets reactions by id (`GET reaction/get_many/?ids=…`, the Go and Java clients' batch get), in
 * request order; ids that name no reaction are left out. Soft-deleted ones only with
 * `includeDeleted`.
 */
export async function getReactions(s: Uses<'reactions'>, app: App, ids: readonly string[], includeDeleted: boolean): Promise<ReactionRecord[]> {
  if (ids.length === 0) throw new InputError('ids is required');
  if (ids.length > MAX_GET_MANY) throw new InputError(`at most ${MAX_GET_MANY} ids per request`);
  for (const id of ids) if (!REACTION_ID_RE.test(id)) throw new InputError(`${id.slice(0, 64)} is not a reaction id`);
  const unique = [...new Set(ids)];
  const found = await s.ports.reactions.getReactions(app.appId, unique, includeDeleted);
  return unique.map((id) => found.get(id)).filter((r): r is ReactionRecord => r !== undefined && (includeDeleted || r.deletedUs === null));
}

/**
 * Updates a reaction's data and target feeds (§10.4). Target feeds are checked against the user
 * policy before the reaction is looked up; dropped feeds lose its activity, added feeds gain it.
 */
export async function updateReaction(s: ReactionChangeDeps, app: App, actor: Actor, id: string, body: unknown): Promise<AddedReaction> {
  if (!isPlainObject(body)) throw new InputError('body must be an object');
  const targetFeeds = parseTargetFeeds(app, actor, body.target_feeds);
  const data = body.data === undefined ? undefined : reactionData(body.data, 'data');
  const extra = parseExtraData(body.target_feeds_extra_data);
  const prev = await loadOwn(s, app, actor, id, false);
  const next: ReactionRecord = { ...prev, data: data ?? prev.data, targetFeeds, updatedUs: Math.max(s.clock.next(), prev.createdUs + 1) };
  const act = reactionActivity(next, extra ?? {});
  const dropped = prev.targetFeeds.filter((f) => !targetFeeds.includes(f));
  const added = targetFeeds.filter((f) => !prev.targetFeeds.includes(f));
  const work = new FeedWork([act]);
  const spreads: Spread[] = [];
  takeDirect(work, spreads, [act.id], dropped);
  placeDirect(app, work, spreads, act.id, added);
  const activity = targetFeeds.length > 0 || prev.targetFeeds.length > 0 ? withHome(act, targetFeeds[0] ?? prev.targetFeeds[0]) : undefined;
  const audit = auditBatch(s, [reactionChange(next, 'updated')]);
  try {
    await writeOne(s, app, { ...(activity ? { activity } : {}), reactions: { update: [next], checked: true }, ...(audit ? { audit } : {}) }, {
      work,
      spreads,
      activities: activity ? [activity] : undefined,
    });
  } catch (err) {
    // Removed for good after it was read above: its activity must not go back into target feeds.
    if (err instanceof StaleWriteError) throw new NotFoundError(`reaction ${id.slice(0, 64)} does not exist`);
    throw err;
  }
  await unplaceIfGone(s, app, id, act.id, added);
  return { reaction: next, extraData: extra };
}

/**
 * Deletes a reaction (§10.5): for good, with its children and every target-feed activity; or
 * softly (`deleted_at` set, hidden from listings and counts, restorable).
 */
export async function deleteReaction(s: ReactionChangeDeps, app: App, actor: Actor, id: string, soft: boolean): Promise<void> {
  // A child added between the listing of the descendants and the removal fails the removal
  // (nothing written); it runs again with the child listed.
  for (let attempt = 1; ; attempt++) {
    try {
      return await deleteOnce(s, app, actor, id, soft);
    } catch (err) {
      if (!(err instanceof StaleWriteError) || attempt >= DELETE_ATTEMPTS) throw err;
    }
  }
}

/** How many times a delete runs while children keep being added under the reaction. */
const DELETE_ATTEMPTS = 10;

async function deleteOnce(s: ReactionChangeDeps, app: App, actor: Actor, id: string, soft: boolean): Promise<void> {
  const r = await loadOwn(s, app, actor, id, true);
  if (soft) {
    if (r.deletedUs !== null) return;
    const audit = auditBatch(s, [reactionChange(r, 'soft_deleted')]);
    await writeOne(s, app, { reactions: { softDelete: [{ reaction: r, deletedUs: s.clock.next() }] }, ...(audit ? { audit } : {}) }, { work: new FeedWork(), spreads: [] });
    return;
  }
  const all = [r, ...(await s.ports.reactions.descendants(app.appId, [r.id]))];
  const work = new FeedWork();
  const spreads: Spread[] = [];
  for (const x of all) {
    if (x.targetFeeds.length === 0) continue;
    takeDirect(work, spreads, [reactionActivity(x, {}).id], x.targetFeeds);
  }
  // Deepest first, so each count is decremented on a parent that still exists.
  all.sort((a, b) => b.depth - a.depth);
  const audit = auditBatch(s, all.map((x) => reactionChange(x, 'deleted')));
  await writeOne(s, app, { reactions: { remove: all, checked: true }, ...(audit ? { audit } : {}) }, { work, spreads });
}

/**
 * A reaction's activity goes into its target feeds after the step that wrote the reaction (an add,
 * or an update adding feeds). A delete that committed in between took the activity out of those
 * feeds before it landed there, and it stayed for good. So, once placed, the reaction is looked up
 * again: when it is gone, its activity is taken out of these feeds once more. (A delete committed
 * after this look-up places its own removal after the placement.)
 */
async function unplaceIfGone(s: ReactionChangeDeps, app: App, id: string, activityId: string, feeds: readonly string[]): Promise<void> {
  if (feeds.length === 0) return;
  if ((await s.ports.reactions.getReactions(app.appId, [id], true)).has(id)) return;
  const work = new FeedWork();
  const spreads: Spread[] = [];
  takeDirect(work, spreads, [activityId], feeds);
  await writeOne(s, app, {}, { work, spreads });
}

/** Restores a soft-deleted reaction; one that is not soft-deleted is 404 (§10.5). */
export async function restoreReaction(s: ReactionChangeDeps, app: App, actor: Actor, id: string): Promise<ReactionRecord> {
  const r = await loadOwn(s, app, actor, id, true);
  if (r.deletedUs === null) throw new NotFoundError(`reaction ${id.slice(0, 64)} is not deleted`);
  const audit = auditBatch(s, [reactionChange(r, 'restored')]);
  await writeOne(s, app, { reactions: { restore: [r] }, ...(audit ? { audit } : {}) }, { work: new FeedWork(), spreads: [] });
  return { ...r, deletedUs: null };
}

export interface FilterQuery {
  readonly lookup: ReactionLookup;
  readonly kind?: string;
  readonly limit: number;
  readonly idLt?: string;
  readonly idLte?: string;
  readonly idGt?: string;
  readonly idGte?: string;
  readonly filterUserId?: string;
}

/**
 * One page of a reaction listing (§10.6), looking one ahead to know whether more follow. A bound
 * naming a reaction that does not exist (deleted since it bounded a page, or never added) is not
 * an error: a time-based (version-1 UUID) id orders by its time, as the reaction would have; any
 * other id gives no position, so the page is empty.
 */
export async function filterReactions(s: ReactionReadDeps, app: App, q: FilterQuery): Promise<{ results: ReactionRecord[]; more: boolean }> {
  if (q.kind !== undefined && !KIND_RE.test(q.kind)) throw new InputError('kind may hold 1-64 letters, digits, _ or -');
  const boundIds = [q.idLt, q.idLte, q.idGt, q.idGte].filter((x): x is string => x !== undefined);
  for (const id of boundIds) if (!REACTION_ID_RE.test(id)) throw new InputError(`${id.slice(0, 64)} is not a reaction id`);
  const bounds = boundIds.length > 0 ? await s.ports.reactions.getReactions(app.appId, boundIds, true) : new Map<string, ReactionRecord>();
  let placeless = false;
  const pos = (id: string | undefined) => {
    if (id === undefined) return undefined;
    const r = bounds.get(id);
    if (r) return { createdUs: r.createdUs, id: r.id };
    const createdUs = uuidTimeUs(id);
    if (createdUs === null) placeless = true;
    return { createdUs: createdUs ?? 0, id };
  };
  const range = { lt: pos(q.idLt), lte: pos(q.idLte), gt: pos(q.idGt), gte: pos(q.idGte) };
  if (placeless) return { results: [], more: false };
  const results = await s.ports.reactions.listReactions(app.appId, {
    lookup: q.lookup,
    kind: q.kind,
    userId: q.filterUserId,
    ...range,
    limit: q.limit + 1,
  });
  const more = results.length > q.limit;
  if (more) results.length = q.limit;
  return { results: await reactionsWithoutFlagged(s, app, results), more };
}

/** The stored JSON of activity `id` (a reaction filter's `with_activity_data`), or null when there is none. */
export async function activityOfReactions(s: Uses<'activities'>, app: App, id: string): Promise<string | null> {
  return (await s.ports.activities.getActivities(app.appId, [id])).get(id)?.body ?? null;
}
