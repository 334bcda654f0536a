import type { FastifyInstance } from 'fastify';

/** Liveness and readiness; no authentication. */
export async function healthRoutes(server: FastifyInstance, opts: { ready: () => boolean }): Promise<void> {
  server.get('/healthz', async (_req, reply) => reply.code(opts.ready() ? 200 : 503).send({ status: opts.ready() ? 'ok' : 'starting' }));
  server.get('/readyz', async (_req, reply) => reply.code(opts.ready() ? 200 : 503).send({ status: opts.ready() ? 'ok' : 'starting' }));
}
