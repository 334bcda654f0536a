import { circuitBreaker, ConsecutiveBreaker, handleAll, TaskCancelledError, timeout, TimeoutStrategy, wrap, BrokenCircuitError } from 'cockatiel';
import type { ImageLabel, ImageLabeler } from '../../ports/image-labeler.js';

export interface HttpLabelerOptions {
  /** The labeling service: `POST url` with `{"urls": [...], "hints": [...]}`. */
  readonly url: string;
  readonly timeoutMs: number;
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before a trial call (ms). */
  readonly openMs: number;
}

/** Why a labeling call did not give labels. */
export class LabelerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabelerUnavailableError';
  }
}

const MAX_LABELS = 50;

/**
 * An image labeler behind HTTP, run by the operator (on loopback or their own network): one
 * `POST` per activity with `{"urls": [...], "hints": [...]}`, answered with
 * `{"labels": [{"label": "snowboard", "confidence": 0.93}, ...]}`. Each call is bounded by a
 * timeout; after `failureThreshold` failures in a row the circuit opens and calls fail at once
 * for `openMs`, then one trial call decides whether it closes again — so an outage costs the
 * content worker nothing but a retry later, and a slow service cannot pile up requests.
 */
export class HttpLabeler implements ImageLabeler {
  readonly #url: string;
  readonly #policy;

  constructor(opts: HttpLabelerOptions) {
    this.#url = opts.url;
    const breaker = circuitBreaker(handleAll, { halfOpenAfter: opts.openMs, breaker: new ConsecutiveBreaker(opts.failureThreshold) });
    this.#policy = wrap(breaker, timeout(opts.timeoutMs, TimeoutStrategy.Aggressive));
  }

  async labelImages(urls: readonly string[], hints: readonly string[]): Promise<ImageLabel[]> {
    if (urls.length === 0) return [];
    try {
      return await this.#policy.execute(async ({ signal }) => {
        const res = await fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ urls, hints }),
          signal,
        });
        if (!res.ok) throw new LabelerUnavailableError(`labeler answered ${res.status}`);
        return parseLabels(await res.json());
      });
    } catch (err) {
      if (err instanceof LabelerUnavailableError) throw err;
      if (err instanceof BrokenCircuitError) throw new LabelerUnavailableError('labeler circuit is open', { cause: err });
      if (err instanceof TaskCancelledError) throw new LabelerUnavailableError('labeler timed out', { cause: err });
      throw new LabelerUnavailableError(`labeler call failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

function parseLabels(body: unknown): ImageLabel[] {
  const list = (body as { labels?: unknown })?.labels;
  if (!Array.isArray(list)) throw new LabelerUnavailableError('labeler answer has no labels array');
  const out: ImageLabel[] = [];
  for (const l of list.slice(0, MAX_LABELS)) {
    const x = l as { label?: unknown; confidence?: unknown };
    if (typeof x.label !== 'string' || typeof x.confidence !== 'number' || !Number.isFinite(x.confidence)) continue;
    out.push({ label: x.label, confidence: Math.min(1, Math.max(0, x.confidence)) });
  }
  return out;
}
