import { InputError } from '../errors.js';
import { formatActivityTime, parseTime } from '../time.js';
import { activityId } from './activity-id.js';

/**
 * An activity as Rivulet stores it (stream-v2-api.md §5.1). `body` is the activity's JSON in
 * stored form without `origin`, serialized once at write time; reads splice `origin` in front of
 * it instead of parsing and re-serializing (see {@link withOrigin}).
 */
export interface StoredActivity {
  readonly id: string;
  readonly timeUs: number;
  readonly foreignId: string;
  readonly to: readonly string[];
  readonly body: string;
}

/** The keys every activity carries; everything else is a custom field. */
export const CORE_KEYS = new Set(['id', 'actor', 'verb', 'object', 'target', 'time', 'foreign_id', 'origin', 'to']);

/**
 * `__proto__` arrives as an ordinary key from JSON.parse but assigning it to an object changes the
 * object's prototype instead of storing a field, so it would vanish silently; refuse it.
 */
const FORBIDDEN_KEYS = new Set(['__proto__']);

/** Enrichment outputs a caller cannot store as custom data. */
export const RESERVED_KEYS = new Set([
  'latest_reactions',
  'own_reactions',
  'reaction_counts',
  'latest_reactions_extra',
  'own_reactions_extra',
]);

/**
 * Outputs of a ranked read that writes ignore: the Go, Java and .NET clients' activity types carry
 * `score` (Go and .NET also `score_vars`), so an activity read from a ranked feed and sent back in
 * an update or add brings them along. They are recomputed on every ranked read, never stored.
 */
export const IGNORED_KEYS = new Set(['score', 'score_vars']);

export const MAX_ACTIVITY_BYTES = 10_240;
export const MAX_FIELD_BYTES = 255;
export const MAX_TO_TARGETS = 100;
/**
 * Deepest nesting of arrays/objects in a custom field. JSON.parse accepts any depth, but
 * serializing and cloning recurse, so a small body of `[[[[…]]]]` would exhaust the stack (a 500)
 * before the size check could refuse it. Real data stays far below this.
 */
export const MAX_NESTING = 100;

/** Refuses custom values nested deeper than {@link MAX_NESTING}; iterative so it cannot overflow. */
export function checkNesting(value: unknown, field: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_NESTING) {
      throw new InputError(`${field} is nested deeper than ${MAX_NESTING} levels`, { fields: { [field]: ['nested too deeply'] } });
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
}

/** Validates an activity's string field: strings and numbers (coerced) up to 255 bytes. */
export function activityString(value: unknown, field: string, required: boolean): string {
  if (value === undefined || (value === null && !required)) {
    if (required) throw new InputError(`${field} is a required field`, { fields: { [field]: ['required'] } });
    return '';
  }
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else throw new InputError(`${field} must be a string`, { fields: { [field]: ['must be a string'] } });
  if (required && text === '') {
    throw new InputError(`${field} is a required field and cannot be empty`, { fields: { [field]: ['cannot be empty'] } });
  }
  if (Buffer.byteLength(text) > MAX_FIELD_BYTES) {
    throw new InputError(`${field} is longer than ${MAX_FIELD_BYTES} bytes`, { fields: { [field]: ['too long'] } });
  }
  return text;
}

/** True for a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The fields of an activity after validation, before an id and time are fixed. */
export interface ActivityDraft {
  actor: string;
  verb: string;
  object: string;
  target: string;
  foreignId: string;
  /** Microseconds, or null when the server assigns the time. */
  timeUs: number | null;
  to: string[];
  custom: Record<string, unknown>;
}

/**
 * Validates an incoming activity. `validateTo` checks each `to` entry (feed id syntax and group)
 * and returns it normalized. Throws 400/4 naming the field.
 */
