import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { SqliteStore } from './adapters/sqlite/sqlite-store.js';
import { systemClock } from './adapters/system-clock.js';
import type { Config } from './config/config.js';
import type { App } from './core/feeds/feed-group.js';
import { buildHttp } from './http/app.js';
import type { Clock } from './ports/clock.js';
import type { Store } from './ports/store.js';
import { TimeSource, type Services } from './services/context.js';
import { FanoutWorker } from './workers/fanout-worker.js';

export interface RivuletOptions {
  readonly config: Config;
  readonly logger?: Logger;
  /**
   * Run the in-process fan-out worker (default true); `'manual'` creates it without starting it,
   * so tests drain the queue deterministically with `worker.drainAll()`.
   */
  readonly worker?: boolean | 'manual';
  readonly clock?: Clock;
  /** Use this store instead of opening the configured one (tests). */
  readonly store?: Store;
}

export interface Rivulet {
  readonly http: FastifyInstance;
  readonly services: Services;
  readonly store: Store;
  readonly worker: FanoutWorker | null;
  readonly apps: ReadonlyMap<string, App>;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

/** The composition root: config → store → services → HTTP and the fan-out worker. */
export async function createRivulet(opts: RivuletOptions): Promise<Rivulet> {
  const logger = opts.logger ?? pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'info' });
  const store = opts.store ?? new SqliteStore(opts.config.storage.path);
  const apps = new Map(opts.config.apps.map((a) => [a.appId, a]));
  let worker: FanoutWorker | null = null;
  const services: Services = {
    store,
    clock: new TimeSource(opts.clock ?? systemClock),
    fanout: opts.config.fanout,
    onJobsEnqueued: () => worker?.wake(),
  };
  if (opts.worker !== false) worker = new FanoutWorker(() => services, apps, logger.child({ component: 'fanout' }));
  let ready = false;
  const http = await buildHttp({ apps: opts.config.apps, services, logger, ready: () => ready });
  return {
    http,
    services,
    store,
    worker,
    apps,
    async listen(port, host) {
      const address = await http.listen({ port, host });
      if (opts.worker !== 'manual') worker?.start();
      ready = true;
      return address;
    },
    async close() {
      ready = false;
      await http.close();
      await worker?.stop();
      await store.close();
    },
  };
}
