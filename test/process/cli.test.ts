import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'getstream';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { sqlitePath } from '../../src/config/config.js';
import { loadConfig } from '../../src/compose/environment.js';
import { freePort, kill9, spawnRivulet } from '../support/process.js';

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, RIVULET_LOG_LEVEL: 'warn', ...env },
  });
}

describe('command line', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rivulet-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects an invalid config file, naming the field, with a non-zero exit', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ apps: [{ app_id: '1', api_key: 'key1', api_secret: 'x'.repeat(20), feed_groups: [{ name: 'user', type: 'round' }] }] }));
    const r = cli(['serve', '--config', file, '--data', join(dir, 'd0'), '--port', '0']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /apps\[0\]\.feed_groups\[0\]\.type/);
    writeFileSync(file, '{ not json');
    const r2 = cli(['serve', '--config', file, '--data', join(dir, 'd0'), '--port', '0']);
    assert.notEqual(r2.status, 0);
    assert.match(r2.stderr, /not valid JSON/);
    const r3 = cli(['serve', '--config', join(dir, 'missing.json'), '--data', join(dir, 'd0'), '--port', '0']);
    assert.notEqual(r3.status, 0);
    assert.match(r3.stderr, /cannot read config file/);
    writeFileSync(file, JSON.stringify({ apps: [{ app_id: '1', api_key: 'key1', api_secret: 'x'.repeat(20), feed_groups: [{ name: 'user', type: 'flat' }] }], storage: { backend: 'redis-cluster' } }));
    const r4 = cli(['worker', '--config', file, '--data', join(dir, 'd0')]);
    assert.equal(r4.status, 2);
    assert.match(r4.stderr, /invalid configuration: .*storage\.backend: .*Expected 'sqlite' \| 'redis'/);
  });

  it('init creates an app once and prints the same credentials again later', () => {
    const data = join(dir, 'd1');
    const first = cli(['init', '--data', data]);
    assert.equal(first.status, 0, first.stderr);
    const app = JSON.parse(readFileSync(join(data, 'app.json'), 'utf8')).apps[0];
    assert.match(first.stdout, new RegExp(`api_key: +${app.api_key}`));
    assert.match(first.stdout, new RegExp(`api_secret: +${app.api_secret}`));
    const again = cli(['init'], { RIVULET_DATA_DIR: data });
    assert.equal(again.status, 0);
    assert.match(again.stdout, new RegExp(`api_key: +${app.api_key}`));
  });

  it('a first start creates an app whose printed credentials work from the getstream client', { timeout: 60_000 }, async () => {
    const data = join(dir, 'd2');
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'serve'], {
      env: { ...process.env, RIVULET_LOG_LEVEL: 'warn', RIVULET_DATA_DIR: data, RIVULET_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      for (let i = 0; i < 300 && !/client: /.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      const key = /api_key: +(\S+)/.exec(out)![1];
      const secret = /api_secret: +(\S+)/.exec(out)![1];
      const appId = /app_id: +(\S+)/.exec(out)![1];
      assert.match(out, new RegExp(`http://127.0.0.1:${port}/api/`));
      const client = connect(key, secret, appId, { urlOverride: { api: `http://127.0.0.1:${port}/api/` } });
      await client.feed('user', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:1' });
      const tl = client.feed('timeline', 'bob');
      await tl.follow('user', 'alice');
      const res = await tl.get();
      assert.equal(res.results.length, 1);
    } finally {
      await kill9(child);
    }
  });

  it('keeps apps of one config completely apart', { timeout: 60_000 }, async () => {
    const file = join(dir, 'two.json');
    const groups = [{ name: 'user', type: 'flat' }];
    writeFileSync(
      file,
      JSON.stringify({
        apps: [
          { app_id: '1', api_key: 'key-one', api_secret: 'secret-number-one-1234', feed_groups: groups },
          { app_id: '2', api_key: 'key-two', api_secret: 'secret-number-two-1234', feed_groups: groups },
        ],
      }),
    );
    const port = await freePort();
    const child = await spawnRivulet(['serve', '--config', file, '--data', join(dir, 'd3')], port);
    try {
      const api = { urlOverride: { api: `http://127.0.0.1:${port}/api/` } };
      const one = connect('key-one', 'secret-number-one-1234', '1', api);
      const two = connect('key-two', 'secret-number-two-1234', '2', api);
      const added = await one.feed('user', 'same').addActivity({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'f', time: '2024-01-01T00:00:00' });
      assert.equal((await one.feed('user', 'same').get()).results.length, 1);
      assert.equal((await two.feed('user', 'same').get()).results.length, 0);
      assert.equal((await two.getActivities({ ids: [added.id] })).results.length, 0);
      // A token signed with app one's secret is refused by app two.
      const forged = connect('key-two', 'secret-number-one-1234', '2', api);
      await assert.rejects(forged.feed('user', 'same').get(), (err: any) => err.response?.status === 401);
    } finally {
      await kill9(child);
    }
  });

  it('dead-letters lists fan-out jobs that failed for good and puts them back in the queue', async () => {
    const data = join(dir, 'd5');
    assert.equal(cli(['init', '--data', data]).status, 0);
    const { config } = loadConfig(data);
    const store = new SqliteStore(sqlitePath(config));
    try {
      await store.ready();
      const appId = config.apps[0].appId;
      const q = store.ports.intents;
      const [[job]] = (await q.commit(appId, [{ intents: [{ kind: 'fanout.add', source: 'user:star', ids: ['a1', 'a2'], mode: 'queued' }] }])).map((c) => c.intents);
      await q.failed(job.id, 'Error: the follower page cannot be read', null, Date.UTC(2026, 0, 2, 3, 4, 5));
      const listed = cli(['dead-letters', '--data', data]);
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /1 dead-lettered fan-out job:/);
      assert.match(listed.stdout, new RegExp(`job ${job.id}: fanout.add of 2 activities from user:star \\(app ${appId}\\)`));
      assert.match(listed.stdout, /1 attempts, the last at 2026-01-02T03:04:05.000Z/);
      assert.match(listed.stdout, /error: Error: the follower page cannot be read/);
      const requeued = cli(['dead-letters', '--data', data, '--requeue', '--job', job.id]);
      assert.equal(requeued.status, 0, requeued.stderr);
      assert.match(requeued.stdout, /Put 1 fan-out job back in the queue/);
      assert.deepEqual((await q.pending(10)).map((j) => [j.id, j.attempts]), [[job.id, 0]]);
      assert.match(cli(['dead-letters', '--data', data]).stdout, /No dead-lettered fan-out jobs/);
    } finally {
      await store.close();
    }
  });

  it('a separate worker process applies fan-out queued by a serve --no-worker process', { timeout: 60_000 }, async () => {
    const file = join(dir, 'split.json');
    writeFileSync(
      file,
      JSON.stringify({
        apps: [{ app_id: '7', api_key: 'key-split', api_secret: 'secret-number-split-1234', feed_groups: [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }] }],
        fanout: { inline_max_followers: 2 },
      }),
    );
    const data = join(dir, 'd4');
    const port = await freePort();
    const api = await spawnRivulet(['serve', '--no-worker', '--config', file, '--data', data], port);
    let worker: ReturnType<typeof spawn> | null = null;
    try {
      const client = connect('key-split', 'secret-number-split-1234', '7', { urlOverride: { api: `http://127.0.0.1:${port}/api/` } });
      await client.followMany!([1, 2, 3, 4, 5].map((i) => ({ source: `timeline:t${i}`, target: 'user:star' })), 0);
      const post = await client.feed('user', 'star').addActivity({ actor: 'star', verb: 'post', object: 'o' });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await client.feed('timeline', 't5').get()).results.length, 0, 'queued, and no worker runs yet');
      worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'worker', '--config', file, '--data', data], {
        env: { ...process.env, RIVULET_LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      });
      let ids: string[] = [];
      for (let i = 0; i < 200 && ids.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ids = (await client.feed('timeline', 't5').get()).results.map((a) => a.id);
      }
      assert.deepEqual(ids, [post.id]);
    } finally {
      if (worker) await kill9(worker);
      await kill9(api);
    }
  });

  it('serve --health-port (or RIVULET_HEALTH_PORT) answers /healthz on that port too; with --workers it is refused', { timeout: 60_000 }, async () => {
    const file = join(dir, 'health.json');
    writeFileSync(file, JSON.stringify({ apps: [{ app_id: '8', api_key: 'key-health', api_secret: 'secret-number-health-1234', feed_groups: [{ name: 'user', type: 'flat' }] }] }));
    for (const flag of [true, false]) {
      const port = await freePort();
      const healthPort = await freePort();
      const args = ['serve', '--config', file, '--data', join(dir, 'd5'), ...(flag ? ['--health-port', String(healthPort)] : [])];
      const child = await spawnRivulet(args, port, flag ? {} : { RIVULET_HEALTH_PORT: String(healthPort) });
      try {
        const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { status: 'ok' });
      } finally {
        await kill9(child);
      }
    }
    const bad = cli(['serve', '--config', file, '--data', join(dir, 'd5'), '--port', '0', '--health-port', 'eighty']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /health port: "eighty" is not a valid port/);
    const workers = cli(['serve', '--config', file, '--data', join(dir, 'd5'), '--port', '0', '--workers', '2'], { RIVULET_HEALTH_PORT: '9' });
    assert.equal(workers.status, 2, workers.stderr);
    assert.match(workers.stderr, /health port .*only for a single process/);
  });
});
