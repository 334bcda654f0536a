import { isPlainObject, MAX_TO_TARGETS, parseBody, rebuildActivity, type StoredActivity } from '../core/activities/activity.js';
import { InputError, NotFoundError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { WriteStep } from '../ports/intent-queue.js';
import { groupOf, type Uses } from './context.js';
import { FeedWork, planIntents, runWrite, type Spread } from './write-step.js';
import { bodyTarget } from './signed-targets.js';
import { idOfForeign } from './update-activities.js';
import { activityChange, auditBatch } from './audit.js';
import { withActivities } from './activity-locks.js';

/** What changing an activity's `to` targets uses. */
export type UpdateToTargetsDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'timelines', 'audit' | 'clock' | 'fanout' | 'onJobsEnqueued' | 'realtime'>;

export interface ToTargetsResult {
  readonly activity: StoredActivity;
  readonly added: string[];
  readonly removed: string[];
}

function targetList(app: App, value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new InputError(`${what} must be an array of feed ids`);
  return [...new Set(value.map((v) => bodyTarget(app, v, what).fid))];
}

/**
 * Edits the `to` list of an activity (§6.9): `new_targets` replaces it, or `added_targets` /
 * `removed_targets` edit it. Newly targeted feeds (and their followers) receive the activity;
 * dropped ones lose it. Each item of a batch is applied in order, in one commit.
 */
export async function updateToTargets(s: UpdateToTargetsDeps, app: App, feed: FeedId, body: unknown): Promise<ToTargetsResult[]> {
  groupOf(app, feed);
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw new InputError('no to-target updates given');
  if (items.length > 100) throw new InputError('at most 100 to-target updates per request');
  const parsed = items.map((it, i) => {
    const what = Array.isArray(body) ? `[${i}]` : 'request';
    if (!isPlainObject(it)) throw new InputError(`${what}: must be an object`);
    const id = idOfForeign(it.foreign_id, it.time, what);
    const replace = targetList(app, it.new_targets, 'new_targets');
    const add = targetList(app, it.added_targets, 'added_targets') ?? [];
    const remove = targetList(app, it.removed_targets, 'removed_targets') ?? [];
    if (replace && (add.length > 0 || remove.length > 0)) {
      throw new InputError('new_targets cannot be combined with added_targets or removed_targets');
    }
    if (!replace && add.length === 0 && remove.length === 0) {
      throw new InputError('one of new_targets, added_targets or removed_targets is required');
    }
    if (add.some((t) => remove.includes(t))) throw new InputError('added_targets and removed_targets must not overlap');
    return { id, replace, add, remove };
  });
  return withActivities(s.ports.activities, app.appId, parsed.map((p) => p.id), async () => {
    const found = await s.ports.activities.getActivities(app.appId, parsed.map((p) => p.id));
    const current = new Map<string, ActivityRecord>();
    const results: ToTargetsResult[] = [];
    for (const p of parsed) {
      const prev = current.get(p.id) ?? found.get(p.id);
      if (!prev) throw new NotFoundError(`activity ${p.id} does not exist`);
      const next = p.replace
        ? p.replace
        : prev.to.filter((t) => !p.remove.includes(t)).concat(p.add.filter((t) => !prev.to.includes(t)));
      if (next.length > MAX_TO_TARGETS) throw new InputError(`to has more than ${MAX_TO_TARGETS} targets`);
      const added = next.filter((t) => !prev.to.includes(t));
      const removed = prev.to.filter((t) => !next.includes(t));
      const updated: ActivityRecord = { ...rebuildActivity(prev, parseBody(prev.body), next), home: prev.home };
      current.set(p.id, updated);
      results.push({ activity: updated, added, removed });
    }
    // Feeds change once per activity, by the net difference between its `to` before the request and
    // after the last item: a target one item adds and a later one removes (or the reverse) ends as
    // the last item left it.
    const work = new FeedWork(current.values());
    const spreads: Spread[] = [];
    const bySteps: Spread[][] = [];
    for (const [id, updated] of current) {
      const before = found.get(id)!.to;
      const mine: Spread[] = [];
      for (const t of updated.to.filter((x) => !before.includes(x))) {
        work.add(app, t, id, null);
        mine.push({ kind: 'fanout.add', source: t, ids: [id] });
      }
      for (const t of before.filter((x) => !updated.to.includes(x) && x !== updated.home)) {
        work.ops.push({ kind: 'remove', feed: t, ids: [id], origin: null });
        mine.push({ kind: 'fanout.remove', source: t, ids: [id] });
      }
      spreads.push(...mine);
      bySteps.push(mine);
    }
    const intents = await planIntents(s, app, spreads);
    const records = [...current.values()];
    let k = 0;
    const steps: WriteStep[] = records.map((a, i) => {
      const mine = intents.slice(k, (k += bySteps[i].length)).filter((x) => x !== null);
      const r = results.filter((x) => x.activity.id === a.id);
      const audit = auditBatch(s, r.map((x) => activityChange(x.activity, 'updated', { to_added: x.added, to_removed: x.removed })));
      // Written only over the body it was made from (another process may have written since).
      return { activity: a, expectBody: found.get(a.id)!.body, ...(mine.length > 0 ? { intents: mine } : {}), ...(audit ? { audit } : {}) };
    });
    await runWrite(s, app, steps, { work, spreads, intents, activities: records });
    return results.map((r) => ({ ...r, activity: current.get(r.activity.id)! }));
  });
}
