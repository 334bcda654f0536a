import cluster from 'node:cluster';
import { createLogger, loadConfig, resolveServeOptions, resolveWorkers, withHealthPort, type ServeOptions } from '../compose/environment.js';
import { createRivulet } from '../main.js';
import { serveHttpProcess, servePrimary } from './cluster.js';
import { onSignals, printCredentials, shownAddress, shutdownOnce } from './process.js';

/** `rivulet serve`: one process, or with `--workers N` a primary and N HTTP processes (cluster.ts). */
export async function serve(o: ServeOptions): Promise<void> {
  if (cluster.isWorker) return serveHttpProcess(o);
  const workers = resolveWorkers(o);
  if (workers > 1) return servePrimary(o, workers);
  const { port, host, dataDir, configFile } = resolveServeOptions(o);
  const loaded = loadConfig(dataDir, configFile);
  const { created, file } = loaded;
  const config = withHealthPort(loaded.config, o);
  const logger = createLogger();
  const rivulet = await createRivulet({ config, logger, worker: o.worker !== false });
  const address = await rivulet.listen(port, host);
  printCredentials(config, shownAddress(address), created, file);
  logger.info({ address }, 'rivulet is serving');
  onSignals(shutdownOnce(rivulet, logger, config.shutdownGraceMs));
}
