import type { RankedList } from './read-personalized.js';

/**
 * Stable pages: the ranked list of a read is kept per (app, user, feed, endpoint, session) for
 * the session's lifetime, so `offset` pages come from one list. A first page (offset 0) without a
 * `session` is always computed afresh, so feedback shows on the next read; later pages reuse it.
 */
export class PageCache {
  readonly #lists = new Map<string, { list: RankedList; untilMs: number }>();
  constructor(private readonly max = 5000) {}

  get(key: string, nowMs: number): RankedList | undefined {
    const hit = this.#lists.get(key);
    if (hit === undefined) return undefined;
    if (hit.untilMs < nowMs) {
      this.#lists.delete(key);
      return undefined;
    }
    return hit.list;
  }

  set(key: string, list: RankedList, untilMs: number): void {
    this.#lists.delete(key);
    this.#lists.set(key, { list, untilMs });
    if (this.#lists.size > this.max) this.#lists.delete(this.#lists.keys().next().value!);
  }
}
