import { randomUUID } from 'node:crypto';
import { isUuid } from '../core/activities/activity-id.js';
import { isPlainObject } from '../core/activities/activity.js';
import { InputError, NotFoundError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { formatTimestamp } from '../core/time.js';
import type { FlagEntityType, FlagRecord } from '../ports/flag-store.js';
import { actorUser, audit, change } from './audit.js';
import type { Services, Uses } from './context.js';
import { changeKey } from '../ports/change-marks.js';
import { parseUserId } from './users.js';

/** What flagging uses (the flagged thing must exist; flags change what reads show). */
export type ModerationDeps = Uses<'activities' | 'reactions', 'audit' | 'changes' | 'clock' | 'flags'>;
/** What leaving flagged content out of reads uses. */
export type FlaggedFilterDeps = Pick<Services, 'flags' | 'hideFlagged'>;

const ENTITY_TYPES: readonly FlagEntityType[] = ['stream:user', 'stream:feeds:v2:activity', 'stream:feeds:v2:reaction'];
const MAX_REASON = 1000;
export const DEFAULT_FLAG_PAGE = 25;
export const MAX_FLAG_PAGE = 100;

function flagsOf(s: Pick<Services, 'flags'>) {
  if (!s.flags) throw new Error('moderation flags are not configured');
  return s.flags;
}

/**
 * Flags a user, an activity or a reaction (stream-v2-api.md §17): body `{entity_type, entity_id,
 * user_id (the reporter), reason}`. The flag names the user the content belongs to; a flagged
 * activity or reaction must exist (404/16).
 */
export async function flagEntity(s: ModerationDeps, app: App, body: unknown): Promise<FlagRecord> {
  if (!isPlainObject(body)) throw new InputError('body must be a JSON object {"entity_type", "entity_id", "user_id", "reason"}');
  const type = (body.entity_type ?? 'stream:user') as FlagEntityType;
  if (!ENTITY_TYPES.includes(type)) throw new InputError(`entity_type must be one of ${ENTITY_TYPES.join(', ')}`, { fields: { entity_type: ['invalid'] } });
  if (typeof body.entity_id !== 'string' || body.entity_id === '' || body.entity_id.length > 255) {
    throw new InputError('entity_id is required (a string of at most 255 characters)', { fields: { entity_id: ['required'] } });
  }
  const entityId = body.entity_id;
  const flaggedBy = body.user_id === undefined || body.user_id === null ? null : parseUserId(body.user_id, 'user_id');
  let reason: string | null = null;
  if (body.reason !== undefined && body.reason !== null) {
    if (typeof body.reason !== 'string' || body.reason.length > MAX_REASON) throw new InputError(`reason must be a string of at most ${MAX_REASON} characters`);
    reason = body.reason;
  }
  let target: string;
  if (type === 'stream:user') {
    target = parseUserId(entityId, 'entity_id');
  } else if (type === 'stream:feeds:v2:activity') {
    const a = isUuid(entityId.toLowerCase()) ? (await s.ports.activities.getActivities(app.appId, [entityId.toLowerCase()])).get(entityId.toLowerCase()) : undefined;
    if (!a) throw new NotFoundError(`activity ${entityId.slice(0, 64)} does not exist`);
    target = actorUser((JSON.parse(a.body) as { actor?: unknown }).actor);
  } else {
    const r = (await s.ports.reactions.getReactions(app.appId, [entityId])).get(entityId);
    if (!r) throw new NotFoundError(`reaction ${entityId.slice(0, 64)} does not exist`);
    target = r.userId;
  }
  const flag: FlagRecord = {
    id: randomUUID(),
    entityType: type,
    entityId: type === 'stream:feeds:v2:activity' ? entityId.toLowerCase() : entityId,
    targetUserId: target,
    flaggedBy,
    reason,
    createdUs: s.clock.next(),
  };
  await flagsOf(s).addFlag(app.appId, flag);
  // What reads hide (moderation.hide_flagged) changed: every cached read of the app is stale.
  await s.changes?.record([changeKey.app(app.appId)]);
  await audit(s, app, [change('user', target, 'flagged', flaggedBy ?? '', { flag_id: flag.id, entity_type: type, entity_id: flag.entityId, reason })]);
  return flag;
}

/** The response of a flag (§17 client type) and of the operator's list. */
export function flagJson(f: FlagRecord): Record<string, unknown> {
  return {
    flag_id: f.id,
    entity_type: f.entityType,
    entity_id: f.entityId,
    target_user_id: f.targetUserId,
    created_at: formatTimestamp(f.createdUs),
    ...(f.flaggedBy !== null ? { flagged_by: f.flaggedBy } : {}),
    ...(f.reason !== null ? { reason: f.reason } : {}),
  };
}

/**
 * Flags for the operator, newest first: all, or those of one entity (`entity_type` + `entity_id`).
 * `next` is the id of the last flag of the previous page; `""` when there are no more.
 */
export async function listFlags(
  s: Pick<Services, 'flags'>,
  app: App,
  q: { entity_type?: string; entity_id?: string; limit?: string; next?: string },
): Promise<{ flags: FlagRecord[]; next: string }> {
  if (q.entity_type !== undefined && !ENTITY_TYPES.includes(q.entity_type as FlagEntityType)) {
    throw new InputError(`entity_type must be one of ${ENTITY_TYPES.join(', ')}`, { fields: { entity_type: ['invalid'] } });
  }
  let limit = DEFAULT_FLAG_PAGE;
  if (q.limit !== undefined && q.limit !== '') {
    if (!/^\d+$/.test(q.limit) || Number(q.limit) < 1) throw new InputError('limit must be a positive integer');
    limit = Math.min(Number(q.limit), MAX_FLAG_PAGE);
  }
  const rows = await flagsOf(s).listFlags(app.appId, {
    entityType: q.entity_type as FlagEntityType | undefined,
    entityId: q.entity_id,
    before: q.next || undefined,
    limit: limit + 1,
  });
  const more = rows.length > limit;
  const flags = more ? rows.slice(0, limit) : rows;
  return { flags, next: more ? flags[flags.length - 1].id : '' };
}

/**
 * With `moderation.hide_flagged` on, leaves out entries whose activity was flagged or whose actor is
 * a flagged user: two batched look-ups per page, nothing when the setting is off (the default).
 * A page may then hold fewer activities than its limit; `next` still pages on from where it was.
 */
export async function withoutFlagged<T extends { readonly id: string; readonly body: string }>(s: FlaggedFilterDeps, app: App, entries: T[]): Promise<T[]> {
  if (!s.hideFlagged || !s.flags || entries.length === 0) return entries;
  const actors = entries.map((e) => {
    try {
      return actorUser((JSON.parse(e.body) as { actor?: unknown }).actor);
    } catch {
      return '';
    }
  });
  const [activities, users] = await Promise.all([
    s.flags.flagged(app.appId, 'stream:feeds:v2:activity', entries.map((e) => e.id)),
    s.flags.flagged(app.appId, 'stream:user', [...new Set(actors)].filter((a) => a !== '')),
  ]);
  if (activities.size === 0 && users.size === 0) return entries;
  return entries.filter((e, i) => !activities.has(e.id) && !users.has(actors[i]));
}

/** With `moderation.hide_flagged` on, leaves out flagged reactions and reactions of flagged users. */
export async function reactionsWithoutFlagged<T extends { readonly id: string; readonly userId: string }>(s: FlaggedFilterDeps, app: App, reactions: T[]): Promise<T[]> {
  if (!s.hideFlagged || !s.flags || reactions.length === 0) return reactions;
  const [flagged, users] = await Promise.all([
    s.flags.flagged(app.appId, 'stream:feeds:v2:reaction', reactions.map((r) => r.id)),
    s.flags.flagged(app.appId, 'stream:user', [...new Set(reactions.map((r) => r.userId))]),
  ]);
  if (flagged.size === 0 && users.size === 0) return reactions;
  return reactions.filter((r) => !flagged.has(r.id) && !users.has(r.userId));
}
