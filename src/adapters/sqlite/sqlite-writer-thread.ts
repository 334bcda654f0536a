import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startThread } from '../../workers/start-thread.js';
import {
  ConflictError,
  FeedConfigError,
  InputError,
  MissingUserError,
  NotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RivuletError,
  StaleWriteError,
  StoreError,
  UnavailableError,
} from '../../core/errors.js';
import type { RemoteWriter, WriteItem } from './sqlite-write-store.js';
import type { MarksReport } from './sqlite-change-marks.js';

/** Longest a lazy write waits for another write to go with (ms, see {@link WriterThread.send}). */
export const LAZY_MS = 100;

/** What the writer thread is started with. */
export interface WriterThreadData {
  readonly path: string;
  /** Two Int32s over shared memory: commits made by the thread, and those of them that waited for fsync. */
  readonly commits: SharedArrayBuffer;
  /** Where the thread sends its acknowledgements (`done`), which this side may take ahead of the event loop. */
  readonly acks: MessagePort;
}

/** Messages to the thread. */
export type ToWriter = { readonly type: 'write'; readonly items: readonly (WriteItem & { readonly seq: number })[] } | { readonly type: 'close' };

/** A failure carried across threads (an Error's class and fields do not survive structured cloning). */
export interface WireError {
  readonly message: string;
  readonly name: string;
  readonly code?: string;
  readonly store: boolean;
  readonly corrupt: boolean;
  readonly transient: boolean;
  readonly cause?: string;
  readonly fields?: Record<string, string[]>;
}

/** The errors a write can fail with on purpose, rebuilt with their class on this side (by name). */
const ERRORS: Record<string, new (detail: string) => RivuletError> = {
  ConflictError,
  FeedConfigError,
  MissingUserError,
  NotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  StaleWriteError,
  UnavailableError,
};

/** Messages from the thread. */
export type FromWriter =
  | {
      readonly type: 'done';
      readonly results: readonly { readonly seq: number; readonly ok: boolean; readonly value?: unknown; readonly error?: WireError }[];
      /** The change marks committed since the last report (see `SqliteChangeMarks.report`). */
      readonly marks?: MarksReport | null;
    }
  | { readonly type: 'closed' }
  | { readonly type: 'failed'; readonly error: WireError };

export function toWire(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  const cause = (e as { cause?: unknown }).cause;
  const code = (e as { code?: unknown }).code ?? (cause as { code?: unknown } | undefined)?.code;
  return {
    message: e.message,
    name: e.name,
    ...(code === undefined ? {} : { code: String(code) }),
    store: e instanceof StoreError,
    corrupt: e instanceof StoreError && e.corrupt,
    transient: e instanceof StoreError && e.transient,
    ...(cause instanceof Error ? { cause: cause.message } : {}),
    ...(e instanceof RivuletError && e.fields !== undefined ? { fields: e.fields } : {}),
  };
}

export function fromWire(w: WireError): Error {
  const cause = w.cause === undefined && w.code === undefined ? undefined : Object.assign(new Error(w.cause ?? w.message), w.code === undefined ? {} : { code: w.code });
  if (w.store) return new StoreError(w.message, cause, { corrupt: w.corrupt, transient: w.transient });
  if (w.name === 'InputError') return new InputError(w.message, w.fields === undefined ? undefined : { fields: w.fields });
  const known = Object.hasOwn(ERRORS, w.name) ? ERRORS[w.name] : undefined;
  if (known !== undefined) return new known(w.message);
  const e = new Error(w.message, cause === undefined ? undefined : { cause });
  e.name = w.name;
  if (w.code !== undefined) Object.assign(e, { code: w.code });
  return e;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  /** Whether the write went to the thread (false: still in {@link WriterThread.outgoing}). */
  sent: boolean;
}

/**
 * The main thread's side of the SQLite writer thread: a dedicated `worker_threads` thread that owns
 * the process's only writing connection to the database file and applies every write with the
 * write store's own code and group commit (see sqlite-writer-entry.ts), so that commits, their
 * fsync and fan-out never run on the event loop that answers requests.
 *
 * Writes travel as plain data (a named operation with its arguments, or signal writes): the ones
 * handed over during one event-loop turn go as one message, and the thread commits whatever has arrived
 * together in one transaction. A write's promise settles when the thread reports its transaction
 * committed (so an acknowledged write is on disk) or failed. Writes are applied in the order they
 * were handed over. Reads on the main thread's connection see every acknowledged write (WAL: each
 * read starts from the newest commit); a write still on its way is not seen, as with any networked
 * store, which is why the write path commits a step before it reads what depends on it
 * (src/services/write-step.ts).
 *
 * If the thread dies, every write it had not acknowledged fails with a transient store error (it
 * may or may not have committed), and the next write starts a new thread.
 */
