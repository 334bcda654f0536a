/**
 * Ranking method compiler (stream-v2-api.md §23.4): a feed group's `{score, defaults, window}`
 * becomes a scorer once, at config load; ranked reads only call it. The formula is parsed into
 * a syntax tree and turned into a tree of small closures — no `eval`, no `Function`, no
 * expression library — with constant sub-expressions folded at compile time.
 */
import { parseTime } from '../time.js';
import {
  clampedNormal,
  decayExp,
  decayGauss,
  decayLinear,
  DEFAULT_DECAY,
  DEFAULT_DECAY_OFFSET,
  DEFAULT_DECAY_SCALE,
  haversineKm,
  KM_PER_MILE,
  roundHalfAwayFromZero,
  standardNormal,
  uniform,
} from './functions.js';
import { parseFormula, type Expr } from './parse.js';
import { RankingConfigError } from './ranking-config-error.js';

export { RankingConfigError } from './ranking-config-error.js';

/** How many of a feed's newest entries are scored when a method sets no `window`. */
export const DEFAULT_WINDOW = 1000;
/** Largest accepted `window`. */
export const MAX_WINDOW = 10_000;

/** What a scorer may read besides the activity. Core has no clock or randomness of its own. */
export interface ScoreContext {
  /** The request's time in seconds since the epoch: the origin of the decay functions. */
  readonly nowSeconds: number;
  /** Uniform source in [0, 1) for `rand` and `rand_normal`; pass a seeded one for reproducible scores. */
  readonly rand: () => number;
  /** The request's `ranking_vars`, consulted after the activity's own fields. */
  readonly vars?: Readonly<Record<string, unknown>>;
}

/**
 * Scores one activity. Never throws; a NaN or ±Infinity score is returned as is (see
 * `compareScored`). When `scoreVars` is given, every variable the formula read is written into
 * it with the number used. `rand` draws happen in left-to-right order of the formula, a call's
 * arguments before its own draws, so a seeded `ctx.rand` gives reproducible scores.
 */
export type Scorer = (activity: Record<string, unknown>, ctx: ScoreContext, scoreVars?: Record<string, number>) => number;

/** A compiled ranking method. */
export interface RankingMethod {
  readonly name: string;
  /** The formula as configured. */
  readonly score: string;
  /** Fallback values for variables that neither the activity nor the request provides. */
  readonly defaults: Readonly<Record<string, number>>;
  /** How many of the feed's newest entries are scored (1..10,000, default 1,000). */
  readonly window: number;
  /** The variable names the formula reads, in order of first appearance, without duplicates. */
  readonly variables: readonly string[];
  readonly evaluate: Scorer;
  /**
   * Set on a method of type `personalized` (personalization.md §3.1): its read settings, opaque
   * here (`personalization/serving/settings.ts`); `evaluate` is then its score over the model's variables.
   */
  readonly personalized?: object;
}

type Run = (activity: Record<string, unknown>, ctx: ScoreContext, scoreVars: Record<string, number> | undefined) => number;

/** A compiled sub-expression; `constant` is set when it reads no variable, clock or randomness. */
interface Node {
  readonly run: Run;
  readonly constant?: number;
}

interface Arity {
  readonly accepts: (n: number) => boolean;
  readonly text: string;
}

const exactly = (k: number): Arity => ({ accepts: (n) => n === k, text: k === 1 ? 'exactly 1 argument' : `exactly ${k} arguments` });
const either = (a: number, b: number): Arity => ({ accepts: (n) => n === a || n === b, text: `${a} or ${b} arguments` });
const DECAY_ARITY: Arity = { accepts: (n) => n >= 1 && n <= 4, text: '1 to 4 arguments (t[, scale[, offset[, decay]]])' };
const VARIADIC: Arity = { accepts: (n) => n >= 1, text: 'at least 1 argument' };

