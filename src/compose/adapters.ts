import type { Worker } from 'node:cluster';
import { ClusterChildPubSub, ClusterPrimaryPubSub } from '../adapters/cluster/cluster-pubsub.js';
import { SafeFetcher } from '../adapters/http/safe-fetcher.js';
import { HttpLabeler } from '../adapters/labelers/http-labeler.js';
import { noneLabeler } from '../adapters/labelers/none-labeler.js';
import { LocalBlobStore } from '../adapters/local/local-blob-store.js';
import { MemoryPubSub } from '../adapters/memory/memory-pubsub.js';
import { MemoryRateLimiter } from '../adapters/memory/memory-rate-limiter.js';
import { childMetrics, primaryMetrics } from '../adapters/prometheus/cluster-metrics.js';
import { PrometheusMetrics } from '../adapters/prometheus/prometheus-metrics.js';
import { SharpImages } from '../adapters/sharp/sharp-images.js';
import { redisServerStore } from '../adapters/redis/redis-server-store.js';
import { RedisStore } from '../adapters/redis/redis-store.js';
import type { SqliteDatabase } from '../adapters/sqlite/database.js';
import { sqliteRecords } from '../adapters/sqlite/sqlite-records.js';
import { SqliteModelStore } from '../adapters/sqlite/sqlite-model-store.js';
import { SqliteDataListing } from '../adapters/sqlite/sqlite-data-listing.js';
import type { DataListing } from '../ports/data-listing.js';
import { MemoryModelStore } from '../adapters/memory/memory-model-store.js';
import type { ModelStore } from '../ports/model-store.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { ConfigError, type Config, type FileStorageConfig } from '../config/config.js';
import { sqliteWriter } from './environment.js';
import type { LabelerSettings } from '../personalization/signals/settings.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Clock } from '../ports/clock.js';
import type { ImageLabeler } from '../ports/image-labeler.js';
import type { ImageProcessor } from '../ports/image-processor.js';
import type { Metrics } from '../ports/metrics.js';
import type { PageFetcher } from '../ports/page-fetcher.js';
import type { PubSub } from '../ports/pubsub.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { RecordStores } from '../ports/record-stores.js';
import type { Store } from '../ports/store.js';
import type { OgSettings } from '../services/open-graph.js';

/**
 * The one module that names adapters: every port gets its implementation here, chosen from the
 * config. Services, workers, HTTP and the command line see ports only.
 */

/**
 * Opens the store `config.storage.backend` names and waits until this process may write. A
 * backend this version cannot open stops the start with a {@link ConfigError} naming it.
 */
export async function openStore(config: Pick<Config, 'storage'>): Promise<Store> {
  const storage = config.storage;
  switch (storage.backend) {
    case 'sqlite': {
      const store = new SqliteStore(storage.path, { writer: sqliteWriter() });
      await store.ready();
      return store;
    }
    case 'redis': {
      // Checks the cluster's persistence against storage.durability and refuses to start, saying
      // what to change, when they do not match.
      let redis: RedisStore;
      try {
        redis = await RedisStore.open({ nodes: storage.nodes, durability: storage.durability, keyPrefix: storage.keyPrefix });
      } catch (err) {
        throw new ConfigError(`storage (redis): ${(err as Error).message}`);
      }
      return redisServerStore(redis);
    }
    default: {
      // Configs are validated against the known backends; this catches one built in code.
      const unknown: { backend: string } = storage;
      throw new ConfigError(`storage.backend: "${unknown.backend}" is not a storage backend of this version of Rivulet (known: sqlite, redis)`);
    }
  }
}

/**
 * The file index, moderation flags, audit log and per-user index kept beside `store`'s data: the
 * store's own when it carries them (Redis: `RedisStore.records`), else on its SQLite database (a
 * store built on SQLite, also through a wrapper that passes `database` on).
 */
export function openRecords(store: object): RecordStores {
  const own = (store as { records?: RecordStores }).records;
  if (own) return own;
  const s = store as { database?: SqliteDatabase; ports?: Store['ports'] };
  if (!s.database || !s.ports) throw new Error('this store keeps no records: pass RivuletOptions.records');
  return sqliteRecords({ database: s.database, ports: s.ports });
}

/**
 * Where model snapshots go: the store's own when it carries them (Redis: shared by every node),
 * beside the store's data on SQLite, else in this process's memory.
 */
export function modelStore(store: object): ModelStore {
  const own = (store as { models?: ModelStore }).models;
  if (own) return own;
  const database = (store as { database?: SqliteDatabase }).database;
  return database ? new SqliteModelStore(database) : new MemoryModelStore();
}

/** Every record of an app, page by page (data export): the store's own listing when it carries one (Redis), else on its SQLite database. */
export function openListing(store: object): DataListing {
  const own = (store as { listing?: DataListing }).listing;
  if (own) return own;
  const database = (store as { database?: SqliteDatabase }).database;
  if (!database) throw new Error('this store has no data listing');
  return new SqliteDataListing(database);
}

/** The blob store the config names: a directory, or an S3-compatible bucket (its SDK loaded only then). */
export async function openBlobStore(c: FileStorageConfig): Promise<BlobStore> {
  if (c.backend === 'local') return new LocalBlobStore(c.path);
  const { S3BlobStore } = await import('../adapters/s3/s3-blob-store.js');
  return new S3BlobStore(c);
}

/** Realtime events within this process only. */
export const localPubSub = (): PubSub => new MemoryPubSub();

/**
 * The pubsub of a store shared by many processes when it carries one (Redis: every node hears
 * every node's events), else null.
 */
export async function storePubSub(store: object): Promise<PubSub | null> {
  const own = (store as { pubsub?: () => Promise<PubSub> }).pubsub;
  return own ? own.call(store) : null;
}

/** The pubsub of `serve --workers`: the primary relays between its HTTP processes; each of them holds a child. */
export const clusterPubSub = { primary: (): PubSub => new ClusterPrimaryPubSub(), child: (): PubSub => new ClusterChildPubSub() };

/** Prometheus metrics of one process; `history` keeps the dashboard's hour of samples. */
export function processMetrics(config: Pick<Config, 'metrics'>, history: boolean): PrometheusMetrics | null {
  if (!config.metrics.enabled) return null;
  return history ? new PrometheusMetrics({ historyIntervalMs: config.metrics.historyIntervalS * 1000 }) : new PrometheusMetrics({ history: false });
}

/** Metrics of `serve --workers` (see cluster-metrics.ts): the primary merges every process's into a scrape. */
export const clusterMetrics = {
  primary: (own: PrometheusMetrics, workers: () => Worker[]) => primaryMetrics(own, workers),
  child: (own: PrometheusMetrics, send: (m: unknown) => void): Metrics & { onMessage(m: unknown): boolean } => childMetrics(own, send),
};

/** Rate-limit counters: the store's own when it carries them (Redis: shared by every node), else this process's. */
export function rateLimiter(store?: object): RateLimiter {
  const own = (store as { rateLimiter?: () => RateLimiter } | undefined)?.rateLimiter;
  return own ? own.call(store) : new MemoryRateLimiter();
}
export const pageFetcher = (og: OgSettings): PageFetcher => new SafeFetcher(og);
export const imageProcessor = (): ImageProcessor => new SharpImages();
export const clock: Clock = systemClock;

/** The image labeler an app's signal settings name. */
export function imageLabeler(cfg: LabelerSettings): ImageLabeler {
  return cfg.type === 'http' ? new HttpLabeler({ url: cfg.url, timeoutMs: cfg.timeoutMs, failureThreshold: cfg.failureThreshold, openMs: cfg.openMs }) : noneLabeler;
}
