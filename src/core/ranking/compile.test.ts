import { seededRandom } from './seeded-random.js';
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { compareScored, compileRankingMethod, DEFAULT_WINDOW, RankingConfigError, type ScoreContext } from './compile.js';
import { FormulaParser } from './parse.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0) / 1000; // 2024-05-01T12:00:00Z
const DAY = 86_400;

function noRand(): number {
  throw new Error('this formula should not draw a random number');
}

function ctxOf(extra: Partial<ScoreContext> = {}): ScoreContext {
  return { nowSeconds: NOW, rand: noRand, ...extra };
}

function score(formula: string, activity: Record<string, unknown> = {}, ctx: ScoreContext = ctxOf(), defaults?: Record<string, number>): number {
  const config = defaults === undefined ? { score: formula } : { score: formula, defaults };
  return compileRankingMethod('test', config).evaluate(activity, ctx);
}

function assertClose(actual: number, expected: number, message?: string, tolerance = 1e-12): void {
  const ok = Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
  assert.ok(ok, `${message ?? ''} expected ${expected}, got ${actual}`);
}

/** A rand that hands out the given values in order and fails when asked for more. */
function queue(...values: number[]): () => number {
  return () => {
    const v = values.shift();
    if (v === undefined) throw new Error('rand called more often than expected');
    return v;
  };
}

function configError(name: string, config: unknown): RankingConfigError {
  try {
    compileRankingMethod(name, config);
  } catch (e) {
    assert.ok(e instanceof RankingConfigError, String(e));
    return e;
  }
  assert.fail(`expected ${JSON.stringify(config)} to be rejected`);
}

describe('compileRankingMethod: arithmetic', () => {
  it('evaluates precedence and associativity as §23.4 defines them', () => {
    const table: [string, number][] = [
      ['-2^2', -4],
      ['2^3^2', 512],
      ['2*3+4', 10],
      ['2+3*4', 14],
      ['(1+2)*3', 9],
      ['-(-3)', 3],
      ['(-2)^2', 4],
      ['2^-1', 0.5],
      ['10-4-3', 3],
      ['64/4/2', 8],
      ['1.5e3 + .5', 1500.5],
      ['(2^3)^2', 64],
    ];
    for (const [formula, expected] of table) assert.equal(score(formula), expected, formula);
  });

  it('returns non-finite results as they are', () => {
    assert.ok(Number.isNaN(score('0/0')));
    assert.equal(score('1/x'), Infinity);
    assert.equal(score('ln(0)'), -Infinity);
    assert.ok(Number.isNaN(score('ln(-1)')));
    assert.ok(Number.isNaN(score('(-8)^(1/3)')));
  });
});