const UNARY_FUNCTIONS: ReadonlyMap<string, (x: number) => number> = new Map<string, (x: number) => number>([
  ['ln', Math.log],
  ['log', Math.log10],
  ['round', roundHalfAwayFromZero],
  ['trunc', Math.trunc],
  ['abs', Math.abs],
  ['sin', Math.sin],
  ['cos', Math.cos],
  ['tan', Math.tan],
  // Times are already seconds by the time a formula sees them (see `toNumber`).
  ['to_unix_timestamp', (t) => t],
  ['sigmoid', (x) => 1 / (1 + Math.exp(-x))],
]);

const DECAY_FUNCTIONS = new Map([
  ['decay_linear', decayLinear],
  ['decay_exp', decayExp],
  ['decay_gauss', decayGauss],
]);

// A Map, not an object literal, so `constructor(1)` or `toString(1)` are unknown functions.
const ARITIES: ReadonlyMap<string, Arity> = new Map<string, Arity>([
  ...[...UNARY_FUNCTIONS.keys()].map((name): [string, Arity] => [name, exactly(1)]),
  ['min', VARIADIC],
  ['max', VARIADIC],
  ['rand', either(0, 2)],
  ['rand_normal', either(0, 4)],
  ['dist', either(4, 5)],
  ['clamp', exactly(3)],
  ...[...DECAY_FUNCTIONS.keys()].map((name): [string, Arity] => [name, DECAY_ARITY]),
]);

const NUMERIC_STRING = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * A looked-up value as the number a formula uses: numbers as is, numeric strings converted,
 * booleans 1/0, everything else 0. Where a time is expected (`time`, or a variable passed
 * straight to `to_unix_timestamp`), a time string (§4.3, UTC when zoneless) becomes seconds.
 */
function toNumber(value: unknown, asTime: boolean): number {
  switch (typeof value) {
    case 'number':
      return value;
    case 'boolean':
      return value ? 1 : 0;
    case 'string': {
      if (NUMERIC_STRING.test(value)) return Number(value);
      if (asTime) {
        const us = parseTime(value);
        if (us !== null) return us / 1e6;
      }
      return 0;
    }
    case 'bigint':
      return Number(value);
    default:
      return 0;
  }
}

/**
 * The value of `name` in `source`: the own property of that exact name, else the nested path of
 * its dot-separated parts. Own properties only, so `custom.constructor` is missing rather than a
 * function. `undefined` and `null` count as missing so the lookup falls through.
 */
function lookup(source: unknown, name: string, path: readonly string[] | undefined): unknown {
  if (typeof source !== 'object' || source === null) return undefined;
  if (Object.hasOwn(source, name)) {
    const v = (source as Record<string, unknown>)[name];
    if (v !== undefined && v !== null) return v;
  }
  if (path === undefined) return undefined;
  let cur: unknown = source;
  for (let i = 0; i < path.length; i++) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, path[i])) return undefined;
    cur = (cur as Record<string, unknown>)[path[i]];
  }
  return cur === null ? undefined : cur;
}

const NO_ACTIVITY: Record<string, unknown> = Object.freeze({});
// Folding only runs nodes that read neither the clock nor randomness.
const FOLD_CONTEXT: ScoreContext = Object.freeze({
  nowSeconds: Number.NaN,
  rand: () => {
    throw new Error('unreachable: a folded ranking sub-expression drew a random number');
  },
});

/** The truth of a condition: any number but 0 and NaN. */
function isTrue(x: number): boolean {
  return x !== 0 && !Number.isNaN(x);
}

function constantNode(value: number): Node {
  return { run: () => value, constant: value };
}

/** Evaluates `run` now when all its inputs are constants (the caller vouches it is otherwise pure). */
function fold(run: Run, inputs: readonly Node[]): Node {
  for (const input of inputs) if (input.constant === undefined) return { run };
  return constantNode(run(NO_ACTIVITY, FOLD_CONTEXT, undefined));
}

function fail(detail: string, pos: number): never {
  throw new RankingConfigError(`${detail} at position ${pos}`, { position: pos });
}

class Compiler {
  readonly #defaults: Readonly<Record<string, number>>;
  readonly variables: string[] = [];

