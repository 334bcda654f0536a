import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type {
  DurationRecorder,
  Metrics,
  MetricSources,
  MetricsHistory,
  MetricsSample,
  QueueStats,
  RouteRecorder,
} from '../../ports/metrics.js';
import { FastHistogram, quantile, type HistogramSeries, type MetricValues } from './fast-histogram.js';

/** Seconds. Feed reads answered from the read cache take tens of µs, uncached ones about a ms. */
const HTTP_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds. Most embedded-store calls take µs; a fan-out commit of 10,000 followers tens of ms. */
const STORE_BOUNDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
/** Seconds from a queued fan-out job's write until its last follower has the change. */
const LAG_BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/** How often the dashboard's history takes a sample by default; it keeps an hour of them. */
const HISTORY_INTERVAL_MS = 10_000;
const HISTORY_MS = 3600_000;

let processRegistry: Registry | null = null;

/**
 * The process's own metrics (CPU, memory, heap, event-loop delay, GC, handles): one registry per
 * process, since they describe the process and prom-client's collectors install process-wide
 * observers that should exist once, however many servers a process starts (tests start many).
 */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** A metric whose values are read from a source when scraped. */
function sourced(name: string, help: string, type: MetricValues['type'], aggregator: string, read: () => Promise<MetricValues['values']>) {
  return {
    name,
    help,
    type,
    aggregator,
    async get(): Promise<MetricValues> {
      return { name, help, type, aggregator, values: await read() };
    },
  };
}

export interface PrometheusMetricsOptions {
  /** Take history samples (default true); off for processes that serve no dashboard. */
  readonly history?: boolean;
  /** Milliseconds between history samples (default 10 s). */
  readonly historyIntervalMs?: number;
}

