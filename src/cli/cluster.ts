import cluster, { type Worker } from 'node:cluster';
import pino from 'pino';
import { ClusterChildPubSub, ClusterPrimaryPubSub } from '../adapters/cluster/cluster-pubsub.js';
import { childMetrics, primaryMetrics } from '../adapters/prometheus/cluster-metrics.js';
import { PrometheusMetrics } from '../adapters/prometheus/prometheus-metrics.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { parseConfigText, sqlitePath } from '../config/config.js';
import { activitySweeper, createRivulet, syncGroupedEdges } from '../main.js';
import { publishChanges } from '../services/publish-changes.js';
import { queueStats } from '../services/queue-stats.js';
import { timeStore } from '../services/timed-store.js';
import { loadConfig, printCredentials, resolveServeOptions, shutdownOnce, type ServeOptions } from './serve.js';
import { fanoutWorker, signalWorker } from './worker.js';

/**
 * `rivulet serve --workers N`: a primary process and N HTTP processes forked with node's `cluster`
 * module, all listening on one port (the primary hands out connections in turn) over one data
 * directory (SQLite in WAL mode; each process has its own connection).
 *
 * The primary creates the app on first start and prints the credentials once, opens the database
 * first (so that migrations run once, before any HTTP process starts), runs the one fan-out worker
 * (`--no-worker` leaves it out; the HTTP processes wake it over IPC when they queue jobs), relays
 * realtime events and listener counts between the HTTP processes (ClusterPrimaryPubSub), and
 * restarts an HTTP process that exits. SIGINT or SIGTERM to the primary stops every HTTP process,
 * then the fan-out worker, then the primary.
 *
 * Every HTTP process serves the API and Faye at `/faye`, with the config text the primary read
 * (so a process restarted after `app.json` changed still agrees with the others). Each response
 * carries `x-rivulet-worker: <n>`, the cluster id of the process that answered.
 */

/** Messages between the primary and an HTTP process, apart from the pubsub's. */
type ControlMessage =
  | { rivulet: 'config?' }
  | { rivulet: 'config'; text: string }
  | { rivulet: 'listening'; address: string }
  | { rivulet: 'wake' };

function isControl(m: unknown): m is ControlMessage {
  return typeof m === 'object' && m !== null && typeof (m as { rivulet?: unknown }).rivulet === 'string';
}

/** An HTTP process that exits sooner than this after starting is restarted after a growing delay. */
const QUICK_EXIT_MS = 5_000;

