import type { PutMode, PutResult } from './user-store.js';

/** Names one collection entry: `SO:<collection>:<id>` in activities, `<collection>:<id>` as foreign id. */
export interface EntryRef {
  readonly collection: string;
  readonly id: string;
}

/**
 * A stored collection entry (stream-v2-api.md §5.4). `data` is JSON text of a non-empty object;
 * `userId` is the owner (the user token that created it, or the `user_id` a server call named),
 * stored but never returned to clients. Times are microseconds since the epoch.
 */
export interface EntryRecord extends EntryRef {
  readonly data: string;
  readonly userId: string | null;
  readonly createdUs: number;
  readonly updatedUs: number;
}

/**
 * What a conditional write found. `not_owner`: the entry exists but the precondition `ifOwner`
 * did not match its owner, so nothing changed.
 */
export type EntryWriteOutcome<T> = { readonly kind: 'done'; readonly value: T } | { readonly kind: 'missing' } | { readonly kind: 'not_owner' };

/** Collection entries of an app. Every method is one atomic step. */
export interface CollectionStore {
  /**
   * Loads entries in ONE round trip whatever their number (feed enrichment resolves every `SO:`
   * reference of a page with a single call). The map is keyed by the entry's foreign id
   * `<collection>:<id>` (unambiguous: collection names hold no `:`); unknown refs are absent.
   * @example getEntries('1', [{ collection: 'food', id: 'burger' }]).get('food:burger')
   */
  getEntries(app: string, refs: readonly EntryRef[]): Promise<Map<string, EntryRecord>>;

  /**
   * Creates entries, applied in order in one transaction; an existing (collection, id) is kept or
   * replaced per `mode`. Under `replace` a `userId` of `null` keeps the stored owner. Returns one
   * result per input, in input order.
   */
  putEntries(app: string, entries: readonly EntryRecord[], mode: PutMode): Promise<PutResult<EntryRecord>[]>;

  /**
   * Replaces an entry's data and sets `updatedUs`. With `ifOwner` set, only an entry owned by that
   * user is changed (`not_owner` otherwise) — the ownership check and the write are one step.
   */
  updateEntry(app: string, ref: EntryRef, data: string, updatedUs: number, ifOwner?: string): Promise<EntryWriteOutcome<EntryRecord>>;

  /**
   * Deletes entries in one transaction; one outcome per input, in input order. With `ifOwner`
   * set, entries owned by someone else are left alone (`not_owner`) and the others still go.
   */
  deleteEntries(app: string, refs: readonly EntryRef[], ifOwner?: string): Promise<EntryWriteOutcome<null>[]>;
}
