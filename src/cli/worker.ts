import pino from 'pino';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { TimeSource, type Services } from '../services/context.js';
import { FanoutWorker } from '../workers/fanout-worker.js';
import { loadConfig, resolveServeOptions, type ServeOptions } from './serve.js';

/**
 * Runs only the fan-out worker, against the same data directory as `rivulet serve --no-worker`
 * processes (SQLite in WAL mode lets several processes share the file). It polls the outbox, so
 * jobs written by any process are picked up within the poll interval.
 */
export async function worker(o: ServeOptions): Promise<void> {
  const { dataDir, configFile } = resolveServeOptions(o);
  const { config } = loadConfig(dataDir, configFile);
  const logger = pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'info' });
  const store = new SqliteStore(config.storage.path);
  const apps = new Map(config.apps.map((a) => [a.appId, a]));
  const services: Services = { store, clock: new TimeSource(systemClock), fanout: config.fanout, onJobsEnqueued: () => {} };
  const w = new FanoutWorker(() => services, apps, logger.child({ component: 'fanout' }), 250);
  for (const app of config.apps) {
    await store.syncGroupedEdges(app.appId, [...app.groups.values()].filter((g) => g.type !== 'flat').map((g) => g.name));
  }
  w.start();
  logger.info({ data: dataDir }, 'rivulet fan-out worker is running');
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    w.stop()
      .then(() => store.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
