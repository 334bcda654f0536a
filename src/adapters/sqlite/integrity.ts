import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { IntegrityReport } from '../../ports/store.js';

/** Problems reported at most (SQLite's `quick_check(N)` stops after N). */
const MAX_PROBLEMS = 20;

/**
 * Runs in a worker thread so that the check, a full read of the file, never blocks requests: a
 * read-only connection of its own runs `PRAGMA quick_check(N)` (page and b-tree structure, record
 * formats, NOT NULL; it skips matching indexes to tables, which `integrity_check` adds at several
 * times the cost) and posts the lines it returns.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  const rows = db.pragma('quick_check(' + workerData.max + ')', { simple: false });
  parentPort.postMessage({ lines: rows.map((r) => String(Object.values(r)[0])) });
} catch (err) {
  parentPort.postMessage({ error: String(err && err.message || err), code: err && err.code });
} finally {
  try { db && db.close(); } catch {}
}
`;

/**
 * Checks the SQLite file at `path` for corruption within `budgetMs`. The answer is `ok`, `corrupt`
 * with SQLite's descriptions of the first problems, or `unknown` when the check could not finish
 * in time or could not run (the thread is then left to finish on its own and discarded).
 */
export function checkSqliteIntegrity(path: string, budgetMs: number): Promise<IntegrityReport> {
  const started = performance.now();
  return new Promise((resolve) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { path, max: MAX_PROBLEMS, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
    });
    // A check still running when the process wants to exit must not keep it alive.
    worker.unref();
    let settled = false;
    const settle = (r: Omit<IntegrityReport, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => {
      settle({ status: 'unknown', problems: [`the check did not finish within ${budgetMs} ms`] });
      void worker.terminate();
    }, budgetMs);
    worker.once('message', (m: { lines?: string[]; error?: string; code?: string }) => {
      if (m.lines) {
        const ok = m.lines.length === 1 && m.lines[0] === 'ok';
        settle(ok ? { status: 'ok', problems: [] } : { status: 'corrupt', problems: m.lines });
      } else if (m.code === 'SQLITE_CORRUPT' || m.code === 'SQLITE_NOTADB' || String(m.code).startsWith('SQLITE_CORRUPT')) {
        settle({ status: 'corrupt', problems: [m.error ?? 'database is corrupt'] });
      } else {
        settle({ status: 'unknown', problems: [`the check could not run: ${m.error}`] });
      }
    });
    worker.once('error', (err) => settle({ status: 'unknown', problems: [`the check could not run: ${err.message}`] }));
    worker.once('exit', () => settle({ status: 'unknown', problems: ['the check stopped without an answer'] }));
  });
}
