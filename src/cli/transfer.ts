import { randomUUID } from 'node:crypto';
import { isUuid } from '../core/activities/activity-id.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { AuditEntry } from '../ports/audit-log.js';
import type { EntryRecord } from '../ports/collection-store.js';
import type { ContentTag } from '../ports/content-tag-store.js';
import type { DataListing, FollowEdge, ListPage } from '../ports/data-listing.js';
import type { EventRecord } from '../ports/event-log.js';
import type { FileRecord } from '../ports/file-index.js';
import type { FlagRecord } from '../ports/flag-store.js';
import type { GroupCounts, StoredGroup } from '../ports/group-store.js';
import type { ModelStore } from '../ports/model-store.js';
import type { ProfileWeight } from '../ports/profile-store.js';
import type { ReactionRecord } from '../ports/reaction-store.js';
import type { RecordStores } from '../ports/record-stores.js';
import type { Intent, QueuedIntent } from '../ports/intent-queue.js';
import type { HiddenActivity } from '../ports/seen-store.js';
import type { SignalStore } from '../ports/signal-store.js';
import type { StoragePorts } from '../ports/storage.js';
import type { UserRecord } from '../ports/user-store.js';

/**
 * The data of one app as JSON lines (`rivulet export` / `rivulet import`), read and written
 * through the storage ports, so that each backend keeps its own invariants (counters, indexes,
 * change marks) on import.
 *
 * The file is one JSON object per line, each with a `kind`: a `header` first (format, version,
 * app, source backend), the records, and a `trailer` last with the number of records of each
 * kind. Records are written in dependency order (activities before the reactions, groups and
 * hides that name them; follow edges before the pull-served flags that walk them).
 *
 * Every write of an import is an upsert keyed by the record's id, or skipped when the target
 * already holds it, so importing a file twice leaves the target as importing it once, and an
 * interrupted import can simply be run again (or resumed after the last applied line).
 */

export const FORMAT = 'rivulet-export';
export const FORMAT_VERSION = 1;

/** The stores an export reads and an import writes. */
export interface TransferStores {
  readonly ports: StoragePorts;
  readonly signals: SignalStore;
  readonly records: RecordStores;
  readonly models: ModelStore;
  readonly listing: DataListing;
}

/** Kinds of records, in file order, with what one count of each means. */
export const KINDS = [
  'activity', // an activity record
  'tags', // the content tags of one activity
  'follow', // a follow edge
  'reaction', // a reaction (soft-deleted ones too)
  'zero', // a reaction count of 0 (a kind whose every reaction was removed), per owner and kind
  'user',
  'entry', // a collection entry
  'feed', // a feed's hidden ids, floor and pull-served flag (one per feed that holds anything)
  'timeline', // flat feed entries (counted per entry; a line holds up to 1,000 of one feed)
  'groups', // aggregated or notification groups (counted per group; a line holds one feed's)
  'hidden', // an activity a user hid (personalization)
  'profile', // a user's profile weights (counted per weight)
  'event', // an event of the engagement log
  'model', // the newest personalization model snapshot
  'file', // a file index record
  'audit', // an audit log entry
  'flag', // a moderation flag
  'job', // a pending fan-out job (queued again by import)
  'dead', // a dead-lettered fan-out job, with its last error
] as const;
export type Kind = (typeof KINDS)[number];
/** Kinds added to the format since its first files (whose trailers do not count them). */
const LATER_KINDS: readonly Kind[] = ['zero', 'job', 'dead'];
export type Counts = Record<Kind, number>;

/**
 * Why the target app's feed groups cannot hold the file's data, or null when they can: every
 * feed group the records name must exist in the target, and each group the header lists (with its
 * type: flat, aggregated, notification) must have the same type there.
 */
export function feedGroupMismatch(header: Header, slugs: ReadonlySet<string>, target: ReadonlyMap<string, { readonly type: string }>): string | null {
  const problems: string[] = [];
  const missing = [...slugs].filter((s) => !target.has(s)).sort();
  if (missing.length > 0) problems.push(`the file has feeds of group${missing.length === 1 ? '' : 's'} ${missing.map((s) => `"${s}"`).join(', ')}, which the target app does not have`);
  for (const g of header.feedGroups ?? []) {
    const t = target.get(g.name);
    if (t !== undefined && t.type !== g.type) problems.push(`feed group "${g.name}" is ${g.type} in the file and ${t.type} in the target app`);
  }
  return problems.length === 0 ? null : problems.join('; ');
}

export const emptyCounts = (): Counts => Object.fromEntries(KINDS.map((k) => [k, 0])) as Counts;

export interface Header {
  readonly kind: 'header';
  readonly format: typeof FORMAT;
  readonly version: number;
  readonly app: string;
  readonly source: string;
  readonly createdAt: string;
  /** The app's feed groups in the source config (files of older exports have none). */
  readonly feedGroups?: readonly { readonly name: string; readonly type: string }[];
}

