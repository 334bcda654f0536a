import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPlainObject, withOrigin } from '../../../core/activities/activity.js';
import { InputError } from '../../../core/errors.js';
import { feedId } from '../../../core/feeds/feed-id.js';
import type { Services } from '../../../services/context.js';
import { enrichActivities } from '../../../services/enrich.js';
import { getActivities } from '../../../services/get-activities.js';
import { enrichOptions } from '../../enrich-options.js';
import { partialUpdateActivities, updateActivities } from '../../../services/update-activities.js';
import { updateToTargets } from '../../../services/update-to-targets.js';
import { authorize } from '../../plugins/auth.js';
import { list, query, rankingVars } from '../../query.js';
import { raw, send } from '../../reply.js';

/** Activities by id: full and partial update, get by ids, to-target updates (§6.5–§6.7, §6.9). */
export async function activityRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;

  server.post('/activities/', async (req, reply) => {
    const { app } = authorize(req, 'activities', null, null);
    const body = req.body;
    if (!isPlainObject(body) || !Array.isArray(body.activities)) throw new InputError('body must be {"activities": [...]}');
    await updateActivities(s, app, body.activities);
    return send(reply, {}, 201);
  });

  server.post('/activity/', async (req, reply) => {
    const { app } = authorize(req, 'activities', null, null);
    const body = req.body;
    if (!isPlainObject(body)) throw new InputError('body must be {"changes": [...]}');
    const changes = Array.isArray(body.changes) ? body.changes : 'changes' in body ? body.changes : [body];
    const updated = await partialUpdateActivities(s, app, changes);
    return send(reply, raw(`{"activities":[${updated.map((a) => withOrigin(a.body, null)).join(',')}]}`), 201);
  });

  const get = (references: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const { app, principal } = authorize(req, 'activities', null, () => true);
    const q = query(req);
    rankingVars(q);
    const bodies = await getActivities(s, app, {
      ids: list(q, 'ids'),
      foreign_ids: list(q, 'foreign_ids'),
      timestamps: list(q, 'timestamps'),
    });
    const results = await enrichActivities(s, app, bodies.map((body) => ({ body, origin: null })), enrichOptions(req, principal, references));
    return send(reply, raw(`{"results":[${results.join(',')}]}`));
  };
  server.get('/activities/', get(false));
  server.get('/enrich/activities/', get(true));

  server.post('/feed_targets/:slug/:uid/activity_to_targets/', async (req, reply) => {
    const p = req.params as { slug: string; uid: string };
    const feed = feedId(p.slug, p.uid);
    const { app } = authorize(req, 'feed_targets', feed, null);
    const results = await updateToTargets(s, app, feed, req.body);
    if (Array.isArray(req.body)) return send(reply, {}, 201);
    const r = results[0];
    return send(
      reply,
      raw(`{"activity":${withOrigin(r.activity.body, null)},"added":${JSON.stringify(r.added)},"removed":${JSON.stringify(r.removed)}}`),
      201,
    );
  });
}
