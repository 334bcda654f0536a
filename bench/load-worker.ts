/**
 * The load generator, run in a worker thread (see load.ts) so that it never competes with the
 * server for the main thread's event loop: the process has one thread serving (Rivulet or the
 * bare Fastify ceiling) and one thread making requests, on this 2-core machine one core each.
 * Times are absolute (`performance.timeOrigin + performance.now()`, ms) so the main thread can
 * line them up with its own.
 */
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { parentPort } from 'node:worker_threads';
import type { CannonResult, HttpReq, LoadCommand, PacedResult, PacedSpec, ProbeResult, Reply } from './load.js';

const now = () => performance.timeOrigin + performance.now();

function send(agent: Agent, base: URL, r: HttpReq): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: r.method,
        path: r.path,
        headers: r.body === undefined ? r.headers : { ...r.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

/** Sends `requests` over `concurrency` keep-alive connections; results in request order. */
async function batch(cmd: Extract<LoadCommand, { op: 'batch' }>): Promise<Reply> {
  const base = new URL(cmd.base);
  const agent = new Agent({ keepAlive: true, maxSockets: cmd.concurrency });
  const n = cmd.requests.length;
  const status = new Array<number>(n);
  const ms = new Array<number>(n);
  const bodies: string[] | undefined = cmd.keepBodies ? new Array<string>(n) : undefined;
  const errors: string[] = [];
  let next = 0;
  let done = 0;
  const t0 = now();
  // How many have been answered, twice a second, for the command's progress bar.
  const progress = cmd.progress ? setInterval(() => parentPort!.postMessage({ progress: done }), 500) : null;
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const start = now();
      const res = await send(agent, base, cmd.requests[i]);
      ms[i] = now() - start;
      status[i] = res.status;
      done++;
      if (bodies) bodies[i] = res.body;
      if ((res.status < 200 || res.status >= 300) && errors.length < 5) errors.push(`${res.status} ${cmd.requests[i].method} ${cmd.requests[i].path}: ${res.body.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, Math.max(1, n)) }, lane));
  const t1 = now();
  if (progress) clearInterval(progress);
  agent.destroy();
  return { op: 'batch', t0, t1, status, ms, bodies, errors };
}

/** autocannon over `requests` (each connection cycles through them), with exact latencies. */
async function cannon(cmd: Extract<LoadCommand, { op: 'cannon' }>): Promise<Reply> {
  return { op: 'cannon', result: await runCannon(cmd) };
}

async function runCannon(cmd: { base: string; requests: HttpReq[]; connections: number; durationS: number }): Promise<CannonResult> {
  const lat: number[] = [];
  const byMethod = new Map<string, number[]>();
  let bytes = 0;
  const opts: autocannon.Options = {
    url: cmd.base,
    connections: cmd.connections,
    duration: cmd.durationS,
    requests: cmd.requests.map((r) => ({ method: r.method, path: r.path, headers: r.headers, body: r.body })),
  };
  // Off the main thread autocannon hands back its raw, unaggregated result; aggregate it here.
  const aggregate = (autocannon as unknown as { aggregateResult(r: unknown, o: unknown): autocannon.Result }).aggregateResult;
  const res = await new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon(opts, (err, raw) => (err ? reject(err) : resolve(aggregate([raw], opts))));
    inst.on('response', (client: unknown, statusCode: number, resBytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        lat.push(responseTime);
        bytes += resBytes;
        // The request answered is still the client's current one (it moves on after this event).
        const method = (client as { requestIterator?: { currentRequest?: { method?: string } } }).requestIterator?.currentRequest?.method ?? '?';
        let l = byMethod.get(method);
        if (l === undefined) byMethod.set(method, (l = []));
        l.push(responseTime);
      }
    });
  });
  lat.sort((a, b) => a - b);
  const pct = (p: number) => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))]);
  const result: CannonResult = {
    connections: cmd.connections,
    duration_s: res.duration,
    responses_2xx: lat.length,
    requests_per_s: lat.length / res.duration,
    latency_ms: {
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      p999: pct(99.9),
      max: lat.length ? lat[lat.length - 1] : NaN,
      mean: lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length),
    },
    autocannon: { p50: res.latency.p50, p99: res.latency.p99 },
    bytes_per_response: lat.length ? bytes / lat.length : 0,
    errors: res.errors + res.timeouts,
    timeouts: res.timeouts,
    non2xx: res.non2xx,
  };
  if (byMethod.size > 1) {
    result.by_method = {};
    for (const [method, l] of byMethod) {
      l.sort((a, b) => a - b);
      result.by_method[method] = { responses_2xx: l.length, latency_ms: { p50: pctOf(l, 50), p90: pctOf(l, 90), p99: pctOf(l, 99), max: l[l.length - 1] } };
    }
  }
  return result;
}

/** The p-th percentile of sorted values (nearest rank). */
function pctOf(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `spec.requests` (cycling) at a fixed rate for `durationS`, not waiting for answers. */
async function paced(base: URL, spec: PacedSpec, durationS: number): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxInFlight });
  const lat: number[] = [];
  const start = now();
  const end = start + durationS * 1000;
  const gap = 1000 / spec.ratePerS;
  let sent = 0, skipped = 0, due = 0, inFlight = 0, ok = 0, non2xx = 0, errors = 0;
  const pending: Promise<void>[] = [];
  while (now() < end) {
    const dueNow = Math.floor((now() - start) / gap) + 1;
    for (; due < dueNow; due++) {
      if (inFlight >= spec.maxInFlight) {
        skipped++;
        continue;
      }
      const r = spec.requests[sent % spec.requests.length];
      sent++;
      inFlight++;
      const t0 = now();
      pending.push(
        send(agent, base, r).then(
          (res) => {
            inFlight--;
            const t1 = now();
            if (res.status >= 200 && res.status < 300) {
              if (t1 <= end) ok++;
              lat.push(t1 - t0);
            } else non2xx++;
          },
          () => {
            inFlight--;
            errors++;
          },
        ),
      );
    }
    await sleep(Math.max(0, start + due * gap - now()));
  }
  await Promise.all(pending);
  agent.destroy();
  lat.sort((a, b) => a - b);
  return {
    target_per_s: spec.ratePerS,
    sent,
    skipped,
    responses_2xx: ok,
    achieved_per_s: ok / durationS,
    non2xx,
    errors,
    latency_ms: { p50: pctOf(lat, 50), p99: pctOf(lat, 99), max: lat.length ? lat[lat.length - 1] : NaN },
  };
}

/** One request after another, `gapMs` apart, for `durationS`. */
async function probe(base: URL, request: HttpReq, gapMs: number, durationS: number): Promise<ProbeResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const end = now() + durationS * 1000;
  const lat: number[] = [];
  let non2xx = 0;
  while (now() < end) {
    const t0 = now();
    const res = await send(agent, base, request);
    lat.push(now() - t0);
    if (res.status < 200 || res.status >= 300) non2xx++;
    await sleep(gapMs);
  }
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { count: lat.length, non2xx, latency_ms: { p50: pctOf(lat, 50), p99: pctOf(lat, 99), max: lat.length ? lat[lat.length - 1] : NaN } };
}

async function mix(cmd: Extract<LoadCommand, { op: 'mix' }>): Promise<Reply> {
  const base = new URL(cmd.base);
  const [results, pacedResult, probeResult] = await Promise.all([
    Promise.all(cmd.cannons.map((c) => runCannon({ base: cmd.base, requests: c.requests, connections: c.connections, durationS: cmd.durationS }))),
    cmd.paced ? paced(base, cmd.paced, cmd.durationS) : Promise.resolve(undefined),
    cmd.probe ? probe(base, cmd.probe.request, cmd.probe.gapMs, cmd.durationS) : Promise.resolve(undefined),
  ]);
  return {
    op: 'mix',
    cannons: Object.fromEntries(cmd.cannons.map((c, i) => [c.name, results[i]])),
    paced: pacedResult,
    probe: probeResult,
  };
}

/**
 * Posts one activity, then reads each reader's feed until the posted id shows up in it. Readers
 * are polled in turn with `gapMs` between rounds, so the watch costs the server little.
 */
async function watch(cmd: Extract<LoadCommand, { op: 'watch' }>): Promise<Reply> {
  const base = new URL(cmd.base);
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const start = now();
  const posted = await send(agent, base, cmd.post);
  const ack = now();
  if (posted.status !== 201) throw new Error(`post failed: ${posted.status} ${posted.body.slice(0, 300)}`);
  const id = (JSON.parse(posted.body) as { id: string }).id;
  const seen: (number | null)[] = cmd.readers.map(() => null);
  // How many reads of each reader it took to see the activity (1 = the first read after the ack).
  const reads = cmd.readers.map(() => 0);
  let polls = 0;
  while (seen.some((s) => s === null) && now() - start < cmd.timeoutMs) {
    for (let i = 0; i < cmd.readers.length; i++) {
      if (seen[i] !== null) continue;
      const res = await send(agent, base, cmd.readers[i]);
      polls++;
      reads[i]++;
      if (res.status !== 200) throw new Error(`reader read failed: ${res.status} ${res.body.slice(0, 300)}`);
      if (res.body.includes(id)) seen[i] = now();
    }
    if (cmd.gapMs > 0) await new Promise((r) => setTimeout(r, cmd.gapMs));
  }
  agent.destroy();
  return { op: 'watch', id, start, ack, seen, reads, polls };
}

parentPort!.on('message', async (cmd: LoadCommand) => {
  try {
    const reply =
      cmd.op === 'batch' ? await batch(cmd) : cmd.op === 'cannon' ? await cannon(cmd) : cmd.op === 'mix' ? await mix(cmd) : await watch(cmd);
    parentPort!.postMessage({ ok: true, reply });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).stack ?? String(err) });
  }
});
