import type { ControlLink, FeedEvent, PubSub } from '../../ports/pubsub.js';
import { deliver, LocalControl, LocalListeners, WatchCounts } from '../pubsub-parts.js';

/**
 * {@link PubSub} within one process (the embedded mode): listeners are called synchronously from
 * `publish`, and listener counts are a map per app. Control links reach the other links opened on
 * the same instance (several realtime endpoints sharing it, as in tests).
 */
export class MemoryPubSub extends LocalListeners implements PubSub {
  readonly #watched = new WatchCounts();
  readonly #control = new LocalControl(() => {});

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

  openControl(receive: (message: unknown) => void): ControlLink {
    return this.#control.open(receive);
  }

  async close(): Promise<void> {
    this.#control.clear();
    this.listeners.clear();
    this.#watched.clear();
  }
}
