import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, uid, type TestServer } from '../support/server.js';

describe('smoke', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  it('adds an activity and reads it back through the official client', async () => {
    const client = t.client();
    const feed = client.feed('user', uid());
    const added = await feed.addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:1', foreign_id: 'f1', extra: { a: 1 } });
    assert.equal(added.verb, 'post');
    const res = await feed.get({ limit: 10 });
    assert.equal(res.results.length, 1);
    assert.equal(res.results[0].id, added.id);
    assert.deepEqual((res.results[0] as any).extra, { a: 1 });
    assert.equal(res.next, '');
    assert.equal(typeof res.duration, 'string');
  });
});
