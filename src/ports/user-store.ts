/**
 * A stored user (stream-v2-api.md §5.3). `data` is the JSON text of the user's data object, kept
 * as text so reads can splice it into responses and enriched activities without re-parsing.
 * Times are microseconds since the epoch.
 */
export interface UserRecord {
  readonly id: string;
  /** JSON text of an object, e.g. `{"name":"Alice"}`; `{}` when the user has no data. */
  readonly data: string;
  readonly createdUs: number;
  readonly updatedUs: number;
}

/**
 * How a put treats an id that already exists: `keep` leaves the stored record untouched (create,
 * get-or-create, batch add without override); `replace` overwrites its data and `updatedUs` but
 * keeps `createdUs` (batch add with override, collection upsert).
 */
export type PutMode = 'keep' | 'replace';

/** The outcome of putting one record: the record as stored afterwards, and whether it is new. */
export interface PutResult<T> {
  readonly record: T;
  readonly created: boolean;
}

/** Users of an app. Every method is one atomic step; ids are compared exactly (case-sensitive). */
export interface UserStore {
  /**
   * Loads users by id in ONE round trip whatever the number of ids (feed enrichment resolves every
   * `SU:` reference of a page with a single call). Unknown ids are absent from the map; repeated
   * ids are fine.
   * @example getUsers('1', ['alice', 'bob']) // Map { 'alice' => {...} }
   */
  getUsers(app: string, ids: readonly string[]): Promise<Map<string, UserRecord>>;

  /**
   * Creates users, applied in order in one transaction; an existing id is kept or replaced per
   * `mode`. Returns one result per input, in input order (a repeated id sees the earlier item's
   * effect: under `keep` the first wins, under `replace` the last).
   */
  putUsers(app: string, users: readonly UserRecord[], mode: PutMode): Promise<PutResult<UserRecord>[]>;

  /** Replaces a user's data and sets `updatedUs`; `null` when the user does not exist. */
  updateUser(app: string, id: string, data: string, updatedUs: number): Promise<UserRecord | null>;

  /** Deletes users; returns the ids that existed (in input order, each once). Missing ids are no error. */
  deleteUsers(app: string, ids: readonly string[]): Promise<string[]>;
}
