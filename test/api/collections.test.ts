// Black-box tests of collections (stream-v2-api.md §11, §5.4, §2.3, §20.3) through the official
// getstream client; raw HTTP only for what the client cannot send or refuses to send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient } from 'getstream';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError, DURATION_RE, expectApiError, withoutDuration } from './activity-helpers.js';

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENTRY_KEYS = ['collection', 'created_at', 'data', 'foreign_id', 'id', 'updated_at'];

let t: TestServer;

before(async () => {
  t = await startServer();
});
after(async () => t.close());

/** Asserts a collection entry (§5.4): exactly its six keys, `Z` times, matching id/collection/data. */
function assertEntry(e: any, collection: string, id: string | null, data: unknown): void {
  assert.deepEqual(Object.keys(e).sort(), ENTRY_KEYS, JSON.stringify(e));
  assert.equal(e.collection, collection);
  if (id !== null) assert.equal(e.id, id);
  assert.equal(e.foreign_id, `${collection}:${e.id}`);
  assert.deepEqual(e.data, data);
  assert.match(e.created_at, TIMESTAMP_RE);
  assert.match(e.updated_at, TIMESTAMP_RE);
}

/** The full response of a client call that returns a CollectionEntry. */
function full(entry: { full?: unknown }): any {
  return entry.full;
}

const burger = { name: 'cheese burger', toppings: ['cheese'] };
const improved = { name: 'The improved cheese burger', toppings: ['cheese', 'pickles', 'bacon'] };

describe('collection CRUD story (user tokens)', () => {
  let alice: StreamClient;
  let bob: StreamClient;
  let added: any;

  before(() => {
    alice = t.userClient(uid('alice'));
    bob = t.userClient(uid('bob'));
  });

  it('adds an entry with a generated UUID and answers the six keys + duration', async () => {
    const res = await rawRequest(t, 'POST', 'collections/food/', { token: alice.getOrCreateToken(), body: { data: burger } });
    assert.equal(res.status, 201, res.text);
    assert.match(res.body.duration, DURATION_RE);
    added = withoutDuration(res.body);
    assertEntry(added, 'food', null, burger);
    assert.match(added.id, UUID_RE);
    assert.equal(added.created_at, added.updated_at);
  });

  it('lets the owner and anyone else read it, identically', async () => {
    assert.deepEqual(withoutDuration(full(await alice.collections.get('food', added.id))), added);
    assert.deepEqual(withoutDuration(full(await bob.collections.get('food', added.id))), added);
    assert.deepEqual(withoutDuration(full(await t.client().collections.get('food', added.id))), added);
  });

  it('refuses adding the same id again with 409/22, for the owner too', async () => {
    await expectApiError(bob.collections.add('food', added.id, improved), 409, 22, 'ConflictException');
    await expectApiError(alice.collections.add('food', added.id, improved), 409, 22);
    assert.deepEqual(withoutDuration(full(await bob.collections.get('food', added.id))), added);
  });

  it('refuses updates and deletes by another user with 403/17', async () => {
    await expectApiError(bob.collections.update('food', added.id, improved), 403, 17, 'NotAllowedException');
    await expectApiError(bob.collections.delete('food', added.id), 403, 17);
    assert.deepEqual(withoutDuration(full(await bob.collections.get('food', added.id))), added);
  });

  it('lets the owner update: new data and updated_at, same created_at, and reads agree', async () => {
    const updated = full(await alice.collections.update('food', added.id, improved));
    assertEntry(withoutDuration(updated), 'food', added.id, improved);
    assert.equal(updated.created_at, added.created_at);
    assert.notEqual(updated.updated_at, added.updated_at);
    assert.deepEqual(withoutDuration(full(await alice.collections.get('food', added.id))), withoutDuration(updated));
  });

  it('refuses an update that carries an id (400/4)', async () => {
    const res = await rawRequest(t, 'PUT', `collections/food/${added.id}/`, {
      token: alice.getOrCreateToken(),
      body: { id: 1234, data: improved },
    });
    assertRawError(res, 400, 4);
  });

  it('lets the owner delete with {duration} only; then reads are 404 and the id is free', async () => {
    const res = await alice.collections.delete('food', added.id);
    assert.deepEqual(Object.keys(res), ['duration']);
    await expectApiError(alice.collections.get('food', added.id), 404, 16, 'DoesNotExistException');
    await expectApiError(alice.collections.update('food', added.id, improved), 404, 16);
    await expectApiError(alice.collections.delete('food', added.id), 404, 16);

    const again = full(await bob.collections.add('food', added.id, { wopper: true }));
    assertEntry(withoutDuration(again), 'food', added.id, { wopper: true });
    assert.ok(again.created_at > added.created_at, 'fresh timestamps');
    // The new entry belongs to bob now.
    await expectApiError(alice.collections.update('food', added.id, improved), 403, 17);
    await bob.collections.update('food', added.id, improved);
  });

  it('adds with a client-supplied id and answers the same on get', async () => {
    const id = uid('cheeseburger');
    const entry = await alice.collections.add('food', id, burger);
    assertEntry(withoutDuration(full(entry)), 'food', id, burger);
    assert.equal(entry.id, id);
    assert.deepEqual(full(await alice.collections.get('food', id)).data, burger);
  });

  it('supports the CollectionEntry helper round trip', async () => {
    const entry = alice.collections.entry('food', uid('helper'), { n: 1 });
    await entry.add();
    entry.data = { n: 2 };
    await entry.update();
    assert.deepEqual((await entry.get()).data, { n: 2 });
    assert.equal(entry.ref(), `SO:food:${entry.id}`);
    await entry.delete();
    await expectApiError(alice.collections.get('food', entry.id), 404, 16);
  });
});

