// Config validation of aggregation formats and ranking methods: a bad config is rejected at load
// with a ConfigError whose message starts with the path of the offending field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfigFile, parseConfig, sqlitePath } from './config.js';

type Group = Record<string, unknown>;

const SECRET = 's'.repeat(24);

function file(groups: Group[], more: Group[][] = []): unknown {
  return {
    apps: [groups, ...more].map((g, i) => ({ app_id: `app${i}`, api_key: `key${i}abc`, api_secret: SECRET, feed_groups: g })),
  };
}

/** Parses `raw` expecting a ConfigError; returns its message. */
function rejected(raw: unknown): string {
  try {
    parseConfig(raw, '/tmp');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

/** Asserts the message starts with `path: ` and matches every pattern. */
function assertNames(message: string, path: string, ...patterns: RegExp[]): void {
  assert.ok(message.startsWith(`${path}: `), `"${message}" should start with "${path}: "`);
  for (const p of patterns) assert.match(message, p);
}

const USER = { name: 'user', type: 'flat' };

describe('config: aggregation formats', () => {
  const bad: [string, string, RegExp[]][] = [
    ['{{ verb ', 'unterminated {{', [/invalid aggregation format/, /unterminated '\{\{'/, /column 1/]],
    ['{{ verb }}_{{ time.strftime("%Y") ', 'unterminated {{ later on', [/unterminated/, /column 12/]],
    ['{% if verb %}x', 'unclosed if', [/unclosed 'if'/, /endif/]],
    ['x{% endif %}', 'stray endif', [/endif/]],
    ['{% for a in b %}{% endfor %}', 'unknown tag', [/for/]],
    ['{{ verb|upper }}', 'filters', [/filters are not supported/, /column 8/]],
    ['{{ time.foo() }}', 'calls other than strftime', [/time\.foo\(\)/, /strftime/]],
    ['{{ time.strftime(format) }}', 'strftime without a quoted format', [/strftime/]],
    ['{{ }}', 'empty expression', [/invalid aggregation format/]],
    ["{{ verb == }}", 'incomplete comparison', [/invalid aggregation format/]],
    ["{{ 'abc }}", 'unterminated string', [/invalid aggregation format/]],
    ['{# note', 'unterminated comment', [/invalid aggregation format/]],
  ];
  for (const [format, what, patterns] of bad) {
    it(`rejects ${what}: ${format}`, () => {
      const msg = rejected(file([USER, { name: 'notif', type: 'notification' }, { name: 'agg', type: 'aggregated', aggregation_format: format }]));
      assertNames(msg, 'apps[0].feed_groups[2].aggregation_format', ...patterns);
    });
  }

  it('rejects an empty format and one over 1000 characters', () => {
    assertNames(rejected(file([{ name: 'agg', type: 'aggregated', aggregation_format: '' }])), 'apps[0].feed_groups[0].aggregation_format');
    assertNames(
      rejected(file([{ name: 'agg', type: 'aggregated', aggregation_format: 'x'.repeat(1001) }])),
      'apps[0].feed_groups[0].aggregation_format',
    );
    assertNames(rejected(file([{ name: 'agg', type: 'aggregated', aggregation_format: 7 }])), 'apps[0].feed_groups[0].aggregation_format');
  });

  it('rejects a format on a flat group', () => {
    assertNames(
      rejected(file([USER, { name: 'flat', type: 'flat', aggregation_format: '{{ verb }}' }])),
      'apps[0].feed_groups[1].aggregation_format',
      /aggregated and notification/,
    );
  });

  it('rejects group bounds on a flat group and bounds out of range', () => {
    assertNames(rejected(file([USER, { name: 'flat', type: 'flat', max_groups: 5 }])), 'apps[0].feed_groups[1]', /aggregated and notification/);
    assertNames(rejected(file([USER, { name: 'n', type: 'notification', max_group_activities: 0 }])), 'apps[0].feed_groups[1].max_group_activities');
    const ok = parseConfig(file([USER, { name: 'n', type: 'notification', max_groups: 7, max_group_activities: 9 }]), '/tmp');
    const n = ok.apps[0].groups.get('n')!;
    assert.deepEqual([n.maxGroups, n.maxGroupActivities], [7, 9]);
  });

  it('names the app too', () => {
    const msg = rejected(file([USER], [[USER, { name: 'n', type: 'notification', aggregation_format: '{% if %}' }]]));
    assertNames(msg, 'apps[1].feed_groups[1].aggregation_format', /invalid aggregation format/);
  });

  it('accepts valid formats and compiles them, with the default when none is given', () => {
    const formats = [
      '{{ actor }}',
      '{{ verb }}_{{ object }}',
      '{{ feed.group }}/{{ feed.user_id }}',
      '{{ topic }}:{{ meta.lang }}',
      "{% if verb == 'like' %}likes{% else %}{{ verb }}_{{ time.strftime('%Y-%m-%d %H') }}{% endif %}",
      '{{ verb.id }}_{{ actor.id }}\n',
    ];
    const config = parseConfig(
      file([USER, { name: 'plain', type: 'aggregated' }, ...formats.map((f, i) => ({ name: `g${i}`, type: 'notification', aggregation_format: f }))]),
      '/tmp',
    );
    const groups = config.apps[0].groups;
    assert.equal(groups.get('user')!.groupKey, undefined);
    assert.equal(groups.get('user')!.aggregationFormat, undefined);
    assert.equal(groups.get('plain')!.aggregationFormat, "{{ verb }}_{{ time.strftime('%Y-%m-%d') }}");
    formats.forEach((f, i) => {
      assert.equal(groups.get(`g${i}`)!.aggregationFormat, f);
      assert.equal(typeof groups.get(`g${i}`)!.groupKey, 'function');
    });
  });
});

describe('config: ranking methods', () => {
  const bad: [string, unknown, RegExp[]][] = [
    ['a formula that ends early', { score: 'popularity +' }, [/ranking method "popular"/, /invalid score/, /position 12/]],
    ['unbalanced parentheses', { score: '(1 + 2' }, [/invalid score/]],
    ['an unknown function', { score: 'foo(1)' }, [/unknown function 'foo'/]],
    ['a wrong arity', { score: 'ln(1, 2)' }, [/ln\(\) takes exactly 1 argument, got 2/]],
    ['a bad decay parameter', { score: 'decay_linear(time, 0)' }, [/scale must be greater than 0/]],
    ['a bad decay factor', { score: 'decay_exp(time, 3600, 0, 1.5)' }, [/decay must be between 0 and 1/]],
    ['logical operators', { score: 'likes && 3' }, [/logical operators are not supported/]],
    ['strings in arithmetic', { score: '"a" + 1' }, [/invalid score/]],
    ['an empty formula', { score: '' }, [/invalid score/]],
    ['a score that is not a string', { score: 3 }, [/score must be a formula string, got 3/]],
    ['a missing score', { defaults: { a: 1 } }, [/score must be a formula string/]],
    ['defaults that are not numbers', { score: 'a', defaults: { a: 'x' } }, [/defaults\.a must be a finite number/]],
    ['defaults that are not an object', { score: 'a', defaults: [1] }, [/defaults must be an object/]],
    ['a window of 0', { score: 'a', window: 0 }, [/window must be an integer from 1 to 10000, got 0/]],
    ['a window too large', { score: 'a', window: 10_001 }, [/window must be an integer/]],
    ['a fractional window', { score: 'a', window: 2.5 }, [/window must be an integer/]],
    ['an unknown setting', { score: 'a', weight: 2 }, [/unknown setting "weight"/]],
    ['a method that is not an object', 'popularity', [/config must be an object/]],
  ];
  for (const [what, method, patterns] of bad) {
    it(`rejects ${what}`, () => {
      const msg = rejected(file([USER, { name: 'timeline', type: 'flat', ranking: { ok: { score: '1' }, popular: method } }]));
      assertNames(msg, 'apps[0].feed_groups[1].ranking.popular', ...patterns);
    });
  }

  it('rejects a ranking that is not an object of methods', () => {
    assertNames(rejected(file([{ name: 'timeline', type: 'flat', ranking: ['a'] }])), 'apps[0].feed_groups[0].ranking');
    assertNames(rejected(file([{ name: 'timeline', type: 'flat', ranking: 'decay_linear(time)' }])), 'apps[0].feed_groups[0].ranking');
  });

  it('accepts the documented forms and compiles them', () => {
    const config = parseConfig(
      file([
        {
          name: 'timeline',
          type: 'flat',
          ranking: {
            popular: { score: 'decay_linear(time) * popularity ^ 0.5', defaults: { popularity: 1 } },
            simple: { score: 'popularity * 2 + likes' },
            boosted: { score: 'boost * popularity' },
            windowed: { score: 'popularity', window: 5 },
            fancy: { score: 'max(ln(reaction_counts.like + 1), 0) + dist(1, 2, 3, 4, "mi") * 0 + rand(0, 1) * 0 + -2^2' },
          },
        },
      ]),
      '/tmp',
    );
    const rankings = config.apps[0].groups.get('timeline')!.rankings;
    assert.deepEqual([...rankings.keys()], ['popular', 'simple', 'boosted', 'windowed', 'fancy']);
    assert.equal(rankings.get('popular')!.window, 1000);
    assert.equal(rankings.get('windowed')!.window, 5);
    assert.deepEqual(rankings.get('popular')!.defaults, { popularity: 1 });
    assert.deepEqual([...rankings.get('simple')!.variables].sort(), ['likes', 'popularity']);
  });
});

describe('config: files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prefixes the field path with the file', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify(file([USER, { name: 'agg', type: 'aggregated', aggregation_format: '{{ verb' }])));
    assert.throws(
      () => loadConfigFile(path, dir),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assertNames(e.message, `config file ${path}`, /apps\[0\]\.feed_groups\[1\]\.aggregation_format: invalid aggregation format/);
        return true;
      },
    );
    writeFileSync(path, JSON.stringify(file([USER, { name: 'r', type: 'flat', ranking: { hot: { score: 'ln(' } } }])));
    assert.throws(() => loadConfigFile(path, dir), /apps\[0\]\.feed_groups\[1\]\.ranking\.hot: ranking method "hot": invalid score/);
  });
});

