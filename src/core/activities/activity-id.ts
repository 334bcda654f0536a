import * as crypto from 'node:crypto';

/**
 * Activity ids are UUID version 1 whose timestamp is the activity time, so ids order by time
 * (stream-v2-api.md §4.2). The 62 non-time bits come from a hash of the activity's identity
 * (its foreign id, or its content when it has none), which makes the id deterministic: adding the
 * same foreign_id + time again yields the same id, and the store upserts in place.
 *
 * Feeds sort by a 16-byte key that puts the timestamp first (time_hi, time_mid, time_low, clock
 * sequence, node), so comparing keys bytewise compares (time, remaining bits).
 *
 * @example
 *   const id = activityId(1714557600123456, 'pin:7');
 *   sortKeyToId(idToSortKey(id)) === id;
 */

const GREGORIAN_OFFSET = 0x01b21dd213814000n; // 100 ns intervals from 1582-10-15 to 1970-01-01
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const TWO_32 = 2 ** 32;
/** {@link GREGORIAN_OFFSET} as its high and low 32 bits. */
const OFFSET_HI = Number(GREGORIAN_OFFSET >> 32n);
const OFFSET_LO = Number(GREGORIAN_OFFSET & 0xffffffffn);

/**
 * SHA-1 of `text` as hex: the one-shot `crypto.hash` where Node has it (20.12+), which costs a
 * fraction of a `createHash` object for a short input.
 */
const sha1Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(alg: string, data: string, enc: 'hex'): string }).hash('sha1', text, 'hex')
    : (text) => crypto.createHash('sha1').update(text).digest('hex');

/**
 * The first three groups of a version-1 UUID at `timeUs` and the dash after them
 * (`tttttttt-tttt-1ttt-`). The count of 100 ns intervals since 1582 passes 2^53, so it is worked
 * out in two halves of 32 bits rather than as a BigInt (several times slower on a write's path).
 */
function timeGroups(timeUs: number): string {
  const hi = Math.floor(timeUs / TWO_32);
  const low = (timeUs - hi * TWO_32) * 10 + OFFSET_LO;
  const carry = Math.floor(low / TWO_32);
  const high = hi * 10 + OFFSET_HI + carry;
  const timeLow = low - carry * TWO_32;
  const timeMid = high % 65536;
  const timeHi = (Math.floor(high / 65536) & 0x0fff) | 0x1000;
  return timeLow.toString(16).padStart(8, '0') + '-' + timeMid.toString(16).padStart(4, '0') + '-' + timeHi.toString(16) + '-';
}

/** Builds the id for an activity at `timeUs` whose identity hashes from `identity`. */
export function activityId(timeUs: number, identity: string): string {
  const h = sha1Hex(identity);
  // Clock sequence: 14 bits of the hash with the RFC 4122 variant (10xx); node: the next 48 bits.
  return timeGroups(timeUs) + ((parseInt(h.slice(0, 4), 16) & 0x3fff) | 0x8000).toString(16) + '-' + h.slice(4, 16);
}

/**
 * A version-1 UUID at `timeUs` whose other 62 bits are random (a reaction's id): those bits of a
 * random (version 4) UUID, which has the same variant bits, with no hash in between.
 */
export function randomTimeId(timeUs: number): string {
  return timeGroups(timeUs) + crypto.randomUUID().slice(19);
}

/**
 * {@link timeOfId} when `id` is a version-1 UUID (any case) of a time after 1970, else null. Lets
 * a time-based id that names nothing still order by its time.
 *
 * @example uuidTimeUs(activityId(1714557600123456, 'x')) === 1714557600123456
 */
export function uuidTimeUs(id: string): number | null {
  const lower = id.toLowerCase();
  if (!isUuid(lower) || lower[14] !== '1') return null;
  const us = timeOfId(lower);
  return us < 0 ? null : us;
}

/** True when `id` has the textual shape of a UUID (any version). */
export function isUuid(id: string): boolean {
  return id.length === 36 && UUID_RE.test(id);
}

/** Converts an id to its 16-byte sort key; throws a TypeError for text that is not a UUID. */
export function idToSortKey(id: string): Buffer {
  // time_hi(4) time_mid(4) time_low(8) clock(4) node(12)
  const hex = id.slice(14, 18) + id.slice(9, 13) + id.slice(0, 8) + id.slice(19, 23) + id.slice(24, 36);
  const key = Buffer.from(hex, 'hex');
  // Buffer.from stops at the first non-hex character: a short key means a malformed id.
  if (key.length !== 16 || id.length !== 36) throw new TypeError(`not an activity id: ${id.slice(0, 40)}`);
  return key;
}

/** Inverse of {@link idToSortKey}. */
export function sortKeyToId(key: Uint8Array): string {
  const hex = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
  return (
    hex.slice(8, 16) + '-' + hex.slice(4, 8) + '-' + hex.slice(0, 4) + '-' + hex.slice(16, 20) + '-' + hex.slice(20, 32)
  );
}

/**
 * The smallest sort key of any activity at or after `timeUs`: the time in front, every other
 * bit zero, so comparing a key against it compares times.
 */
export function sortKeyAtTime(timeUs: number): Buffer {
  const ts = BigInt(timeUs) * 10n + GREGORIAN_OFFSET;
  const key = Buffer.alloc(16);
  key.writeUInt16BE(Number((ts >> 48n) & 0x0fffn) | 0x1000, 0);
  key.writeUInt16BE(Number((ts >> 32n) & 0xffffn), 2);
  key.writeUInt32BE(Number(ts & 0xffffffffn), 4);
  return key;
}

/** The activity time (microseconds) embedded in a version-1 id. */
export function timeOfId(id: string): number {
  const ts = (BigInt('0x' + id.slice(15, 18)) << 48n) | (BigInt('0x' + id.slice(9, 13)) << 32n) | BigInt('0x' + id.slice(0, 8));
  return Number((ts - GREGORIAN_OFFSET) / 10n);
}

/**
 * The order key of an id as text: the hex of its {@link idToSortKey}, so that comparing two keys
 * as strings compares the ids by (time, remaining bits), the order of every feed. Ids must be in
 * canonical lower case.
 */
export function idOrderKey(id: string): string {
  return id.slice(14, 18) + id.slice(9, 13) + id.slice(0, 8) + id.slice(19, 23) + id.slice(24, 36);
}

/** Compares ids in feed order: negative when `a` is older than `b`. */
export function compareIds(a: string, b: string): number {
  const x = idOrderKey(a);
  const y = idOrderKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The smallest id of any activity at or after `timeUs` (a lower bound for ranges by time). */
export function idAtTime(timeUs: number): string {
  return sortKeyToId(sortKeyAtTime(timeUs));
}
