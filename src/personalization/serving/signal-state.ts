/**
 * What the learner knows about recent activities and readers (personalization.md §5, §6.2), kept
 * in memory by the process that learns and saved with each model snapshot: per activity its
 * author, time, tags and exposure (impressions, engagements, negatives, a decayed popularity); the
 * tag → activities index of the `interest` selector; co-engagement pairs of the `similar`
 * selector; each reader's last engagements, seen counts and blocked authors. Pure: times are
 * passed in (seconds), nothing reads a clock.
 */
import type { ContentTag } from '../../ports/content-tag-store.js';

export interface ItemEntry {
  readonly author: string;
  /** Activity time, seconds since the epoch. */
  readonly timeS: number;
  tags: ContentTag[];
  impressions: number;
  /** Engagement events (count) and their summed weight. */
  engagements: number;
  engagedWeight: number;
  negatives: number;
  /** Engagement weight decayed with {@link POPULARITY_HALF_LIFE_S}, as of `popS`. */
  pop: number;
  popS: number;
}

/** Half-life of the popularity the `popular` selector sorts by. */
export const POPULARITY_HALF_LIFE_S = 12 * 3600;
/** Engagements per reader kept for co-engagement (the design: the last 20 within 7 days). */
const RECENT_PER_USER = 20;
const RECENT_MAX_AGE_S = 7 * 86_400;
/** Neighbours kept per activity. */
const COENG_PER_ITEM = 50;
/** Newest activities an `explore` request looks through. */
const EXPLORE_SCAN = 2000;

export interface Scored {
  readonly id: string;
  readonly score: number;
}

export class SignalState {
  readonly items = new Map<string, ItemEntry>();
  /** Activity ids in the order they became known (roughly by time), for the time-bounded scans. */
  #order: string[] = [];
  readonly #byTag = new Map<string, string[]>();
  readonly coeng = new Map<string, Map<string, number>>();
  readonly recent = new Map<string, { id: string; tS: number }[]>();
  readonly seen = new Map<string, Map<string, number>>();
  readonly blocked = new Map<string, Set<string>>();
  #popular: { atS: number; changes: number; list: Scored[] } | null = null;
  #explore: { atS: number; changes: number; list: (Scored & { timeS: number })[] } | null = null;
  #changes = 0;

  /** Records (or refreshes) an activity's facts. */
  noteItem(id: string, author: string, timeS: number, tags: readonly ContentTag[]): ItemEntry {
    let e = this.items.get(id);
    if (e === undefined) {
      e = { author, timeS, tags: [...tags], impressions: 0, engagements: 0, engagedWeight: 0, negatives: 0, pop: 0, popS: timeS };
      this.items.set(id, e);
      this.#order.push(id);
      for (const t of tags) this.#index(t.tag, id);
    } else if (tags.length > 0 && !sameTags(e.tags, tags)) {
      for (const t of tags) if (!e.tags.some((x) => x.tag === t.tag)) this.#index(t.tag, id);
      e.tags = [...tags];
    }
    this.#changes++;
    return e;
  }

