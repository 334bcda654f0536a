import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FORMULA_LENGTH, MAX_NESTING_DEPTH, parseFormula, type Expr } from './parse.js';
import { RankingConfigError } from './ranking-config-error.js';

/** Fully parenthesised rendering, so a test states the tree it expects in one readable string. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'variable':
      return e.name;
    case 'negate':
      return `(-${show(e.operand)})`;
    case 'binary':
      return `(${show(e.left)}${e.op}${show(e.right)})`;
    case 'call':
      return `${e.name}(${e.args.map(show).join(', ')})`;
    case 'compare':
      return `(${show(e.left)}${e.op}${show(e.right)})`;
    case 'conditional':
      return `(${show(e.test)}?${show(e.yes)}:${show(e.no)})`;
  }
}

function syntaxError(formula: string): RankingConfigError {
  try {
    parseFormula(formula);
  } catch (e) {
    assert.ok(e instanceof RankingConfigError, `${formula}: ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(formula)} to be rejected`);
}

describe('parseFormula', () => {
  it('applies precedence and associativity', () => {
    const table: [string, string][] = [
      ['-2^2', '(-(2^2))'],
      ['2^3^2', '(2^(3^2))'],
      ['2*3+4', '((2*3)+4)'],
      ['2+3*4', '(2+(3*4))'],
      ['(1+2)*3', '((1+2)*3)'],
      ['-(-3)', '(-(-3))'],
      ['1-2-3', '((1-2)-3)'],
      ['8/4/2', '((8/4)/2)'],
      ['8/4*2', '((8/4)*2)'],
      ['2^-1', '(2^(-1))'],
      ['-2^-2^2', '(-(2^(-(2^2))))'],
      ['2*-3', '(2*(-3))'],
      ['--1', '(-(-1))'],
      ['(2^3)^2', '((2^3)^2)'],
      ['a^b*c', '((a^b)*c)'],
      ['1 - -x.y', '(1-(-x.y))'],
    ];
    for (const [formula, tree] of table) assert.equal(show(parseFormula(formula)), tree, formula);
  });

  it('reads decimals, exponents and leading-dot numbers', () => {
    const table: [string, number][] = [
      ['0', 0],
      ['42', 42],
      ['3.25', 3.25],
      ['.5', 0.5],
      ['1.', 1],
      ['1e3', 1000],
      ['1E3', 1000],
      ['2.5e-4', 0.00025],
      ['6e+2', 600],
      ['007', 7],
    ];
    for (const [formula, value] of table) assert.deepEqual(parseFormula(formula), { kind: 'number', value, pos: 0 }, formula);
  });

  it('reads dotted variable names, calls and positions', () => {
    assert.equal(show(parseFormula('reaction_counts.like + custom.topic.score_2')), '(reaction_counts.like+custom.topic.score_2)');
    assert.equal(show(parseFormula('tags.0')), 'tags.0');
    assert.equal(show(parseFormula('max(1, a, b * 2)')), 'max(1, a, (b*2))');
    assert.equal(show(parseFormula('rand()')), 'rand()');
    assert.equal(show(parseFormula('ln (x)')), 'ln(x)');
    assert.equal(show(parseFormula('dist(1, 2, 3, 4, "mi")')), 'dist(1, 2, 3, 4, "mi")');
    assert.equal(show(parseFormula("dist(1, 2, 3, 4, 'km')")), 'dist(1, 2, 3, 4, "km")');
    assert.equal(show(parseFormula(' \t\n1\r\n')), '1');
    const e = parseFormula('1 + ln(likes)');
    assert.equal(e.kind, 'binary');
    if (e.kind === 'binary') {
      assert.equal(e.right.pos, 4);
      assert.equal(e.right.kind === 'call' && e.right.args[0].pos, 7);
    }
  });

  it('rejects malformed formulas, naming the problem and its position', () => {
    const table: [string, number | undefined, RegExp][] = [
      ['', undefined, /formula is empty/],
      ['   ', undefined, /formula is empty/],
      ['1 +', 3, /expected a number, variable, function call or '\(' after '\+' but the expression ends at position 3/],
      ['foo(', 4, /foo\( opened at position 3 is never closed/],
      ['max(1,', 6, /max\( opened at position 3 is never closed/],
      ['max(1', 5, /expected ',' or '\)' in the arguments of max\( opened at position 3 but the expression ends/],
      ['max(1,)', 6, /after ',' but found '\)'/],
      ['1 ** 2', 2, /'\*\*' is not an operator; use '\^' for powers at position 2/],
      ['1 * * 2', 4, /after '\*' but found '\*'/],
      ['a..b', 1, /variable name 'a\.\.b' has an empty part after the dot at position 1/],
      ['x + a.', 5, /variable name 'a\.' has an empty part/],
      ['.a', 0, /'\.' must join two parts of a variable name/],
      ['"x', 0, /unterminated string literal/],
      ['1 2', 2, /expected an operator or the end of the expression but found number '2'/],
      ['a b', 2, /found name 'b'/],
      ['(1', 2, /expected '\)' to close the '\(' at position 0 but the expression ends/],
      ['1)', 1, /'\)' without a matching '\('/],
      ['1, 2', 1, /',' outside of a function call's arguments/],
      ['()', 1, /found '\)'/],
      ['+1', 0, /unary '\+' is not supported/],
      ['a = 1', 2, /'=' is not an operator; use '==' to compare/],
      ['a && b', 2, /logical operators are not supported/],
      ['!a', 0, /logical operators are not supported/],
      ['1 < 2 < 3', 6, /comparisons cannot be chained/],
      ['a ? 1', 5, /expected ':' for the '\?' at position 2 but the expression ends/],
      ['a ? 1 , 2', 6, /expected ':'/],
      ['? 1 : 2', 0, /expected a number, variable, function call or '\('/],
      ['1 : 2', 2, /expected an operator or the end of the expression but found ':'/],
      ['5 % 2', 2, /unexpected character "%"/],
      ['2x', 0, /malformed number '2x'/],
      ['1.2.3', 0, /malformed number '1\.2\.3'/],
      ['1e', 0, /malformed number '1e'/],
      ['1e999', 0, /number '1e999' is out of range/],
      ['café', 3, /unexpected character "é"/],
    ];
    for (const [formula, position, message] of table) {
      const e = syntaxError(formula);
      assert.equal(e.position, position, `${formula}: ${e.message}`);
      assert.match(e.message, message, formula);
    }
  });

  it(`guards nesting at ${MAX_NESTING_DEPTH} levels`, () => {
    const nested = (k: number) => '('.repeat(k) + '1' + ')'.repeat(k);
    assert.equal(parseFormula(nested(MAX_NESTING_DEPTH - 1)).kind, 'number');
    assert.match(syntaxError(nested(MAX_NESTING_DEPTH)).message, /nests deeper than 200 levels at position 200/);
    assert.match(syntaxError(nested(900)).message, /nests deeper than 200 levels/);
    assert.match(syntaxError('-'.repeat(300) + '1').message, /nests deeper/);
    assert.match(syntaxError('2^'.repeat(300) + '2').message, /nests deeper/);
    assert.match(syntaxError('ln('.repeat(300) + '1' + ')'.repeat(300)).message, /nests deeper/);
    assert.match(syntaxError('1?1:'.repeat(300) + '1').message, /nests deeper/);
  });

  it('parses comparisons and the conditional, loosest of all and right-associative', () => {
    const table: [string, string][] = [
      ['a + 1 > b * 2', '((a+1)>(b*2))'],
      ['a <= 1', '(a<=1)'],
      ['a >= 1', '(a>=1)'],
      ['a == "following"', '(a=="following")'],
      ['a != 2', '(a!=2)'],
      ['a < 1 ? 2 : 3', '((a<1)?2:3)'],
      ['a ? b : c ? d : e', '(a?b:(c?d:e))'],
      ['a ? b ? 1 : 2 : 3', '(a?(b?1:2):3)'],
      ['x * (s == "f" ? 1.2 : 1)', '(x*((s=="f")?1.2:1))'],
      ['sigmoid(a > 0 ? a : 0)', 'sigmoid(((a>0)?a:0))'],
    ];
    for (const [formula, tree] of table) assert.equal(show(parseFormula(formula)), tree, formula);
  });

  it(`limits formulas to ${MAX_FORMULA_LENGTH} characters`, () => {
    const longest = '1' + '+1'.repeat(999) + ' ';
    assert.equal(longest.length, MAX_FORMULA_LENGTH);
    assert.equal(parseFormula(longest).kind, 'binary');
    const e = syntaxError(longest + ' ');
    assert.equal(e.position, undefined);
    assert.match(e.message, /formula is 2001 characters long; the limit is 2000/);
  });
});