describe('compileRankingMethod: functions', () => {
  it('computes the one-argument functions', () => {
    const table: [string, number][] = [
      ['ln(7.5)', 2.0149030205422647],
      ['ln(2.718281828459045)', 1],
      ['log(1000)', 3],
      ['log(0.01)', -2],
      ['abs(-3.5)', 3.5],
      ['abs(2)', 2],
      ['trunc(2.7)', 2],
      ['trunc(-2.7)', -2],
      ['sin(0.5)', 0.479425538604203],
      ['cos(0.5)', 0.8775825618903728],
      ['tan(0.5)', 0.5463024898437905],
      ['to_unix_timestamp(1714557600)', 1714557600],
    ];
    for (const [formula, expected] of table) assertClose(score(formula), expected, formula);
  });

  it('rounds half away from zero', () => {
    const table: [number, number][] = [
      [2.5, 3],
      [-2.5, -3],
      [0.5, 1],
      [-0.5, -1],
      [2.4, 2],
      [-2.4, -2],
      [2.6, 3],
      [-2.6, -3],
      [7, 7],
    ];
    for (const [x, expected] of table) assert.equal(score(`round(x)`, { x }), expected, `round(${x})`);
  });

  it('takes min and max of any number of arguments', () => {
    assert.equal(score('min(3)'), 3);
    assert.equal(score('max(3)'), 3);
    assert.equal(score('min(3, 1)'), 1);
    assert.equal(score('max(3, 1)'), 3);
    assert.equal(score('min(4, -2, 7, 0)'), -2);
    assert.equal(score('max(4, -2, 7, 0)'), 7);
    assert.equal(score('max(a, b, c)', { a: 1, b: 9, c: 5 }), 9);
    assert.ok(Number.isNaN(score('max(1, 0/0, 2)')));
  });

  it('measures dist by the haversine formula, in km or miles', () => {
    const R = 6371;
    const rad = Math.PI / 180;
    // Independent check: the spherical law of cosines.
    const cosines = (lat1: number, lng1: number, lat2: number, lng2: number) =>
      R * Math.acos(Math.sin(lat1 * rad) * Math.sin(lat2 * rad) + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.cos((lng2 - lng1) * rad));
    const amsterdam = { lat: 52.3676, lng: 4.9041 };
    const berlin = { lat: 52.52, lng: 13.405 };
    const activity = { place: amsterdam };
    const ctx = ctxOf({ vars: { me: berlin } });
    const km = score('dist(place.lat, place.lng, me.lat, me.lng)', activity, ctx);
    assertClose(km, cosines(amsterdam.lat, amsterdam.lng, berlin.lat, berlin.lng), 'Amsterdam–Berlin', 1e-9);
    assert.ok(km > 570 && km < 585, `Amsterdam–Berlin is about 577 km, got ${km}`);
    assert.equal(score('dist(place.lat, place.lng, me.lat, me.lng, "km")', activity, ctx), km);
    assertClose(score("dist(place.lat, place.lng, me.lat, me.lng, 'mi')", activity, ctx), km / 1.609344, 'miles');
    assertClose(score('dist(0, 0, 0, 1)'), (R * Math.PI) / 180, 'one degree of the equator');
    assertClose(score('dist(0, 0, 0, 180)'), R * Math.PI, 'antipodes');
    assert.equal(score('dist(10, 20, 10, 20)'), 0);
  });

  it('decays linearly, exponentially and as a gaussian around the request time', () => {
    const at = (formula: string, t: number) => score(formula, { t });
    // d = 0, d = scale, d = 1.5·scale, d = 2·scale, d = 3·scale with the defaults (scale 1 day, decay 0.5).
    const expected: Record<string, [number, number, number, number, number]> = {
      decay_linear: [1, 0.5, 0.25, 0, 0],
      decay_exp: [1, 0.5, 0.5 ** 1.5, 0.25, 0.125],
      decay_gauss: [1, 0.5, 0.5 ** 2.25, 0.0625, 0.5 ** 9],
    };
    for (const [fn, values] of Object.entries(expected)) {
      [0, 1, 1.5, 2, 3].forEach((days, i) => {
        assertClose(at(`${fn}(t)`, NOW - days * DAY), values[i], `${fn} at ${days} days ago`);
        assertClose(at(`${fn}(t)`, NOW + days * DAY), values[i], `${fn} at ${days} days ahead`);
      });
    }
  });

  it('decays with explicit scale, offset and decay', () => {
    const hour = 3600;
    for (const fn of ['decay_linear', 'decay_exp', 'decay_gauss']) {
      // Within the offset nothing decays; at offset + scale the value is `decay`.
      assert.equal(score(`${fn}(t, 3600, 7200, 0.2)`, { t: NOW - 1.5 * hour }), 1, fn);
      assert.equal(score(`${fn}(t, 3600, 7200, 0.2)`, { t: NOW - 2 * hour }), 1, fn);
      assertClose(score(`${fn}(t, 3600, 7200, 0.2)`, { t: NOW - 3 * hour }), 0.2, fn);
      assertClose(score(`${fn}(t, 3600, 7200)`, { t: NOW - 3 * hour }), 0.5, `${fn} default decay`);
      assertClose(score(`${fn}(t, 3600)`, { t: NOW - hour }), 0.5, `${fn} default offset`);
    }
    // d = 2h beyond a 2h offset with a 1h scale and decay 0.2.
    assertClose(score('decay_linear(t, 3600, 7200, 0.2)', { t: NOW - 4 * hour }), 0);
    assertClose(score('decay_linear(t, 3600, 7200, 0.2)', { t: NOW - 2.5 * hour }), 1 - 0.8 * 0.5);
    assertClose(score('decay_exp(t, 3600, 7200, 0.2)', { t: NOW - 4 * hour }), 0.04);
    assertClose(score('decay_gauss(t, 3600, 7200, 0.2)', { t: NOW - 4 * hour }), 0.2 ** 4);
    // The origin is the request's time, so the same formula scores differently later.
    const method = compileRankingMethod('fresh', { score: 'decay_exp(time)' });
    const activity = { time: '2024-05-01T12:00:00' };
    assert.equal(method.evaluate(activity, ctxOf()), 1);
    assertClose(method.evaluate(activity, ctxOf({ nowSeconds: NOW + DAY })), 0.5);
  });

  it('scores NaN when variable decay parameters are out of range', () => {
    for (const fn of ['decay_linear', 'decay_exp', 'decay_gauss']) {
      assert.ok(Number.isNaN(score(`${fn}(t, s)`, { t: NOW, s: 0 })), `${fn} scale 0`);
      assert.ok(Number.isNaN(score(`${fn}(t, 60, o)`, { t: NOW, o: -1 })), `${fn} offset -1`);
      assert.ok(Number.isNaN(score(`${fn}(t, 60, 0, k)`, { t: NOW, k: 1 })), `${fn} decay 1`);
      assert.ok(Number.isNaN(score(`${fn}(t)`, { t: NaN })), `${fn} of NaN`);
    }
  });

  it('draws rand and rand_normal from ctx.rand, arguments first, left to right', () => {
    assert.equal(score('rand()', {}, ctxOf({ rand: queue(0.25) })), 0.25);
    assert.equal(score('rand(10, 20)', {}, ctxOf({ rand: queue(0.25) })), 12.5);
    assert.equal(score('rand(20, 10)', {}, ctxOf({ rand: queue(0.25) })), 17.5);
    assert.equal(score('rand() + 10 * rand()', {}, ctxOf({ rand: queue(0.1, 0.2) })), 0.1 + 10 * 0.2);
    // rand(a, b) whose bound draws: the bound's draw comes first.
    assert.equal(score('rand(0, rand() * 100)', {}, ctxOf({ rand: queue(0.5, 0.1) })), 5);

    // Box–Muller with u1 = 0.25, u2 = 0.5: z = √(−2·ln(0.75))·cos(π).
    const z = -Math.sqrt(-2 * Math.log(0.75));
    assertClose(score('rand_normal()', {}, ctxOf({ rand: queue(0.25, 0.5) })), z);
    assertClose(score('rand_normal(0, 100, 10, 50)', {}, ctxOf({ rand: queue(0.25, 0.5) })), 50 + 10 * z);
    // u2 = 0 makes cos = 1; u1 near 1 makes z large: clamped to [a, b], bounds in either order.
    assert.equal(score('rand_normal(0, 60, 10, 50)', {}, ctxOf({ rand: queue(0.999, 0) })), 60);
    assert.equal(score('rand_normal(60, 0, 10, 50)', {}, ctxOf({ rand: queue(0.999, 0) })), 60);
    assert.equal(score('rand_normal(40, 60, 10, 50)', {}, ctxOf({ rand: queue(0.999, 0.5) })), 40);
    assert.equal(score('rand_normal(1, 2, 0, 0)', {}, ctxOf({ rand: queue(0.3, 0.7) })), 1);
  });

  it('is deterministic under a seeded rand and draws afresh on every evaluation', () => {
    const method = compileRankingMethod('lottery', { score: 'rand() + rand_normal(-1, 1, 0.3, 0) + rand(5, 6)' });
    const run = (seed: number) => {
      const ctx = ctxOf({ rand: seededRandom(seed) });
      return Array.from({ length: 20 }, (_, i) => method.evaluate({ id: String(i) }, ctx));
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
    assert.equal(new Set(run(7)).size, 20, 'rand is never folded into a constant');
    // Four draws per evaluation: rand(), two for rand_normal, one for rand(5, 6).
    let draws = 0;
    const counting = seededRandom(1);
    method.evaluate({}, ctxOf({ rand: () => (draws++, counting()) }));
    assert.equal(draws, 4);
  });

  it('converts to_unix_timestamp arguments that are time strings', () => {
    const published = Date.UTC(2024, 3, 30, 8, 30, 0) / 1000;
    assert.equal(score('to_unix_timestamp(custom.published)', { custom: { published: '2024-04-30T08:30:00Z' } }), published);
    assert.equal(score('to_unix_timestamp(published)', { published: '2024-04-30T08:30:00' }), published);
    assert.equal(score('to_unix_timestamp(published)', { published }), published);
    // Only a bare variable argument is read as a time; elsewhere a time string is not a number.
    assert.equal(score('published', { published: '2024-04-30T08:30:00' }), 0);
    assert.equal(score('to_unix_timestamp(published + 1)', { published: '2024-04-30T08:30:00' }), 1);
  });
});

describe('compileRankingMethod: comparisons, conditionals, sigmoid and clamp', () => {
  it('compares to 1 or 0 and picks a branch', () => {
    assert.equal(score('2 > 1'), 1);
    assert.equal(score('2 < 1'), 0);
    assert.equal(score('1 <= 1') + score('1 >= 2') + score('1 == 1') + score('1 != 1'), 2);
    assert.equal(score('likes > 10 ? 2 : 0.5', { likes: 11 }), 2);
    assert.equal(score('likes > 10 ? 2 : 0.5', { likes: 3 }), 0.5);
    assert.equal(score('a ? 1 : 2', { a: 0.001 }), 1);
    assert.equal(score('a ? 1 : 2', { a: 0 }), 2);
    assert.equal(score('0/0 ? 1 : 2'), 2, 'NaN is false');
    assert.equal(score('1 < 0/0'), 0);
  });

  it('compares a variable with a string, for equality only', () => {
    const f = '(p - 6 * n) * (selector_source == "following" ? 1.2 : 1)';
    assertClose(score(f, { p: 1, n: 0, selector_source: 'following' }), 1.2);
    assertClose(score(f, { p: 1, n: 0, selector_source: 'popular' }), 1);
    assert.equal(score('kind != "ad"', { kind: 'ad' }), 0);
    assert.equal(score('"7" == level', { level: 7 }), 1);
    assert.equal(score('x == "a"', {}, ctxOf({ vars: { x: 'a' } })), 1, 'ranking vars count too');
  });

  it('evaluates only the branch taken', () => {
    assert.equal(score('1 > 0 ? 5 : rand()'), 5);
    assert.equal(score('a > 0 ? 5 : rand()', { a: -1 }, ctxOf({ rand: queue(0.25) })), 0.25);
  });

  it('computes sigmoid and clamp', () => {
    assertClose(score('sigmoid(0)'), 0.5);
    assertClose(score('sigmoid(x)', { x: 2 }), 1 / (1 + Math.exp(-2)));
    assert.equal(score('clamp(x, -1, 1)', { x: 5 }), 1);
    assert.equal(score('clamp(x, -1, 1)', { x: -5 }), -1);
    assert.equal(score('clamp(x, -1, 1)', { x: 0.3 }), 0.3);
    assert.ok(Number.isNaN(score('clamp(0/0, 0, 1)')));
  });

  it('lists the variables a formula reads, strings compared included', () => {
    const m = compileRankingMethod('p', { score: 'interest_score * decay_exp(time) * (selector_source == "following" ? 2 : 1)' });
    assert.deepEqual(m.variables, ['interest_score', 'time', 'selector_source']);
  });
});

describe('compileRankingMethod: variables', () => {
  it('looks a variable up in the activity, then ranking vars, then defaults, else 0', () => {
    const method = compileRankingMethod('lookup', { score: 'x', defaults: { x: 3 } });
    const vars = { x: 2 };
    assert.equal(method.evaluate({ x: 1 }, ctxOf({ vars })), 1);
    assert.equal(method.evaluate({}, ctxOf({ vars })), 2);
    assert.equal(method.evaluate({}, ctxOf()), 3);
    assert.equal(method.evaluate({ x: null }, ctxOf({ vars: { x: null } })), 3, 'null counts as missing');
    assert.equal(score('y'), 0);
    assert.equal(score('y', {}, ctxOf({ vars: {} }), { x: 3 }), 0);
    // A present but non-numeric value is used (as 0) rather than falling through.
    assert.equal(method.evaluate({ x: 'high' }, ctxOf({ vars })), 0);
  });

  it('follows dots into nested fields of the activity and of ranking vars', () => {
    assert.equal(score('reaction_counts.like * 2', { reaction_counts: { like: 21 } }), 42);
    assert.equal(score('custom.topic.weight', { custom: { topic: { weight: 0.5 } } }), 0.5);
    assert.equal(score('tags.1', { tags: [5, 6] }), 6);
    assert.equal(score('user.boost', {}, ctxOf({ vars: { user: { boost: 4 } } })), 4);
    assert.equal(score('user.boost', {}, ctxOf({ vars: { 'user.boost': 5 } })), 5, 'a flat dotted key in ranking vars');
    assert.equal(score('reaction_counts.like', { reaction_counts: {} }, ctxOf({ vars: { reaction_counts: { like: 7 } } })), 7);
    assert.equal(score('reaction_counts.like', { reaction_counts: 3 }, ctxOf(), { 'reaction_counts.like': 1 }), 1);
    // Own properties only: inherited members are missing, not functions.
    assert.equal(score('custom.constructor', { custom: {} }, ctxOf(), { 'custom.constructor': 9 }), 9);
    assert.equal(score('toString'), 0);
  });

  it('turns values into numbers', () => {
    const table: [unknown, number][] = [
      [12.5, 12.5],
      ['12.5', 12.5],
      [' -3e2 ', -300],
      ['.5', 0.5],
      ['', 0],
      ['12abc', 0],
      ['0x10', 0],
      ['Infinity', 0],
      [true, 1],
      [false, 0],
      [{ a: 1 }, 0],
      [[1], 0],
      [10n, 10],
    ];
    for (const [value, expected] of table) assert.equal(score('v', { v: value }), expected, String(value));
    assert.equal(score('v', {}, ctxOf({ vars: { v: '4' } })), 4, 'ranking vars arrive as strings');
  });

  it('reads time as seconds since the epoch', () => {
    const base = Date.UTC(2024, 4, 1, 10, 0, 0) / 1000;
    assertClose(score('time', { time: '2024-05-01T10:00:00.123456' }), base + 0.123456, 'zoneless', 1e-15);
    assertClose(score('time', { time: '2024-05-01T10:00:00.123456Z' }), base + 0.123456, 'with Z', 1e-15);
    assert.equal(score('time', { time: '2024-05-01T10:00:00' }), base);
    assert.equal(score('time', { time: '2024-05-01T12:00:00+02:00' }), base);
    assert.equal(score('time', { time: base }), base, 'a numeric time is already seconds');
    assert.equal(score('time', { time: 'yesterday' }), 0);
    assert.equal(score('time', {}), 0);
    assert.equal(score('time - to_unix_timestamp(time)', { time: '2024-05-01T10:00:00' }), 0);
    assert.equal(score('(time - now) / 3600', { time: '2024-05-01T10:00:00' }, ctxOf({ vars: { now: NOW } })), -2);
  });

  it('captures every variable read, with the value used, into scoreVars', () => {
    const method = compileRankingMethod('vars', {
      score: 'likes * weight + boost + missing + likes + decay_linear(time)',
      defaults: { boost: 2 },
    });
    assert.deepEqual(method.variables, ['likes', 'weight', 'boost', 'missing', 'time']);
    const scoreVars: Record<string, number> = {};
    const value = method.evaluate({ likes: '3', time: '2024-05-01T12:00:00' }, ctxOf({ vars: { weight: 1.5 } }), scoreVars);
    assert.equal(value, 3 * 1.5 + 2 + 0 + 3 + 1);
    assert.deepEqual(scoreVars, { likes: 3, weight: 1.5, boost: 2, missing: 0, time: NOW });
    assert.deepEqual(Object.keys(scoreVars), ['likes', 'weight', 'boost', 'missing', 'time']);
    assert.deepEqual(compileRankingMethod('none', { score: 'rand() + 1' }).variables, []);
  });
});

describe('compileRankingMethod: config', () => {
  it('returns the method with its settings and defaults', () => {
    const method = compileRankingMethod('popular', { score: 'likes + boost', defaults: { boost: 1 }, window: 50 });
    assert.equal(method.name, 'popular');
    assert.equal(method.score, 'likes + boost');
    assert.deepEqual(method.defaults, { boost: 1 });
    assert.equal(method.window, 50);
    assert.ok(Object.isFrozen(method) && Object.isFrozen(method.defaults) && Object.isFrozen(method.variables));
    const plain = compileRankingMethod('plain', { score: '1' });
    assert.equal(plain.window, DEFAULT_WINDOW);
    assert.equal(plain.window, 1000);
    assert.deepEqual(plain.defaults, {});
    assert.equal(compileRankingMethod('max', { score: '1', window: 10_000 }).window, 10_000);
    assert.equal(compileRankingMethod('min', { score: '1', window: 1 }).window, 1);
  });

  it('rejects invalid formulas with the method name, the problem and its position', () => {
    const table: [string, number | undefined, RegExp][] = [
      ['1 +', 3, /after '\+' but the expression ends at position 3 \(near "1 \+"\)/],
      ['foo(', 4, /foo\( opened at position 3 is never closed/],
      ['unknown_fn(1)', 0, /unknown function 'unknown_fn' \(known: ln, log, .*decay_gauss\) at position 0/],
      ['constructor(1)', 0, /unknown function 'constructor'/],
      ['a.b(1)', 0, /unknown function 'a\.b'/],
      ['decay_linear()', 0, /decay_linear\(\) takes 1 to 4 arguments .*, got 0 at position 0/],
      ['1 + decay_exp(t, 1, 2, 0.5, 9)', 4, /decay_exp\(\) takes 1 to 4 arguments .*, got 5 at position 4/],
      ['ln()', 0, /ln\(\) takes exactly 1 argument, got 0/],
      ['ln(1, 2)', 0, /ln\(\) takes exactly 1 argument, got 2/],
      ['min()', 0, /min\(\) takes at least 1 argument, got 0/],
      ['rand(1)', 0, /rand\(\) takes 0 or 2 arguments, got 1/],
      ['rand_normal(1, 2)', 0, /rand_normal\(\) takes 0 or 4 arguments, got 2/],
      ['dist(1, 2, 3)', 0, /dist\(\) takes 4 or 5 arguments, got 3/],
      ['dist(1, 2, 3, 4, "yd")', 17, /dist\(\) unit must be "km" or "mi", got "yd"/],
      ['dist(1, 2, 3, 4, mi)', 17, /fifth argument is the unit and must be the string "km" or "mi"/],
      ['dist("1", 2, 3, 4)', 5, /string "1" is not allowed here/],
      ['decay_exp(t, 0)', 13, /decay_exp\(\): scale must be greater than 0, got 0/],
      ['decay_exp(t, -1)', 13, /scale must be greater than 0, got -1/],
      ['decay_gauss(t, 60, -1)', 19, /offset must be 0 or more, got -1/],
      ['decay_linear(t, 60, 0, 1)', 23, /decay must be between 0 and 1 \(exclusive\), got 1/],
      ['decay_linear(t, 60, 0, 0)', 23, /decay must be between 0 and 1/],
      ['1 ** 2', 2, /'\*\*' is not an operator; use '\^' for powers/],
      ['a..b', 1, /variable name 'a\.\.b' has an empty part after the dot/],
      ['"x"', 0, /string "x" is not allowed here; strings are only accepted as the unit of dist/],
      ['', undefined, /formula is empty/],
      ['a < "x"', 4, /a string can only be compared with == or != to a variable/],
      ['"x" == 1', 0, /a string can only be compared/],
      ['clamp(1, 2)', 0, /clamp\(\) takes exactly 3 arguments, got 2/],
      ['sigmoid()', 0, /sigmoid\(\) takes exactly 1 argument, got 0/],
      ['('.repeat(250) + '1' + ')'.repeat(250), 200, /nests deeper than 200 levels/],
      ['1' + '+1'.repeat(1000), undefined, /formula is 2001 characters long; the limit is 2000/],
    ];
    for (const [formula, position, message] of table) {
      const e = configError('popular', { score: formula });
      assert.match(e.message, /^ranking method "popular": invalid score: /, formula);
      assert.match(e.message, message, formula);
      assert.equal(e.position, position, `${formula}: ${e.message}`);
      assert.equal(e.method, 'popular');
      assert.equal(e.name, 'RankingConfigError');
      assert.ok(e instanceof Error);
    }
  });

  it('rejects invalid configs, defaults and windows', () => {
    const table: [unknown, RegExp][] = [
      [null, /config must be an object/],
      ['likes', /config must be an object/],
      [[{ score: '1' }], /config must be an object/],
      [{}, /score must be a formula string, got undefined/],
      [{ score: 3 }, /score must be a formula string, got 3/],
      [{ score: '1', default: {} }, /unknown setting "default"; a ranking method has score, defaults and window/],
      [{ score: '1', defaults: [1] }, /defaults must be an object of numbers, got \[1\]/],
      [{ score: '1', defaults: { boost: '1' } }, /defaults\.boost must be a finite number, got "1"/],
      [{ score: '1', defaults: { boost: null } }, /defaults\.boost must be a finite number, got null/],
      [{ score: '1', defaults: { boost: Infinity } }, /defaults\.boost must be a finite number, got Infinity/],
      [{ score: '1', window: 0 }, /window must be an integer from 1 to 10000, got 0/],
      [{ score: '1', window: 10_001 }, /window must be an integer from 1 to 10000, got 10001/],
      [{ score: '1', window: 2.5 }, /got 2\.5/],
      [{ score: '1', window: '100' }, /got "100"/],
    ];
    for (const [config, message] of table) {
      const e = configError('popular', config);
      assert.match(e.message, /^ranking method "popular": /);
      assert.match(e.message, message, JSON.stringify(config));
      assert.equal(e.position, undefined);
    }
    assert.match(configError('', { score: '1' }).message, /non-empty name/);
  });

  it('keeps a __proto__ default as a plain variable', () => {
    const defaults = JSON.parse('{"__proto__": 5}') as Record<string, number>;
    assert.equal(compileRankingMethod('proto', { score: '__proto__ + 1', defaults }).evaluate({}, ctxOf()), 6);
  });
});

describe('compileRankingMethod: compiled once', () => {
  it('does not parse again when scoring many activities', () => {
    const parse = mock.method(FormulaParser.prototype, 'parse');
    try {
      const method = compileRankingMethod('hot', {
        score: 'decay_gauss(time, 3600) * ln(1 + reaction_counts.like) + max(boost, 0) ^ 2 - dist(lat, lng, 52, 4) / 1000',
        defaults: { boost: 1 },
      });
      assert.equal(parse.mock.callCount(), 1);
      const ctx = ctxOf();
      let total = 0;
      for (let i = 0; i < 1000; i++) {
        total += method.evaluate({ id: String(i), time: NOW - i * 60, reaction_counts: { like: i }, lat: 52, lng: 4 }, ctx);
      }
      assert.ok(Number.isFinite(total));
      assert.equal(parse.mock.callCount(), 1, 'evaluate never re-parses the formula');
    } finally {
      parse.mock.restore();
    }
  });

  it('scores a 1000-term formula without deep-recursion trouble', () => {
    assert.equal(score('x' + '+x'.repeat(999), { x: 1 }), 1000);
    assert.equal(score('1' + '-1'.repeat(999)), -998);
  });
});

describe('compareScored', () => {
  it('orders by score descending, non-finite last, ties by id descending', () => {
    const entries = [
      { id: 'a', score: 1 },
      { id: 'n1', score: NaN },
      { id: 'b', score: 1 },
      { id: 'c', score: 5 },
      { id: 'inf', score: Infinity },
      { id: 'd', score: -2 },
      { id: 'ninf', score: -Infinity },
      { id: 'n2', score: NaN },
      { id: 'z', score: 0 },
      { id: 'y', score: -0 },
    ];
    assert.deepEqual(
      entries.sort(compareScored).map((e) => e.id),
      ['c', 'b', 'a', 'z', 'y', 'd', 'ninf', 'n2', 'n1', 'inf'],
    );
  });

  it('compares ids as plain strings and is consistent', () => {
    const a = { id: 'B', score: 1 };
    const b = { id: 'a', score: 1 };
    assert.equal(compareScored(a, b), 1, "'a' > 'B' in code-unit order, so 'a' comes first");
    assert.equal(compareScored(b, a), -1);
    assert.equal(compareScored(a, a), 0);
    assert.equal(compareScored({ id: 'x', score: 1e308 }, { id: 'x', score: -1e308 }), -1);
  });
});
