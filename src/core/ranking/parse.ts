/**
 * Ranking formula parser (stream-v2-api.md §23.4): text → syntax tree. No evaluation and no
 * knowledge of functions here; `compile.ts` checks names and arities and builds the scorer.
 *
 * Grammar, loosest binding first:
 * ```
 * expression := comparison ('?' expression ':' expression)?   -- right-associative: a ? b : c ? d : e
 * comparison := additive (('<' | '<=' | '>' | '>=' | '==' | '!=') additive)?   -- not chained
 * additive   := term (('+' | '-') term)*
 * term       := unary (('*' | '/') unary)*
 * unary      := '-' unary | power
 * power      := primary ('^' unary)?          -- right-associative, tighter than unary minus
 * primary    := number | string | name | name '(' [expression (',' expression)*] ')' | '(' expression ')'
 * number     := 12 | 1.5 | .5 | 1e3 | 2.5E-4
 * name       := [A-Za-z_][A-Za-z0-9_]* ('.' [A-Za-z0-9_]+)*     -- dots reach nested fields
 * string     := "..." | '...'                 -- dist()'s unit, or one side of == / != (checked by the compiler)
 * ```
 * So `-2^2` is `-(2^2)`, `2^3^2` is `2^(3^2)` and `2^-1` is `2^(-1)`.
 */
import { RankingConfigError } from './ranking-config-error.js';

/** Longest accepted formula, in UTF-16 code units. */
export const MAX_FORMULA_LENGTH = 2000;
/** Deepest accepted nesting (parentheses, call arguments, unary minus, exponents), bounding recursion. */
export const MAX_NESTING_DEPTH = 200;

export type BinaryOperator = '+' | '-' | '*' | '/' | '^';

export type ComparisonOperator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** A node of the syntax tree. `pos` is the 0-based index of the node's first character in the formula. */
export type Expr =
  | { readonly kind: 'number'; readonly value: number; readonly pos: number }
  | { readonly kind: 'string'; readonly value: string; readonly pos: number }
  | { readonly kind: 'variable'; readonly name: string; readonly pos: number }
  | { readonly kind: 'negate'; readonly operand: Expr; readonly pos: number }
  | { readonly kind: 'binary'; readonly op: BinaryOperator; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly pos: number }
  | { readonly kind: 'compare'; readonly op: ComparisonOperator; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly kind: 'conditional'; readonly test: Expr; readonly yes: Expr; readonly no: Expr; readonly pos: number };

type Token =
  | { readonly type: 'number'; readonly text: string; readonly value: number; readonly pos: number }
  | { readonly type: 'string'; readonly text: string; readonly value: string; readonly pos: number }
  | { readonly type: 'name'; readonly text: string; readonly pos: number }
  | { readonly type: '+' | '-' | '*' | '/' | '^' | '(' | ')' | ',' | '?' | ':'; readonly text: string; readonly pos: number }
  | { readonly type: 'compare'; readonly op: ComparisonOperator; readonly text: string; readonly pos: number }
  | { readonly type: 'end'; readonly text: ''; readonly pos: number };

const NUMBER_RE = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME_RE = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]*)*/y;
const WORD_TAIL_RE = /[A-Za-z0-9_.]*/y;
const PUNCTUATION = new Set(['+', '-', '*', '/', '^', '(', ')', ',', '?', ':']);

function fail(detail: string, pos: number): never {
  throw new RankingConfigError(`${detail} at position ${pos}`, { position: pos });
}

function matchAt(re: RegExp, text: string, pos: number): string {
  re.lastIndex = pos;
  const m = re.exec(text);
  return m === null ? '' : m[0];
}

