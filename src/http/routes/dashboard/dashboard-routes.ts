import { createSigner } from 'fast-jwt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError, CATALOGUE, InputError, NotFoundError } from '../../../core/errors.js';
import type { App } from '../../../core/feeds/feed-group.js';
import { parseFeedId } from '../../../core/feeds/feed-id.js';
import { compileRankingMethod, RankingConfigError } from '../../../core/ranking/compile.js';
import type { Metrics } from '../../../ports/metrics.js';
import type { PubSub } from '../../../ports/pubsub.js';
import { groupOf, type Services } from '../../../services/context.js';
import { checkReadiness, type ReadinessCheck } from '../../../services/readiness.js';
import { readFeed } from '../../../services/read-feed.js';
import { readRanked } from '../../../services/read-ranked.js';
import { errorJson } from '../../plugins/errors.js';
import { duration } from '../../reply.js';
import { loadDashboardAssets, type DashboardAssets } from './assets.js';
import { checkCsrf, COOKIE, readCookie, Sessions, setSessionCookie, type Session } from './session.js';

export interface DashboardOptions {
  readonly apps: readonly App[];
  readonly services: Services;
  readonly pubsub: PubSub;
  readonly metrics: Metrics;
  readonly readiness: readonly ReadinessCheck[];
  /** Signs in to every app; without it only app credentials sign in. */
  readonly operatorToken?: string;
  /** Where `/metrics` is served, for the overview; null when off. */
  readonly metricsUrl?: () => string | null;
  /** The files to serve (default: read from the package, see assets.ts). */
  readonly assets?: DashboardAssets;
}

declare module 'fastify' {
  interface FastifyRequest {
    dashboardSession: Session | null;
  }
}

/** Query parameters of a feed read the explorer passes on to the API. */
const FEED_PARAMS = ['limit', 'offset', 'id_lt', 'id_lte', 'id_gt', 'id_gte', 'ranking', 'ranking_vars', 'withScoreVars', 'withRecentReactions', 'withReactionCounts', 'withOwnReactions', 'recentReactionsLimit'];
/** Realtime tails open at once in one process. */
const MAX_TAILS = 100;
/** Seconds between keep-alive comments on a tail (proxies close idle streams). */
const TAIL_PING_S = 15;
/** Most activities the playground ranks and shows side by side. */
const PREVIEW_MAX = 100;

/** The public form of an app's settings: everything but the secret. */
function describeApp(app: App) {
  return {
    app_id: app.appId,
    api_key: app.apiKey,
    feed_groups: [...app.groups.values()].map((g) => ({
      name: g.name,
      type: g.type,
      aggregation_format: g.aggregationFormat ?? null,
      ranking: Object.fromEntries([...g.rankings.values()].map((m) => [m.name, { score: m.score, defaults: m.defaults, window: m.window, variables: m.variables }])),
      max_length: g.maxLength,
      realtime: g.realtime,
      public: g.public,
      followable: g.followable,
    })),
  };
}

/**
 * The web dashboard at `/dashboard/`: the page (see assets.ts) and its JSON API under
 * `/dashboard/api/`, behind a dashboard session (session.ts). Feed reads, activities, reactions and
 * follows go through the public API in-process with a server token of the app, so the explorer
 * shows exactly what a client of the API gets; the ranking playground compiles a formula and ranks
 * a feed with the same code as a ranked read; the realtime tail is a server-sent event stream fed by
 * the pubsub port, as the Faye endpoint is.
 */
