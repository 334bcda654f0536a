import { createHash } from 'node:crypto';
import { InputError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import type { AuditChange, AuditEntityType, AuditEntry, AuditQuery } from '../ports/audit-log.js';
import type { WriteStep } from '../ports/intent-queue.js';
import type { Services } from './context.js';

/** What recording changes in the audit log uses. */
export type AuditDeps = Pick<Services, 'audit' | 'clock'>;

/**
 * Records changes in the app's audit log (stream-v2-api.md §18.2) after the change itself
 * committed. Absent log (the fan-out worker): nothing is recorded.
 */
export async function audit(s: AuditDeps, app: App, changes: readonly AuditChange[]): Promise<void> {
  if (s.audit && changes.length > 0) await s.audit.append(app.appId, changes, s.clock.now());
}

/**
 * Audit entries to commit with a write's step (recorded in the same atomic step, see
 * {@link WriteStep.audit}); nothing where no log is kept.
 */
export function auditBatch(s: AuditDeps, changes: readonly AuditChange[]): WriteStep['audit'] {
  return s.audit && changes.length > 0 ? { atUs: s.clock.now(), changes } : undefined;
}

/** The user an actor names: `SU:alice` → `alice`; other actors as they are (`user:1`). */
export function actorUser(actor: unknown): string {
  if (typeof actor !== 'string') return '';
  return actor.startsWith('SU:') ? actor.slice(3) : actor;
}

/** The user id of a feed id (`timeline:bob` → `bob`). */
export function feedUser(fid: string): string {
  return fid.slice(fid.indexOf(':') + 1);
}

/** A change of an activity, made as its actor. */
export function activityChange(a: { id: string; body: string }, action: string, custom: Record<string, unknown> = {}): AuditChange {
  let actor: unknown;
  let verb: unknown;
  let foreignId: unknown;
  try {
    ({ actor, verb, foreign_id: foreignId } = JSON.parse(a.body) as Record<string, unknown>);
  } catch {
    actor = undefined;
  }
  return change('activity', a.id, action, actorUser(actor), { verb, foreign_id: foreignId || undefined, ...custom });
}

/** A follow edge changed, made as the user of the following feed; the entity id is `source>target`. */
export function followChange(source: string, target: string, action: string, custom: Record<string, unknown> = {}): AuditChange {
  return change('follow', `${source}>${target}`, action, feedUser(source), { source, target, ...custom });
}

/** A change of an entity, its details as JSON text. */
export function change(entityType: AuditEntityType, entityId: string, action: string, userId: string, custom: Record<string, unknown> = {}): AuditChange {
  return { entityType, entityId, action, userId, custom: JSON.stringify(custom) };
}

const ENTITY_TYPES: readonly AuditEntityType[] = ['activity', 'reaction', 'follow', 'user', 'collection', 'config', 'file'];
export const DEFAULT_AUDIT_LIMIT = 25;
export const MAX_AUDIT_LIMIT = 100;

/** Paging cursor: the entry id, base64url so that clients treat it as opaque. */
function cursor(id: string, dir: 'n' | 'p'): string {
  return Buffer.from(`${dir}${id}`).toString('base64url');
}

function fromCursor(value: string, what: 'next' | 'prev'): string {
  const text = Buffer.from(value, 'base64url').toString();
  if (text[0] !== what[0] || !/^\d{1,15}$/.test(text.slice(1))) throw new InputError(`${what} is not a cursor from an earlier page`, { fields: { [what]: ['invalid'] } });
  return text.slice(1);
}

export interface AuditFilter {
  entity_type?: string;
  entity_id?: string;
  user_id?: string;
  limit?: string;
  next?: string;
  prev?: string;
}

/**
 * Lists audit entries (§18.2): by entity (type and id together), by user, or all, newest first,
 * `limit` 1-100 (default 25). `next` pages to older entries and is `""` on the last page; `prev`
 * pages back to newer ones and is `""` on the first.
 */
export async function listAudit(s: Pick<Services, 'audit'>, app: App, f: AuditFilter): Promise<{ entries: AuditEntry[]; next: string; prev: string }> {
  if (!s.audit) return { entries: [], next: '', prev: '' };
  if ((f.entity_type === undefined) !== (f.entity_id === undefined)) {
    throw new InputError('entity_type and entity_id go together', { fields: { entity_type: ['goes with entity_id'] } });
  }
  if (f.entity_type !== undefined && !ENTITY_TYPES.includes(f.entity_type as AuditEntityType)) {
    throw new InputError(`entity_type must be one of ${ENTITY_TYPES.join(', ')}`, { fields: { entity_type: ['invalid'] } });
  }
  let limit = DEFAULT_AUDIT_LIMIT;
  if (f.limit !== undefined && f.limit !== '') {
    if (!/^\d+$/.test(f.limit) || Number(f.limit) < 1) throw new InputError('limit must be a positive integer', { fields: { limit: ['invalid'] } });
    limit = Math.min(Number(f.limit), MAX_AUDIT_LIMIT);
  }
  if (f.next && f.prev) throw new InputError('give next or prev, not both');
  const q: AuditQuery = {
    entityType: f.entity_type as AuditEntityType | undefined,
    entityId: f.entity_id,
    userId: f.user_id,
    before: f.next ? fromCursor(f.next, 'next') : undefined,
    after: f.prev ? fromCursor(f.prev, 'prev') : undefined,
    limit: limit + 1,
  };
  const rows = await s.audit.list(app.appId, q);
  let entries: AuditEntry[];
  let more: boolean;
  if (q.after !== undefined) {
    // Rows are the `limit + 1` entries just newer than the cursor, newest first: one more means
    // there are newer pages still.
    more = rows.length > limit;
    entries = more ? rows.slice(1) : rows;
    return {
      entries,
      next: entries.length > 0 ? cursor(entries[entries.length - 1].id, 'n') : '',
      prev: more ? cursor(entries[0].id, 'p') : '',
    };
  }
  more = rows.length > limit;
  entries = more ? rows.slice(0, limit) : rows;
  return {
    entries,
    next: more ? cursor(entries[entries.length - 1].id, 'n') : '',
    prev: q.before !== undefined && entries.length > 0 ? cursor(entries[0].id, 'p') : '',
  };
}

/** The wire form of an entry (§18.2), with Rivulet's `id` (used by the official pagination test). */
export function auditJson(e: AuditEntry, formatTime: (us: number) => string): string {
  return (
    `{"id":${JSON.stringify(e.id)},"entity_type":${JSON.stringify(e.entityType)},"entity_id":${JSON.stringify(e.entityId)},` +
    `"action":${JSON.stringify(e.action)},"user_id":${JSON.stringify(e.userId)},"custom":${e.custom},"created_at":"${formatTime(e.createdUs)}"}`
  );
}

/** What the audit log remembers of an app's config: its feed groups and key, a digest of its secret. */
function configSummary(app: App): { groups: Record<string, unknown>; key: string; secret: string } {
  const groups: Record<string, unknown> = {};
  for (const g of app.groups.values()) {
    groups[g.name] = {
      type: g.type,
      aggregation_format: g.aggregationFormat,
      ranking: [...g.rankings.keys()],
      max_length: g.maxLength,
      max_groups: g.type === 'flat' ? undefined : g.maxGroups,
      max_group_activities: g.type === 'flat' ? undefined : g.maxGroupActivities,
      realtime: g.realtime,
      public: g.public,
      followable: g.followable,
    };
  }
  return { groups, key: app.apiKey, secret: createHash('sha256').update(app.apiSecret).digest('hex').slice(0, 12) };
}

/**
 * Records an app's config in its audit log when it differs from the last one recorded (the first
 * start, or a start after the config file changed): which feed groups were added, removed or
 * changed, and whether the key or secret changed. Config changes take a restart, so this runs once
 * per start, in the process that owns the data.
 */
export async function recordConfig(s: AuditDeps, app: App): Promise<void> {
  if (!s.audit) return;
  const now = configSummary(app);
  const last = await s.audit.latest(app.appId, 'config', app.appId);
  const before = last ? (JSON.parse(last.custom) as { summary?: ReturnType<typeof configSummary> }).summary : undefined;
  const text = (v: unknown) => JSON.stringify(v);
  if (before && text(before) === text(now)) return;
  const names = (o?: Record<string, unknown>) => Object.keys(o ?? {});
  const custom = {
    summary: now,
    added_groups: names(now.groups).filter((g) => !before || !(g in before.groups)),
    removed_groups: names(before?.groups).filter((g) => !(g in now.groups)),
    changed_groups: names(now.groups).filter((g) => before && g in before.groups && text(before.groups[g]) !== text(now.groups[g])),
    key_changed: before !== undefined && before.key !== now.key,
    secret_changed: before !== undefined && before.secret !== now.secret,
  };
  await audit(s, app, [change('config', app.appId, before ? 'updated' : 'created', '', custom)]);
}
