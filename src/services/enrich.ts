import { withOrigin } from '../core/activities/activity.js';
import { isUuid } from '../core/activities/activity-id.js';
import type { App } from '../core/feeds/feed-group.js';
import { formatTimestamp } from '../core/time.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { EntryRecord } from '../ports/collection-store.js';
import type { ReactionRecord } from '../ports/reaction-store.js';
import type { UserRecord } from '../ports/user-store.js';
import type { Uses } from './context.js';
import { reactionsWithoutFlagged } from './moderation.js';
import { changeKey } from '../ports/change-marks.js';
import type { ChangeCache } from './change-cache.js';
import { isKeptBody } from './read-parts.js';
import { userRecords, type UserPartsDeps } from './user-parts.js';

/** What enrichment uses: activities, referenced users and collection entries, reactions, flags. */
export type EnrichDeps = Uses<'activities' | 'collections' | 'reactions' | 'users', 'flags' | 'hideFlagged' | 'parts' | 'readDeps'>;

/** Reactions listed per kind in `latest_reactions` by default, and the most one may ask for (§9.2). */
export const DEFAULT_RECENT_LIMIT = 5;
export const MAX_RECENT_LIMIT = 25;
/** `own_reactions` and `own_children` per kind; `latest_children` per reaction across kinds (§20.3). */
export const OWN_PER_KIND = 5;
export const LATEST_CHILDREN = 10;
/** Reactions nest at most three levels (§4.4). */
export const MAX_REACTION_DEPTH = 3;

/** What an enriched read adds (§9). */
export interface EnrichOptions {
  /** Replace `SU:`/`SO:`/`SA:`/`SR:` references (the `enrich/` endpoints). */
  readonly references: boolean;
  readonly ownReactions: boolean;
  readonly recentReactions: boolean;
  readonly reactionCounts: boolean;
  readonly ownChildren: boolean;
  readonly recentLimit: number;
  /** Restrict reaction data to these kinds. */
  readonly kinds?: readonly string[];
  /** The user whose `own_*` data is computed. */
  readonly userId?: string;
  /** Absolute `…/api/v1.0/` base for `latest_reactions_extra` next links. */
  readonly apiBase: string;
}

export function wantsEnrichment(o: EnrichOptions): boolean {
  return o.references || o.ownReactions || o.recentReactions || o.reactionCounts || o.ownChildren;
}

type Json = Record<string, unknown>;

/** Not-found forms of references (§9.1). */
function notFound(kind: 'user' | 'object' | 'activity' | 'reaction', ref: string, id: string, collection?: string): Json {
  const out: Json = {};
  if (collection !== undefined) out.collection = collection;
  out.id = id;
  out.error = 'ReferenceNotFound';
  out.reference = ref;
  out.reference_type = kind;
  return out;
}

/**
 * `compute` kept per key and shared between reads: the same key always gives the same text.
 * Keys longer than `maxKey` characters are computed each time; the table is emptied when full.
 */
function keptTexts<K extends string | number>(maxEntries: number, maxKey: number, compute: (key: K) => string): (key: K) => string {
  const kept = new Map<K, string>();
  return (key) => {
    let t = kept.get(key);
    if (t === undefined) {
      t = compute(key);
      if (typeof key === 'string' && key.length > maxKey) return t;
      if (kept.size >= maxEntries) kept.clear();
      kept.set(key, t);
    }
    return t;
  };
}

/**
 * Stored data texts (of users, collection objects, reactions) as a page shows them: the text
 * `JSON.stringify(JSON.parse(text))` gives, which is the stored text itself when it was written
 * serialized (as the stores write it); then that one string is kept, not two. Short texts only.
 */
const dataJson = keptTexts<string>(20_000, 4096, (text) => {
  const t = JSON.stringify(JSON.parse(text)) as string;
  return t === text ? text : t;
});

/** Times as JSON strings (`formatTimestamp`, quoted): users' and reactions' times recur on many pages. */
const timeJson = keptTexts<number>(20_000, Infinity, (us) => JSON.stringify(formatTimestamp(us)));

/**
 * Strings as JSON (`JSON.stringify(s)`): ids, kinds and names recur on many pages, and a look-up
 * costs less than a call of `JSON.stringify`.
 */
const quote = keptTexts<string>(50_000, 256, (s) => JSON.stringify(s));

/** Counts per kind as JSON (`{}` without a call of `JSON.stringify`). */
function countsJson(c: Record<string, number>): string {
  for (const _ in c) return JSON.stringify(c);
  return '{}';
}

/** A user as the API shows it (`{"id","data","created_at","updated_at"}`), as JSON text. */
function userJson(u: UserRecord): string {
  return '{"id":' + quote(u.id) + ',"data":' + dataJson(u.data) + ',"created_at":' + timeJson(u.createdUs) + ',"updated_at":' + timeJson(u.updatedUs) + '}';
}

/** A collection object as the API shows it, as JSON text. */
function entryJson(e: EntryRecord): string {
  return (
    '{"id":' + quote(e.id) + ',"collection":' + quote(e.collection) + ',"foreign_id":' + quote(`${e.collection}:${e.id}`) +
    ',"data":' + dataJson(e.data) + ',"created_at":' + timeJson(e.createdUs) + ',"updated_at":' + timeJson(e.updatedUs) + '}'
  );
}

