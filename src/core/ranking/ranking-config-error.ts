/**
 * A ranking method's configuration is invalid (stream-v2-api.md §23.4): its `score` formula does
 * not parse or calls a function wrongly, or its `defaults` or `window` are out of range. Raised
 * once, when the method is compiled at config load, never while scoring.
 *
 * Deliberately not a catalogued `RivuletError`: it is a configuration fault. Whoever compiles
 * methods decides whether it aborts startup or becomes a client error.
 *
 * @example
 *   try { compileRankingMethod('popular', { score: '1 +' }); }
 *   catch (e) { if (e instanceof RankingConfigError) console.error(e.message, e.position); }
 *   // ranking method "popular": invalid score: expected a number, variable, function call or '('
 *   // but the expression ends at position 3 (near "1 +")
 */
export class RankingConfigError extends Error {
  /** 0-based index into the `score` text where the problem was found; absent for non-formula problems. */
  readonly position: number | undefined;
  /** The ranking method's name, once known. */
  readonly method: string | undefined;

  constructor(message: string, options?: { readonly position?: number; readonly method?: string; readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RankingConfigError';
    this.position = options?.position;
    this.method = options?.method;
  }
}
