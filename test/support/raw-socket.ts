import { connect, type Socket } from 'node:net';

/** A TCP connection to a test server for requests `fetch` cannot make (slow, malformed, upgrades). */
export class RawSocket {
  readonly socket: Socket;
  readonly #chunks: Buffer[] = [];
  readonly closed: Promise<void>;
  #waiters: (() => void)[] = [];
  ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        for (const w of this.#waiters.splice(0)) w();
        resolve();
      }),
    );
  }

  static open(port: number, localAddress?: string): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new RawSocket(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Everything received so far. */
  received(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** Waits until `cond(received)` holds or the socket closes; fails after `ms`. */
  async until(cond: (received: Buffer) => boolean, what: string, ms = 15_000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = this.received();
      if (cond(got)) return got;
      if (this.ended) throw new Error(`connection closed before ${what}; received ${JSON.stringify(got.toString('latin1').slice(0, 500))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; received ${JSON.stringify(got.toString('latin1').slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the server to close the connection; fails after `ms`. */
  async serverCloses(ms = 15_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([this.closed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The complete HTTP responses in `raw` (status, headers, body by Content-Length). */
export function parseResponses(raw: Buffer): { status: number; headers: Record<string, string>; body: string }[] {
  const out: { status: number; headers: Record<string, string>; body: string }[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(head[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] ?? 0);
    if (rest.length < end + 4 + len) break;
    out.push({ status, headers, body: rest.subarray(end + 4, end + 4 + len).toString('utf8') });
    rest = rest.subarray(end + 4 + len);
  }
  return out;
}

/** Whether `raw` holds at least `n` complete responses. */
export function hasResponse(raw: Buffer, n = 1): boolean {
  return parseResponses(raw).length >= n;
}
