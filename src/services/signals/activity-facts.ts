import { parseBody } from '../../core/activities/activity.js';
import { isUuid } from '../../core/activities/activity-id.js';
import { authorKey } from '../../personalization/signals/interest.js';
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
 * reads, the bodies from the shared parts cache where it keeps them (a reaction's activity is
 * most often one that pages show) and the tags from the signal store.
 */
export async function factsOf(s: ActivityFactsDeps, appId: string, candidates: readonly string[]): Promise<Map<string, ActivityFacts>> {
  const out = new Map<string, ActivityFacts>();
  // Reactions may name any string as their activity; only ids can be activities.
  const ids = candidates.filter((id) => isUuid(id));
  if (ids.length === 0) return out;
  // Not recorded as a read's dependencies: no read cache entry is built from these.
  const [bodies, tags] = await Promise.all([activityBodies({ ports: s.ports, parts: s.parts }, appId, ids), s.signalStore.tagsOf(appId, ids)]);
  for (let i = 0; i < ids.length; i++) {
    const body = bodies[i];
    if (body !== undefined) out.set(ids[i], { author: authorKey(parseBody(body).actor), tags: tags.get(ids[i]) ?? [] });
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
