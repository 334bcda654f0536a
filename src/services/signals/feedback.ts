import { createHash, randomUUID } from 'node:crypto';
import { isPlainObject } from '../../core/activities/activity.js';
import { InputError, MissingUserError, NotAllowedError, NotFoundError } from '../../core/errors.js';
import type { App } from '../../core/feeds/feed-group.js';
import { effectsOf } from '../../personalization/signals/effects.js';
import { interestsOf } from '../../personalization/signals/interest.js';
import { eventWeight, ruleOf } from '../../personalization/signals/importance.js';
import { normaliseConfiguredTag } from '../../personalization/signals/tags.js';
import type { ProfileChange, ProfileSource } from '../../ports/profile-store.js';
import type { EventWrite } from '../../ports/signal-writes.js';
import type { Services, Uses } from '../context.js';
import { factsOf, resolveContent } from './activity-facts.js';
import type { EventCaller } from './ingest-events.js';
import { RETRY_WINDOW_US } from './ingest-events.js';
import { planHide, writeHides } from './hide-activity.js';
import { eventsRecorded, settingsOf } from './signal-context.js';

/** What feedback and interests use (hides change feeds; events and profiles go to the signal store). */
export type FeedbackDeps = Uses<'activities' | 'follows' | 'groups' | 'timelines', 'clock' | 'realtime' | 'signalStore' | 'signals'>;

const USER_RE = /^[\w-]{1,255}$/;

/** The user a personalization call is about: `user_id` (a user token may only name itself, or omit it). */
export function subjectUser(caller: EventCaller, value: unknown): string {
  if (value === undefined || value === null || value === '') {
    if (caller.kind === 'user') return caller.userId;
    throw new MissingUserError('user_id is required');
  }
  if (typeof value !== 'string' || !USER_RE.test(value)) throw new InputError('user_id may hold 1-255 letters, digits, _ and - only');
  if (caller.kind === 'user' && value !== caller.userId) throw new NotAllowedError();
  return value;
}

function flag(body: Record<string, unknown>, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InputError(`${name} must be true or false`);
  return v;
}

export interface FeedbackResult {
  readonly user_id: string;
  readonly activity_id: string;
  readonly hidden?: boolean;
  readonly show_more?: boolean;
  readonly show_less?: boolean;
}

/**
 * Explicit feedback on one activity (personalization.md §2.3, v3's meaning): `hide` takes it out of
 * the user's feeds (`hide: false` puts it back) and counts as negative feedback; `show_more` and
 * `show_less` move the user's weights for the activity's tags and author. Each is recorded as an
 * event (source `feedback`, labels `hide`, `show_more`, `show_less`) with its profile changes, in
 * one commit with the feed changes.
 */
export async function giveFeedback(s: FeedbackDeps, app: App, caller: EventCaller, body: unknown): Promise<FeedbackResult> {
  if (!isPlainObject(body)) throw new InputError('body must be an object like {"user_id": "...", "activity_id": "...", "hide": true}');
  const user = subjectUser(caller, body.user_id);
  const hide = flag(body, 'hide');
  const more = flag(body, 'show_more');
  const less = flag(body, 'show_less');
  if (hide === undefined && !more && !less) throw new InputError('give at least one of hide, show_more or show_less');
  if (more && less) throw new InputError('show_more and show_less cannot both be true');
  let ref: string;
  if (typeof body.activity_id === 'string' && body.activity_id !== '') ref = body.activity_id;
  else if (typeof body.foreign_id === 'string' && body.foreign_id !== '') ref = body.foreign_id;
  else throw new InputError('activity_id or foreign_id is required');
  if (ref.length > 255) throw new InputError('activity_id is too long');
  const activity = (await resolveContent(s, app.appId, [ref])).get(ref);
  if (activity === undefined) throw new NotFoundError(`activity ${ref.slice(0, 64)} does not exist`);
  const nowUs = s.clock.now();
  const settings = settingsOf(s, app.appId);
  const facts = (await factsOf(s, app.appId, [activity])).get(activity);
  const labels: string[] = [];
  if (hide === true) labels.push('hide');
  if (more) labels.push('show_more');
  if (less) labels.push('show_less');
  const events: EventWrite[] = labels.map((label) => {
    const rule = ruleOf(settings, label);
    const weight = eventWeight(rule, undefined, undefined);
    return {
      event: {
        id: randomUUID(),
        source: 'feedback',
        user,
        kind: rule.kind,
        label,
        activity,
        foreignId: ref === activity ? null : ref,
        weight,
        feedId: null,
        location: null,
        position: null,
        features: [],
        trackedUs: nowUs,
        receivedUs: nowUs,
      },
      dedupeKey: createHash('sha1').update(JSON.stringify(['feedback', user, activity, label])).digest('base64url'),
      dedupeUntilUs: nowUs + RETRY_WINDOW_US,
      effects: facts ? effectsOf({ user, kind: rule.kind, label, weight, tags: facts.tags, author: facts.author, atUs: nowUs }, settings) : undefined,
    };
  });
  const plans = hide === undefined ? [] : [await planHide(s, app, user, activity, hide, nowUs)];
  // Feed changes and the signals, handed over in one turn (one transaction on the embedded store).
  await writeHides(s, app, plans, (records) => s.signalStore.recordSignals(app.appId, { events, hides: records }));
  eventsRecorded(s);
  return { user_id: user, activity_id: activity, ...(hide !== undefined ? { hidden: hide } : {}), ...(more ? { show_more: true } : {}), ...(less ? { show_less: true } : {}) };
}

