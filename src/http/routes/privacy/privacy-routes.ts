import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../services/context.js';
import { deleteActivitiesEverywhere, deleteReactionsEverywhere, deleteUser, exportIds, exportUser } from '../../../services/data-privacy.js';
import type { FileServices } from '../../../services/files.js';
import { InputError } from '../../../core/errors.js';
import { isPlainObject } from '../../../core/activities/activity.js';
import { authorize } from '../../plugins/auth.js';
import { raw, send } from '../../reply.js';

function pathUser(req: FastifyRequest): string {
  return (req.params as { user_id: string }).user_id;
}

/**
 * Data privacy (§18.1), server tokens only (resource `data_privacy` or `*`): Stream's delete and
 * export-ids endpoints, and Rivulet's export and erasure of everything of one user.
 */
export async function privacyRoutes(server: FastifyInstance, opts: { services: Services; files?: FileServices }): Promise<void> {
  const s = opts.services;

  server.post('/data_privacy/delete_activities/', async (req, reply) => {
    const { app } = authorize(req, 'data_privacy', null, null);
    await deleteActivitiesEverywhere(s, app, req.body);
    return send(reply, {});
  });

  server.post('/data_privacy/delete_reactions/', async (req, reply) => {
    const { app } = authorize(req, 'data_privacy', null, null);
    await deleteReactionsEverywhere(s, app, req.body);
    return send(reply, {});
  });

  server.get('/data_privacy/export_ids/:user_id', async (req, reply) => {
    const { app } = authorize(req, 'data_privacy', null, null);
    return send(reply, { export: await exportIds(s, app, pathUser(req)) });
  });

  server.get('/data_privacy/export/:user_id', async (req, reply) => {
    const { app } = authorize(req, 'data_privacy', null, null);
    return send(reply, raw(`{"export":${await exportUser(s, opts.files, app, pathUser(req))}}`));
  });

  server.post('/data_privacy/delete_user/', async (req, reply) => {
    const { app } = authorize(req, 'data_privacy', null, null);
    if (!isPlainObject(req.body) || typeof req.body.user_id !== 'string') throw new InputError('body must be {"user_id": "..."}');
    return send(reply, { deleted: await deleteUser(s, opts.files, app, req.body.user_id) });
  });
}
