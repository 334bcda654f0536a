import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';
import { assertErrorBody } from './activity-helpers.js';

/**
 * The dashboard's formula preview answers a formula that does not compile in Stream's error shape
 * (with `duration` and `more_info`, like every other error) plus the position of the problem. It
 * lacked `duration` and `more_info`.
 */
describe('dashboard: formula preview errors', () => {
  let t: TestServer;
  let call: (body: unknown) => Promise<{ status: number; body: any }>;
  before(async () => {
    t = await startServer({ groups: [{ name: 'user', type: 'flat' }] });
    const origin = t.baseUrl.replace(/\/api\/$/, '');
    const signIn = await fetch(`${origin}/dashboard/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-rivulet-csrf': 'sign-in' },
      body: JSON.stringify({ api_key: t.apiKey, api_secret: t.apiSecret }),
    });
    assert.equal(signIn.status, 200);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const { csrf } = (await signIn.json()) as { csrf: string };
    call = async (body) => {
      const res = await fetch(`${origin}/dashboard/api/apps/${t.appId}/rank-preview`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, 'x-rivulet-csrf': csrf },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
  });
  after(() => t.close());

  it('a formula that does not compile, a bad window or bad defaults: 400/4 in the error shape with the position', async () => {
    const cases: [Record<string, unknown>, number | null][] = [
      [{ score: 'popularity * (2 +' }, 17],
      [{ score: '1 + nope(time)' }, 4],
      [{ score: '('.repeat(300) + '1' + ')'.repeat(300) }, 200],
      [{ score: 'x'.repeat(3000) }, null],
      [{ score: '1', window: -5 }, null],
      [{ score: 'a', defaults: { a: 'str' } }, null],
    ];
    for (const [body, position] of cases) {
      const res = await call({ feed: 'user:alice', ...body });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      const { position: got, ...rest } = res.body;
      assertErrorBody(rest, 400, 4, 'InputException');
      assert.equal(got, position, JSON.stringify(res.body));
    }
  });
});
