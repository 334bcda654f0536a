import { parseBody } from '../core/activities/activity.js';
import { idToSortKey } from '../core/activities/activity-id.js';
import { plainRenderer, type Renderer } from './enrich.js';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import { seededRandom, seedOf } from '../core/ranking/seeded-random.js';
import { compareScored, type RankingMethod } from '../core/ranking/compile.js';
import type { TimelineRange } from '../ports/timeline-store.js';
import type { TimeSource, Uses } from './context.js';
import { personalFields } from './signals/personal-variables.js';
import { withoutFlagged } from './moderation.js';
import { readTimeline } from './read-feed.js';

/** What a ranked read uses (the flat read, reaction counts, personal ranking variables). */
export type ReadRankedDeps = Uses<'activities' | 'follows' | 'reactions' | 'timelines', 'clock' | 'flags' | 'hideFlagged' | 'parts' | 'readDeps' | 'signalStore' | 'signals'>;

/**
 * "Now" for decay functions is rounded down to this many seconds, so that the order of a ranked
 * feed (and so its page boundaries) does not drift between the requests of one paging session.
 */
export const RANKING_CLOCK_STEP_S = 60;

/** "Now" as ranked reads see it: the clock in whole {@link RANKING_CLOCK_STEP_S} steps (seconds). */
export function rankingNow(clock: TimeSource): number {
  return Math.floor(clock.now() / 1e6 / RANKING_CLOCK_STEP_S) * RANKING_CLOCK_STEP_S;
}

export interface RankedPage {
  /** Each activity as JSON text with `score` (and `score_vars` when asked). */
  readonly results: string[];
  /** Offset of the next page inside the window, or null after the last. */
  readonly nextOffset: number | null;
}

function scoreJson(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/**
 * Reads a flat feed ordered by a ranking method (§23.4): the newest `window` entries (within the
 * id bounds, if any) are scored with the method's compiled scorer and sorted, highest first, ties
 * by id descending, non-finite scores last; the page is `offset`..`offset+limit` of that order.
 * `rand()` in a formula is seeded per activity, feed and `session`, so a page boundary stays put
 * while the feed does not change.
 */
export async function readRanked(
  s: ReadRankedDeps,
  app: App,
  feed: FeedId,
  group: FeedGroup,
  method: RankingMethod,
  range: TimelineRange,
  opts: {
    vars?: Readonly<Record<string, unknown>>;
    withScoreVars: boolean;
    session?: string;
    nowSeconds?: number;
    /** Whose profile personal variables (`interest_score`, …) use; default the feed's user. */
    reader?: string;
  },
  render: Renderer = plainRenderer,
): Promise<RankedPage> {
  const candidates = await withoutFlagged(
    s,
    app,
    await readTimeline(s, app.appId, feed.fid, { ...range, limit: method.window, offset: 0, maxLength: group.maxLength }),
  );
  const ids = candidates.map((e) => e.id);
  // Reaction counts are scoring inputs (`popularity`, `reaction_counts.like`): one batch, loaded
  // only when the formula reads them.
  const needsCounts = method.variables.some((v) => v === 'popularity' || v === 'reaction_counts' || v.startsWith('reaction_counts.'));
  const counts = needsCounts ? await s.ports.reactions.reactionCounts(app.appId, ids, 'activity') : null;
  // Personal variables: two batch reads, only when the formula reads them.
  const personal = await personalFields(s, app.appId, opts.reader ?? feed.uid, method.variables, ids);
  const nowSeconds = opts.nowSeconds ?? rankingNow(s.clock);
  const session = opts.session ?? '';
  // Ties are broken on `id`, here the id's sort key (time first, §4.2), so that "id descending"
  // means newest first, as in feed order; UUID text starts with the low time bits and would not.
  const scored: { id: string; activityId: string; score: number; body: string; origin: string | null; vars?: Record<string, number> }[] = [];
  for (const e of candidates) {
    const obj = parseBody(e.body);
    const c = counts?.get(e.id);
    if (c) {
      // Reaction counts act as activity fields, but only once the activity has reactions, so a
      // request's ranking_vars and the method's defaults still apply to activities without any.
      // The activity's own fields of the same names win.
      const total = Object.values(c).reduce((x, y) => x + y, 0);
      if (obj.reaction_counts === undefined) obj.reaction_counts = c;
      if (obj.popularity === undefined && total > 0) obj.popularity = total;
    }
    if (personal !== null) personal(e.id, obj);
    const vars: Record<string, number> | undefined = opts.withScoreVars ? {} : undefined;
    // The generator is only built if the formula actually draws a random number.
    let gen: (() => number) | null = null;
    const rand = () => (gen ??= seededRandom(seedOf(`${session}\u0000${feed.fid}\u0000${e.id}`)))();
    const score = method.evaluate(obj, { nowSeconds, rand, vars: opts.vars }, vars);
    scored.push({ id: idToSortKey(e.id).toString('hex'), activityId: e.id, score, body: e.body, origin: e.origin, vars });
  }
  scored.sort(compareScored);
  const page = scored.slice(range.offset, range.offset + range.limit);
  const texts = await render(page.map((x) => ({ body: x.body, origin: x.origin, id: x.activityId })));
  const results = page.map((x, i) => {
    const base = texts[i];
    const extra = `,"score":${scoreJson(x.score)}` + (x.vars ? `,"score_vars":${JSON.stringify(x.vars)}` : '');
    return base.slice(0, -1) + extra + '}';
  });
  const end = range.offset + range.limit;
  return { results, nextOffset: end < scored.length ? end : null };
}
