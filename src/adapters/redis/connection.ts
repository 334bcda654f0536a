import { createRequire } from 'node:module';
import { Cluster, type ChainableCommander } from 'ioredis';
import { Keys } from './keys.js';

// The client's own slot function (CRC16 of the hash tag), so a grouping by node agrees with the
// client's routing by construction.
const calculateSlot = createRequire(import.meta.url)('ioredis/built/utils/calculateSlot.js') as (key: string) => number;

/** How the Redis backend is reached and how sure an acknowledged write is. */
export interface RedisSettings {
  /** `host:port` of some cluster nodes (the client finds the others). */
  readonly nodes: readonly string[];
  /**
   * `durable`: a write is acknowledged once its master has it in the append-only file and at
   * least one replica has it (`WAIT 1`); `fast`: as soon as the master has it in memory.
   */
  readonly durability: 'durable' | 'fast';
  /** Prefix of every key, so that several deployments can share one cluster. */
  readonly keyPrefix: string;
  /** How long a durable write waits for a replica before it fails (ms). */
  readonly waitTimeoutMs?: number;
}

/**
 * Commands per pipeline of {@link RedisConnection.perNode}: a master's share of a page goes out in
 * pipelines of this many commands, sent one after the other without waiting for replies.
 */
export const PIPELINE_CHUNK = 250;

