/**
 * The error catalogue. Every failure Rivulet reports to a client is one of these classes; the HTTP
 * layer renders them as Stream's error body (`code`, `exception`, `status_code`, `detail`,
 * `more_info`, `duration`), see stream-v2-api.md §3 and §23.1.
 *
 * @example
 *   throw new InputError('activity.verb is required');
 */

export interface CatalogueEntry {
  /** Stream's numeric error code. */
  readonly code: number;
  /** HTTP status. */
  readonly status: number;
  /** Stream exception name. */
  readonly exception: string;
  /** Whether retrying the same request may succeed. */
  readonly retryable: boolean;
}

export const CATALOGUE = {
  input: { code: 4, status: 400, exception: 'InputException', retryable: false },
  feedConfig: { code: 6, status: 400, exception: 'FeedConfigException', retryable: false },
  missingUser: { code: 10, status: 400, exception: 'MissingUserException', retryable: false },
  ranking: { code: 11, status: 400, exception: 'RankingException', retryable: false },
  missingRanking: { code: 12, status: 400, exception: 'MissingRankingException', retryable: false },
  apiKey: { code: 2, status: 401, exception: 'ApiKeyException', retryable: false },
  authentication: { code: 3, status: 401, exception: 'AuthenticationFailed', retryable: false },
  notAllowed: { code: 17, status: 403, exception: 'NotAllowedException', retryable: false },
  doesNotExist: { code: 16, status: 404, exception: 'DoesNotExistException', retryable: false },
  methodNotAllowed: { code: 17, status: 405, exception: 'MethodNotAllowed', retryable: false },
  requestTimeout: { code: 4, status: 408, exception: 'RequestTimeout', retryable: true },
  conflict: { code: 22, status: 409, exception: 'ConflictException', retryable: false },
  payloadTooLarge: { code: 18, status: 413, exception: 'PayloadTooLarge', retryable: false },
  unsupportedEncoding: { code: 4, status: 415, exception: 'InputException', retryable: false },
  rateLimit: { code: 9, status: 429, exception: 'RateLimitReached', retryable: true },
  headersTooLarge: { code: 4, status: 431, exception: 'InputException', retryable: false },
  internal: { code: -1, status: 500, exception: 'InternalServerError', retryable: true },
  store: { code: -1, status: 500, exception: 'InternalServerError', retryable: true },
  unavailable: { code: -1, status: 503, exception: 'ServiceUnavailable', retryable: true },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorKind = keyof typeof CATALOGUE;

/** Base class of every catalogued error. */
export class RivuletError extends Error {
  readonly kind: ErrorKind;
  readonly entry: CatalogueEntry;
  /** Optional per-field messages, rendered as `exception_fields`. */
  readonly fields?: Record<string, string[]>;

  constructor(kind: ErrorKind, detail: string, options?: { cause?: unknown; fields?: Record<string, string[]> }) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.entry = CATALOGUE[kind];
    this.fields = options?.fields;
    this.name = new.target.name;
  }
}

/** 400/4: the request is malformed or a value is out of range. */
export class InputError extends RivuletError {
  constructor(detail: string, options?: { cause?: unknown; fields?: Record<string, string[]> }) {
    super('input', detail, options);
  }
}

/** 400/6: the feed group is not configured. */
export class FeedConfigError extends RivuletError {
  constructor(detail: string) {
    super('feedConfig', detail);
  }
}

/** 400/10: a server-side call that needs a user did not name one. */
export class MissingUserError extends RivuletError {
  constructor(detail: string) {
    super('missingUser', detail);
  }
}

/** 400/11: a ranking formula could not be evaluated. */
export class RankingError extends RivuletError {
  constructor(detail: string) {
    super('ranking', detail);
  }
}

/** 400/12: `ranking=` names a method the feed group lacks. */
export class MissingRankingError extends RivuletError {
  constructor(detail: string) {
    super('missingRanking', detail);
  }
}

/** 401/2: the api key is missing or unknown. */
export class ApiKeyError extends RivuletError {
  constructor(detail: string) {
    super('apiKey', detail);
  }
}

/** 401/3: the token is missing, malformed, wrongly signed or expired. */
export class AuthenticationError extends RivuletError {
  constructor(detail: string) {
    super('authentication', detail);
  }
}

/** The detail Stream uses for policy refusals (compared verbatim by the official tests). */
export const NO_POLICY_DETAIL =
  'You do not have permission to do this, you got this error because there are no policies allowing this request on this application. Please consult the documentation https://getstream.io/docs/';

/** 403/17: the token is valid but its scope or the user policy forbids the call. */
export class NotAllowedError extends RivuletError {
  constructor(detail: string = NO_POLICY_DETAIL) {
    super('notAllowed', detail);
  }
}

/** 404/16: the resource does not exist. */
export class NotFoundError extends RivuletError {
  constructor(detail: string) {
    super('doesNotExist', detail);
  }
}

/** 405/17: the route exists but not for this method. */
export class MethodNotAllowedError extends RivuletError {
  constructor(detail: string) {
    super('methodNotAllowed', detail);
  }
}

/** 409/22: creating something that already exists. */
export class ConflictError extends RivuletError {
  constructor(detail: string) {
    super('conflict', detail);
  }
}

/**
 * 409/22 as well: a write step built from a read that another request has made stale since (a
 * reaction's parent or the reaction itself removed, a child added under a reaction being
 * removed). Nothing of the step was written; the caller reads again and builds the step anew.
 */
export class StaleWriteError extends ConflictError {}

/** 413/18: the request body is larger than allowed. */
export class PayloadTooLargeError extends RivuletError {
  constructor(detail: string) {
    super('payloadTooLarge', detail);
  }
}

/** 415/4: the request body is compressed (`Content-Encoding` other than `identity`), which is not accepted. */
export class UnsupportedEncodingError extends RivuletError {
  constructor(detail: string) {
    super('unsupportedEncoding', detail);
  }
}

/** 429/9: the app's rate limit was exceeded. */
export class RateLimitError extends RivuletError {
  constructor(detail: string) {
    super('rateLimit', detail);
  }
}

/**
 * 500: a storage backend failed; the driver error is kept as `cause`. `corrupt` marks damaged data
 * files (the backend cannot read its own pages), which the server reports loudly and which makes
 * it not ready (see `http/integrity.ts`).
 */
export class StoreError extends RivuletError {
  readonly corrupt: boolean;
  /**
   * The backend could not do the work right now (busy, locked, out of disk, I/O failure,
   * unreachable), whatever the work was: the same call may succeed later. Background jobs that
   * meet such a failure wait and retry rather than count it against the job.
   */
  readonly transient: boolean;

  constructor(detail: string, cause: unknown, opts: { corrupt?: boolean; transient?: boolean } = {}) {
    super('store', detail, { cause });
    this.corrupt = opts.corrupt === true;
    this.transient = opts.transient === true;
  }
}

/** 503: the server is shutting down (or not ready); retry on another node or later. */
export class UnavailableError extends RivuletError {
  constructor(detail: string) {
    super('unavailable', detail);
  }
}