export class WriterThread implements RemoteWriter {
  readonly #path: string;
  readonly #commitsBuffer = new SharedArrayBuffer(8);
  /**
   * `[0]`: commits made by the thread, incremented there after each commit and before its
   * acknowledgements; `[1]`: those of them that waited for fsync (incremented before `[0]`).
   */
  readonly commits = new Int32Array(this.#commitsBuffer);
  #worker: Worker | null = null;
  /** The current thread's acknowledgement port (see {@link takeAcknowledgements}). */
  #acks: MessagePort | null = null;
  /** While the thread starts: the writes wait in {@link outgoing}. */
  #starting = false;
  #closing: Promise<void> | null = null;
  #seq = 0;
  /** Writes not settled yet, by sequence number (in order). */
  readonly #pending = new Map<number, Pending>();
  /** Writes of this turn, posted together at its end. */
  #outgoing: (WriteItem & { seq: number })[] = [];
  #scheduled = false;
  /** While only lazy writes wait in {@link outgoing}: when they go anyway. */
  #lazyTimer: ReturnType<typeof setTimeout> | null = null;
  /** Callers waiting for every write up to `seq` to settle (close, drained). */
  #waiters: { seq: number; resolve: () => void }[] = [];
  /** Told of the change marks each acknowledgement carries, before its writes settle. */
  onMarks: ((marks: MarksReport) => void) | null = null;

  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Hands a write over: sent at the end of this turn with the others of the turn. A lazy write
   * (see `SqliteWriteStore.transactOp`) waits for the next write that is not, to go in its message
   * and transaction, or {@link LAZY_MS} at most; writes still go in the order they were handed over.
   */
  send(item: WriteItem): Promise<unknown> {
    if (this.#closing !== null) return Promise.reject(new StoreError('the store is closed', null));
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject, sent: false });
      this.#outgoing.push({ ...item, seq });
      if (this.#scheduled) return;
      if (item.lazy !== true) {
        this.#scheduled = true;
        setImmediate(this.#post);
      } else if (this.#lazyTimer === null) {
        // Held open meanwhile, as by any write pending: a caller awaiting it never hangs.
        this.#lazyTimer = setTimeout(this.#post, LAZY_MS);
      }
    });
  }

