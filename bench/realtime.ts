/**
 * Realtime delivery latency: how long after a write is acknowledged over HTTP its message reaches
 * Faye subscribers of the feed, with 1 and with 1,000 subscribers on loopback.
 *
 * Rivulet runs in the main thread; the writer (the getstream client) and the subscribers (Faye
 * clients sending the extension the getstream client sends) run in one worker thread, so client
 * work does not stall the server's event loop and every timestamp comes from the same clock.
 * Writes are sequential: each waits until every subscriber has its message (unloaded latency).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pino from 'pino';
import { connect } from 'getstream';
import { parseConfig } from '../src/config/config.js';
import { createRivulet } from '../src/main.js';
import { faye, type FayeClient } from '../src/realtime/faye.js';
import { writeResult } from './report.js';


interface Plan {
  readonly address: string;
  readonly appId: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Subscriber counts and how many measured writes each gets. */
  readonly runs: readonly { readonly subscribers: number; readonly writes: number; readonly warmup: number }[];
}

interface Summary {
  p50: number;
  p99: number;
  max: number;
}

interface RunResult {
  subscribers: number;
  writes: number;
  /** Write acknowledged (HTTP response received) → message in a subscriber's callback, over every delivery. */
  ack_to_delivered_ms: Summary;
  /** Write sent → message in a subscriber's callback, over every delivery. */
  send_to_delivered_ms: Summary;
  /** Write acknowledged → the last subscriber has the message, per write. */
  ack_to_all_delivered_ms: Summary;
  ack_ms: Summary;
}

export async function realtime(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-'));
  const appId = '1';
  const apiKey = 'benchkey';
  const apiSecret = randomBytes(24).toString('base64url');
  const config = parseConfig(
    { apps: [{ app_id: appId, api_key: apiKey, api_secret: apiSecret, feed_groups: [{ name: 'user', type: 'flat' }] }] },
    dir,
  );
  const rivulet = await createRivulet({ config, logger: pino({ level: 'warn' }), realtime: { maxSubscriptionsPerClient: 10 } });
  try {
    const address = await rivulet.listen(0, '127.0.0.1');
    const plan: Plan = {
      address,
      appId,
      apiKey,
      apiSecret,
      runs: [
        { subscribers: 1, writes: 300, warmup: 30 },
        { subscribers: 1000, writes: 60, warmup: 5 },
      ],
    };
    // The worker loads this file again, so it registers the TypeScript loader first (on Node 20 a
    // worker does not inherit `--import tsx`).
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { role: 'realtime-clients', plan } });
    const runs = await new Promise<RunResult[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`client worker exited with ${code}`)));
    });
    await worker.terminate();
    writeResult('realtime', {
      what: 'write acknowledged over HTTP → message delivered to Faye subscribers (WebSocket, loopback), sequential writes',
      note: 'ack_to_delivered can be negative: the message may be on the wire before the HTTP response',
      runs,
    });
  } finally {
    await rivulet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The client side, in the worker thread. */
async function runClients(plan: Plan): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const client = connect(plan.apiKey, plan.apiSecret, plan.appId, { urlOverride: { api: `${plan.address}/api/` } });
  for (const run of plan.runs) {
    const uid = `star${run.subscribers}`;
    const feed = client.feed('user', uid);
    const channel = `/site-${plan.appId}-feed-user${uid}`;
    const deliveries = new Map<string, number[]>();
    const subscribers: FayeClient[] = [];
    for (let i = 0; i < run.subscribers; i++) {
      const c = new faye.Client(`${plan.address}/faye`, { timeout: 10 });
      c.addExtension({
        outgoing: (message, callback) => {
          if (message.channel === '/meta/subscribe') message.ext = { user_id: channel.slice(1), api_key: plan.apiKey, signature: feed.token };
          callback(message);
        },
      });
      subscribers.push(c);
    }
    await Promise.all(
      subscribers.map((c) =>
        c.subscribe(channel, (data: { new: { id: string }[] }) => {
          const at = performance.now();
          const id = data.new[0]?.id;
          if (id === undefined) return;
          const list = deliveries.get(id);
          if (list) list.push(at);
          else deliveries.set(id, [at]);
        }),
      ),
    );
    const ackToDelivered: number[] = [];
    const sendToDelivered: number[] = [];
    const ackToAll: number[] = [];
    const acks: number[] = [];
    for (let w = 0; w < run.warmup + run.writes; w++) {
      const sent = performance.now();
      const act = await feed.addActivity({ actor: `SU:${uid}`, verb: 'post', object: `note:${w}` });
      const acked = performance.now();
      const deadline = acked + 10_000;
      while ((deliveries.get(act.id)?.length ?? 0) < run.subscribers) {
        if (performance.now() > deadline) throw new Error(`write ${w}: ${deliveries.get(act.id)?.length ?? 0}/${run.subscribers} delivered after 10 s`);
        await new Promise((r) => setImmediate(r));
      }
      if (w < run.warmup) continue;
      const times = deliveries.get(act.id)!;
      for (const t of times) {
        ackToDelivered.push(t - acked);
        sendToDelivered.push(t - sent);
      }
      ackToAll.push(Math.max(...times) - acked);
      acks.push(acked - sent);
      deliveries.delete(act.id);
    }
    for (const c of subscribers) c.disconnect();
    await new Promise((r) => setTimeout(r, 200));
    results.push({
      subscribers: run.subscribers,
      writes: run.writes,
      ack_to_delivered_ms: summary(ackToDelivered),
      send_to_delivered_ms: summary(sendToDelivered),
      ack_to_all_delivered_ms: summary(ackToAll),
      ack_ms: summary(acks),
    });
  }
  client.fayeClient?.disconnect();
  return results;
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}


function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === 'realtime-clients') {
  parentPort!.postMessage(await runClients((workerData as { plan: Plan }).plan));
}
