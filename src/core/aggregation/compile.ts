/**
 * Aggregation formats (stream-v2-api.md §7.1, §23.3): a Jinja-like template over an activity that
 * yields the key of the group the activity joins in an aggregated or notification feed. A format
 * is compiled once, when the feed group's config is loaded, into closures; computing a key parses
 * nothing.
 */
import { formatActivityTime } from '../time.js';
import { AggregationFormatError } from './format-error.js';
import { tokenize } from './lexer.js';
import { parse, type Expr, type Node, type Step } from './parser.js';
import { breakDownTime, compileStrftime, type BrokenDownTime } from './strftime.js';

export { AggregationFormatError } from './format-error.js';

/**
 * Stream's default: the verb and the UTC date of the activity time.
 *
 * @example compileAggregationFormat(DEFAULT_AGGREGATION_FORMAT)(input) === 'like_2024-05-01'
 */
export const DEFAULT_AGGREGATION_FORMAT = "{{ verb }}_{{ time.strftime('%Y-%m-%d') }}";

const MAX_FORMAT_LENGTH = 1000;

/** What a group key is computed from: one activity as it is being written to one feed. */
export interface AggregationInput {
  /**
   * The stored activity (§5.1): `actor`, `verb`, `object`, `target`, `time`, `foreign_id`, custom
   * fields. Read only through own properties.
   */
  readonly activity: Readonly<Record<string, unknown>>;
  /** The activity time in microseconds since the epoch; `time` in a format always comes from here. */
  readonly timeUs: number;
  /** The slug of the feed being written (`feed.group`). */
  readonly feedGroup: string;
  /** The user id of the feed being written (`feed.user_id`). */
  readonly feedUserId: string;
}

/** A compiled aggregation format: pure, never throws for a well-formed input, cheap to call. */
export type GroupKeyFn = (input: AggregationInput) => string;

/**
 * Compiles an aggregation format into its group-key function.
 *
 * Syntax — a Jinja subset:
 * - `{{ expr }}` renders a value: strings as-is, numbers with `String()`, booleans as `True` /
 *   `False`, null and anything missing as an empty string, objects and arrays as JSON.
 * - Variables: `verb`, `actor`, `object`, `target`, `foreign_id`, `id` and custom fields, with dot
 *   or bracket access into nested values (`extra.a.b`, `tags.0`, `extra['a-b']`); `verb.id`,
 *   `verb.infinitive` and `actor.id` are the plain string (formats written for Stream's older
 *   engine); `feed.group` and `feed.user_id` (`feed` is reserved, it hides a custom field of that
 *   name); `time` (renders as `2024-05-01T10:00:00.123456`), `time.year` … `time.microsecond`, and
 *   `time.strftime('<format>')` with Python's strftime in UTC (see {@link compileStrftime}).
 * - `{% if %}` / `{% elif %}` / `{% else %}` / `{% endif %}`, nestable. Conditions are Python-truthy
 *   (empty string, 0, false, null, missing, `{}` and `[]` are false) and may use `not`, `and`,
 *   `or`, parentheses and `==` / `!=` against a string, number, `true`, `false` or `none`
 *   (comparisons follow Python: `1 == true`, `'1' != 1`; a missing variable equals `none`).
 * - `{# comments #}`; `{{-`, `-}}`, `{%-`, `-%}` trim the whitespace beside the tag; one trailing
 *   newline of the format is dropped, as Jinja does.
 *
 * Throws {@link AggregationFormatError}, naming the position, for an empty format or one longer
 * than 1000 characters, an unterminated `{{`, `{%`, `{#` or string, an unknown or unbalanced tag,
 * a malformed expression, filters and operators outside the subset, and any call other than
 * `time.strftime('…')` with one quoted argument.
 *
 * @example
 *   const key = compileAggregationFormat("{{ actor }}:{% if verb == 'like' %}likes{% else %}{{ verb }}{% endif %}");
 *   key({ activity: { actor: 'SU:alice', verb: 'like' }, timeUs: 0, feedGroup: 'notification', feedUserId: 'bob' });
 *   // 'SU:alice:likes'
 */
