import type { FastifyInstance, FastifyReply } from 'fastify';

/** Liveness and readiness; no authentication. */
export async function healthRoutes(server: FastifyInstance, opts: { ready: () => boolean }): Promise<void> {
  const health = async (_req: unknown, reply: FastifyReply) => {
    const ready = opts.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'starting' });
  };
  server.get('/healthz', health);
  server.get('/readyz', health);
}
