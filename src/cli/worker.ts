import { localPubSub, openStore, storePubSub } from '../compose/adapters.js';
import { createLogger, loadConfig, resolveServeOptions, type ServeOptions } from '../compose/environment.js';
import { buildWorkers, openCore, syncGroupedEdges } from '../compose/services.js';
import { onSignals, shutdownOnce } from './process.js';

/**
 * `rivulet worker`: runs only the fan-out and signal workers, against the same data as
 * `rivulet serve --no-worker` processes (SQLite in WAL mode lets several processes share the
 * file). On Redis, a process that commits fan-out jobs wakes it over the pubsub, so it claims
 * them at once; it also polls the queues (every `fanout.poll_ms`, default 250 ms), which finds
 * jobs whose wake-up was lost and, over SQLite, jobs other processes wrote. Its commits are published through the pubsub port as in `serve`: on Redis that
 * pubsub reaches every API node's subscribers; over SQLite it is this process's own, so API
 * processes do not hear of them.
 */
export async function worker(o: ServeOptions): Promise<void> {
  const { dataDir, configFile } = resolveServeOptions(o);
  const { config } = loadConfig(dataDir, configFile);
  const logger = createLogger();
  const store = await openStore(config);
  // On Redis, the pubsub every API node listens to: subscribers hear what this worker's fan-out wrote.
  const pubsub = (await storePubSub(store)) ?? localPubSub();
  const core = await openCore({ config, logger, pubsub, store });
  const workers = buildWorkers(core, logger, { fanoutPollMs: 250, signalPollMs: 1000 });
  await syncGroupedEdges(config, core.store);
  workers.start();
  logger.info({ data: dataDir }, 'rivulet fan-out worker is running');
  onSignals(
    shutdownOnce(
      {
        async close() {
          // The workers stop after their current chunk; shutdownOnce is the backstop for a hung store call.
          await workers.stop();
          await pubsub.close();
          await core.store.close();
        },
      },
      logger,
      config.shutdownGraceMs,
    ),
  );
}
