import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from 'pino';
import { CATALOGUE } from '../core/errors.js';
import { JSON_BODY_LIMIT, readJsonBody } from './body.js';
import { checkQueryEncoding } from './query.js';
import type { App } from '../core/feeds/feed-group.js';
import type { Metrics } from '../ports/metrics.js';
import { changeMarkOf, changesOf, type Services } from '../services/context.js';
import type { ReadinessCheck } from '../services/readiness.js';
import { ReadCache } from './read-cache.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { Integrity } from '../services/integrity.js';
import { authPlugin } from './plugins/auth.js';
import { API_PREFIX, checkRateLimitEndpoints, rateLimitHook } from './plugins/rate-limit.js';
import { clientError, errorsPlugin, frameworkError, sendError } from './plugins/errors.js';
import { MeteredLogController, metricsRoute, recordRoutes } from './plugins/metrics.js';
import { activityRoutes } from './routes/activities/activity-routes.js';
import { analyticsRoutes } from './routes/analytics/analytics-routes.js';
import { personalizationRoutes } from './routes/personalization/personalization-routes.js';
import { personalizedFeedRoutes } from './routes/personalization/personalized-feed-routes.js';
import { collectionRoutes } from './routes/collections/collection-routes.js';
import { dashboardRoutes, type DashboardOptions } from './routes/dashboard/dashboard-routes.js';
import { feedRoutes } from './routes/feeds/feed-routes.js';
import { followRoutes } from './routes/follows/follow-routes.js';
import { answerHealthFirst, healthRoutes } from './routes/health/health-routes.js';
import { reactionRoutes } from './routes/reactions/reaction-routes.js';
import { userRoutes } from './routes/users/user-routes.js';
import { downloadRoutes, fileRoutes } from './routes/files/file-routes.js';
import { ogRoutes } from './routes/og/og-routes.js';
import { moderationRoutes } from './routes/moderation/moderation-routes.js';
import { auditRoutes } from './routes/audit/audit-routes.js';
import { privacyRoutes } from './routes/privacy/privacy-routes.js';
import type { FileServices } from '../services/files.js';
import type { OpenGraph } from '../services/open-graph.js';
import { noteArrival } from '../ports/change-marks.js';

export interface HttpOptions {
  readonly apps: readonly App[];
  readonly services: Services;
  readonly logger: Logger;
  readonly ready: () => boolean;
  /** What `/readyz` checks. */
  readonly readiness?: readonly ReadinessCheck[];
  /** Byte budget of the read cache (see read-cache.ts); 0 or absent turns it off. */
  readonly readCacheBytes?: number;
  /** True once shutdown began: requests still arriving on open connections are answered 503. */
  readonly closing?: () => boolean;
  /** Connection timeouts (see config `limits`). */
  readonly limits?: HttpLimits;
  /** Counts requests for apps with rate limits (needed when an app has `rate_limits`). */
  readonly rateLimiter?: RateLimiter;
  /** The data's health: readiness asks it, store failures that found corruption are told to it. */
  readonly integrity?: Integrity;
  /** Records request latency by route and status, and the read cache's hits and size. */
  readonly metrics?: Metrics;
  /** Serve `GET /metrics` here (with `token`, when set); null or absent: not on this server. */
  readonly serveMetrics?: { readonly token?: string } | null;
  /** The web dashboard at `/dashboard/` (absent: not served). */
  readonly dashboard?: Omit<DashboardOptions, 'apps' | 'services' | 'readiness'>;
  /** Uploads (`files/`, `images/` and the served files); absent: those paths are 404. */
  readonly files?: FileServices;
  /** Link previews (`og/`); absent: 404. */
  readonly og?: OpenGraph;
}

/** How long a client may take to send a request, in milliseconds. */
export interface HttpLimits {
  /** From the connection's start (or its previous request) to the end of the headers. */
  readonly headersTimeoutMs: number;
  /** From the start of a request to the end of its body. */
  readonly requestTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000 };