/**
 * The {@link Metrics} port on prom-client: one registry per server (its own metrics) merged at
 * scrape time with the process's defaults. Names:
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `rivulet_http_request_duration_seconds` | histogram | `method`, `route`, `status` |
 * | `rivulet_store_call_duration_seconds` | histogram | `method`, `outcome` (`ok`, `error`) |
 * | `rivulet_fanout_lag_seconds` | histogram | `kind` (queued jobs: queued → last follower applied) |
 * | `rivulet_fanout_queue_jobs` | gauge | |
 * | `rivulet_fanout_queue_oldest_age_seconds` | gauge | |
 * | `rivulet_fanout_dead_letter_jobs` | gauge (when the store keeps a dead-letter list) | |
 * | `rivulet_read_cache_lookups_total` | counter | `result` (`hit`, `miss`) |
 * | `rivulet_read_cache_entries`, `rivulet_read_cache_bytes` | gauge | |
 * | `rivulet_realtime_clients`, `rivulet_realtime_subscriptions` | gauge | |
 * | process defaults (`process_*`, `nodejs_*`, including `nodejs_eventloop_lag_*`) | | |
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  readonly #http = new FastHistogram('rivulet_http_request_duration_seconds', 'HTTP request latency by route and status', ['method', 'route', 'status'], HTTP_BOUNDS);
  readonly #store = new FastHistogram('rivulet_store_call_duration_seconds', 'Store call latency by port method', ['method', 'outcome'], STORE_BOUNDS);
  readonly #lag = new FastHistogram(
    'rivulet_fanout_lag_seconds',
    'Queued fan-out jobs: seconds from the write (acknowledged) until the last follower has it',
    ['kind'],
    LAG_BOUNDS,
  );
  #sources: MetricSources = {};
  #queueRead: Promise<QueueStats> | null = null;
  readonly #history: History | null;

  constructor(opts: PrometheusMetricsOptions = {}) {
    for (const h of [this.#http, this.#store, this.#lag]) this.registry.registerMetric(h as never);
    const reg = (m: ReturnType<typeof sourced>) => this.registry.registerMetric(m as never);
    // Every process over the same data sees the same queue: "max", not "sum", across processes.
    reg(sourced('rivulet_fanout_queue_jobs', 'Fan-out jobs queued and not yet applied to every follower', 'gauge', 'max', async () => {
      const q = await this.#queue();
      return q ? [{ value: q.pending, labels: {} }] : [];
    }));
    reg(sourced('rivulet_fanout_queue_oldest_age_seconds', 'Seconds since the oldest queued fan-out job was queued (0 when none)', 'gauge', 'max', async () => {
      const q = await this.#queue();
      return q ? [{ value: q.oldestAgeSeconds ?? 0, labels: {} }] : [];
    }));
    reg(sourced('rivulet_fanout_dead_letter_jobs', 'Fan-out jobs set aside after failing for good', 'gauge', 'max', async () => {
      const q = await this.#queue();
      return q?.deadLettered !== undefined ? [{ value: q.deadLettered, labels: {} }] : [];
    }));
    reg(sourced('rivulet_read_cache_lookups_total', 'Feed reads looked up in the read cache, by result', 'counter', 'sum', async () => {
      const c = this.#sources.readCache?.();
      return c ? [{ value: c.hits, labels: { result: 'hit' } }, { value: c.misses, labels: { result: 'miss' } }] : [];
    }));
    reg(sourced('rivulet_read_cache_entries', 'Responses held by the read cache', 'gauge', 'sum', async () => {
      const c = this.#sources.readCache?.();
      return c ? [{ value: c.entries, labels: {} }] : [];
    }));
    reg(sourced('rivulet_read_cache_bytes', 'Bytes held by the read cache', 'gauge', 'sum', async () => {
      const c = this.#sources.readCache?.();
      return c ? [{ value: c.bytes, labels: {} }] : [];
    }));
    reg(sourced('rivulet_realtime_clients', 'Connected realtime (Faye) clients', 'gauge', 'sum', async () => {
      const r = this.#sources.realtime?.();
      return r ? [{ value: r.clients, labels: {} }] : [];
    }));
    reg(sourced('rivulet_realtime_subscriptions', 'Feed subscriptions of realtime clients', 'gauge', 'sum', async () => {
      const r = this.#sources.realtime?.();
      return r ? [{ value: r.subscriptions, labels: {} }] : [];
    }));
    this.#history = opts.history === false ? null : new History(this, opts.historyIntervalMs ?? HISTORY_INTERVAL_MS);
  }

  route(method: string, url: string): RouteRecorder {
    const byStatus = new Map<number, HistogramSeries>();
    const http = this.#http;
    return {
      observe(status, seconds) {
        let s = byStatus.get(status);
        if (s === undefined) byStatus.set(status, (s = http.series([method, url, String(status)])));
        s.observe(seconds);
      },
    };
  }

  storeMethod(name: string): DurationRecorder {
    // Series appear with their first call, so methods never called (and errors that never
    // happened) add no lines to a scrape.
    let ok: HistogramSeries | null = null;
    let error: HistogramSeries | null = null;
    const store = this.#store;
    return {
      observe(seconds, failed) {
        if (failed) (error ??= store.series([name, 'error'])).observe(seconds);
        else (ok ??= store.series([name, 'ok'])).observe(seconds);
      },
    };
  }

  fanoutApplied(kind: string, lagSeconds: number): void {
    this.#lag.series([kind]).observe(Math.max(0, lagSeconds));
  }

  sources(s: MetricSources): void {
    this.#sources = { ...this.#sources, ...s };
  }

  /** The queue source, read once for the three metrics of one scrape (see {@link registries}). */
  #queue(): Promise<QueueStats | null> {
    const read = this.#sources.queue;
    if (!read) return Promise.resolve(null);
    this.#queueRead ??= read();
    return this.#queueRead;
  }

  /** This server's registries, the process defaults first; each call starts a new scrape. */
  registries(): Registry[] {
    this.#queueRead = null;
    return [processMetrics(), this.registry];
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge(this.registries());
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  history(): MetricsHistory {
    return this.#history?.read() ?? { intervalSeconds: 0, samples: [] };
  }

  close(): void {
    this.#history?.stop();
  }

  /** For the history: the counts it differentiates. */
  totals(): Totals {
    const http = new Float64Array(this.#http.bounds.length + 1);
    let requests = 0;
    let errors = 0;
    for (const s of this.#http.all()) {
      for (let i = 0; i < http.length; i++) http[i] += s.counts[i];
      requests += s.count;
      if (Number(s.labels.status) >= 500) errors += s.count;
    }
    const lag = new Float64Array(this.#lag.bounds.length + 1);
    for (const s of this.#lag.all()) for (let i = 0; i < lag.length; i++) lag[i] += s.counts[i];
    const cache = this.#sources.readCache?.();
    return { at: Date.now(), http, requests, errors, lag, hits: cache?.hits ?? 0, misses: cache?.misses ?? 0 };
  }

  get httpBounds(): Float64Array {
    return this.#http.bounds;
  }

  get lagBounds(): Float64Array {
    return this.#lag.bounds;
  }

  get currentSources(): MetricSources {
    return this.#sources;
  }
}

interface Totals {
  readonly at: number;
  readonly http: Float64Array;
  readonly requests: number;
  readonly errors: number;
  readonly lag: Float64Array;
  readonly hits: number;
  readonly misses: number;
}

function diff(a: Float64Array, b: Float64Array): Float64Array {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
  return d;
}

const ms = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 1e6) / 1e3);

/**
 * The last hour of this server's own metrics, one sample per interval, for the dashboard's charts:
 * differences of the counters between two looks, so the history costs nothing between samples.
 * A read also returns the interval in progress, so a chart has a point from the first seconds on.
 */
class History {
  readonly #m: PrometheusMetrics;
  readonly #intervalMs: number;
  readonly #samples: MetricsSample[] = [];
  readonly #loop: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #last: Totals;
  #queueDepth: number | null = null;
  #stopped = false;

  constructor(m: PrometheusMetrics, intervalMs: number) {
    this.#m = m;
    this.#intervalMs = intervalMs;
    this.#loop = monitorEventLoopDelay({ resolution: 10 });
    this.#loop.enable();
    this.#last = m.totals();
    this.#timer = setInterval(() => void this.#tick(), intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    try {
      this.#queueDepth = (await this.#m.currentSources.queue?.())?.pending ?? null;
    } catch {
      this.#queueDepth = null;
    }
    if (this.#stopped) return;
    const now = this.#m.totals();
    const sample = this.#sample(now);
    this.#last = now;
    this.#loop.reset();
    this.#samples.push(sample);
    if (this.#samples.length > HISTORY_MS / this.#intervalMs) this.#samples.shift();
  }

  #sample(now: Totals): MetricsSample {
    const seconds = Math.max(0.001, (now.at - this.#last.at) / 1000);
    const http = diff(now.http, this.#last.http);
    const lag = diff(now.lag, this.#last.lag);
    const hits = now.hits - this.#last.hits;
    const misses = now.misses - this.#last.misses;
    const loopP99 = this.#loop.count > 0 ? this.#loop.percentile(99) / 1e6 : null;
    return {
      at: now.at,
      requestsPerSecond: Math.round(((now.requests - this.#last.requests) / seconds) * 100) / 100,
      latencyP50Ms: ms(quantile(this.#m.httpBounds, http, 0.5)),
      latencyP99Ms: ms(quantile(this.#m.httpBounds, http, 0.99)),
      errorsPerSecond: Math.round(((now.errors - this.#last.errors) / seconds) * 100) / 100,
      fanoutLagP99Ms: ms(quantile(this.#m.lagBounds, lag, 0.99)),
      queueDepth: this.#queueDepth,
      cacheHitRate: hits + misses > 0 ? Math.round((hits / (hits + misses)) * 1000) / 1000 : null,
      eventLoopDelayP99Ms: loopP99 === null ? null : Math.round(loopP99 * 100) / 100,
      realtimeClients: this.#m.currentSources.realtime?.().clients ?? null,
    };
  }

  read(): MetricsHistory {
    const current = this.#sample(this.#m.totals());
    return { intervalSeconds: this.#intervalMs / 1000, samples: [...this.#samples, current] };
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#loop.disable();
  }
}
