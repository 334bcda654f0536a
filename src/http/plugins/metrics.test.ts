import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify, { type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import type { Metrics, RouteRecorder } from '../../ports/metrics.js';
import { noMetrics } from '../../ports/metrics.js';
import { bearerMatches, MeteredLogController, recordRoutes } from './metrics.js';

/** A metrics port that keeps what each route recorded. */
function recording() {
  const seen: [string, number][] = [];
  const m: Metrics = {
    ...noMetrics,
    route: (method, url): RouteRecorder => ({ observe: (status) => seen.push([`${method} ${url}`, status]) }),
  };
  return { m, seen };
}

describe('request metrics', () => {
  it('records each response under its route pattern and status, and unmatched requests apart', async () => {
    const { m, seen } = recording();
    // Fastify calls its log controller only when it has a logger; Rivulet's server always has one.
    const app = Fastify({ loggerInstance: pino({ level: 'silent' }) as unknown as FastifyBaseLogger, logController: new MeteredLogController(m) });
    recordRoutes(app, m);
    app.get('/feed/:slug/:uid/', async () => ({ ok: true }));
    app.post('/feed/:slug/:uid/', async (_req, reply) => reply.code(201).send({}));
    await app.inject({ method: 'GET', url: '/feed/user/a/' });
    await app.inject({ method: 'POST', url: '/feed/user/b/', payload: {} });
    await app.inject({ method: 'GET', url: '/nothing/here' });
    await app.close();
    assert.deepEqual(seen, [
      ['GET /feed/:slug/:uid/', 200],
      ['POST /feed/:slug/:uid/', 201],
      ['* (unmatched)', 404],
    ]);
  });

  it('falls back to the public routeOptions when the route context cannot be found', () => {
    const { m, seen } = recording();
    const controller = new MeteredLogController(m);
    const app = Fastify({ logger: false });
    recordRoutes(app, m);
    let config: unknown;
    app.get('/x', { onRequest: async (req) => void (config = req.routeOptions.config) }, async () => 'x');
    return app.inject({ method: 'GET', url: '/x' }).then(async () => {
      const request = { routeOptions: { config } } as unknown as FastifyRequest;
      const reply = { statusCode: 204, elapsedTime: 1.5 } as unknown as FastifyReply;
      controller.requestCompleted(null, request, reply);
      controller.requestCompleted(null, request, reply);
      assert.deepEqual(seen.slice(-2), [
        ['GET /x', 204],
        ['GET /x', 204],
      ]);
      await app.close();
    });
  });
});

describe('bearerMatches', () => {
  it('accepts only "Bearer <token>" with the exact token', () => {
    const token = 'scrape-token-0123456789';
    assert.equal(bearerMatches(`Bearer ${token}`, token), true);
    assert.equal(bearerMatches(`bearer   ${token} `, token), true);
    assert.equal(bearerMatches(token, token), false);
    assert.equal(bearerMatches(`Bearer ${token}x`, token), false);
    assert.equal(bearerMatches('Bearer ', token), false);
    assert.equal(bearerMatches(undefined, token), false);
  });
});