/** One line of the file. */
export type Line =
  | Header
  | { readonly kind: 'activity'; readonly record: ActivityRecord }
  | { readonly kind: 'tags'; readonly activityId: string; readonly tags: readonly ContentTag[] }
  | { readonly kind: 'follow'; readonly record: FollowEdge }
  | { readonly kind: 'reaction'; readonly record: ReactionRecord }
  | {
      readonly kind: 'zero';
      /** An activity id (top-level reactions) or a reaction id (its children), per `of`. */
      readonly owner: string;
      readonly of: 'activity' | 'reaction';
      /** The activity the owner is or belongs to. */
      readonly activityId: string;
      /** The kinds counted 0. */
      readonly kinds: readonly string[];
    }
  | { readonly kind: 'user'; readonly record: UserRecord }
  | { readonly kind: 'entry'; readonly record: EntryRecord }
  | { readonly kind: 'feed'; readonly feed: string; readonly hidden: readonly string[]; readonly floor: string | null; readonly pull: boolean }
  | { readonly kind: 'timeline'; readonly feed: string; readonly entries: readonly (readonly [string, string | null])[] }
  | { readonly kind: 'groups'; readonly feed: string; readonly counts: GroupCounts; readonly groups: readonly StoredGroup[] }
  | { readonly kind: 'hidden'; readonly record: HiddenActivity & { readonly user: string } }
  | { readonly kind: 'profile'; readonly user: string; readonly weights: readonly ProfileWeight[] }
  | { readonly kind: 'event'; readonly record: EventRecord }
  | {
      readonly kind: 'model';
      readonly seq: number;
      /** The id of the newest event the snapshot includes (its seq differs in another store), or null. */
      readonly lastEventId: string | null;
      readonly updates: number;
      readonly createdUs: number;
      readonly model: string;
      readonly state: string;
    }
  | { readonly kind: 'file'; readonly record: FileRecord }
  | { readonly kind: 'audit'; readonly record: AuditEntry }
  | { readonly kind: 'flag'; readonly record: FlagRecord }
  | { readonly kind: 'job'; readonly job: JobRecord }
  | { readonly kind: 'dead'; readonly job: JobRecord; readonly error: string; readonly failedAt: number }
  | { readonly kind: 'trailer'; readonly counts: Counts };

/** A fan-out job as the file holds it: what it does (its queue id, lease, cursor and attempts are the source store's). */
export interface JobRecord {
  readonly kind: Intent['kind'];
  readonly source: string;
  readonly ids: readonly string[];
}

/** How many records one line stands for in the counts. */
export function lineCount(l: Line): number {
  switch (l.kind) {
    case 'timeline':
      return l.entries.length;
    case 'groups':
      return l.groups.length;
    case 'profile':
      return l.weights.length;
    case 'zero':
      return l.kinds.length;
    default:
      return 1;
  }
}

const PAGE = 500;
const TIMELINE_CHUNK = 1000;
/** The largest `maxLength` of an imported feed's entries: the import keeps every entry the file has. */
const KEEP_ALL = 2_147_483_647;
/** Every group of a feed (a feed keeps a bounded number). */
const ALL_GROUPS = 1_000_000;

/** Every page of a listing, one page at a time. */
async function* pages<T>(list: (cursor: string | null, limit: number) => Promise<ListPage<T>>): AsyncGenerator<readonly T[]> {
  let cursor: string | null = null;
  do {
    const page: ListPage<T> = await list(cursor, PAGE);
    if (page.items.length > 0) yield page.items;
    cursor = page.next;
  } while (cursor !== null);
}

/**
 * The pages of one listing with the records already seen dropped (a Redis scan may list a record
 * twice).
 */
async function* freshPages<T>(
  list: (cursor: string | null, limit: number) => Promise<ListPage<T>>,
  key: (x: T) => string,
): AsyncGenerator<T[]> {
  const seen = new Set<string>();
  for await (const page of pages(list)) {
    const out: T[] = [];
    for (const x of page) {
      const k = key(x);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(x);
    }
    yield out;
  }
}

/**
 * Reads every record of `app` and hands each line to `emit` (header and trailer excluded), in file
 * order. Returns the counts per kind. Used by export (emit writes) and by the check at the end of
 * an import (emit counts).
 */
