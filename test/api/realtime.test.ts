// Black-box tests of realtime updates (stream-v2-api.md §19): subscriptions through the official
// getstream client's own `feed.subscribe`, pointed at Rivulet with the `fayeUrl` option; raw Faye
// clients for what the getstream client cannot do (publish, a burst of 1,000 subscribers).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import pino from 'pino';
import { connect, type StreamClient, type StreamFeed } from 'getstream';
import { parseConfig } from '../../src/config/config.js';
import { createRivulet, type Rivulet } from '../../src/main.js';
import { faye, type FayeClient } from '../../src/realtime/faye.js';
import { TEST_GROUPS, uid } from '../support/server.js';

/** Published times: RFC 3339 UTC with six fractional digits (§19.3). */
const PUBLISHED_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
/** Activity times: no zone, six fractional digits (§4.3). */
const ACTIVITY_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

interface AppKeys {
  readonly appId: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

function newApp(): AppKeys {
  return {
    appId: String(100000 + Math.floor(Math.random() * 800000)),
    apiKey: 'k' + randomUUID().replace(/-/g, '').slice(0, 15),
    apiSecret: randomBytes(24).toString('base64url'),
  };
}

/**
 * Two apps on one server: `a` is used throughout, `b` only to show that its tokens open nothing
 * of `a`. Fan-outs to more than one follower go through the queue and the worker, and the realtime
 * timeout is 10 s so that vanished clients are dropped within a test (1 s, then 3 s, proved too
 * short for 1,000 live clients in the test process on a loaded machine: their heartbeats came late
 * and the server dropped them as vanished, answering "Unknown client").
 */
let rivulet: Rivulet;
let dataDir: string;
let address: string;
let fayeUrl: string;
const a = newApp();
const b = newApp();
/** Every client a test connects, so their Faye connections are closed after it. */
const opened: { disconnect(): void }[] = [];

function streamClient(app: AppKeys, secretOrToken: string, appId = app.appId): StreamClient {
  const c = connect(app.apiKey, secretOrToken, appId, { urlOverride: { api: `${address}/api/` }, fayeUrl });
  opened.push({ disconnect: () => c.fayeClient?.disconnect() });
  return c;
}

const server = () => streamClient(a, a.apiSecret);
const user = (id: string) => streamClient(a, server().createUserToken(id));

function rawFaye(): FayeClient {
  const c = new faye.Client(fayeUrl, { timeout: 10 });
  opened.push(c);
  return c;
}

/** Collects the messages of one subscription and waits for the ones a test expects. */
class Inbox {
  readonly messages: any[] = [];
  #waiters: (() => void)[] = [];

  readonly receive = (data: unknown): void => {
    this.messages.push(data);
    for (const w of this.#waiters.splice(0)) w();
  };

  /** Resolves with the first message (in arrival order, from `from` on) that `match` accepts. */
  async next(match: (m: any) => boolean = () => true, from = 0, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

async function subscribe(feed: StreamFeed): Promise<Inbox> {
  const inbox = new Inbox();
  await feed.subscribe(inbox.receive);
  return inbox;
}

function channel(slug: string, id: string, appId = a.appId): string {
  return `/site-${appId}-feed-${slug}${id}`;
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Awaits a subscription that must be refused; returns the Bayeux error. */
async function refused(p: PromiseLike<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; message: string };
  }
  assert.fail('the subscription should have been refused');
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'rivulet-realtime-'));
  const config = parseConfig(
    {
      apps: [
        { app_id: a.appId, api_key: a.apiKey, api_secret: a.apiSecret, feed_groups: [...TEST_GROUPS, { name: 'quiet', type: 'flat', realtime: false }] },
        { app_id: b.appId, api_key: b.apiKey, api_secret: b.apiSecret, feed_groups: TEST_GROUPS },
      ],
      fanout: { inline_max_followers: 1 },
      // One test handshakes 1,000 clients from this one address at once, before any subscribes.
      realtime: { max_unauthenticated_per_address: 2000 },
    },
    dataDir,
  );
  rivulet = await createRivulet({ config, logger: pino({ level: 'silent' }), realtime: { timeoutSeconds: 10 } });
  address = await rivulet.listen(0, '127.0.0.1');
  fayeUrl = `${address}/faye`;
});

