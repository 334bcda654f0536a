import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AggregationFormatError,
  compileAggregationFormat,
  DEFAULT_AGGREGATION_FORMAT,
  type AggregationInput,
} from './compile.js';

// 2024-05-01T09:05:07.004200Z, a Wednesday.
const TIME_US = 1_714_554_307_004_200;

function input(activity: Record<string, unknown> = {}, overrides: Partial<AggregationInput> = {}): AggregationInput {
  return {
    activity: {
      id: '92872680-07a1-11ef-8080-80a1b2c3d4e5',
      actor: 'SU:alice',
      verb: 'like',
      object: 'SO:post:1',
      target: '',
      time: '2024-05-01T09:05:07.004200',
      foreign_id: 'like:1',
      origin: null,
      ...activity,
    },
    timeUs: TIME_US,
    feedGroup: 'notification',
    feedUserId: 'bob',
    ...overrides,
  };
}

function render(format: string, activity?: Record<string, unknown>, overrides?: Partial<AggregationInput>): string {
  return compileAggregationFormat(format)(input(activity, overrides));
}

describe('compileAggregationFormat: variables', () => {
  it('groups by verb and UTC day with the default format', () => {
    assert.equal(DEFAULT_AGGREGATION_FORMAT, "{{ verb }}_{{ time.strftime('%Y-%m-%d') }}");
    assert.equal(render(DEFAULT_AGGREGATION_FORMAT), 'like_2024-05-01');
    assert.equal(render('{{ verb }}_{{ time.strftime("%Y-%m-%d") }}', { verb: 'pin' }), 'pin_2024-05-01');
  });

  it('takes the time from timeUs, not from the activity string', () => {
    const lateNight = Date.UTC(2024, 11, 31, 23, 59, 59) * 1000 + 999_999;
    assert.equal(render(DEFAULT_AGGREGATION_FORMAT, { time: 'garbage' }, { timeUs: lateNight }), 'like_2024-12-31');
    assert.equal(render(DEFAULT_AGGREGATION_FORMAT, {}, { timeUs: lateNight + 1 }), 'like_2025-01-01');
  });

  it('renders the activity fields as stored', () => {
    assert.equal(render('{{ actor }}'), 'SU:alice');
    assert.equal(render('{{ verb }}_{{ object }}'), 'like_SO:post:1');
    assert.equal(render('[{{ target }}]'), '[]');
    assert.equal(render('{{ target }}', { target: 'user:1' }), 'user:1');
    assert.equal(render('{{ foreign_id }}'), 'like:1');
    assert.equal(render('{{ id }}'), '92872680-07a1-11ef-8080-80a1b2c3d4e5');
  });

  it('renders the feed being written', () => {
    assert.equal(render('{{ feed.group }}:{{ feed.user_id }}'), 'notification:bob');
    assert.equal(render('{{ feed.slug }}|{{ feed.group.x }}'), '|');
  });

  it("reserves 'feed' for the feed, even over a custom field of that name", () => {
    assert.equal(render('{{ feed.group }}', { feed: { group: 'custom' } }), 'notification');
  });

  it('renders time as the activity time string, with its parts as numbers', () => {
    assert.equal(render('{{ time }}'), '2024-05-01T09:05:07.004200');
    const parts = '{{ time.year }}/{{ time.month }}/{{ time.day }} {{ time.hour }}:{{ time.minute }}:{{ time.second }}';
    assert.equal(render(`${parts}.{{ time.microsecond }}`), '2024/5/1 9:5:7.4200');
    assert.equal(render('[{{ time.era }}{{ time.year.real }}]'), '[]');
  });

  it('buckets with any strftime format', () => {
    assert.equal(render("{{ verb }}-{{ time.strftime('%G-W%V') }}"), 'like-2024-W18');
    assert.equal(render("{{ time.strftime('%Y%m%d%H') }}"), '2024050109');
    assert.equal(render("{{ time.strftime('%a %j %% %Q') }}"), 'Wed 122 % %Q');
    assert.equal(render("{{ time.strftime('') }}x"), 'x');
  });

  it('reads nested custom fields with dots and brackets', () => {
    const activity = {
      object: { category: 'shoes', id: 7 },
      extra: { a: { b: 'deep' }, 'a-b': 'dash', '0': 'zero' },
      tags: ['red', 'blue'],
    };
    assert.equal(render('{{ object.category }}', activity), 'shoes');
    assert.equal(render('{{ extra.a.b }}', activity), 'deep');
    assert.equal(render("{{ extra['a-b'] }}|{{ extra[\"a\"]['b'] }}", activity), 'dash|deep');
    assert.equal(render('{{ extra.0 }}|{{ extra[0] }}', activity), 'zero|zero');
    assert.equal(render('{{ tags.0 }}|{{ tags[1] }}|{{ tags.2 }}', activity), 'red|blue|');
  });

  it('renders values the Python way: True/False, empty for null, JSON for objects and arrays', () => {
    const activity = { n: 3, f: 1.5, zero: 0, yes: true, no: false, nil: null, obj: { a: [1, 'x'] }, list: [1, 2] };
    assert.equal(render('{{ n }}|{{ f }}|{{ zero }}', activity), '3|1.5|0');
    assert.equal(render('{{ yes }}|{{ no }}', activity), 'True|False');
    assert.equal(render('[{{ nil }}]', activity), '[]');
    assert.equal(render('{{ obj }}|{{ list }}', activity), '{"a":[1,"x"]}|[1,2]');
    assert.equal(render("{{ 'lit' }}{{ 42 }}{{ -1.5 }}{{ true }}{{ none }}"), 'lit42-1.5True');
  });

  it('renders an unknown variable, key or attribute as an empty string', () => {
    assert.equal(render('[{{ missing }}]'), '[]');
    assert.equal(render('[{{ missing.deeper.still }}]'), '[]');
    assert.equal(render('[{{ object.category }}]'), '[]'); // object is a string here
    assert.equal(render('[{{ extra.nope }}]', { extra: { a: 1 } }), '[]');
    assert.equal(render('[{{ n.x }}{{ nil.x }}]', { n: 3, nil: null }), '[]');
  });

  it('never reaches properties outside the activity data', () => {
    assert.equal(render('[{{ constructor }}{{ __proto__ }}{{ toString }}]'), '[]');
    assert.equal(render('[{{ verb.length }}{{ tags.length }}{{ extra.constructor }}]', { tags: [1], extra: {} }), '[]');
    assert.equal(render('[{{ extra.__proto__ }}{{ extra.hasOwnProperty }}]', { extra: { a: 1 } }), '[]');
  });

  it('accepts the aliases of the older engine', () => {
    assert.equal(render('{{ verb.id }}|{{ verb.infinitive }}|{{ actor.id }}'), 'like|like|SU:alice');
    assert.equal(render('{{ actor.id }}', { actor: { id: 'carol', name: 'Carol' } }), 'carol');
    assert.equal(render('[{{ verb.id.x }}{{ object.id }}]'), '[]');
  });
});