export async function walkApp(s: TransferStores, app: string, emit: (line: Line) => Promise<void> | void): Promise<Counts> {
  const counts = emptyCounts();
  const out = async (l: Line) => {
    counts[l.kind as Kind] += lineCount(l);
    await emit(l);
  };
  const L = s.listing;
  // Counts of 0 come from reactions no longer there (removed for good): written after the reactions.
  const zeros: Line[] = [];
  const zeroCounts = async (owners: readonly { readonly id: string; readonly activityId: string }[], of: 'activity' | 'reaction') => {
    if (owners.length === 0) return;
    const counts = await s.ports.reactions.reactionCounts(app, owners.map((o) => o.id), of);
    for (const o of owners) {
      const c = counts.get(o.id) ?? {};
      const kinds = Object.keys(c).filter((k) => c[k] === 0).sort();
      if (kinds.length > 0) zeros.push({ kind: 'zero', owner: o.id, of, activityId: o.activityId, kinds });
    }
  };
  for await (const page of freshPages((c, n) => L.activities(app, c, n), (a) => a.id)) {
    for (const record of page) await out({ kind: 'activity', record });
    const tags = await s.signals.tagsOf(app, page.map((a) => a.id));
    for (const [activityId, t] of tags) await out({ kind: 'tags', activityId, tags: t });
    await zeroCounts(page.map((a) => ({ id: a.id, activityId: a.id })), 'activity');
  }
  for await (const page of freshPages((c, n) => L.follows(app, c, n), (e) => `${e.source}\n${e.target}`)) {
    for (const record of page) await out({ kind: 'follow', record });
  }
  for await (const page of freshPages((c, n) => L.reactions(app, c, n), (r) => r.id)) {
    for (const record of page) await out({ kind: 'reaction', record });
    await zeroCounts(page, 'reaction');
  }
  for (const z of zeros) await out(z);
  for await (const page of freshPages((c, n) => L.users(app, c, n), (u) => u.id)) {
    for (const record of page) await out({ kind: 'user', record });
  }
  for await (const page of freshPages((c, n) => L.entries(app, c, n), (e) => `${e.collection}\n${e.id}`)) {
    for (const record of page) await out({ kind: 'entry', record });
  }
  for await (const page of freshPages((c, n) => L.feeds(app, c, n), (f) => f)) {
    const feeds = page;
    const [states, pulled, grouped] = await Promise.all([
      Promise.all(feeds.map((f) => s.ports.timelines.readerState(app, f))),
      s.ports.follows.pullServed(app, feeds),
      s.ports.groups.readForMerge(app, feeds.map((feed) => ({ feed, oldest: ALL_GROUPS }))),
    ]);
    for (let i = 0; i < feeds.length; i++) {
      const feed = feeds[i];
      const { hidden, floor } = states[i];
      if (hidden.length > 0 || floor !== null || pulled.has(feed)) await out({ kind: 'feed', feed, hidden, floor, pull: pulled.has(feed) });
      const g = grouped[i];
      if (g.groups.length > 0) {
        await out({ kind: 'groups', feed, counts: g.counts, groups: g.groups });
        continue;
      }
      // Flat entries, newest first, a chunk at a time.
      let idLt: string | undefined;
      for (;;) {
        const chunk = await s.ports.timelines.scan(app, { feed, idLt, limit: TIMELINE_CHUNK });
        if (chunk.length === 0) break;
        await out({ kind: 'timeline', feed, entries: chunk.map((e) => [e.id, e.origin] as const) });
        if (chunk.length < TIMELINE_CHUNK) break;
        idLt = chunk[chunk.length - 1].id;
      }
    }
  }
  for await (const page of freshPages((c, n) => L.hiddenActivities(app, c, n), (h) => `${h.user}\n${h.activityId}`)) {
    for (const record of page) await out({ kind: 'hidden', record });
  }
  for await (const page of freshPages((c, n) => L.profileUsers(app, c, n), (u) => u)) {
    const profiles = await s.signals.profilesOf(app, page);
    for (const user of page) {
      const weights = profiles.get(user);
      if (weights && weights.length > 0) await out({ kind: 'profile', user, weights });
    }
  }

  // The event log in seq order; the model snapshot after it names the newest event it includes.
  const snapshot = await s.models.latestSnapshot(app);
  let lastEventId: string | null = null;
  for (let after = 0; ; ) {
    const events = await s.signals.readEvents(app, after, PAGE);
    if (events.length === 0) break;
    for (const record of events) {
      if (snapshot && record.seq <= snapshot.seq) lastEventId = record.id;
      await out({ kind: 'event', record });
    }
    after = events[events.length - 1].seq;
  }
  if (snapshot) {
    await out({
      kind: 'model',
      seq: snapshot.seq,
      lastEventId,
      updates: snapshot.updates,
      createdUs: snapshot.createdUs,
      model: Buffer.from(snapshot.model).toString('base64'),
      state: Buffer.from(snapshot.state).toString('base64'),
    });
  }

  for await (const page of freshPages((c, n) => L.files(app, c, n), (f) => f.id)) {
    for (const record of page) await out({ kind: 'file', record });
  }
  for await (const page of pages((c, n) => L.audit(app, c, n))) for (const record of page) await out({ kind: 'audit', record });
  for await (const page of pages((c, n) => L.flags(app, c, n))) for (const record of page) await out({ kind: 'flag', record });
  // Fan-out jobs last: importing one queues it again, and a worker applies it over the follow
  // edges and activities written before it. The queue is shared by every app: listed whole.
  const [pending, dead] = await Promise.all([appJobs(s, app), appDeadLetters(s, app)]);
  for (const j of pending) await out({ kind: 'job', job: jobRecord(j) });
  for (const d of dead) await out({ kind: 'dead', job: jobRecord(d), error: d.error, failedAt: d.failedAt });
  return counts;
}

