import { createVerifier, TokenError } from 'fast-jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { checkServerScope, principalFromClaims, type Principal, type Resource } from '../../core/auth/principal.js';
import { ApiKeyError, AuthenticationError, NotAllowedError } from '../../core/errors.js';
import type { App } from '../../core/feeds/feed-group.js';
import type { FeedId } from '../../core/feeds/feed-id.js';
import { query, str } from '../query.js';

/** The authenticated caller of a request. */
export interface Auth {
  readonly app: App;
  readonly principal: Principal;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null;
  }
}

type Verify = (token: string) => Record<string, unknown>;

/**
 * Authentication (§2.1, §23.1): `api_key` names the app; the JWT in `Authorization` must be HS256
 * signed with its secret. Verified headers are remembered (see {@link knownPrincipal}); `exp` is
 * honoured when present.
 */
export const authPlugin = fp(async (server: FastifyInstance, opts: { apps: readonly App[] }) => {
  const byKey = new Map<string, { app: App; verify: Verify; known: KnownTokens }>();
  for (const app of opts.apps) {
    const verify = createVerifier({ key: app.apiSecret, algorithms: ['HS256'] }) as Verify;
    byKey.set(app.apiKey, { app, verify, known: new Map() });
  }
  server.decorateRequest('auth', null);
  const authenticateNow = (req: FastifyRequest): void => {
    const key = str(query(req), 'api_key');
    if (!key) throw new ApiKeyError('api_key is missing from the query string');
    const entry = byKey.get(key);
    if (!entry) throw new ApiKeyError('api_key is not valid');
    req.auth = { app: entry.app, principal: knownPrincipal(entry.known, entry.verify, req.headers.authorization) };
  };
  server.decorate('authenticateNow', authenticateNow);
  server.decorate('authenticate', async (req: FastifyRequest) => authenticateNow(req));
});

/** Verified Authorization header values of one app, with the principal and when it expires (ms). */
type KnownTokens = Map<string, { principal: Principal; until: number }>;

/** Headers remembered per app; the map starts over when full (a flood of one-off tokens). */
const MAX_KNOWN_TOKENS = 10_000;

/**
 * The principal of an Authorization header: a recurring header (Stream tokens carry no timestamp,
 * so clients send the same string for as long as they run) is a map look-up; the signature is
 * checked the first time. `exp` is still honoured: an expired entry is verified again, which
 * refuses it.
 */
export function knownPrincipal(known: KnownTokens, verify: Verify, header: string | undefined): Principal {
  if (header !== undefined) {
    const hit = known.get(header);
    if (hit !== undefined) {
      if (Date.now() < hit.until) return hit.principal;
      known.delete(header);
    }
  }
  const { principal, claims } = verifyClaims(verify, header);
  if (known.size >= MAX_KNOWN_TOKENS) known.clear();
  known.set(header!, { principal, until: typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity });
  return principal;
}

/** Verifies a token string for an app's verifier; throws 401/3 naming the cause. */
export function verifyToken(verify: Verify, header: string | undefined): Principal {
  return verifyClaims(verify, header).principal;
}

function verifyClaims(verify: Verify, header: string | undefined): { principal: Principal; claims: Record<string, unknown> } {
  if (!header) throw new AuthenticationError('missing authorization token');
  // The client sends the bare JWT; other SDKs and hand-written callers add a scheme (§1.3), whose
  // name is case-insensitive in HTTP.
  const token = header.replace(/^bearer\s+/i, '').trim();
  let claims: Record<string, unknown>;
  try {
    claims = verify(token);
  } catch (err) {
    if (err instanceof TokenError) {
      switch (err.code) {
        case TokenError.codes.expired:
          throw new AuthenticationError('token expired');
        case TokenError.codes.invalidSignature:
          throw new AuthenticationError('signature is invalid');
        case TokenError.codes.invalidAlgorithm:
          throw new AuthenticationError('token algorithm must be HS256');
        case TokenError.codes.inactive:
          throw new AuthenticationError('token is not active yet');
        default:
          throw new AuthenticationError('token is malformed');
      }
    }
    throw new AuthenticationError('token is malformed');
  }
  if (typeof claims !== 'object' || claims === null) throw new AuthenticationError('token payload must be an object');
  return { principal: principalFromClaims(claims), claims };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** An async onRequest hook: sets `req.auth` from the request's `api_key` and token, or rejects (401, 403 in Stream's shape). */
    authenticate: (req: FastifyRequest) => Promise<void>;
    /** The same, synchronous: for a hook that does more (it throws instead of rejecting). */
    authenticateNow: (req: FastifyRequest) => void;
  }
}

/** The request's auth; routes run after `authenticate`, so it is always set there. */
export function authOf(req: FastifyRequest): Auth {
  if (!req.auth) throw new AuthenticationError('request is not authenticated');
  return req.auth;
}

/**
 * Authorizes a call: server tokens by scope (resource, action, path feed); user tokens by
 * `userRule(userId)` — a route's user policy of §2.3 — or refused when the route is server-only.
 */
export function authorize(
  req: FastifyRequest,
  resource: Resource,
  feed: FeedId | null,
  userRule: ((userId: string, app: App) => boolean) | null,
): Auth {
  const auth = authOf(req);
  const p = auth.principal;
  if (p.kind === 'server') {
    checkServerScope(p, resource, req.method, feed);
  } else if (userRule === null || !userRule(p.userId, auth.app)) {
    throw new NotAllowedError();
  }
  return auth;
}