describe('collection input validation', () => {
  it('refuses string data, empty data and missing data with 400/4', async () => {
    const c = t.userClient(uid('v'));
    await expectApiError(c.collections.add('food', null, 'some string' as any), 400, 4, 'InputException');
    await expectApiError(c.collections.add('food', null, {}), 400, 4);
    await expectApiError(c.collections.add('food', null, [1] as any), 400, 4);
    assertRawError(await rawRequest(t, 'POST', 'collections/food/', { body: { id: uid('x') } }), 400, 4);
    assertRawError(await rawRequest(t, 'POST', 'collections/food/', { body: { id: uid('x'), data: null } }), 400, 4);

    const id = uid('keep');
    await c.collections.add('food', id, { v: 1 });
    await expectApiError(c.collections.update('food', id, {}), 400, 4);
    await expectApiError(c.collections.update('food', id, 'str' as any), 400, 4);
    assert.deepEqual(full(await c.collections.get('food', id)).data, { v: 1 });
  });

  it('refuses illegal ids and collection names', async () => {
    const c = t.client();
    await expectApiError(c.collections.add('food', '!abcdee!', {}), 400, 4);
    await expectApiError(c.collections.add('food', '!abcdee!', { a: 1 }), 400, 4);
    for (const id of ['a b', 'a:b', 'x'.repeat(256), '', 42]) {
      assertRawError(await rawRequest(t, 'POST', 'collections/food/', { body: { id, data: { a: 1 } } }), 400, 4);
    }
    assertRawError(await rawRequest(t, 'POST', 'collections/fo-od/', { body: { data: { a: 1 } } }), 400, 4);
    assertRawError(await rawRequest(t, 'POST', `collections/${'c'.repeat(65)}/`, { body: { data: { a: 1 } } }), 400, 4);
    assertRawError(await rawRequest(t, 'GET', `collections/food/${encodeURIComponent('!x!')}/`), 400, 4);
    assertRawError(await rawRequest(t, 'PUT', 'collections/fo.od/x/', { body: { data: { a: 1 } } }), 400, 4);
    assertRawError(await rawRequest(t, 'DELETE', 'collections/food/a.b/'), 400, 4);
    const ok = await c.collections.add('c'.repeat(64), 'x'.repeat(255), { a: 1 });
    assert.equal(ok.id, 'x'.repeat(255));
  });

  it('refuses bodies that are not objects, oversized data and owner changes, never with a 5xx', async () => {
    for (const body of ['[]', '"x"', '42', '{"data":']) {
      assertRawError(await rawRequest(t, 'POST', 'collections/food/', { body }), 400, 4);
    }
    await expectApiError(t.client().collections.add('food', null, { text: 'x'.repeat(10_300) }), 400, 4);
    const id = uid('own');
    await t.client().collections.add('food', id, { a: 1 });
    assertRawError(await rawRequest(t, 'PUT', `collections/food/${id}/`, { body: '[1]' }), 400, 4);
    assertRawError(await rawRequest(t, 'PUT', `collections/food/${id}/`, { body: { data: { a: 2 }, user_id: 'bob' } }), 400, 4);
  });

  it('keeps entries of different collections with the same id apart', async () => {
    const id = uid('same');
    const c = t.client();
    await c.collections.add('food', id, { kind: 'food' });
    await c.collections.add('drinks', id, { kind: 'drink' });
    assert.deepEqual(full(await c.collections.get('food', id)).data, { kind: 'food' });
    assert.deepEqual(full(await c.collections.get('drinks', id)).data, { kind: 'drink' });
    await c.collections.delete('drinks', id);
    assert.deepEqual(full(await c.collections.get('food', id)).data, { kind: 'food' });
  });
});

