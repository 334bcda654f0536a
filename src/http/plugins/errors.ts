import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CATALOGUE, RivuletError, type CatalogueEntry } from '../../core/errors.js';
import { duration } from '../reply.js';

const MORE_INFO = 'https://getstream.io/docs/api_error_responses';

/** Renders Stream's error body (§3.1). The one place error JSON is built. */
export function sendError(reply: FastifyReply, entry: CatalogueEntry, detail: string, fields?: Record<string, string[]>, status = entry.status): void {
  const body: Record<string, unknown> = {
    code: entry.code,
    detail,
    duration: duration(reply),
    exception: entry.exception,
    more_info: MORE_INFO,
    status_code: status,
  };
  if (fields && Object.keys(fields).length > 0) body.exception_fields = fields;
  void reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

function handle(err: FastifyError | RivuletError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof RivuletError) {
    if (err.entry.status >= 500) {
      req.log.error({ err, reqId: req.id }, 'request failed');
      sendError(reply, err.entry, `internal error, request id ${req.id}`);
      return;
    }
    sendError(reply, err.entry, err.message, err.fields);
    return;
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    sendError(reply, CATALOGUE.input, fe.message);
    return;
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 404) {
    sendError(reply, CATALOGUE.doesNotExist, fe.message);
    return;
  }
  if (status === 413) {
    // Fastify's body limit (FST_ERR_CTP_BODY_TOO_LARGE) and any other payload refusal.
    sendError(reply, CATALOGUE.payloadTooLarge, 'request body is too large');
    return;
  }
  if (status >= 400 && status < 500) {
    // Malformed requests Fastify rejects before routing (bad content type, bad URL encoding, …).
    sendError(reply, CATALOGUE.input, fe.message, undefined, status === 415 ? 415 : 400);
    return;
  }
  req.log.error({ err, reqId: req.id }, 'request failed');
  sendError(reply, CATALOGUE.internal, `internal error, request id ${req.id}`);
}

/**
 * Errors the router raises before any route or hook runs (Fastify's `frameworkErrors` option).
 * Without this Fastify answers them in its own body shape, which Stream clients cannot parse.
 * A path that cannot be decoded, or a segment longer than the router's limit, can only be a
 * malformed id: 400/4.
 */
export function frameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendError(reply, CATALOGUE.input, `the request path is not valid: ${req.url.split('?')[0].slice(0, 200)}`);
    return;
  }
  handle(err, req, reply);
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Error handler and not-found handler for the whole server. The not-found handler lives in its own
 * scope without body parsers: Fastify then skips reading the body of a request no route serves, so
 * an upload or any non-JSON body sent to an unknown path gets the JSON 404 (or 405), not a parse
 * error about a body nobody would use.
 */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler(handle);
  await app.register(notFound);
});

async function notFound(app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers();
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    // A known path asked with another method is 405/17, not "no such resource" (§23.1).
    const allowed = METHODS.filter((method) => method !== req.method && app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      sendError(reply, CATALOGUE.methodNotAllowed, `${req.method} is not allowed on ${path}; use ${allowed.join(', ')}`);
      return;
    }
    sendError(reply, CATALOGUE.doesNotExist, `no route for ${req.method} ${path}`);
  });
}
