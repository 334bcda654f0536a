/**
 * Helpers shared by the reaction and enrichment API tests. Expectations come from the wire
 * contract (stream-v2-api.md §5.5, §9, §10), never from server code.
 */
import assert from 'node:assert/strict';
import type { StreamClient } from 'getstream';
import { rawRequest, readResponse, uid, type TestServer } from '../support/server.js';
import { DURATION_RE, sortedKeys } from './activity-helpers.js';

/** The eleven keys every reaction carries (§5.5). */
export const REACTION_KEYS = [
  'activity_id',
  'children_counts',
  'created_at',
  'data',
  'id',
  'kind',
  'latest_children',
  'parent',
  'updated_at',
  'user',
  'user_id',
];

/** Users: exactly these keys (§5.3). */
export const USER_KEYS = ['created_at', 'data', 'id', 'updated_at'];

/** Collection entries: exactly these keys (§5.4). */
export const ENTRY_KEYS = ['collection', 'created_at', 'data', 'foreign_id', 'id', 'updated_at'];

/** Reaction, user and collection times: UTC RFC 3339 with `Z`, 6 fractional digits (§4.3). */
export const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

// Bodies are checked by assertions, not by types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** Asserts a reaction has exactly the eleven keys plus `extra` (e.g. `target_feeds`, `duration`). */
export function assertReactionKeys(r: Json, extra: string[] = []): void {
  assert.deepEqual(sortedKeys(r), [...REACTION_KEYS, ...extra].sort(), `reaction keys of ${JSON.stringify(r)}`);
  assert.match(r.created_at, TIMESTAMP_RE);
  assert.match(r.updated_at, TIMESTAMP_RE);
  if ('duration' in r) assert.match(r.duration, DURATION_RE);
}

/** A response body without `duration` (asserting it was there). */
export function strip(body: Json): Json {
  const { duration, ...rest } = body;
  assert.equal(typeof duration, 'string', `duration missing in ${JSON.stringify(body).slice(0, 300)}`);
  assert.match(duration, DURATION_RE);
  return rest;
}

/** A reaction as later reads show it: the add/update response without `duration` and extra data. */
export function asRead(body: Json): Json {
  const { duration, target_feeds_extra_data, ...rest } = body;
  return rest;
}

/** A user with a user object, its `full` form and a client acting with its user token. */
export interface Person {
  readonly id: string;
  readonly full: Json;
  readonly client: StreamClient;
}

/** Creates users (server side) and returns them with user-token clients. */
export async function people(t: TestServer, ...names: string[]): Promise<Person[]> {
  const c = t.client();
  return Promise.all(
    names.map(async (name) => {
      const id = uid(name);
      const u = await c.user(id).create({ name: name[0].toUpperCase() + name.slice(1), likes: [name] });
      return { id, full: { ...u.full! }, client: t.userClient(id) };
    }),
  );
}

/** Calls an absolute URL the server handed out (a `next` link), adding only the api key and token. */
export async function follow(t: TestServer, link: string, token?: string): Promise<{ status: number; body: any; text: string }> {
  const url = new URL(link, t.baseUrl);
  url.searchParams.set('api_key', t.apiKey);
  const res = await fetch(url, { headers: { authorization: token ?? t.client().getOrCreateToken() } });
  return readResponse(res);
}

/** Top-level reaction counts of an activity, read through a plain `activities/` call. */
export async function countsOf(t: TestServer, activityId: string): Promise<Record<string, number>> {
  const res = await rawRequest(t, 'GET', 'activities/', { query: { ids: activityId, withReactionCounts: 'true' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.results.length, 1, `activity ${activityId} not found`);
  return res.body.results[0].reaction_counts;
}

/** Every reaction id of a listing (`activity_id`, `user_id` or `reaction_id` lookup), newest first. */
export async function listIds(t: TestServer, lookup: string, value: string, kind?: string): Promise<string[]> {
  const out: string[] = [];
  let path = `reaction/${lookup}/${value}/${kind ? `${kind}/` : ''}`;
  let query: Record<string, string> = { limit: '25' };
  for (let i = 0; i < 100; i++) {
    const res = await rawRequest(t, 'GET', path, { query });
    assert.equal(res.status, 200, res.text);
    out.push(...res.body.results.map((r: Json) => r.id));
    if (res.body.next === '') return out;
    const next = new URL(res.body.next, 'http://x');
    path = next.pathname.replace(/^\/api\/v1\.0\//, '');
    query = Object.fromEntries(next.searchParams);
  }
  throw new Error('listing did not terminate');
}

/** Asserts a user object (§5.3) equal to `full`. */
export function assertUserObject(u: Json, full: Json): void {
  assert.deepEqual(sortedKeys(u), USER_KEYS);
  assert.deepEqual(u, full);
}
