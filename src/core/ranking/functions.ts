/**
 * The numeric functions a ranking formula may call (stream-v2-api.md §23.4), as plain functions
 * of numbers. Randomness and the request time come in as arguments; nothing here reads a clock.
 * `compile.ts` maps formula names onto these and checks arities.
 */

/** Mean Earth radius used by `dist`, in kilometres (IUGG mean radius, rounded as most geo libraries do). */
export const EARTH_RADIUS_KM = 6371;
/** Kilometres in one international mile. */
export const KM_PER_MILE = 1.609344;

/** Default `scale` of the decay functions: one day, in seconds. */
export const DEFAULT_DECAY_SCALE = 86_400;
/** Default `offset` of the decay functions, in seconds. */
export const DEFAULT_DECAY_OFFSET = 0;
/** Default `decay` of the decay functions: the value at distance = scale. */
export const DEFAULT_DECAY = 0.5;

/**
 * Rounds half away from zero (unlike `Math.round`, which rounds -2.5 to -2).
 *
 * @example roundHalfAwayFromZero(-2.5) === -3
 */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * Uniform draw in [a, b) (or (b, a] when b < a) from one call of `rand`, which must return [0, 1).
 *
 * @example uniform(() => 0.5, 10, 20) === 15
 */
export function uniform(rand: () => number, a: number, b: number): number {
  return a + (b - a) * rand();
}

/**
 * Standard normal draw by the Box–Muller transform: exactly two calls of `rand` (u1 then u2,
 * each in [0, 1)), z = √(−2·ln(1 − u1))·cos(2π·u2). Using 1 − u1 keeps the logarithm finite.
 *
 * @example standardNormal(queue(0.25, 0.5)) === -Math.sqrt(-2 * Math.log(0.75))
 */
export function standardNormal(rand: () => number): number {
  const u1 = rand();
  const u2 = rand();
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * `rand_normal(a, b, sigma, mu)`: a normal draw with mean `mu` and standard deviation `sigma`
 * (two `rand` calls, see `standardNormal`), clamped to [min(a, b), max(a, b)]. Clamping, not
 * resampling, keeps the number of `rand` calls fixed, so a seeded scorer stays reproducible.
 * A NaN parameter yields NaN.
 *
 * @example clampedNormal(queue(0.25, 0.5), 0, 100, 10, 50) === 50 - 10 * Math.sqrt(-2 * Math.log(0.75))
 */
export function clampedNormal(rand: () => number, a: number, b: number, sigma: number, mu: number): number {
  const x = mu + sigma * standardNormal(rand);
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * Great-circle distance between two points given in degrees, by the haversine formula, in
 * kilometres on a sphere of radius `EARTH_RADIUS_KM`.
 *
 * @example Math.round(haversineKm(0, 0, 0, 1) * 100) / 100 === 111.19
 */
export function haversineKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLng = (lng2 - lng1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLng / 2) ** 2;
  // min(1, …) guards rounding just above 1 for antipodal points.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(Math.min(1, h)));
}

/**
 * The decay distance d = max(0, |origin − t| − offset), or NaN when the parameters are invalid:
 * scale must be > 0, offset ≥ 0 and decay strictly between 0 and 1 (as in search engines'
 * decay functions). Constant parameters are checked when compiling; this covers variables.
 */
function decayDistance(origin: number, t: number, scale: number, offset: number, decay: number): number {
  if (!(scale > 0) || !(offset >= 0) || !(decay > 0 && decay < 1)) return NaN;
  return Math.max(0, Math.abs(origin - t) - offset);
}

/**
 * Linear decay: max(0, 1 − (1 − decay)·d/scale) — 1 within `offset` of `origin`, `decay` at
 * d = scale, 0 from d = scale / (1 − decay) on.
 *
 * @example decayLinear(1000, 1000 - 86400, 86400, 0, 0.5) === 0.5
 */
export function decayLinear(origin: number, t: number, scale: number, offset: number, decay: number): number {
  const d = decayDistance(origin, t, scale, offset, decay);
  // Math.max(0, NaN) is NaN, so invalid parameters stay NaN.
  return Math.max(0, 1 - ((1 - decay) * d) / scale);
}

/**
 * Exponential decay: decay^(d/scale).
 *
 * @example decayExp(0, 2 * 86400, 86400, 0, 0.5) === 0.25
 */
export function decayExp(origin: number, t: number, scale: number, offset: number, decay: number): number {
  const d = decayDistance(origin, t, scale, offset, decay);
  return decay ** (d / scale);
}

/**
 * Gaussian decay: decay^((d/scale)²).
 *
 * @example decayGauss(0, 2 * 86400, 86400, 0, 0.5) === 0.0625
 */
export function decayGauss(origin: number, t: number, scale: number, offset: number, decay: number): number {
  const d = decayDistance(origin, t, scale, offset, decay);
  return decay ** ((d / scale) ** 2);
}