describe('config: read cache', () => {
  const flat = [{ name: 'user', type: 'flat' }];
  it('defaults to 64 MiB, takes max_mb (0 turns it off) and rejects bad sizes', () => {
    assert.equal(parseConfig(file(flat), '/tmp').readCacheBytes, 64 * 1024 * 1024);
    assert.equal(parseConfig({ ...(file(flat) as object), read_cache: { max_mb: 0 } }, '/tmp').readCacheBytes, 0);
    assert.equal(parseConfig({ ...(file(flat) as object), read_cache: { max_mb: 8 } }, '/tmp').readCacheBytes, 8 * 1024 * 1024);
    assert.match(rejected({ ...(file(flat) as object), read_cache: { max_mb: -1 } }), /^read_cache\.max_mb/);
    assert.match(rejected({ ...(file(flat) as object), read_cache: { max_mb: 'big' } }), /^read_cache\.max_mb/);
    assert.match(rejected({ ...(file(flat) as object), read_cache: { size: 1 } }), /^read_cache/);
  });
  it('keeps shared parts in 32 MiB by default whatever max_mb says; parts_mb 0 turns them off', () => {
    assert.equal(parseConfig(file(flat), '/tmp').readPartsBytes, 32 * 1024 * 1024);
    assert.equal(parseConfig({ ...(file(flat) as object), read_cache: { max_mb: 0 } }, '/tmp').readPartsBytes, 32 * 1024 * 1024);
    assert.equal(parseConfig({ ...(file(flat) as object), read_cache: { parts_mb: 0 } }, '/tmp').readPartsBytes, 0);
    assert.match(rejected({ ...(file(flat) as object), read_cache: { parts_mb: -1 } }), /^read_cache\.parts_mb/);
  });
});