/** Splits `host:port`; IPv6 hosts are written `[::1]:7000`. */
export function parseNode(node: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(node);
  if (!m) throw new Error(`not a host:port: ${node}`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** How often the sharded-subscriber client (realtime pubsub) reloads the slot table when nothing made it. */
const SUBSCRIBER_SLOTS_REFRESH_MS = 5000;

/** Opens an ioredis Cluster client with the options every Rivulet connection uses. */
export function openCluster(settings: Pick<RedisSettings, 'nodes'>, extra: { shardedSubscribers?: boolean } = {}): Cluster {
  const cluster = new Cluster(settings.nodes.map(parseNode), {
    // Commands issued in the same tick go out as one pipeline per node: a batch of reads over
    // many slots costs one round trip per node, not one per key.
    enableAutoPipelining: true,
    scaleReads: 'master',
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    maxRedirections: 32,
    // A master that died is replaced by its replica: the slot table is reloaded every second so
    // that commands go to the new master soon after, instead of waiting on the dead one.
    // The sharded-subscriber client reloads it on events instead (a subscriber lost or failing to
    // connect, an SSUBSCRIBE answered MOVED), and each periodic reload there compares the whole
    // slot table as JSON twice (ClusterSubscriberGroup's `_slotsAreEqual`: 2.4% of a busy main
    // thread at one reload a second), so its periodic reload is a slower safety net. After a
    // master's kill, events reached a listener again 3.4 s later with a 1 s reload and 3.7 s with
    // 5 s (redis-failover.test.ts).
    slotsRefreshInterval: extra.shardedSubscribers ? SUBSCRIBER_SLOTS_REFRESH_MS : 1000,
    shardedSubscribers: extra.shardedSubscribers ?? false,
    redisOptions: { maxRetriesPerRequest: 2, connectTimeout: 2000 },
  });
  // Connection errors are retried by the client; commands that give up reject on their own.
  cluster.on('error', () => {});
  return cluster;
}

/**
 * The connection of one Rivulet process: the cluster client, the key builder, and the write
 * helper that makes a write as durable as the settings ask before it resolves.
 */
export class RedisConnection {
  readonly cluster: Cluster;
  readonly keys: Keys;
  readonly settings: RedisSettings;

  constructor(settings: RedisSettings) {
    this.settings = settings;
    this.keys = new Keys(settings.keyPrefix);
    this.cluster = openCluster(settings);
  }

  /**
   * Sends the commands `build` adds as one pipeline, which must touch the keys of ONE hash slot
   * (one owner), and resolves with their replies once the write is as durable as the settings ask
   * (`durable`: `WAIT 1` on the same master in the same pipeline). A command that fails rejects.
   */
  async write(build: (p: ChainableCommander) => void): Promise<unknown[]> {
    const p = this.cluster.pipeline();
    build(p);
    const durable = this.settings.durability === 'durable';
    if (durable) p.call('WAIT', '1', String(this.settings.waitTimeoutMs ?? 2000));
    const res = (await p.exec()) ?? [];
    const out: unknown[] = [];
    for (const [err, value] of res) {
      if (err) throw err;
      out.push(value);
    }
    if (durable) {
      const acked = out.pop() as number;
      if (acked < 1) throw new Error('the write reached no replica in time (durability: durable)');
    }
    return out;
  }

  /**
   * In `durable` mode, waits until at least one replica of every master holding one of `keys`
   * has the writes this process sent it so far (`WAIT 1` on each), and rejects when one did not
   * in time; in `fast` mode resolves at once. For writes sent as scripts of many slots (per-feed
   * operations), whose pipelines cannot carry the `WAIT` themselves.
   */
  async waitReplicated(keys: readonly string[]): Promise<void> {
    if (this.settings.durability !== 'durable' || keys.length === 0) return;
    const masters = new Set<string>();
    for (const k of keys) {
      const node = this.cluster.slots[calculateSlot(k)]?.[0];
      if (node !== undefined) masters.add(node);
    }
    const byName = new Map(this.cluster.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
    const acked = await Promise.all(
      [...masters].map((m) => {
        const node = byName.get(m);
        if (!node) throw new Error(`the write's master ${m} is not connected: cannot confirm that a replica has it`);
        return node.call('WAIT', '1', String(this.settings.waitTimeoutMs ?? 2000)) as Promise<number>;
      }),
    );
    if (acked.some((n) => n < 1)) throw new Error('the write reached no replica in time (durability: durable)');
  }

  /**
   * Sends one command per key, grouped into explicit pipelines per master of `chunk` commands each
   * (what automatic pipelining does, without a promise and a callback per command): the hot path of
   * a fan-out page. The pipelines go out one after the other without waiting for replies, so the
   * masters work on one while the client builds the next. `add` queues the command of `keys[i]` on
   * the pipeline given; resolves with the replies in the order of `keys`, or rejects with the first
   * error. Keys of slots the client has no node for yet go in pipelines of their own (the client
   * finds their node).
   */
  async perNode(keys: readonly string[], add: (p: ChainableCommander, i: number) => void, chunk = PIPELINE_CHUNK): Promise<unknown[]> {
    const res = await this.perNodeSettled(keys, add, chunk);
    const out: unknown[] = new Array(keys.length);
    for (let i = 0; i < res.length; i++) {
      const [err, value] = res[i];
      if (err) throw err;
      out[i] = value;
    }
    return out;
  }

  /**
   * {@link perNode}, with each command's own outcome (`[error, null]` or `[null, reply]`) instead of the first error.
   * `after`: nothing is sent before it resolves (a write that must land first), but the first
   * pipelines are built while it is on its way; when it rejects, so does this, with nothing sent.
   */
  async perNodeSettled(keys: readonly string[], add: (p: ChainableCommander, i: number) => void, chunk = PIPELINE_CHUNK, after?: Promise<unknown>): Promise<[Error | null, unknown][]> {
    // Handled here at once (it is awaited below), so that it failing early is no unhandled rejection.
    after?.catch(() => {});
    await waitReady(this.cluster);
    const groups = new Map<string, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const slot = calculateSlot(keys[i]);
      const nodes = this.cluster.slots[slot];
      const group = nodes ? nodes.join(',') : `#${slot}`;
      let list = groups.get(group);
      if (!list) groups.set(group, (list = []));
      list.push(i);
    }
    const out: [Error | null, unknown][] = new Array(keys.length);
    const sent: Promise<void>[] = [];
    // Each pipeline is written to its socket when it is sent, so while a master runs one chunk
    // the client builds the next: the client's work and the masters' overlap.
    const build = (list: number[]) => {
      const p = this.cluster.pipeline();
      for (const i of list) add(p, i);
      return p;
    };
    const send = async (list: number[], p: ChainableCommander) => {
      let res: [Error | null, unknown][];
      try {
        res = (await p.exec()) ?? [];
      } catch (err) {
        res = list.map(() => [err as Error, null]);
      }
      for (let k = 0; k < list.length; k++) out[list[k]] = res[k] ?? [new Error('no reply from the pipeline'), null];
    };
    const groupList = [...groups.values()];
    const part = (list: number[], from: number) => (list.length <= chunk ? list : list.slice(from, from + chunk));
    let from = 0;
    if (after) {
      // The first chunk of each master is built while `after` is on its way, sent once it landed.
      const first = groupList.map((list) => part(list, 0));
      const pipes = first.map(build);
      await after;
      first.forEach((list, k) => sent.push(send(list, pipes[k])));
      from = chunk;
    }
    for (; groupList.some((list) => from < list.length); from += chunk) {
      for (const list of groupList) {
        if (from >= list.length) continue;
        const l = part(list, from);
        sent.push(send(l, build(l)));
      }
    }
    await Promise.all(sent);
    return out;
  }

  /**
   * Checks that the cluster's persistence settings match the durability mode: `durable` needs
   * the append-only file on every master (`appendonly yes`, `appendfsync always` or `everysec`)
   * and at least one replica per master. Rejects with what to change when they do not.
   */
  async checkPersistence(): Promise<void> {
    await waitReady(this.cluster);
    if (this.settings.durability !== 'durable') return;
    const problems: string[] = [];
    for (const node of this.cluster.nodes('master')) {
      const name = `${node.options.host}:${node.options.port}`;
      let aof: string[];
      try {
        aof = (await node.config('GET', 'append*')) as string[];
      } catch (err) {
        problems.push(`${name}: cannot read its configuration (${(err as Error).message})`);
        continue;
      }
      const conf = new Map<string, string>();
      for (let i = 0; i + 1 < aof.length; i += 2) conf.set(aof[i], aof[i + 1]);
      if (conf.get('appendonly') !== 'yes') problems.push(`${name}: appendonly is ${conf.get('appendonly') ?? 'unset'}, needs yes`);
      const fsync = conf.get('appendfsync');
      if (fsync !== 'always' && fsync !== 'everysec') problems.push(`${name}: appendfsync is ${fsync ?? 'unset'}, needs always or everysec`);
      const repl = await node.info('replication');
      const replicas = Number(/connected_slaves:(\d+)/.exec(repl)?.[1] ?? 0);
      if (replicas < 1) problems.push(`${name}: has no connected replica, needs at least one`);
    }
    if (problems.length > 0) {
      throw new Error(
        `storage.durability is "durable" but the Redis cluster does not keep writes that way:\n  ${problems.join('\n  ')}\n` +
          'Fix the cluster (see docs/scaling.md) or set storage.durability to "fast".',
      );
    }
  }

  async close(): Promise<void> {
    await this.cluster.quit().catch(() => this.cluster.disconnect());
  }
}

/** Resolves once the client has loaded the slot table (or rejects after 10 s). */
export function waitReady(cluster: Cluster): Promise<void> {
  if (cluster.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`cannot reach the Redis cluster (status ${cluster.status})`));
    }, 10_000);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      cluster.off('ready', onReady);
    };
    cluster.on('ready', onReady);
  });
}
