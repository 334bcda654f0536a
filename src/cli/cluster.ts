import cluster, { type Worker } from 'node:cluster';
import { clusterMetrics, clusterPubSub, openStore, processMetrics, storePubSub } from '../compose/adapters.js';
import { createLogger, loadConfig, resolveServeOptions, withHealthPort, type ServeOptions } from '../compose/environment.js';
import { buildWorkers, openCore, syncGroupedEdges } from '../compose/services.js';
import { ConfigError, parseConfigText } from '../config/config.js';
import { createRivulet } from '../main.js';
import { queueStats } from '../services/queue-stats.js';
import { onSignals, printCredentials, shownAddress, shutdownOnce } from './process.js';

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
  // One port cannot be shared by the health threads of several processes (a thread listens on its
  // own, not through the primary); each HTTP process answers /healthz on the API port.
  if (withHealthPort(config, o).health.port !== undefined) {
    throw new ConfigError('health port (health.port, --health-port, RIVULET_HEALTH_PORT): only for a single process; with --workers, probe /healthz on the API port');
  }
  const logger = createLogger();
  // Opening the store here, before any HTTP process starts, runs the migrations once.
  const base = await openStore(config);
  // On Redis every process (and every other node) shares the store's pubsub; else the primary relays.
  const pubsub = (await storePubSub(base)) ?? clusterPubSub.primary();
  // The primary's own metrics (its fan-out worker's store calls and lag), merged into every scrape.
  const metrics = processMetrics(config, false);
  const relay = metrics ? clusterMetrics.primary(metrics, () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)) : null;
  const core = await openCore({ config, logger, pubsub, metrics: metrics ?? undefined, store: base });
  const store = core.store;
  await syncGroupedEdges(config, store);
  metrics?.sources({ queue: () => queueStats(store) });
  // Content jobs queued by the HTTP processes are found by the signal worker's poll.
  const background = o.worker === false ? null : buildWorkers(core, logger, { fanoutPollMs: 1000, signalPollMs: 1000 });
  const fanout = background?.fanout ?? null;
  background?.start();

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
        printCredentials(config, shownAddress(m.address), created, file);
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
      await background?.stop();
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
  const logger = createLogger({ worker: id });
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
  const own = processMetrics(config, true);
  const metrics = own ? clusterMetrics.child(own, (m) => send(m as ControlMessage)) : undefined;
  if (metrics) process.on('message', (m: unknown) => metrics.onMessage(m));
  const rivulet = await createRivulet({
    config,
    logger,
    metrics,
    worker: false,
    pubsub: config.storage.backend === 'redis' ? undefined : clusterPubSub.child(),
    onJobsEnqueued: () => send({ rivulet: 'wake' }),
    realtime: { portableClients: true },
    syncGroupedEdges: false, // the primary did, before forking
  });
  rivulet.http.server.prependListener('request', (_req, res) => res.setHeader('x-rivulet-worker', String(id)));
  const address = await rivulet.listen(port, host);
  send({ rivulet: 'listening', address });
  const shutdown = shutdownOnce(rivulet, logger, config.shutdownGraceMs);
  onSignals(shutdown);
  // The primary is gone (killed): nothing hands this process connections any more.
  process.on('disconnect', () => shutdown('primary exited'));
}

function send(m: ControlMessage): void {
  if (process.connected && process.send) process.send(m);
}
