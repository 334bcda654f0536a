import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';
import { assertErrorBody } from './activity-helpers.js';

/**
 * Engagement bodies that are objects without a list of events (`{}`, or a `content_list` that is
 * not an array) are one malformed event: 400/4 naming its fields, nothing stored. They were
 * answered 500 (the body was taken for a wrapper and its missing list read).
 */
describe('analytics: engagement bodies without a list of events', () => {
  let t: TestServer;
  let origin: string;
  before(async () => {
    t = await startServer({ worker: 'manual' });
    origin = new URL(t.baseUrl).origin;
  });
  after(async () => t.close());

  const post = async (path: string, body: string) => {
    const res = await fetch(`${origin}/analytics/${path}?api_key=${t.apiKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: t.client().getAnalyticsToken(), 'stream-auth-type': 'jwt' },
      body,
    });
    return { status: res.status, body: await res.json() };
  };
  const events = () => t.rivulet.store.signals.readEvents(t.appId, 0, 10_000);

  for (const path of ['v1.0/engagement/', 'engagement/', 'v1.0/impression/']) {
    it(`${path}: 400/4 in the error shape and nothing stored`, async () => {
      const before = (await events()).length;
      for (const body of ['{}', '{"content_list": "x"}', '{"content_list": 5}', '{"content_list": {}}', '{"content_list": null}', '{"user_data": "u1"}']) {
        const r = await post(path, body);
        assert.equal(r.status, 400, `${path} ${body}: ${JSON.stringify(r.body)}`);
        assertErrorBody(r.body, 400, 4, 'InputException', /events\[0\]/);
      }
      assert.equal((await events()).length, before);
    });
  }

  it('a well-formed single engagement is still stored', async () => {
    const before = (await events()).length;
    const r = await post('v1.0/engagement/', JSON.stringify({ label: 'click', content: 'post:1', user_data: 'u1' }));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await events()).length, before + 1);
  });
});
