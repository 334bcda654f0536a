import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite-store.js';
import { toWire, type FromWriter, type ToWriter, type WriterThreadData } from './sqlite-writer-thread.js';

/**
 * The SQLite writer thread (see {@link WriterThread}): opens the database's writing connection and
 * applies the writes the main thread sends with the write store's own code. Writes that arrive
 * during one turn of this thread's event loop share one transaction and one fsync (the write
 * store's group commit), so writes that queue up while a commit is on disk go together in the next.
 */
const data = workerData as WriterThreadData;
const commits = new Int32Array(data.commits);
const port = parentPort!;

let store: SqliteStore;
try {
  store = new SqliteStore(data.path, { writerThreadOf: commits });
} catch (err) {
  port.postMessage({ type: 'failed', error: toWire(err) } satisfies FromWriter);
  throw err;
}
const writes = store.writes;
// Each acknowledgement carries the change marks committed since the last one, read right after
// the commits, so that the main thread's caches need not read them after their own writes.
store.changes.startReports();

type Result = Extract<FromWriter, { type: 'done' }>['results'][number];

/**
 * Results of writes settled together, reported in one message: the messages that arrived while a
 * commit was on disk share the next transaction, and their results settle in the same turn, so
 * the main thread is woken once per commit rather than once per message it sent.
 */
let results: Result[] = [];

function report(): void {
  const r = results;
  results = [];
  data.acks.postMessage({ type: 'done', results: r, marks: store.changes.report(Atomics.load(commits, 0)) } satisfies FromWriter);
}

port.on('message', (m: ToWriter) => {
  if (m.type === 'close') {
    void store.close().then(() => {
      data.acks.close();
      port.postMessage({ type: 'closed' } satisfies FromWriter);
      port.close();
    });
    return;
  }
  const done = m.items.map((item) =>
    item.op === undefined ? writes.commitSignals(item.app, item.signals ?? {}) : writes.transactOp(item.op, item.args ?? [], item.rows, item.graph, item.relaxed === true),
  );
  void Promise.allSettled(done).then((settled) => {
    if (results.length === 0) process.nextTick(report);
    settled.forEach((r, i) =>
      results.push(r.status === 'fulfilled' ? { seq: m.items[i].seq, ok: true, value: r.value } : { seq: m.items[i].seq, ok: false, error: toWire(r.reason) }),
    );
  });
});
