import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { ConfigError, ensureDataDirConfig, readConfigFile, type Config } from '../config/config.js';

/**
 * Everything a process takes from its command line and environment, read here and nowhere else:
 * flags win over the environment, which wins over the defaults.
 */

/** Flags of the commands that start a process (`serve`, `worker`, `init`, …). */
export interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  config?: string;
  worker?: boolean;
  workers?: string;
  healthPort?: string;
}

/** Most HTTP processes `--workers` accepts; more only contend for the one database file. */
export const MAX_WORKERS = 64;

/** The number of HTTP processes: `--workers`, then env RIVULET_WORKERS, then 1. */
export function resolveWorkers(o: ServeOptions, env: NodeJS.ProcessEnv = process.env): number {
  const text = o.workers ?? (env.RIVULET_WORKERS || '1');
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new ConfigError(`workers: "${text}" is not a whole number from 1 to ${MAX_WORKERS}`);
  }
  return n;
}

/** Port, address, data directory and config file: flags, then env, then defaults. */
export function resolveServeOptions(o: ServeOptions, env: NodeJS.ProcessEnv = process.env): { port: number; host: string; dataDir: string; configFile?: string } {
  const portText = o.port ?? env.RIVULET_PORT ?? '8000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`port: "${portText}" is not a valid port`);
  return {
    port,
    host: o.host ?? env.RIVULET_HOST ?? '127.0.0.1',
    dataDir: resolve(o.data ?? env.RIVULET_DATA_DIR ?? './data'),
    configFile: o.config ?? (env.RIVULET_CONFIG || undefined),
  };
}

/**
 * The config with the health listener's port of `--health-port`, then env RIVULET_HEALTH_PORT,
 * over the config file's `health.port` (`off` or an empty value turns it off).
 */
export function withHealthPort(config: Config, o: ServeOptions, env: NodeJS.ProcessEnv = process.env): Config {
  const text = o.healthPort ?? env.RIVULET_HEALTH_PORT;
  if (text === undefined) return config;
  if (text.trim() === '' || text.trim() === 'off') return { ...config, health: { ...config.health, port: undefined } };
  const port = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(port) || port > 65535) throw new ConfigError(`health port: "${text}" is not a valid port`);
  return { ...config, health: { ...config.health, port } };
}

/** Loads the config file, or the data dir's own app (created on first start). */
export function loadConfig(dataDir: string, configFile?: string): { config: Config; created: boolean; file: string; text: string } {
  if (configFile) return { ...readConfigFile(resolve(configFile), dataDir), created: false, file: resolve(configFile) };
  return ensureDataDirConfig(dataDir);
}

/** The process's logger: JSON lines on stdout at RIVULET_LOG_LEVEL (default `info`). */
export function createLogger(bindings?: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Logger {
  const logger = pino({ level: env.RIVULET_LOG_LEVEL ?? 'info' });
  return bindings ? logger.child(bindings) : logger;
}

/**
 * How a SQLite store applies its writes: env RIVULET_SQLITE_WRITER, `thread` (the default: a
 * writer thread) or `inline` (on the event loop; for comparisons).
 */
export function sqliteWriter(env: NodeJS.ProcessEnv = process.env): 'thread' | 'inline' {
  return env.RIVULET_SQLITE_WRITER === 'inline' ? 'inline' : 'thread';
}
