import { createRequire } from 'node:module';

/**
 * A Faye engine for several HTTP processes behind one port (`rivulet serve --workers N`), where
 * one client's connections may land on different processes: a client handshakes over a plain
 * HTTP request and then opens a WebSocket, and the two need not reach the same process.
 *
 * It is Faye's own in-memory engine, except that a client id this process has not seen is
 * adopted (registered as if it had handshaken here) instead of being refused with
 * `401::Unknown client`. Client ids carry no rights: every subscription is authorized by its
 * token as before, and a client id is as hard to guess as before. A WebSocket client then keeps
 * all its subscriptions and messages in the one process its socket reached. A long-polling client
 * whose requests alternate between processes still works, but a message may wait for a poll that
 * reaches the process holding its subscription.
 *
 * Built on the engine that ships with `faye` 1.4 (`src/engines/memory`); only `clientExists` is
 * changed, and it uses the engine's own client registry (`_namespace`) and `ping`.
 */

interface MemoryEngine {
  _namespace: { exists(id: string): boolean; _used: Set<string> };
  _server: { trigger(event: string, ...args: unknown[]): void };
  ping(clientId: string): void;
  clientExists(clientId: string, callback: (exists: boolean) => void, context?: unknown): void;
}

type MemoryEngineClass = { prototype: MemoryEngine; create(server: unknown, options: unknown): MemoryEngine } & (new (
  server: unknown,
  options: unknown,
) => MemoryEngine);

const Memory = createRequire(import.meta.url)('faye/src/engines/memory') as MemoryEngineClass;

/** The shape of the ids Faye generates: base-36 random strings. */
const CLIENT_ID = /^[0-9a-z]{8,64}$/;

class PortableEngine extends Memory {
  static create(server: unknown, options: unknown): MemoryEngine {
    return new PortableEngine(server, options);
  }

  clientExists(clientId: string, callback: (exists: boolean) => void, context?: unknown): void {
    if (typeof clientId === 'string' && !this._namespace.exists(clientId) && CLIENT_ID.test(clientId)) {
      this._namespace._used.add(clientId);
      // Like a handshake here: the client is dropped if it stops polling this process.
      this.ping(clientId);
      this._server.trigger('handshake', clientId);
    }
    super.clientExists(clientId, callback, context);
  }
}

/** The `engine` option of `faye.NodeAdapter` that makes clients portable between processes. */
export const portableClientsEngine = { type: PortableEngine };