const jobRecord = (j: Intent): JobRecord => ({ kind: j.kind, source: j.source, ids: j.ids });
/** A job's identity for import's de-duplication (what it does, not where it is queued). */
const jobKey = (j: JobRecord, error?: string): string => JSON.stringify([j.kind, j.source, j.ids, error ?? null]);

/** The app's pending fan-out jobs (claimed or not, inline ones included), oldest first. */
async function appJobs(s: TransferStores, app: string): Promise<QueuedIntent[]> {
  const q = s.ports.intents;
  const n = await q.pendingCount();
  if (n === 0) return [];
  // Jobs queued between the count and the listing may be left out (as any write during an export).
  return (await q.pending(n)).filter((j) => j.app === app);
}

/** The app's dead-lettered fan-out jobs, oldest first. */
async function appDeadLetters(s: TransferStores, app: string): Promise<(QueuedIntent & { readonly error: string; readonly failedAt: number })[]> {
  const q = s.ports.intents;
  const n = await q.deadLetterCount();
  if (n === 0) return [];
  return (await q.deadLetters(n)).filter((j) => j.app === app);
}

/** A problem with the file being imported, naming its line: nothing was written when it is found. */
export class ImportFileError extends Error {}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isString = (x: unknown): x is string => typeof x === 'string';

/** Checks the shape of one line (enough to apply it safely) and returns it typed; throws with the reason. */
export function parseLine(text: string): Line {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(x)) throw new Error('not a JSON object');
  const kind = x.kind;
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`a "${String(kind)}" line needs ${what}`);
  };
  // Activity ids are keys of every store: one that is not an id would fail the write it is in.
  const ids = (list: unknown[], where: string) => {
    const bad = list.find((id) => !isString(id) || !isUuid(id));
    if (bad !== undefined) throw new Error(`${where}: ${JSON.stringify(bad)?.slice(0, 60)} is not an activity id`);
  };
  switch (kind) {
    case 'header':
      need(x.format === FORMAT, `"format": "${FORMAT}"`);
      need(x.version === FORMAT_VERSION, `"version": ${FORMAT_VERSION} (this file has ${JSON.stringify(x.version)})`);
      need(isString(x.app) && /^[\w-]{1,64}$/.test(x.app), 'an "app" id');
      need(x.feedGroups === undefined || (Array.isArray(x.feedGroups) && x.feedGroups.every((g) => isObject(g) && isString(g.name) && isString(g.type))), '"feedGroups" as a list of {name, type}');
      break;
    case 'trailer':
      // Files written before fan-out jobs were exported count none.
      if (isObject(x.counts)) for (const k of LATER_KINDS) (x.counts as Record<string, unknown>)[k] ??= 0;
      need(isObject(x.counts) && KINDS.every((k) => Number.isSafeInteger((x.counts as Record<string, unknown>)[k])), 'a "counts" object with a number per kind');
      break;
    case 'activity':
      need(isObject(x.record) && isString(x.record.id) && isString(x.record.body) && isString(x.record.home) && Number.isFinite(x.record.timeUs), 'a "record" with id, timeUs, home and body');
      ids([(x.record as Record<string, unknown>).id], 'record.id');
      break;
    case 'tags':
      need(isString(x.activityId) && Array.isArray(x.tags), '"activityId" and "tags"');
      ids([x.activityId], 'activityId');
      break;
    case 'follow':
      need(isObject(x.record) && isString(x.record.source) && isString(x.record.target) && Number.isFinite(x.record.createdUs), 'a "record" with source, target and createdUs');
      break;
    case 'reaction':
      need(isObject(x.record) && isString(x.record.id) && isString(x.record.activityId) && isString(x.record.kind), 'a "record" with id, kind and activityId');
      ids([(x.record as Record<string, unknown>).activityId], 'record.activityId');
      break;
    case 'zero':
      need(isString(x.owner) && (x.of === 'activity' || x.of === 'reaction') && isString(x.activityId) && Array.isArray(x.kinds) && x.kinds.every(isString), '"owner", "of" (activity or reaction), "activityId" and "kinds"');
      ids([x.activityId], 'activityId');
      break;
    case 'user':
      need(isObject(x.record) && isString(x.record.id) && isString(x.record.data), 'a "record" with id and data');
      break;
    case 'entry':
      need(isObject(x.record) && isString(x.record.collection) && isString(x.record.id) && isString(x.record.data), 'a "record" with collection, id and data');
      break;
    case 'feed':
      need(isString(x.feed) && Array.isArray(x.hidden) && x.hidden.every(isString) && (x.floor === null || isString(x.floor)) && typeof x.pull === 'boolean', '"feed", "hidden", "floor" and "pull"');
      ids(x.floor === null ? (x.hidden as unknown[]) : [...(x.hidden as unknown[]), x.floor], 'hidden');
      break;
    case 'timeline':
      need(
        isString(x.feed) && Array.isArray(x.entries) && x.entries.every((e) => Array.isArray(e) && e.length === 2 && isString(e[0]) && (e[1] === null || isString(e[1]))),
        '"feed" and "entries" as [id, origin] pairs',
      );
      ids((x.entries as unknown[][]).map((e) => e[0]), 'entries');
      break;
    case 'groups':
      need(isString(x.feed) && isObject(x.counts) && Array.isArray(x.groups) && x.groups.every((g) => isObject(g) && isString(g.id) && Array.isArray(g.entries)), '"feed", "counts" and "groups"');
      for (const g of x.groups as Record<string, unknown>[]) ids([g.id, ...(g.entries as Record<string, unknown>[]).map((e) => (isObject(e) ? e.id : e))], 'groups');
      break;
    case 'hidden':
      need(isObject(x.record) && isString(x.record.user) && isString(x.record.activityId) && Array.isArray(x.record.placements), 'a "record" with user, activityId and placements');
      break;
    case 'profile':
      need(isString(x.user) && Array.isArray(x.weights), '"user" and "weights"');
      break;
    case 'event':
      need(isObject(x.record) && isString(x.record.id) && Number.isFinite(x.record.seq), 'a "record" with id and seq');
      break;
    case 'model':
      need(Number.isFinite(x.seq) && isString(x.model) && isString(x.state), '"seq", "model" and "state"');
      break;
    case 'file':
      need(isObject(x.record) && isString(x.record.id), 'a "record" with id');
      break;
    case 'audit':
      need(isObject(x.record) && isString(x.record.entityType) && Number.isFinite(x.record.createdUs), 'a "record" with entityType and createdUs');
      break;
    case 'flag':
      need(isObject(x.record) && isString(x.record.id), 'a "record" with id');
      break;
    case 'job':
    case 'dead': {
      const j = x.job;
      need(
        isObject(j) && (j.kind === 'fanout.add' || j.kind === 'fanout.remove') && isString(j.source) && Array.isArray(j.ids) && (kind === 'job' || (isString(x.error) && Number.isFinite(x.failedAt))),
        `a "job" with kind (fanout.add or fanout.remove), source and ids${kind === 'dead' ? ', an "error" and "failedAt"' : ''}`,
      );
      ids((j as Record<string, unknown>).ids as unknown[], 'job.ids');
      break;
    }
    default:
      throw new Error(`unknown kind ${JSON.stringify(kind)}`);
  }
  return x as unknown as Line;
}