  #index(tag: string, id: string): void {
    const list = this.#byTag.get(tag);
    if (list === undefined) this.#byTag.set(tag, [id]);
    else list.push(id);
  }

  impression(user: string, id: string): void {
    const e = this.items.get(id);
    if (e !== undefined) e.impressions++;
    let m = this.seen.get(user);
    if (m === undefined) this.seen.set(user, (m = new Map()));
    m.set(id, (m.get(id) ?? 0) + 1);
    this.#changes++;
  }

  /** An engagement: exposure, popularity, co-engagement with the reader's last engagements. */
  engage(user: string, id: string, weight: number, tS: number): void {
    const e = this.items.get(id);
    if (e === undefined) return;
    e.engagements++;
    e.engagedWeight += weight;
    e.pop = e.pop * Math.pow(0.5, Math.max(0, tS - e.popS) / POPULARITY_HALF_LIFE_S) + weight;
    e.popS = Math.max(e.popS, tS);
    let list = this.recent.get(user);
    if (list === undefined) this.recent.set(user, (list = []));
    for (const r of list) {
      if (r.id === id || tS - r.tS > RECENT_MAX_AGE_S) continue;
      const other = this.items.get(r.id);
      if (other === undefined) continue;
      // Popularity-normalised, so that two blockbusters are not each other's neighbour by default.
      const w = 1 / Math.sqrt((1 + e.engagements) * (1 + other.engagements));
      this.#pair(id, r.id, w);
      this.#pair(r.id, id, w);
    }
    const at = list.findIndex((r) => r.id === id);
    if (at >= 0) list.splice(at, 1);
    list.push({ id, tS });
    if (list.length > RECENT_PER_USER) list.shift();
    this.#changes++;
  }

  #pair(a: string, b: string, w: number): void {
    let m = this.coeng.get(a);
    if (m === undefined) this.coeng.set(a, (m = new Map()));
    m.set(b, (m.get(b) ?? 0) + w);
    if (m.size > COENG_PER_ITEM * 2) {
      const keep = [...m].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, COENG_PER_ITEM);
      this.coeng.set(a, new Map(keep));
    }
  }

  negative(user: string, id: string, label: string): void {
    const e = this.items.get(id);
    if (e === undefined) return;
    e.negatives++;
    if (label === 'block' || label === 'mute') {
      let b = this.blocked.get(user);
      if (b === undefined) this.blocked.set(user, (b = new Set()));
      b.add(e.author);
    }
    this.#changes++;
  }

  seenCount(user: string, id: string): number {
    return this.seen.get(user)?.get(id) ?? 0;
  }

  /** Divisiveness of an item: its smoothed negative share once it has `minRaters` raters, else 0. */
  divisiveness(id: string, minRaters: number): number {
    return divisivenessOf(this.items.get(id), minRaters);
  }

  /** Forgets activities older than `horizonS` at `nowS`, and what refers to them. */
  prune(nowS: number, horizonS: number): void {
    const cutoff = nowS - horizonS;
    const gone = new Set<string>();
    for (const [id, e] of this.items) if (e.timeS < cutoff) gone.add(id);
    if (gone.size === 0) return;
    for (const id of gone) {
      this.items.delete(id);
      this.coeng.delete(id);
    }
    this.#order = this.#order.filter((id) => !gone.has(id));
    for (const [tag, list] of this.#byTag) {
      const kept = list.filter((id) => !gone.has(id));
      if (kept.length === 0) this.#byTag.delete(tag);
      else this.#byTag.set(tag, kept);
    }
    for (const m of this.coeng.values()) for (const id of m.keys()) if (gone.has(id)) m.delete(id);
    for (const [user, m] of this.seen) {
      for (const id of m.keys()) if (gone.has(id)) m.delete(id);
      if (m.size === 0) this.seen.delete(user);
    }
    for (const [user, list] of this.recent) {
      const kept = list.filter((r) => !gone.has(r.id));
      if (kept.length === 0) this.recent.delete(user);
      else this.recent.set(user, kept);
    }
    this.#changes++;
  }

  /**
   * The most popular activities younger than `windowS`, by decayed engagement, with at least
   * `minPopularity` engagements. The sorted list is reused for a few seconds while nothing changed much.
   */
  popular(nowS: number, windowS: number, max: number, minPopularity: number): Scored[] {
    const p = this.#popular;
    if (p === null || nowS - p.atS > 5 || nowS < p.atS || (this.#changes !== p.changes && nowS - p.atS >= 1)) {
      const list: Scored[] = [];
      for (const [id, e] of this.items) {
        if (e.engagements === 0) continue;
        list.push({ id, score: e.pop * Math.pow(0.5, Math.max(0, nowS - e.popS) / POPULARITY_HALF_LIFE_S) });
      }
      list.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
      this.#popular = { atS: nowS, changes: this.#changes, list };
    }
    const out: Scored[] = [];
    const cutoff = nowS - windowS;
    for (const x of this.#popular!.list) {
      const e = this.items.get(x.id);
      if (e === undefined || e.timeS < cutoff || e.timeS > nowS || e.engagements < minPopularity) continue;
      out.push(x);
      if (out.length >= max) break;
    }
    return out;
  }

  /** The newest activities younger than `windowS` carrying any of `tags` (weights: the reader's interest in the tag). */
  byTags(tags: ReadonlyMap<string, number>, nowS: number, windowS: number, max: number): Scored[] {
    const score = new Map<string, number>();
    const cutoff = nowS - windowS;
    for (const [tag, w] of tags) {
      if (w <= 0) continue;
      const list = this.#byTag.get(tag);
      if (list === undefined) continue;
      let taken = 0;
      for (let i = list.length - 1; i >= 0 && taken < max; i--) {
        const e = this.items.get(list[i]);
        if (e === undefined || e.timeS > nowS) continue;
        if (e.timeS < cutoff) continue;
        score.set(list[i], (score.get(list[i]) ?? 0) + w);
        taken++;
      }
    }
    return top(score, max, this.items);
  }

  /** Neighbours of the reader's recent engagements by co-engagement, younger than `windowS`. */
  similar(user: string, nowS: number, windowS: number, max: number): Scored[] {
    const score = new Map<string, number>();
    const cutoff = nowS - windowS;
    for (const r of this.recent.get(user) ?? []) {
      for (const [id, w] of this.coeng.get(r.id) ?? []) {
        const e = this.items.get(id);
        if (e === undefined || e.timeS < cutoff || e.timeS > nowS) continue;
        score.set(id, (score.get(id) ?? 0) + w);
      }
    }
    return top(score, max, this.items);
  }

  /**
   * Under-exposed recent activities (fewest impressions first), for exploration. The newest
   * activities are sorted at most once a second while things change (every few seconds otherwise).
   */
  explore(nowS: number, windowS: number, max: number): Scored[] {
    const x = this.#explore;
    if (x === null || nowS - x.atS > 5 || nowS < x.atS || (this.#changes !== x.changes && nowS - x.atS >= 1)) {
      const pool: (Scored & { timeS: number })[] = [];
      for (let i = this.#order.length - 1, seen = 0; i >= 0 && seen < EXPLORE_SCAN; i--, seen++) {
        const e = this.items.get(this.#order[i]);
        if (e === undefined) continue;
        pool.push({ id: this.#order[i], score: -e.impressions, timeS: e.timeS });
      }
      pool.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
      this.#explore = { atS: nowS, changes: this.#changes, list: pool };
    }
    const out: Scored[] = [];
    const cutoff = nowS - windowS;
    for (const e of this.#explore!.list) {
      if (e.timeS < cutoff || e.timeS > nowS) continue;
      out.push({ id: e.id, score: e.score });
      if (out.length >= max) break;
    }
    return out;
  }

  /** Plain data for a snapshot. */
  toJSON(): SignalStateData {
    return {
      items: [...this.items].map(([id, e]) => [id, e]),
      order: this.#order,
      coeng: [...this.coeng].map(([id, m]) => [id, [...m]]),
      recent: [...this.recent],
      seen: [...this.seen].map(([u, m]) => [u, [...m]]),
      blocked: [...this.blocked].map(([u, s]) => [u, [...s]]),
    };
  }

  static fromJSON(d: SignalStateData): SignalState {
    const s = new SignalState();
    for (const [id, e] of d.items) s.items.set(id, { ...e, tags: [...e.tags] });
    s.#order = d.order.filter((id) => s.items.has(id));
    for (const id of s.#order) for (const t of s.items.get(id)!.tags) s.#index(t.tag, id);
    for (const [id, pairs] of d.coeng) s.coeng.set(id, new Map(pairs));
    for (const [u, list] of d.recent) s.recent.set(u, list.map((r) => ({ ...r })));
    for (const [u, pairs] of d.seen) s.seen.set(u, new Map(pairs));
    for (const [u, list] of d.blocked) s.blocked.set(u, new Set(list));
    return s;
  }
}

export interface SignalStateData {
  readonly items: [string, ItemEntry][];
  readonly order: string[];
  readonly coeng: [string, [string, number][]][];
  readonly recent: [string, { id: string; tS: number }[]][];
  readonly seen: [string, [string, number][]][];
  readonly blocked: [string, string[]][];
}

/** {@link SignalState.divisiveness} of an item's entry (0 for none). */
export function divisivenessOf(e: ItemEntry | undefined, minRaters: number): number {
  if (e === undefined) return 0;
  const raters = e.engagements + e.negatives;
  return raters >= minRaters ? e.negatives / (raters + 2) : 0;
}

function sameTags(a: readonly ContentTag[], b: readonly ContentTag[]): boolean {
  return a.length === b.length && a.every((t, i) => t.tag === b[i].tag && t.weight === b[i].weight);
}

/**
 * The `max` best of `score`, newest first among equals. Sorted as positions into parallel arrays
 * of ids, scores and times (each item's time looked up once, not in every comparison); only the
 * `max` returned become objects.
 */
function top(score: Map<string, number>, max: number, items: ReadonlyMap<string, ItemEntry>): Scored[] {
  const n = score.size;
  const ids: string[] = new Array(n);
  const scores = new Float64Array(n);
  const times = new Float64Array(n);
  const order: number[] = new Array(n);
  let k = 0;
  for (const [id, s] of score) {
    ids[k] = id;
    scores[k] = s;
    times[k] = items.get(id)!.timeS;
    order[k] = k;
    k++;
  }
  order.sort((a, b) => scores[b] - scores[a] || times[b] - times[a] || (ids[a] < ids[b] ? -1 : 1));
  const out: Scored[] = new Array(Math.max(0, Math.min(max, n)));
  for (let i = 0; i < out.length; i++) out[i] = { id: ids[order[i]], score: scores[order[i]] };
  return out;
}
