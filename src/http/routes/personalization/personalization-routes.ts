import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../../core/errors.js';
import type { App } from '../../../core/feeds/feed-group.js';
import type { Services } from '../../../services/context.js';
import { deleteInterests, giveFeedback, readInterests, setInterests } from '../../../services/signals/feedback.js';
import type { EventCaller } from '../../../services/signals/ingest-events.js';
import { intParam } from '../../../services/read-feed.js';
import { authorize } from '../../plugins/auth.js';
import { query, str } from '../../query.js';
import { send } from '../../reply.js';
import { personalizationModelRoutes } from './personalized-feed-routes.js';

/**
 * The personalization service's resources (personalization.md §2.3, stream-v2-api.md §15) under
 * `/personalization/v1.0/`, where `client.personalization.get|post|delete(resource, …)` sends
 * them: `feedback/` (POST) and `interests/` (GET, POST, DELETE). Server tokens need resource
 * `personalization` (or `*`); a user token may act for its own user only. Other resources are 404.
 * Answers `{"app_id", "results": [...], "duration"}` like the service does.
 */
export async function personalizationRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;
  server.addHook('onRequest', server.authenticate);

  const caller = (req: FastifyRequest): { app: App; caller: EventCaller } => {
    // The user rule is checked by the use case against the user the call names.
    const { app, principal } = authorize(req, 'personalization', null, () => true);
    return { app, caller: principal.kind === 'user' ? { kind: 'user', userId: principal.userId } : { kind: 'server' } };
  };
  const results = (reply: FastifyReply, appId: string, list: unknown[], status = 200) => send(reply, { app_id: appId, results: list }, status);

  server.post('/feedback/', async (req, reply) => {
    const { app, caller: c } = caller(req);
    return results(reply, app.appId, [await giveFeedback(s, app, c, req.body)], 201);
  });

  server.get('/interests/', async (req, reply) => {
    const { app, caller: c } = caller(req);
    const q = query(req);
    const limit = intParam(str(q, 'limit'), 'limit', 100, 1000, true) || 100;
    const list = await readInterests(s, app, c, str(q, 'user_id'), limit);
    return send(reply, { app_id: app.appId, results: list, limit });
  });

  server.post('/interests/', async (req, reply) => {
    const { app, caller: c } = caller(req);
    const body = req.body;
    // The client's post(resource, options, data) puts user_id in the query; accept it there too.
    const merged = typeof body === 'object' && body !== null && !Array.isArray(body) ? { user_id: str(query(req), 'user_id'), ...(body as object) } : body;
    const r = await setInterests(s, app, c, merged);
    return results(reply, app.appId, r.set.map((x) => ({ user_id: r.user, tag: x.tag, weight: x.weight, source: 'manual' })), 201);
  });

  server.delete('/interests/', async (req, reply) => {
    const { app, caller: c } = caller(req);
    const q = query(req);
    const user = await deleteInterests(s, app, c, str(q, 'user_id'), str(q, 'tag'), str(q, 'source'));
    return results(reply, app.appId, [{ user_id: user, deleted: str(q, 'tag') ?? 'all' }]);
  });

  personalizationModelRoutes(server, s);

  server.all('/:resource/', async (req) => {
    const { resource } = req.params as { resource: string };
    throw new NotFoundError(`personalization resource ${resource.slice(0, 64)} does not exist`);
  });
}
