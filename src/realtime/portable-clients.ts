import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ControlLink, PubSub } from '../ports/pubsub.js';

/**
 * A Faye engine for several HTTP processes behind one port (`rivulet serve --workers N`), where
 * one client's connections may land on different processes: a client handshakes, and often
 * subscribes, over plain HTTP requests to one process, and then opens a WebSocket that may reach
 * another.
 *
 * It is Faye's own in-memory engine with two changes:
 *
 * - A client id this process has not seen is adopted (registered as if it had handshaken here)
 *   instead of being refused with `401::Unknown client`. Client ids carry no rights: every
 *   subscription is authorized by its token as before, and a client id is as hard to guess as
 *   before.
 * - Subscriptions stay in the process that accepted them, and messages follow the client to the
 *   process its connects reach, over the pubsub's control links ({@link PubSub.openControl}):
 *   - claim: when a client connects at a process it had not been connecting at (an adopted id, or
 *     one that had moved away), that process announces "client C connects here"; the latest claim
 *     wins (see `#claims`), so a client that moves back is followed back.
 *   - relay: every other process that knows C marks it as away there, sends it the messages
 *     already queued for C and from then on forwards each new one instead of queueing it. The
 *     receiving process appends them to C's queue and delivers them on C's connection like its
 *     own. It does not subscribe, so watch counts stay as they are and nothing arrives twice.
 *   - lifetime: while C connects at a process that claimed it, that process says now and then
 *     (every half of Faye's timeout) that C is alive, and the others keep C instead of timing it
 *     out; when it drops C (disconnect or timeout) it says so, and the others drop C with its
 *     subscriptions.
 *   - an unsubscribe for a channel that C holds at another process is passed on to it.
 *
 * A client whose long-polling requests alternate between processes keeps its messages too: each
 * connect claims the client for the process it reached. A process that adopts a client on a
 * message other than a connect (a subscribe sent on a second HTTP connection while a long-poll
 * holds the first) asks the process the client connects at to claim it (`seek`).
 *
 * Built on the engine that ships with `faye` 1.4 (`src/engines/memory`); it uses the engine's
 * own client registry (`_namespace`), subscriptions (`_clients`), queues (`_messages`), `ping`,
 * `emptyQueue`, `unsubscribe` and `destroyClient`, and the engine proxy's `connect`.
 */

interface FayeSet {
  member(item: string): boolean;
}

interface EngineProxy {
  timeout: number;
  trigger(event: string, ...args: unknown[]): void;
  connect(clientId: string, ...rest: unknown[]): unknown;
}

interface MemoryEngine {
  _namespace: { exists(id: string): boolean; _used: Set<string> };
  _server: EngineProxy;
  _options: { control?: (receive: (message: unknown) => void) => ControlLink };
  _clients: Map<string, FayeSet>;
  _messages: Map<string, unknown[]>;
  ping(clientId: string): void;
  clientExists(clientId: string, callback: (exists: boolean) => void, context?: unknown): void;
  destroyClient(clientId: string, callback?: () => void, context?: unknown): void;
  unsubscribe(clientId: string, channel: string, callback?: (ok: boolean) => void, context?: unknown): void;
  emptyQueue(clientId: string): void;
  disconnect(): void;
}

type MemoryEngineClass = { prototype: MemoryEngine; create(server: unknown, options: unknown): MemoryEngine } & (new (
  server: unknown,
  options: unknown,
) => MemoryEngine);

const Memory = createRequire(import.meta.url)('faye/src/engines/memory') as MemoryEngineClass;

/** The shape of the ids Faye generates: base-36 random strings. */
const CLIENT_ID = /^[0-9a-z]{8,64}$/;

/** Messages between the engines of the processes; `node` is the sender. */
type Control =
  | { rt: 'claim'; node: string; client: string; seq: number }
  | { rt: 'seek'; node: string; client: string; seq: number }
  | { rt: 'relay'; node: string; to: string; queues: [string, unknown[]][] }
  | { rt: 'alive'; node: string; clients: string[] }
  | { rt: 'gone'; node: string; client: string }
  | { rt: 'unsubscribe'; node: string; client: string; channel: string };

function isControl(m: unknown): m is Control {
  return typeof m === 'object' && m !== null && typeof (m as { rt?: unknown }).rt === 'string' && typeof (m as { node?: unknown }).node === 'string';
}

/** Clients per `alive` message, so that each stays a few KB. */
const ALIVE_BATCH = 200;

class PortableEngine extends Memory {
  static create(server: unknown, options: unknown): MemoryEngine {
    return new PortableEngine(server, options);
  }