export function compileAggregationFormat(format: string): GroupKeyFn {
  if (typeof format !== 'string') throw new AggregationFormatError('', 'the format must be a string', -1);
  if (format.length === 0) throw new AggregationFormatError(format, 'the format is empty', -1);
  if (format.length > MAX_FORMAT_LENGTH) {
    throw new AggregationFormatError(
      format,
      `the format is ${format.length} characters long`,
      -1,
      `at most ${MAX_FORMAT_LENGTH} are allowed`,
    );
  }
  // Jinja drops a single trailing newline of a template (keep_trailing_newline=False); a format
  // written as a YAML block would otherwise end every key with "\n".
  const source = format.replace(/(?:\r\n|\n|\r)$/, '');
  return compileNodes(parse(format, tokenize(source)));
}

type Render = (input: AggregationInput) => string;
type Eval = (input: AggregationInput) => unknown;
type Test = (input: AggregationInput) => boolean;

/** The value of `time`: a datetime, not a string, so comparisons and truthiness follow Python. */
class TimeValue {
  readonly us: number;
  constructor(us: number) {
    this.us = us;
  }
}

const TIME_ATTRIBUTES: Readonly<Record<string, (t: BrokenDownTime) => number>> = {
  year: (t) => t.year,
  month: (t) => t.month,
  day: (t) => t.day,
  hour: (t) => t.hour,
  minute: (t) => t.minute,
  second: (t) => t.second,
  microsecond: (t) => t.microsecond,
};

const nothing: Eval = () => undefined;

function compileNodes(nodes: readonly Node[]): Render {
  const parts: (string | Render)[] = [];
  for (const node of nodes) {
    const part = compileNode(node);
    const last = parts.length - 1;
    if (typeof part === 'string' && last >= 0 && typeof parts[last] === 'string') parts[last] += part;
    else parts.push(part);
  }
  const renders = parts.map((p): Render => (typeof p === 'string' ? () => p : p));
  if (renders.length === 0) return () => '';
  if (renders.length === 1) return renders[0];
  if (renders.length === 2) {
    const [a, b] = renders;
    return (input) => a(input) + b(input);
  }
  return (input) => {
    let out = '';
    for (const r of renders) out += r(input);
    return out;
  };
}

function compileNode(node: Node): string | Render {
  switch (node.kind) {
    case 'text':
      return node.text;
    case 'output':
      return compileOutput(node.expr);
    case 'if': {
      const tests = node.branches.map((b) => compileTest(b.test));
      const bodies = node.branches.map((b) => compileNodes(b.body));
      const otherwise = compileNodes(node.otherwise);
      if (tests.length === 1) {
        const [test] = tests;
        const [body] = bodies;
        return (input) => (test(input) ? body(input) : otherwise(input));
      }
      return (input) => {
        for (let i = 0; i < tests.length; i++) if (tests[i](input)) return bodies[i](input);
        return otherwise(input);
      };
    }
  }
}

function compileOutput(expr: Expr): string | Render {
  if (expr.kind === 'literal') return renderValue(expr.value);
  if (expr.kind === 'strftime') {
    const strftime = compileStrftime(expr.format);
    return (input) => strftime(input.timeUs);
  }
  const value = compileExpr(expr);
  return (input) => renderValue(value(input));
}

function compileExpr(expr: Expr): Eval {
  switch (expr.kind) {
    case 'literal': {
      const { value } = expr;
      return () => value;
    }
    case 'strftime': {
      const strftime = compileStrftime(expr.format);
      return (input) => strftime(input.timeUs);
    }
    case 'path':
      return compilePath(expr.root, expr.steps);
    case 'and': {
      // Python's `and`/`or` yield an operand, so `{{ target or 'none' }}` renders a fallback.
      const left = compileExpr(expr.left);
      const right = compileExpr(expr.right);
      return (input) => {
        const l = left(input);
        return truthy(l) ? right(input) : l;
      };
    }
    case 'or': {
      const left = compileExpr(expr.left);
      const right = compileExpr(expr.right);
      return (input) => {
        const l = left(input);
        return truthy(l) ? l : right(input);
      };
    }
    case 'not':
    case 'compare':
      return compileTest(expr);
  }
}

