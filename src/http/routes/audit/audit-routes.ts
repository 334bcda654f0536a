import type { FastifyInstance } from 'fastify';
import { formatTimestamp } from '../../../core/time.js';
import { auditJson, listAudit } from '../../../services/audit.js';
import type { Services } from '../../../services/context.js';
import { authorize } from '../../plugins/auth.js';
import { query, str } from '../../query.js';
import { raw, send } from '../../reply.js';

/** Audit logs (§18.2): server tokens with resource `audit_logs` or `*`. */
export async function auditRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;
  server.get('/audit_logs/', async (req, reply) => {
    const { app } = authorize(req, 'audit_logs', null, null);
    const q = query(req);
    const page = await listAudit(s, app, {
      entity_type: str(q, 'entity_type'),
      entity_id: str(q, 'entity_id'),
      user_id: str(q, 'user_id'),
      limit: str(q, 'limit'),
      next: str(q, 'next'),
      prev: str(q, 'prev'),
    });
    const logs = page.entries.map((e) => auditJson(e, formatTimestamp)).join(',');
    return send(reply, raw(`{"audit_logs":[${logs}],"next":${JSON.stringify(page.next)},"prev":${JSON.stringify(page.prev)}}`));
  });
}