afterEach(() => {
  for (const c of opened.splice(0)) c.disconnect();
});

after(async () => {
  await rivulet.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('realtime: deliveries through the getstream client', () => {
  it('delivers an activity added to the subscribed feed, in the message shape of §19.3', async () => {
    const id = uid('alice');
    const feed = server().feed('user', id);
    const inbox = await subscribe(feed);
    const added = await feed.addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1', foreign_id: 'post:1', text: 'hi' });
    const msg = await inbox.next();
    assert.deepEqual(Object.keys(msg).sort(), ['app_id', 'deleted', 'deleted_foreign_ids', 'feed', 'new', 'published_at']);
    assert.equal(msg.feed, `user:${id}`);
    assert.equal(msg.app_id, a.appId);
    assert.deepEqual(msg.deleted, []);
    assert.deepEqual(msg.deleted_foreign_ids, []);
    assert.match(msg.published_at, PUBLISHED_AT_RE);
    assert.equal(msg.new.length, 1);
    // The stored activity, exactly as a read of the feed returns it.
    const read = (await feed.get({ limit: 1 })).results as any[];
    assert.deepEqual(msg.new[0], read[0]);
    assert.equal(msg.new[0].id, added.id);
    assert.equal(msg.new[0].origin, null);
    assert.equal(msg.new[0].text, 'hi');
  });

  it('delivers activities that reach a followed feed through fan-out, inline and queued', async () => {
    const author = uid('carol');
    const reader = uid('bob');
    const other = uid('dave');
    const s = server();
    await s.feed('timeline', reader).follow('user', author);
    // The reader subscribes with its own user token, as a browser would.
    const inbox = await subscribe(user(reader).feed('timeline', reader));
    const first = await s.feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: 'note:1' });
    const m1 = await inbox.next((m) => m.new.some((x: any) => x.id === first.id));
    assert.equal(m1.feed, `timeline:${reader}`);
    assert.equal(m1.new[0].origin, `user:${author}`);
    // A second follower pushes the author past the inline limit: the worker delivers.
    await s.feed('timeline', other).follow('user', author);
    const second = await s.feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: 'note:2' });
    const m2 = await inbox.next((m) => m.new.some((x: any) => x.id === second.id));
    assert.equal(m2.new.length, 1);
    assert.equal(m2.new[0].origin, `user:${author}`);
  });

  it('delivers deletions by id and by foreign id, with the foreign ids and times', async () => {
    const id = uid('erin');
    const feed = server().feed('user', id);
    const plain = await feed.addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    const tagged = await feed.addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:2', foreign_id: 'post:2', time: '2024-05-01T10:00:00.123456' });
    const inbox = await subscribe(feed);
    await feed.removeActivity(plain.id);
    const m1 = await inbox.next((m) => m.deleted.length > 0);
    assert.deepEqual(m1.new, []);
    assert.deepEqual(m1.deleted, [plain.id]);
    assert.deepEqual(m1.deleted_foreign_ids, []);
    const n = inbox.messages.length;
    await feed.removeActivity({ foreign_id: 'post:2' });
    const m2 = await inbox.next((m) => m.deleted.length > 0, n);
    assert.deepEqual(m2.deleted, [tagged.id]);
    assert.deepEqual(m2.deleted_foreign_ids, [['post:2', '2024-05-01T10:00:00.123456']]);
    assert.match(m2.deleted_foreign_ids[0][1], ACTIVITY_TIME_RE);
  });

  it('removing from the origin feed tells followers too', async () => {
    const author = uid('fay');
    const reader = uid('gus');
    const s = server();
    await s.feed('timeline', reader).follow('user', author);
    const inbox = await subscribe(s.feed('timeline', reader));
    const act = await s.feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: 'note:1' });
    await inbox.next((m) => m.new.length > 0);
    await s.feed('user', author).removeActivity(act.id);
    const m = await inbox.next((x) => x.deleted.length > 0);
    assert.equal(m.feed, `timeline:${reader}`);
    assert.deepEqual(m.deleted, [act.id]);
  });

  it('a notification feed publishes new activities with their group, counts, and marks', async () => {
    const id = uid('hal');
    const feed = user(id).feed('notification', id);
    const inbox = await subscribe(feed);
    const s = server();
    const act = await s.feed('notification', id).addActivity({ actor: 'SU:someone', verb: 'like', object: 'post:1' });
    const added = await inbox.next((m) => m.new.length > 0);
    assert.equal(added.feed, `notification:${id}`);
    assert.equal(added.new[0].id, act.id);
    const page = await feed.get({ limit: 5 });
    const group = page.results[0] as any;
    assert.equal(added.new[0].group, group.group);
    assert.equal(added.unseen, 1);
    assert.equal(added.unread, 1);

    let n = inbox.messages.length;
    await feed.get({ limit: 5, mark_seen: true });
    const seen = await inbox.next((m) => m.mark_seen !== undefined, n);
    assert.equal(seen.mark_seen, 'all');
    assert.equal(seen.mark_read, undefined);
    assert.deepEqual(seen.new, []);
    assert.deepEqual(seen.deleted, []);
    assert.equal(seen.unseen, 0);
    assert.equal(seen.unread, 1);

    n = inbox.messages.length;
    await feed.get({ limit: 5, mark_read: [group.id] });
    const read = await inbox.next((m) => m.mark_read !== undefined, n);
    assert.deepEqual(read.mark_read, [group.id]);
    assert.deepEqual(read.mark_seen, [group.id]);
    assert.equal(read.unread, 0);
  });

  it('an aggregated feed adds the group key to each new activity', async () => {
    const id = uid('ivy');
    const feed = server().feed('aggregated', id);
    const inbox = await subscribe(feed);
    const act = await feed.addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    const m = await inbox.next();
    assert.equal(m.new[0].id, act.id);
    const page = await feed.get({ limit: 1 });
    assert.equal(m.new[0].group, (page.results[0] as any).group);
    assert.equal(m.unseen, undefined, 'only notification feeds carry counts');
  });

  it('stops delivering after unsubscribe', async () => {
    const id = uid('jay');
    const feed = server().feed('user', id);
    const inbox = await subscribe(feed);
    await feed.addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    await inbox.next();
    feed.unsubscribe();
    await until('the unsubscription', () => rivulet.realtime.subscriberCount(channel('user', id)) === 0);
    assert.equal(rivulet.pubsub.isWatched(a.appId, `user:${id}`), false);
    await feed.addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:2' });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(inbox.messages.length, 1);
  });

  it('lets a read-only feed token subscribe', async () => {
    const id = uid('kim');
    const s = server();
    const readOnly = s.feed('user', id, s.getReadOnlyToken('user', id));
    const inbox = await subscribe(readOnly);
    const act = await s.feed('user', id).addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    assert.equal((await inbox.next()).new[0].id, act.id);
  });

  it('lets a user subscribe to a public group of another user, nothing more', async () => {
    const owner = uid('lou');
    const inbox = await subscribe(user(uid('mia')).feed('user', owner));
    const act = await server().feed('user', owner).addActivity({ actor: `SU:${owner}`, verb: 'post', object: 'note:1' });
    assert.equal((await inbox.next()).new[0].id, act.id);
    const err = await refused(user(uid('mia')).feed('timeline', owner).subscribe(() => {}));
    assert.equal(err.code, 403);
  });

  it('does not publish for groups with realtime off', async () => {
    const id = uid('ned');
    const feed = server().feed('quiet', id);
    const inbox = await subscribe(feed);
    await feed.addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(inbox.messages, []);
  });
});