export async function servePrimary(o: ServeOptions, workers: number): Promise<void> {
  const { port, host, dataDir, configFile } = resolveServeOptions(o);
  // The text parsed here is the text every HTTP process gets: one read, one config.
  const { config, created, file, text: configText } = loadConfig(dataDir, configFile);
  const logger = pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'info' });
  const sqlite = new SqliteStore(sqlitePath(config));
  await sqlite.ready();
  const pubsub = new ClusterPrimaryPubSub();
  const realtimeLog = logger.child({ component: 'realtime' });
  // The primary's own metrics (its fan-out worker's store calls and lag), merged into every scrape.
  const metrics = config.metrics.enabled ? new PrometheusMetrics({ history: false }) : null;
  const relay = metrics ? primaryMetrics(metrics, () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)) : null;
  const store = publishChanges(metrics ? timeStore(sqlite, metrics) : sqlite, {
    pubsub,
    apps: new Map(config.apps.map((a) => [a.appId, a])),
    clock: systemClock,
    onError: (err) => realtimeLog.error({ err }, 'realtime publish failed'),
  });
  await syncGroupedEdges(config, store);
  metrics?.sources({ queue: () => queueStats(store) });
  const fanout = o.worker === false ? null : fanoutWorker(config, store, logger, 1000);
  fanout?.start();
  // Content jobs queued by the HTTP processes are found by its poll.
  const signals = o.worker === false ? null : signalWorker(config, store, logger, 1000);
  signals?.start();
  const sweeper = o.worker === false ? null : activitySweeper(config, store, logger);
  sweeper?.start();

  let stopping = false;
  let listened = 0;
  let quickExits = 0;
  const startedAt = new Map<number, number>();
  const restarts = new Set<NodeJS.Timeout>();

  const fork = (): Worker => {
    const w = cluster.fork();
    startedAt.set(w.id, Date.now());
    return w;
  };

  cluster.on('message', (w: Worker, m: unknown) => {
    if (relay?.handle(w, m)) return;
    if (!isControl(m)) return;
    if (m.rivulet === 'config?') w.send({ rivulet: 'config', text: configText } satisfies ControlMessage);
    else if (m.rivulet === 'wake') fanout?.wake();
    else if (m.rivulet === 'listening') {
      listened++;
      logger.info({ worker: w.id, child_pid: w.process.pid, address: m.address }, 'HTTP process is listening');
      if (listened === workers) {
        const shown = m.address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://127.0.0.1');
        printCredentials(config, shown, created, file);
        logger.info({ address: m.address, workers, fanout: fanout !== null }, 'rivulet is serving');
      }
    }
  });

  cluster.on('exit', (w: Worker, code: number | null, signal: string | null) => {
    if (stopping) return;
    if (listened < workers) {
      // Failing during start (port taken, database unreadable) would fail again: give up.
      logger.error({ worker: w.id, child_pid: w.process.pid, code, signal }, 'an HTTP process exited during start');
      void stop('start failed', 1);
      return;
    }
    const lived = Date.now() - (startedAt.get(w.id) ?? 0);
    startedAt.delete(w.id);
    quickExits = lived < QUICK_EXIT_MS ? quickExits + 1 : 0;
    const delay = quickExits === 0 ? 0 : Math.min(30_000, 500 * 2 ** quickExits);
    logger.error({ worker: w.id, child_pid: w.process.pid, code, signal, restart_in_ms: delay }, 'HTTP process exited; starting another');
    const t = setTimeout(() => {
      restarts.delete(t);
      if (!stopping) fork();
    }, delay);
    restarts.add(t);
  });

  const stop = async (reason: string, status: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    for (const t of restarts) clearTimeout(t);
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    await Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((resolve) => {
            // Each process stops within the grace period by itself; this is the backstop.
            const kill = setTimeout(() => w.process.kill('SIGKILL'), config.shutdownGraceMs + 3000);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
    try {
      await fanout?.stop();
      await signals?.stop();
      await sweeper?.stop();
      metrics?.close();
      await pubsub.close();
      await store.close();
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    process.exit(status);
  };
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  for (let i = 0; i < workers; i++) fork();
}

/** One HTTP process of `serve --workers N` (a cluster worker). */
export async function serveHttpProcess(o: ServeOptions): Promise<void> {
  const { port, host, dataDir } = resolveServeOptions(o);
  const id = cluster.worker!.id;
  const logger = pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'info' }).child({ worker: id });
  const text = await new Promise<string>((resolve) => {
    const onMessage = (m: unknown) => {
      if (!isControl(m) || m.rivulet !== 'config') return;
      process.off('message', onMessage);
      resolve(m.text);
    };
    process.on('message', onMessage);
    send({ rivulet: 'config?' });
  });
  const config = parseConfigText(text, dataDir, 'config from the primary');
  // A scrape reaching this process shows every process's metrics (see cluster-metrics.ts).
  const metrics = config.metrics.enabled ? childMetrics(new PrometheusMetrics({ historyIntervalMs: config.metrics.historyIntervalS * 1000 }), (m) => send(m as unknown as ControlMessage)) : undefined;
  if (metrics) process.on('message', (m: unknown) => metrics.onMessage(m));
  const rivulet = await createRivulet({
    config,
    logger,
    metrics,
    worker: false,
    pubsub: new ClusterChildPubSub(),
    onJobsEnqueued: () => send({ rivulet: 'wake' }),
    realtime: { portableClients: true },
    syncGroupedEdges: false, // the primary did, before forking
  });
  rivulet.http.server.prependListener('request', (_req, res) => res.setHeader('x-rivulet-worker', String(id)));
  const address = await rivulet.listen(port, host);
  send({ rivulet: 'listening', address });
  const shutdown = shutdownOnce(rivulet, logger, config.shutdownGraceMs);
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // The primary is gone (killed): nothing hands this process connections any more.
  process.on('disconnect', () => shutdown('primary exited'));
}

function send(m: ControlMessage): void {
  if (process.connected && process.send) process.send(m);
}