describe('compileAggregationFormat: if blocks', () => {
  const format =
    "{% if verb == 'like' %}likes{% elif verb == \"comment\" %}comments-{{ object }}{% else %}{{ verb }}{% endif %}";

  it('chooses the first branch whose condition holds', () => {
    assert.equal(render(format), 'likes');
    assert.equal(render(format, { verb: 'comment' }), 'comments-SO:post:1');
    assert.equal(render(format, { verb: 'pin' }), 'pin');
  });

  it('renders nothing when no branch holds and there is no else', () => {
    assert.equal(render('a{% if missing %}b{% elif nil %}c{% endif %}d', { nil: null }), 'ad');
  });

  it('nests', () => {
    const nested =
      '{% if a %}A{% if b %}B{% else %}b{% endif %}{% elif c %}C{% if b %}B{% endif %}{% else %}-{% endif %}';
    assert.equal(render(nested, { a: 1, b: 1 }), 'AB');
    assert.equal(render(nested, { a: 1 }), 'Ab');
    assert.equal(render(nested, { c: 'x', b: [1] }), 'CB');
    assert.equal(render(nested, {}), '-');
  });

  it('tests Python truthiness', () => {
    const cases: [unknown, string][] = [
      ['x', 'T'], ['', 'F'], ['0', 'T'], [0, 'F'], [-1, 'T'], [0.5, 'T'], [true, 'T'], [false, 'F'],
      [null, 'F'], [undefined, 'F'], [{}, 'F'], [{ a: 0 }, 'T'], [[], 'F'], [[0], 'T'],
    ];
    for (const [v, want] of cases) {
      assert.equal(render('{% if v %}T{% else %}F{% endif %}', { v }), want, JSON.stringify(v));
    }
    assert.equal(render('{% if time %}T{% endif %}{% if feed %}F{% endif %}'), 'TF');
  });

  it('supports not, and, or and parentheses', () => {
    const f = "{% if not (verb == 'like' or verb == 'love') and actor != 'SU:bot' %}other{% else %}skip{% endif %}";
    assert.equal(render(f), 'skip');
    assert.equal(render(f, { verb: 'love' }), 'skip');
    assert.equal(render(f, { verb: 'pin' }), 'other');
    assert.equal(render(f, { verb: 'pin', actor: 'SU:bot' }), 'skip');
    assert.equal(render('{% if not not verb %}y{% endif %}'), 'y');
    // `and` binds tighter than `or`.
    assert.equal(render('{% if a or b and c %}y{% else %}n{% endif %}', { a: 1 }), 'y');
    assert.equal(render('{% if (a or b) and c %}y{% else %}n{% endif %}', { a: 1 }), 'n');
  });

  it('compares like Python', () => {
    const eq = (expr: string, activity: Record<string, unknown> = {}): string =>
      render(`{% if ${expr} %}T{% else %}F{% endif %}`, activity);
    assert.equal(eq('n == 3', { n: 3 }), 'T');
    assert.equal(eq('n == 3.0', { n: 3 }), 'T');
    assert.equal(eq("n == '3'", { n: 3 }), 'F');
    assert.equal(eq('n != 3', { n: 4 }), 'T');
    assert.equal(eq('n == -2', { n: -2 }), 'T');
    assert.equal(eq('flag == 1', { flag: true }), 'T');
    assert.equal(eq('flag == true', { flag: true }), 'T');
    assert.equal(eq('flag == True', { flag: 1 }), 'T');
    assert.equal(eq('missing == none'), 'T');
    assert.equal(eq('nil == None', { nil: null }), 'T');
    assert.equal(eq("'like' == verb"), 'T');
    assert.equal(eq('verb == actor'), 'F');
    assert.equal(eq('a == b', { a: { x: [1, 2] }, b: { x: [1, 2] } }), 'T');
    assert.equal(eq('a == b', { a: { x: [1, 2] }, b: { x: [2, 1] } }), 'F');
    assert.equal(eq("time == '2024-05-01T09:05:07.004200'"), 'F'); // a datetime is not a string
    assert.equal(eq('time == time'), 'T');
    assert.equal(eq('time.hour == 9'), 'T');
    assert.equal(eq("feed.group == 'notification'"), 'T');
  });

  it('renders comparisons and yields operands of and/or as Python does', () => {
    assert.equal(render("{{ verb == 'like' }}|{{ verb != 'like' }}|{{ not verb }}"), 'True|False|False');
    assert.equal(render("{{ target or 'none' }}|{{ actor or 'none' }}"), 'none|SU:alice');
    assert.equal(render("[{{ target and 'x' }}]{{ actor and object }}"), '[]SO:post:1');
  });
});

