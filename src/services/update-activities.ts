import { isPlainObject, parseBody, rebuildActivity, type StoredActivity } from '../core/activities/activity.js';
import { activityId, isUuid } from '../core/activities/activity-id.js';
import { applyPartial, validateChange } from '../core/activities/partial-update.js';
import { InputError, NotFoundError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { parseTime } from '../core/time.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import { MAX_BATCH_ACTIVITIES } from './add-activities.js';
import type { AuditChange } from '../ports/audit-log.js';
import type { WriteStep } from '../ports/intent-queue.js';
import type { Uses } from './context.js';
import { FeedWork, runWrite } from './write-step.js';
import { contentQueued } from './signals/signal-context.js';
import { activityChange, auditBatch } from './audit.js';
import { bodyTarget } from './signed-targets.js';
import { withActivities } from './activity-locks.js';

/** What updating activities uses (the write path, the stored activities, audit, content jobs). */
export type UpdateActivityDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'timelines', 'audit' | 'clock' | 'fanout' | 'onJobsEnqueued' | 'realtime' | 'signalStore' | 'signals'>;

/** The id of the activity identified by foreign_id + time (ids are derived from that pair). */
export function idOfForeign(foreignId: unknown, time: unknown, what: string): string {
  if (foreignId === undefined || foreignId === null || foreignId === '') throw new InputError(`${what}: foreign_id is required`);
  if (time === undefined || time === null || time === '') throw new InputError(`${what}: time is required`);
  if (typeof foreignId !== 'string' && typeof foreignId !== 'number') throw new InputError(`${what}: foreign_id must be a string`);
  if (typeof time !== 'string') throw new InputError(`${what}: time must be a string`);
  const us = parseTime(time);
  if (us === null) throw new InputError(`${what}: time "${time.slice(0, 64)}" is not a valid time`);
  return activityId(us, 'f\u0000' + String(foreignId));
}

function sameTargets(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

async function loadAll(s: Uses<'activities'>, app: App, ids: string[]): Promise<Map<string, ActivityRecord>> {
  const found = await s.ports.activities.getActivities(app.appId, ids);
  for (const id of ids) if (!found.has(id)) throw new NotFoundError(`activity ${id} does not exist`);
  return found;
}

/**
 * Full update (§6.5, §23.2): each item names its activity by foreign_id + time and replaces it;
 * custom fields left out are dropped; `to` cannot change here (targets may come signed, as the
 * Python and PHP clients send them). The change shows in every feed holding the activity, since
 * feeds hold references. An item naming an activity that does not exist creates it in no feed
 * (as Stream's clients expect: `docs/api-decisions.md`): a later add of the same foreign_id + time
 * places it, and it can be read by id or by foreign_id + time meanwhile.
 */
export async function updateActivities(s: UpdateActivityDeps, app: App, items: unknown): Promise<void> {
  if (!Array.isArray(items)) throw new InputError('activities must be an array');
  if (items.length === 0) return;
  if (items.length > MAX_BATCH_ACTIVITIES) throw new InputError(`at most ${MAX_BATCH_ACTIVITIES} activities per update`);
  const ids = items.map((it, i) => {
    if (!isPlainObject(it)) throw new InputError(`activities[${i}]: must be an object`);
    return idOfForeign(it.foreign_id, it.time, `activities[${i}]`);
  });
  await withActivities(s.ports.activities, app.appId, ids, async () => {
    const found = await s.ports.activities.getActivities(app.appId, ids);
    const out: ActivityRecord[] = items.map((it: Record<string, unknown>, i) => {
      const what = `activities[${i}]`;
      let to: string[] = [];
      if (it.to !== undefined && it.to !== null) {
        if (!Array.isArray(it.to)) throw new InputError(`${what}: to must be an array`);
        to = [...new Set(it.to.map((v) => bodyTarget(app, v, `${what}.to`).fid))];
      }
      const prev = found.get(ids[i]) ?? created(ids[i], it, to, what);
      if (to.length > 0 && !sameTargets(prev.to, to)) {
        throw new InputError(`${what}: to cannot be changed by an update; use the to-targets endpoint`);
      }
      try {
        return { ...rebuildActivity(prev, it, prev.to), home: prev.home };
      } catch (err) {
        if (err instanceof InputError) throw new InputError(`${what}: ${err.message}`);
        throw err;
      }
    });
    // The content job is handed over in the same turn: one transaction on the embedded store.
    await writeActivities(s, app, out, found, (a) => activityChange(a, 'updated'));
  });
  contentQueued(s);
}

/**
 * Stores updated activities, one step each with its audit entry; the content job is handed over
 * in the same turn (one transaction on the embedded store). Feeds hold references, so no feed
 * changes. `read`: the stored activities the records were made from, by id.
 */
async function writeActivities(
  s: UpdateActivityDeps,
  app: App,
  records: readonly ActivityRecord[],
  read: ReadonlyMap<string, ActivityRecord>,
  change: (a: ActivityRecord) => AuditChange,
): Promise<void> {
  const steps: WriteStep[] = records.map((a) => {
    const audit = auditBatch(s, [change(a)]);
    // Written only over the body it was made from (another process may have written since).
    const from = read.get(a.id);
    return { activity: a, ...(from ? { expectBody: from.body } : {}), ...(audit ? { audit } : {}) };
  });
  await runWrite(s, app, steps, {
    work: new FeedWork(),
    spreads: [],
    intents: [],
    activities: records,
    beside: () => s.signalStore.recordSignals(app.appId, { contentJobs: [...new Set(records.map((a) => a.id))] }),
  });
}

/**
 * The record a full update starts from when its activity does not exist: in no feed (`home` empty)
 * and without targets (an update places nothing in feeds, so it cannot give it any).
 */
function created(id: string, it: Record<string, unknown>, to: readonly string[], what: string): ActivityRecord {
  if (to.length > 0) throw new InputError(`${what}: activity ${id} does not exist, and an update cannot give it to targets`);
  const timeUs = parseTime(it.time as string)!;
  return { id, timeUs, foreignId: String(it.foreign_id), to: [], body: '{}', home: '' };
}

/**
 * Partial update (§6.6): each change names an activity by `id` or foreign_id + time and applies
 * `set` (dotted paths) and `unset`. All changes are validated before anything is written.
 * Returns the updated activities in request order.
 */
export async function partialUpdateActivities(s: UpdateActivityDeps, app: App, changes: unknown): Promise<StoredActivity[]> {
  if (!Array.isArray(changes)) throw new InputError('changes must be an array');
  if (changes.length > MAX_BATCH_ACTIVITIES) throw new InputError(`at most ${MAX_BATCH_ACTIVITIES} changes per request`);
  const parsed = changes.map((c, i) => {
    const what = `changes[${i}]`;
    if (!isPlainObject(c)) throw new InputError(`${what}: must be an object`);
    let id: string;
    if (c.id !== undefined && c.id !== null && c.id !== '') {
      if (typeof c.id !== 'string' || !isUuid(c.id.toLowerCase())) throw new InputError(`${what}: id is not a valid activity id`);
      id = c.id.toLowerCase();
    } else {
      id = idOfForeign(c.foreign_id, c.time, what);
    }
    return { id, ...validateChange(c.set, c.unset, what) };
  });
  return withActivities(s.ports.activities, app.appId, parsed.map((p) => p.id), async () => {
    const found = await loadAll(s, app, parsed.map((p) => p.id));
    // Several changes to one activity apply in order.
    const current = new Map<string, ActivityRecord>();
    const results: ActivityRecord[] = parsed.map((p, i) => {
      const prev = current.get(p.id) ?? found.get(p.id)!;
      const obj = applyPartial(parseBody(prev.body), p.set, p.unset);
      try {
        const next = { ...rebuildActivity(prev, obj, prev.to), home: prev.home };
        current.set(p.id, next);
        return next;
      } catch (err) {
        if (err instanceof InputError) throw new InputError(`changes[${i}]: ${err.message}`);
        throw err;
      }
    });
    await writeActivities(s, app, [...current.values()], found, (a) => activityChange(a, 'updated', { partial: true }));
    contentQueued(s);
    return results.map((r) => current.get(r.id)!);
  });
}
