import { createHash, randomUUID } from 'node:crypto';
import { isPlainObject } from '../../core/activities/activity.js';
import { InputError, NotAllowedError } from '../../core/errors.js';
import type { App } from '../../core/feeds/feed-group.js';
import { parseTime } from '../../core/time.js';
import { effectsOf } from '../../personalization/signals/effects.js';
import { eventWeight, ruleOf } from '../../personalization/signals/importance.js';
import type { NewEvent } from '../../ports/event-log.js';
import type { EventWrite } from '../../ports/signal-writes.js';
import type { Uses } from '../context.js';
import { factsOf, resolveContent } from './activity-facts.js';
import { planHide, writeHides, type HidePlan } from './hide-activity.js';
import { eventsRecorded, settingsOf } from './signal-context.js';

/** What ingesting analytics events uses (hides change feeds; events go to the signal store). */
export type IngestDeps = Uses<'activities' | 'follows' | 'groups' | 'timelines', 'clock' | 'realtime' | 'signalStore' | 'signals'>;

/** Most events in one analytics request (the body limit of 1 MiB applies too). */
export const MAX_EVENTS_PER_REQUEST = 1000;
/** Most content items in one impression. */
export const MAX_CONTENT_PER_IMPRESSION = 100;
/** How long (µs) an event's identity catches client retries (see {@link dedupeKey}). */
export const RETRY_WINDOW_US = 3_600_000_000;
/** `tracked_at` is clamped to [now − 7 days, now + 5 minutes] (§2.1). */
const PAST_US = 7 * 86_400_000_000;
const FUTURE_US = 300_000_000;

const LABEL_RE = /^[\w.:-]{1,64}$/;
const MAX_TEXT = 255;

/** Who sends the events: a server token (any user) or a user token (only its own). */
export type EventCaller = { readonly kind: 'server' } | { readonly kind: 'user'; readonly userId: string };

export type AnalyticsResource = 'impression' | 'engagement';

/** One validated analytics event, before resolution. */
export interface ParsedEvent {
  readonly index: number;
  readonly user: string;
  readonly label: string;
  /** Content references, one per stored event (impressions carry many). */
  readonly contents: readonly { ref: string; foreign: boolean }[];
  readonly score?: number;
  readonly boost?: number;
  readonly position: number | null;
  readonly feedId: string | null;
  readonly location: string | null;
  readonly features: string[];
  readonly trackedAt: string | null;
  readonly trackedUs: number | null;
}

/** The events of a request body in the shapes the SDKs send (§2.1): a JSON array, `{content_list: [...]}` or one object. */
export function eventsOfBody(resource: AnalyticsResource, body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (!isPlainObject(body)) throw new InputError('body must be a JSON array of events, {"content_list": [...]} or one event');
  const list = body.content_list;
  // An impression is itself an object with a content_list (of content ids); a wrapper's list holds
  // events, i.e. objects.
  // An object without a list of events is one event (which the checks then name field by field).
  const single = !Array.isArray(list) || (resource === 'engagement' ? 'label' in body || 'content' in body : list.some((x) => !isPlainObject(x) || !('content_list' in x)));
  if (single) return [body];
  return list as unknown[];
}

/** Collects field errors of a request as `events[i].field: message`. */
class Problems {
  readonly list: [string, string][] = [];
  add(index: number, field: string, message: string): void {
    this.list.push([`events[${index}]${field === '' ? '' : `.${field}`}`, message]);
  }
  throwIfAny(): void {
    if (this.list.length === 0) return;
    const fields: Record<string, string[]> = {};
    for (const [k, m] of this.list) (fields[k] ??= []).push(m);
    const shown = this.list.slice(0, 20).map(([k, m]) => `${k}: ${m}`);
    const more = this.list.length > shown.length ? `; and ${this.list.length - shown.length} more` : '';
    throw new InputError(`invalid events, nothing was stored: ${shown.join('; ')}${more}`, { fields });
  }
}

function text(p: Problems, i: number, field: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '' || Buffer.byteLength(v) > MAX_TEXT) {
    p.add(i, field, `${field} should be a non-empty string of at most ${MAX_TEXT} bytes`);
    return null;
  }
  return v;
}