/**
 * An object whose values are JSON texts, as JSON text: its keys in the object's own order (the
 * order `JSON.stringify` would give the object of the parsed values: integer keys first).
 */
function objectJson(o: Record<string, string>): string {
  let out = '{';
  let first = true;
  for (const k of Object.keys(o)) {
    out += (first ? '' : ',') + quote(k) + ':' + o[k];
    first = false;
  }
  return out + '}';
}

/** Texts grouped per kind (`{"like":[…],…}`), as JSON text. */
function kindsJson(byKind: Record<string, string[]>): string {
  let out = '{';
  let first = true;
  for (const k of Object.keys(byKind)) {
    out += (first ? '' : ',') + quote(k) + ':[' + byKind[k].join(',') + ']';
    first = false;
  }
  return out + '}';
}

type Ref =
  | { kind: 'user'; id: string }
  | { kind: 'object'; collection: string; id: string }
  | { kind: 'activity'; id: string }
  | { kind: 'reaction'; id: string };

/** Recognizes a reference string; `null` when the value is not one. */
export function parseRef(v: unknown): Ref | null {
  if (typeof v !== 'string' || v.length < 4 || v[0] !== 'S' || v[2] !== ':') return null;
  const rest = v.slice(3);
  if (rest === '') return null;
  switch (v[1]) {
    case 'U':
      return { kind: 'user', id: rest };
    case 'O': {
      const i = rest.indexOf(':');
      return i > 0 && i < rest.length - 1 ? { kind: 'object', collection: rest.slice(0, i), id: rest.slice(i + 1) } : null;
    }
    case 'A':
      return { kind: 'activity', id: rest };
    case 'R':
      return { kind: 'reaction', id: rest };
    default:
      return null;
  }
}

/** Whether counts per kind count some reaction (children not deleted, for a reaction's counts). */
function hasSome(counts: Record<string, number> | undefined): boolean {
  if (counts !== undefined) for (const k in counts) if (counts[k] > 0) return true;
  return false;
}

/**
 * Everything loaded for rendering reactions: each level of children is one batch, so a page
 * costs the same number of store calls whatever its size.
 */
export class ReactionGraph {
  readonly children = new Map<string, ReactionRecord[]>();
  readonly childCounts = new Map<string, Record<string, number>>();
  readonly ownChildren = new Map<string, ReactionRecord[]>();
  readonly users = new Map<string, UserRecord>();

  constructor(
    readonly withOwnChildren: boolean,
    readonly userId: string | undefined,
  ) {}

  /**
   * Loads children, child counts (and own children) below `roots`, level by level down to the
   * deepest possible level: at most three batches per level.
   */
  async load(s: Uses<'reactions'>, app: App, roots: readonly ReactionRecord[]): Promise<void> {
    // Asked-for `own_children` shows on every rendered reaction, `{}` on leaves (level 3) too.
    let level = roots.filter((r) => r.depth < MAX_REACTION_DEPTH);
    const seen = new Set<string>();
    while (level.length > 0) {
      const ids = [...new Set(level.map((r) => r.id))].filter((id) => !seen.has(id));
      if (ids.length === 0) break;
      ids.forEach((id) => seen.add(id));
      // Counts first: children are read only below reactions that have some (most have none).
      const counts = await s.ports.reactions.reactionCounts(app.appId, ids, 'reaction');
      const parents = ids.filter((id) => hasSome(counts.get(id)));
      const [latest, own] =
        parents.length === 0
          ? [[], []]
          : await Promise.all([
              s.ports.reactions.latestReactions(app.appId, { owners: parents, of: 'reaction', perOwner: LATEST_CHILDREN }),
              this.withOwnChildren && this.userId
                ? s.ports.reactions.latestReactions(app.appId, { owners: parents, of: 'reaction', userId: this.userId, perKind: OWN_PER_KIND })
                : Promise.resolve([]),
            ]);
      for (const id of ids) {
        this.children.set(id, []);
        this.childCounts.set(id, counts.get(id) ?? {});
        if (this.withOwnChildren) this.ownChildren.set(id, []);
      }
      for (const c of latest) this.children.get(c.parent)?.push(c);
      for (const c of own) this.ownChildren.get(c.parent)?.push(c);
      level = [...latest, ...own].filter((r) => r.depth < MAX_REACTION_DEPTH);
    }
  }

  /** Every reaction known to the graph (for loading their users in one batch). */
  all(roots: readonly ReactionRecord[]): ReactionRecord[] {
    const out = [...roots];
    for (const list of this.children.values()) out.push(...list);
    for (const list of this.ownChildren.values()) out.push(...list);
    return out;
  }

  /** The users of `reactions` (and `extra`) not yet known, in one batch through the parts cache. */
  async loadUsers(s: UserPartsDeps, app: App, reactions: readonly ReactionRecord[], extra: Iterable<string> = []): Promise<void> {
    const ids = new Set<string>(extra);
    for (const r of reactions) ids.add(r.userId);
    for (const id of this.users.keys()) ids.delete(id);
    if (ids.size === 0) return;
    for (const [id, u] of await userRecords(s, app.appId, [...ids])) this.users.set(id, u);
  }

