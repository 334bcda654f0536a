import { randomUUID } from 'node:crypto';
import { isPlainObject } from '../core/activities/activity.js';
import { ConflictError, InputError, NotAllowedError, NotFoundError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { formatTimestamp } from '../core/time.js';
import type { EntryRecord, EntryRef, EntryWriteOutcome } from '../ports/collection-store.js';
import type { Uses } from './context.js';
import { dataText, parseUserId } from './users.js';
import { audit, change } from './audit.js';

/** What writing collection entries uses. */
export type CollectionDeps = Uses<'collections', 'audit' | 'clock'>;
/** What reading collection entries uses. */
export type CollectionReadDeps = Uses<'collections'>;

/** Entries per batch call (upsert, select, delete many), as Stream documents for its batch endpoints. */
export const MAX_ENTRIES_PER_BATCH = 1000;

const COLLECTION_RE = /^\w{1,64}$/;
/** Entry ids use the user-id character set (§4.2: `!abcdee!` is refused). */
const ENTRY_ID_RE = /^[\w-]{1,255}$/;

/** Validates a collection name (`^\w{1,64}$`); 400/4 otherwise. */
export function parseCollection(value: unknown, what = 'collection'): string {
  if (typeof value !== 'string' || !COLLECTION_RE.test(value)) {
    throw new InputError(`${what}: invalid collection name "${String(value).slice(0, 80)}" (1-64 letters, digits and _ only)`, {
      fields: { [what]: ['invalid'] },
    });
  }
  return value;
}

/** Validates an entry id (`^[\w-]{1,255}$`); 400/4 otherwise. */
export function parseEntryId(value: unknown, what = 'id'): string {
  if (typeof value !== 'string') throw new InputError(`${what} must be a string`, { fields: { [what]: ['must be a string'] } });
  if (!ENTRY_ID_RE.test(value)) {
    throw new InputError(`${what}: invalid id "${value.slice(0, 80)}" (1-255 letters, digits, _ and - only)`, {
      fields: { [what]: ['invalid'] },
    });
  }
  return value;
}

/** Validates a path's collection and id. */
export function entryRef(collection: unknown, id: unknown): EntryRef {
  return { collection: parseCollection(collection), id: parseEntryId(id) };
}

const entryData = (value: unknown, what: string) => dataText(value, what, { absent: 'error', nonEmpty: true });

/** Whatever a write refused, as the error the client sees. */
function check<T>(ref: EntryRef, outcome: EntryWriteOutcome<T>): T {
  if (outcome.kind === 'missing') throw new NotFoundError(`collection entry "${ref.collection}:${ref.id}" does not exist`);
  if (outcome.kind === 'not_owner') throw new NotAllowedError();
  return outcome.value;
}

/**
 * Adds one entry (§11.1): body `{"id"?, "data", "user_id"?}`. The id is the client's or a fresh
 * UUID; an existing id is 409/22, whoever owns it. The owner is the acting user (`asUser`, from a
 * user token), or on server calls the body's `user_id` (none when absent). A user token naming
 * another user as `user_id` is refused (403/17).
 */
export async function addEntry(s: CollectionDeps, app: App, collection: string, body: unknown, asUser: string | null): Promise<EntryRecord> {
  if (!isPlainObject(body)) throw new InputError('body must be a JSON object {"id": "...", "data": {...}}');
  const id = body.id === undefined || body.id === null ? randomUUID() : parseEntryId(body.id, 'id');
  const data = entryData(body.data, 'data');
  let owner = asUser;
  if (body.user_id !== undefined && body.user_id !== null) {
    const named = parseUserId(body.user_id, 'user_id');
    if (asUser !== null && named !== asUser) throw new NotAllowedError();
    owner = named;
  }
  const now = s.clock.next();
  const [r] = await s.ports.collections.putEntries(app.appId, [{ collection, id, data, userId: owner, createdUs: now, updatedUs: now }], 'keep');
  if (!r.created) throw new ConflictError(`collection entry "${collection}:${id}" already exists`);
  await audit(s, app, [entryChange(r.record, 'created')]);
  return r.record;
}

/** Reads one entry (§11.1); any caller may read any entry. 404/16 when it does not exist. */
export async function getEntry(s: CollectionReadDeps, app: App, ref: EntryRef): Promise<EntryRecord> {
  const e = (await s.ports.collections.getEntries(app.appId, [ref])).get(`${ref.collection}:${ref.id}`);
  if (!e) throw new NotFoundError(`collection entry "${ref.collection}:${ref.id}" does not exist`);
  return e;
}

/**
 * Replaces an entry's data (§11.1): body `{"data": {...}}`. An `id` or `user_id` key is refused
 * (neither can change). With `asUser` (a user token) only that user's entries may change (403/17).
 */
export async function updateEntry(s: CollectionDeps, app: App, ref: EntryRef, body: unknown, asUser: string | null): Promise<EntryRecord> {
  if (!isPlainObject(body)) throw new InputError('body must be a JSON object {"data": {...}}');
  if (body.id !== undefined) throw new InputError('id cannot be changed by an update', { fields: { id: ['cannot be changed'] } });
  if (body.user_id !== undefined) throw new InputError('user_id cannot be changed by an update', { fields: { user_id: ['cannot be changed'] } });
  const data = entryData(body.data, 'data');
  const updated = check(ref, await s.ports.collections.updateEntry(app.appId, ref, data, s.clock.next(), asUser ?? undefined));
  await audit(s, app, [entryChange(updated, 'updated')]);
  return updated;
}

/** Deletes one entry (§11.1); 404/16 when missing; with `asUser` only that user's entries (403/17). */
export async function deleteEntry(s: CollectionDeps, app: App, ref: EntryRef, asUser: string | null): Promise<void> {
  const [outcome] = await s.ports.collections.deleteEntries(app.appId, [ref], asUser ?? undefined);
  check(ref, outcome);
  await audit(s, app, [entryChange({ ...ref, userId: asUser }, 'deleted')]);
}

/** One item of an upsert: a flat object, `id` and `user_id` apart, every other key data (§11.2). */
export interface UpsertItem {
  readonly collection: string;
  readonly id: string;
  readonly userId: string | null;
  readonly data: Record<string, unknown>;
  readonly dataText: string;
}

/**
 * Parses the body of `POST collections/` (§11.2): `{"data": {"food": [{"id", "user_id"?, ...}]}}`.
 * Items without an id get a fresh UUID. One bad item rejects the whole call (§23.2).
 */
export function parseUpsert(body: unknown): UpsertItem[] {
  if (!isPlainObject(body) || !isPlainObject(body.data)) {
    throw new InputError('body must be {"data": {"<collection>": [{"id": "...", ...}]}}', { fields: { data: ['must be an object'] } });
  }
  const items: UpsertItem[] = [];
  for (const [name, list] of Object.entries(body.data)) {
    const collection = parseCollection(name, `data.${name.slice(0, 80)}`);
    if (!Array.isArray(list)) throw new InputError(`data.${collection} must be an array of entries`, { fields: { [`data.${collection}`]: ['must be an array'] } });
    list.forEach((item, i) => {
      if (items.length === MAX_ENTRIES_PER_BATCH) throw new InputError(`at most ${MAX_ENTRIES_PER_BATCH} entries per request`);
      const at = `data.${collection}[${i}]`;
      if (!isPlainObject(item)) throw new InputError(`${at} must be a JSON object`);
      const { id, user_id, ...data } = item;
      items.push({
        collection,
        id: id === undefined || id === null ? randomUUID() : parseEntryId(id, `${at}.id`),
        userId: user_id === undefined || user_id === null ? null : parseUserId(user_id, `${at}.user_id`),
        data,
        dataText: entryData(data, `${at} data`),
      });
    });
  }
  return items;
}

/**
 * Creates or replaces entries in one atomic step (§11.2). A replaced entry keeps its created_at,
 * and its owner unless the item names one. Returns the items grouped by collection, as stored.
 */
export async function upsertEntries(s: CollectionDeps, app: App, items: readonly UpsertItem[]): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  if (items.length === 0) return out;
  const now = s.clock.next();
  const results = await s.ports.collections.putEntries(
    app.appId,
    items.map((it) => ({ collection: it.collection, id: it.id, data: it.dataText, userId: it.userId, createdUs: now, updatedUs: now })),
    'replace',
  );
  await audit(s, app, results.map((r) => entryChange(r.record, r.created ? 'created' : 'updated')));
  for (const it of items) {
    (out[it.collection] ??= []).push({ id: it.id, ...it.data, ...(it.userId === null ? {} : { user_id: it.userId }) });
  }
  return out;
}