export async function dashboardRoutes(server: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const assets = opts.assets ?? loadDashboardAssets();
  const sessions = new Sessions(opts.apps, opts.operatorToken);
  const s = opts.services;
  const signers = new Map<string, string>();
  /** A server token of `app` (all resources), made once. */
  const serverToken = (app: App): string => {
    let t = signers.get(app.appId);
    if (t === undefined) {
      t = createSigner({ key: app.apiSecret, algorithm: 'HS256' })({ resource: '*', action: '*', feed_id: '*' }) as string;
      signers.set(app.appId, t);
    }
    return t;
  };
  const now = () => Math.floor(Date.now() / 1000);

  server.decorateRequest('dashboardSession', null);

  // ---- the page and its files -------------------------------------------------------------
  const sendFile = (reply: FastifyReply, path: string) => {
    const f = assets.files.get(path);
    if (!f) throw new NotFoundError(`no dashboard file ${path.slice(0, 100)}`);
    return reply
      .header('content-type', f.type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', assets.csp)
      .header('referrer-policy', 'same-origin')
      .send(f.body);
  };
  // The router ignores trailing slashes: this is /dashboard too.
  server.get('/dashboard/', async (_req, reply) => {
    if (assets.missing) return reply.code(503).type('text/plain; charset=utf-8').send(assets.missing);
    return sendFile(reply, '');
  });
  server.get('/dashboard/*', async (req, reply) => sendFile(reply, (req.params as { '*': string })['*']));

  // ---- the API ----------------------------------------------------------------------------
  await server.register(
    async (api) => {
      api.addHook('onRequest', async (req) => {
        req.dashboardSession = sessions.verify(readCookie(req, COOKIE), now());
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const signingIn = req.url.split('?')[0].replace(/\/$/, '') === '/dashboard/api/session' && req.method === 'POST';
          if (signingIn) checkCsrf(req, 'sign-in');
          else if (req.dashboardSession) checkCsrf(req, sessions.csrf(readCookie(req, COOKIE)!));
        }
      });
      const need = (req: FastifyRequest): Session => {
        if (!req.dashboardSession) throw new AuthenticationError('sign in to the dashboard first');
        return req.dashboardSession;
      };

      const sessionView = (cookie: string, sess: Session) => ({
        kind: sess.kind,
        expires: new Date(sess.expires * 1000).toISOString(),
        csrf: sessions.csrf(cookie),
        apps: sessions.appsOf(sess).map(describeApp),
        operator_sign_in: sessions.operatorEnabled,
      });

      api.get('/session', async (req, reply) => {
        const sess = req.dashboardSession;
        if (!sess) return reply.code(401).send({ signed_in: false, operator_sign_in: sessions.operatorEnabled });
        return sessionView(readCookie(req, COOKIE)!, sess);
      });
      api.post('/session', async (req, reply) => {
        // One reading of the clock: two could straddle a second and give the cookie one second less.
        const t = now();
        const { cookie, session: sess } = sessions.signIn(req.body, t);
        setSessionCookie(req, reply, cookie, sess.expires - t);
        return sessionView(cookie, sess);
      });
      api.delete('/session', async (req, reply) => {
        setSessionCookie(req, reply, '', 0);
        return { signed_in: false };
      });

      api.get('/apps', async (req, reply) => {
        const sess = need(req);
        return { apps: sessions.appsOf(sess).map(describeApp) };
      });
      api.post('/apps/:app/secret', async (req, reply) => {
        const sess = need(req);
        const app = sessions.app(sess, (req.params as { app: string }).app);
        return { app_id: app.appId, api_secret: app.apiSecret };
      });

      api.get('/overview', async (req, reply) => {
        const sess = need(req);
        const r = await checkReadiness(opts.readiness);
        return {
          ready: r.ready,
          checks: r.checks,
          metrics_url: opts.metricsUrl?.() ?? null,
          uptime_s: Math.round(process.uptime()),
          node: process.version,
          pid: process.pid,
        };
      });
      api.get('/metrics/history', async (req, reply) => {
        need(req);
        return opts.metrics.history();
      });

      /** Calls the public API in-process as the app's server and answers with what it answered. */
      const viaApi = async (reply: FastifyReply, app: App, path: string, params: URLSearchParams) => {
        params.set('api_key', app.apiKey);
        const res = await server.inject({
          method: 'GET',
          url: `/api/v1.0/${path}?${params.toString()}`,
          headers: { authorization: serverToken(app), 'stream-auth-type': 'jwt' },
        });
        return reply.code(res.statusCode).type('application/json; charset=utf-8').send(res.body);
      };
      const pick = (req: FastifyRequest, names: readonly string[]) => {
        const q = req.query as Record<string, string | string[] | undefined>;
        const out = new URLSearchParams();
        for (const n of names) {
          const v = q[n];
          if (typeof v === 'string' && v !== '') out.set(n, v);
        }
        return out;
      };
      const enc = encodeURIComponent;

      api.get('/apps/:app/feed/:slug/:uid', async (req, reply) => {
        const sess = need(req);
        const p = req.params as { app: string; slug: string; uid: string };
        const app = sessions.app(sess, p.app);
        const enrich = (req.query as { enrich?: string }).enrich === 'true';
        return viaApi(reply, app, `${enrich ? 'enrich/' : ''}feed/${enc(p.slug)}/${enc(p.uid)}/`, pick(req, FEED_PARAMS));
      });
      api.get('/apps/:app/activities', async (req, reply) => {
        const sess = need(req);
        return viaApi(reply, sessions.app(sess, (req.params as { app: string }).app), 'activities/', pick(req, ['ids', 'foreign_ids', 'timestamps']));
      });
      api.get('/apps/:app/reactions/:activity', async (req, reply) => {
        const sess = need(req);
        const p = req.params as { app: string; activity: string };
        const kind = (req.query as { kind?: string }).kind;
        const path = `reaction/activity_id/${enc(p.activity)}/${kind ? `${enc(kind)}/` : ''}`;
        return viaApi(reply, sessions.app(sess, p.app), path, pick(req, ['limit', 'id_lt', 'with_activity_data']));
      });
      api.get('/apps/:app/follows/:slug/:uid/:direction', async (req, reply) => {
        const sess = need(req);
        const p = req.params as { app: string; slug: string; uid: string; direction: string };
        if (p.direction !== 'followers' && p.direction !== 'following') throw new NotFoundError('followers or following');
        return viaApi(reply, sessions.app(sess, p.app), `feed/${enc(p.slug)}/${enc(p.uid)}/${p.direction}/`, pick(req, ['limit', 'offset', 'filter']));
      });

      api.post('/apps/:app/rank-preview', async (req, reply) => {
        const sess = need(req);
        const app = sessions.app(sess, (req.params as { app: string }).app);
        const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
        const feed = parseFeedId(body.feed, 'feed');
        const group = groupOf(app, feed);
        if (group.type !== 'flat') throw new InputError(`ranking applies to flat feeds; ${feed.slug} is ${group.type}`);
        const limit = typeof body.limit === 'number' && Number.isInteger(body.limit) ? Math.min(Math.max(body.limit, 1), PREVIEW_MAX) : 25;
        const vars = body.ranking_vars;
        if (vars !== undefined && (typeof vars !== 'object' || vars === null || Array.isArray(vars))) throw new InputError('ranking_vars must be an object');
        let method;
        try {
          method = compileRankingMethod('preview', { score: body.score, defaults: body.defaults, window: body.window });
        } catch (err) {
          if (!(err instanceof RankingConfigError)) throw err;
          // Stream's error body, plus where in the formula the problem is.
          return reply
            .code(400)
            .type('application/json; charset=utf-8')
            .send(errorJson(CATALOGUE.input, err.message, duration(reply), undefined, 400, { position: err.position ?? null }));
        }
        const range = { limit, offset: 0 };
        const ranked = await readRanked(s, app, feed, group, method, range, { vars: vars as Record<string, unknown> | undefined, withScoreVars: true });
        const compare = typeof body.compare === 'string' && body.compare !== '' ? group.rankings.get(body.compare) : undefined;
        if (typeof body.compare === 'string' && body.compare !== '' && !compare) throw new InputError(`ranking method "${body.compare.slice(0, 64)}" is not defined for ${feed.slug}`);
        const current = compare
          ? (await readRanked(s, app, feed, group, compare, range, { vars: vars as Record<string, unknown> | undefined, withScoreVars: true })).results
          : (await readFeed(s, app, feed, group, range)).results;
        const json = (xs: string[]) => `[${xs.join(',')}]`;
        return reply
          .type('application/json; charset=utf-8')
          .send(
            `{"feed":${JSON.stringify(feed.fid)},"variables":${JSON.stringify(method.variables)},"window":${method.window},"compare":${JSON.stringify(compare?.name ?? null)},"ranked":${json(ranked.results)},"current":${json(current)}}`,
          );
      });

      const tails = new Set<() => void>();
      server.addHook('preClose', async () => {
        for (const end of [...tails]) end();
      });
      api.get('/apps/:app/tail/:slug/:uid', async (req, reply) => {
        const sess = need(req);
        const p = req.params as { app: string; slug: string; uid: string };
        const app = sessions.app(sess, p.app);
        const feed = parseFeedId(`${p.slug}:${p.uid}`, 'feed');
        groupOf(app, feed);
        if (tails.size >= MAX_TAILS) throw new InputError(`at most ${MAX_TAILS} realtime tails at once`);
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
        const stop = opts.pubsub.subscribe((e) => {
          if (e.app === app.appId && e.feed === feed.fid) res.write(`event: change\ndata: ${JSON.stringify(e.message)}\n\n`);
        });
        opts.pubsub.watch(app.appId, feed.fid);
        const ping = setInterval(() => res.write(': ping\n\n'), TAIL_PING_S * 1000);
        ping.unref();
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          clearInterval(ping);
          stop();
          opts.pubsub.unwatch(app.appId, feed.fid);
          tails.delete(end);
          res.end();
        };
        tails.add(end);
        req.raw.on('close', end);
        // Counted everywhere before the page is told it listens (as a Faye subscription is).
        await opts.pubsub.synced?.();
        if (!ended) res.write(`event: ready\ndata: ${JSON.stringify({ feed: feed.fid })}\n\n`);
      });
    },
    { prefix: '/dashboard/api' },
  );
}
