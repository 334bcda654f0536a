/** A page fetched for its link preview. */
export interface FetchedPage {
  /** Where the page was found, after redirects. */
  readonly url: string;
  readonly status: number;
  /** The `content-type` header without parameters, lower case; '' when absent. */
  readonly contentType: string;
  /** The start of the body, decompressed, at most the fetcher's size limit (a longer page is cut, not refused). */
  readonly body: Buffer;
}

/** Why a fetch did not produce a page. `refused`: the URL or an address it resolved to is not allowed. */
export class FetchError extends Error {
  constructor(
    readonly reason: 'refused' | 'failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FetchError';
  }
}

/**
 * Fetches web pages on behalf of clients (Open Graph previews), so it must not become a way into
 * the server's own network: adapters refuse loopback, private, link-local, multicast and other
 * non-public addresses after DNS resolution and on every redirect, unless the operator allowed
 * them, and bound redirects, size and time.
 */
export interface PageFetcher {
  /** GETs `url` following redirects; throws {@link FetchError}. */
  fetchPage(url: string): Promise<FetchedPage>;
}