/** Parses `foreign_ids=food:burger,food:fries` of the batch select (§11.2). */
export function parseForeignIds(list: readonly string[] | undefined): EntryRef[] {
  if (list === undefined) throw new InputError('foreign_ids is required (comma-separated collection:id)', { fields: { foreign_ids: ['required'] } });
  if (list.length > MAX_ENTRIES_PER_BATCH) throw new InputError(`at most ${MAX_ENTRIES_PER_BATCH} foreign_ids per request`);
  return list.map((fid, i) => {
    const at = fid.indexOf(':');
    if (at <= 0) throw new InputError(`foreign_ids[${i}]: "${fid.slice(0, 80)}" is not collection:id`, { fields: { foreign_ids: ['invalid'] } });
    return { collection: parseCollection(fid.slice(0, at), `foreign_ids[${i}]`), id: parseEntryId(fid.slice(at + 1), `foreign_ids[${i}]`) };
  });
}

/** The entries asked for, in the order asked, each once; unknown ones are skipped (§11.2). */
export async function selectEntries(s: CollectionReadDeps, app: App, refs: readonly EntryRef[]): Promise<EntryRecord[]> {
  if (refs.length === 0) return [];
  const found = await s.ports.collections.getEntries(app.appId, refs);
  const out: EntryRecord[] = [];
  for (const key of new Set(refs.map((r) => `${r.collection}:${r.id}`))) {
    const e = found.get(key);
    if (e) out.push(e);
  }
  return out;
}