/** The feed group (slug) of a feed id `slug:user`. */
const slugOf = (feed: string): string => feed.slice(0, Math.max(0, feed.indexOf(':')));

/** The feeds a line names (their groups must exist in the target app). */
function feedsOf(l: Line): string[] {
  switch (l.kind) {
    case 'activity':
      return [l.record.home];
    case 'follow':
      return [l.record.source, l.record.target];
    case 'feed':
    case 'timeline':
    case 'groups':
      return [l.feed];
    case 'job':
    case 'dead':
      return [l.job.source];
    default:
      return [];
  }
}

/**
 * Reads the whole file once before anything is written: every line parses, the header comes first
 * and the trailer last, and the records of each kind add up to the trailer's counts (a truncated or
 * edited file fails here, naming the line). Returns the header, the counts and the feed groups
 * (slugs) the records name.
 */
export async function checkFile(lines: AsyncIterable<string>): Promise<{ header: Header; counts: Counts; lines: number; slugs: Set<string> }> {
  const slugs = new Set<string>();
  let header: Header | null = null;
  let trailer: Counts | null = null;
  const counts = emptyCounts();
  let n = 0;
  for await (const text of lines) {
    n++;
    if (trailer !== null) throw new ImportFileError(`line ${n}: a line after the trailer`);
    if (text.trim() === '') throw new ImportFileError(`line ${n}: an empty line`);
    let l: Line;
    try {
      l = parseLine(text);
    } catch (err) {
      throw new ImportFileError(`line ${n}: ${(err as Error).message}`);
    }
    if (n === 1) {
      if (l.kind !== 'header') throw new ImportFileError(`line 1: the file must start with a "header" line (is it a ${FORMAT} file?)`);
      header = l;
      continue;
    }
    if (l.kind === 'header') throw new ImportFileError(`line ${n}: a second header`);
    if (l.kind === 'trailer') {
      trailer = l.counts;
      continue;
    }
    counts[l.kind] += lineCount(l);
    for (const f of feedsOf(l)) slugs.add(slugOf(f));
  }
  if (header === null) throw new ImportFileError('the file is empty');
  if (trailer === null) throw new ImportFileError(`the file ends at line ${n} without its trailer line: it is incomplete (an export cut short, or a truncated copy)`);
  const wrong = KINDS.filter((k) => counts[k] !== trailer![k]);
  if (wrong.length > 0) {
    throw new ImportFileError(`the records do not add up to the trailer's counts (${wrong.map((k) => `${k}: ${counts[k]} in the file, ${trailer![k]} in the trailer`).join('; ')})`);
  }
  return { header, counts, lines: n, slugs };
}

