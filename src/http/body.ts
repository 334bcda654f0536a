import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { InputError, PayloadTooLargeError, UnsupportedEncodingError } from '../core/errors.js';

/** Largest JSON request body (stream-v2-api.md §23.1). */
export const JSON_BODY_LIMIT = 1024 * 1024;

/**
 * How much of an oversize body is read and thrown away before the 413 is sent. A client writes
 * its whole body before it reads the answer; cutting the connection while it still writes makes it
 * see a reset (EPIPE) instead of the 413. Up to this size the body is drained and the connection
 * stays usable; beyond it the 413 is sent at once and the connection closed.
 */
export const BODY_DRAIN_LIMIT = 8 * 1024 * 1024;

/**
 * Deepest nesting of arrays and objects in a request body. Parsing is iterative, but serializing,
 * cloning and comparing recurse, so `[[[[…]]]]` ten thousand deep would overflow the stack (a
 * 500, possibly after a commit). The body's wrappers (`{"activities": [{…}]}`) plus a custom field
 * nested as deep as an activity allows (100 levels, see MAX_NESTING) stay well inside this.
 */
export const MAX_BODY_DEPTH = 128;

/** A 413 the HTTP layer answers with `Connection: close`: the rest of the body was not read. */
export class BodyNotDrainedError extends PayloadTooLargeError {}

/**
 * The refusal of a body sent with a `Content-Encoding` (other than `identity`), or null. Such a body
 * is not decoded: a gzip body would be refused as "not valid UTF-8", which says nothing of the cause,
 * and one labelled `br` whose bytes happen to be plain JSON would be taken as it is.
 */
function encodingRefusal(req: IncomingMessage): UnsupportedEncodingError | null {
  const enc = req.headers['content-encoding'];
  if (enc === undefined) return null;
  const codings = enc
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return null;
  return new UnsupportedEncodingError(`Content-Encoding ${codings.join(', ').slice(0, 64)} is not supported: send the JSON body uncompressed`);
}

/**
 * Reads a JSON request body (Fastify content-type parser form): at most {@link JSON_BODY_LIMIT}
 * bytes, valid UTF-8, valid JSON, at most {@link MAX_BODY_DEPTH} levels deep, numbers finite, not
 * compressed. Anything else is 400/4 naming the field where one can be named, 413/18, or 415/4 for
 * a `Content-Encoding`; an empty body is `undefined`. Oversize and compressed bodies are drained
 * first (see {@link BODY_DRAIN_LIMIT}).
 */
export function readJsonBody(req: IncomingMessage, payload: Readable, done: (err: Error | null, body?: unknown) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > BODY_DRAIN_LIMIT) {
    done(new BodyNotDrainedError(`request body is larger than ${JSON_BODY_LIMIT} bytes`));
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  let finished = false;
  const finish = (err: Error | null, body?: unknown) => {
    if (finished) return;
    finished = true;
    payload.off('data', onData);
    payload.off('end', onEnd);
    payload.off('error', onError);
    done(err, body);
  };
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= JSON_BODY_LIMIT) {
      chunks.push(chunk);
      return;
    }
    chunks.length = 0;
    if (received > BODY_DRAIN_LIMIT) finish(new BodyNotDrainedError(`request body is larger than ${JSON_BODY_LIMIT} bytes`));
  };
  const refused = encodingRefusal(req);
  const onEnd = () => {
    if (received > JSON_BODY_LIMIT) {
      finish(new PayloadTooLargeError(`request body is larger than ${JSON_BODY_LIMIT} bytes`));
      return;
    }
    if (refused) {
      finish(received === 0 ? null : refused);
      return;
    }
    try {
      finish(null, parseJsonBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received)));
    } catch (err) {
      finish(err as Error);
    }
  };
  const onError = (err: Error) => finish(err);
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
}

/** Parses and checks a complete body; see {@link readJsonBody}. */
export function parseJsonBody(buf: Buffer): unknown {
  const valid = isUtf8(buf);
  const text = buf.toString('utf8').trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(valid ? 'request body is not valid JSON' : 'request body is not valid UTF-8');
  }
  if (!valid) {
    // Decoding replaced the bad bytes with U+FFFD: name the first field holding one.
    const at = findJson(value, (v, key) => (typeof v === 'string' && v.includes('\uFFFD')) || key.includes('\uFFFD'));
    const field = at?.path || undefined;
    throw new InputError(field ? `${field} is not valid UTF-8` : 'request body is not valid UTF-8', field ? { fields: { [field]: ['not valid UTF-8'] } } : undefined);
  }
  checkJsonValue(value);
  return value;
}

