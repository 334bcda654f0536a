// Realtime channel names (issue "Security and robustness", item 4): `/site-<app>-feed-<slug><id>`
// joins slug and user id without a separator; a channel is resolved against the app's groups, so a
// user can subscribe to their own `timeline_aggregated` feed, and the feed the other reading would
// name (`timeline:_aggregatedalice`) publishes nothing on that channel.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type StreamClient } from 'getstream';
import { startServer, TEST_GROUPS, type TestServer } from '../support/server.js';

describe('security: realtime channels', () => {
  let t: TestServer;
  let fayeUrl: string;
  const clients: StreamClient[] = [];
  before(async () => {
    t = await startServer({ groups: [...TEST_GROUPS, { name: 'timeline_aggregated', type: 'aggregated' }] });
    fayeUrl = t.baseUrl.replace(/\/api\/$/, '/faye');
  });
  after(async () => {
    for (const c of clients) c.fayeClient?.disconnect();
    await t.close();
  });

  function client(secretOrToken: string): StreamClient {
    const c = connect(t.apiKey, secretOrToken, t.appId, { urlOverride: { api: t.baseUrl }, fayeUrl });
    clients.push(c);
    return c;
  }

  it('a user subscribes to their own timeline_aggregated feed and receives its activities only', async () => {
    const alice = client(t.client().createUserToken('alice'));
    const received: any[] = [];
    await alice.feed('timeline_aggregated', 'alice').subscribe((m) => received.push(m));
    const server = t.client();
    // Someone's `timeline` feed whose id makes the same channel name: nothing of it reaches alice.
    await server.feed('timeline', '_aggregatedalice').addActivity({ actor: 'SU:eve', verb: 'secret', object: 'o:private' });
    await server.feed('timeline_aggregated', 'alice').addActivity({ actor: 'SU:bob', verb: 'post', object: 'o:for-alice' });
    const deadline = Date.now() + 5000;
    while (!received.some((m) => m.feed === 'timeline_aggregated:alice') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(received.map((m) => m.feed), ['timeline_aggregated:alice']);
    assert.equal(received[0].new[0].object, 'o:for-alice');
  });

  it('the user whose id makes the other reading cannot subscribe to that channel', async () => {
    const eve = client(t.client().createUserToken('_aggregatedalice'));
    await assert.rejects(Promise.resolve(eve.feed('timeline', '_aggregatedalice').subscribe(() => {})), (err: any) => {
      assert.match(String(err?.message ?? err), /token does not allow reading this feed/);
      return true;
    });
  });
});