  constructor(defaults: Readonly<Record<string, number>>) {
    this.#defaults = defaults;
  }

  /** `asTime` marks the direct argument of `to_unix_timestamp`; it does not reach deeper. */
  compile(expr: Expr, asTime = false): Node {
    switch (expr.kind) {
      case 'number':
        return constantNode(expr.value);
      case 'string':
        return fail(`string ${JSON.stringify(expr.value)} is not allowed here; strings are only accepted as the unit of dist(lat1, lng1, lat2, lng2, "km" | "mi")`, expr.pos);
      case 'variable':
        return this.#variable(expr.name, asTime);
      case 'negate': {
        const operand = this.compile(expr.operand);
        const x = operand.run;
        return fold((a, c, s) => -x(a, c, s), [operand]);
      }
      case 'binary': {
        const left = this.compile(expr.left);
        const right = this.compile(expr.right);
        const l = left.run;
        const r = right.run;
        let run: Run;
        switch (expr.op) {
          case '+':
            run = (a, c, s) => l(a, c, s) + r(a, c, s);
            break;
          case '-':
            run = (a, c, s) => l(a, c, s) - r(a, c, s);
            break;
          case '*':
            run = (a, c, s) => l(a, c, s) * r(a, c, s);
            break;
          case '/':
            run = (a, c, s) => l(a, c, s) / r(a, c, s);
            break;
          case '^':
            run = (a, c, s) => l(a, c, s) ** r(a, c, s);
            break;
        }
        return fold(run, [left, right]);
      }
      case 'call':
        return this.#call(expr);
      case 'compare':
        return this.#compare(expr);
      case 'conditional': {
        const test = this.compile(expr.test);
        const yes = this.compile(expr.yes);
        const no = this.compile(expr.no);
        if (test.constant !== undefined) return isTrue(test.constant) ? yes : no;
        const t = test.run;
        const y = yes.run;
        const n = no.run;
        // Only the chosen branch runs, so a branch's rand() draws happen only when it is taken.
        return { run: (a, c, s) => (isTrue(t(a, c, s)) ? y(a, c, s) : n(a, c, s)) };
      }
    }
  }

