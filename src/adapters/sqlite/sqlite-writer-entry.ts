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

port.on('message', (m: ToWriter) => {
  if (m.type === 'close') {
    void store.close().then(() => {
      port.postMessage({ type: 'closed' } satisfies FromWriter);
      port.close();
    });
    return;
  }
  const done = m.items.map((item) =>
    item.op === undefined ? writes.commitSignals(item.app, item.signals ?? {}) : writes.transactOp(item.op, item.args ?? [], item.rows, item.graph),
  );
  void Promise.allSettled(done).then((settled) => {
    const results = settled.map((r, i) =>
      r.status === 'fulfilled' ? { seq: m.items[i].seq, ok: true, value: r.value } : { seq: m.items[i].seq, ok: false, error: toWire(r.reason) },
    );
    port.postMessage({ type: 'done', results } satisfies FromWriter);
  });
});
