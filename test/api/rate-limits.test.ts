// Per-app rate limits (docs/security.md): off unless configured; when configured, every answer on
// a limited endpoint carries Stream's headers, and a request past the window's allowance is 429/9
// in the error shape, changing nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { parseConfig } from '../../src/config/config.js';
import { createRivulet } from '../../src/main.js';
import pino from 'pino';
import { rawRequest, startServer, TEST_GROUPS, type TestServer } from '../support/server.js';
import { assertRawError, readAll } from './activity-helpers.js';

describe('rate limits', () => {
  it('are off by default: no headers, no 429', async () => {
    const t = await startServer();
    try {
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${t.baseUrl}v1.0/feed/user/a/?api_key=${t.apiKey}`, { headers: { authorization: t.client().getOrCreateToken() } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-ratelimit-limit'), null);
      }
    } finally {
      await t.close();
    }
  });

  describe('configured per app and endpoint', () => {
    let t: TestServer;
    before(async () => {
      // A day-long window, so that the test never crosses into a fresh one.
      t = await startServer({ appConfig: { rate_limits: { window_seconds: 86_400, default: 1000, endpoints: { 'POST feed/:slug/:uid/': 3, 'GET feed/:slug/:uid/': 5 } } } });
    });
    after(async () => t.close());

    it('counts down in Stream\'s headers, then answers 429/9 with retry-after and writes nothing', async () => {
      const seen: [number, string | null, string | null, string | null][] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${t.baseUrl}v1.0/feed/user/limited/?api_key=${t.apiKey}`, {
          method: 'POST',
          headers: { authorization: t.client().getOrCreateToken(), 'content-type': 'application/json' },
          body: JSON.stringify({ actor: 'SU:limited', verb: 'post', object: `o:${i}` }),
        });
        seen.push([res.status, res.headers.get('x-ratelimit-limit'), res.headers.get('x-ratelimit-remaining'), res.headers.get('retry-after')]);
        if (res.status === 429) {
          assertRawError({ status: res.status, body: await res.json() }, 429, 9, 'RateLimitReached', /rate limit of 3 requests per 86400 s reached for POST feed\/:slug\/:uid\//);
          const reset = Number(res.headers.get('x-ratelimit-reset'));
          assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + 86_400, `reset ${reset} is the window's end in Unix seconds`);
        }
      }
      assert.deepEqual(seen.map((s) => s.slice(0, 3)), [
        [201, '3', '2'],
        [201, '3', '1'],
        [201, '3', '0'],
        [429, '3', '0'],
      ]);
      assert.ok(Number(seen[3][3]) >= 1, 'retry-after in seconds');
      assert.equal((await readAll(t, 'user', 'limited')).length, 3);
    });

    it('each endpoint has its own allowance; others get the default', async () => {
      // The read endpoint still has its 5 (readAll used one), the batch endpoints the default 1000.
      const res = await fetch(`${t.baseUrl}v1.0/feed/user/limited/?api_key=${t.apiKey}`, { headers: { authorization: t.client().getOrCreateToken() } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-limit'), '5');
      assert.equal(res.headers.get('x-ratelimit-remaining'), '3');
      const other = await rawRequest(t, 'GET', 'activities/', { query: { ids: '00000000-0000-1000-8000-000000000000' } });
      assert.equal(other.status, 200);
      const res2 = await fetch(`${t.baseUrl}v1.0/activities/?api_key=${t.apiKey}&ids=00000000-0000-1000-8000-000000000000`, {
        headers: { authorization: t.client().getOrCreateToken() },
      });
      assert.equal(res2.headers.get('x-ratelimit-limit'), '1000');
      assert.equal(res2.headers.get('x-ratelimit-remaining'), '998');
    });

    it('browsers can read the headers (CORS exposes them)', async () => {
      const res = await fetch(`${t.baseUrl}v1.0/feed/user/cors/?api_key=${t.apiKey}`, {
        headers: { authorization: t.client().getOrCreateToken(), origin: 'https://app.example' },
      });
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /X-Ratelimit-Remaining/i);
    });
  });

  it('a config naming an endpoint that does not exist is refused at start', async () => {
    const config = parseConfig(
      { apps: [{ app_id: '77', api_key: 'ratekey1', api_secret: 'r'.repeat(24), feed_groups: TEST_GROUPS, rate_limits: { endpoints: { 'GET feeds/:x/': 5 } } }] },
      '/unused',
    );
    const store = new SqliteStore(':memory:');
    await assert.rejects(createRivulet({ config, logger: pino({ level: 'silent' }), store, worker: false }), /apps\[0\]\.rate_limits\.endpoints: "GET feeds\/:x\/" is not an endpoint/);
    await store.close();
  });
});
