import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BlobStore, OpenBlob } from '../../ports/blob-store.js';

/** Keys Rivulet makes: path segments of `[A-Za-z0-9_-]` joined by `/` (never `.` or `..`). */
const KEY = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

/** Refuses anything but a key Rivulet made, so no key can name a path outside the root. */
export function checkKey(key: string): string {
  if (!KEY.test(key) || key.length > 512) throw new Error(`invalid blob key ${JSON.stringify(key.slice(0, 80))}`);
  return key;
}

/**
 * {@link BlobStore} on the local disk: one file per key under `root` (by default `<data>/files`).
 * A put writes a temporary file, fsyncs it, renames it into place and fsyncs the directory, so an
 * acknowledged upload survives a crash and a reader never sees half a file.
 */
export class LocalBlobStore implements BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
  }

  #path(key: string): string {
    return join(this.#root, checkKey(key));
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const path = this.#path(key);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async open(key: string): Promise<OpenBlob | null> {
    const path = this.#path(key);
    let size: number;
    try {
      const st = await stat(path);
      if (!st.isFile()) return null;
      size = st.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return { size, stream: () => createReadStream(path) };
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.#path(key), { force: true });
  }

  async close(): Promise<void> {}
}