export interface InterestView {
  readonly tag: string;
  /** −1..1: computed interests scaled so the strongest is 1; manual ones as set. */
  readonly weight: number;
  readonly source: 'computed' | 'manual';
}

/** A user's interests (§2.3, v3's sources): manual ones and computed ones, strongest first. */
export async function readInterests(s: Pick<Services, 'clock' | 'signalStore' | 'signals'>, app: App, caller: EventCaller, userValue: unknown, limit: number): Promise<InterestView[]> {
  const user = subjectUser(caller, userValue);
  const settings = settingsOf(s, app.appId);
  const weights = (await s.signalStore.profilesOf(app.appId, [user], ['computed', 'manual'])).get(user) ?? [];
  const all = interestsOf(weights, s.clock.now(), settings.interestHalfLifeUs, Number.MAX_SAFE_INTEGER);
  const manual = new Set(weights.filter((w) => w.source === 'manual' && w.dimension === 'tag').map((w) => w.key));
  return [...all]
    .map(([tag, weight]) => ({ tag, weight: Math.round(weight * 1e6) / 1e6, source: manual.has(tag) ? ('manual' as const) : ('computed' as const) }))
    .sort((a, b) => b.weight - a.weight || (a.tag < b.tag ? -1 : 1))
    .slice(0, limit);
}

/** Most interests set in one call. */
export const MAX_INTERESTS_PER_CALL = 100;

/**
 * Sets manual interests (onboarding), `{user_id, interests: [{tag, weight}]}` or `{user_id, tag,
 * weight}`; weights −1..1. Manual interests take the place of computed ones of the same tag.
 */
export async function setInterests(s: Pick<Services, 'clock' | 'signalStore'>, app: App, caller: EventCaller, body: unknown): Promise<{ user: string; set: { tag: string; weight: number }[] }> {
  if (!isPlainObject(body)) throw new InputError('body must be an object like {"user_id": "...", "interests": [{"tag": "ski", "weight": 1}]}');
  const user = subjectUser(caller, body.user_id);
  const items = Array.isArray(body.interests) ? body.interests : body.tag !== undefined ? [{ tag: body.tag, weight: body.weight }] : null;
  if (items === null || items.length === 0) throw new InputError('interests must be a non-empty array of {tag, weight}');
  if (items.length > MAX_INTERESTS_PER_CALL) throw new InputError(`at most ${MAX_INTERESTS_PER_CALL} interests per call`);
  const set: { tag: string; weight: number }[] = [];
  items.forEach((it, i) => {
    if (!isPlainObject(it)) throw new InputError(`interests[${i}] must be an object {tag, weight}`);
    const tag = typeof it.tag === 'string' ? normaliseConfiguredTag(it.tag) : null;
    if (tag === null) throw new InputError(`interests[${i}].tag must be a tag of 1-64 characters`);
    const weight = it.weight === undefined ? 1 : it.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < -1 || weight > 1) throw new InputError(`interests[${i}].weight must be a number from -1 to 1`);
    set.push({ tag, weight });
  });
  const atUs = s.clock.now();
  const profile: ProfileChange[] = set.map((x) => ({ op: 'set', user, dimension: 'tag', key: x.tag, source: 'manual', weight: x.weight, atUs }));
  await s.signalStore.recordSignals(app.appId, { profile });
  return { user, set };
}

/** Deletes one interest (`tag`) or all, of the given sources (default manual and computed). */
export async function deleteInterests(s: Pick<Services, 'signalStore'>, app: App, caller: EventCaller, userValue: unknown, tagValue: unknown, sourceValue: unknown): Promise<string> {
  const user = subjectUser(caller, userValue);
  let tag: string | undefined;
  if (tagValue !== undefined && tagValue !== '') {
    tag = (typeof tagValue === 'string' ? normaliseConfiguredTag(tagValue) : null) ?? undefined;
    if (tag === undefined) throw new InputError('tag must be a tag of 1-64 characters');
  }
  let sources: ProfileSource[] = ['manual', 'computed'];
  if (sourceValue !== undefined && sourceValue !== '' && sourceValue !== 'all') {
    if (sourceValue !== 'manual' && sourceValue !== 'computed') throw new InputError('source must be manual, computed or all');
    sources = [sourceValue];
  }
  const profile: ProfileChange[] = sources.map((source) => ({ op: 'remove', user, dimension: 'tag', source, key: tag }));
  await s.signalStore.recordSignals(app.appId, { profile });
  return user;
}