describe('collection ownership', () => {
  it('server tokens may name an owner with user_id; that user may then edit it', async () => {
    const owner = uid('owner');
    const id = uid('owned');
    const res = await rawRequest(t, 'POST', 'collections/food/', { body: { id, data: { a: 1 }, user_id: owner } });
    assert.equal(res.status, 201, res.text);
    assertEntry(withoutDuration(res.body), 'food', id, { a: 1 });
    await t.userClient(owner).collections.update('food', id, { a: 2 });
    await expectApiError(t.userClient(uid('other')).collections.delete('food', id), 403, 17);
    await t.userClient(owner).collections.delete('food', id);
  });

  it('entries created by a server token without user_id are editable only by server tokens', async () => {
    const id = uid('srv');
    await t.client().collections.add('food', id, { a: 1 });
    await expectApiError(t.userClient(uid('u')).collections.update('food', id, { a: 2 }), 403, 17);
    await expectApiError(t.userClient(uid('u')).collections.delete('food', id), 403, 17);
    await t.client().collections.update('food', id, { a: 3 });
    await t.client().collections.delete('food', id);
  });

  it('server tokens may edit and delete anybody’s entries', async () => {
    const c = t.userClient(uid('u'));
    const e = await c.collections.add('food', null, { a: 1 });
    assert.deepEqual(full(await t.client().collections.update('food', e.id, { a: 2 })).data, { a: 2 });
    await t.client().collections.delete('food', e.id);
  });

  it('a user token may name itself as user_id but nobody else', async () => {
    const me = uid('me');
    const token = t.userClient(me).getOrCreateToken();
    const mine = await rawRequest(t, 'POST', 'collections/food/', { token, body: { data: { a: 1 }, user_id: me } });
    assert.equal(mine.status, 201, mine.text);
    const other = await rawRequest(t, 'POST', 'collections/food/', { token, body: { id: uid('x'), data: { a: 1 }, user_id: 'someone' } });
    assertRawError(other, 403, 17);
  });

  it('server tokens need the collections resource', async () => {
    const feedToken = (t.client() as any).getReadWriteToken('user', 'x');
    assertRawError(await rawRequest(t, 'GET', 'collections/food/x/', { token: feedToken }), 403, 17);
    assertRawError(await rawRequest(t, 'GET', 'collections/', { token: feedToken, query: { foreign_ids: 'food:x' } }), 403, 17);
  });
});