/** Response headers browsers may read (Stream's rate-limit headers). */
const EXPOSED_HEADERS = 'X-Ratelimit-Limit, X-Ratelimit-Remaining, X-Ratelimit-Reset';

/**
 * Builds the HTTP server: Stream's v2 API under `/api/v1.0/`, health checks, CORS for browser
 * clients. Each resource's routes are one encapsulated plugin.
 */
export async function buildHttp(opts: HttpOptions): Promise<FastifyInstance> {
  const limits = opts.limits ?? DEFAULT_HTTP_LIMITS;
  const server = Fastify({
    loggerInstance: opts.logger as unknown as FastifyBaseLogger,
    // Per-request log lines cost time on the hot path; errors are still logged. With metrics, the
    // controller also records each request's latency (it runs when a response finishes anyway).
    logController: opts.metrics ? new MeteredLogController(opts.metrics) : new LogController({ disableRequestLogging: true }),
    // No child logger per request (a pino child costs an allocation and a bindings string on
    // every request); the few lines logged per request name their request id themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: JSON_BODY_LIMIT,
    // A request trickled in (a body at one byte per second, headers that never end) holds a
    // connection for as long as the client likes unless Node cuts it; Fastify turns Node's
    // request timeout off by default. Node checks its connections every `connectionsCheckingInterval`.
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    clientErrorHandler: clientError,
    // Requests that arrive during shutdown are answered by the hook below, in Stream's shape.
    return503OnClosing: false,
    routerOptions: {
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      maxParamLength: 1024,
      // node's parser decodes `+` as a space and gives arrays for repeated keys (§1.2).
      querystringParser: (q: string) => parseQuery(q) as Record<string, string | string[]>,
    },
    requestIdHeader: 'x-request-id',
    frameworkErrors: frameworkError,
  });

  if (opts.metrics) recordRoutes(server, opts.metrics);
  server.removeAllContentTypeParsers();
  // Every body is JSON whatever its content type (the official clients send some without one).
  server.addContentTypeParser('*', (req, payload, done) => readJsonBody(req.raw, payload, done));

  // Before CORS and routing: requests that arrive during shutdown on connections still open are
  // answered 503 in Stream's shape (and the connection closed); an OPTIONS request that is not a
  // CORS preflight (no Origin or no Access-Control-Request-Method) is 400.
  const closing = opts.closing ?? (() => false);
  answerHealthFirst(server, opts.ready, closing);
  // Synchronous, as every hook a request passes before its handler: an async hook costs a promise
  // and a microtask turn per request. A hook that answers does not call `done`.
  server.addHook('onRequest', (req, reply, done) => {
    // Counted before the request reads anything: the store's change mark relies on it (see
    // `noteArrival`).
    noteArrival();
    if (closing()) {
      void reply.header('connection', 'close');
      sendError(reply, CATALOGUE.unavailable, 'the server is shutting down; retry on another node or in a moment');
      return;
    }
    if (req.method === 'OPTIONS' && !(req.headers.origin && req.headers['access-control-request-method'])) {
      sendError(reply, CATALOGUE.input, 'OPTIONS is only answered as a CORS preflight: Origin and Access-Control-Request-Method are required');
      return;
    }
    done();
  });

  const integrity = opts.integrity;
  await server.register(errorsPlugin, { onCorruption: integrity ? (err) => integrity.corruptionSeen(err) : undefined });
  // CORS: any origin may call the API and read the rate-limit headers. `@fastify/cors` answers
  // preflights (and the OPTIONS route it adds); every other request of a route gets the headers
  // the plugin would add with `origin: true` (in the same order) from the small hook below, since
  // the plugin's general hook (options copied, route options built twice, the origin resolved
  // through callbacks) cost about 3% of the main thread on cached reads. Requests matching no
  // route keep the plugin's hook as well, which then finds the same headers and changes nothing.
  server.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('OPTIONS')) route.config = { ...route.config, cors: false } as typeof route.config;
  });
  server.addHook('onRequest', (req, reply, done) => {
    if (req.method !== 'OPTIONS') {
      // The hooks before this one set no Vary header.
      void reply.header('vary', 'Origin');
      const origin = req.headers.origin;
      if (origin) void reply.header('access-control-allow-origin', origin);
      void reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    }
    done();
  });
  await server.register(cors, {
    origin: true,
    allowedHeaders: ['Authorization', 'stream-auth-type', 'X-Stream-Client', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: EXPOSED_HEADERS,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  });
  await server.register(authPlugin, { apps: opts.apps });
  await server.register(healthRoutes, { ready: opts.ready, checks: opts.readiness ?? [] });
  if (opts.metrics && opts.serveMetrics) await server.register(metricsRoute, { metrics: opts.metrics, token: opts.serveMetrics.token });
  // A store shared by many nodes has change marks but no local mark: the cache reads the marks on every look.
  const mark = changeMarkOf(opts.services);
  const changes = changesOf(opts.services);
  const readCache = (mark || changes) && opts.readCacheBytes ? new ReadCache(opts.readCacheBytes, mark, changes) : null;
  if (readCache) {
    opts.metrics?.sources({ readCache: () => ({ ...readCache.counts, entries: readCache.size, bytes: readCache.bytes }) });
  }
  if (opts.dashboard) await server.register(dashboardRoutes, { ...opts.dashboard, apps: opts.apps, services: opts.services, readiness: opts.readiness ?? [] });
  server.decorate('readCache', readCache);
  const deps = { services: opts.services, readCache };
  const limiter = rateLimitHook(opts.apps, opts.rateLimiter, Date.now);
  const routes = new Set<string>();
  await server.register(
    async (api) => {
      // Every API route authenticates first; health checks, outside this prefix, do not. One
      // synchronous hook: the query's encoding, then the caller.
      api.addHook('onRequest', (req, _reply, done) => {
        try {
          checkQueryEncoding(req.url);
          api.authenticateNow(req);
        } catch (err) {
          done(err as Error);
          return;
        }
        done();
      });
      if (limiter !== null) api.addHook('onRequest', limiter);
      api.addHook('onRoute', (r) => {
        for (const m of ([] as string[]).concat(r.method)) if (m !== 'HEAD') routes.add(`${m} ${r.url.slice(API_PREFIX.length)}`);
      });
      await api.register(feedRoutes, deps);
      await api.register(followRoutes, deps);
      await api.register(activityRoutes, deps);
      await api.register(reactionRoutes, deps);
      await api.register(userRoutes, deps);
      await api.register(collectionRoutes, deps);
      await api.register(personalizedFeedRoutes, deps);
      if (opts.files) await api.register(fileRoutes, { files: opts.files });
      if (opts.og) await api.register(ogRoutes, { og: opts.og });
      if (opts.services.flags) await api.register(moderationRoutes, deps);
      if (opts.services.audit) await api.register(auditRoutes, deps);
      if (opts.services.userData) await api.register(privacyRoutes, { services: opts.services, files: opts.files });
    },
    { prefix: '/api/v1.0' },
  );
  checkRateLimitEndpoints(opts.apps, routes);
  // The analytics service authenticates on its own (the redirect carries its token in the query).
  await server.register(analyticsRoutes, { services: opts.services, apps: opts.apps });
  await server.register(personalizationRoutes, { services: opts.services, prefix: '/personalization/v1.0' });
  // Served files are fetched by browsers (<img src>, links) without a token: outside the API scope.
  if (opts.files) await server.register(downloadRoutes, { files: opts.files, apps: opts.apps });
  return server;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The read cache of finished feed pages (null when off); its counts feed benchmarks and metrics. */
    readCache: ReadCache | null;
  }
}
