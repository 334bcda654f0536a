import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import type { ControlLink, FeedEvent, PubSub } from '../../ports/pubsub.js';
import { deliver, LocalControl, LocalListeners, WatchCounts } from '../pubsub-parts.js';
import { openCluster, waitReady } from './connection.js';
import type { Keys } from './keys.js';

/**
 * {@link PubSub} across API nodes and workers over Redis sharded pub/sub (`SPUBLISH` /
 * `SSUBSCRIBE`, Redis 7): each feed has a channel in its own slot, `rv:{<app>|f|<feed>}:rt`, and
 * a node subscribes to the channels of the feeds it has listeners for, so an event travels only
 * to the shard of its feed and on to the nodes that watch it.
 *
 * Listener counts are replicated over one control channel: a node announces when it starts or
 * stops watching a feed, answers a newcomer's hello with the feeds it watches, and says it is
 * alive every few seconds (a node silent for {@link DEAD_AFTER_MS} is forgotten, with its feeds).
 * So `isWatched` is a memory lookup on every node, and writers publish only events that some node
 * listens for. `synced()` is a barrier: it resolves once every other live node has answered a
 * message sent after this node's announcements, so a write anywhere after it reaches the new
 * listener. It waits for as many answers as `SPUBLISH` of the barrier says it reached other
 * subscribers, not only for the nodes this one has heard of yet: a node that just started may not
 * have heard the others' replies to its hello.
 *
 * Control links (`openControl`) travel on the control channel too, as `rt` messages that every
 * other node hands to its links, and so do the fan-out wake-ups (`jobsQueued`): a `jobs` message,
 * at most one per {@link JOBS_COALESCE_MS} per node, on which every other node's fan-out worker
 * claims at once (its poll stays the fallback for a lost message).
 *
 * Events published here reach this node's own listeners directly (as the in-process pubsub
 * does); events from other nodes arrive for the feeds watched here.
 */

const ALIVE_EVERY_MS = 5_000;
const DEAD_AFTER_MS = 15_000;
const BARRIER_TIMEOUT_MS = 2_000;
/** Wake-ups of the fan-out workers asked for within this many ms travel as one message. */
const JOBS_COALESCE_MS = 2;

/** A `synced()` in flight: the nodes it waits for by name, those that answered, how many it reached. */
interface Barrier {
  readonly waiting: Set<string>;
  readonly answered: Set<string>;
  others: number | null;
  readonly done: () => void;
}

type Control =
  | { op: 'hello'; node: string }
  | { op: 'snap'; node: string; to: string; feeds: [string, string][] }
  | { op: 'on' | 'off'; node: string; app: string; feed: string }
  | { op: 'alive'; node: string }
  | { op: 'bye'; node: string }
  | { op: 'barrier'; node: string; id: number }
  | { op: 'ack'; node: string; to: string; id: number }
  | { op: 'rt'; node: string; body: unknown }
  | { op: 'jobs'; node: string };

interface FeedMessage {
  node: string;
  events: FeedEvent[];
}

