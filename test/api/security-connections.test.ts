// Connections and resources (issue "Security and robustness", items 5–9 and 13): every request
// gets an answer in Stream's error shape and its connection is released, whatever the client
// does: upgrades to paths nobody serves, huge WebSocket frames, bodies trickled in or too large,
// floods of unauthenticated realtime clients, oversized URLs, stray OPTIONS, requests during
// shutdown.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';
import { hasResponse, parseResponses, RawSocket } from '../support/raw-socket.js';
import { assertErrorBody } from './activity-helpers.js';

function portOf(t: TestServer): number {
  return Number(new URL(t.baseUrl).port);
}

/** Asserts one raw response is the given Stream error. */
function assertErrorResponse(r: { status: number; headers: Record<string, string>; body: string }, status: number, code: number, exception?: string): void {
  assert.equal(r.status, status, r.body);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  assertErrorBody(JSON.parse(r.body), status, code, exception);
}

/** A WebSocket upgrade request to `path`. */
function upgradeRequest(path: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** A masked client WebSocket frame header (and mask) for a payload of `length` bytes. */
function frameHeader(length: number, opcode = 0x1, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  let head: Buffer;
  if (length < 126) head = Buffer.from([first, 0x80 | length]);
  else if (length < 65536) {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([head, Buffer.alloc(4)]); // mask key 0: the payload goes as is
}

/** Opens a WebSocket to /faye and waits for the 101. */
async function fayeWebSocket(port: number): Promise<RawSocket> {
  const s = await RawSocket.open(port);
  s.write(upgradeRequest('/faye'));
  await s.until((b) => b.includes('\r\n\r\n'), '101 Switching Protocols');
  assert.match(s.received().toString('latin1'), /^HTTP\/1\.1 101/);
  return s;
}

/** The close code of a server close frame at the start of `data` after the 101 response, if any. */
function closeCode(raw: Buffer): number | null {
  const i = raw.indexOf('\r\n\r\n');
  const frames = raw.subarray(i + 4);
  for (let p = 0; p + 1 < frames.length; ) {
    const opcode = frames[p] & 0x0f;
    let len = frames[p + 1] & 0x7f;
    let off = p + 2;
    if (len === 126) {
      len = frames.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(frames.readBigUInt64BE(off));
      off += 8;
    }
    if (opcode === 0x8) return len >= 2 ? frames.readUInt16BE(off) : 1005;
    p = off + len;
  }
  return null;
}

describe('security: connections', () => {
  let t: TestServer;
  let port: number;
  before(async () => {
    t = await startServer({ config: { limits: { headers_timeout_ms: 400, request_timeout_ms: 800 } } });
    port = portOf(t);
  });
  after(async () => t.close());

  describe('upgrades to paths other than /faye', () => {
    for (const path of ['/api/v1.0/feed/user/alice/', '/', '/nothing-here', '/fayeX']) {
      it(`are answered 400 and closed: ${path}`, async () => {
        const s = await RawSocket.open(port);
        s.write(upgradeRequest(path));
        await s.serverCloses();
        const [r] = parseResponses(s.received());
        assert.ok(r, 'an answer was written');
        assertErrorResponse(r, 400, 4, 'InputException');
        assert.equal(r.headers.connection, 'close');
      });
    }

    it('a non-WebSocket upgrade to /faye is answered 400 and closed', async () => {
      const s = await RawSocket.open(port);
      s.write('GET /faye HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
      await s.serverCloses();
      assertErrorResponse(parseResponses(s.received())[0], 400, 4);
    });

    it('300 of them leave no connection open', async () => {
      const sockets = await Promise.all(Array.from({ length: 300 }, () => RawSocket.open(port)));
      for (const s of sockets) s.write(upgradeRequest('/api/v1.0/feed/user/x/'));
      await Promise.all(sockets.map((s) => s.serverCloses()));
    });
  });

  describe('WebSocket frames on /faye', () => {
    it('a frame declaring 60 MB is refused from its header with close code 1009', async () => {
      const s = await fayeWebSocket(port);
      s.write(frameHeader(60_000_000));
      s.write(Buffer.alloc(64 * 1024, 0x20));
      await s.until((b) => closeCode(b) !== null, 'a close frame');
      assert.equal(closeCode(s.received()), 1009);
      await s.serverCloses();
    });

    it('a message fragmented into frames that together pass 256 KiB is refused with 1009', async () => {
      const s = await fayeWebSocket(port);
      const part = Buffer.alloc(200 * 1024, 0x20);
      s.write(Buffer.concat([frameHeader(part.length, 0x1, false), part]));
      s.write(Buffer.concat([frameHeader(part.length, 0x0, true), part]));
      await s.until((b) => closeCode(b) !== null, 'a close frame');
      assert.equal(closeCode(s.received()), 1009);
      await s.serverCloses();
    });

    it('messages under the limit are served', async () => {
      const s = await fayeWebSocket(port);
      const msg = Buffer.from(JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], ext: { pad: 'x'.repeat(100_000) } }]));
      s.write(Buffer.concat([frameHeader(msg.length), msg]));
      await s.until((b) => b.includes('/meta/handshake'), 'the handshake reply');
      assert.equal(closeCode(s.received()), null);
      s.destroy();
    });
  });

  describe('slow clients are cut off by the configured timeouts', () => {
    it('a body sent one byte at a time is answered 408 and its connection closed', async () => {
      const s = await RawSocket.open(port);
      s.write(
        `POST /api/v1.0/feed/user/slow/?api_key=${t.apiKey} HTTP/1.1\r\nHost: x\r\nAuthorization: ${t.client().getOrCreateToken()}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
      );
      const drip = setInterval(() => s.write('{'), 100);
      try {
        await s.serverCloses();
      } finally {
        clearInterval(drip);
      }
      const [r] = parseResponses(s.received());
      assertErrorResponse(r, 408, 4, 'RequestTimeout');
    });

    it('headers that never end are answered 408 and the connection closed', async () => {
      const s = await RawSocket.open(port);
      s.write('GET /api/v1.0/feed/user/slow/ HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => s.write('X-Slow: 1\r\n'), 100);
      try {
        await s.serverCloses();
      } finally {
        clearInterval(drip);
      }
      assertErrorResponse(parseResponses(s.received())[0], 408, 4, 'RequestTimeout');
    });

    it('a connection that sends nothing is closed', async () => {
      const s = await RawSocket.open(port);
      await s.serverCloses();
    });
  });

  describe('bodies over the limit', () => {
    // Its own server with the default timeouts: on a loaded machine the writes a millisecond apart
    // can take longer than the short request timeout of the server above, which then answers 408.
    let big: TestServer;
    before(async () => {
      big = await startServer();
    });
    after(async () => big.close());

    /** Sends `size` bytes in 64 KiB writes a millisecond apart, on a fresh connection. */
    function postSlowly(size: number, chunked = false): Promise<{ status: number; body: string } | { error: string }> {
      const t = big;
      const url = new URL(`${t.baseUrl}v1.0/feed/user/big/?api_key=${t.apiKey}`);
      const body = Buffer.alloc(size, 'a');
      return new Promise((resolve) => {
        const headers: Record<string, string | number> = { 'content-type': 'application/json', authorization: t.client().getOrCreateToken() };
        if (!chunked) headers['content-length'] = size;
        const req = http.request(url, { method: 'POST', agent: false, headers }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
        let off = 0;
        const step = () => {
          if (off >= body.length) return void req.end();
          req.write(body.subarray(off, off + 65536));
          off += 65536;
          setTimeout(step, 1);
        };
        step();
      });
    }

    it('a 5 MiB body is answered 413 in the error shape on every fresh connection', async () => {
      for (let i = 0; i < 10; i++) {
        const r = await postSlowly(5 * 1024 * 1024);
        assert.ok('status' in r, `connection ${i}: ${JSON.stringify(r)}`);
        assert.equal(r.status, 413);
        assertErrorBody(JSON.parse(r.body), 413, 18, 'PayloadTooLarge');
      }
    });

    it('a chunked body over the limit is answered 413 too', async () => {
      const r = await postSlowly(2 * 1024 * 1024, true);
      assert.ok('status' in r, JSON.stringify(r));
      assert.equal(r.status, 413);
      assertErrorBody(JSON.parse(r.body), 413, 18, 'PayloadTooLarge');
    });

    it('/faye bodies over 256 KiB are answered 413 in the error shape', async () => {
      const res = await fetch(`${t.baseUrl.replace(/\/api\/$/, '')}/faye`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ channel: '/meta/handshake', pad: 'x'.repeat(300 * 1024) }]),
      });
      assert.equal(res.status, 413);
      assertErrorBody(await res.json(), 413, 18, 'PayloadTooLarge');
    });
  });

  describe('unauthenticated realtime clients are capped', () => {
    // Its own server: clients other tests handshake would count here.
    let t: TestServer;
    before(async () => {
      t = await startServer({ config: { realtime: { max_unauthenticated_per_address: 4, max_unauthenticated: 6 } } });
    });
    after(async () => t.close());

    async function handshake(localAddress: string): Promise<{ successful: boolean; clientId?: string; error?: string }> {
      const url = new URL(`${t.baseUrl.replace(/\/api\/$/, '')}/faye`);
      return new Promise((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent: false, localAddress, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(JSON.parse(text)[0]));
        });
        req.on('error', reject);
        req.end(JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]));
      });
    }

    async function subscribe(clientId: string, localAddress: string): Promise<boolean> {
      const ch = `/site-${t.appId}-feed-userlimited`;
      const res = await new Promise<string>((resolve, reject) => {
        const req = http.request(new URL(`${t.baseUrl.replace(/\/api\/$/, '')}/faye`), { method: 'POST', agent: false, localAddress, headers: { 'content-type': 'application/json' } }, (r) => {
          let text = '';
          r.on('data', (c) => (text += c));
          r.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end(
          JSON.stringify([
            { channel: '/meta/subscribe', clientId, subscription: ch, ext: { user_id: ch.slice(1), api_key: t.apiKey, signature: t.client().feed('user', 'limited').token } },
          ]),
        );
      });
      return JSON.parse(res)[0].successful === true;
    }

    it('per address and in total; an authorized subscription frees the slot', async () => {
      const first: string[] = [];
      for (let i = 0; i < 4; i++) {
        const h = await handshake('127.0.0.1');
        assert.equal(h.successful, true, JSON.stringify(h));
        first.push(h.clientId!);
      }
      const refused = await handshake('127.0.0.1');
      assert.equal(refused.successful, false);
      assert.match(refused.error ?? '', /^403::too many unauthenticated clients from this address/);
      // Another address has its own allowance, up to the total of 6.
      assert.equal((await handshake('127.0.0.2')).successful, true);
      assert.equal((await handshake('127.0.0.2')).successful, true);
      const full = await handshake('127.0.0.3');
      assert.equal(full.successful, false);
      assert.match(full.error ?? '', /too many unauthenticated clients on this server/);
      // A client that subscribes with a valid token no longer counts.
      assert.equal(await subscribe(first[0], '127.0.0.1'), true);
      assert.equal((await handshake('127.0.0.1')).successful, true);
    });

    it('behind a trusted proxy, the address it appended to X-Forwarded-For is counted', async () => {
      const p = await startServer({ config: { trust_proxy: true, realtime: { max_unauthenticated_per_address: 2 } } });
      try {
        const url = new URL(`${p.baseUrl.replace(/\/api\/$/, '')}/faye`);
        const hs = async (forwarded: string) => {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': forwarded },
            body: JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]),
          });
          return ((await res.json()) as { successful: boolean }[])[0].successful;
        };
        assert.equal(await hs('10.0.0.1'), true);
        // The client may forge earlier entries; only the proxy's (the last) counts.
        assert.equal(await hs('6.6.6.6, 10.0.0.1'), true);
        assert.equal(await hs('7.7.7.7, 10.0.0.1'), false);
        assert.equal(await hs('10.0.0.2'), true);
      } finally {
        await p.close();
      }
    });
  });

  describe('errors outside the API routes are in the error shape', () => {
    it('a URL over 16 KB is 431 in the error shape', async () => {
      const res = await fetch(`${t.baseUrl}v1.0/feed/user/x/?api_key=${t.apiKey}&pad=${'a'.repeat(20_000)}`);
      assert.equal(res.status, 431);
      assertErrorBody(await res.json(), 431, 4, 'InputException');
    });

    it('OPTIONS without Origin is 400 in the error shape; a real preflight is 204', async () => {
      const res = await fetch(`${t.baseUrl}v1.0/feed/user/x/`, { method: 'OPTIONS' });
      assert.equal(res.status, 400);
      assertErrorBody(await res.json(), 400, 4, 'InputException');
      const preflight = await fetch(`${t.baseUrl}v1.0/feed/user/x/`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    });

    it('malformed HTTP is 400 in the error shape', async () => {
      const s = await RawSocket.open(port);
      s.write('NOT HTTP AT ALL\r\n\r\n');
      await s.serverCloses();
      assertErrorResponse(parseResponses(s.received())[0], 400, 4, 'InputException');
    });
  });
});

describe('security: requests during shutdown', () => {
  it('are answered 503 in the error shape, with the connection closed', async () => {
    const t = await startServer();
    const s = await RawSocket.open(portOf(t));
    const token = t.client().getOrCreateToken();
    // A request in progress (its body not yet sent) keeps the connection busy while shutdown starts.
    const body = JSON.stringify({ actor: 'SU:a', verb: 'post', object: 'o:1' });
    s.write(
      `POST /api/v1.0/feed/user/a/?api_key=${t.apiKey} HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    await new Promise((r) => setTimeout(r, 50));
    const closed = t.close();
    // Its body, and a second request pipelined behind it, arrive once shutdown has begun.
    s.write(body + `GET /api/v1.0/feed/user/a/?api_key=${t.apiKey} HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\n\r\n`);
    await s.until((b) => hasResponse(b, 2), 'two responses');
    const [first, second] = parseResponses(s.received());
    assert.equal(first.status, 201, first.body);
    assertErrorResponse(second, 503, -1, 'ServiceUnavailable');
    assert.equal(second.headers.connection, 'close');
    await closed;
  });
});
