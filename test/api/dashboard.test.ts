// The dashboard's server side through HTTP: its page and files, sign-in and sessions (signed
// HttpOnly cookie, CSRF header, origin check), and its JSON API (apps and keys, feed explorer
// reads, ranking preview, realtime tail, metrics history). The page itself is driven in a browser
// by test/browser/dashboard.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startServer, uid, type TestServer } from '../support/server.js';

const GROUPS = [
  { name: 'user', type: 'flat' as const, ranking: { popular: { score: 'popularity * 2', defaults: { popularity: 0 } } } },
  { name: 'timeline', type: 'flat' as const },
  { name: 'notification', type: 'notification' as const },
];

function origin(t: TestServer): string {
  return t.baseUrl.replace(/\/api\/$/, '');
}

interface Browserish {
  cookie: string;
  csrf: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string; headers: Headers }>;
}

async function request(t: TestServer, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${origin(t)}${path}`, {
    method,
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** Signs in like the page does and returns a client that sends the cookie and the CSRF token. */
async function signIn(t: TestServer, creds: Record<string, string> = { api_key: t.apiKey, api_secret: t.apiSecret }): Promise<Browserish> {
  const res = await request(t, 'POST', '/dashboard/api/session', { body: creds, headers: { 'x-rivulet-csrf': 'sign-in' } });
  assert.equal(res.status, 200, res.text);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  const csrf = res.body.csrf as string;
  return {
    cookie,
    csrf,
    call: (method, path, body, headers = {}) =>
      request(t, method, `/dashboard/api/${path}`, { body, headers: { cookie, ...(method === 'GET' ? {} : { 'x-rivulet-csrf': csrf }), ...headers } }),
  };
}

describe('dashboard: page and sessions', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ groups: GROUPS, config: { dashboard: { operator_token: 'operator-token-0123456789' } } });
  });
  after(() => t.close());

  it('serves its page and scripts itself, with a strict content security policy and nothing from elsewhere', async () => {
    const page = await request(t, 'GET', '/dashboard/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(page.text, /<script type="importmap">/);
    // Every script and stylesheet the page names is served here.
    const urls = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    const imports = Object.values(JSON.parse(/<script type="importmap">(.*?)<\/script>/.exec(page.text)![1]).imports) as string[];
    for (const u of [...urls, ...imports]) {
      assert.ok(u.startsWith('/dashboard/'), `${u} is not served by Rivulet`);
      const res = await request(t, 'GET', u);
      assert.equal(res.status, 200, u);
    }
    assert.equal((await request(t, 'GET', '/dashboard')).status, 200);
    assert.equal((await request(t, 'GET', '/dashboard/app/../../package.json')).status, 404);
    assert.equal((await request(t, 'GET', '/dashboard/nothing.js')).status, 404);
  });

  it('signs in with an app\'s key and secret into an HttpOnly, SameSite=Strict cookie', async () => {
    const res = await request(t, 'POST', '/dashboard/api/session', { body: { api_key: t.apiKey, api_secret: t.apiSecret }, headers: { 'x-rivulet-csrf': 'sign-in' } });
    assert.equal(res.status, 200);
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^rivulet_dashboard=[^;]+; Path=\/dashboard; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    assert.equal(res.body.kind, 'app');
    assert.deepEqual(res.body.apps.map((a: { app_id: string }) => a.app_id), [t.appId]);
    assert.ok(!res.text.includes(t.apiSecret), 'the secret is not in the answer');
    assert.equal(typeof res.body.csrf, 'string');
  });

  it('gives the cookie the whole session even when the clock crosses a second during the sign-in', async (c) => {
    // Every reading of the clock is one second later than the one before (the server runs in this process).
    let at = Date.now();
    c.mock.method(Date, 'now', () => (at += 1000));
    const res = await request(t, 'POST', '/dashboard/api/session', { body: { api_key: t.apiKey, api_secret: t.apiSecret }, headers: { 'x-rivulet-csrf': 'sign-in' } });
    c.mock.restoreAll();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('set-cookie') ?? '', /; Max-Age=28800$/);
  });

  it('refuses wrong credentials, a sign-in without the CSRF header, and a forged or missing cookie', async () => {
    const wrong = await request(t, 'POST', '/dashboard/api/session', { body: { api_key: t.apiKey, api_secret: 'x'.repeat(30) }, headers: { 'x-rivulet-csrf': 'sign-in' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.exception, 'AuthenticationFailed');
    const unknown = await request(t, 'POST', '/dashboard/api/session', { body: { api_key: 'nobody', api_secret: t.apiSecret }, headers: { 'x-rivulet-csrf': 'sign-in' } });
    assert.equal(unknown.status, 401);
    const noHeader = await request(t, 'POST', '/dashboard/api/session', { body: { api_key: t.apiKey, api_secret: t.apiSecret } });
    assert.equal(noHeader.status, 403);
    assert.equal(noHeader.headers.get('set-cookie'), null);

    assert.equal((await request(t, 'GET', '/dashboard/api/apps')).status, 401);
    const s = await signIn(t);
    const [payload, sig] = s.cookie.slice('rivulet_dashboard='.length).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, k: 'op' })).toString('base64url');
    assert.equal((await request(t, 'GET', '/dashboard/api/apps', { headers: { cookie: `rivulet_dashboard=${forged}.${sig}` } })).status, 401);
    const expired = Buffer.from(JSON.stringify({ ...claims, e: 1 })).toString('base64url');
    assert.equal((await request(t, 'GET', '/dashboard/api/apps', { headers: { cookie: `rivulet_dashboard=${expired}.${sig}` } })).status, 401);
    assert.equal((await request(t, 'GET', '/dashboard/api/apps', { headers: { cookie: s.cookie } })).status, 200);
  });

  it('keeps the secret hidden until asked for, and asking needs the CSRF token from this origin', async () => {
    const s = await signIn(t);
    const apps = await s.call('GET', 'apps');
    assert.equal(apps.status, 200);
    assert.equal(apps.body.apps[0].api_key, t.apiKey);
    assert.ok(!apps.text.includes(t.apiSecret));
    assert.deepEqual(
      apps.body.apps[0].feed_groups.find((g: { name: string }) => g.name === 'user').ranking.popular,
      { score: 'popularity * 2', defaults: { popularity: 0 }, window: 1000, variables: ['popularity'] },
    );
    assert.equal((await s.call('POST', `apps/${t.appId}/secret`, {}, { 'x-rivulet-csrf': 'guess' })).status, 403);
    assert.equal((await s.call('POST', `apps/${t.appId}/secret`, {}, { origin: 'https://evil.example' })).status, 403);
    const revealed = await s.call('POST', `apps/${t.appId}/secret`, {}, { origin: origin(t) });
    assert.equal(revealed.status, 200);
    assert.equal(revealed.body.api_secret, t.apiSecret);
  });

  it('lets the operator token open every app, and an app session only its own', async () => {
    const other = await startServer({ groups: GROUPS, config: { dashboard: { operator_token: 'operator-token-0123456789' } } });
    try {
      const op = await signIn(t, { operator_token: 'operator-token-0123456789' });
      const session = await op.call('GET', 'session');
      assert.equal(session.body.kind, 'operator');
      assert.equal((await signIn(t, { operator_token: 'operator-token-0123456789' }).catch(() => null)) !== null, true);
      const wrongOp = await request(t, 'POST', '/dashboard/api/session', { body: { operator_token: 'nope-nope-nope-nope' }, headers: { 'x-rivulet-csrf': 'sign-in' } });
      assert.equal(wrongOp.status, 401);
      // An app session of this server cannot reach an app it did not sign in to.
      const s = await signIn(t);
      assert.equal((await s.call('GET', `apps/${other.appId}/feed/user/x`)).status, 403);
      // Nor does its cookie mean anything to a server where that app has another secret.
      assert.equal((await request(other, 'GET', '/dashboard/api/apps', { headers: { cookie: s.cookie } })).status, 401);
    } finally {
      await other.close();
    }
  });

  it('signs out by clearing the cookie', async () => {
    const s = await signIn(t);
    const out = await s.call('DELETE', 'session');
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /^rivulet_dashboard=; .*Max-Age=0/);
  });
});

describe('dashboard: explorer, playground, tail and charts', () => {
  let t: TestServer;
  let s: Browserish;
  const author = uid('author');
  const reader = uid('reader');
  const ids: string[] = [];
  before(async () => {
    t = await startServer({ groups: GROUPS });
    s = await signIn(t);
    const c = t.client();
    await c.feed('timeline', reader).follow('user', author);
    for (const popularity of [5, 1, 9, 3]) {
      ids.push((await c.feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: `o:${popularity}`, popularity })).id);
    }
    await c.reactions.add('like', ids[1], {}, { userId: reader });
  });
  after(() => t.close());

  it('reads a feed exactly as the API serves it, flat and ranked with scores and score_vars', async () => {
    const viaDashboard = await s.call('GET', `apps/${t.appId}/feed/user/${author}?limit=10`);
    assert.equal(viaDashboard.status, 200);
    const direct = await t.client().feed('user', author).get({ limit: 10 });
    assert.deepEqual(viaDashboard.body.results.map((a: { id: string }) => a.id), direct.results.map((a) => a.id));
    assert.deepEqual(viaDashboard.body.results.map((a: { id: string }) => a.id), [...ids].reverse());

    const ranked = await s.call('GET', `apps/${t.appId}/feed/user/${author}?ranking=popular&withScoreVars=true`);
    assert.deepEqual(ranked.body.results.map((a: { popularity: number }) => a.popularity), [9, 5, 3, 1]);
    assert.deepEqual(ranked.body.results.map((a: { score: number }) => a.score), [18, 10, 6, 2]);
    assert.deepEqual(ranked.body.results[0].score_vars, { popularity: 9 });
    // Bad input gets the API's own answer.
    const bad = await s.call('GET', `apps/${t.appId}/feed/user/${author}?ranking=nope`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 12);
  });

  it('follows references: the activity, its reactions, who follows the feed and whom it follows', async () => {
    const acts = await s.call('GET', `apps/${t.appId}/activities?ids=${ids[1]}`);
    assert.equal(acts.body.results[0].id, ids[1]);
    const reactions = await s.call('GET', `apps/${t.appId}/reactions/${ids[1]}`);
    assert.deepEqual(reactions.body.results.map((r: { kind: string; user_id: string }) => [r.kind, r.user_id]), [['like', reader]]);
    const followers = await s.call('GET', `apps/${t.appId}/follows/user/${author}/followers`);
    assert.deepEqual(followers.body.results.map((f: { feed_id: string }) => f.feed_id), [`timeline:${reader}`]);
    const following = await s.call('GET', `apps/${t.appId}/follows/timeline/${reader}/following`);
    assert.deepEqual(following.body.results.map((f: { target_id: string }) => f.target_id), [`user:${author}`]);
  });

  it('ranks a feed by a typed formula beside its current order, with the same scores a ranked read gives', async () => {
    const preview = await s.call('POST', `apps/${t.appId}/rank-preview`, { feed: `user:${author}`, score: 'popularity * 2', defaults: { popularity: 0 } });
    assert.equal(preview.status, 200, preview.text);
    const api = await t.client().feed('user', author).get({ ranking: 'popular', withScoreVars: true } as never);
    // The configured method has this formula: the preview's scores and order are the API's.
    assert.deepEqual(
      preview.body.ranked.map((a: { id: string; score: number; score_vars: object }) => [a.id, a.score, a.score_vars]),
      api.results.map((a) => [a.id, (a as { score?: number }).score, (a as { score_vars?: object }).score_vars]),
    );
    assert.deepEqual(preview.body.current.map((a: { id: string }) => a.id), [...ids].reverse(), 'current: the feed order');
    assert.deepEqual(preview.body.variables, ['popularity']);

    const inverted = await s.call('POST', `apps/${t.appId}/rank-preview`, { feed: `user:${author}`, score: '-popularity', compare: 'popular' });
    assert.deepEqual(inverted.body.ranked.map((a: { popularity: number }) => a.popularity), [1, 3, 5, 9]);
    assert.deepEqual(inverted.body.current.map((a: { popularity: number }) => a.popularity), [9, 5, 3, 1], 'current: the chosen method');
    assert.equal(inverted.body.compare, 'popular');

    const withVars = await s.call('POST', `apps/${t.appId}/rank-preview`, { feed: `user:${author}`, score: 'popularity * boost', ranking_vars: { boost: 10 } });
    assert.deepEqual(withVars.body.ranked[0].score_vars, { popularity: 9, boost: 10 });
  });

  it('answers a formula that does not compile with the error and its position', async () => {
    const res = await s.call('POST', `apps/${t.appId}/rank-preview`, { feed: `user:${author}`, score: 'popularity * (2 +' });
    assert.equal(res.status, 400);
    assert.equal(res.body.exception, 'InputException');
    assert.equal(res.body.position, 17);
    assert.match(res.body.detail, /position 17/);
    const unknownFn = await s.call('POST', `apps/${t.appId}/rank-preview`, { feed: `user:${author}`, score: '1 + nope(time)' });
    assert.equal(unknownFn.status, 400);
    assert.equal(unknownFn.body.position, 4);
    assert.equal((await s.call('POST', `apps/${t.appId}/rank-preview`, { feed: 'notification:x', score: '1' })).status, 400);
    assert.equal((await s.call('POST', `apps/${t.appId}/rank-preview`, { feed: 'nope:x', score: '1' })).status, 400);
  });

  it('tails a feed: realtime changes arrive as server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${origin(t)}/dashboard/api/apps/${t.appId}/tail/timeline/${reader}`, { headers: { cookie: s.cookie }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader_ = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader_.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await until(/event: ready/);
    const posted = await t.client().feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: 'o:live' });
    await until(/event: change\ndata: .*\n\n/);
    const data = JSON.parse(/event: change\ndata: (.*)\n\n/.exec(text)![1]);
    assert.equal(data.feed, `timeline:${reader}`);
    assert.equal(data.new[0].id, posted.id);
    assert.equal(data.new[0].origin, `user:${author}`);
    controller.abort();
    // Without a session there is no tail.
    assert.equal((await request(t, 'GET', `/dashboard/api/apps/${t.appId}/tail/timeline/${reader}`)).status, 401);
  });

  it('gives the metrics history and readiness for the overview', async () => {
    const h = await s.call('GET', 'metrics/history');
    assert.equal(h.status, 200);
    assert.equal(h.body.intervalSeconds, 10);
    const last = h.body.samples.at(-1);
    assert.ok(last.requestsPerSecond > 0);
    assert.ok(last.latencyP99Ms > 0);
    const o = await s.call('GET', 'overview');
    assert.equal(o.body.ready, true);
    assert.ok(o.body.checks.store.ok);
    assert.equal(o.body.metrics_url, `${origin(t)}/metrics`);
  });
});

describe('dashboard settings', () => {
  it('is not served with dashboard.enabled false', async () => {
    const t = await startServer({ config: { dashboard: { enabled: false } } });
    try {
      assert.equal((await request(t, 'GET', '/dashboard/')).status, 404);
      assert.equal((await request(t, 'GET', '/dashboard/api/session')).status, 404);
    } finally {
      await t.close();
    }
  });

  it('refuses an operator token shorter than 16 characters at start', async () => {
    await assert.rejects(startServer({ config: { dashboard: { operator_token: randomBytes(4).toString('hex') } } }), /operator_token: must be at least 16 characters/);
  });
});
