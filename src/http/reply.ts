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
 * Sends a JSON object held without its closing brace (`{"results":[…],"next":""`), with
 * `duration` and the brace appended. Bytes (a kept page) are sent as they are, not copied or
 * re-encoded; text (a page built for this response only) is encoded by the socket's write, not
 * into a buffer of its own first (a page over 4 KB would get a new memory block each time).
 */
export function sendOpen(reply: FastifyReply, open: Buffer | string, status = 200): FastifyReply {
  const tail = openEnd(reply, open.length);
  if (typeof open === 'string') {
    const body = encodeForSend(open, tail);
    headersOut(reply, status, body.length).end(body);
    return reply;
  }
  // Written as two chunks in one corked write, so a cached body is sent without being copied into
  // a new buffer per response (for a 30 KB page that copy cost more than the rest of the request).
  const end = Buffer.from(tail, 'latin1');
  const res = headersOut(reply, status, open.length + end.length);
  res.cork();
  res.write(open);
  res.end(end);
  res.uncork();
  return reply;
}

/** What closes an open JSON object of `length` (more than `{`: a comma first): `duration` and the brace. */
function openEnd(reply: FastifyReply, length: number): string {
  return `${length > 1 ? ',' : ''}"duration":"${duration(reply)}"}`;
}

/**
 * Takes the response over from Fastify and writes its head: the headers set so far (CORS) as
 * Fastify would send them, with a JSON content type and `length`. Returns the raw response.
 */
function headersOut(reply: FastifyReply, status: number, length: number): import('node:http').ServerResponse {
  const headers = reply.getHeaders();
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = length;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(status, headers as import('node:http').OutgoingHttpHeaders);
  return res;
}

/**
 * Sends a JSON object held as pieces of bytes without its closing brace (a page built for this
 * response only, see `sendOpen`), with `duration` and the brace appended: the pieces and that end
 * are joined once (see {@link joinForSend}) and written in one write.
 */
export function sendPieces(reply: FastifyReply, pieces: readonly Buffer[], status = 200): FastifyReply {
  let n = 0;
  for (const p of pieces) n += p.length;
  const body = joinForSend(pieces, openEnd(reply, n));
  headersOut(reply, status, body.length).end(body);
  return reply;
}

/** Pages joined for one response are copied into blocks of this size, taken in turn. */
const SEND_BLOCK = 256 * 1024;
let block = Buffer.allocUnsafeSlow(0);
let blockUsed = 0;

/**
 * `pieces` joined into one buffer for a response that is sent and dropped (not kept), followed by
 * `end` (text of one-byte characters: written as Latin-1), if given: a page over 4 KB joined by
 * `Buffer.concat` gets a memory block of its own each time, whose allocation and collection cost
 * more than the copy. Small pages are instead copied into a shared block taken in turn (as Node's
 * own buffer pool does for small buffers): a block is never written twice and is freed once every
 * response cut from it is gone.
 */
export function joinForSend(pieces: readonly Buffer[], end = ''): Buffer {
  let n = end.length;
  for (const p of pieces) n += p.length;
  let out: Buffer;
  if (n > SEND_BLOCK / 4) out = Buffer.allocUnsafeSlow(n);
  else {
    if (blockUsed + n > block.length) {
      block = Buffer.allocUnsafeSlow(SEND_BLOCK);
      blockUsed = 0;
    }
    out = block.subarray(blockUsed, blockUsed + n);
    blockUsed += (n + 7) & ~7;
  }
  // `set` (a typed-array copy) rather than `Buffer#copy`, which checks its arguments in JavaScript
  // first: a page is 25–100 pieces.
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  if (end !== '') out.write(end, at, 'latin1');
  return out;
}

/**
 * `text` followed by `end` (one-byte characters) as UTF-8, for a response that is sent and dropped:
 * encoded in one pass into the shared block of {@link joinForSend} when it surely fits (three
 * bytes a UTF-16 unit at most), instead of counting its bytes for the length and encoding it again
 * on the write (two passes, and the write's own memory block); a longer text gets a buffer of its own.
 */
export function encodeForSend(text: string, end = ''): Buffer {
  const most = (text.length + end.length) * 3;
  if (most > SEND_BLOCK / 2) return Buffer.from(text + end);
  if (blockUsed + most > block.length) {
    block = Buffer.allocUnsafeSlow(SEND_BLOCK);
    blockUsed = 0;
  }
  let n = block.write(text, blockUsed);
  if (end !== '') n += block.write(end, blockUsed + n, 'latin1');
  const out = block.subarray(blockUsed, blockUsed + n);
  blockUsed += (n + 7) & ~7;
  return out;
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
