import { parseBody } from '../../core/activities/activity.js';
import type { ItemFacts, PairSignals } from '../../personalization/model/features.js';
import { Learner } from '../../personalization/serving/learner.js';
import { pairSignals, readerView, type ReaderView } from '../../personalization/serving/reader.js';
import { DEFAULT_PERSONALIZED, type PersonalizedSettings } from '../../personalization/serving/settings.js';
import { authorKey } from '../../personalization/signals/interest.js';
import type { ContentTag } from '../../ports/content-tag-store.js';
import type { ModelStore } from '../../ports/model-store.js';
import type { ProfileWeight } from '../../ports/profile-store.js';
import type { Services, Uses } from '../context.js';
import { settingsOf } from '../signals/signal-context.js';
import { ChangeCache } from '../change-cache.js';
import { PageCache } from './page-cache.js';

/** What the learner uses (events, profiles and tags from the signal store; activities; follows). */
export type LearnerDeps = Uses<'activities' | 'follows', 'clock' | 'signalStore' | 'signals'>;

/** Events read per learner round and app. */
export const EVENT_BATCH = 2000;
/** A process that does not learn looks for a newer snapshot this often (ms). */
const POLL_MS = 3000;
/** A process that does not learn reads the log after its model at most this often (ms). */
const FOLLOW_MS = 200;
/** Items older than the horizon are pruned this often (µs). */
const PRUNE_EVERY_US = 60_000_000;

/** Budget of the readers' feeds and profiles kept between reads (ids, origins and follow answers; about 40 kB per reader of 300 entries). */
const READER_FEEDS_BYTES = 32 << 20;

/**
 * What a personalized read takes from the reader's feed, kept per reader until a write changes
 * it: the feed's newest entries (ids and origins; bodies come from the parts cache when a page
 * shows them) and, filled in as reads ask, whether the reader follows a candidate's author. Its
 * change keys are the feed's (entries, hides and the feeds it follows), those of the feeds merged
 * into it and of the entries' activities.
 */
export interface ReaderFeed {
  readonly entries: readonly { readonly id: string; readonly origin: string | null }[];
  /** Author → whether the reader's feed follows the author's feed. */
  readonly follows: Map<string, boolean>;
}

/**
 * A reader's stored profile weights as personalized reads take them (decayed to the read's time
 * by each read), kept until a write changes that reader's profile (its `profile` change key).
 */
export interface ReaderProfile {
  readonly weights: readonly ProfileWeight[];
}

/** What the cache of readers' state keeps: feeds and profiles, in spaces of their own. */
export type ReaderState = ReaderFeed | ReaderProfile;

/** Roughly: an entry's id, origin and object, and an author's answer; a profile weight's fields. */
function readerStateSize(f: ReaderState): number {
  return 'weights' in f ? f.weights.length * 120 + 64 : f.entries.length * 120 + f.follows.size * 80 + 64;
}

/** Activities' home feeds remembered (a few MB at most); forgotten all at once beyond this many. */
const HOMES_MAX = 100_000;

/**
 * The home feed of activities personalized reads have shown (an activity's home is the feed it
 * was first written to and never changes), so a page's candidates from outside the reader's feed
 * take their bodies from the parts cache like the others instead of a read of the activities.
 */
