import { InputError } from '../errors.js';

/**
 * Feed ids (stream-v2-api.md §4.1): `slug:uid`, slug `^\w+$` (≤ 64 chars), user id `^[\w-]+$`
 * (≤ 255 chars). In URLs a feed is `{slug}/{uid}`, in bodies `slug:uid`, in tokens and realtime
 * channels `slug` + `uid` with no separator.
 */

export interface FeedId {
  readonly slug: string;
  readonly uid: string;
  /** `slug:uid` */
  readonly fid: string;
}

const SLUG_RE = /^\w{1,64}$/;
const UID_RE = /^[\w-]{1,255}$/;

export function isValidSlug(slug: string): boolean {
  return SLUG_RE.test(slug);
}

export function isValidUserId(uid: string): boolean {
  return UID_RE.test(uid);
}

/** Builds a feed id from its parts; throws 400/4 naming `what` when either part is illegal. */
export function feedId(slug: string, uid: string, what = 'feed'): FeedId {
  if (typeof slug !== 'string' || !SLUG_RE.test(slug)) {
    throw new InputError(`${what}: invalid feed slug "${String(slug).slice(0, 80)}" (letters, digits and _ only)`);
  }
  if (typeof uid !== 'string' || !UID_RE.test(uid)) {
    throw new InputError(`${what}: invalid feed user id "${String(uid).slice(0, 80)}" (letters, digits, _ and - only)`);
  }
  return { slug, uid, fid: `${slug}:${uid}` };
}

/** Parses `slug:uid`; throws 400/4 naming `what` when it is not a feed id. */
export function parseFeedId(text: unknown, what = 'feed'): FeedId {
  if (typeof text !== 'string') throw new InputError(`${what}: feed id must be a string like "user:alice"`);
  const i = text.indexOf(':');
  if (i <= 0) throw new InputError(`${what}: invalid feed id "${text.slice(0, 80)}", expected "slug:user_id"`);
  return feedId(text.slice(0, i), text.slice(i + 1), what);
}