export class RedisPubSub extends LocalListeners implements PubSub {
  readonly #node = randomUUID();
  readonly #pub: Cluster;
  readonly #sub: Cluster;
  readonly #keys: Keys;
  readonly #control: string;
  /** This node's listener counts. */
  readonly #own = new WatchCounts();
  /** Feeds each other node watches, and when it was last heard from. */
  readonly #remote = new Map<string, { feeds: WatchCounts; seen: number }>();
  /** Per feed: how many nodes (this one included) watch it. */
  readonly #total = new WatchCounts();
  /** Channel subscriptions in flight (a barrier waits for them). */
  readonly #pending = new Set<Promise<unknown>>();
  readonly #barriers = new Map<number, Barrier>();
  readonly #links = new LocalControl((body) => {
    if (!this.#closed) this.#send({ op: 'rt', node: this.#node, body }).catch(() => {});
  });
  readonly #started: Promise<void>;
  readonly #timer: NodeJS.Timeout;
  /** Who hears other nodes' fan-out wake-ups. */
  readonly #jobListeners = new Set<() => void>();
  /** A wake-up waiting to be sent (calls within {@link JOBS_COALESCE_MS} share it). */
  #jobsTimer: NodeJS.Timeout | null = null;
  #nextBarrier = 1;
  #closed = false;

  constructor(opts: { nodes: readonly string[]; keys: Keys; publisher: Cluster }) {
    super();
    this.#keys = opts.keys;
    this.#pub = opts.publisher;
    const sub = openCluster({ nodes: opts.nodes }, { shardedSubscribers: true });
    const control = this.#keys.shared('rt', 'ctl');
    this.#sub = sub;
    this.#control = control;
    sub.on('smessage', (channel: string, message: string) => this.#onMessage(channel, message));
    this.#started = (async () => {
      await waitReady(sub);
      await sub.ssubscribe(control);
      await this.#send({ op: 'hello', node: this.#node });
    })();
    this.#started.catch(() => {});
    this.#timer = setInterval(() => this.#tick(), ALIVE_EVERY_MS);
    this.#timer.unref();
  }

  /** Resolves once this node listens on the control channel (rejects when the cluster is unreachable). */
  started(): Promise<void> {
    return this.#started;
  }

  async publish(events: readonly FeedEvent[]): Promise<void> {
    if (this.#closed) return;
    const failure = deliver(this.listeners, events);
    // Consecutive events of one feed travel together; only feeds another node watches travel.
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < events.length; ) {
      let j = i + 1;
      while (j < events.length && events[j].app === events[i].app && events[j].feed === events[i].feed) j++;
      const e = events[i];
      const others = this.#total.get(e.app, e.feed) - (this.#own.has(e.app, e.feed) ? 1 : 0);
      if (others > 0) {
        const msg: FeedMessage = { node: this.#node, events: events.slice(i, j) as FeedEvent[] };
        sends.push(this.#pub.spublish(this.#keys.feed(e.app, e.feed, 'rt'), JSON.stringify(msg)));
      }
      i = j;
    }
    await Promise.all(sends);
    if (failure !== null) throw failure;
  }

  watch(app: string, feed: string): void {
    if (this.#closed) return;
    this.#own.add(app, feed, 1);
    if (this.#own.get(app, feed) !== 1) return;
    this.#total.add(app, feed, 1);
    this.#track(this.#sub.ssubscribe(this.#keys.feed(app, feed, 'rt')));
    this.#track(this.#send({ op: 'on', node: this.#node, app, feed }));
  }

  unwatch(app: string, feed: string): void {
    if (this.#closed || !this.#own.has(app, feed)) return;
    this.#own.add(app, feed, -1);
    if (this.#own.has(app, feed)) return;
    this.#total.add(app, feed, -1);
    this.#track(this.#sub.sunsubscribe(this.#keys.feed(app, feed, 'rt')));
    this.#track(this.#send({ op: 'off', node: this.#node, app, feed }));
  }

  isWatched(app: string, feed: string): boolean {
    return this.#total.has(app, feed);
  }

  watchedFeeds(app: string): string[] {
    return [...this.#total.feeds(app)];
  }

  hasWatchers(app: string): boolean {
    return this.#total.hasApp(app);
  }

  openControl(receive: (message: unknown) => void): ControlLink {
    return this.#links.open(receive);
  }

  jobsQueued(): void {
    if (this.#closed || this.#jobsTimer !== null) return;
    this.#jobsTimer = setTimeout(() => {
      this.#jobsTimer = null;
      if (!this.#closed) this.#send({ op: 'jobs', node: this.#node }).catch(() => {});
    }, JOBS_COALESCE_MS);
  }

  onJobsQueued(listener: () => void): () => void {
    const entry = () => listener();
    this.#jobListeners.add(entry);
    return () => this.#jobListeners.delete(entry);
  }

  async synced(): Promise<void> {
    await this.#started;
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    this.#forgetDead();
    const id = this.#nextBarrier++;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), BARRIER_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        this.#barriers.delete(id);
        resolve();
      };
      const b: Barrier = { waiting: new Set(this.#remote.keys()), answered: new Set(), others: null, done: finish };
      this.#barriers.set(id, b);
      // SPUBLISH answers how many subscribers of the control channel got the barrier, this node's
      // own among them: that many answers less one are awaited.
      this.#send({ op: 'barrier', node: this.#node, id })
        .then((reached) => {
          b.others = Math.max(0, Number(reached) - 1);
          this.#settle(b);
        })
        .catch(finish);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#jobsTimer !== null) {
      // A wake-up still waiting goes out now: the jobs it announces are committed.
      clearTimeout(this.#jobsTimer);
      this.#jobsTimer = null;
      await this.#send({ op: 'jobs', node: this.#node }).catch(() => {});
    }
    this.#jobListeners.clear();
    await this.#send({ op: 'bye', node: this.#node }).catch(() => {});
    this.listeners.clear();
    this.#links.clear();
    for (const b of this.#barriers.values()) b.done();
    await this.#sub.quit().catch(() => this.#sub.disconnect());
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch(() => {}).finally(() => this.#pending.delete(q));
    this.#pending.add(q);
  }

  #send(c: Control): Promise<unknown> {
    return this.#pub.spublish(this.#control, JSON.stringify(c));
  }

  #tick(): void {
    this.#send({ op: 'alive', node: this.#node }).catch(() => {});
    this.#forgetDead();
  }

  #forgetDead(): void {
    const now = Date.now();
    for (const [node, r] of this.#remote) if (now - r.seen > DEAD_AFTER_MS) this.#forget(node);
  }

  #forget(node: string): void {
    const r = this.#remote.get(node);
    if (!r) return;
    this.#remote.delete(node);
    for (const [app, feed] of r.feeds.entries()) this.#total.add(app, feed, -1);
    for (const b of this.#barriers.values()) this.#ack(b, node);
  }

  #ack(b: Barrier, node: string): void {
    b.waiting.delete(node);
    b.answered.add(node);
    this.#settle(b);
  }

  /** A barrier is done once every node known when it began answered (or was forgotten), and as many as it reached. */
  #settle(b: Barrier): void {
    if (b.others !== null && b.waiting.size === 0 && b.answered.size >= b.others) b.done();
  }

  #peer(node: string): { feeds: WatchCounts; seen: number } {
    let r = this.#remote.get(node);
    if (!r) this.#remote.set(node, (r = { feeds: new WatchCounts(), seen: 0 }));
    r.seen = Date.now();
    return r;
  }

  #remoteSet(node: string, app: string, feed: string, on: boolean): void {
    const r = this.#peer(node);
    if (r.feeds.has(app, feed) === on) return;
    r.feeds.add(app, feed, on ? 1 : -1);
    this.#total.add(app, feed, on ? 1 : -1);
  }

  #onMessage(channel: string, message: string): void {
    if (this.#closed) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (channel !== this.#control) {
      const m = parsed as FeedMessage;
      if (m.node === this.#node || !Array.isArray(m.events)) return;
      deliver(this.listeners, m.events);
      return;
    }
    const c = parsed as Control;
    if (c.node === this.#node) return;
    switch (c.op) {
      case 'hello':
        this.#peer(c.node);
        this.#send({ op: 'snap', node: this.#node, to: c.node, feeds: [...this.#own.entries()].map(([a, f]) => [a, f]) }).catch(() => {});
        break;
      case 'snap':
        this.#peer(c.node);
        if (c.to !== this.#node) break;
        for (const [app, feed] of c.feeds) this.#remoteSet(c.node, app, feed, true);
        break;
      case 'on':
      case 'off':
        this.#remoteSet(c.node, c.app, c.feed, c.op === 'on');
        break;
      case 'alive':
        this.#peer(c.node);
        break;
      case 'rt':
        this.#links.receive(c.body);
        break;
      case 'jobs':
        for (const listener of [...this.#jobListeners]) {
          try {
            listener();
          } catch {
            /* the listener's own fault; the others still hear it */
          }
        }
        break;
      case 'bye':
        this.#forget(c.node);
        break;
      case 'barrier':
        this.#peer(c.node);
        this.#send({ op: 'ack', node: this.#node, to: c.node, id: c.id }).catch(() => {});
        break;
      case 'ack': {
        this.#peer(c.node);
        const b = c.to === this.#node ? this.#barriers.get(c.id) : undefined;
        if (b) this.#ack(b, c.node);
        break;
      }
    }
  }
}
