/**
 * Finished read responses, kept until the data changes. A feed is read far more often than it
 * changes (a client polling its timeline, many readers of one notification bell), and a response
 * built from the same stored state is the same text, so the bytes of a read are kept and served
 * again as long as the store's change mark has not moved.
 *
 * The change mark covers every write, by this process or any other over the same data, so no write
 * path has to remember to invalidate anything: a cached body is only served when no write at all
 * has landed since it was built. That makes the cache worth the most for read-heavy traffic and
 * worth nothing (but harmless: one mark check per read) under a steady stream of writes.
 *
 * Entries are evicted least recently used first once their total size passes the byte budget.
 */
export class ReadCache {
  readonly #maxBytes: number;
  readonly #mark: () => string;
  readonly #entries = new Map<string, Buffer>();
  /** The change mark the entries were built at. */
  #at = '';
  #bytes = 0;
  /** Look-ups answered from the cache, and those that were not (the page was built). */
  #hits = 0;
  #misses = 0;

  /** `mark` returns a value that differs whenever the stored data may have changed. */
  constructor(maxBytes: number, mark: () => string) {
    this.#maxBytes = maxBytes;
    this.#mark = mark;
  }

  /**
   * Looks the store's change mark up (one cheap store call) and drops everything when it moved.
   * Returns the mark, which a caller building a body passes to {@link set}: taken BEFORE the data
   * is read, a write landing during the build can only make the entry stale-labelled (dropped at
   * the next look-up), never label old data as current.
   */
  mark(): string {
    const m = this.#mark();
    if (m !== this.#at) {
      // Everything cached was built before this change: drop it all at once.
      this.#entries.clear();
      this.#bytes = 0;
      this.#at = m;
    }
    return m;
  }

  /**
   * The cached body for `key` if nothing was written since it was built, else undefined; `at`
   * receives the current mark for a body built now. One store call either way.
   */
  get(key: string, at: { mark: string }): Buffer | undefined {
    at.mark = this.mark();
    const body = this.#entries.get(key);
    if (body === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    // Most recently used last: re-inserting moves it to the end of the Map's order.
    this.#entries.delete(key);
    this.#entries.set(key, body);
    return body;
  }

  /**
   * Keeps `body` for `key` if it was built at the last mark seen. A write during the build that
   * nobody has looked up yet is caught by the next {@link get}, which drops this entry with the rest.
   */
  set(key: string, builtAt: string, body: Buffer): void {
    const size = entrySize(key, body);
    if (size > this.#maxBytes / 4) return; // one huge page must not flush everything else
    if (builtAt !== this.#at) return;
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#bytes -= entrySize(key, old);
      this.#entries.delete(key);
    }
    this.#entries.set(key, body);
    this.#bytes += size;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= entrySize(k, v);
    }
  }

  /** Look-ups since start: `hits` served from the cache, `misses` built anew. */
  get counts(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/** Bytes an entry holds: the body, the key (up to 2 bytes per character) and Map overhead. */
function entrySize(key: string, body: Buffer): number {
  return body.length + 2 * key.length + 96;
}