function compileTest(expr: Expr): Test {
  switch (expr.kind) {
    case 'literal': {
      const value = truthy(expr.value);
      return () => value;
    }
    case 'not': {
      const operand = compileTest(expr.operand);
      return (input) => !operand(input);
    }
    case 'and': {
      const left = compileTest(expr.left);
      const right = compileTest(expr.right);
      return (input) => left(input) && right(input);
    }
    case 'or': {
      const left = compileTest(expr.left);
      const right = compileTest(expr.right);
      return (input) => left(input) || right(input);
    }
    case 'compare': {
      const negate = expr.op === '!=';
      // The common shape, `verb == 'like'`, is a plain string comparison.
      const [other, literal] =
        expr.right.kind === 'literal'
          ? [expr.left, expr.right.value]
          : expr.left.kind === 'literal'
            ? [expr.right, expr.left.value]
            : [undefined, undefined];
      if (other !== undefined && typeof literal === 'string') {
        const value = compileExpr(other);
        return negate ? (input) => value(input) !== literal : (input) => value(input) === literal;
      }
      const left = compileExpr(expr.left);
      const right = compileExpr(expr.right);
      return negate ? (input) => !pyEquals(left(input), right(input)) : (input) => pyEquals(left(input), right(input));
    }
    default: {
      const value = compileExpr(expr);
      return (input) => truthy(value(input));
    }
  }
}

function compilePath(root: string, steps: readonly Step[]): Eval {
  if (root === 'time') {
    if (steps.length === 0) return (input) => new TimeValue(input.timeUs);
    const [name] = steps;
    const attribute = typeof name === 'string' && Object.hasOwn(TIME_ATTRIBUTES, name) ? TIME_ATTRIBUTES[name] : undefined;
    // An int has no attributes: `time.year.x` is as missing as `time.era`.
    if (attribute === undefined || steps.length > 1) return nothing;
    return (input) => attribute(breakDownTime(input.timeUs));
  }
  if (root === 'feed') {
    if (steps.length === 0) return (input) => ({ group: input.feedGroup, user_id: input.feedUserId });
    if (steps.length > 1) return nothing;
    if (steps[0] === 'group') return (input) => input.feedGroup;
    if (steps[0] === 'user_id') return (input) => input.feedUserId;
    return nothing;
  }
  const isAlias =
    (root === 'verb' && (steps[0] === 'id' || steps[0] === 'infinitive')) || (root === 'actor' && steps[0] === 'id');
  if (isAlias) {
    return (input) => {
      const v = own(input.activity, root);
      if (typeof v === 'string') return steps.length === 1 ? v : undefined;
      return walk(v, steps);
    };
  }
  if (steps.length === 0) return (input) => own(input.activity, root);
  if (steps.length === 1) {
    const [step] = steps;
    return (input) => walk1(own(input.activity, root), step);
  }
  return (input) => walk(own(input.activity, root), steps);
}

function own(value: object, key: string): unknown {
  // Own properties only: a format must never reach `constructor`, `__proto__` and the like.
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function walk1(value: unknown, step: Step): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) return typeof step === 'number' && step < value.length ? value[step] : undefined;
  return own(value, String(step));
}

function walk(value: unknown, steps: readonly Step[]): unknown {
  let v = value;
  for (const step of steps) {
    v = walk1(v, step);
    if (v === undefined) return undefined;
  }
  return v;
}

function truthy(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      return value.length > 0;
    case 'number':
      return value !== 0; // NaN is truthy in Python too
    case 'boolean':
      return value;
    case 'object':
      if (value === null) return false;
      if (Array.isArray(value)) return value.length > 0;
      if (value instanceof TimeValue) return true;
      for (const key in value) if (Object.hasOwn(value, key)) return true;
      return false;
    default:
      return value !== undefined;
  }
}

function renderValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'object':
      if (value === null) return '';
      if (value instanceof TimeValue) return formatActivityTime(value.us);
      return JSON.stringify(value);
    default:
      return '';
  }
}

/** Python `==` over JSON values, the time, and missing (equal to `none`). */
function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || a === null) return b === undefined || b === null;
  const ta = typeof a;
  const tb = typeof b;
  // bool is an int in Python: True == 1.
  if ((ta === 'number' || ta === 'boolean') && (tb === 'number' || tb === 'boolean')) return Number(a) === Number(b);
  if (ta !== 'object' || tb !== 'object' || b === null) return false;
  if (a instanceof TimeValue || b instanceof TimeValue) {
    return a instanceof TimeValue && b instanceof TimeValue && a.us === b.us;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra);
  return keys.length === Object.keys(rb).length && keys.every((k) => Object.hasOwn(rb, k) && pyEquals(ra[k], rb[k]));
}