describe('compileAggregationFormat: text, whitespace and comments', () => {
  it('keeps literal text, lone braces included', () => {
    assert.equal(render('static'), 'static');
    assert.equal(render('a { b } }} {x}-{{ verb }}'), 'a { b } }} {x}-like');
    assert.equal(render("{{ '}}' }}{{ \"{%\" }}"), '}}{%');
    assert.equal(render("{{ 'it\\'s' }}"), "it's");
  });

  it('trims whitespace beside -}} and {{- markers', () => {
    assert.equal(render('  a  {{- verb -}}  b  '), '  alikeb  ');
    assert.equal(render('x\n  {%- if verb -%}\n  y\n  {%- endif -%}\n  z'), 'xyz');
    assert.equal(render('x {% if verb %} y {% endif %} z'), 'x  y  z');
  });

  it('drops comments and one trailing newline, like Jinja', () => {
    assert.equal(render('{# group by verb #}{{ verb }}'), 'like');
    assert.equal(render('a {#- note -#} b'), 'ab');
    assert.equal(render('{{ verb }}\n'), 'like');
    assert.equal(render('{{ verb }}\n\n'), 'like\n');
  });

  it('spreads an expression over lines', () => {
    assert.equal(render("{% if\n  verb == 'like'\n%}{{\n  actor\n}}{% endif %}"), 'SU:alice');
  });

  it('gives the same key on every call and keeps no state between calls', () => {
    const key = compileAggregationFormat(DEFAULT_AGGREGATION_FORMAT);
    const a = input();
    const b = input({ verb: 'pin' }, { timeUs: 0 });
    assert.equal(key(a), 'like_2024-05-01');
    assert.equal(key(b), 'pin_1970-01-01');
    assert.equal(key(a), 'like_2024-05-01');
  });
});