  readonly #userTexts = new Map<string, string>();

  /** The user (or not-found form) of `id` as JSON text, built once per read and shared. */
  userJson(id: string): string {
    let text = this.#userTexts.get(id);
    if (text === undefined) {
      const u = this.users.get(id);
      text = u ? userJson(u) : JSON.stringify(notFound('user', `SU:${id}`, id));
      this.#userTexts.set(id, text);
    }
    return text;
  }

  /**
   * A reaction as the API shows it (§5.5), as JSON text assembled from its pieces (its user's
   * text, its data's, its children's). `deps` receives the change keys of what it shows (the
   * reaction, its children, their users).
   */
  renderText(r: ReactionRecord, opts: { extraData?: unknown } = {}, deps?: Deps): string {
    if (deps) {
      deps.add(changeKey.reaction(deps.app, r.id));
      deps.add(changeKey.user(deps.app, r.userId));
    }
    const latestChildren: Record<string, string[]> = {};
    for (const c of this.children.get(r.id) ?? []) (latestChildren[c.kind] ??= []).push(this.renderText(c, {}, deps));
    let out =
      '{"id":' + quote(r.id) + ',"kind":' + quote(r.kind) + ',"activity_id":' + quote(r.activityId) +
      ',"user_id":' + quote(r.userId) + ',"user":' + this.userJson(r.userId) + ',"data":' + dataJson(r.data) +
      ',"parent":' + quote(r.parent) + ',"created_at":' + timeJson(r.createdUs) + ',"updated_at":' + timeJson(r.updatedUs) +
      ',"latest_children":' + kindsJson(latestChildren) + ',"children_counts":' + countsJson(this.childCounts.get(r.id) ?? {});
    if (r.targetFeeds.length > 0) out += ',"target_feeds":' + JSON.stringify(r.targetFeeds);
    if (r.deletedUs !== null) out += ',"deleted_at":' + timeJson(r.deletedUs);
    if (this.withOwnChildren) {
      const own: Record<string, string[]> = {};
      for (const c of this.ownChildren.get(r.id) ?? []) (own[c.kind] ??= []).push(this.renderText(c, {}, deps));
      out += ',"own_children":' + kindsJson(own);
    }
    if (opts.extraData !== undefined) out += ',"target_feeds_extra_data":' + JSON.stringify(opts.extraData);
    return out + '}';
  }
}

/** One activity to enrich: its stored JSON and the origin of its entry in the feed read. */
export interface EnrichItem {
  readonly body: string;
  readonly origin: string | null;
  /** The activity's id: given, the parts of its enrichment that every reader shares are cached. */
  readonly id?: string;
}

/** Change keys (see `changeKey`) of what one enriched activity shows, with its app. */
type Deps = Set<string> & { app: string };

function depsOf(app: string): Deps {
  const d = new Set<string>([changeKey.app(app)]) as Deps;
  d.app = app;
  return d;
}

/**
 * Turns a page's activities into JSON texts: plain (origin spliced in) or enriched. `bytes`, when
 * present, gives the same as bytes joined by commas, in pieces to concatenate once (null when it
 * cannot).
 */
export type Renderer = ((items: readonly EnrichItem[]) => Promise<string[]>) & {
  readonly bytes?: (items: readonly EnrichItem[]) => Promise<Buffer[] | null>;
};

/** The renderer of plain reads: stored JSON with `origin`, nothing parsed. */
export const plainRenderer: Renderer = async (items) => items.map((i) => withOrigin(i.body, i.origin));

/**
 * {@link plainRenderer} that also gives bytes, for a caller that sends the page as bytes: each
 * activity is its origin head and its stored body's bytes after the opening brace, kept together
 * (see {@link keptBody}), so a page is one copy of kept bytes instead of text joined and encoded.
 */
export const plainBytesRenderer: Renderer = Object.assign(async (items: readonly EnrichItem[]) => plainRenderer(items), {
  bytes: async (items: readonly EnrichItem[]): Promise<Buffer[] | null> => plainBytes(items),
});

/**
 * {@link plainRenderer}'s bytes: `{"origin":…,` + the body after its brace, joined by commas. An
 * activity after the first is one kept piece (`,{"origin":…,` + body) when shown with the origin
 * it was kept with (in timelines an activity comes from one feed: its author's), else two.
 */
export function plainBytes(items: readonly EnrichItem[]): Buffer[] | null {
  if (items.length === 0) return null;
  const first = items[0];
  const out: Buffer[] = [originHead(first.origin), keptBody(first).tail];
  for (let k = 1; k < items.length; k++) {
    const i = items[k];
    const b = keptBody(i);
    if (b.origin === i.origin) out.push(b.entry);
    else out.push(originHeadAfterComma(i.origin), b.tail);
  }
  return out;
}

/** A stored body's bytes: as a later entry of a page with `origin` (`entry`), and after its opening brace (`tail`, a view of `entry`). */
interface KeptBody {
  /** The body text they are the bytes of. */
  readonly body: string;
  readonly origin: string | null;
  readonly entry: Buffer;
  readonly tail: Buffer;
}

