import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../services/context.js';
import { flagEntity, flagJson, listFlags } from '../../../services/moderation.js';
import { authorize } from '../../plugins/auth.js';
import { query, str } from '../../query.js';
import { send } from '../../reply.js';

/**
 * Moderation (§17): `moderation/flag` stores a flag (server tokens with resource `moderation` or
 * `*`); `moderation/flags/` lists them for the operator.
 */
export async function moderationRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;
  server.post('/moderation/flag', async (req, reply) => {
    const { app } = authorize(req, 'moderation', null, null);
    return send(reply, flagJson(await flagEntity(s, app, req.body)), 201);
  });

  server.get('/moderation/flags/', async (req, reply) => {
    const { app } = authorize(req, 'moderation', null, null);
    const q = query(req);
    const { flags, next } = await listFlags(s, app, {
      entity_type: str(q, 'entity_type'),
      entity_id: str(q, 'entity_id'),
      limit: str(q, 'limit'),
      next: str(q, 'next'),
    });
    return send(reply, { flags: flags.map(flagJson), next });
  });
}
