import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedEvent, PubSub } from '../ports/pubsub.js';
import { faye, type FayeClient, type FayeMessage, type FayeNodeAdapter } from './faye.js';
import { CATALOGUE } from '../core/errors.js';
import { BODY_DRAIN_LIMIT, drainBody } from '../http/body.js';
import { errorJson, writeSocketError } from '../http/plugins/errors.js';
import { portableClientsEngine } from './portable-clients.js';
import { UnauthenticatedClients } from './unauthenticated-clients.js';
import { bayeuxError, channelOf, SubscriptionAuth } from './subscription-auth.js';

/** The endpoint's path on the API port; everything below it is Faye's too. */
const FAYE_MOUNT = '/faye';

export interface FayeServerOptions {
  readonly apps: readonly App[];
  readonly pubsub: PubSub;
  readonly logger: Logger;
  /**
   * Seconds a long-poll `/meta/connect` is held (default 25). A client that has not reconnected
   * within twice this time — its socket closed or its process gone — is dropped with its
   * subscriptions.
   */
  readonly timeoutSeconds?: number;
  /** Channels one client may subscribe to (default 100); more are refused at `/meta/subscribe`. */
  readonly maxSubscriptionsPerClient?: number;
  /**
   * Several HTTP processes share the port (`serve --workers N`): a client's connections may reach
   * different processes, so client ids handshaken elsewhere are accepted (see portable-clients.ts).
   */
  readonly portableClients?: boolean;
  /** Clients handshaken but not yet subscribed, per remote address (default 100) and in total (default 10,000). */
  readonly maxUnauthenticatedPerAddress?: number;
  readonly maxUnauthenticated?: number;
  /** Behind one reverse proxy: a client's address is the last `X-Forwarded-For` entry. */
  readonly trustProxy?: boolean;
}

export const DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS = 100;
export const DEFAULT_MAX_UNAUTHENTICATED = 10_000;

export const DEFAULT_FAYE_TIMEOUT_S = 25;
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT = 100;
/** Largest HTTP request body to `/faye`; Bayeux messages from clients are a few hundred bytes each. */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * The realtime endpoint (stream-v2-api.md §19): a Faye (Bayeux) server at `/faye` on the API's
 * port. Subscriptions are authorized by the feed token in the message extension; only the server
 * publishes to feed channels. Each subscription is counted on the pubsub port, so writers build
 * events only for feeds someone listens to, and events from the pubsub go out on the channel of
 * their feed when this node has subscribers for it.
 */
export class FayeServer {
  readonly #adapter: FayeNodeAdapter;
  readonly #client: FayeClient;
  readonly #auth: SubscriptionAuth;
  readonly #pubsub: PubSub;
  readonly #log: Logger;
  readonly #maxPerClient: number;
  readonly #unauthenticated: UnauthenticatedClients;
  readonly #addressOf: (request: IncomingMessage) => string;
  /** Subscribers on this node per channel, with the feed (`slug:uid`) the channel resolved to. */
  readonly #channels = new Map<string, { count: number; fid: string }>();
  /** Channels per client on this node. */
  readonly #clients = new Map<string, number>();
  /** Upgraded (WebSocket) sockets: the HTTP server no longer tracks them, so close() ends them. */
  readonly #sockets = new Set<Duplex>();
  readonly #stopListening: () => void;
  /** Events waiting for the next turn of the event loop (see {@link FayeServer.#flush}). */
  readonly #outbox: [string, FeedEvent][] = [];
  #closed = false;

