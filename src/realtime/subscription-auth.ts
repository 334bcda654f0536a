import { createVerifier } from 'fast-jwt';
import { checkServerScope, userMayRead, type Principal } from '../core/auth/principal.js';
import { AuthenticationError, NotAllowedError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { feedId, isValidUserId, type FeedId } from '../core/feeds/feed-id.js';
import { verifyToken } from '../http/plugins/auth.js';

/** The feed a realtime channel stands for. */
export interface ChannelFeeds {
  readonly app: App;
  /**
   * The channel joins slug and user id without a separator (§19.2), so with groups `timeline` and
   * `timeline_aggregated` the channel `…-feed-timeline_aggregatedalice` could be read as
   * `timeline_aggregated:alice` or `timeline:_aggregatedalice`. It is resolved against the app's
   * groups, the longest group name first: it is `timeline_aggregated:alice`. The other reading's
   * feed has no channel of its own, and its events are not published (see FayeServer).
   */
  readonly feed: FeedId;
}

export type SubscribeDecision = { readonly ok: true; readonly channel: ChannelFeeds } | { readonly ok: false; readonly error: string };

/** The realtime channel of a feed: `/site-<appId>-feed-<slug><uid>` (§19.2). */
export function channelOf(appId: string, slug: string, uid: string): string {
  return `/site-${appId}-feed-${slug}${uid}`;
}

const CHANNEL_RE = /^\/site-(.+?)-feed-(.+)$/;

/**
 * A Bayeux error string (`code:params:message`). Faye's client parses it with a grammar that
 * allows letters, digits, spaces and `-_!~()$@/*.` only; anything else becomes a space so the
 * client still sees the code.
 */
export function bayeuxError(code: number, channel: string, message: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9\-_!~()$@ /*.]/g, ' ');
  return `${code}:${clean(channel)}:${clean(message)}`;
}

/**
 * Authorizes realtime subscriptions (stream-v2-api.md §19.2) with the `ext` the official client
 * adds to `/meta/subscribe`: `{user_id: <channel without slash>, api_key, signature: <token>}`.
 * Like a read of the feed: a server token whose `feed_id` covers the feed and whose action allows
 * reading, or a user token that may read it (own feed, or a `public` group).
 */
export class SubscriptionAuth {
  readonly #apps = new Map<string, { app: App; verify: (token: string) => Record<string, unknown> }>();
  /** Group names longest first, so resolution tries the most specific name first. */
  readonly #groups = new Map<string, string[]>();

  constructor(apps: readonly App[]) {
    for (const app of apps) {
      const verify = createVerifier({ key: app.apiSecret, algorithms: ['HS256'], cache: 10_000, cacheTTL: 600_000 }) as (
        token: string,
      ) => Record<string, unknown>;
      this.#apps.set(app.appId, { app, verify });
      this.#groups.set(app.appId, [...app.groups.keys()].sort((a, b) => b.length - a.length));
    }
  }

  /** The app and feed of a channel; null for a channel that names no configured feed. */
  resolve(channel: string): ChannelFeeds | null {
    const m = CHANNEL_RE.exec(channel);
    if (!m) return null;
    const entry = this.#apps.get(m[1]);
    if (!entry) return null;
    const rest = m[2];
    for (const slug of this.#groups.get(m[1]) ?? []) {
      if (rest.length > slug.length && rest.startsWith(slug) && isValidUserId(rest.slice(slug.length))) {
        return { app: entry.app, feed: feedId(slug, rest.slice(slug.length)) };
      }
    }
    return null;
  }

  /** Decides one channel of a `/meta/subscribe` message. */
  authorize(channel: string, ext: unknown): SubscribeDecision {
    const resolved = this.resolve(channel);
    if (!resolved) return { ok: false, error: bayeuxError(403, channel, 'Unknown app or feed group') };
    const e = (typeof ext === 'object' && ext !== null ? ext : {}) as Record<string, unknown>;
    const { app } = resolved;
    if (typeof e.api_key !== 'string' || e.api_key === '') {
      return { ok: false, error: bayeuxError(401, channel, 'api_key is missing') };
    }
    if (e.api_key !== app.apiKey) return { ok: false, error: bayeuxError(401, channel, 'api_key is not valid for this app') };
    if (typeof e.signature !== 'string' || e.signature === '') {
      return { ok: false, error: bayeuxError(401, channel, 'signature is missing') };
    }
    let principal: Principal;
    try {
      principal = verifyToken(this.#apps.get(app.appId)!.verify, e.signature);
    } catch (err) {
      const why = err instanceof AuthenticationError ? err.message : 'signature is invalid';
      return { ok: false, error: bayeuxError(401, channel, why) };
    }
    if (!mayRead(app, principal, resolved.feed)) {
      return { ok: false, error: bayeuxError(403, channel, 'token does not allow reading this feed') };
    }
    return { ok: true, channel: resolved };
  }
}

/** The read rule of feed routes (§2.1, §23.3), applied to a subscription. */
function mayRead(app: App, p: Principal, feed: FeedId): boolean {
  if (p.kind === 'user') return userMayRead(app, p.userId, feed);
  try {
    checkServerScope(p, 'feed', 'GET', feed);
    return true;
  } catch (err) {
    if (err instanceof NotAllowedError) return false;
    throw err;
  }
}
