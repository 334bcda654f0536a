// Prometheus metrics at /metrics and readiness at /readyz, through the HTTP surface: what a
// monitoring system scrapes, read back with a parser of the text format.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'getstream';
import { freePort } from '../support/process.js';
import { find, parseExposition, total, type Exposition } from '../support/prometheus.js';
import { startServer, uid, type TestServer } from '../support/server.js';

const FEED_ROUTE = '/api/v1.0/feed/:slug/:uid/';

function origin(t: TestServer): string {
  return t.baseUrl.replace(/\/api\/$/, '');
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(url, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe('GET /metrics', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(() => t.close());

  it('answers without API credentials, with request latency histograms by route, method and status', async () => {
    const feed = t.client().feed('user', uid());
    await feed.get({ limit: 5 });
    await feed.get({ limit: 5 });
    const bad = await fetch(`${t.baseUrl}v1.0/feed/user/x/?api_key=nope`);
    assert.equal(bad.status, 401);
    assert.equal((await fetch(`${origin(t)}/no/such/path`)).status, 404);

    const m = await scrape(`${origin(t)}/metrics`);
    assert.equal(m.types.get('rivulet_http_request_duration_seconds'), 'histogram');
    const ok = { method: 'GET', route: FEED_ROUTE, status: '200' };
    assert.equal(total(m, 'rivulet_http_request_duration_seconds_count', ok), 2);
    assert.ok(total(m, 'rivulet_http_request_duration_seconds_sum', ok) > 0);
    assert.equal(total(m, 'rivulet_http_request_duration_seconds_count', { ...ok, status: '401' }), 1);
    assert.equal(total(m, 'rivulet_http_request_duration_seconds_count', { route: '(unmatched)', status: '404' }), 1);
    // Buckets are cumulative and end with +Inf = count.
    const buckets = find(m, 'rivulet_http_request_duration_seconds_bucket', ok);
    assert.ok(buckets.length > 5);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value);
    assert.equal(buckets.at(-1)!.labels.le, '+Inf');
    assert.equal(buckets.at(-1)!.value, 2);
  });

  it('reports store call latency by port method', async () => {
    await t.client().feed('user', uid()).addActivity({ actor: 'a', verb: 'post', object: 'o:1' });
    const m = await scrape(`${origin(t)}/metrics`);
    assert.ok(total(m, 'rivulet_store_call_duration_seconds_count', { method: 'intents.commit', outcome: 'ok' }) >= 1);
    assert.ok(total(m, 'rivulet_store_call_duration_seconds_count', { method: 'timelines.scan', outcome: 'ok' }) >= 1);
    assert.equal(find(m, 'rivulet_store_call_duration_seconds_count', { method: 'changeMark' }).length, 0, 'the read cache check is not timed');
  });

  it('counts read-cache hits and misses and reports its size', async () => {
    const before = await scrape(`${origin(t)}/metrics`);
    const feed = t.client().feed('user', uid());
    await feed.addActivity({ actor: 'a', verb: 'post', object: 'o:1' });
    await feed.get({ limit: 3 }); // built: a miss
    await feed.get({ limit: 3 }); // the same bytes: a hit
    const m = await scrape(`${origin(t)}/metrics`);
    const hits = (e: Exposition) => total(e, 'rivulet_read_cache_lookups_total', { result: 'hit' });
    const misses = (e: Exposition) => total(e, 'rivulet_read_cache_lookups_total', { result: 'miss' });
    assert.equal(hits(m) - hits(before), 1);
    assert.equal(misses(m) - misses(before), 1);
    assert.ok(total(m, 'rivulet_read_cache_entries') >= 1);
    assert.ok(total(m, 'rivulet_read_cache_bytes') > 0);
  });

  it('reports the realtime clients and their subscriptions', async () => {
    const id = uid();
    const client = connect(t.apiKey, t.apiSecret, t.appId, { urlOverride: { api: t.baseUrl }, fayeUrl: `${origin(t)}/faye` });
    await client.feed('user', id).subscribe(() => {});
    const m = await scrape(`${origin(t)}/metrics`);
    assert.equal(total(m, 'rivulet_realtime_clients'), 1);
    assert.equal(total(m, 'rivulet_realtime_subscriptions'), 1);
    client.fayeClient?.disconnect();
  });

  it('includes the process defaults and the event-loop delay', async () => {
    const m = await scrape(`${origin(t)}/metrics`);
    assert.ok(find(m, 'process_cpu_user_seconds_total').length === 1);
    assert.ok(find(m, 'process_resident_memory_bytes').length === 1);
    assert.ok(find(m, 'nodejs_eventloop_lag_p99_seconds').length === 1);
    assert.ok(find(m, 'nodejs_heap_size_used_bytes').length === 1);
  });
});

describe('fan-out metrics', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ worker: 'manual', fanout: { inline_max_followers: 0 } });
  });
  after(() => t.close());

  it('shows queued jobs until they are applied, then the lag from the write to the last follower', async () => {
    const star = uid('star');
    const c = t.client();
    await c.feed('timeline', uid()).follow('user', star);
    await c.feed('timeline', uid()).follow('user', star);
    await c.feed('user', star).addActivity({ actor: star, verb: 'post', object: 'o:1' });

    const queued = await scrape(`${origin(t)}/metrics`);
    assert.equal(total(queued, 'rivulet_fanout_queue_jobs'), 1);
    assert.ok(total(queued, 'rivulet_fanout_queue_oldest_age_seconds') >= 0);
    assert.equal(total(queued, 'rivulet_fanout_lag_seconds_count'), 0);

    await new Promise((r) => setTimeout(r, 20));
    await t.rivulet.worker!.drainAll();
    const applied = await scrape(`${origin(t)}/metrics`);
    assert.equal(total(applied, 'rivulet_fanout_queue_jobs'), 0);
    assert.equal(total(applied, 'rivulet_fanout_queue_oldest_age_seconds'), 0);
    assert.equal(total(applied, 'rivulet_fanout_lag_seconds_count', { kind: 'fanout.add' }), 1);
    assert.ok(total(applied, 'rivulet_fanout_lag_seconds_sum', { kind: 'fanout.add' }) >= 0.02, 'the lag includes the time the job waited');
  });
});

