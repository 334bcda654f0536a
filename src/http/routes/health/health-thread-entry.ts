import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { healthAnswer, HealthState, type HealthThreadData } from './health-state.js';

/**
 * The health listener's thread (see health-listener.ts): an HTTP server of its own on its own
 * event loop, answering `GET /healthz` from the state the main thread publishes. Nothing here
 * waits for the main thread, so the answer comes as fast under write load as when idle, and a
 * main thread that stopped turning is reported instead of making the probe wait.
 */

const data = workerData as HealthThreadData;
const state = new HealthState(data.buffer);
const JSON_TYPE = 'application/json; charset=utf-8';

function send(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const server = createServer({ headersTimeout: 10_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/healthz') {
    send(req, res, 404, JSON.stringify({ code: 4, detail: 'only GET /healthz is served here', status_code: 404 }));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(req, res, 405, JSON.stringify({ code: 4, detail: `${req.method} is not allowed here: only GET /healthz`, status_code: 405 }));
    return;
  }
  const a = healthAnswer(state, data.stallMs);
  send(req, res, a.ok ? 200 : 503, JSON.stringify(a.body));
});
// A probe is one small request; many more open connections than that are a misbehaving client.
server.maxConnections = 1000;

server.once('error', (err) => parentPort!.postMessage({ type: 'failed', message: err.message }));
server.listen(data.port, data.host, () => {
  const { address, port } = server.address() as AddressInfo;
  parentPort!.postMessage({ type: 'listening', address, port });
});

parentPort!.on('message', (m: { type: string }) => {
  if (m.type !== 'close') return;
  server.closeAllConnections();
  server.close(() => {
    parentPort!.postMessage({ type: 'closed' });
    parentPort!.close();
  });
});
