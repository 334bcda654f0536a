import { isPlainObject } from '../core/activities/activity.js';
import { ConflictError, InputError, NotFoundError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { isValidUserId } from '../core/feeds/feed-id.js';
import { formatTimestamp } from '../core/time.js';
import type { UserRecord } from '../ports/user-store.js';
import type { Uses } from './context.js';
import { audit, change } from './audit.js';

/** What writing users uses. */
export type UserDeps = Uses<'users', 'audit' | 'clock'>;
/** What reading users uses (follow counts come with a user when asked). */
export type UserReadDeps = Uses<'follows' | 'users'>;

/** Largest `data` object of a user or collection entry, as JSON (Stream's documented 10 kB). */
export const MAX_DATA_BYTES = 10_240;
/** Users per `users/` call (add, get or delete), as Stream documents for its batch endpoints. */
export const MAX_USERS_PER_BATCH = 1000;

/**
 * The feeds behind profile counts (§8.6, §23.3): `followers_count` counts the feeds following
 * `<followers>:{id}`, `following_count` the feeds that `<following>:{id}` follows.
 */
export const PROFILE_FEEDS = { followers: 'user', following: 'timeline' } as const;

/** A user to create: a valid id and its data as JSON text. */
export interface NewUser {
  readonly id: string;
  readonly data: string;
}

/** Validates a user id (§4.2: the feed user-id set `^[\w-]+$`, at most 255 characters); 400/4 otherwise. */
export function parseUserId(value: unknown, what = 'id'): string {
  if (typeof value !== 'string') throw new InputError(`${what} must be a string`, { fields: { [what]: ['must be a string'] } });
  if (!isValidUserId(value)) {
    throw new InputError(`${what}: invalid user id "${value.slice(0, 80)}" (1-255 letters, digits, _ and - only)`, {
      fields: { [what]: ['invalid'] },
    });
  }
  return value;
}

/**
 * Validates a `data` value and returns its JSON text: a JSON object of at most
 * {@link MAX_DATA_BYTES}. `absent` is what a missing or null value means: `'empty'` stores `{}`
 * (users, §12.1), `'error'` refuses it. With `nonEmpty`, `{}` is refused too (collections, §20.3 item 10).
 */
export function dataText(value: unknown, what: string, opts: { absent: 'empty' | 'error'; nonEmpty: boolean }): string {
  if (value === undefined || value === null) {
    if (opts.absent === 'empty') return '{}';
    throw new InputError(`${what} is required and must be a JSON object`, { fields: { [what]: ['required'] } });
  }
  if (!isPlainObject(value)) {
    const kind = Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new InputError(`${what} must be a JSON object, got ${kind}`, { fields: { [what]: ['must be an object'] } });
  }
  if (opts.nonEmpty && Object.keys(value).length === 0) {
    throw new InputError(`${what} must not be empty`, { fields: { [what]: ['must not be empty'] } });
  }
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text) > MAX_DATA_BYTES) {
    throw new InputError(`${what} is larger than ${MAX_DATA_BYTES} bytes as JSON`, { fields: { [what]: ['too large'] } });
  }
  return text;
}

/** Parses the body of `POST user/` (§12.1): `{"id": "alice", "data": {...}}`, data optional. */
export function parseNewUser(body: unknown): NewUser {
  if (!isPlainObject(body)) throw new InputError('body must be a JSON object {"id": "...", "data": {...}}');
  return { id: parseUserId(body.id, 'id'), data: dataText(body.data, 'data', { absent: 'empty', nonEmpty: false }) };
}

/**
 * Creates a user (§12.1). An existing id is 409/22, unless `getOrCreate`: then the stored user is
 * returned unchanged (its data, created_at and updated_at; the new data is ignored).
 */
export async function createUser(s: UserDeps, app: App, user: NewUser, getOrCreate: boolean): Promise<{ user: UserRecord; created: boolean }> {
  const now = s.clock.next();
  const [r] = await s.ports.users.putUsers(app.appId, [{ id: user.id, data: user.data, createdUs: now, updatedUs: now }], 'keep');
  if (!r.created && !getOrCreate) throw new ConflictError(`user "${user.id}" already exists`);
  if (r.created) await audit(s, app, [change('user', user.id, 'created', user.id)]);
  return { user: r.record, created: r.created };
}

/** Follow counts of a profile read (§8.6). */
export interface ProfileCounts {
  readonly followers: number;
  readonly following: number;
}

/** Reads a user (§12.1), with profile follow counts when asked; 404/16 when there is none. */
export async function getUser(
  s: UserReadDeps,
  app: App,
  id: string,
  withFollowCounts: boolean,
): Promise<{ user: UserRecord; counts: ProfileCounts | null }> {
  const user = (await s.ports.users.getUsers(app.appId, [id])).get(id);
  if (!user) throw new NotFoundError(`user "${id}" does not exist`);
  if (!withFollowCounts) return { user, counts: null };
  const [into, outOf] = await Promise.all([
    s.ports.follows.followCounts(app.appId, `${PROFILE_FEEDS.followers}:${id}`),
    s.ports.follows.followCounts(app.appId, `${PROFILE_FEEDS.following}:${id}`),
  ]);
  return { user, counts: { followers: into.followers, following: outOf.following } };
}

/**
 * Replaces a user's data wholesale (§12.1); 404/16 when the user does not exist. `data` is required
 * (400/4 without it): a body that forgot it must not wipe the profile. `{"data": {}}` empties it.
 */
