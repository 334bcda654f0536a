import type { Clock } from '../ports/clock.js';

/** The machine's wall clock with sub-millisecond precision. */
export const systemClock: Clock = {
  nowUs: () => Math.floor((performance.timeOrigin + performance.now()) * 1000),
};