describe('config: limits, realtime caps, shutdown, integrity check, rate limits', () => {
  const flat = [{ name: 'user', type: 'flat' }];
  const base = () => file(flat) as Record<string, unknown>;

  it('has safe defaults', () => {
    const c = parseConfig(base(), '/tmp');
    assert.deepEqual(c.limits, { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000 });
    assert.deepEqual(c.realtime, { maxUnauthenticatedPerAddress: 100, maxUnauthenticated: 10_000 });
    assert.equal(c.shutdownGraceMs, 10_000);
    assert.equal(c.integrityCheckMs, 30_000);
    assert.equal(c.apps[0].rateLimits, undefined, 'rate limits are off unless configured');
  });

  it('takes each setting, and refuses bad ones naming the field', () => {
    const c = parseConfig(
      {
        ...base(),
        limits: { headers_timeout_ms: 5000, request_timeout_ms: 9000 },
        realtime: { max_unauthenticated_per_address: 3, max_unauthenticated: 9 },
        shutdown: { grace_ms: 0 },
        integrity_check: { timeout_ms: 0 },
      },
      '/tmp',
    );
    assert.deepEqual(c.limits, { headersTimeoutMs: 5000, requestTimeoutMs: 9000 });
    assert.deepEqual(c.realtime, { maxUnauthenticatedPerAddress: 3, maxUnauthenticated: 9 });
    assert.equal(c.shutdownGraceMs, 0);
    assert.equal(c.integrityCheckMs, 0);
    assert.match(rejected({ ...base(), limits: { headers_timeout_ms: 50 } }), /^limits\.headers_timeout_ms/);
    assert.match(rejected({ ...base(), limits: { headers_timeout_ms: 9000, request_timeout_ms: 5000 } }), /^limits\.headers_timeout_ms: must not be longer/);
    assert.match(rejected({ ...base(), realtime: { max_unauthenticated: 0 } }), /^realtime\.max_unauthenticated/);
    assert.match(rejected({ ...base(), shutdown: { grace_ms: -1 } }), /^shutdown\.grace_ms/);
    assert.match(rejected({ ...base(), integrity_check: { timeout_ms: 'soon' } }), /^integrity_check\.timeout_ms/);
  });

  it('reads an app\'s rate limits, and refuses malformed ones', () => {
    const withLimits = (rate_limits: unknown) => {
      const f = base();
      (f.apps as Record<string, unknown>[])[0].rate_limits = rate_limits;
      return f;
    };
    const c = parseConfig(withLimits({ default: 100, endpoints: { 'GET feed/:slug/:uid/': 50 } }), '/tmp');
    const r = c.apps[0].rateLimits!;
    assert.equal(r.windowSeconds, 60);
    assert.equal(r.default, 100);
    assert.deepEqual([...r.endpoints], [['GET feed/:slug/:uid/', 50]]);
    assert.equal(parseConfig(withLimits({ window_seconds: 1 }), '/tmp').apps[0].rateLimits!.default, null);
    assert.match(rejected(withLimits({ default: 0 })), /^apps\[0\]\.rate_limits\.default/);
    assert.match(rejected(withLimits({ endpoints: { 'feed/:slug/:uid/': 5 } })), /^apps\[0\]\.rate_limits\.endpoints/);
    assert.match(rejected(withLimits({ per_user: 5 })), /^apps\[0\]\.rate_limits/);
  });
});