  constructor(opts: FayeServerOptions) {
    this.#auth = new SubscriptionAuth(opts.apps);
    this.#pubsub = opts.pubsub;
    this.#log = opts.logger;
    this.#maxPerClient = opts.maxSubscriptionsPerClient ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT;
    this.#addressOf = opts.trustProxy ? forwardedAddress : socketAddress;
    this.#unauthenticated = new UnauthenticatedClients(
      opts.maxUnauthenticatedPerAddress ?? DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS,
      opts.maxUnauthenticated ?? DEFAULT_MAX_UNAUTHENTICATED,
    );
    this.#adapter = new faye.NodeAdapter({
      mount: FAYE_MOUNT,
      timeout: opts.timeoutSeconds ?? DEFAULT_FAYE_TIMEOUT_S,
      ...(opts.portableClients ? { engine: portableClientsEngine(opts.pubsub) } : {}),
    });
    this.#adapter.addExtension({
      incoming: (message, request, callback) => callback(this.#check(message, request)),
      // A subscription is confirmed once it counts on every process (PubSub.synced), so that a
      // write made after the client's subscribe resolved is published to it wherever it lands.
      outgoing: (message, request, callback) => {
        if (message.channel === '/meta/handshake' && message.successful === true && request !== null && typeof message.clientId === 'string') {
          this.#unauthenticated.add(message.clientId, this.#addressOf(request));
        }
        if (message.channel !== '/meta/subscribe' || message.successful !== true || !this.#pubsub.synced) return callback(message);
        this.#pubsub.synced().then(
          () => callback(message),
          () => callback(message),
        );
      },
    });
    this.#adapter.on('subscribe', (clientId, channel) => this.#subscribed(clientId, channel));
    this.#adapter.on('unsubscribe', (clientId, channel) => this.#unsubscribed(clientId, channel));
    this.#adapter.on('disconnect', (clientId) => this.#unauthenticated.remove(clientId));
    this.#client = this.#adapter.getClient();
    this.#stopListening = opts.pubsub.subscribe((event) => this.#deliver(event));
  }

  /**
   * Serves the endpoint on `server`; requests to other paths go on to the API's listeners. Upgrades
   * are served at the endpoint only: any other upgrade request is answered 400 and its connection
   * closed (nothing else listens for upgrades, and an unanswered one would hold its socket open).
   */
  attach(server: Server): void {
    type Listener = (req: IncomingMessage, res: ServerResponse) => void;
    type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
    // The API's listeners, then Faye's alone: Faye's own wrapper parses every request's URL to
    // see whether it is a Faye request, which API requests should not pay for.
    const api = server.listeners('request') as Listener[];
    server.removeAllListeners('request');
    server.removeAllListeners('upgrade');
    this.#adapter.attach(server);
    const bayeux = server.listeners('request') as Listener[];
    const bayeuxUpgrade = server.listeners('upgrade') as UpgradeListener[];
    server.removeAllListeners('request');
    server.removeAllListeners('upgrade');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== undefined && req.url.startsWith(FAYE_MOUNT) && this.#adapter.check(req)) {
        // Faye buffers a POST body whole, without a bound: cap it before Faye's listener sees it.
        if (!limitBody(req, res, MAX_BODY_BYTES)) return;
        for (const listener of bayeux) listener.call(server, req, res);
        return;
      }
      for (const listener of api) listener.call(server, req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const websocket = req.method === 'GET' && req.headers.upgrade?.toLowerCase() === 'websocket';
      if (!websocket || req.url === undefined || !req.url.startsWith(FAYE_MOUNT) || !this.#adapter.check(req) || this.#closed) {
        writeSocketError(socket, CATALOGUE.input, `only WebSocket upgrades to ${FAYE_MOUNT} are served`);
        return;
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      for (const listener of bayeuxUpgrade) listener.call(server, req, socket, head);
    });
  }

  /** Subscriptions on this node: to one channel, or to all. */
  subscriberCount(channel?: string): number {
    if (channel !== undefined) return this.#channels.get(channel)?.count ?? 0;
    let n = 0;
    for (const c of this.#channels.values()) n += c.count;
    return n;
  }

  /** For metrics: clients holding at least one subscription on this node, and their subscriptions. */
  stats(): { clients: number; subscriptions: number } {
    return { clients: this.#clients.size, subscriptions: this.subscriberCount() };
  }

  /** Drops every client and stops delivering; the endpoint answers nothing afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopListening();
    this.#client.disconnect();
    // Flushes pending long-polls and closes WebSockets; the engine forgets its clients without
    // unsubscribe events, so the counts on the pubsub are released here.
    this.#adapter.close();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    for (const [channel, { count }] of this.#channels) {
      const resolved = this.#auth.resolve(channel);
      for (let i = 0; i < count && resolved; i++) this.#pubsub.unwatch(resolved.app.appId, resolved.feed.fid);
    }
    this.#channels.clear();
    this.#clients.clear();
  }

  /**
   * The gate for every incoming message. Messages of the server's own client (`request` null)
   * pass; remote clients may handshake, connect, subscribe with a valid token and unsubscribe,
   * and nothing else: publishing to any channel is refused.
   */
  #check(message: FayeMessage, request: IncomingMessage | null): FayeMessage {
    // Not an object: Faye refuses it itself.
    if (request === null || typeof message !== 'object' || message === null) return message;
    const channel = typeof message.channel === 'string' ? message.channel : '';
    if (channel === '/meta/handshake') {
      const refusal = this.#unauthenticated.refusal(this.#addressOf(request));
      if (refusal !== null) message.error = bayeuxError(403, '', refusal);
      return message;
    }
    if (channel === '/meta/subscribe') {
      const wanted = message.subscription === undefined ? [] : ([] as string[]).concat(message.subscription);
      const held = message.clientId === undefined ? 0 : (this.#clients.get(message.clientId) ?? 0);
      if (held + wanted.length > this.#maxPerClient) {
        message.error = bayeuxError(403, String(wanted[0] ?? ''), `at most ${this.#maxPerClient} subscriptions per client`);
        return message;
      }
      for (const c of wanted) {
        const decision = typeof c === 'string' ? this.#auth.authorize(c, message.ext) : { ok: false as const, error: bayeuxError(405, '', 'Invalid channel') };
        if (!decision.ok) {
          message.error = decision.error;
          break;
        }
      }
      return message;
    }
    if (channel.startsWith('/meta/')) return message;
    message.error = bayeuxError(403, channel, 'Only the server publishes to feed channels');
    return message;
  }

  #subscribed(clientId: string, channel: string): void {
    const resolved = this.#auth.resolve(channel);
    if (!resolved) return;
    this.#unauthenticated.remove(clientId);
    const held = this.#channels.get(channel);
    if (held) held.count++;
    else this.#channels.set(channel, { count: 1, fid: resolved.feed.fid });
    this.#clients.set(clientId, (this.#clients.get(clientId) ?? 0) + 1);
    this.#pubsub.watch(resolved.app.appId, resolved.feed.fid);
  }

  #unsubscribed(clientId: string, channel: string): void {
    const n = this.#channels.get(channel);
    if (n === undefined || this.#closed) return;
    if (n.count > 1) n.count--;
    else this.#channels.delete(channel);
    const held = this.#clients.get(clientId) ?? 0;
    if (held > 1) this.#clients.set(clientId, held - 1);
    else this.#clients.delete(clientId);
    const resolved = this.#auth.resolve(channel);
    if (resolved) this.#pubsub.unwatch(resolved.app.appId, resolved.feed.fid);
  }

  #deliver(event: FeedEvent): void {
    if (this.#closed) return;
    const colon = event.feed.indexOf(':');
    const channel = channelOf(event.app, event.feed.slice(0, colon), event.feed.slice(colon + 1));
    // Another node's subscribers, or a feed whose channel name stands for another feed (see
    // ChannelFeeds): nothing to publish here.
    if (this.#channels.get(channel)?.fid !== event.feed) return;
    this.#outbox.push([channel, event]);
    if (this.#outbox.length === 1) setImmediate(this.#flush);
  }

  /**
   * Hands queued events to Faye, in order. Deferred to its own turn of the event loop: writing to
   * a thousand sockets takes milliseconds, and the write that caused the event should be answered
   * first (the event arrives from inside its commit).
   */
  readonly #flush = (): void => {
    const batch = this.#outbox.splice(0);
    if (this.#closed) return;
    for (const [channel, event] of batch) {
      this.#client.publish(channel, event.message).then(undefined, (err: unknown) => {
        this.#log.warn({ err, channel }, 'realtime publish refused');
      });
    }
  };
}

