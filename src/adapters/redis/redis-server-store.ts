import type { PubSub } from '../../ports/pubsub.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';
import type { Store } from '../../ports/store.js';
import type { RedisStore } from './redis-store.js';

/**
 * {@link RedisStore} as the server's store: the storage ports, the personalization stores, the
 * change marks (no local `changeMark`: the read cache reads the marks on every look), and beside
 * them what the composition root takes from the store when it carries it: the record stores,
 * model snapshots, the data listing of export, realtime pubsub across nodes and shared rate-limit counters
 * (`src/compose/adapters.ts`).
 */
export function redisServerStore(redis: RedisStore): Store & RedisExtras {
  return {
    ports: redis.ports,
    signals: redis.signals,
    changes: redis.changes,
    sweepActivities: (app, after, limit, nowMs, retentionMs) => redis.sweepActivities(app, after, limit, nowMs, retentionMs),
    records: redis.records,
    models: redis.models,
    listing: redis.listing,
    redis,
    rateLimiter: () => redis.rateLimiter,
    pubsub: () => redis.pubsub(),
    close: () => redis.close(),
  };
}

/** What a Redis server store carries beside the {@link Store} port. */
export interface RedisExtras {
  readonly redis: RedisStore;
  /** The record stores (files, flags, audit, per-user index) that `openRecords` takes. */
  readonly records: RedisStore['records'];
  /** Model snapshots shared by every node, that `modelStore` takes. */
  readonly models: RedisStore['models'];
  /** The data listing of export (`rivulet export`), that `openListing` takes. */
  readonly listing: RedisStore['listing'];
  /** Realtime events and listener counts shared by every node (opened on first call). */
  pubsub(): Promise<PubSub>;
  /** Rate-limit counters shared by every node. */
  rateLimiter(): RateLimiter;
}