  /** Resolves once every write handed over before this call has settled (committed or failed). */
  drained(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    // Lazy writes held back go now: someone waits for them.
    if (this.#outgoing.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#post);
    }
    return new Promise<void>((resolve) => this.#waiters.push({ seq: this.#seq, resolve }));
  }

  /** Every write up to this sequence number has settled. */
  private settled(): number {
    for (const seq of this.#pending.keys()) return seq - 1;
    return this.#seq;
  }

  readonly #post = (): void => {
    this.#scheduled = false;
    if (this.#lazyTimer !== null) {
      clearTimeout(this.#lazyTimer);
      this.#lazyTimer = null;
    }
    if (this.#outgoing.length === 0) return;
    if (this.#worker === null) {
      this.start();
      return;
    }
    const items = this.#outgoing;
    this.#outgoing = [];
    for (const i of items) this.#pending.get(i.seq)!.sent = true;
    try {
      const w = this.#worker;
      // Held while writes are pending (an awaited promise alone does not keep the process running).
      w.ref();
      w.postMessage({ type: 'write', items } satisfies ToWriter);
    } catch (err) {
      // Arguments that cannot be cloned (a caller's mistake): those writes fail, nothing was sent.
      for (const i of items) this.settle(i.seq, false, err);
      this.wake();
    }
  };

  /** Starts the thread, then sends the writes that waited. */
  private start(): void {
    if (this.#starting) return;
    this.#starting = true;
    const { port1: acks, port2 } = new MessageChannel();
    const data: WriterThreadData = { path: this.#path, commits: this.#commitsBuffer, acks: port2 };
    startThread(import.meta.url, 'sqlite-writer-entry', { workerData: data, transferList: [port2] }).then(
      (w) => {
        this.#starting = false;
        w.on('message', (m: FromWriter) => this.onMessage(w, m));
        acks.on('message', (m: FromWriter) => this.onMessage(w, m));
        // The thread holds the process open while writes are pending (see #post), not this port.
        acks.unref();
        this.#acks = acks;
        w.on('error', (err) => this.onExit(w, err));
        w.on('exit', (code) => this.onExit(w, new Error(`the SQLite writer thread exited (code ${code})`)));
        this.#worker = w;
        this.#post();
      },
      (err: unknown) => {
        this.#starting = false;
        acks.close();
        const failure = new StoreError(`cannot start the SQLite writer thread: ${(err as Error).message}`, err, { transient: true });
        const items = this.#outgoing;
        this.#outgoing = [];
        for (const i of items) this.settle(i.seq, false, failure);
        this.wake();
      },
    );
  }

  /**
   * Takes the acknowledgements the thread has sent and this side has not received yet, now,
   * instead of when the event loop comes to them (their writes settle as they would then). A
   * cache that sees the thread's commit counter ahead of the acknowledgements it has (see
   * `SqliteChangeMarks.known`) takes them rather than reading the change marks.
   */
  takeAcknowledgements(): void {
    const w = this.#worker;
    const port = this.#acks;
    if (w === null || port === null) return;
    for (let m = receiveMessageOnPort(port); m !== undefined && this.#worker === w; m = receiveMessageOnPort(port)) this.onMessage(w, m.message as FromWriter);
  }

  private onMessage(w: Worker, m: FromWriter): void {
    if (m.type === 'done') {
      // Only the current thread's: its reports follow one another (see SqliteChangeMarks.acknowledged).
      if (m.marks && w === this.#worker) this.onMarks?.(m.marks);
      for (const r of m.results) this.settle(r.seq, r.ok, r.ok ? r.value : fromWire(r.error!));
      this.wake();
    } else if (m.type === 'failed') {
      // Only the thread that failed: a report from an earlier thread must not end its successor.
      this.onExit(w, fromWire(m.error));
    }
  }

  private settle(seq: number, ok: boolean, value: unknown): void {
    const p = this.#pending.get(seq);
    if (!p) return;
    this.#pending.delete(seq);
    if (ok) p.resolve(value);
    else p.reject(value);
  }

  private wake(): void {
    if (this.#pending.size === 0) this.#worker?.unref();
    if (this.#waiters.length === 0) return;
    const done = this.settled();
    const still: { seq: number; resolve: () => void }[] = [];
    for (const w of this.#waiters) {
      if (w.seq <= done) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  /**
   * The thread stopped: the writes it held fail (it may have committed some), later ones start a new thread.
   * It is detached before anything else, so that a report it sent before ending (which may still arrive)
   * cannot touch its successor, and it stays referenced until it has exited: a worker unreferenced while
   * it terminates never reports its exit if nothing else keeps the process running.
   */
  private onExit(w: Worker | null, err: Error): Promise<unknown> | undefined {
    if (w === null || this.#worker !== w) return undefined;
    this.#worker = null;
    this.#acks?.close();
    this.#acks = null;
    w.ref();
    const exited = w.terminate();
    const failure = err instanceof StoreError ? err : new StoreError(`the SQLite writer thread stopped: ${err.message}`, err, { transient: true });
    for (const [seq, p] of [...this.#pending]) if (p.sent) this.settle(seq, false, failure);
    this.wake();
    // Writes handed over but not sent yet go to the next thread.
    if (this.#outgoing.length > 0 && this.#closing === null && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#post);
    }
    return exited;
  }

  /**
   * Ends the thread at once, as a crash would: the writes it had not acknowledged fail (even if it
   * committed them just before ending), and the next write starts a new thread.
   */
  async stop(): Promise<void> {
    await this.onExit(this.#worker, new Error('the SQLite writer thread was stopped'));
  }

  /**
   * Sends the waiting writes, waits until every write has settled, and ends the thread, which
   * commits what it holds and closes its connection first.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#post();
      while (this.#pending.size > 0) await new Promise<void>((resolve) => this.#waiters.push({ seq: this.#seq, resolve }));
      const w = this.#worker;
      if (w === null) return;
      this.#worker = null;
      this.#acks?.close();
      this.#acks = null;
      await new Promise<void>((resolve) => {
        w.ref();
        w.once('exit', () => resolve());
        w.postMessage({ type: 'close' } satisfies ToWriter);
      });
    })();
    return this.#closing;
  }
}
