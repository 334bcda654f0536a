/**
 * Assertions shared by the activity and bad-input API tests. Expectations are computed here from
 * the wire contract (stream-v2-api.md), never by calling server code.
 */
import assert from 'node:assert/strict';
import type { StreamClient } from 'getstream';
import { rawRequest, type TestServer } from '../support/server.js';

/** The keys every stored activity carries (§5.1). */
export const CORE_KEYS = ['actor', 'foreign_id', 'id', 'object', 'origin', 'target', 'time', 'verb'];

/** `YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, no zone (§4.3). */
export const ACTIVITY_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

/** Go's time.ParseDuration form, e.g. `4.15ms` (§1.4). */
export const DURATION_RE = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$/;

/** Stream's constant `more_info` (§3.1). */
export const MORE_INFO = 'https://getstream.io/docs/api_error_responses';

export function sortedKeys(o: object): string[] {
  return Object.keys(o).sort();
}

/** Asserts an activity has exactly the core keys plus `custom` (and `to` when `withTo`). */
export function assertActivityKeys(a: Record<string, unknown>, custom: string[] = [], withTo = false): void {
  const expected = [...CORE_KEYS, ...custom, ...(withTo ? ['to'] : [])].sort();
  assert.deepEqual(sortedKeys(a), expected, `activity keys of ${JSON.stringify(a)}`);
}

/** Microseconds since the epoch of an activity time string (`…ffffff`, no zone = UTC). */
export function activityTimeUs(time: string): bigint {
  assert.match(time, ACTIVITY_TIME_RE);
  const ms = Date.parse(time.slice(0, 19) + 'Z');
  assert.ok(Number.isFinite(ms), `unparsable time ${time}`);
  return BigInt(ms) * 1000n + BigInt(Number(time.slice(20, 26)));
}

/** Microseconds since the epoch of a JS ISO string (millisecond precision). */
export function isoUs(iso: string): bigint {
  return BigInt(Date.parse(iso)) * 1000n;
}

const GREGORIAN_OFFSET = 0x01b21dd213814000n;

/** Asserts `id` is a UUID v1 (RFC 4122 variant) and returns its embedded time in µs. */
export function uuidV1TimeUs(id: string): bigint {
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, `not a UUID v1: ${id}`);
  const ts = (BigInt('0x' + id.slice(15, 18)) << 48n) | (BigInt('0x' + id.slice(9, 13)) << 32n) | BigInt('0x' + id.slice(0, 8));
  const since = ts - GREGORIAN_OFFSET;
  assert.equal(since % 10n, 0n, 'activity times have microsecond precision');
  return since / 10n;
}

/** Asserts the id is a UUID v1 whose timestamp is exactly the activity's `time`. */
export function assertIdMatchesTime(a: { id: string; time: string }): void {
  assert.equal(uuidV1TimeUs(a.id), activityTimeUs(a.time), `id ${a.id} does not encode time ${a.time}`);
}

/** Asserts a Stream error body (§3.1) with exactly the documented keys. */
export function assertErrorBody(body: any, status: number, code: number, exception?: string, detail?: RegExp): void {
  assert.ok(body && typeof body === 'object', `error body must be a JSON object, got ${JSON.stringify(body)}`);
  const keys = sortedKeys(body).filter((k) => k !== 'exception_fields');
  assert.deepEqual(keys, ['code', 'detail', 'duration', 'exception', 'more_info', 'status_code'], `error keys of ${JSON.stringify(body)}`);
  assert.equal(body.code, code, `code in ${JSON.stringify(body)}`);
  assert.equal(body.status_code, status, `status_code in ${JSON.stringify(body)}`);
  assert.equal(typeof body.detail, 'string');
  assert.ok(body.detail.length > 0, 'detail should say what was wrong');
  if (detail) assert.match(body.detail, detail);
  assert.equal(typeof body.exception, 'string');
  assert.ok(body.exception.length > 0);
  if (exception !== undefined) assert.equal(body.exception, exception);
  assert.equal(body.more_info, MORE_INFO);
  assert.match(body.duration, DURATION_RE);
  if ('exception_fields' in body) {
    assert.ok(body.exception_fields && typeof body.exception_fields === 'object' && !Array.isArray(body.exception_fields));
    for (const v of Object.values(body.exception_fields)) assert.ok(Array.isArray(v));
  }
}

/** Awaits a client call that must fail with a Stream API error and checks the body. */
export async function expectApiError(
  p: Promise<unknown>,
  status: number,
  code: number,
  exception?: string,
  detail?: RegExp,
): Promise<{ status: number; body: any }> {
  let err: any;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an API error ${status}/${code}, the call succeeded`);
  assert.ok(err.response, `expected an API error, got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.response.status, status, `HTTP status; body ${JSON.stringify(err.error)}`);
  assertErrorBody(err.error, status, code, exception, detail);
  return { status: err.response.status, body: err.error };
}

/** Checks a raw response is the given error. */
export function assertRawError(res: { status: number; body: any; text?: string }, status: number, code: number, exception?: string, detail?: RegExp): void {
  assert.equal(res.status, status, `HTTP status; body ${(res.text ?? JSON.stringify(res.body)).slice(0, 500)}`);
  assertErrorBody(res.body, status, code, exception, detail);
}

/** Every activity of a flat feed, newest first, following `next` (raw, so nothing is interpreted). */
export async function readAll(t: TestServer, slug: string, userId: string): Promise<any[]> {
  const out: any[] = [];
  let query: Record<string, string> = { limit: '100' };
  for (let i = 0; i < 200; i++) {
    const res = await rawRequest(t, 'GET', `feed/${slug}/${userId}/`, { query });
    assert.equal(res.status, 200, res.text);
    out.push(...res.body.results);
    if (res.body.next === '') return out;
    const next = new URL(res.body.next, 'http://x');
    query = Object.fromEntries(next.searchParams);
  }
  throw new Error('readAll did not terminate');
}

/** Ids of every activity of a feed, newest first. */
export async function feedIds(t: TestServer, slug: string, userId: string): Promise<string[]> {
  return (await readAll(t, slug, userId)).map((a) => a.id);
}

/** Strips `duration` from a response body. */
export function withoutDuration<T extends Record<string, unknown>>(body: T): Omit<T, 'duration'> {
  const { duration, ...rest } = body;
  assert.equal(typeof duration, 'string');
  assert.match(duration as string, DURATION_RE);
  return rest;
}

export type Client = StreamClient;
