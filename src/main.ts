import { ChangeCache } from './services/change-cache.js';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { MemoryPubSub } from './adapters/memory/memory-pubsub.js';
import { MemoryRateLimiter } from './adapters/memory/memory-rate-limiter.js';
import { PrometheusMetrics } from './adapters/prometheus/prometheus-metrics.js';
import { SqliteStore } from './adapters/sqlite/sqlite-store.js';
import { sqliteRecords } from './adapters/sqlite/sqlite-records.js';
import { LocalBlobStore } from './adapters/local/local-blob-store.js';
import { SafeFetcher } from './adapters/http/safe-fetcher.js';
import { SharpImages } from './adapters/sharp/sharp-images.js';
import type { SqliteDatabase } from './adapters/sqlite/database.js';
import type { BlobStore } from './ports/blob-store.js';
import type { PageFetcher } from './ports/page-fetcher.js';
import type { RecordStores } from './ports/record-stores.js';
import type { FileStorageConfig } from './config/config.js';
import type { FileServices } from './services/files.js';
import { OpenGraph } from './services/open-graph.js';
import { recordConfig } from './services/audit.js';
import { systemClock } from './adapters/system-clock.js';
import { sqlitePath, type Config } from './config/config.js';
import type { App } from './core/feeds/feed-group.js';
import { buildHttp } from './http/app.js';
import { startMetricsServer } from './http/plugins/metrics.js';
import type { Clock } from './ports/clock.js';
import { noMetrics, type Metrics } from './ports/metrics.js';
import type { PubSub } from './ports/pubsub.js';
import type { IntegrityReport, Store } from './ports/store.js';
import { FayeServer } from './realtime/faye-server.js';
import { TimeSource, type Services } from './services/context.js';
import { Integrity } from './services/integrity.js';
import { StoreError } from './core/errors.js';
import { publishChanges } from './services/publish-changes.js';
import { queueStats } from './services/queue-stats.js';
import { migrationsCheck, startedCheck, storeCheck, workerCheck, type ReadinessCheck } from './services/readiness.js';
import { timeStore } from './services/timed-store.js';
import { FanoutWorker } from './workers/fanout-worker.js';
import { SignalWorker } from './workers/signal-worker.js';
import { ActivitySweeper } from './workers/activity-sweeper.js';

export interface RivuletOptions {
  readonly config: Config;
  readonly logger?: Logger;
  /**
   * Run the in-process fan-out worker (default true); `'manual'` creates it without starting it,
   * so tests drain the queue deterministically with `worker.drainAll()`.
   */
  readonly worker?: boolean | 'manual';
  readonly clock?: Clock;
  /** Use this store instead of opening the configured one (tests). */
  readonly store?: Store;
  /** Realtime endpoint settings (tests shorten the timeout to see dropped clients quickly). */
  readonly realtime?: { readonly timeoutSeconds?: number; readonly maxSubscriptionsPerClient?: number; readonly portableClients?: boolean };
  /** Carries realtime events and listener counts (default: within this process only). */
  readonly pubsub?: PubSub;
  /** Told after a commit that queued fan-out jobs (to wake a fan-out worker in another process). */
  readonly onJobsEnqueued?: () => void;
  /** Mark grouped follow edges before listening (default true; false where another process did). */
  readonly syncGroupedEdges?: boolean;
  /** Where metrics go (default: Prometheus, unless `metrics.enabled` is false in the config). */
  readonly metrics?: Metrics;
  /** Checks `/readyz` runs besides the built-in ones (store, migrations, fan-out worker). */
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** File index, flags and audit log (default: on the SQLite database of `store`). */
  readonly records?: RecordStores;
  /** Fetches pages for link previews (default: the address-checking fetcher of `config.og`). */
  readonly fetcher?: PageFetcher;
}

/** The blob store the config names: a directory, or an S3-compatible bucket (its SDK loaded only then). */
export async function openBlobStore(c: FileStorageConfig): Promise<BlobStore> {
  if (c.backend === 'local') return new LocalBlobStore(c.path);
  const { S3BlobStore } = await import('./adapters/s3/s3-blob-store.js');
  return new S3BlobStore(c);
}

/** The record stores of a store built on SQLite (also through a wrapper that passes `database` on). */
function recordsOf(store: Store): RecordStores {
  const database = (store as { database?: SqliteDatabase }).database;
  if (!database) throw new Error('this store keeps no records: pass RivuletOptions.records');
  return sqliteRecords({ database, commit: (app, batch) => store.commit(app, batch) });
}

/**
 * Marks the follow edges of aggregated and notification feeds, which pull-served fan-out reads.
 * Group types come from the config, so every process that starts on a config runs this first.
 */
