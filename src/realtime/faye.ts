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

const requireHere = createRequire(import.meta.url);
export const faye = requireHere('faye') as FayeModule;

/**
 * Largest WebSocket message (and frame) a client may send to `/faye`, the same bound as HTTP bodies
 * there: Bayeux messages from clients are a few hundred bytes. A longer frame is refused from its
 * header (close code 1009) before its payload is buffered.
 */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 256 * 1024;

/**
 * Faye creates its server-side WebSockets without a `maxLength`, so the driver's default of 64 MiB
 * applies (one unauthenticated frame could make the server buffer that much). The driver module
 * Faye's WebSocket package uses is resolved from that package and its `http` factory (used for
 * server-side sockets only; clients are made by `client`) gets the limit as its default.
 */
function limitServerWebSockets(): void {
  const driverRequire = createRequire(createRequire(requireHere.resolve('faye')).resolve('faye-websocket'));
  const driver = driverRequire('websocket-driver') as { http: (req: unknown, options?: { maxLength?: number }) => unknown; __rivuletLimited?: true };
  if (driver.__rivuletLimited) return;
  const http = driver.http.bind(driver);
  driver.http = (req, options = {}) => http(req, { ...options, maxLength: options.maxLength ?? MAX_WEBSOCKET_MESSAGE_BYTES });
  driver.__rivuletLimited = true;
}
limitServerWebSockets();
