import pino, { type Logger } from 'pino';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { sqlitePath, type Config } from '../config/config.js';
import type { Store } from '../ports/store.js';
import { TimeSource, type Services } from '../services/context.js';
import { FanoutWorker } from '../workers/fanout-worker.js';
import { SignalWorker } from '../workers/signal-worker.js';
import { activitySweeper, syncGroupedEdges } from '../main.js';
import { loadConfig, resolveServeOptions, type ServeOptions } from './serve.js';

/**
 * A fan-out worker outside the API processes: over `store`, with the config's apps and fan-out
 * settings, polling the outbox every `pollMs`. Not started. Used by `rivulet worker` and by the
 * primary process of `rivulet serve --workers N`.
 */
export function fanoutWorker(config: Config, store: Store, logger: Logger, pollMs: number): FanoutWorker {
  const apps = new Map(config.apps.map((a) => [a.appId, a]));
  const services: Services = { store, clock: new TimeSource(systemClock), fanout: config.fanout, onJobsEnqueued: () => {} };
  return new FanoutWorker(() => services, apps, logger.child({ component: 'fanout' }), { pollMs });
}

/**
 * The signal pipeline's worker (content jobs, event retention) outside the API processes; runs
 * beside every {@link fanoutWorker}. Not started.
 */
export function signalWorker(config: Config, store: Store, logger: Logger, pollMs: number): SignalWorker {
  const services: Services = {
    store,
    clock: new TimeSource(systemClock),
    fanout: config.fanout,
    onJobsEnqueued: () => {},
    signals: { settings: config.signals, onContentQueued: () => {} },
  };
  return new SignalWorker(() => services, config.apps.map((a) => a.appId), logger.child({ component: 'signals' }), pollMs);
}

/**
 * Runs only the fan-out worker (and the signal worker), against the same data directory as `rivulet serve --no-worker`
 * processes (SQLite in WAL mode lets several processes share the file). It polls the outbox, so
 * jobs written by any process are picked up within the poll interval.
 */
export async function worker(o: ServeOptions): Promise<void> {
  const { dataDir, configFile } = resolveServeOptions(o);
  const { config } = loadConfig(dataDir, configFile);
  const logger = pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'info' });
  const store = new SqliteStore(sqlitePath(config));
  await store.ready();
  const w = fanoutWorker(config, store, logger, 250);
  const sw = signalWorker(config, store, logger, 1000);
  await syncGroupedEdges(config, store);
  const sweeper = activitySweeper(config, store, logger);
  w.start();
  sw.start();
  sweeper.start();
  logger.info({ data: dataDir }, 'rivulet fan-out worker is running');
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    // The worker stops after its current chunk; this is the backstop for a store call that hangs.
    setTimeout(() => process.exit(1), config.shutdownGraceMs + 2000).unref();
    Promise.all([w.stop(), sw.stop(), sweeper.stop()])
      .then(() => store.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
