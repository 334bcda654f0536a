// The writers table and the change mark (database.ts): a process alone reads its own change
// count; beside others it also asks SQLite about their commits, once per request received and
// event-loop turn; one that opens beside others waits until they have seen it before it writes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteDatabase, WRITER_GRACE_MS, WRITERS_CHECK_MS } from './database.js';
import { noteArrival } from '../../ports/change-marks.js';

const dir = mkdtempSync(join(tmpdir(), 'rivulet-writers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('writers and the change mark', () => {
  it('alone: may write at once; the mark moves with its own writes only', async () => {
    const a = new SqliteDatabase(join(dir, 'alone.db'));
    try {
      const t0 = performance.now();
      await a.ready();
      assert.ok(performance.now() - t0 < WRITER_GRACE_MS / 2);
      const m = a.changeMark();
      assert.equal(a.changeMark(), m);
      a.appInt('app-1'); // creates a row
      assert.notEqual(a.changeMark(), m);
    } finally {
      a.close();
    }
  });

  it('a second process waits to be noticed, and its commits move the first one\'s mark, even after it left', async () => {
    const path = join(dir, 'two.db');
    const a = new SqliteDatabase(path);
    const b = new SqliteDatabase(path);
    try {
      const t0 = performance.now();
      await b.ready();
      assert.ok(performance.now() - t0 >= WRITER_GRACE_MS - 5, 'b waited for a to notice it');
      const before = a.changeMark();
      b.appInt('app-from-b');
      noteArrival(); // a request arrives after b's commit
      assert.notEqual(a.changeMark(), before, 'a sees b\'s commit');
      const mid = a.changeMark();
      b.appInt('another-app-from-b');
      b.close();
      await sleep(WRITERS_CHECK_MS + 20);
      assert.notEqual(a.changeMark(), mid, 'a sees the commit of a process that has since closed');
    } finally {
      b.close();
      a.close();
    }
  });

  it('beside others: a look at their commits serves until a request arrives or the event loop turns; own commits show at once', async () => {
    const path = join(dir, 'reuse.db');
    const a = new SqliteDatabase(path);
    const b = new SqliteDatabase(path);
    try {
      await b.ready();
      const first = a.changeMark();
      b.appInt('committed-after-the-look');
      // No request arrived since the look: any request being served was sent before b committed.
      assert.equal(a.changeMark(), first, 'the look is reused within the turn');
      a.appInt('own-write');
      const own = a.changeMark();
      assert.notEqual(own, first, 'a\'s own commit moves the mark at once');
      noteArrival();
      const afterArrival = a.changeMark();
      assert.notEqual(afterArrival, own, 'a request received after b\'s commit sees it');
      b.appInt('committed-before-the-next-turn');
      assert.equal(a.changeMark(), afterArrival);
      await new Promise((r) => setImmediate(r));
      assert.notEqual(a.changeMark(), afterArrival, 'the next event-loop turn looks again');
    } finally {
      b.close();
      a.close();
    }
  });

  it('a process that wrote and left between two looks still moves the mark', async () => {
    const path = join(dir, 'gone.db');
    const a = new SqliteDatabase(path);
    try {
      const before = a.changeMark();
      const b = new SqliteDatabase(path);
      b.appInt('written-while-a-did-not-look');
      b.close();
      await sleep(WRITERS_CHECK_MS + 20);
      assert.notEqual(a.changeMark(), before);
    } finally {
      a.close();
    }
  });

  it('rows of processes of this host that died without closing are dropped when a process opens the database', () => {
    const path = join(dir, 'dead.db');
    const a = new SqliteDatabase(path);
    const add = a.db.prepare('INSERT INTO writers (id, host, pid, boot, started) VALUES (?, ?, ?, ?, 0)');
    add.run('dead', hostname(), 2 ** 22 + 12345, 'x'); // no such process
    add.run('same-pid-earlier-boot', hostname(), process.pid, 'an earlier run'); // a restarted container's process 1
    add.run('other-host', 'another-container', 2 ** 22 + 12345, 'x'); // not judged from here
    const live = new SqliteDatabase(path); // this process, another connection: alive
    a.close();
    const b = new SqliteDatabase(path);
    try {
      const ids = b.db.prepare('SELECT id FROM writers ORDER BY seq').pluck().all();
      assert.equal(ids.length, 3);
      assert.equal(ids[0], 'other-host');
      assert.ok(!ids.includes('dead') && !ids.includes('same-pid-earlier-boot'));
    } finally {
      b.close();
      live.close();
    }
  });
});