export async function syncGroupedEdges(config: Config, store: Store): Promise<void> {
  for (const app of config.apps) {
    await store.syncGroupedEdges(app.appId, [...app.groups.values()].filter((g) => g.type !== 'flat').map((g) => g.name));
  }
}

/** The background sweep of activities no feed holds any more, with the config's retention. Not started. */
export function activitySweeper(config: Config, store: Store, logger: Logger): ActivitySweeper {
  return new ActivitySweeper(store, config.apps.map((a) => a.appId), logger.child({ component: 'activity-sweep' }), {
    retentionMs: config.storage.activityRetentionMs,
    everyMs: config.storage.activitySweepIntervalMs,
  });
}

export interface Rivulet {
  readonly http: FastifyInstance;
  readonly services: Services;
  /** The store every use case writes through: commits are published to realtime subscribers. */
  readonly store: Store;
  readonly worker: FanoutWorker | null;
  /** The signal pipeline's worker (content jobs, retention); runs with the fan-out worker. */
  readonly signalWorker: SignalWorker | null;
  /** Deletes activities no feed holds any more (see `storage.activity_retention_s`); runs with the fan-out worker. */
  readonly activitySweeper: ActivitySweeper | null;
  readonly apps: ReadonlyMap<string, App>;
  readonly pubsub: PubSub;
  /** The Faye endpoint at `/faye` on the API's port. */
  readonly realtime: FayeServer;
  /** The data's health: the integrity check at start (begun by `listen`) and corruption seen since. */
  readonly integrity: Integrity;
  /** Settles when the integrity check begun by `listen` answered (null: no check). */
  integrityChecked(): Promise<IntegrityReport | null>;
  readonly metrics: Metrics;
  /** Where `GET /metrics` is served once listening (the API's address, or `metrics.port`'s); null when off. */
  readonly metricsUrl: () => string | null;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

/** Whether `p` settles within `ms` (it is left running either way). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The cache of the parts enriched reads share (see `Services.enriched`): half the read cache's
 * budget beside it, and only over a store with change marks (off with the read cache).
 */
function sharedPartsCache(store: Store, readCacheBytes: number): ChangeCache<string> | undefined {
  const mark = store.changeMark?.bind(store);
  if (!mark || !store.changes || readCacheBytes <= 0) return undefined;
  return new ChangeCache<string>(readCacheBytes / 2, mark, store.changes, (text) => 2 * text.length);
}

/** The composition root: config → store → services → HTTP, realtime and the fan-out worker. */
export async function createRivulet(opts: RivuletOptions): Promise<Rivulet> {
  const logger = opts.logger ?? pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'info' });
  const apps = new Map(opts.config.apps.map((a) => [a.appId, a]));
  const clock = opts.clock ?? systemClock;
  const pubsub: PubSub = opts.pubsub ?? new MemoryPubSub();
  const realtimeLog = logger.child({ component: 'realtime' });
  const metrics = opts.metrics ?? (opts.config.metrics.enabled ? new PrometheusMetrics({ historyIntervalMs: opts.config.metrics.historyIntervalS * 1000 }) : noMetrics);
  const base = opts.store ?? new SqliteStore(sqlitePath(opts.config));
  const store = publishChanges(metrics === noMetrics ? base : timeStore(base, metrics), {
    pubsub,
    apps,
    clock,
    onError: (err) => realtimeLog.error({ err }, 'realtime publish failed'),
  });
  const records = opts.records ?? recordsOf(base);
  const blobs = await openBlobStore(opts.config.files.storage);
  const time = new TimeSource(clock);
  let worker: FanoutWorker | null = null;
  let contentWorker: SignalWorker | null = null;
  let sweeper: ActivitySweeper | null = null;
  const services: Services = {
    store,
    clock: time,
    fanout: opts.config.fanout,
    signals: { settings: opts.config.signals, onContentQueued: () => contentWorker?.wake() },
    audit: records.audit,
    flags: records.flags,
    userData: records.userData,
    hideFlagged: opts.config.moderation.hideFlagged,
    enriched: sharedPartsCache(store, opts.config.readCacheBytes),
    // A 'manual' worker runs only when a test calls drainAll(), so queue states stay observable.
    onJobsEnqueued: () => {
      if (opts.worker !== 'manual') worker?.wake();
      opts.onJobsEnqueued?.();
    },
  };
  const integrity = new Integrity(logger.child({ component: 'integrity' }));
  if (opts.worker !== false) {
    worker = new FanoutWorker(() => services, apps, logger.child({ component: 'fanout' }), {
      onFailure: (err) => {
        if (err instanceof StoreError && err.corrupt) integrity.corruptionSeen(err);
      },
    });
    contentWorker = new SignalWorker(() => services, [...apps.keys()], logger.child({ component: 'signals' }));
    sweeper = activitySweeper(opts.config, store, logger);
  }
  const files: FileServices = {
    files: records.files,
    blobs,
    images: new SharpImages(),
    clock: time,
    settings: { maxBytes: opts.config.files.maxBytes, publicUrl: opts.config.files.publicUrl },
    audit: records.audit,
  };
  let ready = false;
  let closing = false;
  let checked: Promise<IntegrityReport | null> = Promise.resolve(null);
  const checks = [
    startedCheck(() => ready),
    storeCheck(store),
    migrationsCheck(store),
    workerCheck(worker, opts.worker === undefined || opts.worker === true),
    integrity.readinessCheck(),
    ...(opts.readinessChecks ?? []),
  ].filter((c): c is ReadinessCheck => c !== null);
  const separateMetrics = metrics !== noMetrics && opts.config.metrics.port !== undefined;
  let metricsServer: { url: string; close(): Promise<void> } | null = null;
  let apiAddress: string | null = null;
  const metricsUrl = () => (metricsServer ? metricsServer.url : apiAddress && metrics !== noMetrics ? `${apiAddress}/metrics` : null);
  const http = await buildHttp({
    apps: opts.config.apps,
    services,
    logger,
    ready: () => ready,
    closing: () => closing,
    readCacheBytes: opts.config.readCacheBytes,
    limits: opts.config.limits,
    integrity,
    rateLimiter: opts.config.apps.some((a) => a.rateLimits) ? new MemoryRateLimiter() : undefined,
    readiness: checks,
    metrics: metrics === noMetrics ? undefined : metrics,
    serveMetrics: metrics !== noMetrics && !separateMetrics ? { token: opts.config.metrics.token } : null,
    dashboard: opts.config.dashboard.enabled ? { pubsub, metrics, operatorToken: opts.config.dashboard.operatorToken, metricsUrl } : undefined,
    files,
    og: new OpenGraph(opts.fetcher ?? new SafeFetcher(opts.config.og), opts.config.og),
  });
  const realtime = new FayeServer({
    apps: opts.config.apps,
    pubsub,
    logger: realtimeLog,
    maxUnauthenticatedPerAddress: opts.config.realtime.maxUnauthenticatedPerAddress,
    maxUnauthenticated: opts.config.realtime.maxUnauthenticated,
    trustProxy: opts.config.trustProxy,
    ...opts.realtime,
  });
  realtime.attach(http.server);
  metrics.sources({ queue: () => queueStats(store), realtime: () => realtime.stats() });
  return {
    http,
    services,
    store,
    worker,
    signalWorker: contentWorker,
    activitySweeper: sweeper,
    apps,
    pubsub,
    realtime,
    integrity,
    integrityChecked: () => checked,
    metrics,
    metricsUrl,
    async listen(port, host) {
      await store.ready?.();
      if (opts.syncGroupedEdges !== false) {
        await syncGroupedEdges(opts.config, store);
        for (const app of opts.config.apps) await recordConfig(services, app);
      }
      if (separateMetrics) {
        metricsServer = await startMetricsServer({
          metrics,
          host: opts.config.metrics.host ?? host,
          port: opts.config.metrics.port!,
          token: opts.config.metrics.token,
        });
      }
      const address = await http.listen({ port, host });
      apiAddress = address;
      if (opts.worker !== 'manual') {
        worker?.start();
        contentWorker?.start();
        sweeper?.start();
      }
      ready = true;
      // Beside serving, in its own thread: readiness waits for its answer (see /readyz).
      checked = integrity.checkAtStart(store, opts.config.integrityCheckMs);
      return address;
    },
    async close() {
      // Everything below is bounded by the grace period: requests in flight, then the fan-out
      // round, which stops after its current chunk and leaves the rest queued (as a crash would).
      const deadline = Date.now() + opts.config.shutdownGraceMs;
      ready = false;
      closing = true;
      // Realtime first: it ends held long-polls and WebSockets, which would keep http.close() waiting.
      await realtime.close();
      // In-flight requests get a grace period; then every connection is cut, so that a client
      // holding a socket open (a stalled long-poll, a keep-alive pool) cannot hold up shutdown.
      const cut = setTimeout(() => http.server.closeAllConnections(), Math.min(2000, opts.config.shutdownGraceMs));
      cut.unref();
      await http.close();
      clearTimeout(cut);
      const workers = Promise.all([worker?.stop(), contentWorker?.stop(), sweeper?.stop()]);
      if (!(await within(workers, deadline - Date.now()))) {
        logger.warn({ grace_ms: opts.config.shutdownGraceMs }, 'the workers did not stop within the grace period; their queued jobs resume at the next start');
      }
      await metricsServer?.close();
      metrics.close();
      await pubsub.close();
      await blobs.close();
      await store.close();
    },
  };
}