/** Splits a formula into tokens, ending with one `end` token. Throws RankingConfigError on bad characters. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if ((c >= '0' && c <= '9') || (c === '.' && text[i + 1] >= '0' && text[i + 1] <= '9')) {
      const lexeme = matchAt(NUMBER_RE, text, i);
      const tail = matchAt(WORD_TAIL_RE, text, i + lexeme.length);
      if (tail !== '') fail(`malformed number '${lexeme}${tail}'`, i);
      const value = Number(lexeme);
      if (!Number.isFinite(value)) fail(`number '${lexeme}' is out of range`, i);
      tokens.push({ type: 'number', text: lexeme, value, pos: i });
      i += lexeme.length;
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_') {
      const lexeme = matchAt(NAME_RE, text, i);
      const emptyPart = lexeme.split('.').findIndex((part) => part === '');
      if (emptyPart > 0) {
        const dot = i + lexeme.split('.').slice(0, emptyPart).join('.').length;
        fail(`variable name '${lexeme}' has an empty part after the dot`, dot);
      }
      tokens.push({ type: 'name', text: lexeme, pos: i });
      i += lexeme.length;
    } else if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1);
      if (close < 0) fail('unterminated string literal', i);
      tokens.push({ type: 'string', text: text.slice(i, close + 1), value: text.slice(i + 1, close), pos: i });
      i = close + 1;
    } else if (c === '*' && text[i + 1] === '*') {
      fail("'**' is not an operator; use '^' for powers", i);
    } else if (PUNCTUATION.has(c)) {
      tokens.push({ type: c as '+', text: c, pos: i });
      i++;
    } else if (c === '<' || c === '>' || ((c === '=' || c === '!') && text[i + 1] === '=')) {
      const op = (text[i + 1] === '=' ? c + '=' : c) as ComparisonOperator;
      tokens.push({ type: 'compare', op, text: op, pos: i });
      i += op.length;
    } else if (c === '=') {
      fail("'=' is not an operator; use '==' to compare", i);
    } else if ('!&|'.includes(c)) {
      fail(`'${c}': logical operators are not supported; multiply comparisons for "and", or use c ? a : b`, i);
    } else if (c === '.') {
      fail("'.' must join two parts of a variable name", i);
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`, i);
    }
  }
  tokens.push({ type: 'end', text: '', pos: text.length });
  return tokens;
}

function describe(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'the expression ends';
    case 'number':
      return `found number '${token.text}'`;
    case 'name':
      return `found name '${token.text}'`;
    case 'string':
      return `found string ${token.text}`;
    default:
      return `found '${token.text}'`;
  }
}

/**
 * Recursive-descent parser over one formula. Construct, then call `parse()` once. Use
 * `parseFormula` unless you need the class itself (tests count `parse` calls through its prototype).
 *
 * @example new FormulaParser('2 * likes').parse().kind === 'binary'
 */
export class FormulaParser {
  readonly #text: string;
  #tokens: Token[] = [];
  #at = 0;
  #depth = 0;

  constructor(text: string) {
    this.#text = text;
  }

  /** Parses the whole formula. Throws RankingConfigError naming the problem and its position. */
  parse(): Expr {
    const text = this.#text;
    if (text.length > MAX_FORMULA_LENGTH) {
      throw new RankingConfigError(`formula is ${text.length} characters long; the limit is ${MAX_FORMULA_LENGTH}`);
    }
    if (text.trim() === '') throw new RankingConfigError('formula is empty');
    this.#tokens = tokenize(text);
    this.#at = 0;
    this.#depth = 0;
    const expr = this.#expression();
    const rest = this.#peek();
    if (rest.type !== 'end') {
      if (rest.type === ',') fail("',' outside of a function call's arguments", rest.pos);
      if (rest.type === ')') fail("')' without a matching '('", rest.pos);
      fail(`expected an operator or the end of the expression but ${describe(rest)}`, rest.pos);
    }
    return expr;
  }