export function parseActivity(input: unknown, validateTo: (fid: unknown) => string): ActivityDraft {
  if (!isPlainObject(input)) throw new InputError('activity must be a JSON object');
  const actor = activityString(input.actor, 'actor', true);
  const verb = activityString(input.verb, 'verb', true);
  const object = activityString(input.object, 'object', true);
  const target = activityString(input.target, 'target', false);
  const foreignId = activityString(input.foreign_id, 'foreign_id', false);
  let timeUs: number | null = null;
  if (input.time !== undefined && input.time !== null) {
    if (typeof input.time !== 'string') throw new InputError('time must be a string', { fields: { time: ['must be a string'] } });
    timeUs = parseTime(input.time);
    if (timeUs === null) throw new InputError(`time "${input.time.slice(0, 64)}" is not a valid time`, { fields: { time: ['invalid'] } });
  }
  let to: string[] = [];
  if (input.to !== undefined && input.to !== null) {
    if (!Array.isArray(input.to)) throw new InputError('to must be an array of feed ids', { fields: { to: ['must be an array'] } });
    if (input.to.length > MAX_TO_TARGETS) throw new InputError(`to has more than ${MAX_TO_TARGETS} targets`);
    to = [...new Set(input.to.map(validateTo))];
  }
  const custom: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (CORE_KEYS.has(key) || IGNORED_KEYS.has(key)) continue;
    if (RESERVED_KEYS.has(key) || FORBIDDEN_KEYS.has(key)) {
      throw new InputError(`${key} is a reserved field name`, { fields: { [key]: ['reserved'] } });
    }
    checkNesting(input[key], key);
    custom[key] = input[key];
  }
  return { actor, verb, object, target, foreignId, timeUs, to, custom };
}

/** Serializes the stored form (without origin). The key order is the one Stream answers with. */
export function serializeActivity(
  id: string,
  timeUs: number,
  fields: { actor: string; verb: string; object: string; target: string; foreignId: string; to: readonly string[]; custom: Record<string, unknown> },
): string {
  const head: Record<string, unknown> = {
    id,
    actor: fields.actor,
    verb: fields.verb,
    object: fields.object,
    target: fields.target,
    time: formatActivityTime(timeUs),
    foreign_id: fields.foreignId,
  };
  if (fields.to.length > 0) head.to = fields.to;
  return JSON.stringify(Object.assign(head, fields.custom));
}

/**
 * Fixes the id and time of a draft and produces its stored form; throws 400/4 when oversize.
 * `writer` names the process that chose a server time for an activity without foreign_id: two
 * processes can hand out the same microsecond, and the same content posted twice must still be
 * two activities. Explicit times leave it out, so a resent activity keeps its id.
 */
export function finishActivity(draft: ActivityDraft, timeUs: number, writer = ''): StoredActivity {
  const identity = draft.foreignId !== ''
    ? 'f\u0000' + draft.foreignId
    : 'c\u0000' + JSON.stringify([draft.actor, draft.verb, draft.object, draft.target, draft.to, draft.custom]) + (writer === '' ? '' : '\u0000' + writer);
  const id = activityId(timeUs, identity);
  const body = serializeActivity(id, timeUs, draft);
  checkSize(body);
  return { id, timeUs, foreignId: draft.foreignId, to: draft.to, body };
}

export function checkSize(body: string): void {
  if (body.length > MAX_ACTIVITY_BYTES / 4 && Buffer.byteLength(body) > MAX_ACTIVITY_BYTES) {
    throw new InputError(`activity is larger than ${MAX_ACTIVITY_BYTES} bytes`);
  }
}

/** The stored JSON with `origin` spliced in front: `{"origin":…,` + the rest. */
export function withOrigin(body: string, origin: string | null): string {
  return (origin === null ? '{"origin":null,' : '{"origin":' + JSON.stringify(origin) + ',') + body.slice(1);
}

/** Parses a stored body back into an object (update paths only; reads splice strings). */
export function parseBody(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

/**
 * Rebuilds a stored activity from an edited object (partial or full update). Keeps id, time and
 * foreign id; validates the core fields again.
 */
export function rebuildActivity(prev: StoredActivity, obj: Record<string, unknown>, to: readonly string[]): StoredActivity {
  const custom: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (CORE_KEYS.has(key) || IGNORED_KEYS.has(key)) continue;
    if (RESERVED_KEYS.has(key) || FORBIDDEN_KEYS.has(key)) throw new InputError(`${key} is a reserved field name`);
    checkNesting(obj[key], key);
    custom[key] = obj[key];
  }
  const body = serializeActivity(prev.id, prev.timeUs, {
    actor: activityString(obj.actor, 'actor', true),
    verb: activityString(obj.verb, 'verb', true),
    object: activityString(obj.object, 'object', true),
    target: activityString(obj.target, 'target', false),
    foreignId: prev.foreignId,
    to,
    custom,
  });
  checkSize(body);
  return { id: prev.id, timeUs: prev.timeUs, foreignId: prev.foreignId, to, body };
}
