import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CATALOGUE, RivuletError, StoreError, type CatalogueEntry } from '../../core/errors.js';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { BodyNotDrainedError } from '../body.js';
import { duration } from '../reply.js';

const MORE_INFO = 'https://getstream.io/docs/api_error_responses';

/**
 * Stream's error body (§3.1) as JSON text. The one place error JSON is built. `extra` adds keys of
 * Rivulet's own after Stream's (the dashboard's formula `position`).
 */
export function errorJson(
  entry: CatalogueEntry,
  detail: string,
  duration: string,
  fields?: Record<string, string[]>,
  status = entry.status,
  extra?: Record<string, unknown>,
): string {
  const body: Record<string, unknown> = {
    code: entry.code,
    detail,
    duration,
    exception: entry.exception,
    more_info: MORE_INFO,
    status_code: status,
  };
  if (fields && Object.keys(fields).length > 0) body.exception_fields = fields;
  if (extra) Object.assign(body, extra);
  return JSON.stringify(body);
}

/** Renders Stream's error body (§3.1) as the reply. */
export function sendError(reply: FastifyReply, entry: CatalogueEntry, detail: string, fields?: Record<string, string[]>, status = entry.status): void {
  void reply.code(status).type('application/json; charset=utf-8').send(errorJson(entry, detail, duration(reply), fields, status));
}

/**
 * Answers on a bare socket, where there is no request object to reply to (a request Node could not
 * parse or that timed out, an upgrade nobody serves), then closes the connection once the answer
 * is written. Nothing is written when the socket can no longer be written to.
 */
export function writeSocketError(socket: Duplex, entry: CatalogueEntry, detail: string): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorJson(entry, detail, '0.00ms');
  socket.end(
    `HTTP/1.1 ${entry.status} ${STATUS_CODES[entry.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // A peer that never reads could keep the socket half-open: it goes after a short wait regardless.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Fastify's `clientErrorHandler`: errors Node's HTTP parser raises before a request exists, in
 * Stream's error shape (Fastify's default answers in its own).
 */
export function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    writeSocketError(socket, CATALOGUE.requestTimeout, 'the request was not received in time');
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    writeSocketError(socket, CATALOGUE.headersTooLarge, 'the request line and headers are larger than 16 KiB');
  } else {
    writeSocketError(socket, CATALOGUE.input, 'the request could not be parsed as HTTP');
  }
}

function handle(err: FastifyError | RivuletError | Error, req: FastifyRequest, reply: FastifyReply, onCorruption?: (err: StoreError) => void): void {
  if (err instanceof RivuletError) {
    if (err instanceof StoreError && err.corrupt && onCorruption) {
      onCorruption(err);
      sendError(reply, err.entry, `internal error, request id ${req.id}`);
      return;
    }
    if (err.entry.status >= 500) {
      req.log.error({ err, reqId: req.id }, 'request failed');
      sendError(reply, err.entry, `internal error, request id ${req.id}`);
      return;
    }
    // The rest of the body was not read: the connection cannot carry another request.
    if (err instanceof BodyNotDrainedError) void reply.header('connection', 'close');
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
 * error about a body nobody would use. `onCorruption` is told of store failures that found damaged
 * data (it logs them loudly; see services/integrity.ts).
 */
export const errorsPlugin = fp(async (app: FastifyInstance, opts: { onCorruption?: (err: StoreError) => void }) => {
  const onCorruption = opts.onCorruption;
  app.setErrorHandler((err: FastifyError | Error, req, reply) => handle(err, req, reply, onCorruption));
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
