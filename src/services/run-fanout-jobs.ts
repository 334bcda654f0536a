import type { PlanActivities } from '../core/fanout/plan.js';
import { PlanActivities as Acts } from '../core/fanout/plan.js';
import type { App } from '../core/feeds/feed-group.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { QueuedIntent } from '../ports/intent-queue.js';
import type { Uses } from './context.js';
import { applyFeedWork, Changes, FeedWork, followerWork, mergeWork, planActivities, publish } from './write-step.js';

/** What running claimed fan-out jobs uses. */
export type FanoutJobDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'timelines', 'fanout' | 'realtime'>;

/**
 * How long a claimed intent is held by its worker without progress before another may take it
 * (ms, the store's clock), and how long an inline intent is left to the writer that committed it
 * before a worker repairs it; the default of `fanout.lease_s`. Every applied chunk renews the lease
 * of the intents it advanced.
 */
export const LEASE_MS = 30_000;

/** Told of every intent finished by the worker, with the time since it was written (seconds). */
export type AppliedListener = (kind: QueuedIntent['kind'], lagSeconds: number) => void;

/**
 * Applies claimed intents (the fan-out strategy of DESIGN.md): followers are paged in chunks; the
 * operations of up to `chunkSize` followers are applied together, then the intents' cursors are
 * recorded (renewing their leases) and finished intents completed, so small intents share a
 * commit and a crash resumes from the last recorded cursor. Every operation is idempotent, so
 * redoing a chunk is harmless.
 *
 * Intents whose writer died before completing them (`inline`, claimed after their lease) are
 * repaired: the written feed's own operation first, then its followers, as the writer would have.
 *
 * `stopping` is asked after every applied chunk: once it says yes the round ends there, and the
 * intents keep their cursors in the queue (their leases run out; the next process resumes them).
 *
 * Returns the number of intents finished. A failure is thrown as it comes; chunks applied before
 * it stay (they are idempotent), the rest of the intents stay queued.
 */
export async function runFanoutJobs(
  s: FanoutJobDeps,
  apps: ReadonlyMap<string, App>,
  intents: readonly QueuedIntent[],
  stopping: () => boolean = () => false,
  onApplied?: AppliedListener,
  open?: Map<string, string | null>,
): Promise<number> {
  if (intents.length === 0) return 0;
  let work = new FeedWork();
  let progress: { id: string; cursor: string }[] = [];
  let complete: QueuedIntent[] = [];
  let followersInBatch = 0;
  let finished = 0;
  // Intents are grouped per app in a batch, since operations are scoped to one app.
  let batchApp: App | null = null;
  let batchAppId: string | null = null;
  let activities = new Map<string, ActivityRecord>();

  // One chunk may be on its way to the store while the next is planned (follower pages read,
  // operations built): with the store's writes on another thread (SQLite's writer thread, a
  // networked store) planning and applying overlap. Cursors and completions are still recorded
  // in chunk order, each after its chunk's operations were applied.
  let inflight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batchAppId === null) return;
    if (work.empty && progress.length === 0 && complete.length === 0) return;
    // The chunk's operations are not kept past their handing over (a chunk holds an object per
    // follower): the record below keeps only its intents and activities.
    const chunk = { app: batchApp, progress, complete, activities };
    const chunkWork = work;
    work = new FeedWork();
    progress = [];
    complete = [];
    activities = new Map();
    followersInBatch = 0;
    // The chunk's intents are claimed and stay queued until it is recorded: they cover it.
    const applied = chunk.app && !chunkWork.empty ? applyFeedWork(s, chunk.app, chunkWork, { covered: true }) : Promise.resolve(new Changes());
    // Settled at once so that a failure is not reported as unhandled before its turn comes.
    applied.catch(() => undefined);
    const before = inflight;
    const recorded = (async () => {
      await before;
      const changes = await applied;
      const now = Date.now();
      await Promise.all([
        chunk.progress.length > 0 ? s.ports.intents.progress(chunk.progress) : undefined,
        chunk.complete.length > 0 ? s.ports.intents.complete(chunk.complete.map((i) => i.id)) : undefined,
        chunk.app ? publish(s, chunk.app, changes, [...chunk.activities.values()]) : undefined,
      ]);
      for (const i of chunk.complete) if (i.queuedAt !== null) onApplied?.(i.kind, Math.max(0, now - i.queuedAt) / 1000);
      for (const p of chunk.progress) open?.set(p.id, p.cursor);
      for (const i of chunk.complete) open?.delete(i.id);
      finished += chunk.complete.length;
    })();
    recorded.catch(() => undefined);
    inflight = recorded;
    // At most this chunk in flight while the next one is planned.
    await before;
  };

  for (const intent of intents) {
    if (stopping()) break;
    const app = apps.get(intent.app);
    if (batchAppId !== null && batchAppId !== intent.app) await flush();
    batchAppId = intent.app;
    batchApp = app ?? null;
    if (!app) {
      // The app was removed from the configuration: nothing left to deliver to.
      complete.push(intent);
      continue;
    }
    if (intent.kind === 'fanout.remove') {
      // Operations on grouped feeds merge removals before adds: a removal must not share a
      // batch with an earlier intent's adds of the same activity, nor overtake them (a group
      // merge that meets a conflict is read and written again, after later ones).
      await flush();
      await inflight;
    }
    await runIntent(s, app, intent, {
      add(w, followers, cursor, acts) {
        mergeWork(work, w);
        followersInBatch += followers;
        if (acts) for (const a of acts) activities.set(a.id, a);
        if (cursor !== null) progress.push({ id: intent.id, cursor });
        else complete.push(intent);
      },
      full: () => followersInBatch >= s.fanout.chunkSize,
      flush,
      stopping,
    });
  }
  await flush();
  await inflight;
  return finished;
}

