import type { FastifyReply } from 'fastify';

/** A JSON object already serialized (activities are stored as JSON and spliced, never re-parsed). */
export class RawJson {
  constructor(readonly raw: string) {}
}

export function raw(text: string): RawJson {
  return new RawJson(text);
}

/** Stream's `duration` field: time since the request arrived, e.g. `"4.15ms"` (§1.4). */
export function duration(reply: FastifyReply): string {
  return `${reply.elapsedTime.toFixed(2)}ms`;
}

/**
 * Sends a JSON object held as bytes without its closing brace (`{"results":[…],"next":""`), with
 * `duration` and the brace appended: the bytes are copied once, not re-encoded.
 */
export function sendOpen(reply: FastifyReply, open: Buffer, status = 200): FastifyReply {
  const tail = Buffer.from(`${open.length > 1 ? ',' : ''}"duration":"${duration(reply)}"}`, 'latin1');
  // Written as two chunks in one corked write, so a cached body is sent without being copied into
  // a new buffer per response (for a 30 KB page that copy cost more than the rest of the request).
  // The headers set so far (CORS) go out as Fastify would send them.
  const headers = reply.getHeaders();
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = open.length + tail.length;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(status, headers as import('node:http').OutgoingHttpHeaders);
  res.cork();
  res.write(open);
  res.end(tail);
  res.uncork();
  return reply;
}

/** `text` (a JSON object) as bytes without its closing brace, for {@link sendOpen}. */
export function openBytes(text: string): Buffer {
  return Buffer.from(text.slice(0, -1));
}

/**
 * Sends a JSON object with `duration` added. Raw JSON objects get `duration` spliced in before
 * their closing brace, so the body is serialized once.
 */
export function send(reply: FastifyReply, body: object | RawJson, status = 200): FastifyReply {
  let text: string;
  if (body instanceof RawJson) {
    const r = body.raw;
    const d = `"duration":"${duration(reply)}"}`;
    text = r === '{}' ? '{' + d : r.slice(0, -1) + ',' + d;
  } else {
    text = JSON.stringify({ ...body, duration: duration(reply) });
  }
  return reply.code(status).type('application/json; charset=utf-8').send(text);
}