export async function updateUser(s: UserDeps, app: App, id: string, body: unknown): Promise<UserRecord> {
  if (!isPlainObject(body)) throw new InputError('body must be a JSON object {"data": {...}}');
  if (body.id !== undefined && body.id !== id) throw new InputError('id cannot be changed', { fields: { id: ['cannot be changed'] } });
  const data = dataText(body.data, 'data', { absent: 'error', nonEmpty: false });
  const user = await s.ports.users.updateUser(app.appId, id, data, s.clock.next());
  if (!user) throw new NotFoundError(`user "${id}" does not exist`);
  await audit(s, app, [change('user', id, 'updated', id)]);
  return user;
}

/** Deletes a user (§12.1); 404/16 when there is none. Activities and follows are untouched. */
export async function deleteUser(s: UserDeps, app: App, id: string): Promise<void> {
  const deleted = await s.ports.users.deleteUsers(app.appId, [id]);
  if (deleted.length === 0) throw new NotFoundError(`user "${id}" does not exist`);
  await audit(s, app, [change('user', id, 'deleted', id)]);
}

/**
 * Parses the body of `POST users/` (§12.2): `{"users": [{"id", "data"}, …], "override": bool}`.
 * Other keys of an item are ignored. One bad item rejects the whole batch (§23.2), naming its index.
 */
export function parseAddUsers(body: unknown): { users: NewUser[]; override: boolean } {
  if (!isPlainObject(body)) throw new InputError('body must be a JSON object {"users": [...], "override": false}');
  const { users, override } = body;
  if (!Array.isArray(users)) throw new InputError('users must be an array of {"id", "data"}', { fields: { users: ['must be an array'] } });
  if (users.length > MAX_USERS_PER_BATCH) throw new InputError(`at most ${MAX_USERS_PER_BATCH} users per request`);
  if (override !== undefined && override !== null && typeof override !== 'boolean') {
    throw new InputError('override must be a boolean', { fields: { override: ['must be a boolean'] } });
  }
  const parsed = users.map((u, i) => {
    if (!isPlainObject(u)) throw new InputError(`users[${i}] must be a JSON object {"id", "data"}`);
    return {
      id: parseUserId(u.id, `users[${i}].id`),
      data: dataText(u.data, `users[${i}].data`, { absent: 'empty', nonEmpty: false }),
    };
  });
  return { users: parsed, override: override === true };
}

/**
 * Adds users in one atomic step (§12.2): new ids are created; existing ones are replaced when
 * `override`, kept otherwise. Returns every named user as stored afterwards, each once, in the
 * order of first mention.
 */
export async function addUsers(s: UserDeps, app: App, users: readonly NewUser[], override: boolean): Promise<UserRecord[]> {
  if (users.length === 0) return [];
  const now = s.clock.next();
  const results = await s.ports.users.putUsers(
    app.appId,
    users.map((u) => ({ id: u.id, data: u.data, createdUs: now, updatedUs: now })),
    override ? 'replace' : 'keep',
  );
  // Later results of a repeated id reflect the earlier items too, so the last one is the final state.
  const byId = new Map<string, UserRecord>();
  for (const r of results) byId.set(r.record.id, r.record);
  const changed = new Map<string, string>();
  for (const r of results) if (r.created || override) changed.set(r.record.id, changed.has(r.record.id) || !r.created ? 'updated' : 'created');
  await audit(s, app, [...changed].map(([id, action]) => change('user', id, action, id)));
  const order = [...new Set(users.map((u) => u.id))];
  return order.map((id) => byId.get(id)!);
}

/** Validates the `ids` list of `users/` GET and DELETE (§12.2). */
export function parseUserIds(ids: readonly string[] | undefined): string[] {
  if (ids === undefined) throw new InputError('ids is required (comma-separated user ids)', { fields: { ids: ['required'] } });
  if (ids.length > MAX_USERS_PER_BATCH) throw new InputError(`at most ${MAX_USERS_PER_BATCH} ids per request`);
  return ids.map((id, i) => parseUserId(id, `ids[${i}]`));
}

/** The users with these ids, in the order asked, each once; unknown ids are skipped (§12.2). */
export async function getUsers(s: UserReadDeps, app: App, ids: readonly string[]): Promise<UserRecord[]> {
  const found = await s.ports.users.getUsers(app.appId, ids);
  const out: UserRecord[] = [];
  for (const id of new Set(ids)) {
    const u = found.get(id);
    if (u) out.push(u);
  }
  return out;
}

/** Deletes users in one atomic step; returns the ids that existed (§12.2, §22 item 4). */
export async function deleteUsers(s: UserDeps, app: App, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const deleted = await s.ports.users.deleteUsers(app.appId, ids);
  await audit(s, app, deleted.map((id) => change('user', id, 'deleted', id)));
  return deleted;
}

/**
 * The wire form of a user (§5.3) as JSON text, splicing the stored data without re-parsing it:
 * exactly `id, data, created_at, updated_at`, plus `followers_count`/`following_count` on profile
 * reads. Enriched `SU:` references use the form without counts.
 */
export function userJson(u: UserRecord, counts: ProfileCounts | null = null): string {
  let text =
    `{"id":${JSON.stringify(u.id)},"data":${u.data},` +
    `"created_at":"${formatTimestamp(u.createdUs)}","updated_at":"${formatTimestamp(u.updatedUs)}"`;
  if (counts) text += `,"followers_count":${counts.followers},"following_count":${counts.following}`;
  return text + '}';
}
