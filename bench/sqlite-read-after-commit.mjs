// How long a point read on one connection takes right after another connection committed (WAL
// mode), by how many pages the reader had cached since the previous commit: SQLite drops the
// reader's whole page cache when it sees the WAL changed. Usage: node bench/sqlite-read-after-commit.mjs
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const path = join(tmpdir(), 'rivulet-read-after-commit.db');
for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
const w = new Database(path); w.pragma('journal_mode = WAL'); w.pragma('synchronous = NORMAL');
w.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (k INTEGER PRIMARY KEY, v TEXT)');
const ins = w.prepare('INSERT INTO t VALUES (?, ?)');
w.transaction(() => { for (let i = 0; i < 200000; i++) ins.run(i, 'x'.repeat(200)); })();
w.pragma('wal_checkpoint(TRUNCATE)');
const r = new Database(path); r.pragma('cache_size = -65536');
const pages = +process.argv[2] || 10000;
const get = r.prepare('SELECT v FROM t WHERE k = ?');
// warm `pages`-ish worth of the table into r's cache
const scan = r.prepare('SELECT count(*) FROM t WHERE k < ?');
const up = w.prepare('INSERT OR REPLACE INTO u VALUES (?, ?)');
function run(commit) {
  const N = 2000; let tot = 0;
  for (let i = 0; i < N; i++) {
    if (commit) up.run(i % 10, 'y');
    const t0 = process.hrtime.bigint();
    get.get((i * 7919) % 200000);
    tot += Number(process.hrtime.bigint() - t0);
  }
  return tot / N / 1000;
}
r.transaction(() => scan.get(pages * 18))();
console.log('warm point read µs', run(false).toFixed(1));
for (const p of [0, 1000, 5000, 12000]) {
  // refill cache: read p*18 rows (≈ p pages), then measure point reads that follow commits
  let tot = 0; const N = 300;
  for (let i = 0; i < N; i++) {
    up.run(i % 10, 'y');
    if (p > 0) r.transaction(() => scan.get(p * 18))();
    up.run(i % 10, 'z');
    const t0 = process.hrtime.bigint();
    get.get((i * 7919) % 200000);
    tot += Number(process.hrtime.bigint() - t0);
  }
  console.log(`cache ~${p} pages, point read right after a commit µs`, (tot / N / 1000).toFixed(1));
}
// Control: the same cache sizes and reads with no commit in between.
for (const p of [1000, 5000, 12000]) {
  let tot = 0; const N = 300;
  for (let i = 0; i < N; i++) {
    r.transaction(() => scan.get(p * 18))();
    const t0 = process.hrtime.bigint();
    get.get((i * 7919) % 200000);
    tot += Number(process.hrtime.bigint() - t0);
  }
  console.log(`cache ~${p} pages, point read with no commit before it µs`, (tot / N / 1000).toFixed(1));
}
for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