export class ActivityHomes {
  readonly #homes = new Map<string, string>();
  get(appId: string, id: string): string | undefined {
    return this.#homes.get(`${appId}\u0000${id}`);
  }
  set(appId: string, id: string, home: string): void {
    if (this.#homes.size >= HOMES_MAX) this.#homes.clear();
    this.#homes.set(`${appId}\u0000${id}`, home);
  }
}

/** One app's model as reads see it. */
interface AppModel {
  learner: Learner | null;
  /** The snapshot version it was loaded from (or last saved as), null when none. */
  snapshot: number | null;
  loading: Promise<void> | null;
  checkedMs: number;
  /** Reading process only: its model is learning the log after the snapshot (see {@link PersonalizationRuntime.modelOf}). */
  following: Promise<void> | null;
  followedMs: number;
  /** Learning process only: updates and time at the last snapshot. */
  savedUpdates: number;
  savedSeq: number;
  savedUs: number;
  prunedUs: number;
}

/** A new activity the content job tagged: the learner's item index takes it in. */
export interface TaggedItem {
  readonly id: string;
  readonly author: string | null;
  readonly timeUs: number;
  readonly tags: readonly ContentTag[];
}

/**
 * The personalization model of each app in this process (personalization.md §6.2): in the
 * process that runs the signal worker it is the learner itself, stepped by {@link step} off the
 * request path, reading the event log in `seq` order, with snapshots saved through the
 * {@link ModelStore} every N updates or T seconds; a restart loads the newest snapshot and replays
 * the log after it. Processes that only serve reads load the newest snapshot, look for a newer one
 * every few seconds, and in between learn the log after it themselves (as the learner does, without
 * saving), so an engagement reaches their reads before the next snapshot does.
 */
export class PersonalizationRuntime {
  readonly #apps = new Map<string, AppModel>();
  /** Ranked lists of recent reads, for stable pages. */
  readonly pages = new PageCache();
  /** Home feeds of the activities pages have shown. */
  readonly homes = new ActivityHomes();
  /** Readers' feeds as candidates come from them and readers' profiles (see `readerFeed`, `readerProfile`), kept until a write changes them; made on first use. */
  #readerFeeds: ChangeCache<ReaderState> | null | undefined;
  readonly #settings: ReadonlyMap<string, PersonalizedSettings>;
  readonly #now: () => number;
  /** True in the process that learns (see {@link becomeLearner}). */
  #learning = false;

  constructor(
    settings: ReadonlyMap<string, PersonalizedSettings>,
    /** Where snapshots go; null: nowhere (a restart learns from the log again). */
    readonly models: ModelStore | null,
    /** Wall-clock milliseconds, for polling only (never in what is computed). */
    now: () => number = Date.now,
  ) {
    this.#settings = settings;
    this.#now = now;
  }

  settingsOf(appId: string): PersonalizedSettings {
    return this.#settings.get(appId) ?? DEFAULT_PERSONALIZED;
  }

  /**
   * The cache of readers' feeds and profiles (see {@link ReaderFeed}, {@link ReaderProfile}) over
   * the store's change marks; null over a store without them (each read then reads both).
   */
  readerFeeds(s: Pick<Services, 'changes' | 'changeMark'>): ChangeCache<ReaderState> | null {
    if (this.#readerFeeds === undefined) {
      this.#readerFeeds = s.changes === undefined ? null : new ChangeCache<ReaderState>(READER_FEEDS_BYTES, s.changeMark ?? null, s.changes, readerStateSize);
    }
    return this.#readerFeeds;
  }

  /** This process learns: it builds models from the log instead of loading others' snapshots. */
  becomeLearner(): void {
    this.#learning = true;
  }

  get learning(): boolean {
    return this.#learning;
  }

  #app(appId: string): AppModel {
    let a = this.#apps.get(appId);
    if (a === undefined) {
      a = { learner: null, snapshot: null, loading: null, checkedMs: -Infinity, following: null, followedMs: -Infinity, savedUpdates: 0, savedSeq: 0, savedUs: 0, prunedUs: 0 };
      this.#apps.set(appId, a);
    }
    return a;
  }

  /**
   * The app's learner as reads use it, or null when there is no model yet. A reading process
   * loads the newest snapshot on first use and looks for newer ones now and then (without waiting);
   * given `s`, it also starts learning the log after its model when it has not for a moment
   * (without waiting: this read uses the model as it is, the next ones the model that learned).
   */
  async modelOf(appId: string, s?: LearnerDeps): Promise<{ learner: Learner; version: string } | null> {
    const a = this.#app(appId);
    if (this.#learning) {
      if (a.learner === null && a.loading === null) a.loading = this.#load(appId, a);
      if (a.loading !== null) await a.loading;
    } else if (a.learner === null) {
      if (this.#now() - a.checkedMs > POLL_MS || a.loading !== null) {
        a.loading ??= this.#poll(appId, a);
        await a.loading;
      }
    } else if (this.#now() - a.checkedMs > POLL_MS && a.loading === null) {
      a.loading = this.#poll(appId, a);
    }
    if (a.learner === null) return null;
    if (!this.#learning && s !== undefined && a.loading === null && a.following === null && this.#now() - a.followedMs >= FOLLOW_MS) {
      a.following = this.#follow(s, appId, a);
    }
    return { learner: a.learner, version: `lr-${a.learner.seq}-${a.learner.model.updates}` };
  }

