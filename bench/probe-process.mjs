/**
 * A lone client in a process of its own: sends one request after another, `gapMs` apart, for
 * `durationS`, over one keep-alive connection, and prints the latencies' summary as JSON. Run by
 * `Load.mix` (load.ts) beside the load generator, so that what it measures is the server's answer
 * time and not the wait behind the load generator's own event loop (which serves 50 autocannon
 * connections in its thread).
 *
 *   node bench/probe-process.mjs <base url> <request as JSON> <gap ms> <duration s>
 *
 * It sends one request to open the connection, prints `ready`, waits for a line on stdin, then
 * measures and prints one line of JSON: { count, non2xx, latency_ms: { p50, p99, max } }.
 */
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

const [base, reqJson, gapArg, durationArg] = process.argv.slice(2);
const url = new URL(base);
const req = JSON.parse(reqJson);
const gapMs = Number(gapArg);
const durationS = Number(durationArg);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const now = () => performance.timeOrigin + performance.now();

function send() {
  return new Promise((resolve, reject) => {
    const r = request({ agent, host: url.hostname, port: url.port, method: req.method, path: req.path, headers: req.headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

const pct = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);

await send();
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once('line', resolve));
lines.close();
const end = now() + durationS * 1000;
const lat = [];
let non2xx = 0;
while (now() < end) {
  const t0 = now();
  const status = await send();
  lat.push(now() - t0);
  if (status < 200 || status >= 300) non2xx++;
  await new Promise((r) => setTimeout(r, gapMs));
}
agent.destroy();
lat.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ count: lat.length, non2xx, latency_ms: { p50: pct(lat, 50), p99: pct(lat, 99), max: lat.length ? lat[lat.length - 1] : NaN } }) + '\n');
