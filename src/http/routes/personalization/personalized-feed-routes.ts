import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError, NotAllowedError } from '../../../core/errors.js';
import type { App, FeedGroup } from '../../../core/feeds/feed-group.js';
import { feedId } from '../../../core/feeds/feed-id.js';
import type { Principal } from '../../../core/auth/principal.js';
import { groupOf, type Services } from '../../../services/context.js';
import { enrichRenderer, type Renderer } from '../../../services/enrich.js';
import { endpointSettings } from '../../../services/personalization/endpoints.js';
import { followRecommendations } from '../../../services/personalization/follow-recommendations.js';
import { rankFor, readPersonalized } from '../../../services/personalization/read-personalized.js';
import { PersonalizationRuntime } from '../../../services/personalization/runtime.js';
import { intParam, MAX_LIMIT, MAX_OFFSET } from '../../../services/read-feed.js';
import { enrichOptions } from '../../enrich-options.js';
import { authorize } from '../../plugins/auth.js';
import { bool, query, str, type Query } from '../../query.js';
import { send, sendOpen } from '../../reply.js';

const USER_RE = /^[\w-]{1,255}$/;

/** The personalization runtime of these services (a bare one, without snapshots, where none was composed). */
function runtimeOf(s: Services): PersonalizationRuntime {
  return s.personalization ?? new PersonalizationRuntime(new Map(), null);
}

/**
 * The reader of a personalized read: a user token reads for its own user only (another `user_id`
 * is 403/17, the exact refusal of stream-v2-api.md §2.3); a server token names one in `user_id`.
 */
function readerOf(principal: Principal, q: Query): string {
  const named = str(q, 'user_id');
  if (principal.kind === 'user') {
    if (named !== undefined && named !== principal.userId) throw new NotAllowedError();
    return principal.userId;
  }
  if (named === undefined || named === '') throw new InputError('user_id is required', { fields: { user_id: ['required'] } });
  if (!USER_RE.test(named)) throw new InputError('user_id may hold letters, digits, _ and - only', { fields: { user_id: ['invalid'] } });
  return named;
}

function flatGroup(app: App, slug: string, user: string): FeedGroup {
  const group = groupOf(app, feedId(slug, user, 'feed_slug'));
  if (group.type !== 'flat') throw new InputError(`feed_slug: personalized reads rank flat feed groups; "${group.name}" is ${group.type}`, { fields: { feed_slug: ['invalid'] } });
  return group;
}

/** The page, the ranked list's cache keys and flags of one personalized read. */
async function personalizedPage(s: Services, req: FastifyRequest, app: App, principal: Principal, render: Renderer, endpoint?: string) {
  const q = query(req);
  const user = readerOf(principal, q);
  const group = flatGroup(app, str(q, 'feed_slug') ?? 'timeline', user);
  const runtime = runtimeOf(s);
  const { name, settings } = endpointSettings(group, runtime.settingsOf(app.appId), str(q, 'endpoint') ?? endpoint);
  const limit = intParam(str(q, 'limit'), 'limit', 25, MAX_LIMIT, true) || 25;
  const offset = intParam(str(q, 'offset'), 'offset', 0, MAX_OFFSET, false);
  const session = str(q, 'session');
  const page = await readPersonalized(
    s,
    runtime,
    app,
    { user, group, endpoint: name, settings, limit, offset, session: session === '' ? undefined : session, refresh: bool(q, 'refresh'), withScoreVars: bool(q, 'withScoreVars') },
    render,
  );
  return { ...page, limit, offset };
}

/**
 * `GET enrich/personalization/feed/` on the API (stream-v2-api.md §15, personalization.md §3.1):
 * the reader's `feed_slug` feed ranked by the app's model, enriched like a feed read. The answer
 * has exactly `results`, `limit`, `offset`, `version` and `duration` (§23).
 */
export async function personalizedFeedRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;
  server.get('/enrich/personalization/feed/', async (req, reply) => {
    const { app, principal } = authorize(req, 'personalization', null, () => true);
    const page = await personalizedPage(s, req, app, principal, enrichRenderer(s, app, enrichOptions(req, principal, true)));
    // Built once as the text sent (without its closing brace, see `sendOpen`), not copied again.
    return sendOpen(reply, `{"results":[${page.results.join(',')}],"limit":${page.limit},"offset":${page.offset},"version":${JSON.stringify(page.version)}`);
  });
}

/**
 * Resources of the personalization service that read the model (personalization.md §2.3):
 * `personalized_feed/` and `discovery_feed/` (ids and scores, not enriched), `explain/` (server
 * tokens only) and `follow_recommendations/`. Registered inside the service's plugin, which
 * authenticates.
 */
export function personalizationModelRoutes(server: FastifyInstance, s: Services): void {
  const idsOnly: Renderer = async (items) => items.map((i) => {
    const a = JSON.parse(i.body) as { id?: unknown; foreign_id?: unknown };
    return JSON.stringify({ activity_id: a.id, foreign_id: a.foreign_id ?? '' });
  });
  for (const resource of ['personalized_feed', 'discovery_feed'] as const) {
    server.get(`/${resource}/`, async (req, reply) => {
      const { app, principal } = authorize(req, 'personalization', null, () => true);
      const page = await personalizedPage(s, req, app, principal, idsOnly, resource);
      return sendOpen(reply, `{"app_id":${JSON.stringify(app.appId)},"results":[${page.results.join(',')}],"next":"","limit":${page.limit},"offset":${page.offset},"version":${JSON.stringify(page.version)}`);
    });
  }

  server.get('/explain/', async (req, reply) => {
    const { app } = authorize(req, 'personalization', null, null);
    const q = query(req);
    const user = readerOf({ kind: 'server' } as Principal, q);
    const activity = str(q, 'activity_id');
    if (activity === undefined || activity === '') throw new InputError('activity_id is required', { fields: { activity_id: ['required'] } });
    const group = flatGroup(app, str(q, 'feed_slug') ?? 'timeline', user);
    const runtime = runtimeOf(s);
    const { settings, name } = endpointSettings(group, runtime.settingsOf(app.appId), str(q, 'endpoint'));
    const list = await rankFor(s, runtime, app, { user, group, endpoint: name, settings, limit: 25, offset: 0, refresh: true, withScoreVars: false, explain: activity.toLowerCase() });
    return send(reply, { app_id: app.appId, results: [list.explanation], version: list.version });
  });

  server.get('/follow_recommendations/', async (req, reply) => {
    const { app, principal } = authorize(req, 'personalization', null, () => true);
    const q = query(req);
    const user = readerOf(principal, q);
    const limit = intParam(str(q, 'limit'), 'limit', 10, MAX_LIMIT, true) || 10;
    const list = await followRecommendations(s, runtimeOf(s), app, user, limit);
    return send(reply, { app_id: app.appId, results: list, next: '', limit });
  });
}
