import { AuthenticationError, NotAllowedError } from '../errors.js';
import type { App } from '../feeds/feed-group.js';
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

/**
 * A scope claim (`resource`, `action`, `feed_id`): a comma list, `*` for everything. A claim that is
 * present must be a non-empty string: `null`, numbers, arrays or `""` are refused (401/3) rather
 * than read as "no limit", so a token minted with a missing value never grants more than intended.
 */
function claimSet(value: unknown, what: string): ReadonlySet<string> | null {
  if (typeof value !== 'string') throw new AuthenticationError(`token claim ${what} must be a string`);
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new AuthenticationError(`token claim ${what} must not be empty`);
  if (parts.includes('*')) return null;
  return new Set(parts);
}

/** Builds a principal from verified claims; throws 401/3 when the claims fit neither kind or a claim is not a valid value. */
export function principalFromClaims(claims: Record<string, unknown>): Principal {
  if (claims.user_id !== undefined && (typeof claims.user_id !== 'string' || claims.user_id === '')) {
    throw new AuthenticationError('token claim user_id must be a non-empty string');
  }
  const userId = claims.user_id as string | undefined;
  if (claims.resource !== undefined) {
    const resources = claimSet(claims.resource, 'resource');
    const actions = claimSet(claims.action === undefined ? '*' : claims.action, 'action');
    const feeds = claimSet(claims.feed_id === undefined ? '*' : claims.feed_id, 'feed_id');
    return { kind: 'server', resources, actions, feeds, userId: userId ?? null };
  }
  if (userId !== undefined) return { kind: 'user', userId };
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

/**
 * The user policy's read rule (stream-v2-api.md §2.3, §23.3): a user reads their own feeds of every
 * group and other users' feeds of `public` groups. Feed reads, realtime subscriptions and follows
 * (a follow shows the target's activities in the follower's feed) all apply it.
 *
 * @example userMayRead(app, 'alice', feedId('user', 'bob')) // true when `user` is public
 */
export function userMayRead(app: App, userId: string, feed: FeedId): boolean {
  return feed.uid === userId || app.groups.get(feed.slug)?.public === true;
}

/**
 * Whether user `userId` may make one of its feeds follow `feed`: its own feeds, and other users'
 * feeds of `followable` groups (by default the groups it may read).
 * @example userMayFollow(app, 'alice', feedId('user', 'bob')) // true when `user` is followable
 */
export function userMayFollow(app: App, userId: string, feed: FeedId): boolean {
  return feed.uid === userId || app.groups.get(feed.slug)?.followable === true;
}

/**
 * Whether an activity's `actor` names user `userId`: `SU:<id>` (the reference the official client
 * writes) or the bare id. A user token writes only activities whose actor is its user, and may
 * replace (same foreign_id + time) only activities whose stored actor is its user.
 */
export function actorIsUser(actor: unknown, userId: string): boolean {
  return actor === userId || actor === `SU:${userId}`;
}