  readonly #node = randomUUID();
  readonly #link: ControlLink | null;
  /** Clients adopted here that have not connected here yet. */
  readonly #adopted = new Set<string>();
  /** Clients that connect here and that this process claimed: the others forward to it. */
  readonly #here = new Set<string>();
  /** Clients known here that connect at another process, by that process. */
  readonly #away = new Map<string, string>();
  /**
   * The latest claim known for each client that has moved. A claim is numbered with the time it
   * was made, or one more than the latest claim of the client known here if that is later (a
   * process that has just adopted the client knows none); two claims with one number are ordered
   * by process id, so every process agrees on the winner.
   */
  readonly #claims = new Map<string, { seq: number; node: string }>();
  /** Messages to forward, by process and client, sent together at the end of the turn. */
  readonly #outgoing = new Map<string, Map<string, unknown[]>>();
  #alive: NodeJS.Timeout | null = null;

  constructor(server: unknown, options: unknown) {
    super(server, options);
    const open = this._options.control;
    this.#link = open ? open((m) => this.#receive(m)) : null;
    if (this.#link === null) return;
    // The proxy's connect (a client's `/meta/connect`) is where a client shows where it is.
    const proxy = this._server;
    const connect = proxy.connect;
    proxy.connect = (clientId: string, ...rest: unknown[]) => {
      this.#connecting(clientId);
      return connect.call(proxy, clientId, ...rest);
    };
  }

  clientExists(clientId: string, callback: (exists: boolean) => void, context?: unknown): void {
    if (typeof clientId === 'string' && !this._namespace.exists(clientId) && CLIENT_ID.test(clientId)) {
      this._namespace._used.add(clientId);
      this.#adopted.add(clientId);
      // Like a handshake here: the client is dropped if it stops connecting here (or being said alive).
      this.ping(clientId);
      this._server.trigger('handshake', clientId);
      // Adopted by a message other than a connect (a subscribe sent on a second connection while a
      // long-poll holds the first): the process the client connects at is asked to claim it.
      queueMicrotask(() => {
        if (this.#adopted.has(clientId)) this.#seek(clientId);
      });
    }
    super.clientExists(clientId, callback, context);
  }

  /** Called for each published message and subscribed client, and on each connect. */
  emptyQueue(clientId: string): void {
    const at = this.#away.get(clientId);
    if (at === undefined) return super.emptyQueue(clientId);
    const queued = this._messages.get(clientId);
    if (queued === undefined || queued.length === 0) return;
    this._messages.delete(clientId);
    this.#forward(at, clientId, queued);
  }

  unsubscribe(clientId: string, channel: string, callback?: (ok: boolean) => void, context?: unknown): void {
    const involved = this.#here.has(clientId) || this.#adopted.has(clientId) || this.#away.has(clientId);
    if (involved && this._clients.get(clientId)?.member(channel) !== true) {
      this.#send({ rt: 'unsubscribe', node: this.#node, client: clientId, channel });
    }
    super.unsubscribe(clientId, channel, callback, context);
  }

  destroyClient(clientId: string, callback?: () => void, context?: unknown): void {
    if (this.#here.delete(clientId) && this._namespace.exists(clientId)) this.#send({ rt: 'gone', node: this.#node, client: clientId });
    this.#adopted.delete(clientId);
    this.#away.delete(clientId);
    this.#claims.delete(clientId);
    super.destroyClient(clientId, callback, context);
  }

  disconnect(): void {
    super.disconnect();
    if (this.#alive !== null) clearInterval(this.#alive);
    this.#alive = null;
    this.#adopted.clear();
    this.#here.clear();
    this.#away.clear();
    this.#claims.clear();
    this.#outgoing.clear();
    this.#link?.close();
  }

  /** A `/meta/connect` of `clientId` reached this process. */
  #connecting(clientId: string): void {
    if (!this.#adopted.delete(clientId) && !this.#away.delete(clientId)) return;
    this.#claim(clientId, Math.max(Date.now(), (this.#claims.get(clientId)?.seq ?? 0) + 1));
  }

  /** Announces that `clientId` connects here. */
  #claim(clientId: string, seq: number): void {
    this.#here.add(clientId);
    this.#claims.set(clientId, { seq, node: this.#node });
    this.#send({ rt: 'claim', node: this.#node, client: clientId, seq });
    if (this.#alive === null) {
      // Faye drops a client after twice its timeout without a connect; twice a timeout keeps it.
      this.#alive = setInterval(() => this.#sayAlive(), Math.max(1, this._server.timeout * 500));
      this.#alive.unref();
    }
  }

  /**
   * Asks the process `clientId` connects at to claim it. The answer is numbered like this
   * request, with the lowest process id standing for the asker here: it beats nothing the asker
   * knew, and loses to a claim the asker makes after asking (its connect reached here after all).
   */
  #seek(clientId: string): void {
    const seq = Math.max(Date.now(), (this.#claims.get(clientId)?.seq ?? 0) + 1);
    this.#claims.set(clientId, { seq, node: '' });
    this.#send({ rt: 'seek', node: this.#node, client: clientId, seq });
  }

  #sayAlive(): void {
    const clients = [...this.#here];
    if (clients.length === 0 && this.#alive !== null) {
      clearInterval(this.#alive);
      this.#alive = null;
    }
    for (let i = 0; i < clients.length; i += ALIVE_BATCH) this.#send({ rt: 'alive', node: this.#node, clients: clients.slice(i, i + ALIVE_BATCH) });
  }

  #forward(to: string, clientId: string, messages: unknown[]): void {
    const first = this.#outgoing.size === 0;
    let queues = this.#outgoing.get(to);
    if (!queues) this.#outgoing.set(to, (queues = new Map()));
    const held = queues.get(clientId);
    if (held) held.push(...messages);
    else queues.set(clientId, messages);
    if (first) setImmediate(() => this.#flushOutgoing());
  }

  #flushOutgoing(): void {
    for (const [to, queues] of this.#outgoing) this.#send({ rt: 'relay', node: this.#node, to, queues: [...queues] });
    this.#outgoing.clear();
  }

  #send(message: Control): void {
    this.#link?.send(message);
  }

  #receive(message: unknown): void {
    if (!isControl(message) || message.node === this.#node) return;
    switch (message.rt) {
      case 'claim': {
        const c = message.client;
        if (typeof c !== 'string' || typeof message.seq !== 'number' || !this._namespace.exists(c)) return;
        const latest = this.#claims.get(c);
        if (latest !== undefined && (message.seq < latest.seq || (message.seq === latest.seq && message.node < latest.node))) return;
        this.#claims.set(c, { seq: message.seq, node: message.node });
        this.#here.delete(c);
        this.#adopted.delete(c);
        this.#away.set(c, message.node);
        this.ping(c);
        // What waited here for the client goes to it now.
        this.emptyQueue(c);
        return;
      }
      case 'seek': {
        // Answered by the process the client connects at: where it is known, and neither adopted
        // without a connect nor away.
        const c = message.client;
        if (typeof c !== 'string' || typeof message.seq !== 'number' || !this._namespace.exists(c) || this.#adopted.has(c) || this.#away.has(c)) return;
        this.#claim(c, Math.max(message.seq, (this.#claims.get(c)?.seq ?? 0) + 1));
        return;
      }
      case 'relay': {
        if (message.to !== this.#node || !Array.isArray(message.queues)) return;
        for (const [c, messages] of message.queues) {
          if (typeof c !== 'string' || !Array.isArray(messages)) continue;
          if (!this._namespace.exists(c)) {
            // Dropped here meanwhile: the sender drops it too.
            this.#send({ rt: 'gone', node: this.#node, client: c });
            continue;
          }
          const queue = this._messages.get(c);
          if (queue) queue.push(...messages);
          else this._messages.set(c, messages);
          // Delivered on the connection here, or passed on if the client has moved again.
          this.emptyQueue(c);
        }
        return;
      }
      case 'alive':
        if (!Array.isArray(message.clients)) return;
        for (const c of message.clients) if (this.#away.get(c) === message.node) this.ping(c);
        return;
      case 'gone':
        if (this.#away.get(message.client) === message.node) this.destroyClient(message.client);
        return;
      case 'unsubscribe':
        if (typeof message.channel === 'string' && this._clients.get(message.client)?.member(message.channel) === true) {
          super.unsubscribe(message.client, message.channel);
        }
        return;
    }
  }
}

/**
 * The `engine` option of `faye.NodeAdapter` that makes clients portable between processes; the
 * processes' engines talk over `pubsub`'s control links (without them a client's messages stay in
 * the process holding its subscriptions).
 */
export function portableClientsEngine(pubsub: PubSub): { type: typeof PortableEngine; control?: (receive: (message: unknown) => void) => ControlLink } {
  return pubsub.openControl ? { type: PortableEngine, control: (receive) => pubsub.openControl!(receive) } : { type: PortableEngine };
}
