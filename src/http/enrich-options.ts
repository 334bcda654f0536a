import type { FastifyRequest } from 'fastify';
import { InputError } from '../core/errors.js';
import type { Principal } from '../core/auth/principal.js';
import { DEFAULT_RECENT_LIMIT, MAX_RECENT_LIMIT, type EnrichOptions } from '../services/enrich.js';
import { intParam } from '../services/read-feed.js';
import { bool, list, query, str } from './query.js';

/** The absolute `…/api/v1.0/` base of this request, for links that must be absolute. */
export function apiBase(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? 'localhost'}/api/v1.0/`;
}

/**
 * Enrichment flags of a read (§6.3, §9.2), with the Go and Python spellings. The current user is
 * the user token's user, or `user_id` / `withUserId` for server tokens.
 */
export function enrichOptions(req: FastifyRequest, principal: Principal, references: boolean): EnrichOptions {
  const q = query(req);
  const limitText = str(q, 'recentReactionsLimit') ?? str(q, 'reaction_limit');
  const recentLimit = intParam(limitText, 'recentReactionsLimit', DEFAULT_RECENT_LIMIT, MAX_RECENT_LIMIT, true) || DEFAULT_RECENT_LIMIT;
  const userParam = str(q, 'user_id') ?? str(q, 'withUserId');
  if (userParam !== undefined && !/^[\w-]{1,255}$/.test(userParam)) throw new InputError('user_id may hold letters, digits, _ and - only');
  const userId = principal.kind === 'user' ? principal.userId : userParam;
  const kinds = list(q, 'reactionKindsFilter');
  return {
    references,
    ownReactions: bool(q, 'withOwnReactions'),
    recentReactions: bool(q, 'withRecentReactions') || bool(q, 'withFirstReactions'),
    reactionCounts: bool(q, 'withReactionCounts'),
    ownChildren: bool(q, 'withOwnChildren'),
    recentLimit,
    kinds: kinds && kinds.length > 0 ? kinds : undefined,
    userId,
    apiBase: apiBase(req),
  };
}
