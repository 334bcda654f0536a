/** Building blocks of the pubsub adapters (in-process and across cluster processes). */
import type { ControlLink, FeedEvent } from '../ports/pubsub.js';

/** Listener counts per app and feed; entries at zero are deleted, so `has` is a plain lookup. */
export class WatchCounts {
  readonly #apps = new Map<string, Map<string, number>>();

  /** Adds `n` (negative to take away) to the count of `feed`; never goes below zero. */
  add(app: string, feed: string, n: number): void {
    let feeds = this.#apps.get(app);
    if (!feeds) this.#apps.set(app, (feeds = new Map()));
    const next = (feeds.get(feed) ?? 0) + n;
    if (next > 0) feeds.set(feed, next);
    else {
      feeds.delete(feed);
      if (feeds.size === 0) this.#apps.delete(app);
    }
  }

  get(app: string, feed: string): number {
    return this.#apps.get(app)?.get(feed) ?? 0;
  }

  has(app: string, feed: string): boolean {
    return this.#apps.get(app)?.has(feed) === true;
  }

  hasApp(app: string): boolean {
    return this.#apps.has(app);
  }

  feeds(app: string): IterableIterator<string> {
    return (this.#apps.get(app) ?? new Map<string, number>()).keys();
  }

  /** Every non-zero count as `[app, feed, n]`. */
  *entries(): Generator<[string, string, number]> {
    for (const [app, feeds] of this.#apps) for (const [feed, n] of feeds) yield [app, feed, n];
  }

  clear(): void {
    this.#apps.clear();
  }
}

/** Calls every listener with every event; one failing listener does not keep events from the others. */
export function deliver(listeners: Iterable<(event: FeedEvent) => void>, events: readonly FeedEvent[]): unknown {
  let failure: unknown = null;
  for (const event of events) {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        failure ??= err;
      }
    }
  }
  return failure;
}

/** Listeners of this process, each subscription independent. */
export abstract class LocalListeners {
  protected readonly listeners = new Set<(event: FeedEvent) => void>();

  subscribe(listener: (event: FeedEvent) => void): () => void {
    // Wrapped so that subscribing the same function twice gives two independent subscriptions.
    const entry = (event: FeedEvent) => listener(event);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }
}

/**
 * The control links open in this process (see PubSub.openControl). A message sent on one reaches
 * the others here on a later microtask (never inside the sender's call), in order, and is handed
 * to `remote` to carry to the other processes; messages from other processes go to every link.
 */
export class LocalControl {
  readonly #links = new Set<(message: unknown) => void>();

  constructor(private readonly remote: (message: unknown) => void) {}

  open(receive: (message: unknown) => void): ControlLink {
    const entry = (message: unknown) => receive(message);
    this.#links.add(entry);
    return {
      send: (message) => {
        for (const link of this.#links) if (link !== entry) queueMicrotask(() => this.#call(link, message));
        this.remote(message);
      },
      close: () => {
        this.#links.delete(entry);
      },
    };
  }

  /** A message from another process: every link here gets it. */
  receive(message: unknown): void {
    for (const link of this.#links) this.#call(link, message);
  }

  clear(): void {
    this.#links.clear();
  }

  #call(link: (message: unknown) => void, message: unknown): void {
    // A link closed meanwhile hears nothing more; a failing receiver does not stop the others.
    if (!this.#links.has(link)) return;
    try {
      link(message);
    } catch {
      /* the receiver's own fault; the others still get the message */
    }
  }
}