/** The remote address a client's HTTP request or WebSocket came from. */
function socketAddress(request: IncomingMessage): string {
  return request.socket?.remoteAddress ?? '';
}

/** Behind one trusted proxy: the address it appended to `X-Forwarded-For` (earlier entries are the client's to forge). */
function forwardedAddress(request: IncomingMessage): string {
  const header = request.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header[header.length - 1] : header;
  const last = value?.split(',').pop()?.trim();
  return last || socketAddress(request);
}

/**
 * Lets a request through unless its body is, or grows, larger than `max`; then answers 413 in
 * Stream's error shape and drops the connection. A body declared too large is read to its end
 * first (up to BODY_DRAIN_LIMIT), so the client sees the answer rather than a reset. Returns false
 * when the request was refused up front.
 */
function limitBody(req: IncomingMessage, res: ServerResponse, max: number): boolean {
  const refuse = () => {
    if (!res.headersSent) {
      const body = errorJson(CATALOGUE.payloadTooLarge, `realtime request bodies are limited to ${max} bytes`, '0.00ms');
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body, () => req.destroy());
    } else {
      req.destroy();
    }
  };
  if (Number(req.headers['content-length'] ?? 0) > max) {
    drainBody(req, BODY_DRAIN_LIMIT, refuse);
    return false;
  }
  let seen = 0;
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen <= max) return;
    req.off('data', count);
    // Faye never sees the end of this body, so it never answers: the response is ours.
    req.pause();
    refuse();
  };
  req.on('data', count);
  return true;
}
