import { parseBody } from '../../core/activities/activity.js';
import { isUuid } from '../../core/activities/activity-id.js';
import { authorKey } from '../../personalization/signals/interest.js';
import { changeKey } from '../../ports/change-marks.js';
import type { ContentTag } from '../../ports/content-tag-store.js';
import type { Uses } from '../context.js';
import { activityBodies } from '../read-parts.js';

/** What looking up activity facts uses (activity bodies from the shared parts cache where kept). */
export type ActivityFactsDeps = Uses<'activities', 'signalStore' | 'parts'>;

/** What an event's profile effects need of its activity. */
export interface ActivityFacts {
  readonly author: string | null;
  readonly tags: readonly ContentTag[];
}

/**
 * Author and tags of each existing activity among `ids` (other strings are skipped): two batch
 * reads, bodies and tags, each from the shared parts cache where it keeps them (a reaction's
 * activity is most often one that pages show and others reacted to).
 */
export async function factsOf(s: ActivityFactsDeps, appId: string, candidates: readonly string[]): Promise<Map<string, ActivityFacts>> {
  const out = new Map<string, ActivityFacts>();
  // Reactions may name any string as their activity; only ids can be activities.
  const ids = candidates.filter((id) => isUuid(id));
  if (ids.length === 0) return out;
  // Not recorded as a read's dependencies: no read cache entry is built from these.
  const [bodies, tags] = await Promise.all([activityBodies({ ports: s.ports, parts: s.parts }, appId, ids), tagsOf(s, appId, ids)]);
  for (let i = 0; i < ids.length; i++) {
    const body = bodies[i];
    if (body !== undefined) out.set(ids[i], { author: authorKey(parseBody(body).actor), tags: tags.get(ids[i]) ?? [] });
  }
  return out;
}

/**
 * The content tags of `ids` (absent: none), kept in the shared parts cache as JSON until a write
 * of the activity's tags or of the activity itself (an update, a removal) marks its keys.
 */
async function tagsOf(s: ActivityFactsDeps, appId: string, ids: readonly string[]): Promise<Map<string, readonly ContentTag[]>> {
  const cache = s.parts;
  if (cache === undefined) return s.signalStore.tagsOf(appId, ids);
  const out = new Map<string, readonly ContentTag[]>();
  const at = await cache.sync();
  const space = `tags|${appId}`;
  let missing: string[] | null = null;
  for (const id of ids) {
    const kept = cache.peekIn(space, id);
    if (kept === undefined) (missing ??= []).push(id);
    else out.set(id, JSON.parse(kept.toString()) as ContentTag[]);
  }
  if (missing === null) return out;
  const found = await s.signalStore.tagsOf(appId, missing);
  await cache.sync();
  for (const id of missing) {
    const t = found.get(id) ?? [];
    out.set(id, t);
    cache.putIn(space, id, at, [changeKey.tags(appId, id), changeKey.activity(appId, id)], JSON.stringify(t));
  }
  return out;
}

/** A content reference as analytics events carry it: an activity id, or the caller's foreign id. */
export type ContentRef = { readonly id: string } | { readonly foreignId: string };

/**
 * Resolves content references to activity ids (personalization.md §2.1): a string that parses as
 * an activity id and exists is that activity; any other string, or `{foreign_id}`, is the newest
 * activity of the app with that foreign id. Unresolved references are absent. Two batch reads.
 */
export async function resolveContent(s: ActivityFactsDeps, appId: string, refs: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const uuids = [...new Set(refs.filter((r) => isUuid(r)))];
  const found = uuids.length > 0 ? await s.ports.activities.getActivities(appId, uuids) : new Map();
  for (const id of found.keys()) out.set(id, id);
  const foreign = [...new Set(refs.filter((r) => !out.has(r)))];
  if (foreign.length > 0) for (const [fid, id] of await s.signalStore.newestByForeignId(appId, foreign)) out.set(fid, id);
  return out;
}