interface ChunkSink {
  /** One page's operations, how many followers it covered, the cursor reached (null: the intent is done). */
  add(work: FeedWork, followers: number, cursor: string | null, acts: readonly ActivityRecord[] | null): void;
  full(): boolean;
  flush(): Promise<void>;
  /** Whether to leave the intent after the chunk just applied (shutdown). */
  stopping(): boolean;
}

/**
 * The ids of `intent` that still need spreading: for an add, those still written directly in the
 * source feed; for a removal, those no longer there. An intent can be overtaken while queued — the
 * activity removed by a later write, or added again after its removal was queued — and replaying
 * it as it was would bring back or take away an activity for good.
 */
async function liveIds(s: Uses<'timelines'>, app: App, intent: QueuedIntent): Promise<readonly string[]> {
  const direct = new Set((await s.ports.timelines.entriesOf(app.appId, intent.source, intent.ids)).filter((e) => e.origin === null).map((e) => e.id));
  return intent.ids.filter((id) => direct.has(id) === (intent.kind === 'fanout.add'));
}

async function runIntent(s: FanoutJobDeps, app: App, intent: QueuedIntent, sink: ChunkSink): Promise<void> {
  let cursor = intent.cursor;
  const loaded: { records: Map<string, ActivityRecord> | null } = { records: null };
  const load = async () => (loaded.records ??= await s.ports.activities.getActivities(app.appId, intent.ids));
  let acts: PlanActivities | null = null;
  const actsOf = async () => (acts ??= new Acts(planActivities((await load()).values())));
  const pulled = (await s.ports.follows.pullServed(app.appId, [intent.source])).has(intent.source);
  if (intent.mode === 'inline' && cursor === null) {
    // The writer died between its step and its operations: its own feed's operation first.
    const records = await load();
    const own = new FeedWork(planActivities(records.values()));
    if (intent.kind === 'fanout.add') for (const id of intent.ids) if (records.has(id)) own.add(app, intent.source, id, null);
    if (intent.kind === 'fanout.remove') own.ops.push({ kind: 'remove', feed: intent.source, ids: intent.ids, origin: null });
    if (!own.empty) await applyFeedWork(s, app, own, { covered: true });
  }
  for (;;) {
    const ids = await liveIds(s, app, intent);
    if (ids.length === 0) {
      // Nothing left to spread: finish without walking the remaining followers.
      sink.add(new FeedWork(), 0, null, null);
      return;
    }
    const page = await followerWork(s, app, { kind: intent.kind, source: intent.source, ids }, pulled, cursor, s.fanout.chunkSize, actsOf);
    sink.add(page.work, page.followers, page.next, loaded.records ? [...loaded.records.values()] : null);
    if (sink.full()) {
      await sink.flush();
      if (sink.stopping()) return;
      // Store calls may complete synchronously (embedded store): give requests a turn between
      // chunks so a huge fan-out never stalls the API.
      await new Promise((r) => setImmediate(r));
    }
    if (page.next === null) return;
    cursor = page.next;
  }
}
