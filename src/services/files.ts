import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InputError, NotAllowedError, NotFoundError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { safeFileName, withExtension } from '../core/files/file-name.js';
import { paramsKey, type ImageParams } from '../core/files/image-params.js';
import { isActiveType, sniffedType } from '../core/files/sniff.js';
import type { AuditLog } from '../ports/audit-log.js';
import type { BlobStore, OpenBlob } from '../ports/blob-store.js';
import type { FileIndex, FileRecord } from '../ports/file-index.js';
import type { ImageProcessor } from '../ports/image-processor.js';
import type { TimeSource } from './context.js';

/** Settings of uploads (config `files`). */
export interface FileSettings {
  /** Largest upload in bytes (default 10 MiB, §23.2). */
  readonly maxBytes: number;
  /**
   * The origin file URLs start with (`https://feeds.example.com`), for a server behind a proxy;
   * absent: the origin the request came to.
   */
  readonly publicUrl?: string;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** What the upload, image and download use cases need. */
export interface FileServices {
  readonly files: FileIndex;
  readonly blobs: BlobStore;
  readonly images: ImageProcessor;
  readonly clock: TimeSource;
  readonly settings: FileSettings;
  readonly audit?: AuditLog;
}

/** An upload as it arrived: its bytes, the name and the type the client declared. */
export interface Upload {
  readonly bytes: Buffer;
  readonly filename: string | undefined;
  readonly declaredType: string | undefined;
}

/** The path files are served under, before `<app>/<id>/<name>`. */
export const FILES_PATH = '/api/v1.0/files/';

const IMAGE_TYPES = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' } as const;
const EXTENSIONS = { jpeg: ['jpg', 'jpeg', 'jpe'], png: ['png'], webp: ['webp'], gif: ['gif'], avif: ['avif'] } as const;

function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** Where a file's bytes are kept: by app and id only, never by anything the client chose. */
export function blobKey(app: App, id: string): string {
  return `${app.appId}/${id}`;
}

/** The signature in a file URL: ties the URL to the app's secret, so only URLs Rivulet issued are served. */
function signature(app: App, id: string): string {
  return createHmac('sha256', app.apiSecret).update(`files:${app.appId}/${id}`).digest('base64url').slice(0, 22);
}

/** Whether `sig` is the signature of file `id` (constant time). */
export function validSignature(app: App, id: string, sig: string | undefined): boolean {
  if (sig === undefined) return false;
  const want = Buffer.from(signature(app, id));
  const got = Buffer.from(sig);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * The absolute URL of a file: `<origin>/api/v1.0/files/<app>/<id>/<name>?sig=<signature>`. The
 * name is followed directly by `?`, as the official tests check (§13).
 */
export function fileUrl(app: App, f: FileRecord, origin: string): string {
  return `${origin.replace(/\/+$/, '')}${FILES_PATH}${app.appId}/${f.id}/${encodeURIComponent(f.name)}?sig=${signature(app, f.id)}`;
}

/** The file id a URL names, when it is a file URL of this app; 404/16 otherwise. */
export function fileIdOf(app: App, url: string | undefined): string {
  if (url === undefined || url === '') throw new InputError('url is required', { fields: { url: ['required'] } });
  let path: string;
  try {
    path = new URL(url, 'http://x').pathname;
  } catch {
    throw new InputError('url is not a valid URL', { fields: { url: ['invalid'] } });
  }
  const prefix = `${FILES_PATH}${app.appId}/`;
  const rest = path.startsWith(prefix) ? path.slice(prefix.length).split('/') : [];
  if (rest.length !== 2 || !/^[A-Za-z0-9_-]{1,64}$/.test(rest[0])) throw new NotFoundError('no file of this app has this url');
  return rest[0];
}

async function loadFile(s: FileServices, app: App, id: string): Promise<FileRecord> {
  const f = (await s.files.getFiles(app.appId, [id])).get(id);
  if (!f) throw new NotFoundError('the file does not exist');
  return f;
}

/** User tokens may change only their own uploads (§2.3); server tokens (`actingUser` null) any. */
function checkOwner(f: FileRecord, actingUser: string | null): void {
  if (actingUser !== null && f.owner !== actingUser) throw new NotAllowedError();
}

/** The name an image is stored under: its extension made to match its real format. */
function imageName(name: string, format: keyof typeof EXTENSIONS): string {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return (EXTENSIONS[format] as readonly string[]).includes(ext) ? name : withExtension(name, EXTENSIONS[format][0]);
}

/**
 * Stores an upload (§13). Files keep the type the client declared unless a browser would run it
 * (HTML, SVG, script…: served as `application/octet-stream`). Images are checked by decoding their
 * header, never by the declared type: anything that is not a JPEG, PNG, WebP, GIF or AVIF image is
 * 400/4 `File type <sniffed type> is not supported`.
 */
export async function uploadFile(s: FileServices, app: App, kind: 'file' | 'image', upload: Upload, actingUser: string | null): Promise<FileRecord> {
  let name = safeFileName(upload.filename);
  let contentType: string;
  if (kind === 'image') {
    const found = await s.images.inspect(upload.bytes);
    if (found.kind === 'not_image') throw new InputError(`File type ${sniffedType(upload.bytes)} is not supported`);
    if (found.kind === 'unsupported') throw new InputError(`File type ${found.type} is not supported`);
    contentType = IMAGE_TYPES[found.format];
    name = imageName(name, found.format);
  } else {
    const declared = (upload.declaredType ?? '').trim();
    contentType = declared === '' || isActiveType(declared) ? 'application/octet-stream' : declared.toLowerCase();
  }
  const record: FileRecord = {
    id: newId(),
    name,
    kind,
    contentType,
    size: upload.bytes.length,
    owner: actingUser,
    parent: null,
    variant: null,
    createdUs: s.clock.next(),
  };
  // Bytes first: a crash between the two leaves an unreferenced object, never a record without bytes.
  await s.blobs.put(blobKey(app, record.id), upload.bytes);
  const { record: stored } = await s.files.addFile(app.appId, record);
  await s.audit?.append(app.appId, [fileChange(stored, 'created')], record.createdUs);
  return stored;
}

/**
 * Resizes or crops an uploaded image (§13) and stores the result as a new file owned like the
 * source. The same processing of the same image is done once: asking again returns the same file.
 */
export async function processImage(s: FileServices, app: App, url: string | undefined, params: ImageParams, actingUser: string | null): Promise<FileRecord> {
  const source = await loadFile(s, app, fileIdOf(app, url));
  checkOwner(source, actingUser);
  if (source.kind !== 'image') throw new InputError('the url names a file, not an image; only images can be processed');
  const parent = source.parent ?? source.id;
  const variant = `${source.id}?${paramsKey(params)}`;
  const known = await s.files.findVariant(app.appId, parent, variant);
  if (known) return known;
  const blob = await s.blobs.open(blobKey(app, source.id));
  if (!blob) throw new NotFoundError('the file does not exist');
  const chunks: Buffer[] = [];
  for await (const c of blob.stream()) chunks.push(c as Buffer);
  let bytes: Buffer;
  try {
    bytes = await s.images.process(Buffer.concat(chunks), params);
  } catch (err) {
    throw new InputError(`the image could not be processed: ${(err as Error).message}`, { cause: err });
  }
  const record: FileRecord = {
    id: newId(),
    name: source.name,
    kind: 'image',
    contentType: source.contentType,
    size: bytes.length,
    owner: source.owner,
    parent,
    variant,
    createdUs: s.clock.next(),
  };
  await s.blobs.put(blobKey(app, record.id), bytes);
  const { record: stored, created } = await s.files.addFile(app.appId, record);
  // Two identical requests at once: the first recorded wins, the other's bytes go.
  if (!created) await s.blobs.delete([blobKey(app, record.id)]);
  return stored;
}

/** Deletes an upload and its processed variants (§13): 404 when it is gone, 403 for another user's file. */
export async function deleteUpload(s: FileServices, app: App, url: string | undefined, actingUser: string | null): Promise<void> {
  const f = await loadFile(s, app, fileIdOf(app, url));
  checkOwner(f, actingUser);
  await deleteFiles(s, app, [f.id]);
}

/** Deletes files with their variants: records first (so nothing serves them), then their bytes. */
export async function deleteFiles(s: FileServices, app: App, ids: readonly string[]): Promise<FileRecord[]> {
  const gone = await s.files.deleteFiles(app.appId, ids);
  if (gone.length === 0) return gone;
  await s.blobs.delete(gone.map((g) => blobKey(app, g.id)));
  await s.audit?.append(app.appId, gone.filter((g) => g.parent === null).map((g) => fileChange(g, 'deleted')), s.clock.next());
  return gone;
}

function fileChange(f: FileRecord, action: string) {
  return {
    entityType: 'file' as const,
    entityId: f.id,
    action,
    userId: f.owner ?? '',
    custom: JSON.stringify({ kind: f.kind, name: f.name, size: f.size }),
  };
}

/** A file to serve: its record and its bytes; null when the URL does not name a live file. */
export async function openDownload(s: FileServices, app: App, id: string, name: string, sig: string | undefined): Promise<{ file: FileRecord; blob: OpenBlob } | null> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || !validSignature(app, id, sig)) return null;
  const f = (await s.files.getFiles(app.appId, [id])).get(id);
  if (!f || f.name !== name) return null;
  const blob = await s.blobs.open(blobKey(app, id));
  return blob ? { file: f, blob } : null;
}