/** Options of {@link importApp}. */
export interface ImportOptions {
  /** How long an imported event's de-duplication key catches a second import of it (µs after the event was received): the app's event retention. */
  readonly eventRetentionUs: number;
  /** Lines up to this number (1-based) were applied by an earlier run: skipped. */
  readonly skipLines?: number;
  /** Called after each applied batch with the number of its last line and the records it held. */
  readonly onBatch?: (lastLine: number, records: number) => Promise<void> | void;
}

/** The group key of lines applied together: consecutive lines of one kind, at most {@link PAGE}. */
const BATCH = PAGE;

/**
 * Writes the records of the (already checked) file into `app` through the ports. Each kind's
 * writes are idempotent: upserts by id (activities, users, collection entries, feed entries,
 * groups, hides, profile weights, tags, files), or skipped when the target holds them already
 * (reactions, files and flags by id, follow edges by their pair, events by a de-duplication key,
 * audit entries by their content and time, the model snapshot by its seq and time).
 */
export async function importApp(s: TransferStores, app: string, lines: AsyncIterable<string>, o: ImportOptions): Promise<void> {
  const applier = new Applier(s, app, o);
  let batch: Line[] = [];
  // The numbers of the batch's first and last lines.
  let first = 0;
  let last = 0;
  let n = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const records = batch.reduce((x, l) => x + lineCount(l), 0);
    try {
      await applier.apply(batch);
    } catch (err) {
      // The lines before this batch are applied (the checkpoint says so); this batch may be in part.
      throw new Error(`lines ${first} to ${last} (${batch[0].kind}): ${(err as Error).message}`, { cause: err });
    }
    batch = [];
    await o.onBatch?.(last, records);
  };
  for await (const text of lines) {
    n++;
    if (n <= (o.skipLines ?? 0)) continue;
    const l = parseLine(text);
    if (l.kind === 'header' || l.kind === 'trailer') continue;
    if (batch.length > 0 && (batch[0].kind !== l.kind || batch.length >= BATCH)) await flush();
    if (batch.length === 0) first = n;
    batch.push(l);
    last = n;
  }
  await flush();
}

type Of<K extends Line['kind']> = Extract<Line, { kind: K }>;

