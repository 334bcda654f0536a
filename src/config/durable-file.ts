import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `text` to `file` so that a crash or a power loss at any moment leaves the file as it was
 * (or absent) or whole, never cut short: the text goes to a temporary file beside it, which is
 * flushed to disk before it takes the name, and the directory is flushed after, so the name lasts.
 * The file is readable by its owner only. With `exclusive`, it is written only when no file has
 * that name (another process may be creating it at the same moment): returns false, writing
 * nothing, when one does.
 */
export function writeFileDurably(file: string, text: string, exclusive = false): boolean {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (!exclusive) renameSync(tmp, file);
    else {
      try {
        linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
  return true;
}
