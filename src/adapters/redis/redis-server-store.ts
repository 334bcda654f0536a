import type { PubSub } from '../../ports/pubsub.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';
import type { Store } from '../../ports/store.js';
import type { RedisStore } from './redis-store.js';

/** Every method of `target` (and its prototypes), bound to it. */
function bound(target: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let p: object | null = target; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      const v = (target as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof v === 'function' && !(name in out)) out[name] = (v as (...a: unknown[]) => unknown).bind(target);
    }
  }
  return out;
}

/**
 * {@link RedisStore} as the server's store: the storage ports, the personalization stores, the
 * change marks (no local `changeMark`: the read cache reads the marks on every look), and beside
 * them what the composition root takes from the store when it carries it: the record stores,
 * model snapshots, realtime pubsub across nodes and shared rate-limit counters
 * (`src/compose/adapters.ts`).
 *
 * The services read and write only through the ports; the combined store's earlier methods (the
 * legacy feed reads, the outbox, write batches), which only SQLite has, are not here: the type
 * still names them until they leave the `Store` port, so this object is given that type by a cast.
 */
export function redisServerStore(redis: RedisStore): Store & RedisExtras {
  const p = redis.ports;
  const store = {
    // The user, collection and reaction methods the combined store port still lists are the ports'.
    ...bound(p.reactions),
    ...bound(p.collections),
    ...bound(p.users),
    ports: p,
    signals: redis.signals,
    changes: redis.changes,
    records: redis.records,
    models: redis.models,
    redis,
    rateLimiter: () => redis.rateLimiter,
    pubsub: () => redis.pubsub(),
    close: () => redis.close(),
  };
  return store as unknown as Store & RedisExtras;
}

/** What a Redis server store carries beside the {@link Store} port. */
export interface RedisExtras {
  readonly redis: RedisStore;
  /** Realtime events and listener counts shared by every node (opened on first call). */
  pubsub(): Promise<PubSub>;
  /** Rate-limit counters shared by every node. */
  rateLimiter(): RateLimiter;
}
