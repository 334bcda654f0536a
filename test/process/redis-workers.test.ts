// Rivulet's processes on a Redis Cluster this test starts:
// - `rivulet serve --workers 2`: a primary and two HTTP processes over the cluster (they share the
//   Redis pubsub); writes through either process are read through the other, the primary's
//   fan-out worker does the queued fan-out, and a realtime subscriber hears writes that reached
//   either process.
// - A `rivulet worker` whose poll is 30 s does a fan-out queued by a separate API node long
//   before its poll would: the API node's commit wakes it over the Redis pubsub.
// - A `rivulet worker` killed with SIGKILL in the middle of a 100,000-follower fan-out: another
//   worker takes the job over once its lease ran out, and every follower gets the activity exactly
//   once. The follow graph is written through the store's batch of follow steps (not HTTP) and
//   the 100,000 timelines are read back through the store in pipelined batches. It runs for about
//   a minute and a half (the 30 s lease is part of it), so only with RIVULET_TEST_FANOUT_100K=1
//   (`.ci/run` sets it).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type StreamClient } from 'getstream';
import { RedisStore } from '../../src/adapters/redis/redis-store.js';
import { freePort, kill9, spawnRivulet, until } from '../support/process.js';
import { REDIS_SKIP, startRedisCluster, type TestCluster } from '../support/redis-cluster.js';
import { TEST_GROUPS, uid } from '../support/server.js';

/** One API request on a new connection, so that successive requests reach the HTTP processes in turn. */
function call(base: string, method: string, path: string, token: string, apiKey: string, body?: object): Promise<{ status: number; worker: string; body: any }> {
  const url = new URL(`${base}/api/v1.0/${path}`);
  url.searchParams.set('api_key', apiKey);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON: kept as text */
        }
        resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-rivulet-worker']), body });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const newApp = () => ({ appId: String(100000 + Math.floor(Math.random() * 800000)), apiKey: `k${randomBytes(8).toString('hex')}`, apiSecret: randomBytes(24).toString('base64url') });

