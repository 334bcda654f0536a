import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api, type MetricsSample } from './api.js';

type Series = { label: string; value: (s: MetricsSample) => number | null; color: string };

const CHARTS: { title: string; unit: string; testId: string; series: Series[] }[] = [
  {
    title: 'Request latency',
    unit: 'ms',
    testId: 'chart-latency',
    series: [
      { label: 'p50', value: (s) => s.latencyP50Ms, color: '#1b998b' },
      { label: 'p99', value: (s) => s.latencyP99Ms, color: '#e4572e' },
    ],
  },
  {
    title: 'Throughput',
    unit: 'req/s',
    testId: 'chart-throughput',
    series: [
      { label: 'requests/s', value: (s) => s.requestsPerSecond, color: '#29335c' },
      { label: '5xx/s', value: (s) => s.errorsPerSecond, color: '#d62246' },
    ],
  },
  {
    title: 'Fan-out lag (queued jobs, p99)',
    unit: 'ms',
    testId: 'chart-lag',
    series: [{ label: 'lag p99', value: (s) => s.fanoutLagP99Ms, color: '#8338ec' }],
  },
  {
    title: 'Fan-out queue depth',
    unit: 'jobs',
    testId: 'chart-queue',
    series: [{ label: 'queued jobs', value: (s) => s.queueDepth, color: '#f3a712' }],
  },
  {
    title: 'Read cache hit rate',
    unit: '%',
    testId: 'chart-cache',
    series: [{ label: 'hit rate', value: (s) => (s.cacheHitRate === null ? null : s.cacheHitRate * 100), color: '#4c956c' }],
  },
  {
    title: 'Event-loop delay (p99) and realtime clients',
    unit: '',
    testId: 'chart-loop',
    series: [
      { label: 'loop delay ms', value: (s) => s.eventLoopDelayP99Ms, color: '#669bbc' },
      { label: 'realtime clients', value: (s) => s.realtimeClients, color: '#0b3954' },
    ],
  },
];

function Chart({ title, unit, testId, series, samples }: (typeof CHARTS)[number] & { samples: MetricsSample[] }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [samples.map((s) => s.at / 1000), ...series.map((x) => samples.map((s) => x.value(s)))];
  useEffect(() => {
    if (!el.current) return;
    plot.current = new uPlot(
      {
        width: Math.max(320, el.current.clientWidth),
        height: 180,
        series: [{}, ...series.map((x) => ({ label: x.label, stroke: x.color, width: 2, spanGaps: false, points: { show: samples.length < 3 } }))],
        axes: [{}, { label: unit, size: 50 }],
        // At least a minute wide, so the first samples of a fresh server still draw a time axis.
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max + 1] } },
        legend: { show: true },
      },
      data,
      el.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  }, [samples]);
  const last = samples.at(-1);
  return (
    <div class="card chart" data-testid={testId}>
      <h3>
        {title}
        {last && (
          <span class="muted">
            {' '}
            · now{' '}
            {series
              .map((x) => {
                const v = x.value(last);
                return `${x.label} ${v === null ? '—' : Math.round(v * 100) / 100}`;
              })
              .join(', ')}
          </span>
        )}
      </h3>
      <div ref={el} />
    </div>
  );
}

/** Readiness and the last hour of the server's own metrics, refreshed every 10 seconds. */
export function OverviewView() {
  const [overview, setOverview] = useState<Awaited<ReturnType<typeof api.overview>> | null>(null);
  const [samples, setSamples] = useState<MetricsSample[] | null>(null);
  const [interval, setIntervalS] = useState(10);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = () => {
      api.overview().then(setOverview, (e: unknown) => setError(String((e as Error).message)));
      api.history().then(
        (h) => {
          setSamples(h.samples);
          setIntervalS(h.intervalSeconds);
        },
        (e: unknown) => setError(String((e as Error).message)),
      );
    };
    load();
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, []);
  return (
    <div>
      <h1>Overview</h1>
      {error && <p class="error">{error}</p>}
      {overview && (
        <section class="card" data-testid="readiness">
          <h2>
            {overview.ready ? <span class="ok">● ready</span> : <span class="bad">● not ready</span>}
            <span class="muted"> · up {Math.round(overview.uptime_s / 60)} min · Node {overview.node}</span>
          </h2>
          <ul class="checks">
            {Object.entries(overview.checks).map(([name, c]) => (
              <li key={name}>
                <span class={c.ok ? 'ok' : 'bad'}>{c.ok ? '✓' : '✗'}</span> <strong>{name}</strong> <span class="muted">{c.detail ?? ''}</span>
              </li>
            ))}
          </ul>
          <p class="muted">
            {overview.metrics_url ? (
              <>
                Prometheus scrapes <code>{overview.metrics_url}</code>
              </>
            ) : (
              'Prometheus metrics are off (metrics.enabled: false).'
            )}
          </p>
        </section>
      )}
      {samples && (
        <>
          <h2>The last hour</h2>
          <p class="muted">
            One point every {interval} s from this server's own metrics, refreshed every 10 s; the last point is the interval in progress.
          </p>
          <div class="charts">
            {CHARTS.map((c) => (
              <Chart key={c.testId} {...c} samples={samples} />
            ))}
          </div>
        </>
      )}
    </div>
  );
}
