/** Wall-clock time, injected so the core and services stay deterministic in tests. */
export interface Clock {
  /** Microseconds since the Unix epoch. */
  nowUs(): number;
}
