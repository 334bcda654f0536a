import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InputError } from '../../../core/errors.js';
import type { App } from '../../../core/feeds/feed-group.js';
import type { Principal } from '../../../core/auth/principal.js';
import type { ReactionLookup, ReactionRecord } from '../../../ports/reaction-store.js';
import type { Services } from '../../../services/context.js';
import { enrichActivities, ReactionGraph } from '../../../services/enrich.js';
import { intParam } from '../../../services/read-feed.js';
import {
  activityOfReactions,
  addReaction,
  DEFAULT_FILTER_LIMIT,
  deleteReaction,
  filterReactions,
  getReaction,
  getReactions,
  MAX_FILTER_LIMIT,
  restoreReaction,
  updateReaction,
  type Actor,
} from '../../../services/reactions.js';
import { enrichOptions } from '../../enrich-options.js';
import { authorize } from '../../plugins/auth.js';
import { bool, carried, list, query, str } from '../../query.js';
import { raw, send } from '../../reply.js';

/** Parameters not carried from a reaction page into its `next` link (paging ones are rebuilt). */
const NOT_CARRIED = new Set(['api_key', 'location', 'id_lt', 'id_lte', 'id_gt', 'id_gte', 'limit', 'kind']);

function actorOf(p: Principal): Actor {
  return p.kind === 'user' ? { kind: 'user', userId: p.userId } : { kind: 'server' };
}

/** Renders reactions with their users, children and counts: a fixed number of batches. */
async function render(
  s: Services,
  app: App,
  reactions: readonly ReactionRecord[],
  opts: { ownChildren?: boolean; userId?: string; extraData?: unknown; created?: boolean } = {},
): Promise<string[]> {
  const graph = new ReactionGraph(opts.ownChildren === true, opts.userId);
  // A reaction just created has no children yet (its id was new): nothing to look up below it.
  if (opts.created !== true) await graph.load(s, app, reactions);
  // Users come from the parts cache where kept (a reaction just added shows its user without a store read).
  await graph.loadUsers(s, app, graph.all(reactions));
  return reactions.map((r) => graph.renderText(r, { extraData: opts.extraData }));
}

const LOOKUPS = new Set(['activity_id', 'user_id', 'reaction_id']);

/** Reactions (§10): add, get, update, delete, restore, filter. */
export async function reactionRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;

  server.post('/reaction/', async (req, reply) => {
    const { app, principal } = authorize(req, 'reactions', null, () => true);
    const added = await addReaction(s, app, actorOf(principal), req.body);
    const [text] = await render(s, app, [added.reaction], { extraData: added.extraData, created: true });
    return send(reply, raw(text), 201);
  });

  server.get('/reaction/get_many/', async (req, reply) => {
    const { app } = authorize(req, 'reactions', null, () => true);
    const q = query(req);
    const found = await getReactions(s, app, list(q, 'ids') ?? [], bool(q, 'include_deleted'));
    const texts = await render(s, app, found);
    return send(reply, raw(`{"reactions":[${texts.join(',')}]}`));
  });

  server.get('/reaction/:id/', async (req, reply) => {
    const { app } = authorize(req, 'reactions', null, () => true);
    const r = await getReaction(s, app, (req.params as { id: string }).id);
    const [text] = await render(s, app, [r]);
    return send(reply, raw(text));
  });

  server.put('/reaction/:id/', async (req, reply) => {
    const { app, principal } = authorize(req, 'reactions', null, () => true);
    const updated = await updateReaction(s, app, actorOf(principal), (req.params as { id: string }).id, req.body);
    const [text] = await render(s, app, [updated.reaction], { extraData: updated.extraData });
    return send(reply, raw(text), 201);
  });

  server.delete('/reaction/:id/', async (req, reply) => {
    const { app, principal } = authorize(req, 'reactions', null, () => true);
    await deleteReaction(s, app, actorOf(principal), (req.params as { id: string }).id, bool(query(req), 'soft'));
    return send(reply, {});
  });

  server.put('/reaction/:id/restore/', async (req, reply) => {
    const { app, principal } = authorize(req, 'reactions', null, () => true);
    const r = await restoreReaction(s, app, actorOf(principal), (req.params as { id: string }).id);
    const [text] = await render(s, app, [r]);
    return send(reply, raw(text), 201);
  });

  const filter = async (req: FastifyRequest, reply: FastifyReply) => {
    const { app, principal } = authorize(req, 'reactions', null, () => true);
    const p = req.params as { lookup: string; value: string; kind?: string };
    if (!LOOKUPS.has(p.lookup)) throw new InputError('lookup must be activity_id, user_id or reaction_id');
    const q = query(req);
    const limit = intParam(str(q, 'limit'), 'limit', DEFAULT_FILTER_LIMIT, MAX_FILTER_LIMIT, true) || DEFAULT_FILTER_LIMIT;
    const page = await filterReactions(s, app, {
      lookup: { by: p.lookup, value: p.value } as ReactionLookup,
      kind: p.kind,
      limit,
      idLt: str(q, 'id_lt'),
      idLte: str(q, 'id_lte'),
      idGt: str(q, 'id_gt'),
      idGte: str(q, 'id_gte'),
      filterUserId: str(q, 'filter_user_id'),
    });
    const ownChildren = bool(q, 'with_own_children') || bool(q, 'withOwnChildren');
    const childrenUser = str(q, 'children_user_id') ?? (principal.kind === 'user' ? principal.userId : undefined);
    const results = await render(s, app, page.results, { ownChildren, userId: childrenUser });
    let next = '';
    if (page.more && page.results.length > 0) {
      const params = carried(q, NOT_CARRIED);
      const ascending = (str(q, 'id_gt') !== undefined || str(q, 'id_gte') !== undefined) && str(q, 'id_lt') === undefined && str(q, 'id_lte') === undefined;
      const last = page.results[page.results.length - 1].id;
      params.set(ascending ? 'id_gt' : 'id_lt', last);
      params.set('limit', String(limit));
      const kindPart = p.kind ? `${encodeURIComponent(p.kind)}/` : '';
      next = `/api/v1.0/reaction/${p.lookup}/${encodeURIComponent(p.value)}/${kindPart}?${params.toString()}`;
    }
    let body = `{"results":[${results.join(',')}],"next":${JSON.stringify(next)}`;
    if (p.lookup === 'activity_id' && bool(q, 'with_activity_data')) {
      const stored = await activityOfReactions(s, app, p.value);
      if (stored !== null) {
        const opts = { ...enrichOptions(req, principal, true), recentReactions: true, ownReactions: true, reactionCounts: true };
        const [activity] = await enrichActivities(s, app, [{ body: stored, origin: null }], opts);
        body += `,"activity":${activity}`;
      }
    }
    return send(reply, raw(body + '}'));
  };
  server.get('/reaction/:lookup/:value/', filter);
  server.get('/reaction/:lookup/:value/:kind/', filter);
}
