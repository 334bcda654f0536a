// The data directory (issue "Security and robustness", items 16 and 17): a database with damaged
// pages makes the node report not ready and is logged loudly, at start and whenever a request
// reads the damage; and the files Rivulet creates are readable by their owner only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect } from 'getstream';
import pino from 'pino';
import { ensureDataDirConfig, parseConfig } from '../../src/config/config.js';
import { createRivulet, type Rivulet } from '../../src/main.js';
import { TEST_GROUPS } from '../support/server.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rivulet-data-'));
  dirs.push(d);
  return d;
}

const APP = { app_id: '424242', api_key: 'integritykey', api_secret: 'integrity-secret-0123456789', feed_groups: TEST_GROUPS };

async function start(dataDir: string, logs: Record<string, unknown>[]): Promise<{ rivulet: Rivulet; base: string }> {
  const config = parseConfig({ apps: [APP] }, dataDir);
  const rivulet = await createRivulet({
    config,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }),
  });
  return { rivulet, base: await rivulet.listen(0, '127.0.0.1') };
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('security: data integrity', () => {
  it('reports ready on a sound database once the start check passed', async () => {
    const logs: Record<string, unknown>[] = [];
    const { rivulet, base } = await start(tempDir(), logs);
    try {
      const report = await rivulet.integrityChecked();
      assert.equal(report?.status, 'ok');
      const ready = await getJson(`${base}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
      assert.deepEqual(ready.body.checks.integrity, { ok: true, detail: 'the check at start passed' });
      assert.ok(logs.some((l) => l.msg === 'database integrity check passed'));
    } finally {
      await rivulet.close();
    }
  });

  it('a database with damaged pages is not ready, is logged at fatal, and reads of the damage say so again', async () => {
    const dataDir = tempDir();
    let logs: Record<string, unknown>[] = [];
    let { rivulet, base } = await start(dataDir, logs);
    const client = connect(APP.api_key, APP.api_secret, APP.app_id, { urlOverride: { api: `${base}/api/` } });
    for (let b = 0; b < 30; b++) {
      await client.feed('user', 'victim').addActivities(
        Array.from({ length: 100 }, (_, i) => ({ actor: 'SU:victim', verb: 'post', object: `o:${b * 100 + i}`, pad: 'x'.repeat(200) })),
      );
    }
    await rivulet.close();

    // Damage leaf pages of the activities table, as a failing disk would.
    const path = join(dataDir, 'rivulet.db');
    const db = new Database(path, { readonly: true });
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const leaves = (db.prepare("SELECT pageno FROM dbstat WHERE name = 'activities' AND pagetype = 'leaf' ORDER BY pageno").all() as { pageno: number }[]).map((r) => r.pageno);
    db.close();
    assert.ok(leaves.length > 10, `the activities span many pages (${leaves.length})`);
    const fd = openSync(path, 'r+');
    for (const page of leaves.slice(2, -2)) writeSync(fd, randomBytes(pageSize), 0, pageSize, (page - 1) * pageSize);
    closeSync(fd);

    logs = [];
    ({ rivulet, base } = await start(dataDir, logs));
    try {
      const report = await rivulet.integrityChecked();
      assert.equal(report?.status, 'corrupt');
      const ready = await getJson(`${base}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, 'not ready');
      assert.equal(ready.body.checks.integrity.ok, false);
      assert.match(ready.body.checks.integrity.detail, /^the database is corrupt: ./);
      // Liveness stays up: a restart would not repair the file.
      assert.equal((await getJson(`${base}/healthz`)).status, 200);
      const fatal = logs.filter((l) => l.level === 60);
      assert.ok(fatal.some((l) => String(l.msg).startsWith('DATA CORRUPTION: the integrity check at start')), JSON.stringify(logs));

      // Reading the feed reaches the damaged pages: 500 in the error shape, and another fatal line.
      const before = fatal.length;
      let failed: { status: number; body: any } | null = null;
      let url = `${base}/api/v1.0/feed/user/victim/?api_key=${APP.api_key}&limit=100`;
      for (let i = 0; i < 40 && failed === null; i++) {
        const res = await fetch(url, { headers: { authorization: client.getOrCreateToken() } });
        const body = await res.json();
        if (res.status !== 200) failed = { status: res.status, body };
        else if (body.next === '') break;
        else url = `${base}${body.next}&api_key=${APP.api_key}`;
      }
      assert.ok(failed, 'a read of the damaged pages fails');
      assert.equal(failed.status, 500);
      assert.equal(failed.body.code, -1);
      assert.equal(failed.body.exception, 'InternalServerError');
      const after = logs.filter((l) => l.level === 60);
      assert.ok(after.length > before);
      assert.ok(after.some((l) => String(l.msg).startsWith('DATA CORRUPTION: a store operation read damaged pages')));
    } finally {
      await rivulet.close();
    }
  });
});

describe('security: data files are private', () => {
  it('creates the data directory 0700 and app.json, the database and its WAL files 0600', async () => {
    const dataDir = join(tempDir(), 'fresh', 'data');
    const { config } = ensureDataDirConfig(dataDir);
    const rivulet = await createRivulet({ config, logger: pino({ level: 'silent' }) });
    try {
      await rivulet.listen(0, '127.0.0.1');
      const admin = config.apps[0];
      const base = `http://127.0.0.1:${(rivulet.http.server.address() as { port: number }).port}`;
      const client = connect(admin.apiKey, admin.apiSecret, admin.appId, { urlOverride: { api: `${base}/api/` } });
      await client.feed('user', 'a').addActivity({ actor: 'SU:a', verb: 'post', object: 'o:1' });
      const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
      assert.equal(mode(dataDir), '700');
      assert.equal(mode(join(dataDir, 'app.json')), '600');
      for (const f of ['rivulet.db', 'rivulet.db-wal', 'rivulet.db-shm']) assert.equal(mode(join(dataDir, f)), '600', f);
    } finally {
      await rivulet.close();
    }
  });
});
