/**
 * Splits an aggregation format into text and `{{ … }}` / `{% … %}` tokens, the delimiters'
 * contents already split into expression tokens. `{# … #}` comments are dropped; the `-` trim
 * markers (`{{-`, `-}}`, `{%-`, `-%}`, `{#-`, `-#}`) are applied to the neighbouring text here, as
 * Jinja does.
 */
import { AggregationFormatError } from './format-error.js';

/** A token inside `{{ … }}` or `{% … %}`; `pos` is its offset in the format. */
export type ExprToken =
  | { readonly type: 'name'; readonly value: string; readonly pos: number }
  | { readonly type: 'string'; readonly value: string; readonly pos: number }
  | { readonly type: 'number'; readonly value: number; readonly integer: boolean; readonly pos: number }
  | { readonly type: 'op'; readonly value: string; readonly pos: number };

/** The contents of `{{ … }}` (output) or `{% … %}` (tag); `end` is where the closing delimiter starts. */
export interface Delimited<T extends 'output' | 'tag'> {
  readonly type: T;
  readonly tokens: readonly ExprToken[];
  readonly pos: number;
  readonly end: number;
}

/** `pos` is where the token starts in the format. */
export type TemplateToken =
  | { readonly type: 'text'; readonly value: string; readonly pos: number }
  | Delimited<'output'>
  | Delimited<'tag'>;

const OPS2 = ['==', '!=', '<=', '>=', '**', '//'];
const OPS1 = '.()[],|-+*/%~<>=:{}!';
const NAME_START = /[\p{L}_]/u;
const NAME = /[\p{L}_][\p{L}\p{N}_]*/uy;
const INTEGER = /\d+/y;
const NUMBER = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0',
};
const OPENERS: Readonly<Record<string, { readonly name: string; readonly close: string }>> = {
  '{': { name: '{{', close: '}}' },
  '%': { name: '{%', close: '%}' },
  '#': { name: '{#', close: '#}' },
};

/**
 * Tokenizes a whole format. Throws {@link AggregationFormatError} for an unterminated delimiter or
 * string, or a character no expression can contain.
 *
 * @example tokenize('{{ verb }}_x') // [{ type: 'output', tokens: [name verb] … }, { type: 'text', value: '_x' … }]
 */
export function tokenize(format: string): TemplateToken[] {
  const out: TemplateToken[] = [];
  let trimNext = false;
  let p = 0;

  const pushText = (value: string, pos: number): void => {
    const v = trimNext ? value.trimStart() : value;
    if (v !== '') out.push({ type: 'text', value: v, pos });
  };
  const trimPrevious = (): void => {
    const last = out[out.length - 1];
    if (last?.type !== 'text') return;
    const v = last.value.trimEnd();
    if (v === '') out.pop();
    else out[out.length - 1] = { type: 'text', value: v, pos: last.pos };
  };

  while (p < format.length) {
    let open = format.indexOf('{', p);
    while (open >= 0 && !Object.hasOwn(OPENERS, format[open + 1] ?? '')) open = format.indexOf('{', open + 1);
    if (open < 0) {
      pushText(format.slice(p), p);
      break;
    }
    pushText(format.slice(p, open), p);
    const opener = OPENERS[format[open + 1]];
    let q = open + 2;
    if (format[q] === '-') {
      q++;
      trimPrevious();
    }
    if (opener.name === '{#') {
      const close = format.indexOf('#}', q);
      if (close < 0) throw new AggregationFormatError(format, "unterminated comment '{#'", open, "expected '#}'");
      trimNext = close > q && format[close - 1] === '-';
      p = close + 2;
      continue;
    }
    const { tokens, end, trimRight, next } = lexExpression(format, q, open, opener.name, opener.close);
    out.push(
      opener.name === '{{' ? { type: 'output', tokens, pos: open, end } : { type: 'tag', tokens, pos: open, end },
    );
    trimNext = trimRight;
    p = next;
  }
  return out;
}

function lexExpression(
  format: string,
  start: number,
  open: number,
  openName: string,
  close: string,
): { tokens: ExprToken[]; end: number; trimRight: boolean; next: number } {
  const tokens: ExprToken[] = [];
  let p = start;
  for (;;) {
    while (p < format.length && ' \t\r\n'.includes(format[p])) p++;
    if (p >= format.length) {
      throw new AggregationFormatError(format, `unterminated '${openName}'`, open, `expected '${close}'`);
    }
    if (format.startsWith(close, p)) return { tokens, end: p, trimRight: false, next: p + 2 };
    if (format[p] === '-' && format.startsWith(close, p + 1)) return { tokens, end: p, trimRight: true, next: p + 3 };
    const c = format[p];
    if (NAME_START.test(c)) {
      NAME.lastIndex = p;
      const name = NAME.exec(format)![0];
      tokens.push({ type: 'name', value: name, pos: p });
      p += name.length;
    } else if (c >= '0' && c <= '9') {
      // After a dot only an index can follow: `tags.0.1` is two steps, not the float 0.1.
      const prev = tokens[tokens.length - 1];
      const re = prev?.type === 'op' && prev.value === '.' ? INTEGER : NUMBER;
      re.lastIndex = p;
      const digits = re.exec(format)![0];
      tokens.push({ type: 'number', value: Number(digits), integer: /^\d+$/.test(digits), pos: p });
      p += digits.length;
    } else if (c === "'" || c === '"') {
      const { value, next } = lexString(format, p);
      tokens.push({ type: 'string', value, pos: p });
      p = next;
    } else {
      const two = format.slice(p, p + 2);
      const op = OPS2.includes(two) ? two : OPS1.includes(c) ? c : undefined;
      if (op === undefined) {
        throw new AggregationFormatError(format, `unexpected character ${JSON.stringify(c)} in '${openName}'`, p);
      }
      tokens.push({ type: 'op', value: op, pos: p });
      p += op.length;
    }
  }
}

/** A quoted string with Python's common escapes; an unknown escape keeps its backslash, as in Python. */
function lexString(format: string, start: number): { value: string; next: number } {
  const quote = format[start];
  let value = '';
  let p = start + 1;
  while (p < format.length) {
    const c = format[p];
    if (c === quote) return { value, next: p + 1 };
    if (c === '\\' && p + 1 < format.length) {
      const e = format[p + 1];
      value += Object.hasOwn(ESCAPES, e) ? ESCAPES[e] : c + e;
      p += 2;
    } else {
      value += c;
      p++;
    }
  }
  throw new AggregationFormatError(format, 'unterminated string', start, `expected a closing ${quote}`);
}