/**
 * Stored bodies' bytes (see {@link KeptBody}), by activity id, with the origin of the first page
 * that showed them; used only while the body asked for is the kept one (an updated activity has
 * another text, and gets new bytes). A look-up hashes the id, not the body: a body read from the
 * store for this page alone is a new string each time, whose hash would cost a pass over it,
 * while comparing it with the kept text is a memory compare. Short bodies only; emptied when over
 * its budget.
 */
const keptBodies = new Map<string, KeptBody>();
let keptBodyBytes = 0;
const BODY_TAILS_MAX_BYTES = 16 * 1024 * 1024;
const BODY_TAIL_MAX_TEXT = 8192;

function keptBody(item: EnrichItem): KeptBody {
  const { body, origin, id } = item;
  let b = id === undefined ? undefined : keptBodies.get(id);
  if (b === undefined || b.body !== body) {
    const head = originHeadAfterComma(origin);
    const entry = Buffer.concat([head, Buffer.from(body.slice(1))]);
    b = { body: ownText(body), origin, entry, tail: entry.subarray(head.length) };
    if (id === undefined || body.length > BODY_TAIL_MAX_TEXT) return b;
    if (keptBodyBytes + entry.length > BODY_TAILS_MAX_BYTES) {
      keptBodies.clear();
      keptBodyBytes = 0;
    }
    keptBodies.set(id, b);
    keptBodyBytes += entry.length + body.length;
  }
  return b;
}

/**
 * `text` as a string of its own, for keeping: a text cut from a larger one (a page's bodies come
 * out of one text read from the store) would keep that whole text alive. Joining a character
 * makes V8 copy the text into a new one, of which the result is a view.
 */
function ownText(text: string): string {
  return text.length < 16 ? text : (text + ' ').slice(0, -1);
}

/** A renderer that enriches with `o` (or the plain one when `o` asks for nothing). */
export function enrichRenderer(s: EnrichDeps, app: App, o: EnrichOptions): Renderer {
  if (!wantsEnrichment(o)) return plainRenderer;
  return Object.assign((items: readonly EnrichItem[]) => enrichActivities(s, app, items, o), { bytes: (items: readonly EnrichItem[]) => enrichActivityBytes(s, app, items, o) });
}

/**
 * Reactions grouped per kind as JSON texts, at most `limit` per kind: `more` names the kinds that
 * had more, `last` the id of the last one listed of each kind.
 */
function groupByKind(
  list: readonly ReactionRecord[],
  graph: ReactionGraph,
  limit: number,
  deps?: Deps,
): { byKind: Record<string, string[]>; more: Record<string, string>; last: Record<string, string> } {
  const byKind: Record<string, string[]> = {};
  const counts: Record<string, number> = {};
  const more: Record<string, string> = {};
  const last: Record<string, string> = {};
  for (const r of list) {
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    if (counts[r.kind] > limit) {
      more[r.kind] = '';
      continue;
    }
    (byKind[r.kind] ??= []).push(graph.renderText(r, {}, deps));
    last[r.kind] = r.id;
  }
  return { byKind, more, last };
}

/**
 * Enriches activities (§9): resolves references in top-level string fields and adds reaction
 * data, in a fixed number of batched store calls whatever the number of activities, references
 * or reactions. Returns the activities as JSON texts, in order.
 */
export async function enrichActivities(s: EnrichDeps, app: App, items: readonly EnrichItem[], o: EnrichOptions): Promise<string[]> {
  if (!wantsEnrichment(o) || items.length === 0) return plainRenderer(items);
  const shared = await enrichedChunks(s, app, items, o);
  if (shared !== null) return shared.map((chunks) => Buffer.concat(chunks).toString());
  return buildEnriched(s, app, items, o);
}

/**
 * {@link enrichActivities} as bytes, the activities joined by commas (`a1,a2,…`) in pieces to be
 * concatenated once, straight from the parts cache: null where the shared parts do not apply
 * (no parts cache, own children asked for, items without ids).
 */
export async function enrichActivityBytes(s: EnrichDeps, app: App, items: readonly EnrichItem[], o: EnrichOptions): Promise<Buffer[] | null> {
  if (!wantsEnrichment(o) || items.length === 0) return null;
  const shared = await enrichedChunks(s, app, items, o);
  if (shared === null) return null;
  const out: Buffer[] = [];
  for (let k = 0; k < shared.length; k++) {
    if (k > 0) out.push(COMMA);
    for (const c of shared[k]) out.push(c);
  }
  return out;
}

