// Bad input found by probing (issue "Security and robustness", items 11, 12 and 14): deeply
// nested JSON, numbers out of range, invalid UTF-8 and lenient values are a 400 naming the field,
// never a 500, and nothing is written; a PUT of a user without data does not wipe the profile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient } from 'getstream';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError, readAll } from './activity-helpers.js';

/** `{"<key>": [[[…]]]}` nested `depth` deep, as JSON text. */
function deep(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

const bad = (res: { status: number; body: any; text: string }, field?: RegExp) => {
  assertRawError(res, 400, 4, 'InputException', field);
};

describe('security: bad input', () => {
  let t: TestServer;
  let server: StreamClient;
  let activityId: string;
  before(async () => {
    t = await startServer();
    server = t.client();
    activityId = ((await server.feed('user', 'owner').addActivity({ actor: 'SU:owner', verb: 'post', object: 'o:1' })) as any).id;
  });
  after(async () => t.close());

  describe('JSON nested 10,000 deep is 400 naming the field, and nothing is written', () => {
    const D = deep(10_000);

    it('in user data (create, batch create, update)', async () => {
      const id = uid('deep');
      bad(await rawRequest(t, 'POST', 'user/', { body: `{"id":"${id}","data":{"a":${D}}}` }), /^data\.a/);
      bad(await rawRequest(t, 'POST', 'users/', { body: `{"users":[{"id":"${id}","data":{"a":${D}}}]}` }), /^users\[0\]\.data\.a/);
      assert.equal((await rawRequest(t, 'GET', `user/${id}/`)).status, 404);
      await server.user(id).create({ name: 'kept' });
      bad(await rawRequest(t, 'PUT', `user/${id}/`, { body: `{"data":{"a":${D}}}` }), /^data\.a/);
      assert.deepEqual((await rawRequest(t, 'GET', `user/${id}/`)).body.data, { name: 'kept' });
    });

    it('in collection entries (add, update, batch upsert)', async () => {
      const id = uid('deep');
      bad(await rawRequest(t, 'POST', 'collections/food/', { body: `{"id":"${id}","data":{"a":${D}}}` }), /data\.a/);
      assert.equal((await rawRequest(t, 'GET', `collections/food/${id}/`)).status, 404);
      bad(await rawRequest(t, 'POST', 'collections/', { body: `{"data":{"food":[{"id":"${id}","a":${D}}]}}` }), /data\.food\[0\]\.a/);
      assert.equal((await rawRequest(t, 'GET', `collections/food/${id}/`)).status, 404);
      await server.collections.add('food', id, { name: 'kept' });
      bad(await rawRequest(t, 'PUT', `collections/food/${id}/`, { body: `{"data":{"a":${D}}}` }), /data\.a/);
      assert.deepEqual((await rawRequest(t, 'GET', `collections/food/${id}/`)).body.data, { name: 'kept' });
    });

    it('in reactions, and a reaction refused for its target_feeds_extra_data can be sent again with its id', async () => {
      const rid = uid('r');
      bad(await rawRequest(t, 'POST', 'reaction/', { body: `{"kind":"like","activity_id":"${activityId}","user_id":"u1","data":{"a":${D}}}` }), /data\.a/);
      const withExtra = `{"id":"${rid}","kind":"like","activity_id":"${activityId}","user_id":"u1","target_feeds":["user:u1"],"target_feeds_extra_data":{"a":${D}}}`;
      bad(await rawRequest(t, 'POST', 'reaction/', { body: withExtra }), /target_feeds_extra_data\.a/);
      // The extra data is checked even without target feeds (it is echoed in the answer).
      bad(await rawRequest(t, 'POST', 'reaction/', { body: `{"id":"${rid}","kind":"like","activity_id":"${activityId}","user_id":"u1","target_feeds_extra_data":{"a":${D}}}` }));
      assert.equal((await rawRequest(t, 'GET', `reaction/${rid}/`)).status, 404);
      assert.deepEqual(await readAll(t, 'user', 'u1'), []);
      // Nothing was committed, so the same id is free: 201, not 409.
      const ok = await rawRequest(t, 'POST', 'reaction/', {
        body: { id: rid, kind: 'like', activity_id: activityId, user_id: 'u1', target_feeds: ['user:u1'], target_feeds_extra_data: { a: 1 } },
      });
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.body.id, rid);
    });

    it('in activities, even where a shallower value would be allowed', async () => {
      const u = uid('deep');
      bad(await rawRequest(t, 'POST', `feed/user/${u}/`, { body: `{"actor":"SU:${u}","verb":"post","object":"o","x":${D}}` }), /^x/);
      bad(await rawRequest(t, 'POST', `feed/user/${u}/`, { body: `{"activities":[{"actor":"SU:${u}","verb":"post","object":"o","x":${D}}]}` }));
      bad(await rawRequest(t, 'POST', 'activity/', { body: `{"id":"${activityId}","set":{"x":${D}}}` }));
      assert.deepEqual(await readAll(t, 'user', u), []);
    });
  });

  describe('lenient values are refused with a 400 naming the field', () => {
    it('numbers too large for a double (1e400) are not stored as null', async () => {
      const u = uid('num');
      for (const [body, field] of [
        [`{"actor":"SU:${u}","verb":"post","object":"o","score":1e400}`, /^score/],
        [`{"actor":"SU:${u}","verb":"post","object":"o","meta":{"n":[1,-1e400]}}`, /^meta\.n\[1\]/],
        [`{"activities":[{"actor":"SU:${u}","verb":"post","object":"o","popularity":1E999}]}`, /^activities\[0\]\.popularity/],
      ] as const) {
        const res = await rawRequest(t, 'POST', `feed/user/${u}/`, { body });
        bad(res, field);
        assert.ok(res.body.exception_fields, 'names the field in exception_fields');
      }
      bad(await rawRequest(t, 'POST', 'user/', { body: `{"id":"${u}","data":{"age":1e400}}` }), /^data\.age/);
      assert.deepEqual(await readAll(t, 'user', u), []);
      assert.equal((await rawRequest(t, 'GET', `user/${u}/`)).status, 404);
    });

    it('activity_copy_limit "" is refused (in the body and in follow_many\'s query)', async () => {
      const u = uid('copy');
      const res = await rawRequest(t, 'POST', `feed/timeline/${u}/following/`, { body: { target: 'user:owner', activity_copy_limit: '' } });
      bad(res, /activity_copy_limit/);
      assert.deepEqual(res.body.exception_fields, { activity_copy_limit: ['must be an integer from 0 to 1000'] });
      bad(
        await rawRequest(t, 'POST', 'follow_many/', { query: { activity_copy_limit: '' }, body: [{ source: `timeline:${u}`, target: 'user:owner' }] }),
        /activity_copy_limit/,
      );
      assert.deepEqual((await server.feed('timeline', u).following()).results, []);
      // A number, or a string of digits, is still fine.
      assert.equal((await rawRequest(t, 'POST', `feed/timeline/${u}/following/`, { body: { target: 'user:owner', activity_copy_limit: '5' } })).status, 201);
    });

    it('invalid UTF-8 in a body is refused, naming the field, and nothing is written', async () => {
      const u = uid('utf');
      const url = `${t.baseUrl}v1.0/feed/user/${u}/?api_key=${t.apiKey}`;
      const body = Buffer.concat([Buffer.from(`{"actor":"SU:${u}","verb":"post","object":"o:`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: server.getOrCreateToken() }, body });
      const json = await res.json();
      assertRawError({ status: res.status, body: json }, 400, 4, 'InputException', /^object is not valid UTF-8/);
      assert.deepEqual(json.exception_fields, { object: ['not valid UTF-8'] });
      // A lone continuation byte inside a key, too.
      const inKey = Buffer.concat([Buffer.from(`{"actor":"SU:${u}","verb":"post","object":"o","k`), Buffer.from([0x80]), Buffer.from('":1}')]);
      const res2 = await fetch(url, { method: 'POST', headers: { authorization: server.getOrCreateToken() }, body: inKey });
      assert.equal(res2.status, 400);
      assert.deepEqual(await readAll(t, 'user', u), []);
      // The replacement character itself, sent as valid UTF-8, is data like any other.
      const fine = await rawRequest(t, 'POST', `feed/user/${u}/`, { body: { actor: `SU:${u}`, verb: 'post', object: 'o:\uFFFD' } });
      assert.equal(fine.status, 201, fine.text);
      assert.equal(fine.body.object, 'o:\uFFFD');
    });

    it('invalid UTF-8 in the query string is refused, naming the parameter', async () => {
      const token = server.getOrCreateToken();
      const res = await fetch(`${t.baseUrl}v1.0/feed/user/owner/?api_key=${t.apiKey}&session=%FF%FE`, { headers: { authorization: token } });
      assertRawError({ status: res.status, body: await res.json() }, 400, 4, 'InputException', /^session is not valid UTF-8/);
      // A literal % and well-formed escapes are fine.
      const ok = await fetch(`${t.baseUrl}v1.0/feed/user/owner/?api_key=${t.apiKey}&session=50%25%20off%`, { headers: { authorization: token } });
      assert.equal(ok.status, 200);
    });
  });

  describe('malformed multipart uploads (found by the fuzzer)', () => {
    it('a truncated multipart body is 400, not 500', async () => {
      for (const path of ['files/', 'images/']) {
        for (const body of ['{}', '--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc']) {
          const res = await fetch(`${t.baseUrl}v1.0/${path}?api_key=${t.apiKey}`, {
            method: 'POST',
            headers: { 'content-type': 'multipart/form-data; boundary=x', authorization: server.getOrCreateToken() },
            body,
          });
          assertRawError({ status: res.status, body: await res.json() }, 400, 4, 'InputException', /multipart/);
        }
      }
    });
  });

  describe('PUT user/:id/ without data', () => {
    it('is 400 naming data and keeps the profile; {"data": {}} empties it on purpose', async () => {
      const id = uid('profile');
      await server.user(id).create({ name: 'Alice', bio: 'hi' });
      for (const body of [{}, { data: null }, { id }]) {
        const res = await rawRequest(t, 'PUT', `user/${id}/`, { body });
        bad(res, /^data is required/);
        assert.deepEqual(res.body.exception_fields, { data: ['required'] });
      }
      assert.deepEqual((await rawRequest(t, 'GET', `user/${id}/`)).body.data, { name: 'Alice', bio: 'hi' });
      const emptied = await rawRequest(t, 'PUT', `user/${id}/`, { body: { data: {} } });
      assert.equal(emptied.status, 200);
      assert.deepEqual(emptied.body.data, {});
    });
  });
});
