import type { FeedEvent, PubSub } from '../../ports/pubsub.js';

/**
 * {@link PubSub} within one process (the embedded mode): listeners are called synchronously from
 * `publish`, and listener counts are a map per app.
 */
export class MemoryPubSub implements PubSub {
  readonly #listeners = new Set<(event: FeedEvent) => void>();
  /** app → feed → number of listeners (entries at zero are deleted). */
  readonly #watched = new Map<string, Map<string, number>>();

  async publish(events: readonly FeedEvent[]): Promise<void> {
    let failure: unknown = null;
    for (const event of events) {
      for (const listener of this.#listeners) {
        // One failing listener must not keep the event from the others.
        try {
          listener(event);
        } catch (err) {
          failure ??= err;
        }
      }
    }
    if (failure !== null) throw failure;
  }

  subscribe(listener: (event: FeedEvent) => void): () => void {
    // Wrapped so that subscribing the same function twice gives two independent subscriptions.
    const entry = (event: FeedEvent) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  watch(app: string, feed: string): void {
    let feeds = this.#watched.get(app);
    if (!feeds) this.#watched.set(app, (feeds = new Map()));
    feeds.set(feed, (feeds.get(feed) ?? 0) + 1);
  }

  unwatch(app: string, feed: string): void {
    const feeds = this.#watched.get(app);
    const n = feeds?.get(feed);
    if (!feeds || n === undefined) return;
    if (n > 1) feeds.set(feed, n - 1);
    else {
      feeds.delete(feed);
      if (feeds.size === 0) this.#watched.delete(app);
    }
  }

  isWatched(app: string, feed: string): boolean {
    return this.#watched.get(app)?.has(feed) === true;
  }

  watchedFeeds(app: string): string[] {
    return [...(this.#watched.get(app)?.keys() ?? [])];
  }

  hasWatchers(app: string): boolean {
    return this.#watched.has(app);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#watched.clear();
  }
}
