import type { FastifyInstance } from 'fastify';
import type { OpenGraph } from '../../../services/open-graph.js';
import { authorize } from '../../plugins/auth.js';
import { query, str } from '../../query.js';
import { send } from '../../reply.js';

/** Link previews (§14): any `*` server token or any user token. */
export async function ogRoutes(server: FastifyInstance, opts: { og: OpenGraph }): Promise<void> {
  server.get('/og/', async (req, reply) => {
    authorize(req, 'global', null, () => true);
    return send(reply, await opts.og.scrape(str(query(req), 'url')));
  });
}
