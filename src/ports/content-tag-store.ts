/**
 * Content tags of activities (personalization.md §2.4, §5): what a post is about, computed off the
 * request path by the `content.process` job — caller `interest_tags` and `image_labels`, hashtags,
 * @mentions, keywords, named entities and image labels — normalised and namespaced
 * (`#snowboarding`, `@alex`, `kw:powder`, `ent:whistler`, `img:snowboard`, bare caller tags).
 * An activity is rankable before its job ran; it just has no tags yet.
 */

/** Where a tag came from; each source has its weight (caller 1.0, hashtag 1.0, image 0.8, keyword 0.5). */
export type TagSource = 'caller' | 'hashtag' | 'mention' | 'keyword' | 'entity' | 'image';

export interface ContentTag {
  readonly tag: string;
  readonly source: TagSource;
  readonly weight: number;
}

/**
 * A pending `content.process` job: (re)compute the tags of one activity. Queued in the same
 * commit as the activity write (see {@link SignalWriter.recordSignals}), so an acknowledged activity is
 * never left without its job; completed in the same commit as the tags it produced.
 */
export interface ContentJob {
  readonly jobId: number;
  readonly app: string;
  readonly activityId: string;
  /** How many times the job failed before (a labeler outage); the worker backs off on it. */
  readonly attempts: number;
}

/**
 * Reads content tags and the job queue. Every method is one round trip.
 *
 * @example
 *   const tags = await store.tagsOf('1', [a1, a2]);
 *   tags.get(a1) // [{ tag: '#snowboarding', source: 'hashtag', weight: 1 }, ...]
 */
export interface ContentTagStore {
  /** Tags of each activity; activities without tags are absent from the map. */
  tagsOf(app: string, activityIds: readonly string[]): Promise<Map<string, ContentTag[]>>;

  /** The oldest pending content jobs of every app that may run at `nowUs`, at most `limit`. */
  pendingContentJobs(nowUs: number, limit: number): Promise<ContentJob[]>;
}