function enrichedChunks(s: EnrichDeps, app: App, items: readonly EnrichItem[], o: EnrichOptions): Promise<Buffer[][]> | null {
  // Own children differ per reader all through the reaction tree: nothing to share.
  if (!s.parts || o.ownChildren || !items.every((i) => i.id !== undefined)) return null;
  return enrichShared(s, s.parts, app, items, o);
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from('}');
const NULL_ORIGIN = '{"origin":null,';
const NO_OWN_REACTIONS = Buffer.from(',"own_reactions":{}}');
/** Kept shared parts that show another activity (which carries the reader's own reactions too). */
const SHOWS_ACTIVITY = new WeakSet<Buffer>();

/** `{"origin":…,` as bytes, kept per origin (few: the feeds a reader follows). */
const originHeads = new Map<string | null, Buffer>();
function originHead(origin: string | null): Buffer {
  let b = originHeads.get(origin);
  if (b === undefined) {
    if (originHeads.size >= 10_000) originHeads.clear();
    b = Buffer.from(origin === null ? NULL_ORIGIN : '{"origin":' + JSON.stringify(origin) + ',');
    originHeads.set(origin, b);
  }
  return b;
}

/** `,{"origin":…,`: {@link originHead} after the comma that separates it from the activity before. */
const originHeadsAfterComma = new Map<string | null, Buffer>();
function originHeadAfterComma(origin: string | null): Buffer {
  let b = originHeadsAfterComma.get(origin);
  if (b === undefined) {
    if (originHeadsAfterComma.size >= 10_000) originHeadsAfterComma.clear();
    b = Buffer.concat([COMMA, originHead(origin)]);
    originHeadsAfterComma.set(origin, b);
  }
  return b;
}

/**
 * Enriches with the shared parts cached: each activity's enrichment without the reader's own
 * reactions (resolved references, latest reactions, counts) is kept as bytes (without its origin
 * and closing brace), keyed by activity and options, until a write changes anything it shows;
 * the reader's own reactions on each activity are kept the same way (see `ownReactionTails`).
 * Each activity comes out as pieces: its origin, the shared part, its own reactions and the
 * closing brace. An activity referencing another activity shows the reader's own reactions on it
 * too, so with own reactions asked for it is built whole.
 */
async function enrichShared(s: EnrichDeps, cache: ChangeCache<string | Buffer>, app: App, items: readonly EnrichItem[], o: EnrichOptions): Promise<Buffer[][]> {
  const shared: EnrichOptions = { ...o, ownReactions: false, userId: undefined };
  const opts = JSON.stringify([o.references, o.recentReactions, o.reactionCounts, o.recentLimit, o.kinds ?? null, o.apiBase]);
  // Kept per activity id in a space of the app and options.
  const space = 'e' + JSON.stringify(app.appId) + opts;
  const at = await cache.sync();
  const parts: (Buffer | undefined)[] = items.map((i) => cache.peekIn(space, i.id!) as Buffer | undefined);
  // A page read for the read cache depends on what the reused parts were built from.
  if (s.readDeps) {
    for (let k = 0; k < items.length; k++) if (parts[k] !== undefined) for (const d of cache.depsIn(space, items[k].id!)) s.readDeps.add(d);
  }
  const missing = items.flatMap((_, k) => (parts[k] === undefined ? [k] : []));
  const whole = new Map<number, Buffer>();
  if (o.ownReactions) for (let k = 0; k < parts.length; k++) if (parts[k] !== undefined && SHOWS_ACTIVITY.has(parts[k]!)) whole.set(k, CLOSE);
  // The reader's own reactions on the activities built here (those not kept) are read with the
  // build's reaction batches (after a like, the liked activity needs both): one batch per level.
  let own: OwnRead | null = null;
  if (missing.length > 0) {
    const deps = missing.map(() => depsOf(app.appId));
    const nested: boolean[] = [];
    if (o.ownReactions && o.userId) {
      const space = ownSpace(app, o, o.userId);
      const owners = [...new Set(missing.filter((k) => cache.peekIn(space, items[k].id!) === undefined).map((k) => items[k].id!))];
      if (owners.length > 0) own = { owners: new Set(owners), userId: o.userId, at, reactions: [], graph: null };
    }
    const built = await buildEnriched(s, app, missing.map((k) => ({ body: items[k].body, origin: null, id: items[k].id })), shared, deps, nested, own);
    await cache.sync();
    for (let j = 0; j < missing.length; j++) {
      const k = missing[j];
      // Built with origin null: the text after `{"origin":null,`, without its closing brace.
      parts[k] = Buffer.from(built[j].slice(NULL_ORIGIN.length, -1));
      // Kept only when built from the body current at `at` (the caller may have read it before).
      if (isKeptBody(cache, app.appId, items[k].id!, items[k].body)) cache.putIn(space, items[k].id!, at, deps[j], parts[k]!);
      if (nested[j]) {
        SHOWS_ACTIVITY.add(parts[k]!);
        if (o.ownReactions) whole.set(k, CLOSE);
      }
    }
  }
  if (whole.size > 0) {
    const list = [...whole.keys()];
    const rebuilt = await buildEnriched(s, app, list.map((k) => items[k]), o);
    list.forEach((k, j) => whole.set(k, Buffer.from(rebuilt[j])));
  }
  const tails = o.ownReactions ? await ownReactionTails(s, cache, app, items.map((i) => i.id!), o, whole, own) : null;
  return items.map((item, k) => {
    const w = whole.get(k);
    if (w !== undefined) return [w];
    return [originHead(item.origin), parts[k]!, tails === null ? CLOSE : tails[k]];
  });
}

/** Own reactions read with a build (see `enrichShared`): of `owners`, read after `at`, with the build's graph. */
interface OwnRead {
  readonly owners: ReadonlySet<string>;
  readonly userId: string;
  readonly at: number;
  reactions: readonly ReactionRecord[];
  graph: ReactionGraph | null;
}

/** The parts-cache space of a reader's own reactions: per activity id, in a space of the app, reader and kinds. */
function ownSpace(app: App, o: EnrichOptions, userId: string): string {
  return 'o' + JSON.stringify([app.appId, o.kinds ?? null, userId]);
}

/**
 * The reader's `own_reactions` of each activity as the bytes that end it
 * (`,"own_reactions":{…}}`; `{}` when none; entries of `skip` are left out), kept per reader and
 * activity in the parts cache until a write changes what they show: the ones not kept are read in
 * one batch for the page (with their children and users).
 */
async function ownReactionTails(
  s: EnrichDeps,
  cache: ChangeCache<string | Buffer>,
  app: App,
  ids: readonly string[],
  o: EnrichOptions,
  skip: ReadonlyMap<number, unknown>,
  read: OwnRead | null = null,
): Promise<Buffer[]> {
  const out: Buffer[] = new Array(ids.length).fill(NO_OWN_REACTIONS);
  const userId = o.userId;
  if (!userId) return out;
  const space = ownSpace(app, o, userId);
  const at = await cache.sync();
  const missing: number[] = [];
  const pre: number[] = [];
  for (let k = 0; k < ids.length; k++) {
    if (skip.has(k)) continue;
    if (read?.graph && read.owners.has(ids[k])) {
      pre.push(k);
      continue;
    }
    const tail = cache.peekIn(space, ids[k]) as Buffer | undefined;
    if (tail === undefined) {
      missing.push(k);
      continue;
    }
    out[k] = tail;
    if (s.readDeps) for (const d of cache.depsIn(space, ids[k])) s.readDeps.add(d);
  }
  if (missing.length === 0 && pre.length === 0) return out;
  // Read with the build (built from data read after `read.at`), or now.
  const tail = (k: number, graph: ReactionGraph, ownBy: ReadonlyMap<string, ReactionRecord[]>, builtAt: number) => {
    const id = ids[k];
    const deps = depsOf(app.appId);
    deps.add(changeKey.activity(app.appId, id));
    deps.add(changeKey.reactions(app.appId, id));
    const mine = ownBy.get(id);
    out[k] = mine ? Buffer.from(',"own_reactions":' + kindsJson(groupByKind(mine, graph, OWN_PER_KIND, deps).byKind) + '}') : NO_OWN_REACTIONS;
    cache.putIn(space, id, builtAt, deps, out[k]);
  };
  if (pre.length > 0) {
    const ownBy = byActivity(read!.reactions);
    await cache.sync();
    for (const k of pre) tail(k, read!.graph!, ownBy, read!.at);
  }
  if (missing.length === 0) return out;
  const owners = [...new Set(missing.map((k) => ids[k]))];
  const own = await s.ports.reactions.latestReactions(app.appId, { owners, of: 'activity', kinds: o.kinds, userId, perKind: OWN_PER_KIND });
  const graph = new ReactionGraph(false, userId);
  if (own.length > 0) {
    await graph.load(s, app, own);
    await graph.loadUsers(s, app, graph.all(own));
  }
  const ownBy = byActivity(own);
  await cache.sync();
  for (const k of missing) tail(k, graph, ownBy, at);
  return out;
}

function byActivity(list: readonly ReactionRecord[]): Map<string, ReactionRecord[]> {
  const out = new Map<string, ReactionRecord[]>();
  for (const r of list) (out.get(r.activityId) ?? out.set(r.activityId, []).get(r.activityId)!).push(r);
  return out;
}


/**
 * A stored activity body taken apart for assembling its enriched form: its fields in the order of
 * the object `JSON.parse(withOrigin(body, origin))` gives (integer keys first, then `origin`,
 * then the rest as stored), each with its key and value as JSON text and its reference, if any.
 * The `origin` field's value is the page's (`origin: true`), unless the body has its own, which
 * the parse keeps.
 */
interface Template {
  readonly id: string;
  readonly fields: readonly TemplateField[];
}

interface TemplateField {
  /** The key as JSON text; null for `__proto__`, which the decorated object never kept as a field. */
  readonly key: string | null;
  readonly name: string;
  /** The value, when a reference (the text names it). */
  readonly value: string | undefined;
  readonly text: string;
  readonly ref: Ref | null;
  /** The page's origin goes here. */
  readonly origin: boolean;
}

/**
 * Templates by activity id, shared between reads, each with the body text it was made from: used
 * only for that text (an updated activity gets a new template), and looked up by id so that a
 * body read from the store for this page alone (a new string each time) costs a compare with the
 * kept text instead of a hash of it. Bodies without an id are parsed each time. Emptied when over
 * its budget (in characters of bodies).
 */
const templates = new Map<string, { readonly body: string; readonly t: Template }>();
let templateChars = 0;
const TEMPLATES_MAX_CHARS = 4 * 1024 * 1024;

function template(body: string, id: string | undefined): Template {
  const kept = id === undefined ? undefined : templates.get(id);
  if (kept !== undefined && kept.body === body) return kept.t;
  const obj = JSON.parse(withOrigin(body, null)) as Json;
  // A body with its own `origin` keeps it: the page's origin does not show.
  const ownOrigin = body.includes('"origin"') && Object.prototype.hasOwnProperty.call(JSON.parse(body), 'origin');
  const fields: TemplateField[] = [];
  for (const name of Object.keys(obj)) {
    const value = obj[name];
    const origin = name === 'origin' && !ownOrigin;
    const ref = origin ? null : parseRef(value);
    fields.push({ key: name === '__proto__' ? null : JSON.stringify(name), name, value: ref ? (value as string) : undefined, text: JSON.stringify(value), ref, origin });
  }
  const t: Template = { id: String(obj.id), fields };
  // Kept under the id the body itself names, which is the one asked for.
  if (id === undefined || id !== t.id || body.length > BODY_TAIL_MAX_TEXT) return t;
  if (templateChars + body.length > TEMPLATES_MAX_CHARS) {
    templates.clear();
    templateChars = 0;
  }
  templates.set(id, { body: ownText(body), t });
  templateChars += body.length;
  return t;
}

/** `latest_reactions_extra` of a kind without more reactions. */
const NO_NEXT = '{"next":""}';

/** The reaction data fields an enriched activity gets, after its own. */
const REACTION_FIELDS = new Set(['latest_reactions', 'latest_reactions_extra', 'reaction_counts', 'own_reactions']);

/**
 * Builds enriched texts. With `deps`, each item's set receives the change keys of what its text
 * shows, and `nested[i]` tells whether it shows another activity (which carries own reactions).
 */
async function buildEnriched(
  s: EnrichDeps,
  app: App,
  items: readonly EnrichItem[],
  o: EnrichOptions,
  depsPer?: readonly Deps[],
  nested?: boolean[],
  ownRead: OwnRead | null = null,
): Promise<string[]> {
  const acts = items.map((i) => template(i.body, i.id));

  // 1. References of the page: activities and reactions first (they bring more references).
  const saIds = new Set<string>();
  const srIds = new Set<string>();
  const suIds = new Set<string>();
  const soRefs = new Map<string, { collection: string; id: string }>();
  // `nested`: a referenced activity, whose own activity and reaction references stay strings.
  const collectRef = (ref: Ref | null, nested: boolean) => {
    if (!ref) return;
    if (ref.kind === 'user') suIds.add(ref.id);
    else if (ref.kind === 'object') soRefs.set(`${ref.collection}:${ref.id}`, ref);
    else if (nested) return;
    else if (ref.kind === 'activity') {
      if (isUuid(ref.id)) saIds.add(ref.id);
    } else srIds.add(ref.id);
  };
  const collect = (t: Template, origin: string | null, nested = false) => {
    for (const f of t.fields) collectRef(f.origin ? parseRef(origin) : f.ref, nested);
  };
  if (o.references) acts.forEach((t, i) => collect(t, items[i].origin));
  const [saActs, srReactions] = await Promise.all([
    saIds.size > 0 ? s.ports.activities.getActivities(app.appId, [...saIds]) : Promise.resolve(new Map<string, ActivityRecord>()),
    srIds.size > 0 ? s.ports.reactions.getReactions(app.appId, [...srIds]) : Promise.resolve(new Map<string, ReactionRecord>()),
  ]);
  const saObjs = new Map<string, Template>();
  for (const [id, a] of saActs) {
    const t = template(a.body, id);
    saObjs.set(id, t);
    collect(t, null, true);
  }

  // 2. Reaction data for the page's activities and the referenced ones, one batch per kind of data.
  const owners = [...acts.map((t) => t.id), ...saObjs.keys()];
  const kinds = o.kinds; // enrichOptions leaves it undefined when the filter is empty
  const [latestAll, own, counts] = await Promise.all([
    o.recentReactions
      ? s.ports.reactions.latestReactions(app.appId, { owners, of: 'activity', kinds, perKind: o.recentLimit + 1 })
      : Promise.resolve([]),
    o.ownReactions && o.userId
      ? s.ports.reactions.latestReactions(app.appId, { owners, of: 'activity', kinds, userId: o.userId, perKind: OWN_PER_KIND })
      : ownRead !== null
        ? s.ports.reactions.latestReactions(app.appId, { owners: [...ownRead.owners], of: 'activity', kinds, userId: ownRead.userId, perKind: OWN_PER_KIND })
        : Promise.resolve([]),
    o.reactionCounts ? s.ports.reactions.reactionCounts(app.appId, owners, 'activity') : Promise.resolve(new Map<string, Record<string, number>>()),
  ]);
  // moderation.hide_flagged: flagged reactions and flagged users' are not shown to others.
  const latest = await reactionsWithoutFlagged(s, app, latestAll);
  const graph = new ReactionGraph(o.ownChildren, o.userId);
  const roots = [...latest, ...own, ...srReactions.values()];
  await graph.load(s, app, roots);
  if (ownRead !== null) {
    ownRead.reactions = own;
    ownRead.graph = graph;
  }

  // 3. Users (references and reaction authors) and collection entries: one batch each.
  const [, entries] = await Promise.all([
    graph.loadUsers(s, app, graph.all(roots), o.references ? suIds : []),
    soRefs.size > 0 ? s.ports.collections.getEntries(app.appId, [...soRefs.values()]) : Promise.resolve(new Map<string, EntryRecord>()),
  ]);

  const latestBy = new Map<string, ReactionRecord[]>();
  for (const r of latest) (latestBy.get(r.activityId) ?? latestBy.set(r.activityId, []).get(r.activityId)!).push(r);
  const ownBy = new Map<string, ReactionRecord[]>();
  for (const r of own) (ownBy.get(r.activityId) ?? ownBy.set(r.activityId, []).get(r.activityId)!).push(r);

  // The page is assembled as text: each activity's fields in its parsed object's order, the
  // values that are not references as `JSON.stringify` gives them, references as the texts of
  // what they name, then the reaction data. The same bytes as serializing the decorated object.
  let nestedHere = false;
  const resolve = (v: unknown, ref: Ref | null, text: string, depth: number, deps?: Deps): string => {
    if (!ref) return text;
    switch (ref.kind) {
      case 'user':
        deps?.add(changeKey.user(app.appId, ref.id));
        return graph.userJson(ref.id);
      case 'object': {
        deps?.add(changeKey.object(app.appId, ref.collection, ref.id));
        const e = entries.get(`${ref.collection}:${ref.id}`);
        return e ? entryJson(e) : JSON.stringify(notFound('object', v as string, ref.id, ref.collection));
      }
      case 'activity': {
        // Referenced activities are enriched one level deep: their own activity and reaction
        // references stay strings; users and objects are resolved (already loaded).
        if (depth > 0) return text;
        deps?.add(changeKey.activity(app.appId, ref.id));
        const a = saObjs.get(ref.id);
        if (a) nestedHere = true;
        return a ? decorate(a, null, depth + 1, deps) : JSON.stringify(notFound('activity', v as string, ref.id));
      }
      case 'reaction': {
        if (depth > 0) return text;
        deps?.add(changeKey.reaction(app.appId, ref.id));
        const r = srReactions.get(ref.id);
        return r ? graph.renderText(r, {}, deps) : JSON.stringify(notFound('reaction', v as string, ref.id));
      }
    }
  };

  const decorate = (t: Template, origin: string | null, depth: number, deps?: Deps): string => {
    // The fields' values first (references resolved: they note their dependencies in this order).
    const values: (string | undefined)[] = new Array(t.fields.length);
    for (let i = 0; i < t.fields.length; i++) {
      const f = t.fields[i];
      const text = f.origin ? (origin === null ? 'null' : quote(origin)) : f.text;
      values[i] = o.references ? resolve(f.origin ? origin : f.value, f.origin ? parseRef(origin) : f.ref, text, depth, deps) : text;
    }
    const id = t.id;
    deps?.add(changeKey.activity(app.appId, id));
    deps?.add(changeKey.reactions(app.appId, id));
    const added: Record<string, string> = {};
    if (o.recentReactions) {
      const { byKind, more, last } = groupByKind(latestBy.get(id) ?? [], graph, o.recentLimit, deps);
      added.latest_reactions = kindsJson(byKind);
      const extra: Record<string, string> = {};
      for (const kind of Object.keys(byKind)) {
        let next = '';
        if (kind in more) {
          next =
            `${o.apiBase}reaction/activity_id/${encodeURIComponent(id)}/${encodeURIComponent(kind)}/` +
            `?id_lt=${encodeURIComponent(last[kind])}&limit=${o.recentLimit}&withOwnChildren=false`;
        }
        extra[kind] = next === '' ? NO_NEXT : '{"next":' + JSON.stringify(next) + '}';
      }
      added.latest_reactions_extra = objectJson(extra);
    }
    if (o.reactionCounts) {
      const c = counts.get(id) ?? {};
      added.reaction_counts = countsJson(kinds ? Object.fromEntries(Object.entries(c).filter(([k]) => kinds.includes(k))) : c);
    }
    // Last, as in pages joined from kept parts (the shared part, then the reader's own reactions):
    // a page is the same bytes however it was built.
    if (o.ownReactions) added.own_reactions = kindsJson(groupByKind(ownBy.get(id) ?? [], graph, OWN_PER_KIND, deps).byKind);
    // The activity's fields in order (a reaction data field it has itself takes the new value in
    // its place, as assigning it to the decorated object did), then the reaction data.
    let out = '{';
    let first = true;
    for (let i = 0; i < t.fields.length; i++) {
      const f = t.fields[i];
      if (f.key === null) continue;
      let v = values[i]!;
      if (REACTION_FIELDS.has(f.name) && f.name in added) {
        v = added[f.name];
        delete added[f.name];
      }
      out += (first ? '' : ',') + f.key + ':' + v;
      first = false;
    }
    for (const name of Object.keys(added)) {
      out += (first ? '' : ',') + '"' + name + '":' + added[name];
      first = false;
    }
    return out + '}';
  };

  return acts.map((t, i) => {
    nestedHere = false;
    const text = decorate(t, items[i].origin, 0, depsPer?.[i]);
    if (nested) nested[i] = nestedHere;
    return text;
  });
}
