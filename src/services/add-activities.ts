import { finishActivity, parseActivity, type ActivityDraft, type StoredActivity } from '../core/activities/activity.js';
import { InputError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { WriteStep } from '../ports/intent-queue.js';
import { groupOf, type Services, type Uses } from './context.js';
import { FeedWork, planIntents, runWrite, type Spread } from './write-step.js';
import { contentQueued } from './signals/signal-context.js';
import { activityChange, auditBatch } from './audit.js';
import { bodyTarget } from './signed-targets.js';
import { checkReplacements, type AddPolicy } from './user-policy.js';

/** What adding activities uses (the write path, replaced activities, audit, content jobs). */
export type AddActivityDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'timelines', 'audit' | 'clock' | 'fanout' | 'onJobsEnqueued' | 'realtime' | 'signalStore' | 'signals'>;

export const MAX_BATCH_ACTIVITIES = 100;

/** Re-throws a validation error of item `index` with the index in its detail (§23.2). */
export function atIndex<T>(index: number, batch: boolean, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (batch && err instanceof InputError) {
      throw new InputError(`activities[${index}]: ${err.message}`, { fields: err.fields });
    }
    throw err;
  }
}

/**
 * Validates activities and fixes their ids and times. Drafts without `time` get strictly
 * increasing server times in array order; two items with the same foreign_id + time are one
 * activity (the later wins, §23.2). Returns one activity per input, in input order, so a batch
 * answer still lines up with its request; duplicates share the winning object.
 */
export function prepareActivities(
  s: Pick<Services, 'clock'>,
  app: App,
  inputs: readonly unknown[],
  batch: boolean,
  checkDraft?: (draft: ActivityDraft, index: number) => void,
): StoredActivity[] {
  if (inputs.length > MAX_BATCH_ACTIVITIES) throw new InputError(`at most ${MAX_BATCH_ACTIVITIES} activities per request`);
  const drafts: ActivityDraft[] = inputs.map((input, i) =>
    atIndex(i, batch, () => parseActivity(input, (v) => bodyTarget(app, v, 'to').fid)),
  );
  if (checkDraft) drafts.forEach(checkDraft);
  const finished = drafts.map((d, i) =>
    atIndex(i, batch, () => (d.timeUs !== undefined && d.timeUs !== null ? finishActivity(d, d.timeUs) : finishActivity(d, s.clock.next(), s.clock.writer))),
  );
  const winner = new Map<string, StoredActivity>();
  for (const act of finished) winner.set(act.id, act);
  return finished.map((act) => winner.get(act.id)!);
}

/**
 * Adds activities to `feed` (stream-v2-api.md §6.1, §6.2): stores them, puts them into the feed and
 * every `to` target (origin null), and fans them out to the followers of the feed and of each
 * target (origin = that feed), all in one commit. Returns the stored activities in input order
 * (as JSON with `origin: null`). `policy` limits what a user token may write (see user-policy.ts).
 */
export async function addActivities(
  s: AddActivityDeps,
  app: App,
  feed: FeedId,
  inputs: readonly unknown[],
  batch: boolean,
  policy?: AddPolicy,
): Promise<StoredActivity[]> {
  groupOf(app, feed);
  const acts = prepareActivities(s, app, inputs, batch, policy?.checkDraft);
  const unique = [...new Set(acts)];
  if (policy) await checkReplacements(s, app, unique.map((a) => a.id), policy.owner);
  const records: ActivityRecord[] = unique.map((a) => ({ ...a, home: feed.fid }));
  // Each activity is one step: its record with the intents that spread it from its feed and from
  // each `to` target (origin null there, origin = that feed in their followers).
  const work = new FeedWork(acts);
  const spreads: Spread[] = [];
  const sourcesOf = records.map((a) => [feed.fid, ...a.to.filter((t) => t !== feed.fid)]);
  records.forEach((a, i) => {
    for (const f of sourcesOf[i]) {
      work.add(app, f, a.id, null);
      spreads.push({ kind: 'fanout.add', source: f, ids: [a.id] });
    }
  });
  const intents = await planIntents(s, app, spreads);
  let k = 0;
  const steps: WriteStep[] = records.map((a, i) => {
    const mine = intents.slice(k, (k += sourcesOf[i].length)).filter((x) => x !== null);
    const audit = auditBatch(s, [activityChange(a, 'created', { feed: feed.fid })]);
    return { activity: a, ...(mine.length > 0 ? { intents: mine } : {}), ...(audit ? { audit } : {}) };
  });
  // The content job (tags for personalization) is handed over in the same turn, so the embedded
  // store commits it in the activity's transaction; it runs later, off the request path.
  await runWrite(s, app, steps, {
    work,
    spreads,
    intents,
    activities: records,
    beside: () => s.signalStore.recordSignals(app.appId, { contentJobs: unique.map((a) => a.id) }),
    workWithStep: true,
  });
  contentQueued(s);
  // Answer with the stored form; when an existing activity was updated in place its body is the
  // new one, which is what a later read returns.
  return acts;
}

/**
 * Adds one activity to many feeds with the same id and origin null (§6.8). No fan-out to their
 * followers. Activities with `to` are refused.
 */
export async function addToMany(s: AddActivityDeps, app: App, input: unknown, feeds: unknown): Promise<void> {
  if (!Array.isArray(feeds)) throw new InputError('feeds must be an array of feed ids');
  if (feeds.length > 5000) throw new InputError('at most 5000 feeds per add_to_many');
  const targets = [...new Set(feeds.map((f) => bodyTarget(app, f, 'feeds').fid))];
  if (targets.length === 0) throw new InputError('feeds must not be empty');
  if (typeof input === 'object' && input !== null && 'to' in input && (input as { to: unknown }).to !== undefined) {
    const to = (input as { to: unknown }).to;
    if (!Array.isArray(to) || to.length > 0) throw new InputError('add_to_many does not accept activities with to targets');
  }
  const [act] = prepareActivities(s, app, [input], false);
  const record: ActivityRecord = { ...act, home: targets[0] };
  const work = new FeedWork([act]); // parsed once, for every grouped target
  for (const feed of targets) work.add(app, feed, act.id, null);
  const audit = auditBatch(s, [activityChange(act, 'created', { feeds: targets.length > 10 ? targets.length : targets })]);
  await runWrite(s, app, [{ activity: record, ...(audit ? { audit } : {}) }], {
    work,
    spreads: [],
    intents: [],
    activities: [record],
    beside: () => s.signalStore.recordSignals(app.appId, { contentJobs: [act.id] }),
    workWithStep: true,
  });
  contentQueued(s);
}

