/**
 * The main thread's handle on the load generator (load-worker.ts), which runs in its own worker
 * thread. One command at a time.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { progressBar } from '../src/cli/progress.js';

export interface HttpReq {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export interface CannonResult {
  connections: number;
  duration_s: number;
  responses_2xx: number;
  requests_per_s: number;
  /** Exact per-response latencies (autocannon's own histogram rounds to whole ms). */
  latency_ms: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** autocannon's own percentiles (whole ms), as a cross-check. */
  autocannon: { p50: number; p99: number };
  bytes_per_response: number;
  errors: number;
  /** Of `errors`, those that timed out (autocannon's 10 s). */
  timeouts?: number;
  non2xx: number;
  /** Latencies by request method (a cannon mixing reads and writes: each kind's own percentiles). */
  by_method?: Record<string, { responses_2xx: number; latency_ms: { p50: number; p90: number; p99: number; max: number } }>;
}

/** Requests sent at a fixed rate, whatever the answers take (open loop). */
export interface PacedSpec {
  readonly requests: HttpReq[];
  readonly ratePerS: number;
  /** A request due while this many are unanswered is not sent (counted as `skipped`). */
  readonly maxInFlight: number;
}

export interface PacedResult {
  target_per_s: number;
  sent: number;
  /** Due but not sent: `maxInFlight` requests were already waiting. */
  skipped: number;
  responses_2xx: number;
  /** 2xx answers received within the window, per second: the write rate reached. */
  achieved_per_s: number;
  non2xx: number;
  errors: number;
  latency_ms: { p50: number; p99: number; max: number };
}

/** A lone client sending one request after another with a gap (a health check's view of the server). */
export interface ProbeResult {
  count: number;
  non2xx: number;
  latency_ms: { p50: number; p99: number; max: number };
}

export type LoadCommand =
  | { op: 'batch'; base: string; requests: HttpReq[]; concurrency: number; keepBodies: boolean; progress?: boolean }
  | { op: 'cannon'; base: string; requests: HttpReq[]; connections: number; durationS: number }
  | { op: 'watch'; base: string; post: HttpReq; readers: HttpReq[]; gapMs: number; timeoutMs: number }
  | {
      op: 'mix';
      base: string;
      durationS: number;
      cannons: { name: string; requests: HttpReq[]; connections: number }[];
      paced?: PacedSpec;
      probe?: { request: HttpReq; gapMs: number };
    };

export type Reply =
  | { op: 'batch'; t0: number; t1: number; status: number[]; ms: number[]; bodies?: string[]; errors: string[] }
  | { op: 'cannon'; result: CannonResult }
  | { op: 'watch'; id: string; start: number; ack: number; seen: (number | null)[]; reads: number[]; polls: number }
  | { op: 'mix'; cannons: Record<string, CannonResult>; paced?: PacedResult; probe?: ProbeResult; probeInLoadThread?: ProbeResult };

/** Absolute time in ms, comparable with the worker's. */
export const now = () => performance.timeOrigin + performance.now();

export class Load {
  readonly #worker: Worker;
  #busy: Promise<unknown> = Promise.resolve();

