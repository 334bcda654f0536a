import type { ActivityRecord } from './activity-store.js';
import type { AuditEntry } from './audit-log.js';
import type { EntryRecord } from './collection-store.js';
import type { FileRecord } from './file-index.js';
import type { FlagRecord } from './flag-store.js';
import type { FollowWrite } from './intent-queue.js';
import type { ReactionRecord } from './reaction-store.js';
import type { HiddenActivity } from './seen-store.js';
import type { UserRecord } from './user-store.js';

/** One page of a listing: its records and the cursor of the next page (null after the last). */
export interface ListPage<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

/** A follow edge as stored: its bound `since` as the oldest activity id it shows (or null for everything). */
export interface FollowEdge extends FollowWrite {
  readonly since: { readonly id: string } | null;
}

/**
 * Every record of one app, page by page: what data export reads (`rivulet export`). Not on any
 * request path: a page may scan part of the backend's keyspace.
 *
 * Each method takes the cursor a previous page returned (null for the first page) and returns at
 * most about `limit` records, in an order of the backend's choosing; a page may be empty while
 * `next` is not null. A record present during the whole listing is listed; one written or deleted
 * meanwhile may be listed or not. A backend whose scans can repeat an element (a Redis hash being
 * resized between two pages) may list a record twice: readers that count records count distinct
 * ids.
 *
 * Records with an id of their own are listed whole. Data kept per feed or per user is listed by
 * owner ({@link feeds}, {@link profileUsers}), and read through the ports (a feed's entries with
 * `TimelineStore.scan`, its hidden ids and floor with `readerState`, its groups with
 * `GroupStore.readForMerge`, a user's weights with `ProfileStore.profilesOf`). The event log is
 * read with `EventLog.readEvents`, content tags with `ContentTagStore.tagsOf` of each listed
 * activity, model snapshots with `ModelStore.latestSnapshot`.
 *
 * @example
 *   for (let c: string | null = null, first = true; first || c !== null; first = false) {
 *     const page = await listing.users('1', c, 500); // …page.items…
 *     c = page.next;
 *   }
 */
export interface DataListing {
  /** The app's activity records (erased ones are gone). */
  activities(app: string, cursor: string | null, limit: number): Promise<ListPage<ActivityRecord>>;
  /** The app's follow edges, each as stored (`since` as an id bound). */
  follows(app: string, cursor: string | null, limit: number): Promise<ListPage<FollowEdge>>;
  /** The app's reactions, soft-deleted ones too (their counts follow from them). */
  reactions(app: string, cursor: string | null, limit: number): Promise<ListPage<ReactionRecord>>;
  /** The app's users. */
  users(app: string, cursor: string | null, limit: number): Promise<ListPage<UserRecord>>;
  /** The app's collection entries, with their owners. */
  entries(app: string, cursor: string | null, limit: number): Promise<ListPage<EntryRecord>>;
  /**
   * The app's feeds that hold something of their own: flat entries, groups, hidden ids or a floor,
   * or the pull-served flag (feeds that only follow others are not listed). A backend may list a
   * feed more than once (readers dedupe).
   */
  feeds(app: string, cursor: string | null, limit: number): Promise<ListPage<string>>;
  /** The activities each user hid from their feeds (personalization hides), with where they were. */
  hiddenActivities(app: string, cursor: string | null, limit: number): Promise<ListPage<HiddenActivity & { readonly user: string }>>;
  /** The users with at least one personalization profile weight (the weights: `ProfileStore.profilesOf`). */
  profileUsers(app: string, cursor: string | null, limit: number): Promise<ListPage<string>>;
  /** The app's file index (uploads and their variants). */
  files(app: string, cursor: string | null, limit: number): Promise<ListPage<FileRecord>>;
  /** The app's audit log, oldest first (in append order; a page never repeats an entry). */
  audit(app: string, cursor: string | null, limit: number): Promise<ListPage<AuditEntry>>;
  /** The app's moderation flags, oldest first (in the order they were stored). */
  flags(app: string, cursor: string | null, limit: number): Promise<ListPage<FlagRecord>>;
}
