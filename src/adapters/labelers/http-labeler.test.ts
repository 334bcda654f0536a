import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpLabeler, LabelerUnavailableError } from './http-labeler.js';

/** The http image labeler against a small local labeling service that the test controls. */
describe('HttpLabeler', () => {
  let server: Server;
  let url: string;
  let mode: 'ok' | 'slow' | 'fail' | 'garbage' = 'ok';
  let calls = 0;
  before(async () => {
    server = createServer((req, res) => {
      calls++;
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (mode === 'fail') {
          res.statusCode = 503;
          res.end('down');
          return;
        }
        if (mode === 'garbage') {
          res.end('{"nope": 1}');
          return;
        }
        const reply = () => {
          const { urls, hints } = JSON.parse(body);
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ labels: [{ label: `for-${urls.length}`, confidence: 1.5 }, { label: hints[0] ?? 'none', confidence: 0.4 }, { bad: true }] }));
        };
        if (mode === 'slow') setTimeout(reply, 500);
        else reply();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/label`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('posts the urls and hints and reads the labels, clamping confidence and skipping malformed ones', async () => {
    mode = 'ok';
    const l = new HttpLabeler({ url, timeoutMs: 2000, failureThreshold: 3, openMs: 60_000 });
    assert.deepEqual(await l.labelImages(['https://x/1.jpg', 'https://x/2.jpg'], ['#ski']), [
      { label: 'for-2', confidence: 1 },
      { label: '#ski', confidence: 0.4 },
    ]);
    const before = calls;
    assert.deepEqual(await l.labelImages([], []), [], 'no images, no call');
    assert.equal(calls, before);
  });

  it('gives up on a slow service after its timeout', async () => {
    mode = 'slow';
    const l = new HttpLabeler({ url, timeoutMs: 50, failureThreshold: 10, openMs: 60_000 });
    await assert.rejects(l.labelImages(['https://x/1.jpg'], []), (e: unknown) => e instanceof LabelerUnavailableError && /timed out/.test(e.message));
  });

  it('refuses an answer without labels and a failing status', async () => {
    const l = new HttpLabeler({ url, timeoutMs: 2000, failureThreshold: 10, openMs: 60_000 });
    mode = 'garbage';
    await assert.rejects(l.labelImages(['https://x/1.jpg'], []), /no labels array/);
    mode = 'fail';
    await assert.rejects(l.labelImages(['https://x/1.jpg'], []), /answered 503/);
  });

  it('opens the circuit after consecutive failures and stops calling until it half-opens', async () => {
    mode = 'fail';
    const l = new HttpLabeler({ url, timeoutMs: 2000, failureThreshold: 2, openMs: 200 });
    await assert.rejects(l.labelImages(['https://x/1.jpg'], []));
    await assert.rejects(l.labelImages(['https://x/1.jpg'], []));
    const before = calls;
    await assert.rejects(l.labelImages(['https://x/1.jpg'], []), /circuit is open/);
    assert.equal(calls, before, 'an open circuit does not call the service');
    mode = 'ok';
    // After openMs one trial call goes through and closes the circuit again. Poll rather than
    // sleep a fixed time, so a slow machine cannot make this flaky.
    let labels: unknown = null;
    for (let i = 0; i < 100 && labels === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      labels = await l.labelImages(['https://x/1.jpg'], []).catch(() => null);
    }
    assert.ok(Array.isArray(labels));
    assert.ok(calls > before);
  });

  it('reports an unreachable service as unavailable', async () => {
    const l = new HttpLabeler({ url: 'http://127.0.0.1:1/label', timeoutMs: 2000, failureThreshold: 10, openMs: 60_000 });
    await assert.rejects(l.labelImages(['https://x/1.jpg'], []), LabelerUnavailableError);
  });
});
