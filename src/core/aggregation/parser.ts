/**
 * Parses the tokens of an aggregation format into a small syntax tree. Grammar (a Jinja subset,
 * stream-v2-api.md §7.1, §23.3):
 *
 * ```
 * template := (text | '{{' expr '}}' | if)*
 * if       := '{%' 'if' expr '%}' template ('{%' 'elif' expr '%}' template)*
 *             ('{%' 'else' '%}' template)? '{%' 'endif' '%}'
 * expr     := and ('or' and)*
 * and      := not ('and' not)*
 * not      := 'not' not | compare
 * compare  := value (('==' | '!=') value)?
 * value    := string | number | '-' number | true | false | none | '(' expr ')'
 *           | 'time' '.' 'strftime' '(' string ')'
 *           | name ('.' name | '.' integer | '[' string ']' | '[' integer ']')*
 * ```
 */
import { AggregationFormatError } from './format-error.js';
import type { Delimited, ExprToken, TemplateToken } from './lexer.js';

/** A path step: an attribute or key (string) or an array index (number). */
export type Step = string | number;

export type Expr =
  | { readonly kind: 'literal'; readonly value: string | number | boolean | null }
  | { readonly kind: 'path'; readonly root: string; readonly steps: readonly Step[] }
  | { readonly kind: 'strftime'; readonly format: string }
  | { readonly kind: 'not'; readonly operand: Expr }
  | { readonly kind: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'compare'; readonly op: '==' | '!='; readonly left: Expr; readonly right: Expr };

export type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'output'; readonly expr: Expr }
  | {
      readonly kind: 'if';
      readonly branches: readonly { readonly test: Expr; readonly body: readonly Node[] }[];
      readonly otherwise: readonly Node[];
    };

const KEYWORD_LITERALS: Readonly<Record<string, boolean | null>> = {
  true: true, True: true, false: false, False: false, none: null, None: null,
};
const RESERVED = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'elif', 'endif']);
const BLOCK_TAGS = new Set(['if', 'elif', 'else', 'endif']);

/**
 * Parses a tokenized format. Throws {@link AggregationFormatError} for unknown or unbalanced tags and
 * bad expressions.
 *
 * @example
 *   parse('{{ verb }}', tokenize('{{ verb }}'));
 *   // [{ kind: 'output', expr: { kind: 'path', root: 'verb', steps: [] } }]
 */
export function parse(format: string, tokens: readonly TemplateToken[]): Node[] {
  return new TemplateParser(format, tokens).parseTemplate();
}

type Tag = Delimited<'tag'>;

class TemplateParser {
  readonly #format: string;
  readonly #tokens: readonly TemplateToken[];
  #i = 0;

  constructor(format: string, tokens: readonly TemplateToken[]) {
    this.#format = format;
    this.#tokens = tokens;
  }

  parseTemplate(): Node[] {
    return this.#parseNodes(false).nodes;
  }

  #fail(problem: string, position: number, hint?: string): AggregationFormatError {
    return new AggregationFormatError(this.#format, problem, position, hint);
  }

