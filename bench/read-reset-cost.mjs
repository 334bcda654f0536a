// What a read costs right after another connection's commit (WAL mode), by the reading
// connection's cache_size, once its cache has held many pages. SQLite drops the reader's whole
// page cache at its first read after another connection committed; dropping it walks the cache's
// hash table, which grows with the most pages the cache ever held and never shrinks.
//
//   node bench/read-reset-cost.mjs [--cache-kb 65536] [--warm 15000] [--commits 2000] [--reads 4]
//
// The reader first reads about `--warm` pages in one transaction (as a server's page builds fill
// the cache while nothing is written), then, `--commits` times, another connection commits one
// small row and the reader makes `--reads` point reads. Prints the wall time per commit; for a
// figure that does not depend on the machine's load, run it under
// `valgrind --tool=callgrind` with `--commits 0` and with `--commits N` and divide the difference
// of the instruction totals by N.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const cacheKb = arg('cache-kb', 65536);
const warm = arg('warm', 15000);
const commits = arg('commits', 2000);
const reads = arg('reads', 4);
const rows = 300_000;

const path = join(tmpdir(), `rivulet-read-reset-${process.pid}.db`);
const clean = () => {
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
};
clean();
try {
  const w = new Database(path);
  w.pragma('journal_mode = WAL');
  w.pragma('synchronous = OFF');
  w.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (k INTEGER PRIMARY KEY, v TEXT)');
  const ins = w.prepare('INSERT INTO t VALUES (?, ?)');
  w.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(i, 'x'.repeat(200));
  })();
  w.pragma('wal_checkpoint(TRUNCATE)');
  const up = w.prepare('INSERT OR REPLACE INTO u VALUES (?, ?)');

  const r = new Database(path);
  r.pragma(`cache_size = -${cacheKb}`);
  const get = r.prepare('SELECT v FROM t WHERE k = ?');
  const scan = r.prepare('SELECT count(*) FROM t WHERE k < ?');
  // About 18 rows of 200 bytes to a 4 KiB page.
  if (warm > 0) r.transaction(() => scan.get(warm * 18))();

  const t0 = process.hrtime.bigint();
  for (let i = 0; i < commits; i++) {
    up.run(i % 10, String(i));
    for (let j = 0; j < reads; j++) get.get(((i * reads + j) * 7919) % rows);
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  console.log(
    JSON.stringify({ cache_kb: cacheKb, warm_pages: warm, commits, reads_per_commit: reads, us_per_commit: commits > 0 ? Math.round((us / commits) * 10) / 10 : null }),
  );
  r.close();
  w.close();
} finally {
  clean();
}
