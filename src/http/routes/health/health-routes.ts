import type { FastifyInstance, FastifyReply } from 'fastify';
import { checkReadiness, type ReadinessCheck } from '../../../services/readiness.js';

/**
 * Liveness and readiness; no authentication. `/healthz` is 200 once the server has started;
 * `/readyz` runs every readiness check (store open, migrations applied, fan-out worker running
 * where expected, …) and is 200 with each check's outcome when all pass, 503 otherwise.
 */
export async function healthRoutes(server: FastifyInstance, opts: { ready: () => boolean; checks: readonly ReadinessCheck[] }): Promise<void> {
  server.get('/healthz', async (_req: unknown, reply: FastifyReply) => {
    const ready = opts.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'starting' });
  });
  server.get('/readyz', async (_req: unknown, reply: FastifyReply) => {
    const r = await checkReadiness(opts.checks);
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
}
