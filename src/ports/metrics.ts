/**
 * What Rivulet reports about itself for monitoring. The code that does the work holds a recorder
 * resolved once (per route, per store method) and calls it with plain numbers; whoever implements
 * this port (Prometheus, see adapters/prometheus/) decides how values are kept and exposed.
 *
 * Cost rules, for the hot paths: a recorder call is a few array updates, never an allocation or a
 * label lookup; counts are per request or per store call, never per item. Values that are cheap to
 * read on demand (queue depth, cache size, realtime clients) are registered as sources and read
 * only when metrics are scraped.
 *
 * @example
 *   const route = metrics.route('GET', '/api/v1.0/feed/:slug/:user/'); // at route registration
 *   route.observe(200, 0.0012);                                         // per request
 *   metrics.sources({ queue: async () => ({ pending: await outbox.pendingCount() }) });
 */
export interface Metrics {
  /** The recorder of one HTTP route (`url` as registered, with its parameters). */
  route(method: string, url: string): RouteRecorder;
  /** The recorder of one store method (`<port>.<method>` for the storage ports, e.g. `timelines.scan`). */
  storeMethod(name: string): DurationRecorder;
  /**
   * A queued fan-out job reached its last follower `lagSeconds` after it was queued (the write
   * that queued it was acknowledged then). Fan-outs applied before the response are not queued and
   * not reported: their lag is zero by construction.
   */
  fanoutApplied(kind: string, lagSeconds: number): void;
  /** Registers sources read at scrape time; each kind given replaces the earlier one. */
  sources(s: MetricSources): void;
  /** The current values in the backend's text format (what `GET /metrics` serves). */
  scrape(): Promise<{ readonly contentType: string; readonly body: string }>;
  /** Recent history for the dashboard's charts (see {@link MetricsHistory}). */
  history(): MetricsHistory;
  /** Stops timers; scrape() still answers. */
  close(): void;
}

export interface RouteRecorder {
  /** One response with `status`, `seconds` after the request arrived. */
  observe(status: number, seconds: number): void;
}

export interface DurationRecorder {
  /** One call that took `seconds`; `failed` when it threw. */
  observe(seconds: number, failed: boolean): void;
}

export interface ReadCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  readonly bytes: number;
}

export interface RealtimeStats {
  /** Connected realtime clients (handshaken, not yet gone). */
  readonly clients: number;
  /** Feed subscriptions held by them. */
  readonly subscriptions: number;
}

export interface QueueStats {
  /** Fan-out jobs waiting or in progress. */
  readonly pending: number;
  /** Seconds since the oldest of them was queued; null when the queue is empty or the age is unknown. */
  readonly oldestAgeSeconds: number | null;
  /** Jobs set aside after failing for good; absent when the store keeps no such list. */
  readonly deadLettered?: number;
}

export interface MetricSources {
  readonly readCache?: () => ReadCacheStats;
  readonly realtime?: () => RealtimeStats;
  readonly queue?: () => Promise<QueueStats>;
}

/**
 * Samples of the last hour, one per interval, oldest first. Latency figures are in milliseconds;
 * `null` where nothing happened in the interval.
 */
export interface MetricsHistory {
  readonly intervalSeconds: number;
  readonly samples: readonly MetricsSample[];
}

export interface MetricsSample {
  /** End of the interval, ms since the epoch. */
  readonly at: number;
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly errorsPerSecond: number;
  readonly fanoutLagP99Ms: number | null;
  readonly queueDepth: number | null;
  readonly cacheHitRate: number | null;
  readonly eventLoopDelayP99Ms: number | null;
  readonly realtimeClients: number | null;
}

const nothing = { observe() {} };

/** Metrics turned off: every call does nothing. */
export const noMetrics: Metrics = {
  route: () => nothing,
  storeMethod: () => nothing,
  fanoutApplied() {},
  sources() {},
  scrape: async () => ({ contentType: 'text/plain; charset=utf-8', body: '' }),
  history: () => ({ intervalSeconds: 0, samples: [] }),
  close() {},
};
