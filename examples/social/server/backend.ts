/**
 * The demo's own backend, as small as an app's backend for Stream can be: it serves the built app,
 * lists the people one can sign in as, and signs a user token for the chosen one. The secret stays
 * here; the browser talks to Rivulet directly with the user token.
 */
import { connect } from 'getstream';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { avatarPath, USERS, type DemoUser } from './world.js';

export interface BackendOptions {
  readonly appId: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Rivulet as the browser reaches it, e.g. `http://127.0.0.1:8000`. */
  readonly rivuletUrl: string;
  /** The folder with `index.html`, `app.js` and `app.css` (see build.mjs). */
  readonly appDir: string;
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

export interface Backend {
  /** Where the app is served, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The files of the built app; nothing else on disk is served. */
const FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.js.map': 'app.js.map',
  '/app.css': 'app.css',
  '/app.css.map': 'app.css.map',
};

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
};

function publicUser(u: DemoUser) {
  return { id: u.id, name: u.name, bio: u.bio, profileImage: avatarPath(u.id) };
}

/** A round avatar with the person's initials. */
export function avatarSvg(u: DemoUser): string {
  const initials = u.name
    .split(' ')
    .map((w) => w[0])
    .join('')
    .slice(0, 2);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">` +
    `<circle cx="48" cy="48" r="48" fill="${u.color}"/>` +
    `<text x="48" y="60" font-family="Helvetica, Arial, sans-serif" font-size="36" font-weight="600" fill="#fff" text-anchor="middle">${initials}</text>` +
    `</svg>`
  );
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

/** Starts the backend on `host:port`. */
export async function startBackend(o: BackendOptions): Promise<Backend> {
  const server = connect(o.apiKey, o.apiSecret, o.appId);
  const byId = new Map(USERS.map((u) => [u.id, u]));
  const rivulet = o.rivuletUrl.replace(/\/+$/, '');

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (url.pathname === '/api/users') return json(res, 200, { users: USERS.map(publicUser) });
    if (url.pathname === '/api/session') {
      const user = byId.get(url.searchParams.get('user') ?? '');
      if (!user) return json(res, 404, { error: 'no such user; GET /api/users lists them' });
      return json(res, 200, {
        appId: o.appId,
        apiKey: o.apiKey,
        token: server.createUserToken(user.id),
        apiUrl: `${rivulet}/api/`,
        fayeUrl: `${rivulet}/faye`,
        user: publicUser(user),
      });
    }
    const avatar = /^\/avatars\/([\w-]+)\.svg$/.exec(url.pathname);
    if (avatar) {
      const user = byId.get(avatar[1]);
      if (!user) return json(res, 404, { error: 'no such avatar' });
      return send(res, 200, 'image/svg+xml', avatarSvg(user));
    }
    const file = FILES[url.pathname];
    if (file === undefined) return json(res, 404, { error: 'not found' });
    try {
      const body = await readFile(join(o.appDir, file));
      return send(res, 200, TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream', body);
    } catch {
      return json(res, 404, { error: `${file} is not built yet (npm run demo builds it)` });
    }
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { error: (err as Error).message }));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = o.host && o.host !== '0.0.0.0' && o.host !== '::' ? o.host : '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
