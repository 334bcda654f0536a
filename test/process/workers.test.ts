// `rivulet serve --workers 2` as a user runs it: a primary with two HTTP processes on one port and
// one data directory. Requests are made on fresh connections (no keep-alive), which the primary
// hands to the HTTP processes in turn; the `x-rivulet-worker` header names the process that
// answered. Nothing here depends on timing: waits poll for an outcome and fail only after a
// generous deadline.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as tcpConnect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type StreamClient } from 'getstream';
import { disconnectRealtime, freePort, kill9, until } from '../support/process.js';
import { find, parseExposition, total } from '../support/prometheus.js';
import { faye, type FayeClient, type FayeMessage } from '../../src/realtime/faye.js';

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, RIVULET_LOG_LEVEL: 'warn', ...env },
  });
}

interface Answer {
  status: number;
  worker: string;
  body: any;
}

/** One API request on a new connection, so that successive requests reach the processes in turn. */
function call(base: string, method: string, path: string, token: string, apiKey: string, body?: object): Promise<Answer> {
  const url = new URL(`${base}/api/v1.0/${path}`);
  url.searchParams.set('api_key', apiKey);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, agent: false, headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-rivulet-worker']), body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('serve --workers', () => {
  it('refuses a worker count that is not a whole number from 1 to 64', () => {
    for (const [args, env] of [
      [['--workers', '0'], {}],
      [['--workers', 'abc'], {}],
      [['--workers', '65'], {}],
      [['--workers', '1.5'], {}],
      [[], { RIVULET_WORKERS: 'two' }],
    ] as [string[], Record<string, string>][]) {
      const r = cli(['serve', '--port', '0', '--data', join(tmpdir(), 'rivulet-never-created'), ...args], env);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /invalid configuration: workers: ".*" is not a whole number from 1 to 64/);
    }
  });

  describe('two HTTP processes', () => {
    const appId = '5151';
    const apiKey = 'workerskey';
    const apiSecret = randomBytes(24).toString('base64url');
    let dir: string;
    let base: string;
    let primary: ChildProcess;
    let out = '';
    let client: StreamClient;
    const opened: StreamClient[] = [];

    /** JSON log lines of the primary and its HTTP processes with message `msg`. */
    const logs = (msg: string): any[] =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .filter((l) => l.msg === msg);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'rivulet-workers-'));
      const configFile = join(dir, 'config.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          apps: [{ app_id: appId, api_key: apiKey, api_secret: apiSecret, feed_groups: [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }] }],
          // Every fan-out goes through the queue, so copies come from the primary's fan-out worker.
          fanout: { inline_max_followers: 0 },
        }),
      );
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      primary = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/entry.ts', 'serve', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--data', dir, '--config', configFile],
        { env: { ...process.env, RIVULET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let err = '';
      primary.stdout!.on('data', (d) => (out += d));
      primary.stderr!.on('data', (d) => (err += d));
      await until('the credentials to be printed', () => {
        if (primary.exitCode !== null) throw new Error(`rivulet exited: ${err}`);
        return /client: /.test(out) ? true : undefined;
      });
      // The credentials are printed once the first process listens; the second may still be starting.
      await until('both HTTP processes to listen', () => {
        if (primary.exitCode !== null) throw new Error(`rivulet exited: ${err}`);
        return logs('HTTP process is listening').length >= 2 ? true : undefined;
      });
      client = connect(apiKey, apiSecret, appId, { urlOverride: { api: `${base}/api/` }, fayeUrl: `${base}/faye` });
      opened.push(client);
    });

    after(async () => {
      await disconnectRealtime(opened);
      if (primary.exitCode === null && primary.signalCode === null) await kill9(primary);
      // Pipes a process forked by the primary may still hold would keep this process up.
      primary.stdout?.destroy();
      primary.stderr?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts two HTTP processes and prints the credentials once', () => {
      assert.equal(logs('HTTP process is listening').length, 2);
      assert.equal(out.match(/api_secret:/g)?.length, 1);
    });

    it('serves writes and reads from both processes over the same data', async () => {
      const token = client.feed('user', 'alice').token;
      const first = await client.feed('user', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:0' });
      const written = [first.id];
      const writers = new Set<string>();
      for (let i = 1; i <= 10; i++) {
        const r = await call(base, 'POST', 'feed/user/alice/', token, apiKey, { actor: 'SU:alice', verb: 'post', object: `o:${i}` });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        writers.add(r.worker);
        written.push(r.body.id);
      }
      assert.deepEqual([...writers].sort(), ['1', '2']);
      const readers = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await call(base, 'GET', 'feed/user/alice/?limit=25', token, apiKey);
        assert.equal(r.status, 200);
        readers.add(r.worker);
        assert.deepEqual(r.body.results.map((a: { id: string }) => a.id).sort(), [...written].sort());
      }
      assert.deepEqual([...readers].sort(), ['1', '2']);
      const viaClient = await client.feed('user', 'alice').get({ limit: 25 });
      assert.equal(viaClient.results.length, written.length);
    });

    it('answers a read on one process with a write the other acknowledged just before (read cache and shared parts on)', async () => {
      // Each process checks the other's commits once per request received (see the SQLite change
      // mark): a write acknowledged before a read was sent is in that read, cached pages and kept
      // activity bodies included.
      const token = client.feed('user', 'dave').token;
      const server = client.getOrCreateToken();
      const written: string[] = [];
      const crossed = new Set<string>();
      const ids = (a: Answer) => a.body.results.map((x: { id: string }) => x.id);
      for (let i = 0; i < 6; i++) {
        const w = await call(base, 'POST', 'feed/user/dave/', token, apiKey, { actor: 'SU:dave', verb: 'post', object: `o:${i}`, n: -1 });
        assert.equal(w.status, 201, JSON.stringify(w.body));
        written.unshift(w.body.id);
        const r = await call(base, 'GET', 'feed/user/dave/?limit=25', token, apiKey);
        assert.equal(r.status, 200);
        assert.deepEqual(ids(r), written);
        if (r.worker !== w.worker) crossed.add('post');
        // Read again (a cached page or kept bodies), then update through one process and read.
        const again = await call(base, 'GET', 'feed/user/dave/?limit=25', token, apiKey);
        assert.deepEqual(ids(again), written);
        const u = await call(base, 'POST', 'activity/', server, apiKey, { changes: [{ id: written[written.length - 1], set: { n: i } }] });
        assert.equal(u.status, 201, JSON.stringify(u.body));
        const seen = await call(base, 'GET', 'feed/user/dave/?limit=25', token, apiKey);
        assert.equal(seen.body.results[written.length - 1].n, i, `the update made through process ${u.worker} is read by process ${seen.worker}`);
        if (seen.worker !== u.worker) crossed.add('update');
      }
      assert.deepEqual([...crossed].sort(), ['post', 'update'], 'writes were read through the other process');
    });

    it('keeps every one of many concurrent partial updates of one activity made through both processes', async () => {
      // Each update reads the activity, changes it and stores it whole; the store refuses a write
      // over a body that another process changed since it was read, and the update runs again.
      const server = client.getOrCreateToken();
      const act = await client.feed('user', 'erin').addActivity({ actor: 'SU:erin', verb: 'post', object: 'o:race' });
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => call(base, 'POST', 'activity/', server, apiKey, { changes: [{ id: act.id, set: { [`f${i}`]: i } }] })),
      );
      for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
      assert.deepEqual([...new Set(answers.map((a) => a.worker))].sort(), ['1', '2']);
      const stored = (await client.getActivities({ ids: [act.id] })).results[0] as Record<string, unknown>;
      const lost = Array.from({ length: 40 }, (_, i) => `f${i}`).filter((k, i) => stored[k] !== i);
      assert.deepEqual(lost, [], 'acknowledged fields lost');
    });

    it('fans out through the one fan-out worker in the primary', async () => {
      const tl = client.feed('timeline', 'bob');
      await tl.follow('user', 'carol', { limit: 0 });
      const act = await client.feed('user', 'carol').addActivity({ actor: 'SU:carol', verb: 'post', object: 'o:fan' });
      await until('the fanned-out copy', async () => ((await tl.get({ limit: 5 })).results.some((a) => a.id === act.id) ? true : undefined));
    });

    it('delivers realtime events to a subscriber on one process from writes on either process', async () => {
      const sub = connect(apiKey, apiSecret, appId, { urlOverride: { api: `${base}/api/` }, fayeUrl: `${base}/faye` });
      opened.push(sub);
      const seen = new Map<string, string[]>();
      const record = (feed: string) => (data: any) => {
        for (const a of data.new as { id: string }[]) seen.set(feed, [...(seen.get(feed) ?? []), a.id]);
      };
      const dave = sub.feed('user', 'dave');
      const timeline = sub.feed('timeline', 'erin');
      await client.feed('timeline', 'erin').follow('user', 'dave', { limit: 0 });
      await dave.subscribe(record('user:dave'));
      await timeline.subscribe(record('timeline:erin'));
      const token = client.feed('user', 'dave').token;
      const written: string[] = [];
      const writers = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const r = await call(base, 'POST', 'feed/user/dave/', token, apiKey, { actor: 'SU:dave', verb: 'post', object: `o:${i}` });
        assert.equal(r.status, 201);
        writers.add(r.worker);
        written.push(r.body.id);
      }
      assert.deepEqual([...writers].sort(), ['1', '2']);
      // Direct writes from both processes, and the fan-out worker's copies from the primary.
      for (const feed of ['user:dave', 'timeline:erin']) {
        await until(`events on ${feed}`, () => (written.every((id) => seen.get(feed)?.includes(id)) ? true : undefined));
      }
    });

    it('delivers every later event to clients that subscribed over HTTP and opened their WebSocket late, on whichever process', async () => {
      // Each client's WebSocket goes through a local relay that holds new connections until the
      // client has subscribed (over HTTP long-polling), as a slow upgrade under load does; the
      // socket then opens on a new connection, which the primary may hand to the other process.
      const held: Socket[] = [];
      const piped = new Set<Socket>();
      let open = false;
      const port = Number(new URL(base).port);
      const relay = createTcpServer((socket) => {
        const pipe = () => {
          const upstream = tcpConnect(port, '127.0.0.1');
          piped.add(socket).add(upstream);
          socket.pipe(upstream).pipe(socket);
          const end = () => {
            socket.destroy();
            upstream.destroy();
          };
          socket.on('error', end).on('close', end);
          upstream.on('error', end).on('close', end);
        };
        if (open) pipe();
        else held.push(Object.assign(socket, { pipe_: pipe }));
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      const relayUrl = `http://127.0.0.1:${(relay.address() as { port: number }).port}/faye`;
      const Client = faye.Client as unknown as new (url: string, options: object) => FayeClient;
      const users = ['fay0', 'fay1', 'fay2', 'fay3'];
      const heard = new Map<string, string[]>();
      const connects = new Map<string, string[]>();
      const clients: FayeClient[] = [];
      try {
        for (const user of users) {
          const c = new Client(`${base}/faye`, { timeout: 10, endpoints: { websocket: relayUrl } });
          clients.push(c);
          const token = client.feed('user', user).token;
          connects.set(user, []);
          c.addExtension({
            outgoing(m: FayeMessage, callback: (m: FayeMessage) => void) {
              if (m.channel === '/meta/subscribe') m.ext = { user_id: `user${user}`, api_key: apiKey, signature: token };
              if (m.channel === '/meta/connect') connects.get(user)!.push(String(m.connectionType));
              callback(m);
            },
          });
          heard.set(user, []);
          await c.subscribe(`/site-${appId}-feed-user${user}`, (data: { new: { id: string }[] }) => heard.get(user)!.push(...data.new.map((a) => a.id)));
        }
        open = true;
        for (const s of held.splice(0)) (s as Socket & { pipe_: () => void }).pipe_();
        await until('every client connects over its WebSocket', () => (users.every((u) => connects.get(u)!.includes('websocket')) ? true : undefined));
        const written = new Map<string, string[]>();
        const writers = new Set<string>();
        for (const user of users) {
          const token = client.feed('user', user).token;
          written.set(user, []);
          for (let i = 0; i < 4; i++) {
            const r = await call(base, 'POST', `feed/user/${user}/`, token, apiKey, { actor: `SU:${user}`, verb: 'post', object: `o:${i}` });
            assert.equal(r.status, 201);
            writers.add(r.worker);
            written.get(user)!.push(r.body.id);
          }
        }
        assert.deepEqual([...writers].sort(), ['1', '2']);
        for (const user of users) {
          await until(`every event on user:${user}`, () => (written.get(user)!.every((id) => heard.get(user)!.includes(id)) ? true : undefined));
          assert.equal(new Set(heard.get(user)).size, heard.get(user)!.length, 'each event once');
        }
      } finally {
        for (const c of clients) c.disconnect();
        for (const s of [...held, ...piped]) s.destroy();
        await new Promise((r) => relay.close(r));
      }
    });

    it('shows every process together at /metrics, whichever process answers the scrape', async () => {
      const token = client.feed('user', 'metrics').token;
      for (let i = 0; i < 10; i++) assert.equal((await call(base, 'GET', 'feed/user/metrics/?limit=1', token, apiKey)).status, 200);
      const scrape = (): Promise<{ worker: string; text: string }> =>
        new Promise((resolve, reject) => {
          const req = request(`${base}/metrics`, { agent: false }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ worker: String(res.headers['x-rivulet-worker']), text }));
          });
          req.on('error', reject);
          req.end();
        });
      const reads = (text: string) => total(parseExposition(text), 'rivulet_http_request_duration_seconds_count', { route: '/api/v1.0/feed/:slug/:uid/', method: 'GET', status: '200' });
      const seen = new Map<string, string>();
      await until('scrapes answered by both processes', async () => {
        const s = await scrape();
        seen.set(s.worker, s.text);
        return seen.size === 2 ? true : undefined;
      });
      const [one, two] = [...seen.values()];
      // Reads served by both processes, counted once each, in the answer of either.
      assert.equal(reads(one), reads(two));
      assert.ok(reads(one) >= 10 + 20, `reads counted: ${reads(one)}`);
      // The primary's fan-out worker applied the queued fan-outs of the tests above.
      assert.ok(total(parseExposition(one), 'rivulet_fanout_lag_seconds_count', { kind: 'fanout.add' }) >= 1);
      assert.equal(find(parseExposition(one), 'rivulet_fanout_queue_jobs').length, 1, 'one queue, not one per process');
    });

    it('replaces an HTTP process that dies, and the new one answers', async () => {
      const [victim] = logs('HTTP process is listening');
      process.kill(victim.child_pid, 'SIGKILL');
      const exited = await until('the exit to be logged', () => logs('HTTP process exited; starting another')[0]);
      assert.equal(exited.child_pid, victim.child_pid);
      assert.equal(exited.signal, 'SIGKILL');
      const replacement = await until('a third HTTP process', () => logs('HTTP process is listening')[2]);
      assert.notEqual(replacement.child_pid, victim.child_pid);
      const token = client.feed('user', 'alice').token;
      const answered = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const r = await call(base, 'GET', 'feed/user/alice/?limit=1', token, apiKey);
        assert.equal(r.status, 200);
        answered.add(r.worker);
      }
      assert.ok(answered.has(String(replacement.worker)), `answers came from ${[...answered]}`);
      assert.ok(!answered.has(String(victim.worker)));
    });

    it('stops every process on SIGTERM to the primary', async () => {
      const pids = logs('HTTP process is listening').map((l) => l.child_pid as number);
      // Realtime clients leave first: a client whose server went away retries for ever.
      await disconnectRealtime(opened);
      const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
      primary.kill('SIGTERM');
      assert.equal(await exited, 0);
      for (const pid of pids) assert.equal(alive(pid), false, `HTTP process ${pid} is still running`);
    });
  });
});