describe('realtime: subscription authorization at /meta/subscribe', () => {
  it('refuses a token signed with the wrong secret', async () => {
    const c = streamClient(a, randomBytes(24).toString('base64url'));
    const err = await refused(c.feed('user', uid()).subscribe(() => {}));
    assert.equal(err.code, 401);
    assert.match(err.message, /signature is invalid/);
  });

  it("refuses another app's key and token", async () => {
    // App b's credentials naming app a's channel.
    const err = await refused(streamClient(b, b.apiSecret, a.appId).feed('user', uid()).subscribe(() => {}));
    assert.equal(err.code, 401);
    assert.match(err.message, /api_key is not valid/);
    // App a's key with a token signed by app b.
    const forged = connect(a.apiKey, b.apiSecret, a.appId, { urlOverride: { api: `${address}/api/` }, fayeUrl });
    opened.push({ disconnect: () => forged.fayeClient?.disconnect() });
    const err2 = await refused(forged.feed('user', uid()).subscribe(() => {}));
    assert.equal(err2.code, 401);
  });

  it('refuses a feed the token does not cover', async () => {
    const s = server();
    const mine = uid('own');
    const other = uid('other');
    // A feed token of user:<mine> presented for user:<other>.
    const err = await refused(s.feed('user', other, s.feed('user', mine).token).subscribe(() => {}));
    assert.equal(err.code, 403);
    // A user token for someone else's timeline.
    const err2 = await refused(user(mine).feed('timeline', other).subscribe(() => {}));
    assert.equal(err2.code, 403);
    assert.equal(rivulet.realtime.subscriberCount(channel('user', other)), 0);
  });

  it('refuses an unknown feed group and an unknown app', async () => {
    const err = await refused(server().feed('nosuchgroup', uid()).subscribe(() => {}));
    assert.equal(err.code, 403);
    const err2 = await refused(streamClient(a, a.apiSecret, '999').feed('user', uid()).subscribe(() => {}));
    assert.equal(err2.code, 403);
  });

  it('refuses publishing by clients', async () => {
    const id = uid('pia');
    const inbox = await subscribe(server().feed('user', id));
    const c = rawFaye();
    const err = await refused(c.publish(channel('user', id), { new: [{ id: 'forged' }], deleted: [] }));
    assert.equal((err as any).code, 403);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(inbox.messages, []);
  });

  it('refuses a subscription without credentials', async () => {
    const err = await refused(rawFaye().subscribe(channel('user', uid()), () => {}));
    assert.equal(err.code, 401);
  });
});

