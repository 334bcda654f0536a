import cluster from 'node:cluster';
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { ConfigError, DEFAULT_SHUTDOWN_GRACE_MS, ensureDataDirConfig, readConfigFile, type Config } from '../config/config.js';
import { createRivulet } from '../main.js';
import { serveHttpProcess, servePrimary } from './cluster.js';

export interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  config?: string;
  worker?: boolean;
  workers?: string;
}

/** Most HTTP processes `--workers` accepts; more only contend for the one database file. */
export const MAX_WORKERS = 64;

/** The number of HTTP processes: `--workers`, then env RIVULET_WORKERS, then 1. */
export function resolveWorkers(o: ServeOptions): number {
  const text = o.workers ?? (process.env.RIVULET_WORKERS || '1');
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new ConfigError(`workers: "${text}" is not a whole number from 1 to ${MAX_WORKERS}`);
  }
  return n;
}

/** Resolves flags, then env, then defaults. */
export function resolveServeOptions(o: ServeOptions): { port: number; host: string; dataDir: string; configFile?: string } {
  const portText = o.port ?? process.env.RIVULET_PORT ?? '8000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`port: "${portText}" is not a valid port`);
  return {
    port,
    host: o.host ?? process.env.RIVULET_HOST ?? '127.0.0.1',
    dataDir: resolve(o.data ?? process.env.RIVULET_DATA_DIR ?? './data'),
    configFile: o.config ?? (process.env.RIVULET_CONFIG || undefined),
  };
}

/** Loads the config file, or the data dir's own app (created on first start). */
export function loadConfig(dataDir: string, configFile?: string): { config: Config; created: boolean; file: string; text: string } {
  if (configFile) return { ...readConfigFile(resolve(configFile), dataDir), created: false, file: resolve(configFile) };
  return ensureDataDirConfig(dataDir);
}

/** Prints an app's credentials and a one-line client snippet. */
export function printCredentials(config: Config, baseUrl: string, created: boolean, file: string): void {
  const lines: string[] = [];
  lines.push(created ? `Created a new app; its credentials are stored in ${file}` : `Apps from ${file}`);
  for (const app of config.apps) {
    lines.push(`  app_id:     ${app.appId}`);
    lines.push(`  api_key:    ${app.apiKey}`);
    lines.push(`  api_secret: ${app.apiSecret}`);
    lines.push(`  feed groups: ${[...app.groups.values()].map((g) => `${g.name} (${g.type})`).join(', ')}`);
    lines.push(
      `  client: require('getstream').connect('${app.apiKey}', '${app.apiSecret}', '${app.appId}', { urlOverride: { api: '${baseUrl}/api/' }, fayeUrl: '${baseUrl}/faye' })`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** `rivulet serve`: one process, or with `--workers N` a primary and N HTTP processes (cluster.ts). */
export async function serve(o: ServeOptions): Promise<void> {
  if (cluster.isWorker) return serveHttpProcess(o);
  const workers = resolveWorkers(o);
  if (workers > 1) return servePrimary(o, workers);
  const { port, host, dataDir, configFile } = resolveServeOptions(o);
  const { config, created, file } = loadConfig(dataDir, configFile);
  const logger = pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'info' });
  const rivulet = await createRivulet({ config, logger, worker: o.worker !== false });
  const address = await rivulet.listen(port, host);
  const shown = address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://127.0.0.1');
  printCredentials(config, shown, created, file);
  logger.info({ address }, 'rivulet is serving');
  const shutdown = shutdownOnce(rivulet, logger, config.shutdownGraceMs);
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/**
 * A shutdown to call on a signal (or other cause): closes `rivulet` once, then exits 0, or 1 if
 * closing failed or did not finish within the grace period (plus a little for closing the store):
 * a stuck close never keeps the process alive. What was acknowledged is durable either way.
 */
export function shutdownOnce(rivulet: { close(): Promise<void> }, logger: Logger, graceMs = DEFAULT_SHUTDOWN_GRACE_MS): (why: string) => void {
  let closing = false;
  return (why) => {
    if (closing) return;
    closing = true;
    logger.info({ why, grace_ms: graceMs }, 'shutting down');
    setTimeout(() => {
      logger.error({ grace_ms: graceMs }, 'shutdown did not finish within the grace period; exiting');
      process.exit(1);
    }, graceMs + 2000).unref();
    rivulet.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
}
