/**
 * What the health listener's thread knows of the server: a few words of shared memory that the
 * main thread writes and the listener reads, with no message between them. `ready` and `closing`
 * follow the server's own flags; `beat` is the time (process.hrtime, a monotonic clock shared by
 * every thread of the process) at which the main event loop last ran its heartbeat timer.
 */
export class HealthState {
  /** Shared memory: the heartbeat (ns) at byte 0, then the ready and closing flags. */
  readonly buffer: SharedArrayBuffer;
  readonly #beat: BigInt64Array;
  readonly #flags: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(16)) {
    this.buffer = buffer;
    this.#beat = new BigInt64Array(buffer, 0, 1);
    this.#flags = new Int32Array(buffer, 8, 2);
  }

  /** Records that the main event loop is running now. */
  beat(now: bigint = process.hrtime.bigint()): void {
    Atomics.store(this.#beat, 0, now);
  }

  setReady(ready: boolean): void {
    Atomics.store(this.#flags, 0, ready ? 1 : 0);
  }

  setClosing(closing: boolean): void {
    Atomics.store(this.#flags, 1, closing ? 1 : 0);
  }

  get ready(): boolean {
    return Atomics.load(this.#flags, 0) === 1;
  }

  get closing(): boolean {
    return Atomics.load(this.#flags, 1) === 1;
  }

  /** Milliseconds since the last heartbeat (as of `now`). */
  sinceBeatMs(now: bigint = process.hrtime.bigint()): number {
    return Number(now - Atomics.load(this.#beat, 0)) / 1e6;
  }
}

/** What the health listener's thread is started with. */
export interface HealthThreadData {
  readonly buffer: SharedArrayBuffer;
  readonly host: string;
  readonly port: number;
  /** A heartbeat older than this (ms) means the main event loop is stalled. */
  readonly stallMs: number;
}

export type HealthBody = { status: 'ok' } | { status: 'starting' | 'closing' | 'stalled'; detail: string };

/**
 * The health answer for `state`: the main `/healthz`'s (200 `{"status":"ok"}` once started, 503
 * `starting` before) plus 503 `closing` once shutdown began and 503 `stalled` when the main event
 * loop has not run for longer than `stallMs`, which a probe on the main port cannot tell apart from
 * a slow answer.
 */
export function healthAnswer(state: HealthState, stallMs: number, now?: bigint): { ok: boolean; body: HealthBody } {
  if (state.closing) return { ok: false, body: { status: 'closing', detail: 'the server is shutting down' } };
  if (!state.ready) return { ok: false, body: { status: 'starting', detail: 'the server has not started serving yet' } };
  const since = state.sinceBeatMs(now);
  if (since > stallMs) {
    return { ok: false, body: { status: 'stalled', detail: `the main event loop has not run for ${Math.round(since)} ms (stall limit ${stallMs} ms)` } };
  }
  return { ok: true, body: { status: 'ok' } };
}
