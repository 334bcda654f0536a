import { plainRenderer, type Renderer } from './enrich.js';
import { isUuid } from '../core/activities/activity-id.js';
import { InputError } from '../core/errors.js';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { TimelineRange } from '../ports/timeline-store.js';
import type { Services } from './context.js';
import { withoutFlagged } from './moderation.js';

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;
export const MAX_OFFSET = 10_000;

/**
 * Query parameters of a feed read that select the page. A repeated parameter arrives as an array
 * (node's querystring); the first value counts, as everywhere else in the API.
 */
export interface PageQuery {
  limit?: string | string[];
  offset?: string | string[];
  id_lt?: string | string[];
  id_lte?: string | string[];
  id_gt?: string | string[];
  id_gte?: string | string[];
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Parses a non-negative integer parameter; 400/4 naming it otherwise. */
export function intParam(value: string | undefined, name: string, dflt: number, max: number, clamp: boolean): number {
  if (value === undefined || value === '') return dflt;
  if (!/^\s*\d+\s*$/.test(value)) throw new InputError(`${name} must be a non-negative integer`, { fields: { [name]: ['invalid'] } });
  const n = Number(value);
  if (n > max) {
    if (clamp) return max;
    throw new InputError(`${name} must be at most ${max}`, { fields: { [name]: ['too large'] } });
  }
  return n;
}

function idParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.toLowerCase();
  if (!isUuid(v)) throw new InputError(`${name} must be an activity id`, { fields: { [name]: ['invalid'] } });
  return v;
}

/** Validates the paging parameters (limit clamped to 100, offset ≤ 10,000, id filters are ids). */
export function parsePage(q: PageQuery): TimelineRange {
  return {
    // limit=0 means the default page size, so `next` stays truthful.
    limit: intParam(first(q.limit), 'limit', DEFAULT_LIMIT, MAX_LIMIT, true) || DEFAULT_LIMIT,
    offset: intParam(first(q.offset), 'offset', 0, MAX_OFFSET, false),
    idLt: idParam(first(q.id_lt), 'id_lt'),
    idLte: idParam(first(q.id_lte), 'id_lte'),
    idGt: idParam(first(q.id_gt), 'id_gt'),
    idGte: idParam(first(q.id_gte), 'id_gte'),
  };
}

export interface FeedPage {
  /** Each activity as JSON text (stored form with origin). */
  readonly results: string[];
  /** Id of the last activity when more follow it, else null. */
  readonly lastId: string | null;
}

/**
 * Reads a page of a flat feed (§6.3): one store call that range-scans the feed (merging in
 * pull-served feeds it follows, cut to the feed's max_length as a push-served feed is, and looking
 * one entry ahead to know whether a next page exists) and brings each entry's activity along.
 * Activities are returned as ready JSON with `origin` spliced in; nothing is parsed on plain reads.
 */
export async function readFeed(
  s: Services,
  app: App,
  feed: FeedId,
  group: FeedGroup,
  range: TimelineRange,
  render: Renderer = plainRenderer,
): Promise<FeedPage> {
  const entries = await s.store.readTimelinePage(app.appId, feed.fid, { ...range, limit: range.limit + 1, maxLength: group.maxLength });
  const more = entries.length > range.limit;
  if (more) entries.length = range.limit;
  const results = await render(await withoutFlagged(s, app, entries));
  return { results, lastId: more && entries.length > 0 ? entries[entries.length - 1].id : null };
}
