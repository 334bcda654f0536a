import { AuthenticationError, NotAllowedError } from '../errors.js';
import type { FeedId } from '../feeds/feed-id.js';

/**
 * Who is calling, from the verified JWT claims (stream-v2-api.md §2.1). A token with a `resource`
 * claim is a server token; one with only `user_id` (plus any extra claims) is a user token.
 */
export type Principal = ServerPrincipal | UserPrincipal;

export interface ServerPrincipal {
  readonly kind: 'server';
  /** `null` means `*`. */
  readonly resources: ReadonlySet<string> | null;
  readonly actions: ReadonlySet<string> | null;
  readonly feeds: ReadonlySet<string> | null;
  /** `user_id` claim when present (personalization tokens carry `*`). */
  readonly userId: string | null;
}

export interface UserPrincipal {
  readonly kind: 'user';
  readonly userId: string;
}

/** Resource names of §2.1, by endpoint family. */
export type Resource =
  | 'feed'
  | 'follower'
  | 'activities'
  | 'feed_targets'
  | 'reactions'
  | 'collections'
  | 'users'
  | 'personalization'
  | 'analytics'
  | 'moderation'
  | 'audit_logs'
  | 'data_privacy'
  | 'global';

function claimSet(value: unknown, what: string): ReadonlySet<string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new AuthenticationError(`token claim ${what} must be a string`);
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.includes('*')) return null;
  return new Set(parts);
}

/** Builds a principal from verified claims; throws 401/3 when the claims fit neither kind. */
export function principalFromClaims(claims: Record<string, unknown>): Principal {
  if (claims.resource !== undefined) {
    const userId = typeof claims.user_id === 'string' ? claims.user_id : null;
    const resources = claimSet(claims.resource, 'resource');
    const actions = claimSet(claims.action ?? '*', 'action');
    const feeds = claimSet(claims.feed_id ?? '*', 'feed_id');
    return { kind: 'server', resources, actions, feeds, userId };
  }
  if (typeof claims.user_id === 'string' && claims.user_id !== '') {
    return { kind: 'user', userId: claims.user_id };
  }
  throw new AuthenticationError('token has neither a resource nor a user_id claim');
}

const ACTION_OF_METHOD: Record<string, string> = {
  GET: 'read',
  HEAD: 'read',
  OPTIONS: 'read',
  POST: 'write',
  PUT: 'write',
  PATCH: 'write',
  DELETE: 'delete',
};

/** Whether a server token's feed claim covers `feed` (either spelling: `user42` or `user:42`). */
export function coversFeed(p: ServerPrincipal, feed: FeedId): boolean {
  return p.feeds === null || p.feeds.has(feed.fid) || p.feeds.has(feed.slug + feed.uid);
}

/**
 * Checks a server token's scope for a call: the resource (`*` covers every resource, including
 * `global` endpoints such as og/files), the action implied by the HTTP method, and the feed named in
 * the path (when the endpoint has one; otherwise the token must not be limited to feeds).
 * Throws 403/17.
 */
export function checkServerScope(p: ServerPrincipal, resource: Resource, method: string, feed: FeedId | null): void {
  if (p.resources !== null && (resource === 'global' || !p.resources.has(resource))) {
    throw new NotAllowedError(`token resource does not allow access to ${resource === 'global' ? 'this endpoint' : resource}`);
  }
  const action = ACTION_OF_METHOD[method] ?? 'write';
  if (p.actions !== null && !p.actions.has(action)) {
    throw new NotAllowedError(`token action does not allow ${action}`);
  }
  if (feed !== null) {
    if (!coversFeed(p, feed)) throw new NotAllowedError(`token is not valid for feed ${feed.fid}`);
  } else if (p.feeds !== null) {
    throw new NotAllowedError('token is limited to feeds and cannot call this endpoint');
  }
}
