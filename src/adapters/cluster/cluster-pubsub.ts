import cluster, { type Worker } from 'node:cluster';
import type { ControlLink, FeedEvent, PubSub } from '../../ports/pubsub.js';
import { deliver, LocalControl, LocalListeners, WatchCounts } from '../pubsub-parts.js';

/**
 * {@link PubSub} across the processes of `rivulet serve --workers N`, over the IPC channel that
 * node's `cluster` module opens between the primary and each HTTP process. Children send to the
 * primary; the primary relays to the children that need it. Nothing is stored: an event for a
 * process that has gone is dropped.
 *
 * Listener counts are replicated: each HTTP process counts its own subscriptions and keeps a copy
 * of every other process's counts (sent on through the primary), so `isWatched` stays a memory
 * lookup everywhere and writers build events only for feeds that some process listens to. The
 * primary holds each child's counts; when a child exits, its counts are taken away on every other
 * process. A new child asks for a snapshot of the others' counts when it starts.
 *
 * Control messages (`openControl`) go to the primary, which passes them on to every other child.
 *
 * `synced()` is a barrier: it resolves once every other process has applied the counts sent
 * before it. The realtime endpoint waits for it before confirming a subscription, so a write sent
 * after `subscribe` resolved reaches the subscriber whichever process handles the write.
 */

/** Messages on the IPC channel; `rivulet: 'pubsub'` keeps them apart from other messages. */
type PubSubMessage =
  | { rivulet: 'pubsub'; op: 'sync' }
  | { rivulet: 'pubsub'; op: 'snapshot'; counts: [string, string, number][] }
  | { rivulet: 'pubsub'; op: 'count'; app: string; feed: string; n: number }
  | { rivulet: 'pubsub'; op: 'publish'; events: FeedEvent[] }
  | { rivulet: 'pubsub'; op: 'barrier'; id: number }
  | { rivulet: 'pubsub'; op: 'barrier-ack'; id: number }
  | { rivulet: 'pubsub'; op: 'barrier-done'; id: number }
  | { rivulet: 'pubsub'; op: 'control'; body: unknown };

function isPubSubMessage(m: unknown): m is PubSubMessage {
  return typeof m === 'object' && m !== null && (m as { rivulet?: unknown }).rivulet === 'pubsub';
}

/**
 * The primary's side: relays events and counts between the HTTP processes, and is the pubsub of
 * the fan-out worker that runs in the primary (its events go to the children that listen).
 */
export class ClusterPrimaryPubSub extends LocalListeners implements PubSub {
  /** Counts of the primary's own listeners (none in `serve`; kept for the port's contract). */
  readonly #own = new WatchCounts();
  /** Counts of each child that has asked for its snapshot, by cluster worker id. */
  readonly #children = new Map<number, { worker: Worker; counts: WatchCounts }>();
  /** Sum over the children and the primary. */
  readonly #total = new WatchCounts();
  /** Open barriers: who asked (a child and its id, or a local resolver) and which children must still answer. */
  readonly #barriers = new Map<number, { origin: { worker: Worker; id: number } | (() => void); waiting: Set<number> }>();
  readonly #links = new LocalControl((body) => this.#control(body, null));
  #nextBarrier = 1;
  #closed = false;

