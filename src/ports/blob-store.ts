import type { Readable } from 'node:stream';

/** A stored object opened for reading: its size and a stream of its bytes. */
export interface OpenBlob {
  readonly size: number;
  /** The bytes; call once. */
  stream(): Readable;
}

/**
 * Bytes of uploaded files and images, by key. Keys are made by Rivulet (`<app>/<file id>`, see
 * services/files.ts) from `[A-Za-z0-9_-]` and `/` only, never from user input. The store knows
 * nothing of names, owners or types: those live in the {@link FileIndex}.
 *
 * Adapters: local disk under the data directory (default), S3-compatible object storage (for
 * several API nodes). Each call is one round trip; objects are immutable once put.
 *
 * @example
 *   await blobs.put('1001/aB3x', bytes);
 *   const blob = await blobs.open('1001/aB3x'); // { size, stream() } or null
 *   await blobs.delete(['1001/aB3x']);
 */
export interface BlobStore {
  /** Stores `bytes` under `key` (replacing any object there); durable when the promise resolves. */
  put(key: string, bytes: Buffer): Promise<void>;

  /** Opens an object; `null` when there is none. */
  open(key: string): Promise<OpenBlob | null>;

  /** Deletes objects; missing keys are no error. */
  delete(keys: readonly string[]): Promise<void>;

  /** Releases connections. */
  close(): Promise<void>;
}
