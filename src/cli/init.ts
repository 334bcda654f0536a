import { loadConfig, resolveServeOptions, type ServeOptions } from '../compose/environment.js';
import { printCredentials } from './process.js';

/** Creates the data dir's app (if it has none) and prints its credentials. */
export async function init(o: ServeOptions): Promise<void> {
  const { port, host, dataDir, configFile } = resolveServeOptions(o);
  const { config, created, file } = loadConfig(dataDir, configFile);
  printCredentials(config, `http://${host}:${port}`, created, file);
}
