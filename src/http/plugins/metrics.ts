import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { AuthenticationError } from '../../core/errors.js';
import type { Metrics, RouteRecorder } from '../../ports/metrics.js';

/** Where a route's recorder is kept in its config (set once, when the route is registered). */
const RECORDER = Symbol('rivulet.route-recorder');

/**
 * Fastify's log controller: Fastify already calls it when each response has finished, with the
 * request's start and end times taken, so recording the latency there adds no hook and no clock
 * reading to a request. The route's recorder was resolved when the route was registered
 * ({@link recordRoutes}); a request that matched no route counts as `(unmatched)`. Fastify calls
 * the controller only when it has a logger, which Rivulet's server always has (`buildHttp`).
 */
export class MeteredLogController extends LogController {
  readonly #unmatched: RouteRecorder;
  /** Fastify's own key of a request's route context, once found (see {@link #config}). */
  #contextKey: symbol | null | undefined = undefined;

  constructor(metrics: Metrics) {
    super({ disableRequestLogging: true });
    this.#unmatched = metrics.route('*', '(unmatched)');
  }

  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const config = this.#config(request) as { [RECORDER]?: RouteRecorder } | undefined;
    (config?.[RECORDER] ?? this.#unmatched).observe(reply.statusCode, reply.elapsedTime / 1000);
  }

  /**
   * The route's config. `request.routeOptions.config` builds a dozen-field object on every call
   * (measured: about half of the ~450 ns recording a request took), so the route context that
   * getter reads from is read directly, by the symbol Fastify keeps it under, found once on the
   * first request; should a Fastify version keep it elsewhere, the public getter is used.
   */
  #config(request: FastifyRequest): unknown {
    if (this.#contextKey === undefined) {
      const key = Object.getOwnPropertySymbols(request).find((s) => s.description === 'fastify.context');
      const context = key === undefined ? undefined : (request as unknown as Record<symbol, { config?: unknown }>)[key];
      this.#contextKey = context !== undefined && context.config === request.routeOptions.config ? key! : null;
    }
    if (this.#contextKey === null) return request.routeOptions.config;
    return (request as unknown as Record<symbol, { config?: unknown } | undefined>)[this.#contextKey]?.config;
  }
}

/** Gives every route registered on `server` from now on its recorder (method and URL pattern). */
export function recordRoutes(server: FastifyInstance, metrics: Metrics): void {
  server.addHook('onRoute', (route: RouteOptions) => {
    const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
    route.config = { ...(route.config as object | undefined), [RECORDER]: metrics.route(method, route.url) } as typeof route.config;
  });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Whether an Authorization header carries `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  return m !== null && timingSafeEqual(digest(m[1].trim()), digest(token));
}

/** `GET /metrics` on the API's server; outside the API's authentication, with the metrics token when one is set. */
export async function metricsRoute(server: FastifyInstance, opts: { metrics: Metrics; token?: string }): Promise<void> {
  server.get('/metrics', async (req, reply) => {
    if (opts.token !== undefined && !bearerMatches(req.headers.authorization, opts.token)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new AuthenticationError('metrics need the header Authorization: Bearer <metrics.token>');
    }
    const { contentType, body } = await opts.metrics.scrape();
    return reply.type(contentType).send(body);
  });
}

/**
 * Metrics on an address of their own (`metrics.port`), e.g. a port only the monitoring network
 * reaches: `GET /metrics` and nothing else. Resolves with the URL once listening.
 */
export async function startMetricsServer(opts: { metrics: Metrics; host: string; port: number; token?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const json = (status: number, detail: string) => JSON.stringify({ code: status === 401 ? 3 : 4, detail, status_code: status });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(json(404, 'only GET /metrics is served here'));
      return;
    }
    if (opts.token !== undefined && !bearerMatches(req.headers.authorization, opts.token)) {
      res
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="metrics"' })
        .end(json(401, 'metrics need the header Authorization: Bearer <metrics.token>'));
      return;
    }
    opts.metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(json(500, `metrics failed: ${(err as Error).message}`)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
