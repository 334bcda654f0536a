import type { ActivityRecord } from '../../ports/activity-store.js';
import type { FollowEdge, FollowPage } from '../../ports/follow-store.js';
import type { QueuedJob } from '../../ports/outbox.js';
import type { Store } from '../../ports/store.js';
import type { GroupRange, GroupRecord, TimelineEntry, TimelineRange } from '../../ports/timeline-store.js';
import type { WriteBatch } from '../../ports/write-store.js';
import { SqliteDatabase } from './database.js';
import { SqliteActivityStore } from './sqlite-activity-store.js';
import { SqliteFollowStore } from './sqlite-follow-store.js';
import { SqliteOutbox } from './sqlite-outbox.js';
import { SqliteTimelineStore } from './sqlite-timeline-store.js';
import { SqliteWriteStore } from './sqlite-write-store.js';

/** The embedded store: every port over one SQLite database file. */
export class SqliteStore implements Store {
  readonly database: SqliteDatabase;
  readonly #activities: SqliteActivityStore;
  readonly #timelines: SqliteTimelineStore;
  readonly #follows: SqliteFollowStore;
  readonly #outbox: SqliteOutbox;
  readonly #writes: SqliteWriteStore;

  /** `path` is a file path, or `:memory:` for tests. */
  constructor(path: string) {
    this.database = new SqliteDatabase(path);
    this.#activities = new SqliteActivityStore(this.database);
    this.#timelines = new SqliteTimelineStore(this.database);
    this.#follows = new SqliteFollowStore(this.database);
    this.#outbox = new SqliteOutbox(this.database);
    this.#writes = new SqliteWriteStore(this.database);
  }

  getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>> {
    return this.#activities.getActivities(app, ids);
  }
  findInFeedByForeignId(app: string, feed: string, foreignId: string): Promise<string[]> {
    return this.#activities.findInFeedByForeignId(app, feed, foreignId);
  }
  readFeed(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]> {
    return this.#timelines.readFeed(app, feed, range);
  }
  readGroups(app: string, feed: string, range: GroupRange): Promise<GroupRecord[]> {
    return this.#timelines.readGroups(app, feed, range);
  }
  groupCounts(app: string, feed: string): Promise<{ unseen: number; unread: number }> {
    return this.#timelines.groupCounts(app, feed);
  }
  entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]> {
    return this.#timelines.entriesOf(app, feed, ids);
  }
  followerPage(app: string, target: string, cursor: string | null, limit: number): Promise<FollowPage> {
    return this.#follows.followerPage(app, target, cursor, limit);
  }
  followers(app: string, target: string, limit: number, offset: number): Promise<FollowEdge[]> {
    return this.#follows.followers(app, target, limit, offset);
  }
  following(app: string, source: string, limit: number, offset: number, filter?: readonly string[]): Promise<FollowEdge[]> {
    return this.#follows.following(app, source, limit, offset, filter);
  }
  followCounts(app: string, feed: string, a?: readonly string[], b?: readonly string[]): Promise<{ followers: number; following: number }> {
    return this.#follows.followCounts(app, feed, a, b);
  }
  pendingJobs(limit: number): Promise<QueuedJob[]> {
    return this.#outbox.pendingJobs(limit);
  }
  pendingCount(): Promise<number> {
    return this.#outbox.pendingCount();
  }
  commit(app: string, batch: WriteBatch): Promise<void> {
    return this.#writes.commit(app, batch);
  }
  async close(): Promise<void> {
    this.database.close();
  }
}