  #peek(): Token {
    return this.#tokens[this.#at];
  }

  #next(): Token {
    const t = this.#tokens[this.#at];
    if (t.type !== 'end') this.#at++;
    return t;
  }

  #expression(): Expr {
    const test = this.#comparison();
    if (this.#peek().type !== '?') return test;
    const q = this.#next();
    // Branches recurse here directly, not through #unary: count them too, so nesting stays bounded.
    if (++this.#depth > MAX_NESTING_DEPTH) fail(`expression nests deeper than ${MAX_NESTING_DEPTH} levels`, q.pos);
    const yes = this.#expression();
    const colon = this.#next();
    if (colon.type !== ':') fail(`expected ':' for the '?' at position ${q.pos} but ${describe(colon)}`, colon.pos);
    const no = this.#expression();
    this.#depth--;
    return { kind: 'conditional', test, yes, no, pos: test.pos };
  }

  #comparison(): Expr {
    const left = this.#additive();
    const t = this.#peek();
    if (t.type !== 'compare') return left;
    this.#next();
    const right = this.#additive();
    const again = this.#peek();
    if (again.type === 'compare') fail(`comparisons cannot be chained ('${t.text}' then '${again.text}'); use parentheses`, again.pos);
    return { kind: 'compare', op: t.op, left, right, pos: left.pos };
  }

  #additive(): Expr {
    let left = this.#term();
    for (let t = this.#peek(); t.type === '+' || t.type === '-'; t = this.#peek()) {
      this.#next();
      left = { kind: 'binary', op: t.type, left, right: this.#term(), pos: left.pos };
    }
    return left;
  }

  #term(): Expr {
    let left = this.#unary();
    for (let t = this.#peek(); t.type === '*' || t.type === '/'; t = this.#peek()) {
      this.#next();
      left = { kind: 'binary', op: t.type, left, right: this.#unary(), pos: left.pos };
    }
    return left;
  }

  // Every recursion (parentheses, arguments, unary minus, exponents) passes through here, so
  // this one counter bounds the parser's, the compiler's and the scorer's stack depth.
  #unary(): Expr {
    const t = this.#peek();
    if (++this.#depth > MAX_NESTING_DEPTH) fail(`expression nests deeper than ${MAX_NESTING_DEPTH} levels`, t.pos);
    let expr: Expr;
    if (t.type === '-') {
      this.#next();
      expr = { kind: 'negate', operand: this.#unary(), pos: t.pos };
    } else if (t.type === '+') {
      fail("unary '+' is not supported", t.pos);
    } else {
      expr = this.#power();
    }
    this.#depth--;
    return expr;
  }

  #power(): Expr {
    const base = this.#primary();
    if (this.#peek().type !== '^') return base;
    this.#next();
    return { kind: 'binary', op: '^', left: base, right: this.#unary(), pos: base.pos };
  }

  #primary(): Expr {
    const index = this.#at;
    const t = this.#next();
    switch (t.type) {
      case 'number':
        return { kind: 'number', value: t.value, pos: t.pos };
      case 'string':
        return { kind: 'string', value: t.value, pos: t.pos };
      case 'name':
        if (this.#peek().type === '(') return this.#call(t.text, t.pos);
        return { kind: 'variable', name: t.text, pos: t.pos };
      case '(': {
        const inner = this.#expression();
        const close = this.#next();
        if (close.type !== ')') fail(`expected ')' to close the '(' at position ${t.pos} but ${describe(close)}`, close.pos);
        return inner;
      }
      default: {
        const after = index > 0 ? ` after '${this.#tokens[index - 1].text}'` : '';
        fail(`expected a number, variable, function call or '('${after} but ${describe(t)}`, t.pos);
      }
    }
  }

  #call(name: string, pos: number): Expr {
    const open = this.#next(); // '('
    const args: Expr[] = [];
    if (this.#peek().type === ')') {
      this.#next();
      return { kind: 'call', name, args, pos };
    }
    for (;;) {
      const end = this.#peek();
      if (end.type === 'end') fail(`${name}( opened at position ${open.pos} is never closed: expected an argument`, end.pos);
      args.push(this.#expression());
      const t = this.#next();
      if (t.type === ')') return { kind: 'call', name, args, pos };
      if (t.type !== ',') {
        fail(`expected ',' or ')' in the arguments of ${name}( opened at position ${open.pos} but ${describe(t)}`, t.pos);
      }
    }
  }
}

/**
 * Parses a ranking formula into its syntax tree.
 *
 * @example parseFormula('-2^2') // { kind: 'negate', operand: { kind: 'binary', op: '^', ... } }
 * @throws RankingConfigError for empty, too long, too deep or malformed formulas.
 */
export function parseFormula(text: string): Expr {
  return new FormulaParser(text).parse();
}