describe('metrics settings', () => {
  it('require the metrics token when one is configured', async () => {
    const token = 'scrape-token-0123456789';
    const t = await startServer({ config: { metrics: { token } } });
    try {
      const none = await fetch(`${origin(t)}/metrics`);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="metrics"');
      const body = (await none.json()) as { status_code: number; exception: string; detail: string };
      assert.equal(body.status_code, 401);
      assert.match(body.detail, /Bearer/);
      assert.equal((await fetch(`${origin(t)}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
      // The API's own credentials are not the metrics token.
      assert.equal((await fetch(`${origin(t)}/metrics`, { headers: { authorization: t.client().getOrCreateToken() } })).status, 401);
      const m = await scrape(`${origin(t)}/metrics`, { authorization: `Bearer ${token}` });
      assert.ok(find(m, 'rivulet_fanout_queue_jobs').length === 1);
    } finally {
      await t.close();
    }
  });

  it('serve them on a port of their own when metrics.port is set, and not on the API port', async () => {
    const port = await freePort();
    const t = await startServer({ config: { metrics: { port, host: '127.0.0.1' } } });
    try {
      assert.equal(t.rivulet.metricsUrl(), `http://127.0.0.1:${port}/metrics`);
      assert.equal((await fetch(`${origin(t)}/metrics`)).status, 404);
      await t.client().feed('user', uid()).get();
      const m = await scrape(`http://127.0.0.1:${port}/metrics`);
      assert.equal(total(m, 'rivulet_http_request_duration_seconds_count', { route: FEED_ROUTE, status: '200' }), 1);
      assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 404);
    } finally {
      await t.close();
    }
  });

  it('are off with metrics.enabled false', async () => {
    const t = await startServer({ config: { metrics: { enabled: false } } });
    try {
      assert.equal((await fetch(`${origin(t)}/metrics`)).status, 404);
      assert.equal(t.rivulet.metricsUrl(), null);
      await t.client().feed('user', uid()).get();
    } finally {
      await t.close();
    }
  });
});

describe('GET /readyz', () => {
  it('is 200 with each check when the store is open, migrated and the worker runs', async () => {
    const t = await startServer({ worker: true });
    try {
      const res = await fetch(`${origin(t)}/readyz`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
      assert.equal(body.status, 'ready');
      // A store with schema migrations (SQLite) has their check; one without (Redis) does not.
      const migrated = t.rivulet.store.migrations !== undefined;
      assert.deepEqual(Object.keys(body.checks).sort(), ['fanout_worker', 'integrity', ...(migrated ? ['migrations'] : []), 'started', 'store']);
      assert.ok(Object.values(body.checks).every((c) => c.ok));
      assert.equal(body.checks.fanout_worker.detail, 'running');
      if (migrated) assert.match(body.checks.migrations.detail!, /^(\d+) of \1 applied$/);
    } finally {
      await t.close();
    }
  });

  it('does not expect a fan-out worker in a process that runs none', async () => {
    const t = await startServer({ worker: false });
    try {
      const body = (await (await fetch(`${origin(t)}/readyz`)).json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
      assert.deepEqual(body.checks.fanout_worker, { ok: true, detail: 'not run in this process' });
    } finally {
      await t.close();
    }
  });

  it('is 503 naming the failed check when one fails, while /healthz stays 200', async () => {
    const t = await startServer({
      readinessChecks: [
        { name: 'integrity', run: () => ({ ok: false, detail: 'page 7 is corrupt' }) },
        {
          name: 'thrower',
          run: () => {
            throw new Error('cannot tell');
          },
        },
      ],
    });
    try {
      const res = await fetch(`${origin(t)}/readyz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
      assert.equal(body.status, 'not ready');
      assert.deepEqual(body.checks.integrity, { ok: false, detail: 'page 7 is corrupt' });
      assert.deepEqual(body.checks.thrower, { ok: false, detail: 'cannot tell' });
      assert.equal(body.checks.store.ok, true);
      assert.equal((await fetch(`${origin(t)}/healthz`)).status, 200);
    } finally {
      await t.close();
    }
  });
});

describe('GET /healthz', () => {
  it('answers 200 {"status":"ok"} as JSON, the same whether taken before routing or through the route', async () => {
    const t = await startServer();
    try {
      const answers = [];
      // Plain (answered before routing), with a query string and with an Origin (both routed).
      for (const [path, headers] of [
        ['/healthz', {}],
        ['/healthz?probe=1', {}],
        ['/healthz', { origin: 'http://example.test' }],
      ] as const) {
        const res = await fetch(`${origin(t)}${path}`, { headers });
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
        answers.push(await res.json());
      }
      assert.deepEqual(answers, [{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }]);
      // Other methods and paths are not taken by the early answer.
      assert.equal((await fetch(`${origin(t)}/healthz`, { method: 'POST' })).status, 405);
      assert.equal((await fetch(`${origin(t)}/healthzz`)).status, 404);
    } finally {
      await t.close();
    }
  });
});
