import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';

/**
 * The parts of the `faye` package (1.4) Rivulet uses, typed here. The package ships no types, and
 * the getstream client declares an ambient `'faye'` module of its own (client side only) that
 * test code sees, so the module is loaded through `require` against these interfaces instead of
 * declaring the module a second time.
 */

/** A Bayeux message as it passes through server extensions. */
export interface FayeMessage {
  channel: string;
  clientId?: string;
  subscription?: string | string[];
  data?: unknown;
  ext?: unknown;
  error?: string;
  successful?: boolean;
  [key: string]: unknown;
}

/** A server extension. `request` is null for messages from the server's own in-process client. */
export interface FayeServerExtension {
  incoming?(message: FayeMessage, request: IncomingMessage | null, callback: (message: FayeMessage) => void): void;
  outgoing?(message: FayeMessage, request: IncomingMessage | null, callback: (message: FayeMessage) => void): void;
}

/** Thenable that settles when the server acknowledged (or refused) the call. */
export interface FayeDeferred extends PromiseLike<unknown> {
  cancel?(): void;
}

export interface FayeClient {
  publish(channel: string, data: unknown): FayeDeferred;
  subscribe(channel: string, callback: (data: any) => void): FayeDeferred & { cancel(): void };
  addExtension(extension: { outgoing?(message: FayeMessage, callback: (m: FayeMessage) => void): void }): void;
  /** Turns off a transport for this client (`'websocket'` leaves long-polling). */
  disable(feature: string): void;
  disconnect(): void;
}

export interface FayeNodeAdapter {
  /** Takes over `request` and `upgrade` on `server` for paths under the mount; others go on as before. */
  attach(server: Server): void;
  /** Whether a request's path is under the mount. */
  check(request: IncomingMessage): boolean;
  addExtension(extension: FayeServerExtension): void;
  /** The server's own in-process client. */
  getClient(): FayeClient;
  close(): void;
  on(event: 'subscribe' | 'unsubscribe', listener: (clientId: string, channel: string) => void): void;
  on(event: 'handshake' | 'disconnect', listener: (clientId: string) => void): void;
}

interface FayeModule {
  NodeAdapter: new (options: { mount: string; timeout: number; ping?: number; engine?: { type: unknown } }) => FayeNodeAdapter;
  Client: new (url: string, options?: { timeout?: number; retry?: number }) => FayeClient;
}

export const faye = createRequire(import.meta.url)('faye') as FayeModule;
