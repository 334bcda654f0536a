import type { ChangeMarks, ChangesSince } from '../ports/change-marks.js';

/**
 * Values built from stored data, kept until that data changes: finished read responses (the read
 * cache, `ReadCache`) and the parts many pages share (an enriched activity).
 *
 * Finished read responses, kept until the data they show changes. A feed is read far more often
 * than it changes (a client polling its timeline, many readers of one notification bell), and a
 * response built from the same stored state is the same text, so the bytes of a read are kept and
 * served again as long as nothing they were built from has changed.
 *
 * What "changed" means comes from the store, not from the write paths: every write leaves a change
 * mark naming what it changed (a feed, an activity and its reactions, a user, a collection
 * object…, see `ChangeMarks`), in the same atomic step as the write, by this process or any other
 * over the same data. Each cached body lists the keys of the data its build read (its
 * dependencies). Before answering, the cache reads the marks written since it last looked and
 * drops exactly the bodies that depend on a changed key: a post drops the pages of the feeds it
 * reached, a like the pages showing that activity, a profile edit the enriched pages showing that
 * user; every other page stays.
 *
 * Looking is cheap when nothing was written: the store's change mark (`changeMark`, a counter
 * read) tells whether any write landed since the last look, and only then are the marks read.
 * Over a store without change marks, any write drops everything.
 *
 * A store shared by many nodes (Redis Cluster) has no local value that moves when another node
 * writes, so it gives no `changeMark`: every look then reads the marks after the cache's position
 * (one round trip to the marks' slot, which answers at once when there are none). A call never
 * answers from a look that began before the call: a write acknowledged to a client on another
 * node recorded its mark before the acknowledgement, so the client's next read, on any node,
 * misses the bodies it made stale. Calls arriving while a look is under way share the next one,
 * so the marks are read at most once per round trip, whatever the number of reads in flight. (A
 * local mark bumped by a pub/sub invalidation message would not be exact: the message may reach
 * this node after the client's next read.)
 *
 * Exactness: a body is built after the cache caught up to some position of the mark log, from data
 * that includes at least the writes up to it. When it is stored, the cache catches up again; if a
 * write after that position changed one of the body's dependencies, the body is not kept (it may
 * predate the write). So a cached body is always what a fresh build would return.
 *
 * Entries are evicted about least recently used first once their total size passes the byte
 * budget (an entry used since eviction last passed over it gets a second chance).
 */
export class ChangeCache<V> {
  readonly #maxBytes: number;
  readonly #mark: (() => string) | null;
  readonly #changes: ChangeMarks | null;
  /** Entries by space (see {@link peekIn}) and key. */
  readonly #spaces = new Map<string, Map<string, Entry<V>>>();
  /** Every entry, oldest first (the order eviction passes over them). */
  readonly #order = new Set<Entry<V>>();
  readonly #sizeOf: (value: V) => number;
  /** Dependency key → the newest mark position that changed it (since {@link #floor}). */
  readonly #changedAt = new Map<string, number>();
  /** The newest position in {@link #changedAt}: a body built at or after it is current. */
  #lastChange = 0;
  /** Bodies built before this position are not kept: {@link #changedAt} was reset there. */
  #floor = 0;
  /** The store's change mark at the last look. */
  #at: string | null = null;
  /** How far the mark log has been read (or, without change marks, how often everything was dropped). */
  #position = 0;
  #started = false;
  /** The look in progress, if any. */
  #syncing: Promise<void> | null = null;
  /** Without a local mark: the look queued behind the one in progress, not begun yet (calls join it). */
  #queued: Promise<number> | null = null;
  /** Without a local mark: settles when the last look begun or queued has ended. */
  #tail: Promise<void> = Promise.resolve();
  #bytes = 0;
  /** Look-ups answered from the cache, and those that were not (the page was built). */
  #hits = 0;
  #misses = 0;
  /** Bodies dropped because a write changed what they show, and bodies not kept because one did during their build. */
  #invalidated = 0;
  #refused = 0;

