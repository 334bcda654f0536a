import type { ChangeMarks } from '../ports/change-marks.js';
import { ChangeCache } from '../services/change-cache.js';

/**
 * Finished feed-read responses (JSON without its closing brace, see `sendOpen`), kept until the
 * data they show changes: see {@link ChangeCache}.
 */
export class ReadCache extends ChangeCache<Buffer> {
  constructor(maxBytes: number, mark: (() => string) | null, changes?: ChangeMarks | null) {
    super(maxBytes, mark, changes, (body) => body.length);
  }
}