  /** Parses until the end, or (inside an `if`) until an `elif`/`else`/`endif` tag, which it returns. */
  #parseNodes(insideIf: boolean): { nodes: Node[]; stop?: Tag } {
    const nodes: Node[] = [];
    while (this.#i < this.#tokens.length) {
      const t = this.#tokens[this.#i++];
      if (t.type === 'text') {
        nodes.push({ kind: 'text', text: t.value });
        continue;
      }
      if (t.type === 'output') {
        if (t.tokens.length === 0) throw this.#fail("empty '{{ }}'", t.pos, 'expected an expression');
        nodes.push({ kind: 'output', expr: parseExpression(this.#format, t.tokens, t.end) });
        continue;
      }
      const first = t.tokens[0];
      if (first === undefined) throw this.#fail("empty '{% %}'", t.pos, 'expected if, elif, else or endif');
      if (first.type !== 'name') {
        throw this.#fail(`unexpected ${describe(first)}`, first.pos, 'expected if, elif, else or endif');
      }
      if (first.value === 'if') nodes.push(this.#parseIf(t));
      else if (BLOCK_TAGS.has(first.value)) {
        if (insideIf) return { nodes, stop: t };
        throw this.#fail(`'${first.value}' without a matching 'if'`, t.pos);
      } else throw this.#fail(`unknown tag '${first.value}'`, first.pos, 'supported tags: if, elif, else, endif');
    }
    return { nodes };
  }

  #parseIf(open: Tag): Node {
    const branches: { test: Expr; body: Node[] }[] = [];
    let otherwise: Node[] = [];
    let test: Expr | undefined = this.#condition(open, 'if');
    for (;;) {
      const { nodes, stop } = this.#parseNodes(true);
      if (!stop) throw this.#fail("unclosed 'if'", open.pos, "expected '{% endif %}'");
      if (test) branches.push({ test, body: nodes });
      else otherwise = nodes;
      const name = tagName(stop);
      if (name === 'endif' || name === 'else') this.#noArguments(stop, name);
      if (name === 'endif') return { kind: 'if', branches, otherwise };
      if (!test) throw this.#fail(`'${name}' after 'else'`, stop.pos, "expected '{% endif %}'");
      test = name === 'elif' ? this.#condition(stop, 'elif') : undefined;
    }
  }

  #condition(t: Tag, name: string): Expr {
    if (t.tokens.length === 1) throw this.#fail(`'${name}' without a condition`, t.end);
    return parseExpression(this.#format, t.tokens.slice(1), t.end);
  }

  #noArguments(t: Tag, name: string): void {
    const extra = t.tokens[1];
    if (extra === undefined) return;
    const hint = name === 'else' && extra.type === 'name' && extra.value === 'if' ? "use '{% elif … %}'" : undefined;
    throw this.#fail(`unexpected ${describe(extra)} after '${name}'`, extra.pos, hint);
  }
}

/** The name of a tag the template parser has already checked (`if`, `elif`, `else` or `endif`). */
function tagName(t: Tag): string {
  return String(t.tokens[0].value);
}

function describe(t: ExprToken | undefined): string {
  if (t === undefined) return 'end of expression';
  if (t.type === 'string') return `string ${JSON.stringify(t.value)}`;
  return `'${t.value}'`;
}

/** Parses one expression that must use every token; `end` is where its closing delimiter starts. */
function parseExpression(format: string, tokens: readonly ExprToken[], end: number): Expr {
  const p = new ExprParser(format, tokens, end);
  const e = p.parseOr();
  p.expectEnd();
  return e;
}

class ExprParser {
  readonly #format: string;
  readonly #tokens: readonly ExprToken[];
  readonly #end: number;
  #i = 0;

  constructor(format: string, tokens: readonly ExprToken[], end: number) {
    this.#format = format;
    this.#tokens = tokens;
    this.#end = end;
  }

  #peek(): ExprToken | undefined {
    return this.#tokens[this.#i];
  }

