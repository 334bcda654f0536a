import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { readResponse, startServer, uid, type TestServer } from '../support/server.js';
import { assertErrorBody } from './activity-helpers.js';

/**
 * Request bodies with a `Content-Encoding` are refused with 415/4 in Stream's error shape, and
 * nothing is written. A gzip body was answered "request body is not valid UTF-8" (nothing said it
 * was the compression), and a body labelled `br` whose bytes were plain JSON was stored as if the
 * label were not there.
 */
describe('compressed request bodies', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  const post = async (user: string, body: Buffer | string, encoding?: string) => {
    const url = new URL(`${t.baseUrl}v1.0/feed/user/${user}/`);
    url.searchParams.set('api_key', t.apiKey);
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: t.client().getOrCreateToken() };
    if (encoding !== undefined) headers['content-encoding'] = encoding;
    return readResponse(await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]) }));
  };
  const activity = (user: string) => JSON.stringify({ actor: `SU:${user}`, verb: 'post', object: 'o:1' });

  it('gzip, br and unknown codings are 415/4 and write nothing', async () => {
    const user = uid();
    const cases: [Buffer | string, string][] = [
      [gzipSync(activity(user)), 'gzip'],
      [gzipSync(activity(user)), 'GZIP'],
      [brotliCompressSync(activity(user)), 'br'],
      [activity(user), 'br'],
      [activity(user), 'x-unknown'],
      [activity(user), 'identity, gzip'],
    ];
    for (const [body, encoding] of cases) {
      const res = await post(user, body, encoding);
      assert.equal(res.status, 415, `${encoding}: ${res.text}`);
      assertErrorBody(res.body, 415, 4, 'InputException', /Content-Encoding/);
    }
    const { results } = await t.client().feed('user', user).get({ limit: 10 });
    assert.deepEqual(results, []);
  });

  it('identity (or no Content-Encoding) is a plain body', async () => {
    const user = uid();
    assert.equal((await post(user, activity(user), 'identity')).status, 201);
    assert.equal((await post(user, activity(user))).status, 201);
    const { results } = await t.client().feed('user', user).get({ limit: 10 });
    assert.equal(results.length, 2);
  });

  it('a large compressed body is read to its end, so the client sees the 415', async () => {
    const user = uid();
    // Random text compresses poorly: about 900 KB on the wire.
    const noise = Array.from({ length: 60_000 }, () => Math.random().toString(36).slice(2)).join('');
    const res = await post(user, gzipSync(JSON.stringify({ actor: `SU:${user}`, verb: 'post', object: 'o:1', noise })), 'gzip');
    assertErrorBody(res.body, 415, 4, 'InputException', /Content-Encoding gzip/);
  });
});