/** How many times each key occurs. */
function countKeys(keys: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** Takes one occurrence of `key` from `held`: whether there was one. */
function take(held: Map<string, number>, key: string): boolean {
  const n = held.get(key) ?? 0;
  if (n === 0) return false;
  held.set(key, n - 1);
  return true;
}

/** Applies batches of lines of one kind. */
class Applier {
  #audit: Map<string, number> | null = null;
  #flags: Set<string> | null = null;
  #pending: Map<string, number> | null = null;
  #dead: Map<string, number> | null = null;

  constructor(
    readonly s: TransferStores,
    readonly app: string,
    readonly o: ImportOptions,
  ) {}

  async apply(batch: Line[]): Promise<void> {
    const { s, app } = this;
    const p = s.ports;
    switch (batch[0].kind) {
      case 'activity':
        await p.intents.commit(app, (batch as Of<'activity'>[]).map((l) => ({ activity: l.record })));
        return;
      case 'tags':
        await s.signals.recordSignals(app, { tags: (batch as Of<'tags'>[]).map((l) => ({ activityId: l.activityId, tags: l.tags })) });
        return;
      case 'follow':
        // A re-follow keeps the first edge and its bound: applying an edge twice changes nothing.
        await p.intents.commit(app, (batch as Of<'follow'>[]).map((l) => ({ follow: l.record })));
        return;
      case 'reaction':
        return this.#reactions((batch as Of<'reaction'>[]).map((l) => l.record));
      case 'zero':
        return this.#zeros(batch as Of<'zero'>[]);
      case 'user':
        await p.users.putUsers(app, (batch as Of<'user'>[]).map((l) => l.record), 'replace');
        return;
      case 'entry':
        await p.collections.putEntries(app, (batch as Of<'entry'>[]).map((l) => l.record), 'replace');
        return;
      case 'feed': {
        const lines = batch as Of<'feed'>[];
        const hides = lines.filter((l) => l.hidden.length > 0 || l.floor !== null);
        if (hides.length > 0) await p.timelines.apply(app, hides.map((l) => ({ kind: 'hide', feed: l.feed, ids: l.hidden, ...(l.floor !== null ? { floor: l.floor } : {}) })));
        const pull = lines.filter((l) => l.pull).map((l) => l.feed);
        if (pull.length > 0) await p.follows.markPullServed(app, pull);
        return;
      }
      case 'timeline':
        await p.timelines.apply(
          app,
          (batch as Of<'timeline'>[]).map((l) => ({ kind: 'add', feed: l.feed, entries: l.entries.map(([id, origin]) => ({ id, origin })), maxLength: KEEP_ALL })),
        );
        return;
      case 'groups':
        return this.#groups(batch as Of<'groups'>[]);
      case 'hidden':
        await s.signals.recordSignals(app, {
          hides: (batch as Of<'hidden'>[]).map(({ record: h }) => ({ user: h.user, activityId: h.activityId, hidden: true, atUs: h.hiddenUs, placements: h.placements })),
        });
        return;
      case 'profile':
        await s.signals.recordSignals(app, {
          profile: (batch as Of<'profile'>[]).flatMap((l) =>
            l.weights.map((w) => ({ op: 'set' as const, user: l.user, dimension: w.dimension, key: w.key, source: w.source, weight: w.weight, atUs: w.updatedUs })),
          ),
        });
        return;
      case 'event':
        await s.signals.recordSignals(app, {
          events: (batch as Of<'event'>[]).map(({ record: { seq: _seq, ...event } }) => ({
            event,
            dedupeKey: `import:${event.id}`,
            dedupeUntilUs: event.receivedUs + this.o.eventRetentionUs,
          })),
        });
        return;
      case 'model':
        return this.#model(batch[batch.length - 1] as Of<'model'>);
      case 'file': {
        // Variants after their originals (a variant names its parent); ids the target holds are skipped.
        const list = (batch as Of<'file'>[]).map((l) => l.record).sort((x, y) => (x.parent === null ? 0 : 1) - (y.parent === null ? 0 : 1));
        const held = await s.records.files.getFiles(app, list.map((f) => f.id));
        for (const f of list) if (!held.has(f.id)) await s.records.files.addFile(app, f);
        return;
      }
      case 'audit':
        return this.#auditEntries((batch as Of<'audit'>[]).map((l) => l.record));
      case 'flag': {
        if (this.#flags === null) {
          this.#flags = new Set();
          for await (const page of pages((c, n) => s.listing.flags(app, c, n))) for (const f of page) this.#flags.add(f.id);
        }
        for (const { record } of batch as Of<'flag'>[]) {
          if (this.#flags.has(record.id)) continue;
          await s.records.flags.addFlag(app, record);
          this.#flags.add(record.id);
        }
        return;
      }
      case 'job':
        return this.#jobs(batch as Of<'job'>[]);
      case 'dead':
        return this.#deadLetters(batch as Of<'dead'>[]);
      default:
        return;
    }
  }

  /**
   * Pending jobs are queued again (for a worker from its next claim; their progress starts over,
   * which redoes nothing since a job's per-feed operations are idempotent). A job the target holds
   * pending already (the same kind, source and ids) is skipped, as many times as it is held.
   */
  async #jobs(lines: Of<'job'>[]): Promise<void> {
    const { s, app } = this;
    if (this.#pending === null) this.#pending = countKeys((await appJobs(s, app)).map((j) => jobKey(j)));
    const todo = lines.filter((l) => !take(this.#pending!, jobKey(l.job)));
    if (todo.length > 0) await s.ports.intents.commit(app, todo.map((l) => ({ intents: [{ ...l.job, mode: 'queued' as const }] })));
  }

  /**
   * Dead letters are written as jobs no worker takes yet (inline, within their lease) and moved to
   * the dead-letter list at once with their error and time (their count of attempts starts again
   * at one). One the target holds already (the same job and error) is skipped.
   */
  async #deadLetters(lines: Of<'dead'>[]): Promise<void> {
    const { s, app } = this;
    const q = s.ports.intents;
    if (this.#dead === null) this.#dead = countKeys((await appDeadLetters(s, app)).map((d) => jobKey(d, d.error)));
    const todo = lines.filter((l) => !take(this.#dead!, jobKey(l.job, l.error)));
    if (todo.length === 0) return;
    const steps = await q.commit(app, todo.map((l) => ({ intents: [{ ...l.job, mode: 'inline' as const }] })));
    await Promise.all(steps.map((st, i) => q.failed(st.intents[0].id, todo[i].error, null, todo[i].failedAt)));
  }

  /**
   * A count of 0 the target does not have (a kind with no reaction left of the owner) is made the
   * way it came about: a reaction of that kind added and removed for good, in two steps. Counts the
   * target has already (a soft-deleted reaction's, or an earlier import's) are left alone.
   */
  async #zeros(lines: Of<'zero'>[]): Promise<void> {
    const { s, app } = this;
    const r = s.ports.reactions;
    const [onActivities, onReactions, parents] = await Promise.all([
      r.reactionCounts(app, lines.filter((l) => l.of === 'activity').map((l) => l.owner), 'activity'),
      r.reactionCounts(app, lines.filter((l) => l.of === 'reaction').map((l) => l.owner), 'reaction'),
      r.getReactions(app, lines.filter((l) => l.of === 'reaction').map((l) => l.owner), true),
    ]);
    const nowUs = Date.now() * 1000;
    const byActivity = new Map<string, ReactionRecord[]>();
    for (const l of lines) {
      const have = (l.of === 'activity' ? onActivities : onReactions).get(l.owner) ?? {};
      const parent = l.of === 'reaction' ? parents.get(l.owner) : undefined;
      // A count of a reaction the target does not hold has nothing to be kept on.
      if (l.of === 'reaction' && parent === undefined) continue;
      for (const kind of l.kinds) {
        if (have[kind] !== undefined) continue;
        let list = byActivity.get(l.activityId);
        if (!list) byActivity.set(l.activityId, (list = []));
        list.push({ id: randomUUID(), kind, activityId: l.activityId, userId: '', parent: parent?.id ?? '', depth: parent === undefined ? 1 : parent.depth + 1, data: '{}', targetFeeds: [], createdUs: nowUs, updatedUs: nowUs, deletedUs: null });
      }
    }
    if (byActivity.size === 0) return;
    const steps = [...byActivity.values()];
    await s.ports.intents.commit(app, steps.map((add) => ({ reactions: { add } })));
    await s.ports.intents.commit(app, steps.map((remove) => ({ reactions: { remove } })));
  }

  /** Reactions the target does not hold yet, added per activity (one step each), then soft-deleted when they were. */
  async #reactions(list: ReactionRecord[]): Promise<void> {
    const { s, app } = this;
    const held = await s.ports.reactions.getReactions(app, list.map((r) => r.id), true);
    const byActivity = new Map<string, ReactionRecord[]>();
    for (const r of list) {
      if (held.has(r.id)) continue;
      let rs = byActivity.get(r.activityId);
      if (!rs) byActivity.set(r.activityId, (rs = []));
      rs.push({ ...r, deletedUs: null });
    }
    if (byActivity.size > 0) {
      await s.ports.intents.commit(app, [...byActivity.values()].map((rs) => ({ reactions: { add: rs.sort((x, y) => x.depth - y.depth) } })));
    }
    const deleted = new Map<string, { reaction: ReactionRecord; deletedUs: number }[]>();
    for (const r of list) {
      if (r.deletedUs === null) continue;
      let rs = deleted.get(r.activityId);
      if (!rs) deleted.set(r.activityId, (rs = []));
      rs.push({ reaction: { ...r, deletedUs: null }, deletedUs: r.deletedUs });
    }
    if (deleted.size > 0) await s.ports.intents.commit(app, [...deleted.values()].map((softDelete) => ({ reactions: { softDelete } })));
  }

  /** Each feed's groups replace the target's groups of the same ids, with the feed's counters. */
  async #groups(lines: Of<'groups'>[]): Promise<void> {
    const { s, app } = this;
    let todo = lines;
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt === 5) throw new Error(`the groups of ${todo.map((l) => l.feed).join(', ')} kept changing while they were imported`);
      const reads = await s.ports.groups.readForMerge(app, todo.map((l) => ({ feed: l.feed, ids: l.groups.map((g) => g.id) })));
      const moved = new Set(
        await s.ports.groups.writeGroups(
          app,
          todo.map((l, i) => ({ feed: l.feed, version: reads[i].version, put: l.groups, drop: [], counts: l.counts })),
        ),
      );
      todo = todo.filter((l) => moved.has(l.feed));
    }
  }

  /** The snapshot, unless the target's newest is this one; its seq becomes the target's seq of the same event. */
  async #model(l: Of<'model'>): Promise<void> {
    const { s, app } = this;
    const latest = await s.models.latestSnapshot(app);
    if (latest && latest.createdUs === l.createdUs && latest.updates === l.updates) return;
    let seq = 0;
    if (l.lastEventId !== null) {
      for (let after = 0; seq === 0; ) {
        const events = await s.signals.readEvents(app, after, PAGE);
        if (events.length === 0) break;
        seq = events.find((e) => e.id === l.lastEventId)?.seq ?? 0;
        after = events[events.length - 1].seq;
      }
    }
    await s.models.saveSnapshot(app, { seq, updates: l.updates, createdUs: l.createdUs, model: Buffer.from(l.model, 'base64'), state: Buffer.from(l.state, 'base64') }, 3);
  }

  /**
   * Audit entries are appended; a target that can (Redis: `AuditLog.restore`) keeps their ids
   * when they are above every id it holds, others number them anew. An entry the target already
   * holds (same entity, action, user, details and time) is skipped, as many times as it is held.
   */
  async #auditEntries(list: AuditEntry[]): Promise<void> {
    const { s, app } = this;
    const key = (e: AuditEntry) => JSON.stringify([e.entityType, e.entityId, e.action, e.userId, e.custom, e.createdUs]);
    if (this.#audit === null) {
      this.#audit = new Map();
      for await (const page of pages((c, n) => s.listing.audit(app, c, n))) for (const e of page) this.#audit.set(key(e), (this.#audit.get(key(e)) ?? 0) + 1);
    }
    const write: AuditEntry[] = [];
    for (const e of list) {
      const k = key(e);
      const held = this.#audit.get(k) ?? 0;
      if (held > 0) {
        this.#audit.set(k, held - 1);
        continue;
      }
      write.push(e);
    }
    const audit = s.records.audit;
    if (audit.restore) {
      await audit.restore(app, write);
      return;
    }
    for (const e of write) await audit.append(app, [{ entityType: e.entityType, entityId: e.entityId, action: e.action, userId: e.userId, custom: e.custom }], e.createdUs);
  }
}
