// The health listener: GET /healthz on a port of its own, answered by a thread that does not wait
// for the main event loop, from the ready and closing flags and the main loop's heartbeat.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { startHealthListener } from '../../src/http/routes/health/health-listener.js';
import { startServer } from '../support/server.js';

async function get(url: string, init?: RequestInit): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/**
 * Fetches `url` from another thread while this thread's event loop is blocked: a busy loop runs
 * here until that thread has its answer. The other thread waits `afterMs` before asking, so that
 * the main loop has been blocked for that long when the request arrives.
 */
function fetchWhileBlocked(url: string, afterMs: number): { status: number; body: unknown } {
  const shared = new Int32Array(new SharedArrayBuffer(8 + 4096));
  const code = `
    const { workerData } = require('node:worker_threads');
    const shared = new Int32Array(workerData.buffer);
    Atomics.wait(shared, 0, 0, workerData.afterMs);
    const done = (status, text) => {
      const bytes = Buffer.from(text);
      new Uint8Array(workerData.buffer, 8, 4096).set(bytes.subarray(0, 4096));
      Atomics.store(shared, 1, bytes.length);
      Atomics.store(shared, 0, status);
    };
    fetch(workerData.url).then(async (res) => done(res.status, await res.text()), (err) => done(-1, String(err)));
  `;
  const w = new Worker(code, { eval: true, workerData: { buffer: shared.buffer, url, afterMs } });
  try {
    // The busy loop: nothing else runs on this thread until the answer is in.
    while (Atomics.load(shared, 0) === 0) {
      /* blocked */
    }
    const status = Atomics.load(shared, 0);
    const text = Buffer.from(new Uint8Array(shared.buffer, 8, Atomics.load(shared, 1))).toString();
    assert.notEqual(status, -1, text);
    return { status, body: JSON.parse(text) };
  } finally {
    void w.terminate();
  }
}

describe('health listener (config health.port)', () => {
  it('answers GET /healthz 200 {"status":"ok"} on its own port beside the main /healthz, and nothing else', async () => {
    const t = await startServer({ config: { health: { port: 0 } } });
    try {
      const url = t.rivulet.healthUrl();
      assert.ok(url !== null);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/healthz$/);
      assert.notEqual(new URL(url).port, new URL(t.baseUrl).port);
      const ok = await get(url);
      assert.equal(ok.status, 200);
      assert.equal(ok.type, 'application/json; charset=utf-8');
      assert.deepEqual(JSON.parse(ok.text), { status: 'ok' });
      assert.deepEqual(JSON.parse((await get(`${url}?probe=1`)).text), { status: 'ok' });
      const head = await get(url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      // The same answer as the main port's.
      assert.deepEqual(JSON.parse((await get(new URL('/healthz', t.baseUrl).href)).text), { status: 'ok' });
      const post = await get(url, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(JSON.parse(post.text).status_code, 405);
      const other = await get(url.replace('/healthz', '/readyz'));
      assert.equal(other.status, 404);
      assert.deepEqual(JSON.parse(other.text), { code: 4, detail: 'only GET /healthz is served here', status_code: 404 });
    } finally {
      await t.close();
    }
    // Closed with the server.
    await assert.rejects(fetch(t.rivulet.healthUrl()!));
  });

  it('is off unless a port is configured', async () => {
    const t = await startServer();
    try {
      assert.equal(t.rivulet.healthUrl(), null);
    } finally {
      await t.close();
    }
  });

  it('answers 503 "stalled" while the main event loop is blocked, and 200 again once it runs', async () => {
    const t = await startServer({ config: { health: { port: 0, stall_ms: 50 } } });
    try {
      const url = t.rivulet.healthUrl()!;
      assert.equal((await get(url)).status, 200);
      const blocked = fetchWhileBlocked(url, 300);
      assert.equal(blocked.status, 503);
      const body = blocked.body as { status: string; detail: string };
      assert.equal(body.status, 'stalled');
      assert.match(body.detail, /^the main event loop has not run for \d+ ms \(stall limit 50 ms\)$/);
      // Once the loop runs again its heartbeat catches up.
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 20));
        status = (await get(url)).status;
      }
      assert.equal(status, 200);
    } finally {
      await t.close();
    }
  });

  it('answers 503 "starting" before the server is ready and 503 "closing" once shutdown began', async () => {
    const listener = await startHealthListener({ host: '127.0.0.1', port: 0, stallMs: 5000 }, (err) => assert.fail(err));
    try {
      const starting = await get(listener.url);
      assert.equal(starting.status, 503);
      assert.deepEqual(JSON.parse(starting.text), { status: 'starting', detail: 'the server has not started serving yet' });
      listener.state.setReady(true);
      assert.equal((await get(listener.url)).status, 200);
      listener.state.setClosing(true);
      const closing = await get(listener.url);
      assert.equal(closing.status, 503);
      assert.deepEqual(JSON.parse(closing.text), { status: 'closing', detail: 'the server is shutting down' });
    } finally {
      await listener.close();
    }
    await assert.rejects(fetch(listener.url));
  });

  it('fails to start, naming the port, when the port is taken', async () => {
    const first = await startHealthListener({ host: '127.0.0.1', port: 0, stallMs: 5000 }, (err) => assert.fail(err));
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(startHealthListener({ host: '127.0.0.1', port, stallMs: 5000 }, (err) => assert.fail(err)), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      await first.close();
    }
  });
});
