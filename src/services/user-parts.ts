import { changeKey } from '../ports/change-marks.js';
import type { UserRecord } from '../ports/user-store.js';
import type { Uses } from './context.js';

/** What reading users' records uses (the shared parts cache, else the user store). */
export type UserPartsDeps = Uses<'users', 'parts' | 'readDeps'>;

/**
 * Users' records for rendering, from the shared parts cache (`Services.parts`) where kept, else
 * read in one batch and kept. A record changes only with a write to that user (created, updated,
 * deleted), each of which marks the user's change key, so a kept record is what a read of the
 * store would return as of the cache's look at the marks, which this call takes after it began.
 * Users that do not exist are absent from the answer (and are not kept: their creation is read
 * anew). A read recorded for the read cache depends on each user it got.
 */
export async function userRecords(s: UserPartsDeps, app: string, ids: readonly string[]): Promise<Map<string, UserRecord>> {
  const cache = s.parts;
  if (cache === undefined || ids.length === 0) return ids.length === 0 ? new Map() : s.ports.users.getUsers(app, ids);
  const at = await cache.sync();
  const space = users(app);
  const out = new Map<string, UserRecord>();
  let missing: string[] | null = null;
  const deps = s.readDeps;
  for (const id of ids) {
    const kept = cache.peekIn(space, id);
    if (kept === undefined) (missing ??= []).push(id);
    else {
      out.set(id, JSON.parse(kept as string) as UserRecord);
      if (deps) deps.add(changeKey.user(app, id));
    }
  }
  if (missing === null) return out;
  // The recording store notes the users read here.
  const found = await s.ports.users.getUsers(app, missing);
  await cache.sync();
  for (const [id, u] of found) {
    out.set(id, u);
    const record: UserRecord = { id: u.id, data: u.data, createdUs: u.createdUs, updatedUs: u.updatedUs };
    cache.putIn(space, id, at, [changeKey.user(app, id)], JSON.stringify(record));
  }
  return out;
}

/** The parts-cache space of an app's user records, keyed by user id. */
function users(app: string): string {
  return `u|${app}`;
}
