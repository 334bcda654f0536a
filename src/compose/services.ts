import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { App } from '../core/feeds/feed-group.js';
import type { Clock } from '../ports/clock.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import type { PubSub } from '../ports/pubsub.js';
import type { RecordStores } from '../ports/record-stores.js';
import type { Store } from '../ports/store.js';
import { ChangeCache } from '../services/change-cache.js';
import { TimeSource, type Services } from '../services/context.js';
import { RealtimePublisher } from '../services/publish-changes.js';
import { timeStore } from '../services/timed-store.js';
import { FanoutWorker } from '../workers/fanout-worker.js';
import { SignalWorker } from '../workers/signal-worker.js';
import { ActivitySweeper } from '../workers/activity-sweeper.js';
import { clock as systemClock, imageLabeler, modelStore, openRecords, openStore } from './adapters.js';
import { PersonalizationRuntime } from '../services/personalization/runtime.js';

/**
 * The core of every Rivulet process — `serve`, each process of `serve --workers`, its primary and
 * `rivulet worker` — built the same way: the store (timed when metrics are on), the realtime
 * publisher every commit goes through, and the services over them. What differs between processes is only what they run on top (HTTP,
 * the workers) and which pubsub and metrics they are given.
 */
export interface Core {
  readonly config: Config;
  readonly apps: ReadonlyMap<string, App>;
  /** The store as opened (no timing, no publishing): for records and lifecycle calls. */
  readonly base: Store;
  /** The store every use case and worker uses: timed when metrics are on. */
  readonly store: Store;
  /** Publishes each commit of the services to realtime subscribers (the step after every commit). */
  readonly realtime: RealtimePublisher;
  readonly records: RecordStores;
  readonly services: Services;
  /** Where the fan-out lag of applied intents goes. */
  readonly metrics: Metrics;
  /** Carries realtime events, and fan-out wake-ups between processes (see ports/pubsub.ts). */
  readonly pubsub: PubSub;
  /**
   * Who to wake in this process once a commit queued work; set once the workers (or another
   * process's) exist. Fan-out jobs are also announced to every other process through
   * `pubsub.jobsQueued` (on Redis), whose fan-out workers then claim at once.
   */
  readonly wake: { jobsEnqueued: () => void; contentQueued: () => void; eventsRecorded: () => void };
}

export interface CoreOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Carries realtime events (see ports/pubsub.ts). */
  readonly pubsub: PubSub;
  readonly metrics?: Metrics;
  readonly clock?: Clock;
  /** Use this store instead of opening the configured one (tests). */
  readonly store?: Store;
  /** File index, flags, audit log (default: kept beside the store's data). */
  readonly records?: RecordStores;
}

/**
 * The cache of the parts many reads share (see `Services.parts`), with its own budget
 * (`read_cache.parts_mb`), only over a store with change marks.
 */
function sharedPartsCache(store: Store, bytes: number): ChangeCache<string | Buffer> | undefined {
  if (!store.changes || bytes <= 0) return undefined;
  // Without a local mark (a store shared by many nodes) every look reads the change marks.
  return new ChangeCache<string | Buffer>(bytes, store.changeMark?.bind(store) ?? null, store.changes, (part) => (typeof part === 'string' ? 2 * part.length : part.length));
}