  /**
   * A reading process's model learns the events logged after it as the learning process's does
   * (join windows close by this process's clock and features read the profiles as of this round,
   * so the two may differ slightly); a newer snapshot replaces it when one appears. A failed round
   * leaves the model as it was; a later read starts another.
   */
  async #follow(s: LearnerDeps, appId: string, a: AppModel): Promise<void> {
    a.followedMs = this.#now();
    const l = a.learner;
    try {
      if (l === null) return;
      const events = await s.signalStore.readEvents(appId, l.seq, EVENT_BATCH);
      // A snapshot loaded meanwhile replaces this model; its own rounds start from the snapshot.
      if (a.learner !== l) return;
      if (events.length > 0) await this.#learn(s, appId, l, events);
      if (a.learner !== l) return;
      l.expire(s.clock.now());
      // A full batch leaves more to learn: the next read starts another round at once.
      if (events.length === EVENT_BATCH) a.followedMs = -Infinity;
    } catch {
      // Reads go on with the model as it is; a later read tries again.
    } finally {
      a.following = null;
    }
  }


  async #poll(appId: string, a: AppModel): Promise<void> {
    try {
      a.checkedMs = this.#now();
      if (this.models === null) return;
      const v = await this.models.latestVersion(appId);
      if (v === null || v === a.snapshot) return;
      const snap = await this.models.latestSnapshot(appId);
      if (snap === null) return;
      a.learner = Learner.restore(snap.model, snap.state);
      a.snapshot = snap.version;
    } finally {
      a.loading = null;
    }
  }

  async #load(appId: string, a: AppModel): Promise<void> {
    try {
      const snap = this.models === null ? null : await this.models.latestSnapshot(appId);
      const l = this.settingsOf(appId).learning;
      if (snap !== null) {
        a.learner = Learner.restore(snap.model, snap.state);
        a.snapshot = snap.version;
        a.savedUpdates = a.learner.model.updates;
        a.savedSeq = a.learner.seq;
      } else {
        a.learner = Learner.create(l.head, l.joinWindowS);
      }
    } finally {
      a.loading = null;
    }
  }

  /** Takes a newly tagged activity into the item index (learning process only). */
  async noteTagged(appId: string, items: readonly TaggedItem[]): Promise<void> {
    if (!this.#learning || items.length === 0) return;
    const m = await this.modelOf(appId);
    if (m === null) return;
    for (const it of items) if (it.author !== null) m.learner.state.noteItem(it.id, it.author, it.timeUs / 1e6, it.tags);
  }

  /**
   * One learner round over every app: the next events of each app's log, learned in order; join
   * windows closed; snapshots when due. Returns the number of events read (0: caught up).
   */
  async step(s: LearnerDeps, apps: readonly string[], opts: { snapshot?: 'due' | 'now' } = {}): Promise<number> {
    if (!this.#learning) return 0;
    let total = 0;
    for (const appId of apps) {
      const m = await this.modelOf(appId);
      if (m === null) continue;
      const a = this.#app(appId);
      const l = m.learner;
      const events = await s.signalStore.readEvents(appId, l.seq, EVENT_BATCH);
      total += events.length;
      if (events.length > 0) await this.#learn(s, appId, l, events);
      const nowUs = s.clock.now();
      l.expire(nowUs);
      const settings = this.settingsOf(appId).learning;
      if (nowUs - a.prunedUs > PRUNE_EVERY_US) {
        a.prunedUs = nowUs;
        l.state.prune(nowUs / 1e6, settings.itemHorizonS);
      }
      const changed = l.model.updates !== a.savedUpdates || l.seq !== a.savedSeq;
      const due = l.model.updates - a.savedUpdates >= settings.snapshotEveryUpdates || nowUs - a.savedUs >= settings.snapshotEveryS * 1e6;
      if (changed && (opts.snapshot === 'now' || due)) {
        await this.#save(appId, a, l, nowUs, settings.keepSnapshots);
      }
    }
    return total;
  }

  async #save(appId: string, a: AppModel, l: Learner, nowUs: number, keep: number): Promise<void> {
    if (this.models === null) return;
    const version = await this.models.saveSnapshot(appId, { seq: l.seq, updates: l.model.updates, createdUs: nowUs, model: l.model.snapshot(), state: l.stateBytes() }, keep);
    a.snapshot = version;
    a.savedUpdates = l.model.updates;
    a.savedSeq = l.seq;
    a.savedUs = nowUs;
  }

  async #learn(s: LearnerDeps, appId: string, l: Learner, events: Awaited<ReturnType<Services['signalStore']['readEvents']>>): Promise<void> {
    const ids = [...new Set(events.map((e) => e.activity).filter((x): x is string => x !== null))];
    // Two batch reads for the activities (their author and time) and their current tags.
    const unknown = ids.filter((id) => !l.state.items.has(id));
    const [acts, tags] = await Promise.all([unknown.length > 0 ? s.ports.activities.getActivities(appId, unknown) : new Map(), s.signalStore.tagsOf(appId, ids)]);
    const facts = new Map<string, ItemFacts>();
    for (const id of ids) {
      const known = l.state.items.get(id);
      const t = tags.get(id) ?? known?.tags ?? [];
      if (known !== undefined) {
        facts.set(id, { author: known.author, timeS: known.timeS, tags: t });
        continue;
      }
      const act = acts.get(id);
      if (act === undefined) continue;
      const author = authorKey(parseBody(act.body).actor);
      if (author === null) continue;
      facts.set(id, { author, timeS: act.timeUs / 1e6, tags: t });
    }
    // The readers of this batch: one profile read, and per reader one read of which authors they follow.
    const settings = this.settingsOf(appId);
    const signalSettings = settingsOf(s, appId);
    const byUser = new Map<string, Set<string>>();
    for (const e of events) {
      if (e.activity === null || e.kind === 'stated') continue;
      const f = facts.get(e.activity);
      if (f === undefined) continue;
      let set = byUser.get(e.user);
      if (set === undefined) byUser.set(e.user, (set = new Set()));
      set.add(f.author);
    }
    const users = [...byUser.keys()];
    const nowUs = s.clock.now();
    const [profiles, follows] = await Promise.all([
      users.length > 0 ? s.signalStore.profilesOf(appId, users, ['computed', 'manual', 'preference']) : new Map(),
      followedAuthors(s, appId, settings, byUser),
    ]);
    const views = new Map<string, ReaderView>();
    const signals = (user: string, activity: string): PairSignals => {
      let v = views.get(user);
      if (v === undefined) views.set(user, (v = readerView(profiles.get(user) ?? [], nowUs, signalSettings)));
      const f = facts.get(activity)!;
      return pairSignals(v, f.tags, f.author, follows.get(user)?.has(f.author) ?? false, l.state.items.get(activity));
    };
    l.observe(events, facts, signals);
  }
}

