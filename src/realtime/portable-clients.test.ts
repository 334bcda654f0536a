// Two realtime endpoints sharing one pubsub, as the HTTP processes of `serve --workers` do: a
// Faye client whose HTTP requests reach one process and whose WebSocket reaches the other.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { MemoryPubSub } from '../adapters/memory/memory-pubsub.js';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import type { RealtimeMessage } from '../ports/pubsub.js';
import { faye, type FayeClient, type FayeMessage } from './faye.js';
import { FayeServer } from './faye-server.js';
import { channelOf } from './subscription-auth.js';

function group(name: string): [string, FeedGroup] {
  return [name, { name, type: 'flat', rankings: new Map(), maxLength: 10_000, maxGroups: 1000, maxGroupActivities: 100, realtime: true, public: false, followable: false }];
}

const app: App = { appId: '42', apiKey: 'key42', apiSecret: 'secret42', groups: new Map([group('user')]) };

function sign(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${head}.${createHmac('sha256', app.apiSecret).update(head).digest('base64url')}`;
}

function message(feed: string, id: string): RealtimeMessage {
  return { feed, app_id: app.appId, new: [{ id }], deleted: [], deleted_foreign_ids: [], published_at: '2026-01-01T00:00:00.000000Z' };
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One HTTP process: a server with the realtime endpoint on the shared pubsub. */
async function httpProcess(pubsub: MemoryPubSub, timeoutSeconds?: number): Promise<{ server: Server; realtime: FayeServer; url: string }> {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const realtime = new FayeServer({ apps: [app], pubsub, logger: pino({ level: 'silent' }), portableClients: true, timeoutSeconds });
  realtime.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, realtime, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/faye` };
}

/** Holds the WebSocket upgrades `server` receives until `release` is called. */
function holdUpgrades(server: Server): () => void {
  const listeners = server.listeners('upgrade') as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void released.then(() => {
      for (const l of listeners) l.call(server, req, socket, head);
    });
  });
  return release;
}

/** A Faye client whose long-polling requests go to `httpUrl` and whose WebSocket goes to `wsUrl`. */
function client(httpUrl: string, wsUrl: string, token: string): { faye: FayeClient; connects: string[] } {
  const Client = faye.Client as unknown as new (url: string, options: object) => FayeClient;
  const c = new Client(httpUrl, { timeout: 10, endpoints: { websocket: wsUrl } });
  const connects: string[] = [];
  c.addExtension({
    outgoing(m: FayeMessage, callback: (m: FayeMessage) => void) {
      if (m.channel === '/meta/subscribe') m.ext = { user_id: 'bob', api_key: app.apiKey, signature: token };
      if (m.channel === '/meta/connect') connects.push(String(m.connectionType));
      callback(m);
    },
  });
  return { faye: c, connects };
}

