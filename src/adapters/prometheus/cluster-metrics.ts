import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Metrics } from '../../ports/metrics.js';
import type { PrometheusMetrics } from './prometheus-metrics.js';

/**
 * Metrics of `rivulet serve --workers N`: every process keeps its own (the HTTP processes their
 * requests, the primary its fan-out worker), and a scrape, which reaches any one HTTP process,
 * shows them all together. The HTTP process asks the primary, the primary asks every HTTP process
 * for its values over the cluster's IPC channel, adds its own and merges them with prom-client's
 * cluster aggregation (counters and histograms summed; gauges every process reads from the shared
 * data, such as the queue depth, take the maximum; per-process defaults as prom-client aggregates
 * them).
 */

/** Messages of this module on the cluster IPC channel. */
type MetricsMessage =
  | { rivulet: 'metrics?'; id: number }
  | { rivulet: 'metrics'; id: number; contentType?: string; body?: string; error?: string }
  | { rivulet: 'metrics-json?'; id: number }
  | { rivulet: 'metrics-json'; id: number; json?: PromMetric[][]; error?: string };

function isMetricsMessage(m: unknown): m is MetricsMessage {
  const r = (m as { rivulet?: unknown } | null)?.rivulet;
  return r === 'metrics?' || r === 'metrics' || r === 'metrics-json?' || r === 'metrics-json';
}

/** One metric as `Registry.getMetricsAsJSON()` gives it (what cluster aggregation merges). */
type PromMetric = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

/** How long a scrape waits for the other processes. */
const GATHER_TIMEOUT_MS = 5000;

async function ownJson(m: PrometheusMetrics): Promise<PromMetric[][]> {
  return Promise.all(m.registries().map((r) => r.getMetricsAsJSON()));
}

/**
 * The primary's side: `handle` answers an HTTP process's `metrics?` with every process's values
 * merged (it returns true for this module's messages); `scrape` is that merged view.
 */
export function primaryMetrics(
  own: PrometheusMetrics,
  workers: () => Worker[],
): { scrape(): Promise<{ contentType: string; body: string }>; handle(from: Worker, m: unknown): boolean } {
  let nextId = 0;
  const waiting = new Map<number, { json: PromMetric[][][]; pending: number; done: () => void }>();
  const gather = async (): Promise<{ contentType: string; body: string }> => {
    const id = nextId++;
    const live = workers().filter((w) => w.isConnected());
    const json: PromMetric[][][] = [await ownJson(own)];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve();
      }, GATHER_TIMEOUT_MS);
      const entry = {
        json,
        pending: live.length,
        done: () => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve();
        },
      };
      waiting.set(id, entry);
      if (live.length === 0) entry.done();
      for (const w of live) w.send({ rivulet: 'metrics-json?', id } satisfies MetricsMessage);
    });
    const registry = AggregatorRegistry.aggregate(json.flat());
    return { contentType: registry.contentType, body: await registry.metrics() };
  };
  const handle = (from: Worker, m: unknown): boolean => {
    if (!isMetricsMessage(m)) return false;
    if (m.rivulet === 'metrics?') {
      gather().then(
        (r) => from.isConnected() && from.send({ rivulet: 'metrics', id: m.id, ...r } satisfies MetricsMessage),
        (err: unknown) => from.isConnected() && from.send({ rivulet: 'metrics', id: m.id, error: (err as Error).message } satisfies MetricsMessage),
      );
    } else if (m.rivulet === 'metrics-json') {
      const entry = waiting.get(m.id);
      if (entry) {
        if (m.json) entry.json.push(m.json);
        if (--entry.pending === 0) entry.done();
      }
    }
    return true;
  };
  return { scrape: gather, handle };
}

/**
 * An HTTP process's metrics: recorded locally as usual; a scrape asks the primary for the merged
 * view of every process. Also answers the primary's requests for this process's values.
 */
export function childMetrics(local: PrometheusMetrics, send: (m: MetricsMessage) => void): Metrics & { onMessage(m: unknown): boolean } {
  let nextId = 0;
  const waiting = new Map<number, (m: Extract<MetricsMessage, { rivulet: 'metrics' }>) => void>();
  return {
    route: (method, url) => local.route(method, url),
    storeMethod: (name) => local.storeMethod(name),
    fanoutApplied: (kind, lag) => local.fanoutApplied(kind, lag),
    sources: (s) => local.sources(s),
    history: () => local.history(),
    close: () => local.close(),
    scrape() {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('the primary process did not answer with the metrics'));
        }, GATHER_TIMEOUT_MS + 1000);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          waiting.delete(id);
          if (m.error !== undefined || m.body === undefined) reject(new Error(m.error ?? 'no metrics'));
          else resolve({ contentType: m.contentType ?? 'text/plain; version=0.0.4; charset=utf-8', body: m.body });
        });
        send({ rivulet: 'metrics?', id });
      });
    },
    onMessage(m) {
      if (!isMetricsMessage(m)) return false;
      if (m.rivulet === 'metrics') waiting.get(m.id)?.(m);
      else if (m.rivulet === 'metrics-json?') {
        ownJson(local).then(
          (json) => send({ rivulet: 'metrics-json', id: m.id, json }),
          (err: unknown) => send({ rivulet: 'metrics-json', id: m.id, error: (err as Error).message }),
        );
      }
      return true;
    },
  };
}
