import type { FeedEvent, PubSub } from '../../ports/pubsub.js';
import { deliver, LocalListeners, WatchCounts } from '../pubsub-parts.js';

/**
 * {@link PubSub} within one process (the embedded mode): listeners are called synchronously from
 * `publish`, and listener counts are a map per app.
 */
export class MemoryPubSub extends LocalListeners implements PubSub {
  readonly #watched = new WatchCounts();

  async publish(events: readonly FeedEvent[]): Promise<void> {
    const failure = deliver(this.listeners, events);
    if (failure !== null) throw failure;
  }

  watch(app: string, feed: string): void {
    this.#watched.add(app, feed, 1);
  }

  unwatch(app: string, feed: string): void {
    if (this.#watched.has(app, feed)) this.#watched.add(app, feed, -1);
  }

  isWatched(app: string, feed: string): boolean {
    return this.#watched.has(app, feed);
  }

  watchedFeeds(app: string): string[] {
    return [...this.#watched.feeds(app)];
  }

  hasWatchers(app: string): boolean {
    return this.#watched.hasApp(app);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.#watched.clear();
  }
}