  constructor() {
    super();
    cluster.on('message', this.#onMessage);
    cluster.on('exit', this.#onExit);
  }

  async publish(events: readonly FeedEvent[]): Promise<void> {
    if (this.#closed) return;
    this.#relay(events, null);
    const failure = deliver(this.listeners, events);
    if (failure !== null) throw failure;
  }

  watch(app: string, feed: string): void {
    this.#count(null, app, feed, 1);
  }

  unwatch(app: string, feed: string): void {
    if (this.#own.has(app, feed)) this.#count(null, app, feed, -1);
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

  synced(): Promise<void> {
    return new Promise((resolve) => this.#barrier(resolve, null));
  }

  openControl(receive: (message: unknown) => void): ControlLink {
    return this.#links.open(receive);
  }

  async close(): Promise<void> {
    this.#closed = true;
    cluster.off('message', this.#onMessage);
    cluster.off('exit', this.#onExit);
    for (const b of this.#barriers.values()) if (typeof b.origin === 'function') b.origin();
    this.#barriers.clear();
    this.#links.clear();
    this.listeners.clear();
    this.#children.clear();
    this.#own.clear();
    this.#total.clear();
  }

  /** Children that listen to the feeds of an event get it; `from` (the sender) already has it. */
  #relay(events: readonly FeedEvent[], from: number | null): void {
    for (const [id, child] of this.#children) {
      if (id === from) continue;
      const wanted = events.filter((e) => child.counts.has(e.app, e.feed));
      if (wanted.length > 0) send(child.worker, { rivulet: 'pubsub', op: 'publish', events: wanted });
    }
  }

  /** A control message from a child (or from a link of the primary, `from` null) goes to every other child. */
  #control(body: unknown, from: number | null): void {
    if (this.#closed) return;
    for (const [id, child] of this.#children) if (id !== from) send(child.worker, { rivulet: 'pubsub', op: 'control', body });
  }

  /** Applies a count change of a child (or of the primary, `from` null) and passes it on to the other children. */
  #count(from: number | null, app: string, feed: string, n: number): void {
    (from === null ? this.#own : this.#children.get(from)?.counts)?.add(app, feed, n);
    this.#total.add(app, feed, n);
    for (const [id, child] of this.#children) {
      if (id !== from) send(child.worker, { rivulet: 'pubsub', op: 'count', app, feed, n });
    }
  }

  #barrier(origin: { worker: Worker; id: number } | (() => void), from: number | null): void {
    const waiting = new Set([...this.#children.keys()].filter((id) => id !== from));
    const key = this.#nextBarrier++;
    this.#barriers.set(key, { origin, waiting });
    for (const id of waiting) send(this.#children.get(id)!.worker, { rivulet: 'pubsub', op: 'barrier', id: key });
    this.#settle(key);
  }

  #settle(key: number): void {
    const b = this.#barriers.get(key);
    if (!b || b.waiting.size > 0) return;
    this.#barriers.delete(key);
    if (typeof b.origin === 'function') b.origin();
    else send(b.origin.worker, { rivulet: 'pubsub', op: 'barrier-done', id: b.origin.id });
  }

  readonly #onMessage = (worker: Worker, message: unknown): void => {
    if (this.#closed || !isPubSubMessage(message)) return;
    const id = worker.id;
    switch (message.op) {
      case 'sync': {
        // The others' counts as they are now; later changes follow as `count` messages, in order.
        if (!this.#children.has(id)) this.#children.set(id, { worker, counts: new WatchCounts() });
        const mine = this.#children.get(id)!.counts;
        const counts: [string, string, number][] = [];
        for (const [app, feed, n] of this.#total.entries()) {
          const others = n - mine.get(app, feed);
          if (others > 0) counts.push([app, feed, others]);
        }
        send(worker, { rivulet: 'pubsub', op: 'snapshot', counts });
        return;
      }
      case 'count':
        if (this.#children.has(id)) this.#count(id, message.app, message.feed, message.n);
        return;
      case 'publish': {
        this.#relay(message.events, id);
        deliver(this.listeners, message.events);
        return;
      }
      case 'barrier':
        this.#barrier({ worker, id: message.id }, id);
        return;
      case 'control':
        this.#control(message.body, id);
        this.#links.receive(message.body);
        return;
      case 'barrier-ack': {
        const b = this.#barriers.get(message.id);
        if (b) {
          b.waiting.delete(id);
          this.#settle(message.id);
        }
        return;
      }
      default:
        return;
    }
  };

  /** A child that exits takes its listeners with it; barriers stop waiting for it. */
  readonly #onExit = (worker: Worker): void => {
    const child = this.#children.get(worker.id);
    if (!child) return;
    this.#children.delete(worker.id);
    for (const [app, feed, n] of [...child.counts.entries()]) {
      this.#total.add(app, feed, -n);
      for (const other of this.#children.values()) send(other.worker, { rivulet: 'pubsub', op: 'count', app, feed, n: -n });
    }
    for (const [key, b] of this.#barriers) {
      if (typeof b.origin !== 'function' && b.origin.worker === worker) this.#barriers.delete(key);
      else if (b.waiting.delete(worker.id)) this.#settle(key);
    }
  };
}

/** The side of an HTTP process (a cluster worker). */
export class ClusterChildPubSub extends LocalListeners implements PubSub {
  /** This process's own listeners. */
  readonly #own = new WatchCounts();
  /** Every other process's listeners, as last heard from the primary. */
  readonly #others = new WatchCounts();
  readonly #barriers = new Map<number, () => void>();
  readonly #links = new LocalControl((body) => {
    if (!this.#closed) sendToPrimary({ rivulet: 'pubsub', op: 'control', body });
  });
  #nextBarrier = 1;
  #closed = false;

  constructor() {
    super();
    process.on('message', this.#onMessage);
    process.on('disconnect', this.#onDisconnect);
    sendToPrimary({ rivulet: 'pubsub', op: 'sync' });
  }

  async publish(events: readonly FeedEvent[]): Promise<void> {
    if (this.#closed) return;
    // Other processes get only the events of feeds they listen to; this one gets them right away.
    const remote = events.filter((e) => this.#others.has(e.app, e.feed));
    if (remote.length > 0) sendToPrimary({ rivulet: 'pubsub', op: 'publish', events: remote });
    const failure = deliver(this.listeners, events);
    if (failure !== null) throw failure;
  }

  watch(app: string, feed: string): void {
    this.#own.add(app, feed, 1);
    sendToPrimary({ rivulet: 'pubsub', op: 'count', app, feed, n: 1 });
  }

  unwatch(app: string, feed: string): void {
    if (!this.#own.has(app, feed)) return;
    this.#own.add(app, feed, -1);
    sendToPrimary({ rivulet: 'pubsub', op: 'count', app, feed, n: -1 });
  }

  isWatched(app: string, feed: string): boolean {
    return this.#own.has(app, feed) || this.#others.has(app, feed);
  }

  watchedFeeds(app: string): string[] {
    return [...new Set([...this.#own.feeds(app), ...this.#others.feeds(app)])];
  }

  hasWatchers(app: string): boolean {
    return this.#own.hasApp(app) || this.#others.hasApp(app);
  }

  openControl(receive: (message: unknown) => void): ControlLink {
    return this.#links.open(receive);
  }

  synced(): Promise<void> {
    if (this.#closed || !process.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const id = this.#nextBarrier++;
      this.#barriers.set(id, resolve);
      sendToPrimary({ rivulet: 'pubsub', op: 'barrier', id });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    process.off('message', this.#onMessage);
    process.off('disconnect', this.#onDisconnect);
    this.#onDisconnect();
    this.#links.clear();
    this.listeners.clear();
    this.#own.clear();
    this.#others.clear();
  }

  readonly #onMessage = (message: unknown): void => {
    if (this.#closed || !isPubSubMessage(message)) return;
    switch (message.op) {
      case 'snapshot':
        this.#others.clear();
        for (const [app, feed, n] of message.counts) this.#others.add(app, feed, n);
        return;
      case 'count':
        this.#others.add(message.app, message.feed, message.n);
        return;
      case 'publish':
        deliver(this.listeners, message.events);
        return;
      case 'control':
        this.#links.receive(message.body);
        return;
      case 'barrier':
        // Every count sent to this process before the barrier has been applied (the channel keeps order).
        sendToPrimary({ rivulet: 'pubsub', op: 'barrier-ack', id: message.id });
        return;
      case 'barrier-done': {
        const resolve = this.#barriers.get(message.id);
        this.#barriers.delete(message.id);
        resolve?.();
        return;
      }
      default:
        return;
    }
  };

  /** Without the primary there is nobody to wait for. */
  readonly #onDisconnect = (): void => {
    for (const resolve of this.#barriers.values()) resolve();
    this.#barriers.clear();
  };
}

function send(worker: Worker, message: PubSubMessage): void {
  if (!worker.isConnected()) return;
  try {
    worker.send(message);
  } catch {
    /* the child is going away; its exit is handled on the 'exit' event */
  }
}

function sendToPrimary(message: PubSubMessage): void {
  if (!process.connected || !process.send) return;
  try {
    process.send(message);
  } catch {
    /* the primary is gone; the process shuts down on 'disconnect' */
  }
}