describe('realtime: connections', () => {
  it('serves 1,000 subscribers of one feed from one process and drops them on disconnect', async () => {
    const id = uid('star');
    const ch = channel('user', id);
    const token = server().feed('user', id).token;
    const clients: FayeClient[] = [];
    const received = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const c = rawFaye();
      c.addExtension({
        outgoing: (message, callback) => {
          if (message.channel === '/meta/subscribe') message.ext = { user_id: ch.slice(1), api_key: a.apiKey, signature: token };
          callback(message);
        },
      });
      clients.push(c);
    }
    await Promise.all(clients.map((c, i) => c.subscribe(ch, () => received.add(i))));
    // On a loaded machine a client whose connection lapsed is dropped and subscribes again after
    // a new handshake, so the count may dip before it settles.
    await until('every client to be subscribed', () => rivulet.realtime.subscriberCount(ch) === 1000, 30_000);
    assert.equal(rivulet.pubsub.isWatched(a.appId, `user:${id}`), true);
    await server().feed('user', id).addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    await until('every subscriber to receive the activity', () => received.size === 1000, 30_000);
    for (const c of clients) c.disconnect();
    await until('every client to be dropped', () => rivulet.realtime.subscriberCount(ch) === 0, 30_000);
    assert.equal(rivulet.pubsub.isWatched(a.appId, `user:${id}`), false);
  });

  it('delivers over long-polling as well as WebSocket', async () => {
    const id = uid('poll');
    const ch = channel('user', id);
    const token = server().feed('user', id).token;
    const c = rawFaye();
    c.disable('websocket');
    c.addExtension({
      outgoing: (message, callback) => {
        if (message.channel === '/meta/subscribe') message.ext = { user_id: ch.slice(1), api_key: a.apiKey, signature: token };
        callback(message);
      },
    });
    const inbox = new Inbox();
    await c.subscribe(ch, inbox.receive);
    const act = await server().feed('user', id).addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    assert.equal((await inbox.next()).new[0].id, act.id);
  });

  it('drops a client that vanishes without disconnecting', async () => {
    const id = uid('ghost');
    const ch = channel('user', id);
    const token = server().feed('user', id).token;
    // A long-polling client that handshakes and subscribes, then never connects again.
    const post = async (message: object) => {
      const res = await fetch(fayeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
      return (await res.json()) as any[];
    };
    const [hs] = await post({ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] });
    assert.equal(hs.successful, true);
    const [sub] = await post({
      channel: '/meta/subscribe',
      clientId: hs.clientId,
      subscription: ch,
      ext: { user_id: ch.slice(1), api_key: a.apiKey, signature: token },
    });
    assert.equal(sub.successful, true, JSON.stringify(sub));
    assert.equal(rivulet.realtime.subscriberCount(ch), 1);
    // Faye drops a client about 1.6 timeouts after its last /meta/connect.
    await until('the silent client to be dropped', () => rivulet.realtime.subscriberCount(ch) === 0, 40_000);
    assert.equal(rivulet.pubsub.isWatched(a.appId, `user:${id}`), false);
  });

  it('refuses more than 100 subscriptions on one client', async () => {
    const s = server();
    const c = rawFaye();
    // The extension signs each subscription with the token of its own feed.
    c.addExtension({
      outgoing: (message, callback) => {
        if (message.channel === '/meta/subscribe') {
          const id = String(message.subscription).slice(channel('user', '').length);
          message.ext = { user_id: String(message.subscription).slice(1), api_key: a.apiKey, signature: s.feed('user', id).token };
        }
        callback(message);
      },
    });
    const base = uid('many');
    await Promise.all(Array.from({ length: 100 }, (_, i) => c.subscribe(channel('user', `${base}-${i}`), () => {})));
    const err = await refused(c.subscribe(channel('user', `${base}-100`), () => {}));
    assert.equal(err.code, 403);
    assert.match(err.message, /at most 100 subscriptions/);
  });

  it('answers malformed Bayeux messages without harm', async () => {
    for (const body of ['["x"]', '[null]', '{"channel":5}', 'not json']) {
      const res = await fetch(fayeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.ok(res.status === 200 || res.status === 400, `${body}: ${res.status}`);
      await res.text();
    }
  });

  it('refuses oversized request bodies to /faye', async () => {
    const big = JSON.stringify({ channel: '/meta/handshake', padding: 'x'.repeat(300 * 1024) });
    const res = await fetch(fayeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(res.status, 413);
    // Without a length up front (chunked), the count stops it too.
    const chunks = [Buffer.alloc(200 * 1024, 32), Buffer.alloc(200 * 1024, 32)];
    const body = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const res2 = await fetch(fayeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    assert.equal(res2.status, 413);
  });

  it('leaves the API on the same port untouched', async () => {
    const res = await fetch(`${address}/healthz`);
    assert.equal(res.status, 200);
    const s = server();
    const id = uid('api');
    await s.feed('user', id).addActivity({ actor: `SU:${id}`, verb: 'post', object: 'note:1' });
    assert.equal((await s.feed('user', id).get()).results.length, 1);
  });
});
