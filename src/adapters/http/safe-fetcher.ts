import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { FetchError, type FetchedPage, type PageFetcher } from '../../ports/page-fetcher.js';
import { AddressPolicy } from '../../core/net/address-policy.js';

export interface SafeFetchSettings {
  /** Operator allow-list (see {@link AddressPolicy}). */
  readonly allow: readonly string[];
  /** Whole fetch, redirects included (ms). */
  readonly timeoutMs: number;
  /** Body bytes read, after decompression; the rest of a longer page is not read. */
  readonly maxBytes: number;
  readonly maxRedirects: number;
}

type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

const defaultResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * {@link PageFetcher} over node's http and https clients. Every hop (the URL and each redirect) is
 * resolved here first and connected to by the vetted address only (the socket's `lookup` returns
 * it), so a DNS answer that changes between the check and the connection (rebinding) cannot reach
 * a refused address. No proxy from the environment is used.
 */
export class SafeFetcher implements PageFetcher {
  readonly #policy: AddressPolicy;
  readonly #s: SafeFetchSettings;
  readonly #resolve: Resolve;

  constructor(settings: SafeFetchSettings, resolve: Resolve = defaultResolve) {
    this.#policy = new AddressPolicy(settings.allow);
    this.#s = settings;
    this.#resolve = resolve;
  }

  async fetchPage(url: string): Promise<FetchedPage> {
    const signal = AbortSignal.timeout(this.#s.timeoutMs);
    let current = parseTarget(url);
    for (let hop = 0; ; hop++) {
      const address = await this.#vet(current);
      const res = await this.#get(current, address, signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined) {
        res.resume();
        if (hop >= this.#s.maxRedirects) throw new FetchError('failed', `more than ${this.#s.maxRedirects} redirects`);
        try {
          current = parseTarget(new URL(location, current).href);
        } catch (err) {
          if (err instanceof FetchError) throw err;
          throw new FetchError('failed', 'a redirect points to an invalid URL');
        }
        continue;
      }
      const body = await this.#read(res, signal);
      const contentType = String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      return { url: current.href, status, contentType, body };
    }
  }

  /** The address to connect to for a URL, or a refusal naming why. */
  async #vet(url: URL): Promise<{ address: string; family: number }> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const listed = this.#policy.hostAllowed(host);
    const literal = isIP(host);
    let candidates: { address: string; family: number }[];
    if (literal) {
      candidates = [{ address: host, family: literal }];
    } else {
      try {
        candidates = await this.#resolve(host);
      } catch (err) {
        throw new FetchError('failed', `cannot resolve ${host}`, { cause: err });
      }
    }
    // Every address the name has must be allowed: a name that also points inward is refused whole,
    // rather than trusting which of its addresses a connection would pick.
    const refused = candidates.find((c) => !listed && !this.#policy.addressAllowed(c.address));
    if (refused || candidates.length === 0) {
      throw new FetchError('refused', `${host} resolves to ${refused?.address ?? 'no address'}, which is not a public address (operators may allow it with og.allow)`);
    }
    return candidates[0];
  }

  #get(url: URL, to: { address: string; family: number }, signal: AbortSignal): Promise<http.IncomingMessage> {
    const lookup: LookupFunction = (_host, options, cb) => {
      if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [to]);
      else cb(null, to.address, to.family);
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.get(
        url,
        {
          lookup,
          signal,
          agent: false,
          headers: {
            accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1',
            'accept-encoding': 'gzip, deflate, br',
            'user-agent': 'Mozilla/5.0 (compatible; Rivulet link preview)',
          },
        },
        resolve,
      );
      req.on('error', (err) => {
        reject(new FetchError('failed', signal.aborted ? `no answer within ${this.#s.timeoutMs} ms` : `cannot fetch ${url.host}: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Reads at most maxBytes of the (decompressed) body, then stops reading. */
  async #read(res: http.IncomingMessage, signal: AbortSignal): Promise<Buffer> {
    const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
    let stream: Readable = res;
    if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(createGunzip());
    else if (encoding === 'deflate') stream = res.pipe(createInflate());
    else if (encoding === 'br') stream = res.pipe(createBrotliDecompress());
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        const c = chunk as Buffer;
        const room = this.#s.maxBytes - size;
        chunks.push(c.length > room ? c.subarray(0, room) : c);
        size += Math.min(c.length, room);
        if (size >= this.#s.maxBytes) break;
      }
    } catch (err) {
      // A cut-off or corrupt stream still may have given the head of the page.
      if (size === 0) throw new FetchError('failed', signal.aborted ? `no answer within ${this.#s.timeoutMs} ms` : 'the page could not be read', { cause: err });
    } finally {
      res.destroy();
      if (stream !== res) stream.destroy();
    }
    return Buffer.concat(chunks, size);
  }
}

/** An http(s) URL without credentials; anything else is refused before any connection. */
function parseTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError('refused', 'url is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchError('refused', `only http and https URLs are fetched, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new FetchError('refused', 'URLs with credentials are not fetched');
  return url;
}