describe('portable realtime clients across processes', () => {
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  /**
   * Two processes and a client that subscribed to bob's feed over HTTP on the first, its WebSocket
   * upgrade to the second held back (as under load) until `release` is called.
   */
  async function split(timeoutSeconds?: number) {
    const pubsub = new MemoryPubSub();
    const one = await httpProcess(pubsub, timeoutSeconds);
    const two = await httpProcess(pubsub, timeoutSeconds);
    cleanup.push(
      () => new Promise((r) => one.server.close(r)),
      () => new Promise((r) => two.server.close(r)),
      () => one.realtime.close(),
      () => two.realtime.close(),
    );
    const release = holdUpgrades(two.server);
    const feed = 'user:bob';
    const channel = channelOf(app.appId, 'user', 'bob');
    const { faye: c, connects } = client(one.url, two.url, sign({ resource: '*', action: '*', feed_id: 'userbob' }));
    cleanup.unshift(() => {
      c.disconnect();
      one.server.closeAllConnections();
      two.server.closeAllConnections();
    });
    const heard: string[] = [];
    const subscription = c.subscribe(channel, (data: RealtimeMessage) => heard.push(...data.new.map((a) => String(a.id))));
    await subscription;
    const publish = (id: string) => pubsub.publish([{ app: app.appId, feed, message: message(feed, id) }]);
    return { pubsub, one, two, c, channel, heard, subscription, publish, release, connects };
  }

  /** The socket opens; after a first event `e1` answers the long-poll on the first process, the client connects over it. */
  async function moveOver(s: Awaited<ReturnType<typeof split>>): Promise<void> {
    s.release();
    await s.publish('e1');
    await until('the first event, answering the long-poll on the first process', () => (s.heard.includes('e1') ? true : undefined));
    await until('a connect over the WebSocket, to the other process', () => (s.connects.includes('websocket') ? true : undefined));
  }

  /** Two processes and a client that subscribed over HTTP on the first and then moved to its WebSocket on the second, having heard `e1`. */
  async function moved(timeoutSeconds?: number) {
    const s = await split(timeoutSeconds);
    await moveOver(s);
    return s;
  }

  it('a client that subscribed over HTTP on one process and then connects over its WebSocket to another hears every later event', async () => {
    const s = await split();
    assert.equal(s.one.realtime.subscriberCount(s.channel), 1, 'subscribed on the process its HTTP requests reach');
    assert.equal(s.two.realtime.subscriberCount(s.channel), 0);
    await moveOver(s);
    for (let i = 2; i <= 5; i++) await s.publish(`e${i}`);
    await until('every later event', () => (['e2', 'e3', 'e4', 'e5'].every((id) => s.heard.includes(id)) ? true : undefined));
    assert.deepEqual(s.heard, ['e1', 'e2', 'e3', 'e4', 'e5'], 'each event once, in order');
  });

  it('an unsubscribe sent to the process the client moved to ends the subscription held by the first', async () => {
    const { pubsub, one, two, channel, subscription } = await moved();
    assert.equal(two.realtime.subscriberCount(channel), 0, 'the second process holds no subscription');
    subscription.cancel();
    await until('the first process lets go of the subscription', () => (one.realtime.subscriberCount(channel) === 0 ? true : undefined));
    assert.equal(pubsub.isWatched(app.appId, 'user:bob'), false, 'nobody watches the feed any more');
  });

  it('a client that disconnects at the process it moved to is dropped, with its subscriptions, by the first', async () => {
    const { pubsub, one, c, channel } = await moved();
    assert.equal(one.realtime.subscriberCount(channel), 1);
    c.disconnect();
    await until('the first process drops the client', () => (one.realtime.subscriberCount(channel) === 0 ? true : undefined));
    assert.equal(pubsub.isWatched(app.appId, 'user:bob'), false);
  });

  it('a client that keeps connecting at the process it moved to is kept by the first beyond its timeout', async () => {
    // Faye drops a client that has not connected for twice its timeout (here 2 s).
    const { one, channel, heard, publish } = await moved(1);
    await new Promise((r) => setTimeout(r, 3_500));
    assert.equal(one.realtime.subscriberCount(channel), 1, 'the subscription is still held');
    await publish('e2');
    await until('a later event', () => (heard.includes('e2') ? true : undefined));
    assert.deepEqual(heard, ['e1', 'e2']);
  });

  it('a subscribe that reaches another process than the client\'s long-polls is heard on the long-polls', async () => {
    const pubsub = new MemoryPubSub();
    const one = await httpProcess(pubsub, 2);
    const two = await httpProcess(pubsub, 2);
    cleanup.push(
      () => new Promise((r) => one.server.close(r)),
      () => new Promise((r) => two.server.close(r)),
      () => one.realtime.close(),
      () => two.realtime.close(),
    );
    const bayeux = async (url: string, messages: object[]): Promise<FayeMessage[]> => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      return (await res.json()) as FayeMessage[];
    };
    const [hello] = await bayeux(one.url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
    const clientId = String(hello.clientId);
    const connect = (advice?: object) => bayeux(one.url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', ...(advice ? { advice } : {}) }]);
    await connect({ timeout: 0 });
    const channel = channelOf(app.appId, 'user', 'bob');
    const ext = { user_id: 'userbob', api_key: app.apiKey, signature: sign({ resource: '*', action: '*', feed_id: 'userbob' }) };
    // The subscribe goes to the second process, as on a second connection while a long-poll holds the first.
    const [subscribed] = await bayeux(two.url, [{ channel: '/meta/subscribe', clientId, subscription: channel, ext }]);
    assert.equal(subscribed.successful, true, JSON.stringify(subscribed));
    assert.equal(two.realtime.subscriberCount(channel), 1);
    const poll = connect();
    await pubsub.publish([{ app: app.appId, feed: 'user:bob', message: message('user:bob', 'e1') }]);
    const answer = await poll;
    const events = answer.filter((m) => m.channel === channel).map((m) => (m.data as RealtimeMessage).new.map((a) => a.id));
    assert.deepEqual(events, [['e1']], JSON.stringify(answer));
  });
});
