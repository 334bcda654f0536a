import { InputError } from '../core/errors.js';
import { parseOpenGraph, type OgData } from '../core/og/parse-og.js';
import { FetchError, type PageFetcher } from '../ports/page-fetcher.js';

/** Settings of `og/` (config `og`). */
export interface OgSettings {
  /** Addresses, ranges and host names fetches may reach besides public addresses (intranet use). */
  readonly allow: readonly string[];
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxRedirects: number;
  /** How long a result (or a failure) is reused; 0 turns the cache off. */
  readonly cacheTtlMs: number;
}

export const DEFAULT_OG: OgSettings = { allow: [], timeoutMs: 5000, maxBytes: 1024 * 1024, maxRedirects: 5, cacheTtlMs: 3_600_000 };

/** The detail the official test compares verbatim for a page without OG data (§14). */
export const NO_OG_DATA = "couldn't find og data for the provided url";

/** Failures are remembered for a shorter time than results, so a page that comes back is seen soon. */
const FAILURE_TTL_MS = 60_000;
const CACHE_ENTRIES = 2000;

type Cached = { readonly at: number; readonly ok: OgData } | { readonly at: number; readonly error: InputError };

/**
 * Link previews (§14): fetches a page through the {@link PageFetcher} (which refuses non-public
 * addresses) and extracts its Open Graph data. Results and failures are cached per URL, least
 * recently used dropped beyond a bound, and concurrent asks for one URL share one fetch.
 */
export class OpenGraph {
  readonly #fetcher: PageFetcher;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, Cached>();
  readonly #inflight = new Map<string, Promise<OgData>>();

  constructor(fetcher: PageFetcher, settings: Pick<OgSettings, 'cacheTtlMs'>, now: () => number = Date.now) {
    this.#fetcher = fetcher;
    this.#ttl = settings.cacheTtlMs;
    this.#now = now;
  }

  async scrape(url: string | undefined): Promise<OgData> {
    if (url === undefined || url.trim() === '') throw new InputError('url is required', { fields: { url: ['required'] } });
    const key = url.trim();
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      const ttl = 'ok' in hit ? this.#ttl : Math.min(this.#ttl, FAILURE_TTL_MS);
      if (this.#now() - hit.at < ttl) {
        this.#cache.delete(key);
        this.#cache.set(key, hit);
        if ('ok' in hit) return hit.ok;
        throw hit.error;
      }
      this.#cache.delete(key);
    }
    let p = this.#inflight.get(key);
    if (p === undefined) {
      p = this.#load(key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  async #load(url: string): Promise<OgData> {
    try {
      const data = await this.#fetchAndParse(url);
      this.#remember(url, { at: this.#now(), ok: data });
      return data;
    } catch (err) {
      if (err instanceof InputError) this.#remember(url, { at: this.#now(), error: err });
      throw err;
    }
  }

  async #fetchAndParse(url: string): Promise<OgData> {
    let page;
    try {
      page = await this.#fetcher.fetchPage(url);
    } catch (err) {
      if (err instanceof FetchError) {
        if (err.reason === 'refused') throw new InputError(`url is not allowed: ${err.message}`, { cause: err });
        throw new InputError(NO_OG_DATA, { cause: err });
      }
      throw err;
    }
    if (page.status < 200 || page.status >= 300) throw new InputError(NO_OG_DATA);
    if (page.contentType !== 'text/html' && page.contentType !== 'application/xhtml+xml') throw new InputError(NO_OG_DATA);
    const data = parseOpenGraph(page.body.toString('utf8'), page.url, url);
    if (data === null) throw new InputError(NO_OG_DATA);
    return data;
  }

  #remember(url: string, entry: Cached): void {
    if (this.#ttl === 0) return;
    if (this.#cache.size >= CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(url, entry);
  }
}