describe('batch collections (server only)', () => {
  it('upserts flat items into several collections and answers them grouped', async () => {
    const [a, b, d] = [uid('a'), uid('b'), uid('d')];
    const res: any = await t.client().collections.upsertMany({
      food: [
        { id: a, name: 'A', user_id: 'alice' },
        { id: b, name: 'B', tags: ['x'] },
      ],
      drinks: [{ id: d, name: 'D' }],
    });
    assert.deepEqual(Object.keys(res).sort(), ['data', 'duration']);
    assert.deepEqual(res.data, {
      food: [
        { id: a, name: 'A', user_id: 'alice' },
        { id: b, name: 'B', tags: ['x'] },
      ],
      drinks: [{ id: d, name: 'D' }],
    });
    const got = full(await t.client().collections.get('food', a));
    assertEntry(withoutDuration(got), 'food', a, { name: 'A' });
    assert.deepEqual(full(await t.client().collections.get('drinks', d)).data, { name: 'D' });
    // user_id made alice the owner.
    await t.userClient('alice').collections.update('food', a, { name: 'A2' });
  });

  it('replaces existing entries, keeping created_at and (unless named) the owner', async () => {
    const owner = uid('owner');
    const c = t.userClient(owner);
    const e = full(await c.collections.add('food', null, { v: 1 }));
    await t.client().collections.upsert('food', { id: e.id, v: 2 });
    const got = full(await c.collections.get('food', e.id));
    assert.deepEqual(got.data, { v: 2 });
    assert.equal(got.created_at, e.created_at);
    assert.notEqual(got.updated_at, e.updated_at);
    await c.collections.update('food', e.id, { v: 3 });
  });

  it('gives items without an id a fresh UUID', async () => {
    const res: any = await t.client().collections.upsert('food', [{ name: 'anon' } as any]);
    const id = res.data.food[0].id;
    assert.match(id, UUID_RE);
    assert.deepEqual(full(await t.client().collections.get('food', id)).data, { name: 'anon' });
  });

  it('selects entries by foreign ids in the order asked, full shape, unknown skipped', async () => {
    const [a, b] = [uid('sa'), uid('sb')];
    await t.client().collections.upsert('food', [
      { id: a, n: 1 },
      { id: b, n: 2 },
    ]);
    const res: any = await t.client().collections.select('food', [b, uid('none'), a]);
    assert.deepEqual(Object.keys(res).sort(), ['duration', 'response']);
    assert.deepEqual(Object.keys(res.response), ['data']);
    assert.deepEqual(res.response.data.map((e: any) => e.id), [b, a]);
    assertEntry(res.response.data[0], 'food', b, { n: 2 });
    // Across collections, in one call.
    const d = uid('sd');
    await t.client().collections.upsert('drinks', { id: d, n: 3 });
    const mixed = await rawRequest(t, 'GET', 'collections/', { query: { foreign_ids: `drinks:${d},food:${a}` } });
    assert.deepEqual(mixed.body.response.data.map((e: any) => e.foreign_id), [`drinks:${d}`, `food:${a}`]);
  });

  it('deletes many entries with {duration} only; missing ids are no error', async () => {
    const [a, b, keep] = [uid('xa'), uid('xb'), uid('xk')];
    await t.client().collections.upsert('food', [
      { id: a, n: 1 },
      { id: b, n: 2 },
      { id: keep, n: 3 },
    ]);
    const res = await t.client().collections.deleteMany('food', [a, b, uid('none')]);
    assert.deepEqual(Object.keys(res), ['duration']);
    const left: any = await t.client().collections.select('food', [a, b, keep]);
    assert.deepEqual(left.response.data.map((e: any) => e.id), [keep]);
  });

  it('works with the collections-scoped token the client uses', async () => {
    const token = (t.client() as any).getCollectionsToken();
    const id = uid('scoped');
    const up = await rawRequest(t, 'POST', 'collections/', { token, body: { data: { food: [{ id, n: 1 }] } } });
    assert.equal(up.status, 201, up.text);
    const sel = await rawRequest(t, 'GET', 'collections/', { token, query: { foreign_ids: `food:${id}` } });
    assert.equal(sel.body.response.data.length, 1);
  });

  it('refuses user tokens with 403/17', async () => {
    const token = t.userClient(uid('u')).getOrCreateToken();
    assertRawError(await rawRequest(t, 'POST', 'collections/', { token, body: { data: { food: [{ id: 'x', n: 1 }] } } }), 403, 17);
    assertRawError(await rawRequest(t, 'GET', 'collections/', { token, query: { foreign_ids: 'food:x' } }), 403, 17);
    assertRawError(await rawRequest(t, 'DELETE', 'collections/', { token, query: { collection_name: 'food', ids: 'x' } }), 403, 17);
  });

  it('rejects an upsert with one bad item whole, naming it', async () => {
    const good = uid('good');
    const res = await rawRequest(t, 'POST', 'collections/', { body: { data: { food: [{ id: good, n: 1 }, { id: 'bad id', n: 2 }] } } });
    assertRawError(res, 400, 4);
    assert.match(res.body.detail, /data\.food\[1\]\.id/);
    const empty = await rawRequest(t, 'POST', 'collections/', { body: { data: { food: [{ id: good, n: 1 }, { id: uid('e') }] } } });
    assertRawError(empty, 400, 4);
    await expectApiError(t.client().collections.get('food', good), 404, 16);
  });

  it('refuses malformed batch requests with 400/4', async () => {
    for (const body of [{}, { data: [] }, { data: 'x' }, { data: { food: 'x' } }, { data: { 'bad-name': [] } }, { data: { food: [42] } }, []]) {
      assertRawError(await rawRequest(t, 'POST', 'collections/', { body }), 400, 4);
    }
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `m${i}`, n: i }));
    assertRawError(await rawRequest(t, 'POST', 'collections/', { body: { data: { food: tooMany } } }), 400, 4);
    for (const foreign_ids of ['food', ':x', 'food:', 'fo-od:x', 'food:a b']) {
      assertRawError(await rawRequest(t, 'GET', 'collections/', { query: { foreign_ids } }), 400, 4);
    }
    assertRawError(await rawRequest(t, 'GET', 'collections/'), 400, 4);
    assertRawError(await rawRequest(t, 'DELETE', 'collections/', { query: { ids: 'a' } }), 400, 4);
    assertRawError(await rawRequest(t, 'DELETE', 'collections/', { query: { collection_name: 'food' } }), 400, 4);
    assertRawError(await rawRequest(t, 'DELETE', 'collections/', { query: { collection_name: 'fo od', ids: 'a' } }), 400, 4);
    assertRawError(await rawRequest(t, 'DELETE', 'collections/', { query: { collection_name: 'food', ids: 'a,!b' } }), 400, 4);
  });

  it('accepts an empty upsert and an empty select', async () => {
    const up: any = await t.client().collections.upsertMany({});
    assert.deepEqual(up.data, {});
    const sel = await rawRequest(t, 'GET', 'collections/', { query: { foreign_ids: '' } });
    assert.equal(sel.status, 200, sel.text);
    assert.deepEqual(sel.body.response.data, []);
  });
});