function contentRef(p: Problems, i: number, field: string, v: unknown): { ref: string; foreign: boolean } | null {
  if (typeof v === 'string' && v !== '' && Buffer.byteLength(v) <= MAX_TEXT) return { ref: v, foreign: false };
  if (isPlainObject(v) && typeof v.foreign_id === 'string' && v.foreign_id !== '' && Buffer.byteLength(v.foreign_id) <= MAX_TEXT) return { ref: v.foreign_id, foreign: true };
  p.add(i, field, `${field} should be a content id string or an object with a foreign_id string`);
  return null;
}

function parseEvent(resource: AnalyticsResource, raw: unknown, i: number, caller: EventCaller, nowUs: number, p: Problems): ParsedEvent | null {
  if (!isPlainObject(raw)) {
    p.add(i, '', 'each event should be an object');
    return null;
  }
  const before = p.list.length;
  let user: string | null = null;
  const ud = raw.user_data;
  if (ud === undefined || ud === null) {
    if (caller.kind === 'user') user = caller.userId;
    else p.add(i, 'user_data', 'user_data is required: a user id string or {"id": ...}');
  } else if (typeof ud === 'string' || typeof ud === 'number') {
    user = String(ud);
  } else if (isPlainObject(ud) && (typeof ud.id === 'string' || typeof ud.id === 'number')) {
    user = String(ud.id);
  } else {
    p.add(i, 'user_data', 'user_data should be a user id string or an object with an id');
  }
  if (user !== null && (user === '' || Buffer.byteLength(user) > MAX_TEXT)) {
    p.add(i, 'user_data', `the user id should be 1-${MAX_TEXT} bytes`);
    user = null;
  }
  let label = 'impression';
  const contents: { ref: string; foreign: boolean }[] = [];
  if (resource === 'engagement') {
    if (typeof raw.label !== 'string' || !LABEL_RE.test(raw.label)) p.add(i, 'label', 'label should be a string of 1-64 letters, digits, _ . : or -');
    else label = raw.label;
    const c = contentRef(p, i, 'content', raw.content);
    if (c) contents.push(c);
  } else {
    const list = raw.content_list;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CONTENT_PER_IMPRESSION) {
      p.add(i, 'content_list', `content_list should be an array of 1-${MAX_CONTENT_PER_IMPRESSION} content ids or {foreign_id} objects`);
    } else {
      list.forEach((v, j) => {
        const c = contentRef(p, i, `content_list[${j}]`, v);
        if (c) contents.push(c);
      });
    }
  }
  const num = (field: string, lo: number, hi: number, integer = false): number | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      p.add(i, field, `${field} should be ${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}`);
      return undefined;
    }
    return v;
  };
  const score = resource === 'engagement' ? num('score', 0, 100) : undefined;
  const boost = resource === 'engagement' ? num('boost', 0, 100) : undefined;
  const position = num('position', 0, 1_000_000, true) ?? null;
  const feedId = text(p, i, 'feed_id', raw.feed_id);
  const location = text(p, i, 'location', raw.location);
  const features: string[] = [];
  if (raw.features !== undefined && raw.features !== null) {
    if (!Array.isArray(raw.features) || raw.features.length > 50) p.add(i, 'features', 'features should be an array of at most 50 {group, value} objects');
    else
      raw.features.forEach((f, j) => {
        if (!isPlainObject(f) || typeof f.group !== 'string' || typeof f.value !== 'string' || f.group === '' || f.value === '' || f.group.length > 64 || f.value.length > MAX_TEXT) {
          p.add(i, `features[${j}]`, 'a feature should be {"group": string, "value": string}');
        } else features.push(`${f.group}:${f.value}`);
      });
  }
  let trackedAt: string | null = null;
  let trackedUs: number | null = null;
  if (raw.tracked_at !== undefined && raw.tracked_at !== null) {
    const t = typeof raw.tracked_at === 'string' ? parseTime(raw.tracked_at) : null;
    if (t === null) p.add(i, 'tracked_at', 'tracked_at should be a time such as 2024-05-01T10:00:00Z');
    else {
      trackedAt = raw.tracked_at as string;
      trackedUs = Math.min(nowUs + FUTURE_US, Math.max(nowUs - PAST_US, t));
    }
  }
  if (p.list.length > before || user === null) return null;
  return { index: i, user, label, contents, score, boost, position, feedId, location, features, trackedAt, trackedUs };
}

/**
 * The identity of an event for retries: the same user, label, content, context and `tracked_at`
 * within {@link RETRY_WINDOW_US} is one event. Without `tracked_at`, an identical event repeated
 * within the window therefore counts once.
 */
