import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../../config/config.js';
import { CATALOGUE } from '../../core/errors.js';
import type { App } from '../../core/feeds/feed-group.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';
import { authOf } from './auth.js';
import { sendError } from './errors.js';

/** The prefix of API routes; endpoint names in the config are written without it. */
export const API_PREFIX = '/api/v1.0/';

/** An app's limits, compiled: endpoint → requests per window. */
interface Compiled {
  readonly windowMs: number;
  readonly fallback: number | null;
  readonly endpoints: ReadonlyMap<string, number>;
}

/**
 * Refuses (at start) endpoint names in `rate_limits.endpoints` that name no route, so a typo does
 * not silently leave an endpoint unlimited. `routes` holds `"<METHOD> <route>"` of every API route.
 */
export function checkRateLimitEndpoints(apps: readonly App[], routes: ReadonlySet<string>): void {
  apps.forEach((app, i) => {
    for (const name of app.rateLimits?.endpoints.keys() ?? []) {
      if (!routes.has(name)) {
        throw new ConfigError(`apps[${i}].rate_limits.endpoints: "${name}" is not an endpoint; endpoints are ${[...routes].sort().join(', ')}`);
      }
    }
  });
}

/**
 * The `onRequest` hook (after authentication) of apps with rate limits (§1.5): counts the request
 * under its app and endpoint, sets Stream's headers on the answer (`x-ratelimit-limit`,
 * `x-ratelimit-remaining`, `x-ratelimit-reset` in Unix seconds) and answers 429/9 in the error
 * shape, with `retry-after`, once the window's allowance is used up. Null when no app has limits,
 * so that requests pay nothing.
 */
export function rateLimitHook(
  apps: readonly App[],
  limiter: RateLimiter | undefined,
  nowMs: () => number,
): ((req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>) | null {
  const byApp = new Map<string, Compiled>();
  for (const app of apps) {
    if (!app.rateLimits) continue;
    byApp.set(app.appId, { windowMs: app.rateLimits.windowSeconds * 1000, fallback: app.rateLimits.default, endpoints: app.rateLimits.endpoints });
  }
  if (byApp.size === 0) return null;
  if (limiter === undefined) throw new Error('apps have rate limits but no rate limiter was given');
  return async (req, reply) => {
    const { app } = authOf(req);
    const limits = byApp.get(app.appId);
    if (limits === undefined) return undefined;
    const endpoint = `${req.method} ${req.routeOptions.url?.slice(API_PREFIX.length) ?? ''}`;
    const limit = limits.endpoints.get(endpoint) ?? limits.fallback;
    if (limit === null) return undefined;
    const now = nowMs();
    const d = await limiter.hit(`${app.appId}|${endpoint}`, limit, limits.windowMs, now);
    void reply.header('x-ratelimit-limit', String(limit));
    void reply.header('x-ratelimit-remaining', String(d.remaining));
    void reply.header('x-ratelimit-reset', String(Math.ceil(d.resetMs / 1000)));
    if (d.allowed) return undefined;
    void reply.header('retry-after', String(Math.max(1, Math.ceil((d.resetMs - now) / 1000))));
    sendError(reply, CATALOGUE.rateLimit, `rate limit of ${limit} requests per ${limits.windowMs / 1000} s reached for ${endpoint}`);
    return reply;
  };
}