/**
 * Refuses JSON nested deeper than {@link MAX_BODY_DEPTH} and numbers JSON.parse turned into
 * infinities (`1e400`, which would be stored as `null`), naming the field. Iterative, so it cannot
 * overflow the stack itself.
 */
export function checkJsonValue(value: unknown): void {
  if (jsonIsSound(value)) return;
  // Something is wrong: walk again, keeping paths, to name it.
  const bad = findJson(value, (v) => typeof v === 'number' && !Number.isFinite(v), MAX_BODY_DEPTH);
  if (!bad) return;
  const field = bad.path || 'body';
  if (bad.tooDeep) {
    throw new InputError(`${field} is nested deeper than ${MAX_BODY_DEPTH} levels`, { fields: { [field]: ['nested too deeply'] } });
  }
  throw new InputError(`${field} is a number out of range`, { fields: { [field]: ['number out of range'] } });
}

/**
 * Whether every number is finite and no container is deeper than {@link MAX_BODY_DEPTH}: the
 * common case, checked without building paths (every body of every write passes through here).
 */
function jsonIsSound(root: unknown): boolean {
  if (typeof root !== 'object' || root === null) return typeof root !== 'number' || Number.isFinite(root);
  const nodes: object[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > MAX_BODY_DEPTH) return false;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) if (!visit(node[i], depth, nodes, depths)) return false;
    } else {
      for (const key in node) if (!visit((node as Record<string, unknown>)[key], depth, nodes, depths)) return false;
    }
  }
  return true;
}

/** One value of {@link jsonIsSound}'s walk: containers are queued, numbers checked. */
function visit(v: unknown, depth: number, nodes: object[], depths: number[]): boolean {
  if (typeof v === 'object') {
    if (v !== null) {
      nodes.push(v);
      depths.push(depth + 1);
    }
    return true;
  }
  return typeof v !== 'number' || Number.isFinite(v);
}

/** A step of a JSON path, kept as a linked list so that paths are only built for a hit. */
interface PathStep {
  readonly key: string | number;
  readonly parent: PathStep | null;
}

function pathText(step: PathStep | null): string {
  const parts: (string | number)[] = [];
  for (let s = step; s !== null; s = s.parent) parts.push(s.key);
  let out = '';
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i];
    out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
    // A path a hundred levels deep says no more than its start.
    if (out.length > 80 && i > 0) return out.slice(0, 80) + '…';
  }
  return out;
}

/**
 * Walks a parsed JSON value depth first and returns the path of the first value `hit` accepts
 * (with the key it sits under), or of the first container deeper than `maxDepth`.
 */
function findJson(
  root: unknown,
  hit: (v: unknown, key: string) => boolean,
  maxDepth = Infinity,
): { path: string; tooDeep: boolean } | null {
  if (hit(root, '')) return { path: '', tooDeep: false };
  if (typeof root !== 'object' || root === null) return null;
  const stack: [object, number, PathStep | null][] = [[root, 1, null]];
  while (stack.length > 0) {
    const [node, depth, at] = stack.pop()!;
    if (depth > maxDepth) return { path: pathText(at), tooDeep: true };
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (hit(v, '')) return { path: pathText({ key: i, parent: at }), tooDeep: false };
        if (typeof v === 'object' && v !== null) stack.push([v, depth + 1, { key: i, parent: at }]);
      }
    } else {
      for (const key of Object.keys(node)) {
        const v: unknown = (node as Record<string, unknown>)[key];
        if (hit(v, key)) return { path: pathText({ key, parent: at }), tooDeep: false };
        if (typeof v === 'object' && v !== null) stack.push([v, depth + 1, { key, parent: at }]);
      }
    }
  }
  return null;
}

/**
 * Reads and discards what is left of a request body, then calls `then(drained)`: `true` once the
 * body ended, `false` when more than `limit` bytes came (the caller closes the connection).
 */
export function drainBody(req: Readable, limit: number, then: (drained: boolean) => void): void {
  let seen = 0;
  let done = false;
  const finish = (drained: boolean) => {
    if (done) return;
    done = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onEnd);
    then(drained);
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limit) finish(false);
  };
  const onEnd = () => finish(true);
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onEnd);
  req.resume();
}