function dedupeKey(e: ParsedEvent, ref: string, slot: number): string {
  return createHash('sha1')
    .update(JSON.stringify([e.user, e.label, ref, slot, e.trackedAt ?? '', e.feedId ?? '', e.position ?? '', e.location ?? '', e.features]))
    .digest('base64url');
}

export interface IngestResult {
  /** Events taken (retries dropped by the store are counted too: the store decides). */
  readonly events: number;
}

/**
 * Takes a request of analytics events (personalization.md §2.1): validates every event first and
 * refuses the whole request naming each bad event and field (400), refuses a user token sending
 * another user's events (403/17), resolves contents to activities, and commits the events, their
 * profile effects and, for the label `hide`, the hide of the activity from the user's feeds — all
 * in one commit, so a retried request changes nothing twice.
 */
export async function ingestAnalytics(s: IngestDeps, app: App, caller: EventCaller, resource: AnalyticsResource, body: unknown): Promise<IngestResult> {
  const nowUs = s.clock.now();
  return { events: await recordEvents(s, app, parseEvents(caller, resource, body, nowUs), nowUs) };
}

/**
 * Validates a request's events (every one, before anything is stored) and the user rule; throws
 * 400 naming each bad event and field, or 403/17.
 */
export function parseEvents(caller: EventCaller, resource: AnalyticsResource, body: unknown, nowUs: number): ParsedEvent[] {
  const raws = eventsOfBody(resource, body);
  if (raws.length === 0) throw new InputError('no events in the request');
  if (raws.length > MAX_EVENTS_PER_REQUEST) throw new InputError(`at most ${MAX_EVENTS_PER_REQUEST} events per request`);
  const problems = new Problems();
  const parsed = raws.map((r, i) => parseEvent(resource, r, i, caller, nowUs, problems));
  problems.throwIfAny();
  const events = parsed as ParsedEvent[];
  if (caller.kind === 'user' && events.some((e) => e.user !== caller.userId)) throw new NotAllowedError();
  return events;
}

/** Resolves and commits validated events in one commit; returns how many event rows it handed over. */
export async function recordEvents(s: IngestDeps, app: App, events: readonly ParsedEvent[], nowUs: number): Promise<number> {
  const settings = settingsOf(s, app.appId);
  const resolved = await resolveContent(s, app.appId, events.flatMap((e) => e.contents.map((c) => c.ref)));
  const needFacts = new Set<string>();
  for (const e of events) {
    if (ruleOf(settings, e.label).kind === 'impression') continue;
    for (const c of e.contents) {
      const id = resolved.get(c.ref);
      if (id !== undefined) needFacts.add(id);
    }
  }
  const facts = await factsOf(s, app.appId, [...needFacts]);
  const writes: EventWrite[] = [];
  const hidePlans: HidePlan[] = [];
  for (const e of events) {
    const rule = ruleOf(settings, e.label);
    const weight = eventWeight(rule, e.score, e.boost);
    const trackedUs = e.trackedUs ?? nowUs;
    for (let j = 0; j < e.contents.length; j++) {
      const c = e.contents[j];
      const activity = resolved.get(c.ref) ?? null;
      const event: NewEvent = {
        id: randomUUID(),
        source: 'analytics',
        user: e.user,
        kind: rule.kind,
        label: e.label,
        activity,
        foreignId: c.foreign || activity === null || activity !== c.ref ? c.ref : null,
        weight,
        feedId: e.feedId,
        location: e.location,
        position: e.contents.length > 1 ? (e.position ?? 0) + j : e.position,
        features: e.features,
        trackedUs,
        receivedUs: nowUs,
      };
      const f = activity === null ? undefined : facts.get(activity);
      const effects = f === undefined ? undefined : effectsOf({ user: e.user, kind: rule.kind, label: e.label, weight, tags: f.tags, author: f.author, atUs: trackedUs }, settings);
      writes.push({ event, dedupeKey: dedupeKey(e, c.ref, j), dedupeUntilUs: nowUs + RETRY_WINDOW_US, effects });
      if (e.label === 'hide' && activity !== null) hidePlans.push(await planHide(s, app, e.user, activity, true, nowUs));
    }
  }
  await writeHides(s, app, hidePlans, (records) => s.signalStore.recordSignals(app.appId, { events: writes, hides: records.length > 0 ? records : undefined }));
  eventsRecorded(s);
  return writes.length;
}