describe('compileAggregationFormat: invalid formats', () => {
  const invalid: [string, RegExp][] = [
    ['', /the format is empty/],
    ['{{ verb', /unterminated '\{\{' at column 1 \(expected '\}\}'\)/],
    ['a {% if verb', /unterminated '\{%' at column 3/],
    ['{# note', /unterminated comment '\{#' at column 1/],
    ["{{ time.strftime('%Y) }}", /unterminated string at column 18/],
    ['{{ }}', /empty '\{\{ \}\}' at column 1/],
    ['{% %}', /empty '\{% %\}' at column 1/],
    ['{% for a in b %}{% endfor %}', /unknown tag 'for' at column 4/],
    ['{% set x = 1 %}', /unknown tag 'set'/],
    ["{% 'if' a %}{% endif %}", /unexpected string "if" at column 4 \(expected if, elif, else or endif\)/],
    ['{% if verb %}x', /unclosed 'if' at column 1 \(expected '\{% endif %\}'\)/],
    ['{% if a %}{% if b %}{% endif %}', /unclosed 'if' at column 1/],
    ['x{% endif %}', /'endif' without a matching 'if' at column 2/],
    ['{% else %}', /'else' without a matching 'if'/],
    ['{% elif a %}', /'elif' without a matching 'if'/],
    ['{% if a %}{% else %}{% elif b %}{% endif %}', /'elif' after 'else' at column 21/],
    ['{% if a %}{% else %}{% else %}{% endif %}', /'else' after 'else'/],
    ['{% if a %}{% else if b %}{% endif %}', /unexpected 'if' after 'else' at column 19 \(use '\{% elif … %\}'\)/],
    ['{% if a %}{% endif a %}', /unexpected 'a' after 'endif'/],
    ['{% if %}{% endif %}', /'if' without a condition at column 7/],
    ['{{ verb | lower }}', /unexpected '\|' at column 9 \(filters are not supported\)/],
    ['{{ verb.upper() }}', /unknown method 'verb\.upper\(\)' at column 4/],
    ['{{ time.isoformat() }}', /unknown method 'time\.isoformat\(\)'/],
    ['{{ now() }}', /unknown function 'now\(\)'/],
    ["{{ created.strftime('%Y') }}", /'created\.strftime\(\)' is not available .*only be called on 'time'/],
    ['{{ time.strftime() }}', /strftime\(\) needs one quoted format/],
    ['{{ time.strftime(fmt) }}', /strftime\(\) needs one quoted format/],
    ["{{ time.strftime('%Y', 'x') }}", /takes exactly one quoted format/],
    ['{{ time.strftime }}', /'time\.strftime' without arguments/],
    ['{{ verb actor }}', /unexpected 'actor' at column 9/],
    ['{% if a < 3 %}{% endif %}', /unexpected '<' .*only == and != comparisons are supported/],
    ['{% if a = 3 %}{% endif %}', /use '==' to compare/],
    ['{% if !a %}{% endif %}', /use 'not' to negate/],
    ['{% if a == b == c %}{% endif %}', /chained comparison/],
    ["{% if 'x' in tags %}{% endif %}", /'in' tests are not supported/],
    ['{% if a is defined %}{% endif %}', /'is' tests are not supported/],
    ["{{ a if b else 'c' }}", /inline 'if' is not supported/],
    ['{{ a + b }}', /arithmetic and concatenation are not supported/],
    ["{{ verb ~ '_' }}", /arithmetic and concatenation are not supported/],
    ['{{ (verb }}', /expected '\)'/],
    ['{{ a. }}', /expected an attribute name after '\.'/],
    ['{{ a[b] }}', /a quoted key or an index after '\['/],
    ['{{ a and }}', /unexpected end of expression at column 10/],
    ['{{ $x }}', /unexpected character "\$" in '\{\{' at column 4/],
    ['{{ verb }}\n{{ actor | x }}', /at line 2, column 10/],
    ['x'.repeat(1001), /1001 characters long \(at most 1000 are allowed\)/],
  ];

  for (const [format, message] of invalid) {
    // Test names stay free of backslash escapes (a newline is shown as ↵): the runner's TAP
    // parsing of a child's output was seen to drop the rest of a file's results after one.
    const shown = (format.length > 60 ? `${format.slice(0, 20)}…` : format).replace(/\n/g, '↵');
    it(`rejects "${shown}"`, () => {
      assert.throws(() => compileAggregationFormat(format), (e: unknown) => {
        assert.ok(e instanceof AggregationFormatError);
        assert.ok(e instanceof Error);
        assert.match(e.message, /^invalid aggregation format: /);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  it('reports the 0-based position of the problem', () => {
    assert.throws(() => compileAggregationFormat('ab{{ verb | x }}'), { name: 'AggregationFormatError', position: 10 });
    assert.throws(() => compileAggregationFormat(''), { position: -1 });
  });

  it('accepts a format of exactly 1000 characters', () => {
    const format = `{{ verb }}${'x'.repeat(990)}`;
    assert.equal(format.length, 1000);
    assert.equal(render(format), `like${'x'.repeat(990)}`);
  });
});