/** Parses `collection_name` and `ids` of the batch delete (§11.2). */
export function parseDeleteMany(collection: string | undefined, ids: readonly string[] | undefined): EntryRef[] {
  if (collection === undefined) throw new InputError('collection_name is required', { fields: { collection_name: ['required'] } });
  const name = parseCollection(collection, 'collection_name');
  if (ids === undefined) throw new InputError('ids is required (comma-separated entry ids)', { fields: { ids: ['required'] } });
  if (ids.length > MAX_ENTRIES_PER_BATCH) throw new InputError(`at most ${MAX_ENTRIES_PER_BATCH} ids per request`);
  return ids.map((id, i) => ({ collection: name, id: parseEntryId(id, `ids[${i}]`) }));
}

/** Deletes entries in one atomic step; missing ones are no error (§11.2). */
export async function deleteEntries(s: CollectionDeps, app: App, refs: readonly EntryRef[]): Promise<void> {
  if (refs.length === 0) return;
  const outcomes = await s.ports.collections.deleteEntries(app.appId, refs);
  await audit(s, app, refs.filter((_, i) => outcomes[i]?.kind === 'done').map((r) => entryChange({ ...r, userId: null }, 'deleted')));
}

/** A change of a collection entry, made as its owner; the entity id is `collection:id`. */
function entryChange(e: EntryRef & { userId: string | null }, action: string) {
  return change('collection', `${e.collection}:${e.id}`, action, e.userId ?? '', { collection: e.collection, id: e.id });
}

/**
 * The wire form of an entry (§5.4) as JSON text, splicing the stored data: exactly
 * `id, collection, foreign_id, data, created_at, updated_at` — the owner is never shown. Enriched
 * `SO:` references use the same form.
 */
export function entryJson(e: EntryRecord): string {
  return (
    `{"id":${JSON.stringify(e.id)},"collection":${JSON.stringify(e.collection)},` +
    `"foreign_id":${JSON.stringify(`${e.collection}:${e.id}`)},"data":${e.data},` +
    `"created_at":"${formatTimestamp(e.createdUs)}","updated_at":"${formatTimestamp(e.updatedUs)}"}`
  );
}