  constructor() {
    // Worker threads do not inherit tsx's loader from `--import tsx` on Node 20: register it first.
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./load-worker.ts', import.meta.url).href;
    this.#worker = new Worker(
      `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
      { eval: true },
    );
    this.#worker.unref();
  }

  #run<T extends Reply['op']>(cmd: LoadCommand & { op: T }, onProgress?: (done: number) => void): Promise<Extract<Reply, { op: T }>> {
    const run = this.#busy.then(
      () =>
        new Promise<Extract<Reply, { op: T }>>((resolve, reject) => {
          const onMessage = (m: { ok: boolean; reply?: Reply; error?: string; progress?: number }) => {
            if (m.progress !== undefined) {
              onProgress?.(m.progress);
              return;
            }
            this.#worker.off('message', onMessage);
            this.#worker.off('error', onError);
            if (m.ok) resolve(m.reply as Extract<Reply, { op: T }>);
            else reject(new Error(`load worker: ${m.error}`));
          };
          const onError = (err: Error) => {
            this.#worker.off('message', onMessage);
            reject(err);
          };
          this.#worker.on('message', onMessage);
          this.#worker.once('error', onError);
          this.#worker.postMessage(cmd);
        }),
    );
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends requests with `concurrency` in flight; throws on any non-2xx answer. With `progress` (a
   * label), a long batch shows a progress bar with rate and time left (a summary line off a terminal).
   */
  async batch(base: string, requests: HttpReq[], opts: { concurrency?: number; keepBodies?: boolean; progress?: string; unit?: string } = {}) {
    const bar = opts.progress === undefined ? null : progressBar(opts.progress, { unit: opts.unit ?? 'requests' });
    bar?.start(requests.length);
    let shown = 0;
    const onProgress = (done: number) => {
      bar?.tick(done - shown);
      shown = done;
    };
    let r;
    try {
      r = await this.#run({ op: 'batch', base, requests, concurrency: opts.concurrency ?? 1, keepBodies: opts.keepBodies ?? false, progress: bar !== null }, onProgress);
      onProgress(requests.length);
    } finally {
      bar?.stop();
    }
    if (r.errors.length > 0) throw new Error(`requests failed:\n  ${r.errors.join('\n  ')}`);
    return r;
  }

  async cannon(base: string, requests: HttpReq[], connections: number, durationS: number): Promise<CannonResult> {
    const r = await this.#run({ op: 'cannon', base, requests, connections, durationS });
    if (r.result.non2xx > 0 || r.result.errors > 0) {
      throw new Error(`load run got ${r.result.non2xx} non-2xx answers and ${r.result.errors} errors (${requests[0]?.path})`);
    }
    return r.result;
  }

  /**
   * Runs at once, for `durationS`: one autocannon per entry of `cannons` (each with its own
   * connections and latencies), an open-loop `paced` sender, and a lone `probe` client. The probe
   * runs in a process of its own (`probe-process.mjs`), so its latencies are the server's and not
   * the wait behind the load generator's busy thread; the same probe run inside the load
   * generator's thread, as before, is `probeInLoadThread` (for comparison); `otherProbe`, one more
   * such process on another origin, is `otherProbe`. Throws when a cannon
   * got a non-2xx answer; timeouts and the paced sender's failures are counted in the result.
   */
  async mix(
    base: string,
    durationS: number,
    parts: {
      cannons: { name: string; requests: HttpReq[]; connections: number }[];
      paced?: PacedSpec;
      probe?: { request: HttpReq; gapMs: number };
      /** A second lone client in a process of its own, on another origin (the health listener's). */
      otherProbe?: { base: string; request: HttpReq; gapMs: number };
    },
  ) {
    const { otherProbe: other, ...own } = parts;
    const [probe, second] = await Promise.all([
      own.probe ? startProbe(base, own.probe.request, own.probe.gapMs, durationS) : null,
      other ? startProbe(other.base, other.request, other.gapMs, durationS) : null,
    ]);
    const [r, probed, otherProbed] = await Promise.all([this.#run({ op: 'mix', base, durationS, ...own }), probe?.result, second?.result]);
    for (const [name, c] of Object.entries(r.cannons)) {
      if (c.non2xx > 0) throw new Error(`load run ${name} got ${c.non2xx} non-2xx answers`);
      // Requests cut off when the run ends (or timed out on an overloaded machine) are counted, not fatal.
      if (c.errors > 0) console.warn(`  load run ${name}: ${c.errors} requests errored or timed out (kept in the result)`);
    }
    return { ...r, probe: probed, probeInLoadThread: r.probe, otherProbe: otherProbed };
  }

  watch(base: string, post: HttpReq, readers: HttpReq[], gapMs = 2, timeoutMs = 600_000) {
    return this.#run({ op: 'watch', base, post, readers, gapMs, timeoutMs });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * Starts `probe-process.mjs` and waits until it has its connection open; `result` starts the
 * measuring (at once) and settles with what it measured.
 */
async function startProbe(base: string, request: HttpReq, gapMs: number, durationS: number): Promise<{ result: Promise<ProbeResult> }> {
  const script = fileURLToPath(new URL('./probe-process.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, base, JSON.stringify(request), String(gapMs), String(durationS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: string) => {
      out += chunk;
      if (out.includes('ready\n')) {
        out = out.slice(out.indexOf('ready\n') + 6);
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the probe process ended before it was ready (${code})`)));
  });
  const result = new Promise<ProbeResult>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.removeAllListeners('exit');
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`the probe process failed (${code})`));
      try {
        resolve(JSON.parse(out.trim()) as ProbeResult);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
  child.stdin.end('go\n');
  return { result };
}