  #compare(expr: Extract<Expr, { kind: 'compare' }>): Node {
    const { op } = expr;
    const stringSide = expr.left.kind === 'string' ? expr.left : expr.right.kind === 'string' ? expr.right : null;
    if (stringSide !== null) {
      // `selector_source == "following"`: a string compares with a variable's text, for equality only.
      const other = stringSide === expr.left ? expr.right : expr.left;
      if ((op !== '==' && op !== '!=') || other.kind !== 'variable') {
        fail(`a string can only be compared with == or != to a variable, as in selector_source == "following"`, stringSide.pos);
      }
      const node = this.#textVariable(other.name);
      const want = stringSide.value;
      const eq = op === '==';
      return { run: (a, c, s) => ((node(a, c, s) === want) === eq ? 1 : 0) };
    }
    const left = this.compile(expr.left);
    const right = this.compile(expr.right);
    const l = left.run;
    const r = right.run;
    let run: Run;
    switch (op) {
      case '<':
        run = (a, c, s) => (l(a, c, s) < r(a, c, s) ? 1 : 0);
        break;
      case '<=':
        run = (a, c, s) => (l(a, c, s) <= r(a, c, s) ? 1 : 0);
        break;
      case '>':
        run = (a, c, s) => (l(a, c, s) > r(a, c, s) ? 1 : 0);
        break;
      case '>=':
        run = (a, c, s) => (l(a, c, s) >= r(a, c, s) ? 1 : 0);
        break;
      case '==':
        run = (a, c, s) => (l(a, c, s) === r(a, c, s) ? 1 : 0);
        break;
      case '!=':
        run = (a, c, s) => (l(a, c, s) !== r(a, c, s) ? 1 : 0);
        break;
    }
    return fold(run, [left, right]);
  }

  /** A variable read as text (for string comparisons): strings as is, numbers and booleans as written, else ''. */
  #textVariable(name: string): (activity: Record<string, unknown>, ctx: ScoreContext, scoreVars: Record<string, number> | undefined) => string {
    if (!this.variables.includes(name)) this.variables.push(name);
    const path = name.includes('.') ? Object.freeze(name.split('.')) : undefined;
    return (activity, ctx) => {
      let raw = lookup(activity, name, path);
      if (raw === undefined && ctx.vars !== undefined) raw = lookup(ctx.vars, name, path);
      return typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : '';
    };
  }

  #variable(name: string, asTime: boolean): Node {
    if (!this.variables.includes(name)) this.variables.push(name);
    const path = name.includes('.') ? Object.freeze(name.split('.')) : undefined;
    const fallback = Object.hasOwn(this.#defaults, name) ? this.#defaults[name] : 0;
    const timeLike = asTime || name === 'time';
    return {
      run: (activity, ctx, scoreVars) => {
        let raw = lookup(activity, name, path);
        if (raw === undefined && ctx.vars !== undefined) raw = lookup(ctx.vars, name, path);
        const value = raw === undefined ? fallback : toNumber(raw, timeLike);
        if (scoreVars !== undefined) scoreVars[name] = value;
        return value;
      },
    };
  }

  #call(expr: Extract<Expr, { kind: 'call' }>): Node {
    const { name, pos } = expr;
    const arity = ARITIES.get(name);
    if (arity === undefined) {
      fail(`unknown function '${name}' (known: ${[...ARITIES.keys()].join(', ')})`, pos);
    }
    if (!arity.accepts(expr.args.length)) {
      fail(`${name}() takes ${arity.text}, got ${expr.args.length}`, pos);
    }
    if (name === 'dist') return this.#dist(expr);
    const args = expr.args.map((arg) => this.compile(arg, name === 'to_unix_timestamp'));
    const runs = args.map((arg) => arg.run);

    const unary = UNARY_FUNCTIONS.get(name);
    if (unary !== undefined) {
      const x = runs[0];
      return fold((a, c, s) => unary(x(a, c, s)), args);
    }
    const decay = DECAY_FUNCTIONS.get(name);
    if (decay !== undefined) return this.#decay(name, decay, expr, args);

    switch (name) {
      case 'min':
      case 'max': {
        const pick = name === 'min' ? Math.min : Math.max;
        if (runs.length === 1) return args[0];
        if (runs.length === 2) {
          const [x, y] = runs;
          return fold((a, c, s) => pick(x(a, c, s), y(a, c, s)), args);
        }
        // Math.min/max propagate NaN, so folding pairwise equals the n-ary call.
        return fold((a, c, s) => {
          let acc = runs[0](a, c, s);
          for (let i = 1; i < runs.length; i++) acc = pick(acc, runs[i](a, c, s));
          return acc;
        }, args);
      }
      case 'clamp': {
        const [x, lo, hi] = runs;
        // clamp(x, lo, hi) = min(max(x, lo), hi); NaN stays NaN.
        return fold((a, c, s) => Math.min(Math.max(x(a, c, s), lo(a, c, s)), hi(a, c, s)), args);
      }
      case 'rand': {
        if (runs.length === 0) return { run: (_a, c) => c.rand() };
        const [lo, hi] = runs;
        return {
          run: (a, c, s) => {
            const from = lo(a, c, s);
            const to = hi(a, c, s);
            return uniform(c.rand, from, to);
          },
        };
      }
      case 'rand_normal': {
        if (runs.length === 0) return { run: (_a, c) => standardNormal(c.rand) };
        const [lo, hi, sigma, mu] = runs;
        return {
          run: (a, c, s) => {
            const from = lo(a, c, s);
            const to = hi(a, c, s);
            const sd = sigma(a, c, s);
            const mean = mu(a, c, s);
            return clampedNormal(c.rand, from, to, sd, mean);
          },
        };
      }
      default:
        // ARITIES and the cases above list the same names; a new entry without a case lands here.
        throw new Error(`ranking function '${name}' has an arity but no implementation`);
    }
  }

  #dist(expr: Extract<Expr, { kind: 'call' }>): Node {
    let divisor = 1;
    if (expr.args.length === 5) {
      const unit = expr.args[4];
      if (unit.kind !== 'string') {
        fail(`dist()'s fifth argument is the unit and must be the string "km" or "mi"`, unit.pos);
      }
      if (unit.value !== 'km' && unit.value !== 'mi') {
        fail(`dist() unit must be "km" or "mi", got ${JSON.stringify(unit.value)}`, unit.pos);
      }
      divisor = unit.value === 'mi' ? KM_PER_MILE : 1;
    }
    const args = expr.args.slice(0, 4).map((arg) => this.compile(arg));
    const [lat1, lng1, lat2, lng2] = args.map((arg) => arg.run);
    return fold((a, c, s) => haversineKm(lat1(a, c, s), lng1(a, c, s), lat2(a, c, s), lng2(a, c, s)) / divisor, args);
  }

  #decay(name: string, decay: typeof decayLinear, expr: Extract<Expr, { kind: 'call' }>, given: readonly Node[]): Node {
    const [t, scale = constantNode(DEFAULT_DECAY_SCALE), offset = constantNode(DEFAULT_DECAY_OFFSET), factor = constantNode(DEFAULT_DECAY)] = given;
    // Constant parameters are checked now; variable ones make the score NaN when out of range.
    const check = (node: Node, index: number, ok: (v: number) => boolean, rule: string): void => {
      if (node.constant !== undefined && !ok(node.constant)) {
        fail(`${name}(): ${rule}, got ${node.constant}`, expr.args[index].pos);
      }
    };
    check(scale, 1, (v) => v > 0, 'scale must be greater than 0');
    check(offset, 2, (v) => v >= 0, 'offset must be 0 or more');
    check(factor, 3, (v) => v > 0 && v < 1, 'decay must be between 0 and 1 (exclusive)');
    const tr = t.run;
    const sr = scale.run;
    const or = offset.run;
    const fr = factor.run;
    // Never folded: the origin is the request's time.
    return { run: (a, c, s) => decay(c.nowSeconds, tr(a, c, s), sr(a, c, s), or(a, c, s), fr(a, c, s)) };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}