describe('config: files, link previews and moderation', () => {
  const base = file([USER]) as Record<string, unknown>;

  it('defaults to files under the data directory, 10 MiB, no allow-list, flags shown', () => {
    const c = parseConfig(base, '/data');
    assert.deepEqual(c.files, { storage: { backend: 'local', path: '/data/files' }, maxBytes: 10 * 1024 * 1024, publicUrl: undefined });
    assert.deepEqual(c.og.allow, []);
    assert.equal(c.moderation.hideFlagged, false);
  });

  it('reads an S3-compatible store, limits and the public origin', () => {
    const c = parseConfig(
      {
        ...base,
        files: { backend: 's3', max_mb: 2, public_url: 'https://feeds.example.com/', s3: { bucket: 'my-bucket', endpoint: 'http://minio:9000', access_key_id: 'a', secret_access_key: 'b' } },
        og: { allow: ['10.0.0.0/8', 'wiki.corp.example'], timeout_ms: 1000, max_kb: 64, cache_ttl_s: 0 },
        moderation: { hide_flagged: true },
      },
      '/data',
    );
    assert.deepEqual(c.files.storage, {
      backend: 's3',
      bucket: 'my-bucket',
      prefix: undefined,
      region: undefined,
      endpoint: 'http://minio:9000',
      forcePathStyle: undefined,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    assert.equal(c.files.maxBytes, 2 * 1024 * 1024);
    assert.equal(c.files.publicUrl, 'https://feeds.example.com');
    assert.deepEqual({ ...c.og }, { allow: ['10.0.0.0/8', 'wiki.corp.example'], timeoutMs: 1000, maxBytes: 65536, maxRedirects: 5, cacheTtlMs: 0 });
    assert.equal(c.moderation.hideFlagged, true);
  });

  it('names the field of a bad setting', () => {
    assertNames(rejected({ ...base, files: { backend: 's3' } }), 'files.s3', /required/);
    assertNames(rejected({ ...base, files: { s3: { bucket: 'my-bucket' } } }), 'files.s3', /backend/);
    assertNames(rejected({ ...base, files: { backend: 's3', s3: { bucket: 'my-bucket', access_key_id: 'a' } } }), 'files.s3', /both/);
    assertNames(rejected({ ...base, files: { max_mb: 0 } }), 'files.max_mb');
    assertNames(rejected({ ...base, files: { public_url: 'ftp://x' } }), 'files.public_url');
    assertNames(rejected({ ...base, og: { allow: ['10.0.0.0/99'] } }), 'og.allow', /10\.0\.0\.0\/99/);
    assertNames(rejected({ ...base, og: { timeout_ms: 5 } }), 'og.timeout_ms');
    assertNames(rejected({ ...base, moderation: { hide_flagged: 'yes' } }), 'moderation.hide_flagged');
  });
});

describe('config: storage backends', () => {
  const base = file([USER]) as Record<string, unknown>;
  const rejected = (storage: unknown) => {
    try {
      parseConfig({ ...base, storage }, '/data');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail('accepted');
  };

  it('takes the fan-out lease in seconds (default: none set, 30 s in the worker), and refuses one out of range', () => {
    assert.equal(parseConfig(base, '/data').fanout.leaseMs, undefined);
    assert.equal(parseConfig({ ...base, fanout: { lease_s: 90 } }, '/data').fanout.leaseMs, 90_000);
    for (const lease_s of [0, 1.5, 86_401]) assert.throws(() => parseConfig({ ...base, fanout: { lease_s } }, '/data'), /fanout\.lease_s/);
  });

  it('takes the fan-out poll interval in ms (default: none set, each process its own), and refuses one out of range', () => {
    assert.equal(parseConfig(base, '/data').fanout.pollMs, undefined);
    assert.equal(parseConfig({ ...base, fanout: { poll_ms: 30_000 } }, '/data').fanout.pollMs, 30_000);
    for (const poll_ms of [0, 9, 2.5, 3_600_001]) assert.throws(() => parseConfig({ ...base, fanout: { poll_ms } }, '/data'), /fanout\.poll_ms/);
  });

  it('defaults to SQLite under the data directory', () => {
    assert.deepEqual(parseConfig(base, '/data').storage, { backend: 'sqlite', path: '/data/rivulet.db', activityRetentionMs: 3_600_000, activitySweepIntervalMs: 300_000 });
    assert.equal(sqlitePath(parseConfig(base, '/data')), '/data/rivulet.db');
  });

  it('reads a Redis Cluster: its nodes, durable by default, key prefix rv: by default', () => {
    const c = parseConfig({ ...base, storage: { backend: 'redis', nodes: ['127.0.0.1:7000', 'redis-a.internal:7001', '[::1]:7002'] } }, '/data');
    assert.deepEqual(c.storage, {
      backend: 'redis',
      nodes: ['127.0.0.1:7000', 'redis-a.internal:7001', '[::1]:7002'],
      durability: 'durable',
      keyPrefix: 'rv:',
      activityRetentionMs: 3_600_000,
      activitySweepIntervalMs: 300_000,
    });
    const fast = parseConfig({ ...base, storage: { backend: 'redis', nodes: ['h:1'], durability: 'fast', key_prefix: 'prod:', activity_retention_s: 60 } }, '/data');
    assert.deepEqual(fast.storage, { backend: 'redis', nodes: ['h:1'], durability: 'fast', keyPrefix: 'prod:', activityRetentionMs: 60_000, activitySweepIntervalMs: 300_000 });
    assert.throws(() => sqlitePath(fast), /storage\.backend "redis"/);
  });

  it('rejects Redis settings that cannot work, naming the field', () => {
    assert.match(rejected({ backend: 'redis' }), /^storage\.nodes/);
    assert.match(rejected({ backend: 'redis', nodes: [] }), /^storage\.nodes/);
    assert.match(rejected({ backend: 'redis', nodes: ['localhost'] }), /^storage\.nodes\[0\]: must be host:port/);
    assert.match(rejected({ backend: 'redis', nodes: ['h:1'], durability: 'sometimes' }), /^storage\.durability/);
    assert.match(rejected({ backend: 'redis', nodes: ['h:1'], key_prefix: 'a{b}' }), /^storage\.key_prefix/);
    assert.match(rejected({ backend: 'redis', nodes: ['h:1'], path: 'x.db' }), /^storage/);
    assert.match(rejected({ backend: 'postgres' }), /^storage/);
  });
});
