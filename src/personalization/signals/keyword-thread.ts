/**
 * Keyword and entity extraction ({@link extractTerms}) on a thread of its own, so that the
 * part-of-speech tagging of new posts (tens to a hundred µs a post, and the model's memory) stays
 * off the event loop that answers requests. One thread per process, shared by every server in it,
 * started on first use; it does not keep the process alive. The content worker hands over the
 * texts of a whole round in one message and gets their terms back in order.
 *
 * The thread runs the same {@link extractTerms} as the main thread would, so the terms are the
 * same. If the thread cannot be started or stops, the texts it held and every later call are
 * extracted on the calling thread instead: extraction never fails because of the thread.
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../../workers/start-thread.js';
import { extractTerms, type Terms } from './keywords.js';

/** Messages to the thread. */
export interface ToKeywords {
  readonly id: number;
  readonly texts: readonly string[];
}

/** Messages from the thread. */
export type FromKeywords = { readonly id: number; readonly terms: Terms[] } | { readonly id: number; readonly error: string };

interface Pending {
  readonly texts: readonly string[];
  readonly resolve: (terms: Terms[]) => void;
}

let worker: Worker | null = null;
let starting: Promise<Worker | null> | null = null;
/** Set once the thread failed: extraction stays on the calling thread from then on. */
let broken = false;
let nextId = 0;
const pending = new Map<number, Pending>();

/**
 * The terms of each text, in order, extracted on the keyword thread (on the calling thread when
 * the thread is unavailable). An empty list costs nothing.
 */
export async function extractTermsOffThread(texts: readonly string[]): Promise<Terms[]> {
  if (texts.length === 0) return [];
  const w = broken ? null : await thread();
  // (The thread may have stopped while this call waited for it to start.)
  if (w === null || w !== worker) return texts.map(extractTerms);
  return new Promise<Terms[]>((resolve) => {
    const id = nextId++;
    pending.set(id, { texts, resolve });
    // Referenced while it owes an answer, so a caller awaiting it keeps the process alive.
    if (pending.size === 1) w.ref();
    w.postMessage({ id, texts } satisfies ToKeywords);
  });
}

/** The keyword thread's id while it runs, else null (for tests and diagnostics). */
export function keywordThreadId(): number | null {
  return worker?.threadId ?? null;
}

/**
 * Ends the keyword thread as a crash would: what it owed, and every later extraction in this
 * process, is done on the calling thread (for tests).
 */
export async function stopKeywordThread(): Promise<void> {
  const w = worker;
  if (w === null) return;
  fail(w);
  await w.terminate();
}

function thread(): Promise<Worker | null> {
  if (worker !== null) return Promise.resolve(worker);
  starting ??= start().finally(() => {
    starting = null;
  });
  return starting;
}

async function start(): Promise<Worker | null> {
  try {
    const w = await startThread(import.meta.url, 'keyword-entry');
    w.unref();
    w.on('message', (m: FromKeywords) => {
      const p = pending.get(m.id);
      if (p === undefined) return;
      pending.delete(m.id);
      if (pending.size === 0) w.unref();
      p.resolve('terms' in m ? m.terms : p.texts.map(extractTerms));
    });
    const stopped = () => fail(w);
    w.on('error', stopped);
    w.on('exit', stopped);
    worker = w;
    return w;
  } catch {
    broken = true;
    return null;
  }
}

/** The thread stopped: what it owed is extracted here, and so is everything after. */
function fail(w: Worker): void {
  if (worker !== w) return;
  worker = null;
  broken = true;
  for (const [id, p] of [...pending]) {
    pending.delete(id);
    p.resolve(p.texts.map(extractTerms));
  }
}