function near(formula: string, position: number): string {
  const from = Math.max(0, position - 16);
  const to = Math.min(formula.length, position + 16);
  return (from > 0 ? '…' : '') + formula.slice(from, to) + (to < formula.length ? '…' : '');
}

/**
 * Compiles one ranking method of a feed group. Call it at config load; the returned
 * `evaluate` does no parsing and no allocation beyond what the formula's functions need, and
 * costs one closure call per syntax node (constants are folded).
 *
 * Semantics (stream-v2-api.md §23.4):
 * - A variable is the activity's field (nested by dots), else `ctx.vars[name]`, else
 *   `defaults[name]`, else 0; `null` counts as missing. Values become numbers: numbers as is,
 *   numeric strings converted, booleans 1/0, anything else 0. `time` is the activity time in
 *   seconds since the epoch (the stored zoneless UTC string is parsed), with fractions.
 * - `^` is right-associative and binds tighter than unary minus: `-2^2` is -4, `2^3^2` is 512.
 * - `rand(a, b)` is uniform in [a, b); `rand_normal()` is a standard normal draw (Box–Muller, two
 *   `ctx.rand` calls); `rand_normal(a, b, sigma, mu)` is a normal(mu, sigma) draw clamped to [a, b].
 * - `dist(lat1, lng1, lat2, lng2[, "km" | "mi"])` is the haversine distance on a 6,371 km sphere.
 * - `decay_linear|decay_exp|decay_gauss(t[, scale[, offset[, decay]]])` measure d = max(0,
 *   |ctx.nowSeconds − t| − offset); scale must be > 0, offset ≥ 0 and decay in (0, 1) — checked
 *   here when constant, NaN at scoring time when a variable breaks them.
 *
 * @param name The method's name, as used in `ranking=`.
 * @param config `{"score": "<formula>", "defaults"?: {"<var>": <number>}, "window"?: <1..10000>}`;
 *   other keys are rejected.
 * @throws RankingConfigError naming the method, the problem and, for formula problems, the
 *   0-based `position` in `score`.
 *
 * @example
 *   const popular = compileRankingMethod('popular', {
 *     score: 'decay_exp(time) * ln(reaction_counts.like + boost + 1)',
 *     defaults: { boost: 0 },
 *   });
 *   const score = popular.evaluate(
 *     { id: 'a1', time: '2024-05-01T10:00:00', reaction_counts: { like: 9 } },
 *     { nowSeconds: 1714564800, rand: seededRandom },
 *   ); // 0.5^(2h / 24h) · ln(10)
 */
