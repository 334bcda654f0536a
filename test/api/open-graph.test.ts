/**
 * Open Graph link previews (stream-v2-api.md §14) against local pages. Loopback is refused unless
 * the operator allows it, so the first server allows 127.0.0.1 for itself and the second, with the
 * default policy, proves the refusal (after DNS resolution and on redirects).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startServer, uid, type TestServer } from '../support/server.js';
import { expectApiError, withoutDuration } from './activity-helpers.js';

const PAGE = `<!doctype html><html><head>
<title>Fallback title</title>
<meta property="og:title" content="A &amp; B: the page">
<meta property="og:type" content="article">
<meta property="og:url" content="/canonical">
<meta property="og:site_name" content="Local Site">
<meta property="og:description" content="What the page says">
<meta property="og:locale" content="en_GB">
<meta property="og:determiner" content="the">
<meta property="og:image" content="/img/one.png">
<meta property="og:image:width" content="640">
<meta property="og:image:height" content="480">
<meta property="og:image:alt" content="The first image">
<meta property="og:image" content="https://cdn.example/two.jpg">
<meta property="og:image:type" content="image/jpeg">
<meta property="og:video" content="/v.mp4">
<meta property="og:video:type" content="video/mp4">
<meta property="og:audio" content="/a.mp3">
<meta name="twitter:site" content="@local">
<link rel="icon" href="/static/icon.png">
</head><body>hello</body></html>`;

const PLAIN = `<html><head><title> Just a   title </title><meta name="description" content="A plain description"></head><body></body></html>`;

interface Pages {
  server: Server;
  base: string;
  port: number;
  hits: Map<string, number>;
}

async function startPages(): Promise<Pages> {
  const hits = new Map<string, number>();
  let port = 0;
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    switch (path) {
      case '/page':
      case '/counted':
        return html(PAGE);
      case '/plain':
        return html(PLAIN);
      case '/gzip':
        return res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(gzipSync(PAGE));
      case '/binary':
        return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(1000, 7));
      case '/no-og':
        return html('<html><body>nothing to see</body></html>');
      case '/missing':
        return res.writeHead(404, { 'content-type': 'text/html' }).end('<title>Not found</title>');
      case '/redirect':
        return res.writeHead(302, { location: '/page' }).end();
      case '/redirect-inward':
        // 127.0.0.2 is loopback too, but outside the allow-list of 127.0.0.1/32.
        return res.writeHead(301, { location: `http://127.0.0.2:${port}/page` }).end();
      case '/loop':
        return res.writeHead(302, { location: '/loop' }).end();
      case '/huge':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write(PAGE.replace('</head>', ''));
        // Far more than the fetch limit: the preview is read from the head, the rest is never read.
        for (let i = 0; i < 200; i++) res.write('<p>' + 'x'.repeat(10_000) + '</p>');
        return res.end('</body></html>');
      case '/slow':
        return; // never answers
      default:
        return res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  return { server, base: `http://127.0.0.1:${port}`, port, hits };
}

describe('open graph', () => {
  let pages: Pages;
  let t: TestServer;
  let strict: TestServer;
  before(async () => {
    pages = await startPages();
    t = await startServer({ config: { og: { allow: ['127.0.0.1/32'], timeout_ms: 1000, max_kb: 64 } } });
    strict = await startServer();
  });
  after(async () => {
    await t.close();
    await strict.close();
    pages.server.closeAllConnections();
    pages.server.close();
  });

  it("returns a page's OG data with absolute URLs, for user tokens too", async () => {
    const res: any = await t.userClient(uid('alice')).og(`${pages.base}/page`);
    assert.deepEqual(withoutDuration(res), {
      title: 'A & B: the page',
      type: 'article',
      url: `${pages.base}/canonical`,
      site: '@local',
      site_name: 'Local Site',
      description: 'What the page says',
      determiner: 'the',
      locale: 'en_GB',
      favicon: `${pages.base}/static/icon.png`,
      original_url: `${pages.base}/page`,
      images: [
        { image: `${pages.base}/img/one.png`, url: `${pages.base}/img/one.png`, width: 640, height: 480, alt: 'The first image' },
        { image: 'https://cdn.example/two.jpg', url: 'https://cdn.example/two.jpg', type: 'image/jpeg' },
      ],
      videos: [{ video: `${pages.base}/v.mp4`, url: `${pages.base}/v.mp4`, type: 'video/mp4' }],
      audios: [{ audio: `${pages.base}/a.mp3`, url: `${pages.base}/a.mp3` }],
    });
    assert.equal(typeof res.duration, 'string');
  });

  it('falls back to <title>, meta description and /favicon.ico', async () => {
    const res: any = await t.client().og(`${pages.base}/plain`);
    assert.deepEqual(withoutDuration(res), {
      title: 'Just a title',
      description: 'A plain description',
      favicon: `${pages.base}/favicon.ico`,
      original_url: `${pages.base}/plain`,
    });
  });

  it('follows redirects, reads compressed pages, and reads only the head of a huge page', async () => {
    const redirected: any = await t.client().og(`${pages.base}/redirect`);
    assert.equal(redirected.title, 'A & B: the page');
    assert.equal(redirected.original_url, `${pages.base}/redirect`);
    assert.equal((await t.client().og(`${pages.base}/gzip`) as any).title, 'A & B: the page');
    assert.equal((await t.client().og(`${pages.base}/huge`) as any).title, 'A & B: the page');
  });

  it('answers a page without OG data with the exact error body of the official test', async () => {
    for (const path of ['/binary', '/no-og', '/missing', '/loop']) {
      const err = await expectApiError(t.client().og(`${pages.base}${path}`), 400, 4);
      assert.deepEqual(withoutDuration(err.body), {
        detail: "couldn't find og data for the provided url",
        status_code: 400,
        code: 4,
        exception: 'InputException',
        more_info: 'https://getstream.io/docs/api_error_responses',
      }, path);
    }
  });

  it('gives up on a page that does not answer in time', async () => {
    await expectApiError(t.client().og(`${pages.base}/slow`), 400, 4, 'InputException', /couldn't find og data/);
  });

  it('caches results: asking again does not fetch the page again', async () => {
    const before = pages.hits.get('/counted') ?? 0;
    await t.client().og(`${pages.base}/counted`);
    await Promise.all([t.client().og(`${pages.base}/counted`), t.userClient('x').og(`${pages.base}/counted`)]);
    assert.equal(pages.hits.get('/counted'), before + 1);
  });

  it('refuses a redirect to an address outside the allow-list', async () => {
    const before = pages.hits.get('/page') ?? 0;
    await expectApiError(t.client().og(`${pages.base}/redirect-inward`), 400, 4, 'InputException', /not allowed: 127\.0\.0\.2 resolves to 127\.0\.0\.2/);
    assert.equal(pages.hits.get('/page') ?? 0, before);
  });

  it('refuses loopback by default, by address and after resolving a name, without connecting', async () => {
    const before = pages.hits.get('/page') ?? 0;
    await expectApiError(strict.client().og(`${pages.base}/page`), 400, 4, 'InputException', /not allowed: .*not a public address/);
    await expectApiError(strict.client().og(`http://localhost:${pages.port}/page`), 400, 4, 'InputException', /not allowed: localhost resolves to/);
    await expectApiError(strict.client().og(`http://[::ffff:127.0.0.1]:${pages.port}/page`), 400, 4, 'InputException', /not allowed/);
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://[fe80::1]/', 'http://224.0.0.1/', 'http://0.0.0.0/']) {
      await expectApiError(strict.client().og(url), 400, 4, 'InputException', /not allowed/);
    }
    assert.equal(pages.hits.get('/page') ?? 0, before);
  });

  it('refuses URLs that are not http(s) or carry credentials, and a missing url', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'gopher://x/', `http://user:pw@127.0.0.1:${pages.port}/page`, 'not a url']) {
      await expectApiError(t.client().og(url), 400, 4, 'InputException', /not allowed/);
    }
    await expectApiError(t.client().og(''), 400, 4, 'InputException', /url is required/);
  });

  it('needs a token allowed everywhere: a feed-scoped token is 403', async () => {
    const feedToken = t.client().feed('user', 'x').token;
    const url = new URL(`${t.baseUrl}v1.0/og/`);
    url.searchParams.set('api_key', t.apiKey);
    url.searchParams.set('url', `${pages.base}/page`);
    const res = await fetch(url, { headers: { authorization: feedToken } });
    assert.equal(res.status, 403);
  });
});
