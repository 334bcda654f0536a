import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { Redis } from 'ioredis';

/**
 * A throwaway Redis Cluster for tests: `redis-server` processes with `--cluster-enabled yes` on
 * free loopback ports, joined by `redis-cli --cluster create`, each with its own temp directory;
 * `stop()` kills them and deletes the directories (also when the test process exits early).
 *
 * On a machine without `redis-server`, {@link REDIS_SKIP} holds the reason (with the command that
 * installs it) and the tests that need a cluster skip with it.
 */

/** Why Redis Cluster tests cannot run here, or null when they can. */
export const REDIS_SKIP: string | null = (() => {
  const found = ['redis-server', 'redis-cli'].every((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
  if (found) return null;
  const reason = 'redis-server and redis-cli are not installed (install them with: apt-get install -y redis-server)';
  process.stderr.write(`\nREDIS CLUSTER TESTS WILL BE SKIPPED: ${reason}\n\n`);
  return reason;
})();

export interface TestCluster {
  /** `host:port` of every node, masters first. */
  readonly nodes: string[];
  /** `host:port` of the masters. */
  readonly masters: string[];
  /** Kills one node with SIGKILL (a crash), e.g. to make its replica take over. */
  kill9(node: string): Promise<void>;
  /** Kills every node and deletes their files. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
// A test process stopped by a signal (a timeout, ^C) takes its clusters with it.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (running.size === 0) process.kill(process.pid, signal);
    else process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

/** A port P with P and P + 10000 (the cluster bus) free on loopback. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * Starts a cluster of `masters` masters, each with `replicas` replicas. Persistence as the
 * `durable` mode wants it (append-only file, `appendfsync everysec`) unless `persistence` says
 * otherwise; `nodeTimeoutMs` is how long a silent master takes to be failed over.
 */
export async function startRedisCluster(
  opts: { masters?: number; replicas?: number; nodeTimeoutMs?: number; persistence?: 'aof' | 'none' } = {},
): Promise<TestCluster> {
  if (REDIS_SKIP) throw new Error(REDIS_SKIP);
  // A port found free can be taken by another process before redis-server binds it (tests run in
  // parallel): a node that exits at start makes the whole start go again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (!(err instanceof NodeExited) || attempt >= 4) throw err;
    }
  }
}

class NodeExited extends Error {}

async function startOnce(opts: { masters?: number; replicas?: number; nodeTimeoutMs?: number; persistence?: 'aof' | 'none' }): Promise<TestCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const total = masters * (1 + replicas);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-redis-'));
  dirs.add(dir);
  const procs = new Map<string, ChildProcess>();
  const taken = new Set<number>();
  const stop = async () => {
    await Promise.all([...procs.values()].map(killAndWait));
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < total; i++) ports.push(await freeClusterPort(taken));
    const persistence = opts.persistence ?? 'aof';
    for (const port of ports) {
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-announce-ip', '127.0.0.1',
        '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
        '--dbfilename', `dump-${port}.rdb`, '--save', '',
        '--appendonly', persistence === 'aof' ? 'yes' : 'no', '--appendfilename', `aof-${port}.aof`, '--appenddirname', `aof-${port}`,
        '--appendfsync', 'everysec', '--logfile', join(dir, `redis-${port}.log`),
      ];
      const p = spawn('redis-server', args, { stdio: 'ignore' });
      p.unref(); // a shared cluster lives until the test process exits
      running.add(p);
      p.once('exit', () => running.delete(p));
      procs.set(`127.0.0.1:${port}`, p);
    }
    await Promise.all(ports.map((p) => waitForPing(p, procs.get(`127.0.0.1:${p}`)!, dir)));
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    if (masters >= 3) {
      const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    } else {
      await joinByHand(ports, masters);
    }
    const masterNodes = await waitForCluster(ports, masters);
    return {
      nodes: [...masterNodes, ...nodes.filter((n) => !masterNodes.includes(n))],
      masters: masterNodes,
      async kill9(node: string) {
        const p = procs.get(node);
        if (p) await killAndWait(p);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * `redis-cli --cluster create` wants at least 3 masters; smaller clusters (for benchmarks) are
 * joined with CLUSTER commands: slots split evenly over the first `masters` nodes, every node
 * met, each further node the replica of a master in turn.
 */
async function joinByHand(ports: number[], masters: number): Promise<void> {
  const clients = ports.map((port) => new Redis({ port, host: '127.0.0.1' }));
  try {
    for (let i = 0; i < masters; i++) {
      const from = Math.floor((16384 * i) / masters);
      const to = Math.floor((16384 * (i + 1)) / masters) - 1;
      await clients[i].call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
    }
    for (let i = 1; i < ports.length; i++) await clients[0].call('CLUSTER', 'MEET', '127.0.0.1', String(ports[i]));
    const ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
    const deadline = Date.now() + 30_000;
    for (let i = masters; i < ports.length; i++) {
      // A node can replicate a master only once it knows it.
      for (;;) {
        try {
          await clients[i].call('CLUSTER', 'REPLICATE', ids[(i - masters) % masters]);
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}

function killAndWait(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.ref(); // waited for: keeps the test process up until it is gone
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

async function waitForPing(port: number, proc: ChildProcess, dir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new NodeExited(`redis-server on ${port} exited at start`);
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {}); // refused until the server listens
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG') {
        // The server on the port must be ours (another test process may have taken the port).
        const [, at] = (await c.config('GET', 'dir')) as string[];
        if (at !== dir) throw new NodeExited(`port ${port} was taken by another redis-server`);
        return;
      }
    } catch (err) {
      if (err instanceof NodeExited) throw err; // not up yet otherwise
    } finally {
      c.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until every node reports the cluster ok with `masters` masters and every replica in sync;
 * returns the masters' addresses.
 */
async function waitForCluster(ports: number[], masters: number): Promise<string[]> {
  const clients = ports.map((port) => new Redis({ port, host: '127.0.0.1' }));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO') as Promise<string>));
      const repl = await Promise.all(clients.map((c) => c.info('replication')));
      const ok = infos.every((i) => /cluster_state:ok/.test(i) && new RegExp(`cluster_size:${masters}\\b`).test(i) && new RegExp(`cluster_known_nodes:${ports.length}\\b`).test(i));
      const synced = repl.every((r) => !/role:slave/.test(r) || /master_link_status:up/.test(r));
      if (ok && synced) {
        const table = (await clients[0].cluster('NODES')) as string;
        return table
          .split('\n')
          .filter((l) => / master /.test(` ${l.split(' ')[2]?.replace(/,/g, ' ')} `))
          .map((l) => l.split(' ')[1].split('@')[0])
          .map((a) => (a.startsWith(':') ? `127.0.0.1${a}` : a)) // a lone node does not know its own address
          .sort();
      }
      if (Date.now() > deadline) throw new Error(`cluster did not become ready:\n${infos.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}

let shared: Promise<TestCluster> | undefined;
let prefixes = 0;

/**
 * One cluster (3 masters, no replicas) shared by the tests of one test file, started on first use
 * and killed when the test process exits; each caller gets its own key prefix on it, so tests
 * never see each other's data.
 */
export async function sharedCluster(): Promise<{ nodes: string[]; keyPrefix: string }> {
  if (!shared) {
    shared = startRedisCluster({ masters: 3, replicas: 0, persistence: 'none' });
  }
  const c = await shared;
  return { nodes: c.nodes, keyPrefix: `t${process.pid}-${++prefixes}:` };
}

/** Runs `fn`'s suites under one `describe` that skips them (loudly) where Redis is missing. */
export function onRedisCluster(title: string, fn: () => void): void {
  describe(`${title} (Redis Cluster)`, { skip: REDIS_SKIP ?? undefined }, fn);
}