  #isOp(value: string): boolean {
    const t = this.#peek();
    return t?.type === 'op' && t.value === value;
  }

  #isName(value: string): boolean {
    const t = this.#peek();
    return t?.type === 'name' && t.value === value;
  }

  #fail(problem: string, t: ExprToken | undefined, hint?: string): AggregationFormatError {
    return new AggregationFormatError(this.#format, problem, t?.pos ?? this.#end, hint);
  }

  #unexpected(t: ExprToken | undefined, expected: string): AggregationFormatError {
    return this.#fail(`unexpected ${describe(t)}`, t, unsupportedHint(t) ?? `expected ${expected}`);
  }

  #expectOp(value: string, expected: string): void {
    if (!this.#isOp(value)) throw this.#unexpected(this.#peek(), expected);
    this.#i++;
  }

  expectEnd(): void {
    const t = this.#peek();
    if (t !== undefined) throw this.#unexpected(t, "'and', 'or', '==', '!=' or the end of the expression");
  }

  parseOr(): Expr {
    let left = this.parseAnd();
    while (this.#isName('or')) {
      this.#i++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  parseAnd(): Expr {
    let left = this.parseNot();
    while (this.#isName('and')) {
      this.#i++;
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  parseNot(): Expr {
    if (this.#isName('not')) {
      this.#i++;
      return { kind: 'not', operand: this.parseNot() };
    }
    return this.#parseCompare();
  }

  #parseCompare(): Expr {
    const left = this.#parseValue();
    const t = this.#peek();
    if (t?.type !== 'op' || (t.value !== '==' && t.value !== '!=')) return left;
    this.#i++;
    const right = this.#parseValue();
    const again = this.#peek();
    if (again?.type === 'op' && (again.value === '==' || again.value === '!=')) {
      throw this.#fail('chained comparison', again, "use 'and' between comparisons");
    }
    return { kind: 'compare', op: t.value, left, right };
  }

  #parseValue(): Expr {
    const t = this.#peek();
    if (t === undefined) throw this.#unexpected(t, 'a value');
    this.#i++;
    switch (t.type) {
      case 'string':
        return { kind: 'literal', value: t.value };
      case 'number':
        return { kind: 'literal', value: t.value };
      case 'op': {
        if (t.value === '(') {
          const inner = this.parseOr();
          this.#expectOp(')', "')'");
          return inner;
        }
        const n = this.#peek();
        if (t.value === '-' && n?.type === 'number') {
          this.#i++;
          return { kind: 'literal', value: -n.value };
        }
        throw this.#unexpected(t, 'a value');
      }
      case 'name': {
        if (Object.hasOwn(KEYWORD_LITERALS, t.value)) return { kind: 'literal', value: KEYWORD_LITERALS[t.value] };
        if (RESERVED.has(t.value)) throw this.#unexpected(t, 'a value');
        return this.#parsePath(t);
      }
    }
  }

  #parsePath(rootToken: ExprToken & { type: 'name' }): Expr {
    const root = rootToken.value;
    const steps: Step[] = [];
    for (;;) {
      if (this.#isOp('.')) {
        this.#i++;
        const s = this.#peek();
        if (s?.type === 'name') steps.push(s.value);
        else if (s?.type === 'number' && s.integer) steps.push(s.value);
        else throw this.#unexpected(s, "an attribute name after '.'");
        this.#i++;
      } else if (this.#isOp('[')) {
        this.#i++;
        const s = this.#peek();
        if (s?.type === 'string') steps.push(s.value);
        else if (s?.type === 'number' && s.integer) steps.push(s.value);
        else throw this.#unexpected(s, "a quoted key or an index after '['");
        this.#i++;
        this.#expectOp(']', "']'");
      } else if (this.#isOp('(')) {
        return this.#parseCall(rootToken, steps);
      } else {
        if (root === 'time' && steps[0] === 'strftime') {
          throw this.#fail("'time.strftime' without arguments", rootToken, "e.g. time.strftime('%Y-%m-%d')");
        }
        return { kind: 'path', root, steps };
      }
    }
  }

  /** The only call is `time.strftime('<format>')`; its format is compiled with the template. */
  #parseCall(rootToken: ExprToken & { type: 'name' }, steps: readonly Step[]): Expr {
    const root = rootToken.value;
    const method = steps[steps.length - 1];
    const name = [root, ...steps].join('.');
    if (method === undefined) {
      throw this.#fail(`unknown function '${root}()'`, rootToken, "only time.strftime('<format>') can be called");
    }
    if (method !== 'strftime') {
      throw this.#fail(`unknown method '${name}()'`, rootToken, "only time.strftime('<format>') can be called");
    }
    if (root !== 'time' || steps.length !== 1) {
      throw this.#fail(`'${name}()' is not available`, rootToken, "strftime() can only be called on 'time'");
    }
    this.#i++;
    const arg = this.#peek();
    if (arg?.type !== 'string') {
      throw this.#fail('strftime() needs one quoted format', arg, "e.g. time.strftime('%Y-%m-%d')");
    }
    this.#i++;
    if (!this.#isOp(')')) {
      throw this.#fail('strftime() takes exactly one quoted format', this.#peek(), "e.g. time.strftime('%Y-%m-%d')");
    }
    this.#i++;
    return { kind: 'strftime', format: arg.value };
  }
}

/** Explains Jinja syntax this subset leaves out. */
function unsupportedHint(t: ExprToken | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (t.type === 'name') {
    if (t.value === 'in' || t.value === 'is') {
      return `'${t.value}' tests are not supported; use ==, != or a plain condition`;
    }
    if (t.value === 'if' || t.value === 'else') return "inline 'if' is not supported; use {% if %} … {% endif %}";
    return undefined;
  }
  if (t.type !== 'op') return undefined;
  switch (t.value) {
    case '|':
      return 'filters are not supported';
    case '<': case '>': case '<=': case '>=':
      return 'only == and != comparisons are supported';
    case '=':
      return "use '==' to compare";
    case '!':
      return "use 'not' to negate";
    case '+': case '-': case '*': case '/': case '//': case '%': case '**': case '~':
      return 'arithmetic and concatenation are not supported';
    default:
      return undefined;
  }
}
