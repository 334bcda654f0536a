import type { Worker } from 'node:worker_threads';
import { startThread } from '../../../workers/start-thread.js';
import { HealthState, type HealthThreadData } from './health-state.js';

/** Settings of the health listener (config `health`, flag `--health-port`). */
export interface HealthListenerOptions {
  readonly host: string;
  readonly port: number;
  /** A main event loop that has not run for longer than this (ms) is reported stalled. */
  readonly stallMs: number;
}

export interface HealthListener {
  /** The `/healthz` URL it answers on. */
  readonly url: string;
  readonly state: HealthState;
  /** Stops the heartbeat, closes the listener's connections and ends its thread. */
  close(): Promise<void>;
}

type FromThread = { type: 'listening'; address: string; port: number } | { type: 'failed'; message: string } | { type: 'closed' };

/** How long close() waits for the thread to close its server before it ends the thread. */
const CLOSE_WAIT_MS = 2000;

/**
 * Starts `GET /healthz` on a port of its own, served by a worker thread (health-thread-entry.ts):
 * the answer does not wait for the main event loop's turn, so it stays fast under any load, and it
 * is a real liveness probe: the main thread beats a timer into shared memory, and a beat older
 * than `stallMs` is answered 503 `stalled`. The caller publishes ready and closing through `state`.
 * `onError` hears of a failure of the thread after it started.
 */
export async function startHealthListener(opts: HealthListenerOptions, onError: (err: Error) => void): Promise<HealthListener> {
  const state = new HealthState();
  state.beat();
  // A few beats per stall limit; the timer is what a blocked event loop cannot run.
  const every = Math.max(5, Math.min(100, Math.floor(opts.stallMs / 4)));
  const beat = setInterval(() => state.beat(), every);
  beat.unref();
  const data: HealthThreadData = { buffer: state.buffer, host: opts.host, port: opts.port, stallMs: opts.stallMs };
  let worker: Worker;
  let address: { address: string; port: number };
  try {
    worker = await startThread(import.meta.url, 'health-thread-entry', { workerData: data });
    address = await new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the health listener's thread exited (code ${code})`)));
      worker.once('message', (m: FromThread) => {
        if (m.type === 'listening') resolve(m);
        else if (m.type === 'failed') reject(new Error(`the health listener cannot listen on ${opts.host}:${opts.port}: ${m.message}`));
      });
    });
  } catch (err) {
    clearInterval(beat);
    if (worker!) void worker.terminate();
    throw err;
  }
  worker.removeAllListeners('exit');
  worker.removeAllListeners('error');
  // A thread that fails later leaves the port closed: probes then fail, as they should.
  worker.on('error', onError);
  // The listener must not keep a process running that is otherwise done.
  worker.unref();
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}/healthz`,
    state,
    close() {
      closed ??= (async () => {
        clearInterval(beat);
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'close' });
        const late = setTimeout(() => void worker.terminate(), CLOSE_WAIT_MS);
        await exited;
        clearTimeout(late);
      })();
      return closed;
    },
  };
}