  /**
   * `mark` returns a value that differs whenever the stored data may have changed (null: there is
   * none, every look reads the marks); `changes` are the store's change marks (without them, any
   * change drops everything, and a `mark` is needed).
   */
  constructor(maxBytes: number, mark: (() => string) | null, changes: ChangeMarks | null | undefined, sizeOf: (value: V) => number) {
    this.#maxBytes = maxBytes;
    this.#sizeOf = sizeOf;
    this.#mark = mark;
    this.#changes = changes ?? null;
    if (mark === null && this.#changes === null) throw new Error('a change cache needs a change mark or change marks');
  }

  /**
   * Catches up with the writes since the last look, dropping the bodies they made stale. Returns
   * the position reached, which a caller building a body passes to {@link set}.
   */
  async sync(): Promise<number> {
    if (this.#mark === null) return this.lookAfterNow();
    for (;;) {
      // One look at a time: a request arriving while the marks are read waits for them, so it
      // never answers from a body that a write it follows has made stale.
      if (this.#syncing !== null) {
        await this.#syncing;
        continue;
      }
      const m = this.#mark();
      if (m === this.#at) return this.#position;
      // The marks since the last look, when the store knows them without reading them (this
      // process's own commits, learned with their acknowledgement): no read, no wait.
      const known = this.#started ? (this.#changes?.known?.(this.#position) ?? null) : null;
      if (known !== null) {
        this.#at = m;
        this.apply(known);
        return this.#position;
      }
      this.#syncing = this.catchUp(m).finally(() => {
        this.#syncing = null;
      });
    }
  }

  /**
   * Without a local mark: a look at the marks that begins after this call (joining the queued one
   * if there is one), one look at a time, so positions and changed keys are taken in order.
   */
  private lookAfterNow(): Promise<number> {
    if (this.#queued !== null) return this.#queued;
    const look = this.#tail.then(async () => {
      this.#queued = null;
      await this.catchUp(null);
      return this.#position;
    });
    this.#queued = look;
    this.#tail = look.then(
      () => undefined,
      () => undefined,
    );
    return look;
  }

  private async catchUp(m: string | null): Promise<void> {
    // Taken before the marks are read: a write landing meanwhile moves the mark again and is read
    // at the next look (or is already among the marks read now; reading it twice is harmless).
    this.#at = m;
    if (this.#changes === null) {
      this.clear();
      this.#position++;
      return;
    }
    try {
      if (!this.#started) {
        this.#position = this.#floor = await this.#changes.position();
        this.#started = true;
        return;
      }
      this.apply(await this.#changes.changesSince(this.#position));
    } catch (err) {
      this.#at = null; // look again next time
      throw err;
    }
  }

  /** Takes in the marks after {@link #position}. */
  private apply(c: ChangesSince): void {
    if (!c.complete) {
      // The log no longer reaches back to where this cache was: anything may have changed.
      this.clear();
      this.#changedAt.clear();
      this.#floor = Math.max(this.#floor, c.position);
    } else if (c.keys.length > 0) {
      for (const k of c.keys) this.#changedAt.set(k, c.position);
      this.#lastChange = Math.max(this.#lastChange, c.position);
      if (this.#changedAt.size > MAX_CHANGED_KEYS) this.compact(c.position);
    }
    this.#position = Math.max(this.#position, c.position);
  }

  /**
   * The cached body for `key` if nothing it was built from has changed, else undefined; `at`
   * receives the position for a body built now.
   */
  async get(key: string, at: { position: number }): Promise<V | undefined> {
    at.position = await this.sync();
    return this.peek(key);
  }

  /** The cached value for `key` as of the last {@link sync}. */
  peek(key: string): V | undefined {
    return this.peekIn('', key);
  }

  /**
   * {@link peek} of `key` in `space`: values of one kind (an activity's body, say) keyed by a
   * string the caller already holds (the activity id), which is cheaper to look up than a key
   * made by joining strings for each look-up.
   */
  peekIn(space: string, key: string): V | undefined {
    const e = this.#spaces.get(space)?.get(key);
    if (e === undefined) {
      this.#misses++;
      return undefined;
    }
    if (e.builtAt < this.#lastChange) {
      if (this.stale(e)) {
        this.drop(e);
        this.#invalidated++;
        this.#misses++;
        return undefined;
      }
      // No dependency changed up to the newest change read: the value is what a build there would
      // give, so later looks check only the changes after it (an entry with hundreds of
      // dependencies, hit between writes, is checked once per change instead of once per hit).
      e.builtAt = this.#lastChange;
    }
    this.#hits++;
    // Marked used: eviction gives it a second chance (see `put`) instead of moving it on every hit.
    e.used = true;
    return e.value;
  }

  /** Whether a write after `e` was built changed one of its dependencies. */
  private stale(e: Entry<V>): boolean {
    if (e.builtAt < this.#floor) return true;
    for (const d of e.deps) if ((this.#changedAt.get(d) ?? -1) > e.builtAt) return true;
    return false;
  }

  /**
   * Forgets the changed keys once there are too many: drops the bodies they made stale and takes
   * every other body as built at `position` (they are current there).
   */
  private compact(position: number): void {
    for (const e of this.#order) {
      if (this.stale(e)) {
        this.drop(e);
        this.#invalidated++;
      } else {
        e.builtAt = position;
      }
    }
    this.#changedAt.clear();
    this.#floor = Math.max(this.#floor, position);
  }

  /**
   * Keeps `body` for `key`, built from the data named by `deps` after the cache reached position
   * `builtAt`, unless a write since then changed any of `deps`.
   */
  async set(key: string, builtAt: number, deps: Iterable<string>, value: V): Promise<boolean> {
    await this.sync();
    return this.put(key, builtAt, deps, value);
  }

  /** The dependencies of the value kept for `key` (none when there is none). */
  depsOf(key: string): readonly string[] {
    return this.depsIn('', key);
  }

  /** {@link depsOf} in `space`. */
  depsIn(space: string, key: string): readonly string[] {
    return this.#spaces.get(space)?.get(key)?.deps ?? [];
  }

  /** {@link set} as of the last {@link sync}: for several values built together, after one sync. */
  put(key: string, builtAt: number, deps: Iterable<string>, value: V): boolean {
    return this.putIn('', key, builtAt, deps, value);
  }

  /** {@link put} of `key` in `space` (see {@link peekIn}). */
  putIn(space: string, key: string, builtAt: number, deps: Iterable<string>, value: V): boolean {
    const depList = Array.isArray(deps) ? (deps as string[]) : [...deps];
    const size = entrySize(key, this.#sizeOf(value), depList.length);
    if (size > this.#maxBytes / 4) return false; // one huge page must not flush everything else
    if (this.#changes === null ? builtAt !== this.#position : builtAt < this.#floor) return this.refuse();
    if (this.#changes !== null && builtAt < this.#lastChange) {
      for (const d of depList) if ((this.#changedAt.get(d) ?? -1) > builtAt) return this.refuse();
    }
    let entries = this.#spaces.get(space);
    if (entries === undefined) this.#spaces.set(space, (entries = new Map()));
    const old = entries.get(key);
    if (old !== undefined) this.drop(old);
    const e: Entry<V> = { value, deps: depList, size, builtAt, used: false, space, key };
    entries.set(key, e);
    this.#order.add(e);
    this.#bytes += size;
    // Least recently used first, approximately ("second chance"): the oldest entries go unless
    // they were used since they were last passed over, which moves them to the end.
    for (const o of this.#order) {
      if (this.#bytes <= this.#maxBytes) break;
      if (o.used) {
        o.used = false;
        this.#order.delete(o);
        this.#order.add(o);
      } else {
        this.drop(o);
      }
    }
    return true;
  }

  private refuse(): false {
    this.#refused++;
    return false;
  }

  private drop(e: Entry<V>): void {
    if (!this.#order.delete(e)) return;
    const entries = this.#spaces.get(e.space)!;
    entries.delete(e.key);
    if (entries.size === 0) this.#spaces.delete(e.space);
    this.#bytes -= e.size;
  }

  private clear(): void {
    this.#invalidated += this.#order.size;
    this.#spaces.clear();
    this.#order.clear();
    this.#bytes = 0;
  }

  /**
   * Look-ups since start: `hits` served from the cache, `misses` built anew; `invalidated` bodies
   * dropped by writes, `refused` bodies not kept because a write changed them while they were built.
   */
  get counts(): { hits: number; misses: number; invalidated: number; refused: number } {
    return { hits: this.#hits, misses: this.#misses, invalidated: this.#invalidated, refused: this.#refused };
  }

  get size(): number {
    return this.#order.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

interface Entry<V> {
  readonly value: V;
  readonly deps: readonly string[];
  readonly size: number;
  /** The position the cache had reached when the value's build began (moved on by {@link ChangeCache.compact}). */
  builtAt: number;
  /** Looked up since it was last passed over by eviction. */
  used: boolean;
  readonly space: string;
  readonly key: string;
}

/**
 * Changed keys remembered to judge cached bodies; past this, the bodies they made stale are dropped
 * and the rest taken as current (see `compact`), and bodies whose build began earlier are not kept.
 */
const MAX_CHANGED_KEYS = 200_000;

/** Bytes an entry holds: the value, the key (up to 2 bytes per character), its dependencies and Map overhead. */
function entrySize(key: string, value: number, deps: number): number {
  return value + 2 * key.length + 96 + 80 * deps;
}
