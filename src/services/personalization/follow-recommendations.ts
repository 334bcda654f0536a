import type { App } from '../../core/feeds/feed-group.js';
import { readerView } from '../../personalization/serving/reader.js';
import type { Uses } from '../context.js';
import { settingsOf } from '../signals/signal-context.js';
import type { PersonalizationRuntime } from './runtime.js';

/** Followed authors whose own follows are counted (two-hop), at most. */
const TWO_HOP_SOURCES = 50;
/** Follows read per followed author. */
const TWO_HOP_EDGES = 200;

export interface FollowRecommendation {
  readonly user_id: string;
  readonly feed_id: string;
  readonly score: number;
  /** How many authors the reader follows also follow this one, and the co-engagement weight with the reader's recent engagements. */
  readonly reasons: { readonly two_hop: number; readonly co_engagement: number };
}

/**
 * Authors to follow (personalization.md §2.3): ranked by two-hop follows (authors followed by the
 * authors the reader follows) plus author co-engagement (authors of activities engaged together
 * with the reader's recent engagements), leaving out the reader, authors already followed and
 * blocked or muted ones. One read of the reader's follows, one per followed author (at most
 * {@link TWO_HOP_SOURCES}, in parallel), one profile read.
 */
export async function followRecommendations(s: Uses<'follows', 'clock' | 'signalStore' | 'signals'>, runtime: PersonalizationRuntime, app: App, user: string, limit: number): Promise<FollowRecommendation[]> {
  const p = runtime.settingsOf(app.appId);
  const prefix = `${p.authorFeed}:`;
  const [mine, profiles, model] = await Promise.all([
    s.ports.follows.following(app.appId, `${p.followingFeed}:${user}`, 1000, 0),
    s.signalStore.profilesOf(app.appId, [user], ['preference']),
    runtime.modelOf(app.appId),
  ]);
  const followed = new Set(mine.filter((e) => e.target.startsWith(prefix)).map((e) => e.target.slice(prefix.length)));
  const twoHop = new Map<string, number>();
  const sources = [...followed].slice(0, TWO_HOP_SOURCES);
  const edges = await Promise.all(sources.map((a) => s.ports.follows.following(app.appId, `${p.followingFeed}:${a}`, TWO_HOP_EDGES, 0)));
  for (const list of edges) for (const e of list) if (e.target.startsWith(prefix)) twoHop.set(e.target.slice(prefix.length), (twoHop.get(e.target.slice(prefix.length)) ?? 0) + 1);
  const coeng = new Map<string, number>();
  const state = model?.learner.state;
  if (state !== undefined) {
    for (const r of state.recent.get(user) ?? []) {
      for (const [id, w] of state.coeng.get(r.id) ?? []) {
        const author = state.items.get(id)?.author;
        if (author !== undefined) coeng.set(author, (coeng.get(author) ?? 0) + w);
      }
    }
  }
  const view = readerView(profiles.get(user) ?? [], s.clock.now(), settingsOf(s, app.appId));
  const blocked = state?.blocked.get(user);
  const out: FollowRecommendation[] = [];
  for (const author of new Set([...twoHop.keys(), ...coeng.keys()])) {
    if (author === user || followed.has(author) || blocked?.has(author) || (view.preferences.authors.get(author) ?? 0) <= p.blockBelow) continue;
    const t = twoHop.get(author) ?? 0;
    const c = coeng.get(author) ?? 0;
    out.push({ user_id: author, feed_id: `${prefix}${author}`, score: t + c, reasons: { two_hop: t, co_engagement: c } });
  }
  out.sort((a, b) => b.score - a.score || (a.user_id < b.user_id ? -1 : 1));
  return out.slice(0, limit);
}