/** Opens the store the config names and builds the services over it. */
export async function openCore(o: CoreOptions): Promise<Core> {
  const base = o.store ?? (await openStore(o.config));
  const metrics = o.metrics ?? noMetrics;
  const apps = new Map(o.config.apps.map((a) => [a.appId, a]));
  const clock = o.clock ?? systemClock;
  const realtimeLog = o.logger.child({ component: 'realtime' });
  const store = metrics === noMetrics ? base : timeStore(base, metrics);
  const realtime = new RealtimePublisher(store.ports, {
    pubsub: o.pubsub,
    apps,
    clock,
    onError: (err) => realtimeLog.error({ err }, 'realtime publish failed'),
  });
  const records = o.records ?? openRecords(base);
  const wake = { jobsEnqueued: () => {}, contentQueued: () => {}, eventsRecorded: () => {} };
  const services: Services = {
    ports: store.ports,
    signalStore: store.signals,
    changes: store.changes,
    changeMark: store.changeMark?.bind(store),
    realtime,
    clock: new TimeSource(clock),
    fanout: o.config.fanout,
    signals: { settings: o.config.signals, onContentQueued: () => wake.contentQueued(), onEventsRecorded: () => wake.eventsRecorded() },
    personalization: new PersonalizationRuntime(o.config.personalized, modelStore(base)),
    audit: records.audit,
    flags: records.flags,
    userData: records.userData,
    hideFlagged: o.config.moderation.hideFlagged,
    parts: sharedPartsCache(store, o.config.readPartsBytes),
    onJobsEnqueued: () => {
      wake.jobsEnqueued();
      o.pubsub.jobsQueued?.();
    },
  };
  return { config: o.config, apps, base, store, realtime, records, services, wake, metrics, pubsub: o.pubsub };
}

export interface Workers {
  readonly fanout: FanoutWorker;
  /** The signal pipeline's worker (content jobs, event retention); runs beside the fan-out worker. */
  readonly signals: SignalWorker;
  /** Deletes activities no feed holds any more (see `storage.activity_retention_s`). */
  readonly sweeper: ActivitySweeper;
  start(): void;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** How often each worker looks at its queue when not woken (ms); `fanout.poll_ms` of the config wins. */
  readonly fanoutPollMs?: number;
  readonly signalPollMs?: number;
  /** Told of every failed fan-out round or job (after it is logged), e.g. to notice corrupt data. */
  readonly onFailure?: (err: unknown) => void;
}

/**
 * The fan-out and signal workers over `core`, not started. Commits through `core` wake them from
 * now on (a process whose jobs are run elsewhere sets `core.wake` itself instead).
 */
export function buildWorkers(core: Core, logger: Logger, o: WorkerOptions = {}): Workers {
  const fanout = new FanoutWorker(() => core.services, core.apps, logger.child({ component: 'fanout' }), {
    pollMs: core.config.fanout.pollMs ?? o.fanoutPollMs,
    onFailure: o.onFailure,
    onApplied: (kind, lag) => core.metrics.fanoutApplied(kind, lag),
  });
  const signals = new SignalWorker(() => core.services, [...core.apps.keys()], logger.child({ component: 'signals' }), {
    pollMs: o.signalPollMs,
    labeler: imageLabeler,
  });
  const sweeper = new ActivitySweeper(core.store, [...core.apps.keys()], logger.child({ component: 'activity-sweep' }), {
    retentionMs: core.config.storage.activityRetentionMs,
    everyMs: core.config.storage.activitySweepIntervalMs,
  });
  core.wake.jobsEnqueued = () => fanout.wake();
  core.wake.contentQueued = () => signals.wake();
  core.wake.eventsRecorded = () => signals.wakeLearner();
  // This process learns: the signal worker steps each app's model from the event log.
  core.services.personalization?.becomeLearner();
  // Jobs committed by another process (an API node) are claimed as soon as it says so, while the
  // worker runs (a worker created and not started, as tests drive it, stays put); the poll finds
  // those whose wake-up was lost.
  core.pubsub.onJobsQueued?.(() => {
    if (fanout.status().running) fanout.wake();
  });
  return {
    fanout,
    signals,
    sweeper,
    start() {
      fanout.start();
      signals.start();
      sweeper.start();
    },
    async stop() {
      await Promise.all([fanout.stop(), signals.stop(), sweeper.stop()]);
    },
  };
}

/**
 * Marks the follow edges of aggregated and notification feeds, which pull-served fan-out reads.
 * Group types come from the config, so every process that starts on a config runs this first.
 */
export async function syncGroupedEdges(config: Config, store: Store): Promise<void> {
  for (const app of config.apps) {
    await store.ports.follows.syncGroupedEdges(app.appId, [...app.groups.values()].filter((g) => g.type !== 'flat').map((g) => g.name));
  }
}
