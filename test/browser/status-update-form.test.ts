/**
 * In a browser, react-activity-feed's StatusUpdateForm against Rivulet: attaching an image and a
 * file uploads them, a pasted link (to a local page) shows its preview, and the posted activity
 * shows all three. The page is a small bundle of the UI kit built here with esbuild and served
 * from another origin than the API (so CORS is exercised), driven by Debian's chromium.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { startServer, uid, type TestServer } from '../support/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const here = dirname(fileURLToPath(import.meta.url));
// CI installs chromium (.ci/run); a developer machine without it skips, saying so.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `no browser at ${CHROMIUM} (apt-get install -y chromium)` : false;

const ARTICLE = `<!doctype html><html><head><title>x</title>
<meta property="og:title" content="Rivers of the North">
<meta property="og:description" content="A long read about rivers">
</head><body>article</body></html>`;

async function bundle(): Promise<{ js: string; css: string }> {
  const out = await build({
    entryPoints: [join(here, 'status-form-app.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome110',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    logLevel: 'silent',
  });
  const root = join(here, '../../node_modules/react-activity-feed/dist/index.css');
  return { js: out.outputFiles[0].text, css: readFileSync(root, 'utf8') };
}

describe('StatusUpdateForm in a browser', { skip }, () => {
  let t: TestServer;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  let page: { js: string; css: string };
  const userId = uid('alice');

  before(async () => {
    t = await startServer({ config: { og: { allow: ['127.0.0.1/32'] } } });
    page = await bundle();
    const token = t.client().createUserToken(userId);
    site = createServer((req, res) => {
      if (req.url === '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(page.js);
      if (req.url === '/app.css') return res.writeHead(200, { 'content-type': 'text/css' }).end(page.css);
      if (req.url === '/article') return res.writeHead(200, { 'content-type': 'text/html' }).end(ARTICLE);
      const cfg = JSON.stringify({ apiKey: t.apiKey, appId: t.appId, token, apiUrl: t.baseUrl });
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<!doctype html><html><head><link rel="stylesheet" href="/app.css"></head><body><div id="root"></div>` +
          `<script>window.RIVULET=${cfg}</script><script src="/app.js"></script></body></html>`,
      );
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    site?.closeAllConnections();
    site?.close();
    await t?.close();
  });

  it('uploads an attached image and file, previews a pasted link, and shows all three in the posted activity', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(siteUrl + '/');
    await tab.waitForSelector('textarea');

    const image = await sharp({ create: { width: 120, height: 80, channels: 3, background: '#2a6' } }).png().toBuffer();
    await tab.setInputFiles('input.rfu-image-input', { name: 'river.png', mimeType: 'image/png', buffer: image });
    await tab.setInputFiles('input.rfu-file-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('field notes') });
    // The previews show once the uploads finished (a failed one shows a retry button instead).
    await tab.waitForFunction(() => {
      const img = document.querySelector('.rfu-image-previewer__image img, .rfu-image-previewer img') as HTMLImageElement | null;
      return img !== null && !document.querySelector('.rfu-image-previewer__retry') && !document.querySelector('.rfu-file-previewer__failed');
    });

    await tab.fill('textarea', `Look at this ${siteUrl}/article `);
    await tab.waitForSelector('.raf-card__title, .raf-card', { timeout: 15_000 });
    assert.match(await tab.innerText('form'), /Rivers of the North/);

    await tab.click('button[type=submit]');
    await tab.waitForSelector('#feed[data-posted="1"] .raf-activity', { timeout: 15_000 });
    const feed = await tab.innerText('#feed');
    assert.match(feed, /Look at this/);
    assert.match(feed, /Rivers of the North/);
    assert.match(feed, /notes\.txt/);
    // The image in the activity is served by Rivulet and decodes in the browser.
    await tab.waitForFunction(() =>
      [...document.querySelectorAll('#feed img')].some((i) => (i as HTMLImageElement).src.includes('/api/v1.0/files/') && (i as HTMLImageElement).naturalWidth > 0),
    );
    // SCREENSHOT=/tmp/x.png keeps a picture of the page for a person to look at.
    if (process.env.SCREENSHOT) await tab.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    assert.deepEqual(errors, []);

    // What the browser showed is what Rivulet stored.
    const [activity] = (await t.client().feed('user', userId).get()).results as any[];
    assert.equal(activity.attachments.og.title, 'Rivers of the North');
    assert.equal(activity.attachments.images.length, 1);
    assert.match(activity.attachments.images[0], /\/river\.png\?sig=/);
    assert.equal(activity.attachments.files[0].name, 'notes.txt');
    const file = await fetch(activity.attachments.files[0].url);
    assert.equal(await file.text(), 'field notes');
    await tab.close();
  });
});