export function compileRankingMethod(name: string, config: unknown): RankingMethod {
  if (typeof name !== 'string' || name === '') throw new RankingConfigError('a ranking method needs a non-empty name');
  const where = `ranking method ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)}`;
  const error = (detail: string, extra?: { position?: number; cause?: unknown }) =>
    new RankingConfigError(`${where}: ${detail}`, { method: name, ...extra });

  if (!isPlainObject(config)) throw error('config must be an object like {"score": "<formula>", "defaults": {...}}');
  for (const key of Object.keys(config)) {
    if (key !== 'score' && key !== 'defaults' && key !== 'window') {
      throw error(`unknown setting ${JSON.stringify(key)}; a ranking method has score, defaults and window`);
    }
  }

  const score = config.score;
  if (typeof score !== 'string') throw error(`score must be a formula string, got ${show(score)}`);

  const defaults: Record<string, number> = {};
  if (config.defaults !== undefined) {
    if (!isPlainObject(config.defaults)) throw error(`defaults must be an object of numbers, got ${show(config.defaults)}`);
    for (const [key, value] of Object.entries(config.defaults)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw error(`defaults.${key} must be a finite number, got ${show(value)}`);
      }
      Object.defineProperty(defaults, key, { value, enumerable: true, writable: false, configurable: false });
    }
  }

  const window = config.window ?? DEFAULT_WINDOW;
  if (typeof window !== 'number' || !Number.isInteger(window) || window < 1 || window > MAX_WINDOW) {
    throw error(`window must be an integer from 1 to ${MAX_WINDOW}, got ${show(window)}`);
  }

  const compiler = new Compiler(defaults);
  let root: Node;
  try {
    root = compiler.compile(parseFormula(score));
  } catch (e) {
    if (!(e instanceof RankingConfigError)) throw e;
    const context = e.position === undefined ? '' : ` (near ${JSON.stringify(near(score, e.position))})`;
    throw error(`invalid score: ${e.message}${context}`, { position: e.position, cause: e });
  }

  return Object.freeze({
    name,
    score,
    defaults: Object.freeze(defaults),
    window,
    variables: Object.freeze(compiler.variables.slice()),
    evaluate: root.run,
  });
}

/**
 * Orders ranked entries: higher score first, non-finite scores (NaN, ±Infinity) after all finite
 * ones, ties — including among non-finite scores — by id descending (plain string comparison:
 * pass a time-first key, such as the hex of an activity's sort key, for "newest first"; UUID
 * text starts with the low time bits). A total order, suitable for `Array.prototype.sort`.
 *
 * @example [{ score: NaN, id: 'c' }, { score: 1, id: 'a' }, { score: 1, id: 'b' }].sort(compareScored)
 *   // ids: b, a, c
 */
export function compareScored(a: { readonly score: number; readonly id: string }, b: { readonly score: number; readonly id: string }): number {
  const aFinite = Number.isFinite(a.score);
  const bFinite = Number.isFinite(b.score);
  if (aFinite !== bFinite) return aFinite ? -1 : 1;
  if (aFinite && a.score !== b.score) return a.score > b.score ? -1 : 1;
  return a.id > b.id ? -1 : a.id < b.id ? 1 : 0;
}
