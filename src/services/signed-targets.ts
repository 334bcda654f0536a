import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import { coversFeed, principalFromClaims } from '../core/auth/principal.js';
import { NotAllowedError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import { bodyFeed } from './context.js';

/**
 * Signed targets: Stream's Python and PHP server clients send every `to` target (and the feeds of
 * some batch calls) as `"<feed id> <feed token>"`, e.g. `"user:bob eyJhbGciOi…"`. The token proves
 * that the sender may write to that feed. Rivulet accepts either kind of feed token those clients
 * make and stores the plain feed id only:
 *
 * - a JWT, HS256-signed with the app's secret, whose claims are a server scope covering the feed
 *   (`feed_id` `*`, `bob`'s `userbob` or `user:bob`) for resource `*` or `feed` and action `*` or
 *   `write` (Python: `{resource: "feed", action: "*", feed_id: "*"}`);
 * - the older feed signature: base64url, unpadded, of HMAC-SHA1 over `<slug><user id>` keyed with
 *   the SHA-1 digest of the secret (PHP's `Signer::signature`).
 *
 * A token that is neither, or that does not cover the feed, is refused with 403 naming the target.
 */

type Verify = (token: string) => Record<string, unknown>;

interface AppSigner {
  readonly verify: Verify;
  readonly legacyKey: Buffer;
  /** `"<fid> <token>"` strings already found valid; cleared when full. */
  readonly good: Set<string>;
}

const MAX_REMEMBERED = 10_000;
const signers = new WeakMap<App, AppSigner>();

function signerOf(app: App): AppSigner {
  let s = signers.get(app);
  if (!s) {
    s = {
      verify: createVerifier({ key: app.apiSecret, algorithms: ['HS256'] }) as Verify,
      legacyKey: createHash('sha1').update(app.apiSecret).digest(),
      good: new Set(),
    };
    signers.set(app, s);
  }
  return s;
}

/** The older HMAC-SHA1 feed signature of `feed` (base64url without padding). */
export function legacyFeedSignature(app: App, feed: FeedId): string {
  return createHmac('sha1', signerOf(app).legacyKey).update(feed.slug + feed.uid).digest('base64url');
}

function jwtCovers(signer: AppSigner, feed: FeedId, token: string): boolean {
  let principal;
  try {
    principal = principalFromClaims(signer.verify(token));
  } catch {
    return false;
  }
  if (principal.kind !== 'server') return false;
  const resourceOk = principal.resources === null || principal.resources.has('feed');
  const actionOk = principal.actions === null || principal.actions.has('write');
  return resourceOk && actionOk && coversFeed(principal, feed);
}

function legacyMatches(app: App, feed: FeedId, token: string): boolean {
  const want = Buffer.from(legacyFeedSignature(app, feed));
  const got = Buffer.from(token);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Whether `token` is a feed token for `feed` signed with the app's secret (either kind above). */
export function validFeedToken(app: App, feed: FeedId, token: string): boolean {
  const signer = signerOf(app);
  const key = feed.fid + ' ' + token;
  if (signer.good.has(key)) return true;
  const ok = token.includes('.') ? jwtCovers(signer, feed, token) : legacyMatches(app, feed, token);
  if (ok) {
    if (signer.good.size >= MAX_REMEMBERED) signer.good.clear();
    signer.good.add(key);
  }
  return ok;
}

/**
 * Parses a target that arrives in a body: a plain feed id (`user:bob`) or a signed one
 * (`user:bob <token>`). The feed id is validated as {@link bodyFeed} does; a token is verified and
 * a bad one is 403 naming the target. Returns the plain feed id.
 */
export function bodyTarget(app: App, value: unknown, what: string): FeedId {
  const space = typeof value === 'string' ? value.indexOf(' ') : -1;
  const token = space < 0 ? '' : (value as string).slice(space + 1).trim();
  if (token === '') return bodyFeed(app, value, what);
  const feed = bodyFeed(app, (value as string).slice(0, space), what);
  if (!validFeedToken(app, feed, token)) {
    throw new NotAllowedError(`${what}: the token given for target "${feed.fid}" is not a valid feed token for that feed`);
  }
  return feed;
}
