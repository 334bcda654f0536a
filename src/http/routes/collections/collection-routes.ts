import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../../../core/auth/principal.js';
import {
  addEntry,
  deleteEntries,
  deleteEntry,
  entryJson,
  entryRef,
  getEntry,
  parseCollection,
  parseDeleteMany,
  parseForeignIds,
  parseUpsert,
  selectEntries,
  updateEntry,
  upsertEntries,
} from '../../../services/collections.js';
import type { Services } from '../../../services/context.js';
import type { EntryRef } from '../../../ports/collection-store.js';
import { authorize } from '../../plugins/auth.js';
import { list, query, str } from '../../query.js';
import { raw, send } from '../../reply.js';

function pathRef(req: FastifyRequest): EntryRef {
  const p = req.params as { collection: string; id: string };
  return entryRef(p.collection, p.id);
}

/** The user a call acts as for ownership: the user token's user; `null` for server tokens. */
function actingUser(p: Principal): string | null {
  return p.kind === 'user' ? p.userId : null;
}

/**
 * Collections (§11): single-entry endpoints for server and user tokens (any user reads any entry;
 * users update and delete only entries they created), and the server-only batch endpoints under
 * `collections/` (resource `collections`).
 */
export async function collectionRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;

  server.post('/collections/:collection/', async (req, reply) => {
    const collection = parseCollection((req.params as { collection: string }).collection);
    const { app, principal } = authorize(req, 'collections', null, () => true);
    const entry = await addEntry(s, app, collection, req.body, actingUser(principal));
    return send(reply, raw(entryJson(entry)), 201);
  });

  server.get('/collections/:collection/:id/', async (req, reply) => {
    const ref = pathRef(req);
    const { app } = authorize(req, 'collections', null, () => true);
    return send(reply, raw(entryJson(await getEntry(s, app, ref))));
  });

  server.put('/collections/:collection/:id/', async (req, reply) => {
    const ref = pathRef(req);
    const { app, principal } = authorize(req, 'collections', null, () => true);
    return send(reply, raw(entryJson(await updateEntry(s, app, ref, req.body, actingUser(principal)))));
  });

  server.delete('/collections/:collection/:id/', async (req, reply) => {
    const ref = pathRef(req);
    const { app, principal } = authorize(req, 'collections', null, () => true);
    await deleteEntry(s, app, ref, actingUser(principal));
    return send(reply, {});
  });

  server.post('/collections/', async (req, reply) => {
    const { app } = authorize(req, 'collections', null, null);
    const data = await upsertEntries(s, app, parseUpsert(req.body));
    return send(reply, { data }, 201);
  });

  server.get('/collections/', async (req, reply) => {
    const { app } = authorize(req, 'collections', null, null);
    const found = await selectEntries(s, app, parseForeignIds(list(query(req), 'foreign_ids')));
    return send(reply, raw(`{"response":{"data":[${found.map(entryJson).join(',')}]}}`));
  });

  server.delete('/collections/', async (req, reply) => {
    const { app } = authorize(req, 'collections', null, null);
    const q = query(req);
    await deleteEntries(s, app, parseDeleteMany(str(q, 'collection_name'), list(q, 'ids')));
    return send(reply, {});
  });
}
