import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError, NotAllowedError } from '../../../core/errors.js';
import type { App } from '../../../core/feeds/feed-group.js';

/**
 * Dashboard sessions: a signed cookie, nothing kept on the server, so every process of
 * `serve --workers` accepts it. The payload names who signed in (one app, by its key and secret, or
 * the operator, by the operator token, who sees every app) and when the session ends; the signature
 * is an HMAC keyed by that app's secret or by the operator token, so rotating a secret (or the token)
 * ends its sessions. The cookie is HttpOnly (page scripts never see it), SameSite=Strict (no other
 * site's page sends it) and scoped to /dashboard.
 *
 * Cross-site requests: every request that changes something must carry `x-rivulet-csrf` with the
 * session's CSRF token, which only the dashboard's own page learns (from `GET /dashboard/api/session`,
 * a JSON answer another origin cannot read), and an `Origin`, when the browser sends one, must be
 * this server's. Signing in needs the same header with the value `sign-in`: a custom header cannot
 * be sent cross-origin without a CORS preflight, which this server refuses for it.
 */

export const COOKIE = 'rivulet_dashboard';
export const CSRF_HEADER = 'x-rivulet-csrf';
/** How long a session lasts. */
export const SESSION_SECONDS = 8 * 3600;

export type Session = { readonly kind: 'app'; readonly appId: string; readonly expires: number } | { readonly kind: 'operator'; readonly expires: number };

interface Payload {
  readonly k: 'app' | 'op';
  readonly a?: string;
  /** Expiry, seconds since the epoch. */
  readonly e: number;
  /** Makes every session's cookie (and CSRF token) different. */
  readonly n: string;
}

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time equality of two strings (of any lengths). */
export function sameText(a: string, b: string): boolean {
  return timingSafeEqual(sha(a), sha(b));
}

export class Sessions {
  readonly #apps: ReadonlyMap<string, App>;
  readonly #byKey: ReadonlyMap<string, App>;
  readonly #operatorToken: string | undefined;

  constructor(apps: readonly App[], operatorToken: string | undefined) {
    this.#apps = new Map(apps.map((a) => [a.appId, a]));
    this.#byKey = new Map(apps.map((a) => [a.apiKey, a]));
    this.#operatorToken = operatorToken;
  }

  /** Whether an operator token is configured (the sign-in page offers it). */
  get operatorEnabled(): boolean {
    return this.#operatorToken !== undefined;
  }

  #key(p: Payload): string | null {
    if (p.k === 'op') return this.#operatorToken ?? null;
    const app = p.a === undefined ? undefined : this.#apps.get(p.a);
    return app ? app.apiSecret : null;
  }

  #sign(p: Payload, key: string): string {
    const body = Buffer.from(JSON.stringify(p)).toString('base64url');
    return `${body}.${createHmac('sha256', `rivulet-dashboard:${key}`).update(body).digest('base64url')}`;
  }

  /** Checks credentials; returns the cookie value of a new session, or throws 401. */
  signIn(body: unknown, nowSeconds: number): { cookie: string; session: Session } {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const n = randomBytes(12).toString('base64url');
    const e = nowSeconds + SESSION_SECONDS;
    if (typeof b.operator_token === 'string') {
      if (this.#operatorToken === undefined || !sameText(b.operator_token, this.#operatorToken)) {
        throw new AuthenticationError('operator token is not valid');
      }
      return { cookie: this.#sign({ k: 'op', e, n }, this.#operatorToken), session: { kind: 'operator', expires: e } };
    }
    if (typeof b.api_key !== 'string' || typeof b.api_secret !== 'string') {
      throw new AuthenticationError('sign in with api_key and api_secret, or with operator_token');
    }
    const app = this.#byKey.get(b.api_key);
    // Compared even for an unknown key, so the answer takes as long either way.
    const ok = sameText(b.api_secret, app?.apiSecret ?? randomBytes(16).toString('hex'));
    if (!app || !ok) throw new AuthenticationError('api_key and api_secret do not match an app');
    return { cookie: this.#sign({ k: 'app', a: app.appId, e, n }, app.apiSecret), session: { kind: 'app', appId: app.appId, expires: e } };
  }

  /** The session a cookie value carries, or null when it is missing, forged, for a removed app or expired. */
  verify(value: string | undefined, nowSeconds: number): Session | null {
    if (!value) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    let p: Payload;
    try {
      p = JSON.parse(Buffer.from(value.slice(0, dot), 'base64url').toString('utf8')) as Payload;
    } catch {
      return null;
    }
    if (typeof p !== 'object' || p === null || (p.k !== 'app' && p.k !== 'op') || typeof p.e !== 'number' || typeof p.n !== 'string') return null;
    const key = this.#key(p);
    if (key === null || !sameText(this.#sign(p, key), value)) return null;
    if (p.e <= nowSeconds) return null;
    return p.k === 'op' ? { kind: 'operator', expires: p.e } : { kind: 'app', appId: p.a!, expires: p.e };
  }

  /** The CSRF token of a session cookie: only the page that asked `GET /dashboard/api/session` knows it. */
  csrf(cookie: string): string {
    const p = JSON.parse(Buffer.from(cookie.slice(0, cookie.indexOf('.')), 'base64url').toString('utf8')) as Payload;
    return createHmac('sha256', `rivulet-dashboard-csrf:${this.#key(p) ?? ''}`).update(cookie).digest('base64url');
  }

  /** The apps a session may see. */
  appsOf(s: Session): App[] {
    if (s.kind === 'operator') return [...this.#apps.values()];
    const app = this.#apps.get(s.appId);
    return app ? [app] : [];
  }

  /** The app `appId` if the session may see it; 403 otherwise. */
  app(s: Session, appId: string): App {
    const app = this.#apps.get(appId);
    if (!app || (s.kind === 'app' && s.appId !== appId)) throw new NotAllowedError(`app ${appId.slice(0, 64)} is not open to this session`);
    return app;
  }
}

/** The value of cookie `name` in a request's Cookie header. */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the request came over TLS (directly or through a proxy that says so): then the cookie is Secure. */
function secure(req: FastifyRequest): boolean {
  return req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAge: number): void {
  const attrs = [`${COOKIE}=${value}`, 'Path=/dashboard', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAge}`];
  if (secure(req)) attrs.push('Secure');
  void reply.header('set-cookie', attrs.join('; '));
}

/**
 * Refuses a request that changes something unless it carries `expected` in the CSRF header and,
 * when the browser names its origin, comes from this server's own.
 */
export function checkCsrf(req: FastifyRequest, expected: string): void {
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !sameText(sent, expected)) throw new NotAllowedError(`missing or wrong ${CSRF_HEADER} header`);
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      throw new NotAllowedError('the Origin header is not a URL');
    }
    if (host !== req.headers.host) throw new NotAllowedError(`requests from ${origin.slice(0, 100)} are not accepted`);
  }
}
