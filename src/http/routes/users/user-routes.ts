import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../services/context.js';
import {
  addUsers,
  createUser,
  deleteUser,
  deleteUsers,
  getUser,
  getUsers,
  parseAddUsers,
  parseNewUser,
  parseUserId,
  parseUserIds,
  updateUser,
  userJson,
} from '../../../services/users.js';
import { authorize } from '../../plugins/auth.js';
import { bool, list, query } from '../../query.js';
import { raw, send } from '../../reply.js';

function pathUserId(req: FastifyRequest): string {
  return parseUserId((req.params as { id: string }).id, 'user_id');
}

/**
 * Users (§12): single-user CRUD for server and user tokens (a user token may create, update and
 * delete only its own id, and read anyone), and the server-only batch endpoints under `users/`.
 */
export async function userRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;

  server.post('/user/', async (req, reply) => {
    // Validate before authorizing: the policy compares the token's user with the body's id.
    const user = parseNewUser(req.body);
    const { app } = authorize(req, 'users', null, (u) => u === user.id);
    const r = await createUser(s, app, user, bool(query(req), 'get_or_create'));
    return send(reply, raw(userJson(r.user)), r.created ? 201 : 200);
  });

  server.get('/user/:id/', async (req, reply) => {
    const id = pathUserId(req);
    const { app } = authorize(req, 'users', null, () => true);
    const { user, counts } = await getUser(s, app, id, bool(query(req), 'with_follow_counts'));
    return send(reply, raw(userJson(user, counts)));
  });

  server.put('/user/:id/', async (req, reply) => {
    const id = pathUserId(req);
    const { app } = authorize(req, 'users', null, (u) => u === id);
    return send(reply, raw(userJson(await updateUser(s, app, id, req.body))));
  });

  server.delete('/user/:id/', async (req, reply) => {
    const id = pathUserId(req);
    const { app } = authorize(req, 'users', null, (u) => u === id);
    await deleteUser(s, app, id);
    return send(reply, {});
  });

  server.post('/users/', async (req, reply) => {
    const { app } = authorize(req, 'users', null, null);
    const { users, override } = parseAddUsers(req.body);
    const stored = await addUsers(s, app, users, override);
    return send(reply, raw(`{"created_users":[${stored.map((u) => userJson(u)).join(',')}]}`), 201);
  });

  server.get('/users/', async (req, reply) => {
    const { app } = authorize(req, 'users', null, null);
    const found = await getUsers(s, app, parseUserIds(list(query(req), 'ids')));
    return send(reply, raw(`{"users":[${found.map((u) => userJson(u)).join(',')}]}`));
  });

  server.delete('/users/', async (req, reply) => {
    const { app } = authorize(req, 'users', null, null);
    const deleted = await deleteUsers(s, app, parseUserIds(list(query(req), 'ids')));
    return send(reply, { deleted_user_ids: deleted });
  });
}
