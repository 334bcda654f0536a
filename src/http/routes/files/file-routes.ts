import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../../core/auth/principal.js';
import { InputError, PayloadTooLargeError } from '../../../core/errors.js';
import type { App } from '../../../core/feeds/feed-group.js';
import { parseImageParams } from '../../../core/files/image-params.js';
import {
  deleteUpload,
  FILES_PATH,
  fileUrl,
  openDownload,
  processImage,
  uploadFile,
  type FileServices,
  type Upload,
} from '../../../services/files.js';
import { authorize } from '../../plugins/auth.js';
import { query, str } from '../../query.js';
import { send } from '../../reply.js';

function actingUser(p: Principal): string | null {
  return p.kind === 'user' ? p.userId : null;
}

/** The origin file URLs start with: the configured public URL, or the origin the request came to. */
function origin(s: FileServices, req: FastifyRequest): string {
  return s.settings.publicUrl ?? `${req.protocol}://${req.host}`;
}

const MiB = 1024 * 1024;

/** Reads the `file` part of a multipart upload (§13), refusing anything else with 400 and oversize files with 413. */
async function readUpload(req: FastifyRequest, maxBytes: number): Promise<Upload> {
  if (!req.isMultipart()) throw new InputError('an upload must be multipart/form-data with a part named "file"');
  const part = await req.file({ limits: { fileSize: maxBytes, files: 1, fields: 20, parts: 40 } });
  if (!part) throw new InputError('the multipart body has no file part (expected a part named "file")');
  try {
    return { bytes: await part.toBuffer(), filename: part.filename, declaredType: part.mimetype };
  } catch (err) {
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
      const limit = maxBytes % MiB === 0 ? `${maxBytes / MiB} MiB` : `${maxBytes} bytes`;
      throw new PayloadTooLargeError(`the file is larger than ${limit}`);
    }
    throw err;
  }
}

/**
 * Files and images (§13): multipart upload for server (`*`) and user tokens, delete and image
 * processing for the uploader (or a server token). Registered inside the API prefix; the multipart
 * parser is registered in this plugin only, so no other route accepts multipart bodies.
 */
export async function fileRoutes(server: FastifyInstance, opts: { files: FileServices }): Promise<void> {
  const s = opts.files;
  await server.register(multipart, { limits: { fileSize: s.settings.maxBytes } });

  for (const kind of ['file', 'image'] as const) {
    const path = kind === 'file' ? '/files/' : '/images/';

    server.post(path, async (req, reply) => {
      const { app, principal } = authorize(req, 'global', null, () => true);
      const upload = await readUpload(req, s.settings.maxBytes);
      const f = await uploadFile(s, app, kind, upload, actingUser(principal));
      return send(reply, { file: fileUrl(app, f, origin(s, req)) }, 201);
    });

    server.delete(path, async (req, reply) => {
      const { app, principal } = authorize(req, 'global', null, () => true);
      await deleteUpload(s, app, str(query(req), 'url'), actingUser(principal));
      return send(reply, {});
    });
  }

  server.get('/images/', async (req, reply) => {
    const { app, principal } = authorize(req, 'global', null, () => true);
    const q = query(req);
    const params = parseImageParams({ w: str(q, 'w'), h: str(q, 'h'), resize: str(q, 'resize'), crop: str(q, 'crop') });
    const f = await processImage(s, app, str(q, 'url'), params, actingUser(principal));
    return send(reply, { file: fileUrl(app, f, origin(s, req)) });
  });
}

/** `filename*=` (RFC 6266/5987) plus an ASCII fallback. */
function disposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Serves uploaded files to anyone holding their URL (no token: `<img src>` and links must work).
 * A served file never runs in Rivulet's origin: images are served with the type their decoder
 * found, anything else as an attachment; `nosniff` and a sandboxing CSP on every one.
 */
export async function downloadRoutes(server: FastifyInstance, opts: { files: FileServices; apps: readonly App[] }): Promise<void> {
  const byId = new Map(opts.apps.map((a) => [a.appId, a]));
  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = req.params as { app: string; id: string; name: string };
    const app = byId.get(p.app);
    const found = app ? await openDownload(opts.files, app, p.id, p.name, str(query(req), 'sig')) : null;
    if (!found) {
      void reply.code(404).type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff');
      return reply.send('not found\n');
    }
    const { file, blob } = found;
    const stream = blob.stream();
    void reply
      .type(file.contentType)
      .header('content-length', String(blob.size))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox")
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('content-disposition', disposition(file.kind === 'image' ? 'inline' : 'attachment', file.name))
      // A URL always names the same bytes (processing makes a new file), so caches may keep it.
      .header('cache-control', 'public, max-age=31536000, immutable');
    if (req.method === 'HEAD') {
      // Written directly: Fastify would set the length of the (empty) body it sends.
      stream.destroy();
      reply.hijack();
      reply.raw.writeHead(200, reply.getHeaders() as import('node:http').OutgoingHttpHeaders);
      reply.raw.end();
      return reply;
    }
    return reply.send(stream);
  };
  server.get(`${FILES_PATH}:app/:id/:name`, serve);
}