describe('Rivulet processes on one Redis Cluster', { skip: REDIS_SKIP ?? undefined }, () => {
  let cluster: TestCluster;
  let dir: string;
  const children: ChildProcess[] = [];
  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 0, persistence: 'none' });
    dir = mkdtempSync(join(tmpdir(), 'rivulet-redis-workers-'));
  });
  after(async () => {
    await Promise.all(children.map((c) => kill9(c)));
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a config for `app` on the cluster under its own key prefix; returns the CLI arguments naming it. */
  const configure = (name: string, app: ReturnType<typeof newApp>, fanout: object): string[] => {
    const configFile = join(dir, `${name}.json`);
    writeFileSync(
      configFile,
      JSON.stringify({
        apps: [{ app_id: app.appId, api_key: app.apiKey, api_secret: app.apiSecret, feed_groups: TEST_GROUPS }],
        fanout,
        storage: { backend: 'redis', nodes: cluster.masters, durability: 'fast', key_prefix: `${name}${process.pid}:` },
      }),
    );
    return ['--data', dir, '--config', configFile];
  };

  describe('serve --workers 2', () => {
    const app = newApp();
    let base: string;
    let client: StreamClient;
    before(async () => {
      // Every fan-out goes through the queue: copies come from the primary's fan-out worker.
      const args = configure('two', app, { inline_max_followers: 0 });
      const port = await freePort();
      children.push(await spawnRivulet(['serve', '--workers', '2', ...args], port));
      base = `http://127.0.0.1:${port}`;
      // Both HTTP processes listening: each has answered a fresh connection.
      const answered = new Set<string>();
      await until('both HTTP processes answer', async () => {
        answered.add((await call(base, 'GET', '', '', app.apiKey).catch(() => ({ worker: '' }))).worker);
        return answered.has('1') && answered.has('2') ? true : undefined;
      });
      client = connect(app.apiKey, app.apiSecret, app.appId, { urlOverride: { api: `${base}/api/` }, fayeUrl: `${base}/faye` });
    });
    after(() => client?.fayeClient?.disconnect());

    it('serves writes and reads from both HTTP processes, fans out from the primary, and a subscriber hears writes that reached either process', async () => {
      const author = uid('author');
      const fan = uid('fan');
      await client.feed('timeline', fan).follow('user', author);
      const heard: string[] = [];
      await client.feed('user', author).subscribe((m) => heard.push(...((m as unknown as { new?: { id: string }[] }).new ?? []).map((x) => x.id)));
      const token = client.feed('user', author).token;
      const written: string[] = [];
      const writers = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const r = await call(base, 'POST', `feed/user/${author}/`, token, app.apiKey, { actor: `SU:${author}`, verb: 'post', object: `o:${i}` });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        writers.add(r.worker);
        written.unshift(r.body.id);
      }
      assert.deepEqual([...writers].sort(), ['1', '2'], 'both HTTP processes took writes');
      const readers = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const r = await call(base, 'GET', `feed/user/${author}/?limit=25`, token, app.apiKey);
        assert.equal(r.status, 200);
        readers.add(r.worker);
        assert.deepEqual(
          r.body.results.map((a: { id: string }) => a.id),
          written,
        );
      }
      assert.deepEqual([...readers].sort(), ['1', '2'], 'both HTTP processes answered reads');
      const fanToken = client.feed('timeline', fan).token;
      await until('the primary fanned every post out to the follower', async () => {
        const r = await call(base, 'GET', `feed/timeline/${fan}/?limit=25`, fanToken, app.apiKey);
        return JSON.stringify(r.body.results?.map((a: { id: string }) => a.id)) === JSON.stringify(written) ? true : undefined;
      });
      await until('the subscriber heard every post, whichever process took it', () => (written.every((id) => heard.includes(id)) ? true : undefined), 30_000);
    });
  });

  describe('a rivulet worker woken by an API node', () => {
    const app = newApp();
    let api: string;
    before(async () => {
      // Every fan-out queued; the worker looks at the queue on its own only every 30 s.
      const args = configure('wake', app, { inline_max_followers: 0, poll_ms: 30_000 });
      const worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'worker', ...args], { env: { ...process.env, RIVULET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(worker);
      let out = '';
      worker.stdout!.on('data', (d) => (out += d));
      worker.stderr!.on('data', (d) => (out += d));
      // It logs that it runs once it listens on the pubsub and made its first claim.
      await until('the worker runs', () => (out.includes('fan-out worker is running') ? true : worker.exitCode !== null ? assert.fail(`worker exited: ${out}`) : undefined), 60_000);
      const port = await freePort();
      children.push(await spawnRivulet(['serve', '--no-worker', ...args], port));
      api = `http://127.0.0.1:${port}/api/`;
    });

    it('claims the jobs an API node queued when the API node says so, not at its next poll', async () => {
      const client = connect(app.apiKey, app.apiSecret, app.appId, { urlOverride: { api } });
      const author = uid('author');
      const fans = [uid('fan'), uid('fan')];
      for (const fan of fans) await client.feed('timeline', fan).follow('user', author);
      // Two posts in turn: the second finds the worker back asleep after the first one's fan-out.
      for (let i = 0; i < 2; i++) {
        const act = await client.feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: `o:${i}` });
        // Well within the 30 s poll: only the wake-up can have started the fan-out.
        await until(
          `every follower holds post ${i}`,
          async () => {
            const feeds = await Promise.all(fans.map((fan) => client.feed('timeline', fan).get({ limit: 5 })));
            return feeds.every((f) => f.results.some((a) => a.id === act.id)) ? true : undefined;
          },
          10_000,
        );
      }
    });
  });

  describe('a worker killed with SIGKILL in the middle of a 100,000-follower fan-out', { skip: process.env.RIVULET_TEST_FANOUT_100K === '1' ? undefined : 'set RIVULET_TEST_FANOUT_100K=1 to run it (1.5 to 4 minutes on a 2-core machine)' }, () => {
    const FOLLOWERS = 100_000;
    const app = newApp();
    let args: string[];
    let store: RedisStore;
    before(async () => {
      // Pushed to every follower (never pull-served), in jobs of 1,000 followers.
      args = configure('big', app, { inline_max_followers: 0, chunk_size: 1000, pull_min_followers: 1_000_000 });
      store = await RedisStore.open({ nodes: cluster.masters, durability: 'fast', keyPrefix: `big${process.pid}:` });
    });
    after(() => store?.close());

    it('another worker takes the job over after its lease, and every follower gets the activity exactly once', async () => {
      const star = 'user:star';
      // The follow graph, written through the store in batches of follow steps.
      const BATCH = 2000;
      for (let i = 0; i < FOLLOWERS; i += BATCH) {
        await store.ports.intents.commit(
          app.appId,
          Array.from({ length: BATCH }, (_, k) => ({ follow: { source: `timeline:f${i + k}`, target: star, createdUs: i + k + 1, grouped: false, since: null } })),
        );
      }
      assert.equal((await store.ports.follows.followCounts(app.appId, star)).followers, FOLLOWERS);

      const apiPort = await freePort();
      children.push(await spawnRivulet(['serve', '--no-worker', ...args], apiPort));
      const spawnWorker = () => {
        const w = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'worker', ...args], { env: { ...process.env, RIVULET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
        children.push(w);
        return w;
      };
      const first = spawnWorker();
      const client = connect(app.apiKey, app.apiSecret, app.appId, { urlOverride: { api: `http://127.0.0.1:${apiPort}/api/` } });
      const act = await client.feed('user', 'star').addActivity({ actor: 'SU:star', verb: 'post', object: 'o:big' });

      // Killed once the job has recorded progress, and well before its end.
      const mine = async () => (await store.ports.intents.pending(100)).filter((i) => i.app === app.appId);
      const cursor = await until('the first worker records progress on the job', async () => {
        const [job] = await mine();
        return job?.cursor ?? undefined;
      }, 120_000);
      await kill9(first);

      /** How many of the followers' timelines hold exactly the activity (and nothing else), and how many hold anything else. */
      const holders = async (): Promise<{ once: number; other: number }> => {
        let once = 0;
        let other = 0;
        for (let i = 0; i < FOLLOWERS; i += 5000) {
          const scans = Array.from({ length: Math.min(5000, FOLLOWERS - i) }, (_, k) => ({ feed: `timeline:f${i + k}`, limit: 5 }));
          for (const list of await store.ports.timelines.scanMany(app.appId, scans)) {
            if (list.length === 1 && list[0].id === act.id && list[0].origin === star) once++;
            else if (list.length > 0) other++;
          }
        }
        return { once, other };
      };
      const atKill = await holders();
      assert.equal(atKill.other, 0);
      assert.ok(atKill.once < FOLLOWERS, `killed in the middle (cursor ${cursor}): ${atKill.once} followers had the activity`);
      assert.equal((await mine()).length, 1, 'the job is still queued');

      spawnWorker();
      await until('the second worker finishes the job', async () => ((await mine()).length === 0 ? true : undefined), 180_000);
      assert.deepEqual(await holders(), { once: FOLLOWERS, other: 0 }, 'every follower holds the activity exactly once');
      assert.equal(await store.ports.intents.deadLetterCount(), 0);
    });
  });
});
