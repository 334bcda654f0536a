import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { imageProcessor, localPubSub, openBlobStore, openStore, pageFetcher, processMetrics, rateLimiter, storePubSub } from './compose/adapters.js';
import { createLogger } from './compose/environment.js';
import { buildWorkers, openCore, syncGroupedEdges } from './compose/services.js';
import type { PageFetcher } from './ports/page-fetcher.js';
import type { RecordStores } from './ports/record-stores.js';
import type { FileServices } from './services/files.js';
import { OpenGraph } from './services/open-graph.js';
import { recordConfig } from './services/audit.js';
import type { Config } from './config/config.js';
import type { App } from './core/feeds/feed-group.js';
import { buildHttp } from './http/app.js';
import { startMetricsServer } from './http/plugins/metrics.js';
import { startHealthListener, type HealthListener } from './http/routes/health/health-listener.js';
import type { Clock } from './ports/clock.js';
import { noMetrics, type Metrics } from './ports/metrics.js';
import type { PubSub } from './ports/pubsub.js';
import type { IntegrityReport, Store } from './ports/store.js';
import { FayeServer } from './realtime/faye-server.js';
import type { Services } from './services/context.js';
import { Integrity } from './services/integrity.js';
import { StoreError } from './core/errors.js';
import { queueStats } from './services/queue-stats.js';
import { migrationsCheck, startedCheck, storeCheck, workerCheck, type ReadinessCheck } from './services/readiness.js';
import type { FanoutWorker } from './workers/fanout-worker.js';
import type { SignalWorker } from './workers/signal-worker.js';
import type { ActivitySweeper } from './workers/activity-sweeper.js';

export { openBlobStore } from './compose/adapters.js';
export { syncGroupedEdges } from './compose/services.js';

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

export interface Rivulet {
  readonly http: FastifyInstance;
  readonly services: Services;
  /** The store the use cases read and write (commits are published by `services.realtime`, not by the store). */
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
  /** Where the health listener answers `GET /healthz` once listening (config `health.port`); null when off. */
  readonly healthUrl: () => string | null;
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
 * A server process: the core (store, services; compose/services.ts) with HTTP, realtime and, unless
 * told otherwise, the fan-out and signal workers. Adapters are chosen in compose/adapters.ts.
 */
export async function createRivulet(opts: RivuletOptions): Promise<Rivulet> {
  const logger = opts.logger ?? createLogger();
  const base = opts.store ?? (await openStore(opts.config));
  // A store shared by many nodes carries the pubsub that reaches them all (Redis).
  const pubsub: PubSub = opts.pubsub ?? (await storePubSub(base)) ?? localPubSub();
  const realtimeLog = logger.child({ component: 'realtime' });
  const metrics = opts.metrics ?? processMetrics(opts.config, true) ?? noMetrics;
  const core = await openCore({ config: opts.config, logger, pubsub, metrics, clock: opts.clock, store: base, records: opts.records });
  const { apps, store, records, services } = core;
  const blobs = await openBlobStore(opts.config.files.storage);
  const integrity = new Integrity(logger.child({ component: 'integrity' }));
  const background =
    opts.worker === false
      ? null
      : buildWorkers(core, logger, {
          onFailure: (err) => {
            if (err instanceof StoreError && err.corrupt) integrity.corruptionSeen(err);
          },
        });
  const worker = background?.fanout ?? null;
  const contentWorker = background?.signals ?? null;
  const sweeper = background?.sweeper ?? null;
  // A 'manual' worker runs only when a test calls drainAll(), so queue states stay observable.
  core.wake.jobsEnqueued = () => {
    if (opts.worker !== 'manual') worker?.wake();
    opts.onJobsEnqueued?.();
  };
  const files: FileServices = {
    files: records.files,
    blobs,
    images: imageProcessor(),
    clock: services.clock,
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
  let health: HealthListener | null = null;
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
    rateLimiter: opts.config.apps.some((a) => a.rateLimits) ? rateLimiter(base) : undefined,
    readiness: checks,
    metrics: metrics === noMetrics ? undefined : metrics,
    serveMetrics: metrics !== noMetrics && !separateMetrics ? { token: opts.config.metrics.token } : null,
    dashboard: opts.config.dashboard.enabled ? { pubsub, metrics, operatorToken: opts.config.dashboard.operatorToken, metricsUrl } : undefined,
    files,
    og: new OpenGraph(opts.fetcher ?? pageFetcher(opts.config.og), opts.config.og),
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
    healthUrl: () => health?.url ?? null,
    async listen(port, host) {
      // First, so that a probe sees the server starting rather than a closed port.
      if (opts.config.health.port !== undefined) {
        health = await startHealthListener(
          { host: opts.config.health.host ?? host, port: opts.config.health.port, stallMs: opts.config.health.stallMs },
          (err) => logger.error({ err }, 'the health listener failed'),
        );
        logger.info({ url: health.url }, 'health listener is serving');
      }
      try {
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
        health?.state.setReady(true);
        // Beside serving, in its own thread: readiness waits for its answer (see /readyz).
        checked = integrity.checkAtStart(store, opts.config.integrityCheckMs);
        return address;
      } catch (err) {
        // A server that failed to start leaves no listener behind.
        await health?.close();
        health = null;
        throw err;
      }
    },
    async close() {
      // Everything below is bounded by the grace period: requests in flight, then the fan-out
      // round, which stops after its current chunk and leaves the rest queued (as a crash would).
      const deadline = Date.now() + opts.config.shutdownGraceMs;
      ready = false;
      closing = true;
      health?.state.setClosing(true);
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
      await health?.close();
      metrics.close();
      await pubsub.close();
      await blobs.close();
      await store.close();
    },
  };
}