/**
 * For each reader, which of the given authors they follow: the reader's following feed (the
 * personalized group, `timeline` by default) following the author's `user` feed. One call for
 * every pair where the store answers pairs, else one call per reader.
 */
export async function followedAuthors(s: Uses<'follows'>, appId: string, p: PersonalizedSettings, byUser: ReadonlyMap<string, ReadonlySet<string>>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const follows = s.ports.follows;
  if (follows.edgesAmong !== undefined) {
    const pairs: [string, string][] = [];
    const of: [string, string][] = [];
    for (const [user, authors] of byUser) {
      for (const a of authors) {
        pairs.push([`${p.followingFeed}:${user}`, `${p.authorFeed}:${a}`]);
        of.push([user, a]);
      }
      if (authors.size > 0) out.set(user, new Set());
    }
    if (pairs.length === 0) return out;
    const edges = await follows.edgesAmong(appId, pairs);
    for (let i = 0; i < edges.length; i++) if (edges[i]) out.get(of[i][0])!.add(of[i][1]);
    return out;
  }
  await Promise.all(
    [...byUser].map(async ([user, authors]) => {
      if (authors.size === 0) return;
      const feeds = [...authors].map((a) => `${p.authorFeed}:${a}`);
      const edges = await follows.following(appId, `${p.followingFeed}:${user}`, feeds.length, 0, feeds);
      out.set(user, new Set(edges.map((e) => e.target.slice(e.target.indexOf(':') + 1))));
    }),
  );
  return out;
}
