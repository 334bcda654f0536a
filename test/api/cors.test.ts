// CORS for browser clients (docs/security.md): every answer to a request carrying an Origin lets
// that origin read it and names the rate-limit headers it may read, whatever the route, the
// outcome or whether the read cache answered; answers vary by Origin; a preflight names what
// requests may send. These are the headers `@fastify/cors` gives with `origin: true`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';

const ORIGIN = 'https://app.example';
const EXPOSE = 'X-Ratelimit-Limit, X-Ratelimit-Remaining, X-Ratelimit-Reset';

function corsHeaders(res: Response): Record<string, string | null> {
  return {
    vary: res.headers.get('vary'),
    allowOrigin: res.headers.get('access-control-allow-origin'),
    expose: res.headers.get('access-control-expose-headers'),
    allowCredentials: res.headers.get('access-control-allow-credentials'),
  };
}

describe('CORS', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  const feed = () => `${t.baseUrl}v1.0/feed/user/cors/?api_key=${t.apiKey}&limit=5`;
  const auth = () => ({ authorization: t.client().getOrCreateToken() });

  it('reads, cached reads and writes answer the Origin they were sent from', async () => {
    const post = await fetch(feed(), { method: 'POST', headers: { ...auth(), origin: ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify({ actor: 'a', verb: 'post', object: 'o:1' }) });
    assert.equal(post.status, 201);
    assert.deepEqual(corsHeaders(post), { vary: 'Origin', allowOrigin: ORIGIN, expose: EXPOSE, allowCredentials: null });
    for (let i = 0; i < 2; i++) {
      // The second read is answered from the read cache.
      const read = await fetch(feed(), { headers: { ...auth(), origin: ORIGIN } });
      assert.equal(read.status, 200);
      assert.deepEqual(corsHeaders(read), { vary: 'Origin', allowOrigin: ORIGIN, expose: EXPOSE, allowCredentials: null });
    }
    const other = await fetch(feed(), { headers: { ...auth(), origin: 'http://localhost:3000' } });
    assert.equal(corsHeaders(other).allowOrigin, 'http://localhost:3000');
  });

  it('without an Origin, answers still vary by it and name the exposed headers, allowing no origin', async () => {
    const read = await fetch(feed(), { headers: auth() });
    assert.equal(read.status, 200);
    assert.deepEqual(corsHeaders(read), { vary: 'Origin', allowOrigin: null, expose: EXPOSE, allowCredentials: null });
  });

  it('errors and unknown paths carry the same headers', async () => {
    const denied = await fetch(feed(), { headers: { origin: ORIGIN } });
    assert.equal(denied.status, 401);
    assert.deepEqual(corsHeaders(denied), { vary: 'Origin', allowOrigin: ORIGIN, expose: EXPOSE, allowCredentials: null });
    const missing = await fetch(`${t.baseUrl}v1.0/nothing/here/?api_key=${t.apiKey}`, { headers: { ...auth(), origin: ORIGIN } });
    assert.equal(missing.status, 404);
    assert.deepEqual(corsHeaders(missing), { vary: 'Origin', allowOrigin: ORIGIN, expose: EXPOSE, allowCredentials: null });
  });

  it('answers a preflight with what requests may send', async () => {
    const res = await fetch(feed(), { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Authorization, stream-auth-type, X-Stream-Client, Content-Type, X-Request-Id');
    assert.equal(res.headers.get('access-control-expose-headers'), EXPOSE);
    assert.match(res.headers.get('vary') ?? '', /Origin/);
  });
});
