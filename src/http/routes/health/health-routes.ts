import type { FastifyInstance, FastifyReply } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

const HEALTHY = Buffer.from('{"status":"ok"}');
const HEALTHY_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(HEALTHY.length) };

/**
 * Answers a plain `GET /healthz` of a started server straight from the HTTP server's request
 * listener, before routing, hooks and reply handling: under load a liveness probe then costs the
 * event loop a few microseconds instead of a whole request's way through the framework. Anything
 * else (a query string, a CORS request, a server starting or shutting down) takes the route above,
 * which answers the same way. Requests answered here are not counted in the request metrics.
 */
export function answerHealthFirst(server: FastifyInstance, ready: () => boolean, closing: () => boolean): void {
  const raw = server.server;
  type Listener = (req: IncomingMessage, res: ServerResponse) => void;
  const listeners = raw.listeners('request') as Listener[];
  raw.removeAllListeners('request');
  raw.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz' && req.method === 'GET' && req.headers.origin === undefined && ready() && !closing()) {
      res.writeHead(200, HEALTHY_HEADERS);
      res.end(HEALTHY);
      return;
    }
    for (const l of listeners) l.call(raw, req, res);
  });
}
