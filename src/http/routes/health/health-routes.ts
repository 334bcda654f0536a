import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Integrity } from '../../../services/integrity.js';

/**
 * Liveness and readiness; no authentication.
 * - `/healthz` (liveness): 200 once the server listens, while it serves; restarting the process
 *   would not help with what readiness reports. The body names the data's integrity status.
 * - `/readyz` (readiness): 200 only while the server listens, is not shutting down, and its data
 *   is not known to be corrupt, with the integrity check at start answered (see
 *   services/integrity.ts); otherwise 503 with the reason, so a load balancer sends traffic elsewhere.
 */
export async function healthRoutes(
  server: FastifyInstance,
  opts: { ready: () => boolean; closing?: () => boolean; integrity?: Integrity },
): Promise<void> {
  server.get('/healthz', async (_req, reply: FastifyReply) => {
    const up = opts.ready();
    const data = opts.integrity?.report().status;
    return reply.code(up ? 200 : 503).send({ status: up ? 'ok' : 'starting', ...(data ? { integrity: data } : {}) });
  });
  server.get('/readyz', async (_req, reply: FastifyReply) => {
    const integrity = opts.integrity?.report();
    let status = 'ok';
    if (opts.closing?.()) status = 'closing';
    else if (!opts.ready()) status = 'starting';
    else if (integrity?.status === 'corrupt') status = 'corrupt';
    else if (integrity?.status === 'checking') status = 'checking';
    const body: Record<string, unknown> = { status };
    if (integrity) body.integrity = integrity;
    return reply.code(status === 'ok' ? 200 : 503).send(body);
  });
}
