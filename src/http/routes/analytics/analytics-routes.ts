import { createVerifier } from 'fast-jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../../../core/auth/principal.js';
import { ApiKeyError, InputError, NotAllowedError } from '../../../core/errors.js';
import type { App } from '../../../core/feeds/feed-group.js';
import type { Services } from '../../../services/context.js';
import { ingestAnalytics, type AnalyticsResource, type EventCaller } from '../../../services/signals/ingest-events.js';
import { ingestRedirect } from '../../../services/signals/redirect.js';
import { knownPrincipal } from '../../plugins/auth.js';
import { query, str } from '../../query.js';
import { send } from '../../reply.js';

type Verify = (token: string) => Record<string, unknown>;

/**
 * The analytics service (personalization.md §2.1, stream-v2-api.md §16), served under `/analytics/`
 * with and without the `v1.0/` segment (the `stream-analytics` client uses `…/analytics/v1.0/`, the
 * `getstream` client's redirect URLs none):
 * - `POST impression/`, `POST engagement/`: events; JWT in `Authorization` (`stream-auth-type: jwt`);
 *   201 `{"duration"}`.
 * - `GET redirect/?auth_type=jwt&authorization=<jwt>&url=<target>&api_key=<key>&events=<JSON>`:
 *   records the events and answers 302 to `url`.
 * A server token needs resource `analytics` (or `redirect_and_track` for redirects, or `*`); a user
 * token sends only its own user's events (403/17 otherwise).
 */
export async function analyticsRoutes(server: FastifyInstance, opts: { services: Services; apps: readonly App[] }): Promise<void> {
  const s = opts.services;
  const byKey = new Map<string, { app: App; verify: Verify; known: Parameters<typeof knownPrincipal>[0] }>();
  for (const app of opts.apps) {
    byKey.set(app.apiKey, { app, verify: createVerifier({ key: app.apiSecret, algorithms: ['HS256'] }) as Verify, known: new Map() });
  }

  const authenticate = (req: FastifyRequest, token: string | undefined, redirect: boolean): { app: App; caller: EventCaller } => {
    const key = str(query(req), 'api_key');
    if (!key) throw new ApiKeyError('api_key is missing from the query string');
    const entry = byKey.get(key);
    if (!entry) throw new ApiKeyError('api_key is not valid');
    const p: Principal = knownPrincipal(entry.known, entry.verify, token);
    if (p.kind === 'user') return { app: entry.app, caller: { kind: 'user', userId: p.userId } };
    const allowed = p.resources === null || p.resources.has('analytics') || (redirect && p.resources.has('redirect_and_track'));
    if (!allowed) throw new NotAllowedError('token resource does not allow access to analytics');
    // A feed token (resource `*`, limited to one feed) is handed to clients; it must not send
    // events as any user, as it cannot call any other endpoint without a feed (see checkServerScope).
    if (p.feeds !== null) throw new NotAllowedError('token is limited to feeds and cannot send analytics events');
    if (p.actions !== null && !p.actions.has(redirect ? 'read' : 'write') && !p.actions.has('write')) throw new NotAllowedError('token action does not allow sending events');
    return { app: entry.app, caller: { kind: 'server' } };
  };

  for (const prefix of ['/analytics/', '/analytics/v1.0/']) {
    for (const resource of ['impression', 'engagement'] as const satisfies readonly AnalyticsResource[]) {
      server.post(`${prefix}${resource}/`, async (req, reply) => {
        const { app, caller } = authenticate(req, req.headers.authorization, false);
        await ingestAnalytics(s, app, caller, resource, req.body);
        return send(reply, {}, 201);
      });
    }
    server.get(`${prefix}redirect/`, async (req, reply) => {
      const q = query(req);
      const { app, caller } = authenticate(req, str(q, 'authorization'), true);
      const url = str(q, 'url');
      if (url === undefined || url === '') throw new InputError('url is required');
      const events = str(q, 'events');
      const target = await ingestRedirect(s, app, caller, url, events);
      return reply.code(302).header('location', target).header('cache-control', 'no-store').send();
    });
  }
}
