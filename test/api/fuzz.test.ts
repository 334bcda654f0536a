// Generated attacks (issue "Security and robustness", keep them closed): a property-based fuzzer
// (fast-check) over every API route's path parameters, query parameters and bodies — wrong types,
// huge and deeply nested values, unicode, NUL, injection-shaped strings, invalid UTF-8, malformed
// JSON — with every kind of token. Properties: no 5xx, every error in the contract's shape, the
// server still answers afterwards, and a canary user's data is unchanged.
//
// FUZZ_RUNS (default 10,000) and FUZZ_SEED (default fixed, so CI is repeatable) override the run;
// a failure prints the seed and the shrunk request to reproduce it.
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { StreamClient } from 'getstream';
import { startServer, type TestServer } from '../support/server.js';
import { jwt } from '../support/jwt.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_205);

/** Every API route as `METHOD path`, `{slug}`, `{uid}`, `{id}`, `{kind}`, `{lookup}`, `{coll}`, `{target}` filled by the fuzzer. */
const ROUTES = [
  'POST feed/{slug}/{uid}/',
  'GET feed/{slug}/{uid}/',
  'GET enrich/feed/{slug}/{uid}/',
  'DELETE feed/{slug}/{uid}/{id}/',
  'POST feed/add_to_many/',
  'POST activities/',
  'POST activity/',
  'GET activities/',
  'GET enrich/activities/',
  'POST feed_targets/{slug}/{uid}/activity_to_targets/',
  'POST feed/{slug}/{uid}/following/',
  'POST feed/{slug}/{uid}/follows/',
  'DELETE feed/{slug}/{uid}/following/{target}/',
  'DELETE feed/{slug}/{uid}/follows/{target}/',
  'GET feed/{slug}/{uid}/followers/',
  'GET feed/{slug}/{uid}/following/',
  'GET feed/{slug}/{uid}/follows/',
  'GET stats/follow/',
  'POST follow_many/',
  'POST unfollow_many/',
  'POST reaction/',
  'GET reaction/{id}/',
  'PUT reaction/{id}/',
  'DELETE reaction/{id}/',
  'PUT reaction/{id}/restore/',
  'GET reaction/{lookup}/{id}/',
  'GET reaction/{lookup}/{id}/{kind}/',
  'POST collections/{coll}/',
  'GET collections/{coll}/{id}/',
  'PUT collections/{coll}/{id}/',
  'DELETE collections/{coll}/{id}/',
  'POST collections/',
  'GET collections/',
  'DELETE collections/',
  'POST user/',
  'GET user/{uid}/',
  'PUT user/{uid}/',
  'DELETE user/{uid}/',
  'POST users/',
  'GET users/',
  'DELETE users/',
  'GET reaction/get_many/',
  'POST files/',
  'DELETE files/',
  'POST images/',
  'DELETE images/',
  'GET images/',
  'GET files/{slug}/{id}/{kind}',
  'GET og/',
  'POST moderation/flag',
  'GET moderation/flags/',
  'GET audit_logs/',
  'POST data_privacy/delete_activities/',
  'POST data_privacy/delete_reactions/',
  'POST data_privacy/delete_user/',
  'GET data_privacy/export_ids/{uid}',
  'GET data_privacy/export/{uid}',
  // The analytics and personalization services, beside the API.
  'POST /analytics/v1.0/impression/',
  'POST /analytics/v1.0/engagement/',
  'POST /analytics/impression/',
  'GET /analytics/redirect/',
  'POST /personalization/v1.0/feedback/',
  'GET /personalization/v1.0/interests/',
  'POST /personalization/v1.0/interests/',
  'DELETE /personalization/v1.0/interests/',
  'GET /personalization/v1.0/{slug}/',
] as const;

/** Strings that have broken parsers, queries and templates elsewhere. */
const NASTY = [
  '',
  ' ',
  'null',
  'undefined',
  '\u0000',
  'a\u0000b',
  '%00',
  '%ZZ',
  '%',
  '../../etc/passwd',
  '..%2F..%2F',
  "' OR 1=1 --",
  '"; DROP TABLE activities; --',
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '{% for x in y %}',
  '__proto__',
  'constructor',
  'prototype',
  'SU:',
  'SU:../x',
  'SO:food:',
  'user:',
  ':',
  'user:x:y',
  'user:*',
  '*',
  '💥',
  '\uD800',
  '\uFFFD',
  'ﷺ'.repeat(50),
  'a'.repeat(300),
  '-1',
  '1e309',
  '0x10',
  'NaN',
  'true',
  '[]',
  '{}',
  '12345678-1234-1234-1234-123456789012',
  '00000000-0000-1000-8000-000000000000',
  '2024-05-01T10:00:00',
  '9999-99-99T99:99:99',
];

const FIELDS = [
  'content_list', 'user_data', 'label', 'content', 'feed_id', 'position', 'location', 'interests', 'activity_id', 'weight',
  'actor', 'verb', 'object', 'target', 'time', 'to', 'foreign_id', 'id', 'activities', 'changes', 'set', 'unset',
  'kind', 'activity_id', 'parent', 'data', 'target_feeds', 'target_feeds_extra_data', 'user_id', 'source', 'target',
  'new_targets', 'added_targets', 'removed_targets', 'feeds', 'activity', 'users', 'override', 'activity_copy_limit',
  'popularity', 'score', 'latest_reactions', '__proto__', 'constructor', 'origin',
];

const QUERY_KEYS = [
  'limit', 'offset', 'id_lt', 'id_lte', 'id_gt', 'id_gte', 'ranking', 'rankingVars', 'ranking_vars', 'withScoreVars', 'session',
  'mark_seen', 'mark_read', 'ids', 'ids[]', 'foreign_ids', 'timestamps', 'withRecentReactions', 'withOwnReactions',
  'withReactionCounts', 'withOwnChildren', 'recentReactionsLimit', 'reactionKindsFilter', 'user_id', 'followers', 'following',
  'followers_slugs', 'following_slugs', 'filter', 'keep_history', 'foreign_id', 'soft', 'with_activity_data', 'get_or_create',
  'activity_copy_limit', 'collection_name', 'children_user_id', 'filter_user_id', 'rankingVars[boost]', 'foo[bar]', 'location',
  'url', 'w', 'h', 'resize', 'crop', 'sig', 'include_deleted', 'type', 'entity_type', 'entity_id', 'user_id', 'next',
  'authorization', 'auth_type', 'events', 'tag', 'source',
];

const nasty = fc.constantFrom(...NASTY);
const text = fc.oneof(
  { weight: 3, arbitrary: nasty },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom('u1', 'u2', 'fuzz', 'user:u1', 'timeline:u2', 'notification:u1', 'SU:u1', 'like', 'food') },
  // Long strings around the limits that matter: 255 bytes (fields), 10 KB (an activity), 1 MiB (a body).
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        { weight: 12, arbitrary: fc.integer({ min: 250, max: 260 }) },
        { weight: 6, arbitrary: fc.integer({ min: 9_000, max: 11_000 }) },
        { weight: 1, arbitrary: fc.constantFrom(300_000, 1_100_000) },
      )
      .map((n) => 'x'.repeat(n)),
  },
);
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53 + 1, 1000, 1001, 100));

/** Values of every JSON type, nested, with keys the routes read. */
/**
 * A placeholder for a value nested `n` deep (arrays and objects in turn), spliced into the JSON
 * text by {@link serialize}: the structure itself could not be built or stringified that deep.
 */
const deepValue = fc.integer({ min: 50, max: 20_000 }).map((n) => `\u0001DEEP${n}\u0001`);
/** A placeholder for a number JSON.parse turns into an infinity. */
const hugeNumber = fc.constantFrom('1e400', '-1e999', '1E+309').map((n) => `\u0001NUM${n}\u0001`);

/** JSON text of a value nested `n` deep, arrays and objects in turn: `[{"k":[{"k":1}]}]`. */
function nested(n: number): string {
  const pairs = Math.floor(n / 2);
  const open = '[{"k":'.repeat(pairs) + (n % 2 ? '[' : '');
  const close = (n % 2 ? ']' : '') + '}]'.repeat(pairs);
  return open + '1' + close;
}

/** JSON text of `v` with the placeholders replaced. */
function serialize(v: unknown): string {
  return (JSON.stringify(v) ?? 'null')
    .replace(/"\\u0001DEEP(\d+)\\u0001"/g, (_, n: string) => nested(Number(n)))
    .replace(/"\\u0001NUM([^\\]+)\\u0001"/g, (_, n: string) => n);
}

const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    text,
    deepValue,
    hugeNumber,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), tie('value'), { maxKeys: 6 }),
  ),
}));

/** A body shaped like one the route expects, with fields of any value. */
const shaped = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 });

/** Ids of things that exist (filled in before the run), so that requests also reach past look-ups. */
const POOL = { activity: '00000000-0000-1000-8000-000000000000', reaction: 'r-fuzz', fid: 'f:1', time: '2024-05-01T10:00:00', token: '' };
const real = (k: keyof typeof POOL) => fc.constant(null).map(() => POOL[k]);

/** Mostly valid values of a field, and sometimes anything. */
const aboutRight = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: value });
const activity = fc.record(
  {
    actor: aboutRight(fc.constantFrom('SU:u1', 'u1', 'SU:u2')),
    verb: aboutRight(fc.constantFrom('post', 'like', 'share')),
    object: aboutRight(fc.constantFrom('o:1', 'SO:food:fuzz', 'SA:x')),
    foreign_id: aboutRight(fc.constantFrom('f:1', 'f:2', real('fid'))),
    time: aboutRight(fc.constantFrom(POOL.time, '2024-05-01T10:00:00.123456Z', '2024-05-01T12:00:00+02:00')),
    to: aboutRight(fc.array(fc.constantFrom('notification:u2', 'user:u1', 'flat:fuzz-1', 'timeline:u2'), { maxLength: 3 })),
    extra: value,
    popularity: aboutRight(fc.integer({ min: -5, max: 100 })),
  },
  { requiredKeys: ['actor', 'verb', 'object'] },
);

/** A nearly valid body for a route, fields fuzzed one at a time. */
function validFor(route: string): fc.Arbitrary<unknown> {
  const [, path] = route.split(' ');
  if (path === 'feed/{slug}/{uid}/') return fc.oneof(activity, fc.record({ activities: fc.array(activity, { maxLength: 5 }) }));
  if (path === 'feed/add_to_many/') return fc.record({ activity, feeds: aboutRight(fc.array(fc.constantFrom('user:u1', 'flat:fuzz-1', 'secret:u2'), { maxLength: 4 })) });
  if (path === 'activities/') return fc.record({ activities: fc.array(activity, { maxLength: 3 }) });
  if (path === 'activity/') {
    return fc.record({
      id: aboutRight(real('activity')),
      set: aboutRight(fc.dictionary(fc.constantFrom('object', 'extra', 'a.b.c', 'popularity', 'to', 'id', 'time'), value, { maxKeys: 3 })),
      unset: aboutRight(fc.array(fc.constantFrom('extra', 'popularity', 'actor', 'a.b'), { maxLength: 2 })),
    });
  }
  if (path.endsWith('activity_to_targets/')) {
    return fc.record(
      {
        foreign_id: aboutRight(real('fid')),
        time: aboutRight(real('time')),
        new_targets: aboutRight(fc.array(fc.constantFrom('flat:fuzz-1', 'notification:u2'), { maxLength: 2 })),
        added_targets: aboutRight(fc.array(fc.constantFrom('flat:fuzz-1', 'user:u2'), { maxLength: 2 })),
        removed_targets: aboutRight(fc.array(fc.constantFrom('flat:fuzz-1'), { maxLength: 1 })),
      },
      { requiredKeys: ['foreign_id', 'time'] },
    );
  }
  if (path.endsWith('/following/') || path.endsWith('/follows/')) {
    return fc.record({ target: aboutRight(fc.constantFrom('user:u1', 'user:u2', 'flat:fuzz-1')), activity_copy_limit: aboutRight(fc.integer({ min: -1, max: 1001 })) }, { requiredKeys: ['target'] });
  }
  if (path === 'follow_many/' || path === 'unfollow_many/') {
    return fc.array(fc.record({ source: aboutRight(fc.constantFrom('timeline:u1', 'flat:fuzz-1')), target: aboutRight(fc.constantFrom('user:u2', 'user:u1')), keep_history: value }), { maxLength: 4 });
  }
  if (path.startsWith('reaction/')) {
    return fc.record(
      {
        kind: aboutRight(fc.constantFrom('like', 'comment')),
        activity_id: aboutRight(real('activity')),
        user_id: aboutRight(fc.constantFrom('u1', 'u2')),
        parent: aboutRight(real('reaction')),
        data: aboutRight(fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 3 })),
        target_feeds: aboutRight(fc.array(fc.constantFrom('user:u1', 'notification:u2', 'timeline:u1'), { maxLength: 3 })),
        target_feeds_extra_data: value,
        id: fc.option(fc.string({ maxLength: 12 })),
      },
      { requiredKeys: ['kind'] },
    );
  }
  if (path.startsWith('collections/')) {
    return fc.oneof(
      fc.record({ id: fc.option(fc.string({ maxLength: 12 })), data: aboutRight(fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 4 })), user_id: value }),
      fc.record({ data: fc.dictionary(fc.constantFrom('food', 'fuzz'), fc.array(fc.dictionary(fc.constantFrom('id', 'name', 'user_id'), value), { maxLength: 3 })) }),
    );
  }
  if (path.startsWith('user')) {
    return fc.oneof(
      fc.record({ id: aboutRight(fc.constantFrom('u1', 'u2', 'fuzz-1')), data: aboutRight(fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 4 })) }),
      fc.record({ users: fc.array(fc.record({ id: aboutRight(fc.constantFrom('u1', 'fuzz-2')), data: value }), { maxLength: 3 }), override: value }),
    );
  }
  return shaped;
}

/** A body as bytes: nearly valid JSON most of the time, and the ways bodies go wrong. */
const bodyOf = (route: string) => fc.oneof(
  { weight: 10, arbitrary: validFor(route).map((v) => Buffer.from(serialize(v))) },
  { weight: 4, arbitrary: shaped.map((v) => Buffer.from(serialize(v))) },
  { weight: 3, arbitrary: value.map((v) => Buffer.from(serialize(v))) },
  { weight: 2, arbitrary: fc.array(shaped, { maxLength: 4 }).map((v) => Buffer.from(serialize({ activities: v, changes: v, users: v, data: { food: v } }))) },
  // Deep nesting, written out as text (JSON.stringify would overflow first).
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => Buffer.from(`{"data":${'['.repeat(n)}${']'.repeat(n)},"actor":"x"}`)) },
  // Numbers JSON.parse turns into infinities.
  { weight: 1, arbitrary: fc.constantFrom('{"actor":"a","verb":"v","object":"o","n":1e400}', '{"data":{"x":-1e999}}', '1e400').map((s) => Buffer.from(s)) },
  // Malformed JSON and text that is not JSON.
  { weight: 1, arbitrary: fc.constantFrom('{"broken": ', '{', '[', 'undefined', '\u0000', '{"a":1}{"b":2}', 'NaN').map((s) => Buffer.from(s)) },
  // Arbitrary bytes: invalid UTF-8.
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: validFor(route).map((v) => Buffer.concat([Buffer.from(serialize(v).replace(/}$/, ',"bad":"')), Buffer.from([0xff, 0xc3]), Buffer.from('"}')])) },
);

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('u1', 'u2', 'fuzz-1') },
  { weight: 1, arbitrary: fc.constantFrom('user', 'timeline', 'flat', 'secret', 'aggregated', 'notification', 'short', 'nosuch') },
  { weight: 2, arbitrary: text.map((s) => s.slice(0, 2000)) },
);
const slug = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('user', 'timeline', 'flat', 'secret', 'aggregated', 'notification', 'short') },
  { weight: 1, arbitrary: segment },
);
const someId = fc.oneof({ weight: 3, arbitrary: fc.oneof(real('activity'), real('reaction'), fc.constantFrom('fuzz-1', 'f:1')) }, { weight: 2, arbitrary: segment });

interface Case {
  readonly route: string;
  /** Sometimes another method than the route's (405, CORS preflights, HEAD). */
  readonly method: string | null;
  /** Sometimes a URL past the 16 KiB header limit. */
  readonly pad: number | null;
  readonly origin: boolean;
  readonly params: Record<string, string>;
  readonly query: [string, string][];
  readonly body: Buffer | null;
  readonly contentType: string | null;
  readonly token: number;
}

const TOKEN_KINDS = 6;

const BODIES = new Map(ROUTES.map((r) => [r, bodyOf(r)]));

const aCase: fc.Arbitrary<Case> = fc.constantFrom(...ROUTES).chain((route) =>
  fc.record({
    route: fc.constant(route),
    method: fc.option(fc.constantFrom('OPTIONS', 'HEAD', 'PATCH', 'PUT', 'DELETE'), { freq: 15 }),
    pad: fc.option(fc.integer({ min: 15_000, max: 20_000 }), { freq: 200 }),
    origin: fc.boolean(),
    params: fc.record({
      slug,
      uid: segment,
      id: someId,
      target: fc.oneof(fc.constantFrom('user:u1', 'user:u2', 'flat:fuzz-1'), segment),
      lookup: fc.oneof(fc.constantFrom('activity_id', 'user_id', 'reaction_id'), segment),
      kind: fc.oneof(fc.constantFrom('like', 'comment'), segment),
      coll: fc.oneof(fc.constantFrom('food', 'fuzz'), segment),
    }),
    query: fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(text.map((s) => s.slice(0, 3000)), number.map(String), real('activity'), real('token'))), { maxLength: 4 }),
    body: fc.option(BODIES.get(route)!, { freq: 6 }),
    contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', null, 'multipart/form-data; boundary=x'),
    // Mostly tokens that get through, so that requests reach validation and the store.
    token: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.nat({ max: TOKEN_KINDS - 1 }) }),
  }),
);

const CORE = new Set(['id', 'actor', 'verb', 'object', 'target', 'time', 'foreign_id', 'origin', 'to', 'duration']);

/** Why a body must be refused, judged without the server's code: null when it is acceptable JSON. */
function bodyFault(b: Buffer): string | null {
  if (!isUtf8(b)) return 'is not UTF-8';
  const text = b.toString('utf8');
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') max = Math.max(max, ++depth);
    else if (ch === ']' || ch === '}') depth--;
  }
  if (max > 128) return `nests ${max} deep`;
  if (text.trim() === '') return null;
  let infinite = false;
  try {
    JSON.parse(text, (_k, v) => {
      if (typeof v === 'number' && !Number.isFinite(v)) infinite = true;
      return v;
    });
  } catch {
    return 'is not JSON';
  }
  return infinite ? 'holds a number out of range' : null;
}

/** Whether every query parameter's percent-escapes decode to UTF-8 (a lone `%` is a literal). */
function queryDecodes(q: string): boolean {
  try {
    for (const pair of q.split('&')) decodeURIComponent(pair.replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
    return true;
  } catch {
    return false;
  }
}

/** Percent-encodes a path segment the way a careless client would (NUL and unicode included). */
function seg(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    // A lone surrogate cannot be encoded: send its bytes as they come.
    return Buffer.from(s).toString('latin1').replace(/[^\w.-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  }
}

describe('property fuzzer over every route', () => {
  let t: TestServer;
  let admin: StreamClient;
  const canaryUser = `canary-${randomUUID()}`;
  let tokens: string[];
  let snapshot: () => Promise<unknown>;
  let before_: unknown;

  before(async () => {
    t = await startServer();
    admin = t.client();
    tokens = [
      admin.getOrCreateToken(),
      admin.createUserToken('u1'),
      admin.feed('user', 'u1').token,
      jwt({ resource: 'reactions', action: '*', feed_id: '*' }, t.apiSecret),
      'not-a-token',
      jwt({ resource: null, user_id: 'u1' }, t.apiSecret),
    ];
    POOL.token = tokens[1];
    // Things that exist, for requests to find.
    const seed = (await admin.feed('user', 'u1').addActivity({ actor: 'SU:u1', verb: 'post', object: 'o:1', foreign_id: POOL.fid, time: POOL.time })) as any;
    POOL.activity = seed.id;
    POOL.reaction = ((await admin.reactions.add('like', seed.id, {}, { userId: 'u1' })) as any).id;
    await admin.feed('timeline', 'u1').follow('user', 'u2');
    // The canary: data of a user no generated request names, whose ids nobody can guess.
    const c = canaryUser;
    const act = (await admin.feed('user', c).addActivity({ actor: `SU:${c}`, verb: 'post', object: `o:${randomUUID()}`, foreign_id: randomUUID(), time: '2024-05-01T10:00:00' })) as any;
    await admin.feed('timeline', c).follow('user', c.replace('canary', 'canary-other'));
    await admin.feed('notification', c).addActivity({ actor: 'SU:x', verb: 'like', object: 'o:1' });
    const reaction = (await admin.reactions.add('like', act.id, { n: 1 }, { userId: c })) as any;
    await admin.collections.add('canary', c, { secret: randomUUID() });
    await admin.user(c).create({ name: 'Canary' });
    snapshot = async () => {
      const strip = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'duration' ? undefined : v)));
      return strip({
        user: await admin.feed('user', c).get({ limit: 100 }),
        timeline: await admin.feed('timeline', c).get({ limit: 100 }),
        notification: await admin.feed('notification', c).get({ limit: 100 }),
        following: await admin.feed('timeline', c).following(),
        activity: await admin.getActivities({ ids: [act.id] }),
        reaction: await admin.reactions.get(reaction.id),
        reactions: await admin.reactions.filter({ activity_id: act.id }),
        entry: (await admin.collections.get('canary', c)).data,
        profile: (await admin.user(c).get()).data,
      });
    };
    before_ = await snapshot();
  });
  after(async () => t.close());

  it(`${RUNS} generated requests: no 5xx, every error in the contract's shape`, { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(aCase, async (c) => {
        const [routeMethod, template] = c.route.split(' ');
        const method = c.method ?? routeMethod;
        const path = template.replace(/\{(\w+)\}/g, (_, k: string) => seg(c.params[k] ?? ''));
        let q = c.query.map(([k, v]) => `${encodeURIComponent(k)}=${seg(v)}`).join('&');
        if (c.pad !== null) q += `${q ? '&' : ''}pad=${'p'.repeat(c.pad)}`;
        const base = path.startsWith('/') ? t.baseUrl.replace(/\/api\/$/, '') : `${t.baseUrl}v1.0/`;
        const url = `${base}${path}?api_key=${t.apiKey}${q ? '&' + q : ''}`;
        const headers: Record<string, string> = { authorization: tokens[c.token] };
        if (c.contentType !== null) headers['content-type'] = c.contentType;
        if (c.origin) Object.assign(headers, { origin: 'https://app.example', 'access-control-request-method': routeMethod });
        const sendsBody = method !== 'GET' && method !== 'HEAD' && c.body !== null;
        const res = await fetch(url, { method, headers, body: sendsBody ? new Uint8Array(c.body!) : undefined, redirect: 'manual' });
        const answer = await res.text();
        const where = `${method} ${url.slice(0, 300)} body=${sendsBody ? c.body!.toString('latin1').slice(0, 200) : '-'}`;
        assert.ok(res.status < 500, `${where} → ${res.status} ${answer.slice(0, 300)}`);
        if (res.status < 300 && method !== 'OPTIONS') {
          // Nothing is accepted that should have been refused: bodies that are not UTF-8, hold
          // numbers JSON cannot keep, or nest deeper than the limit, and queries that do not decode.
          if (sendsBody) assert.equal(bodyFault(c.body!), null, `${where} → ${res.status}: accepted a body that ${bodyFault(c.body!)}`);
          assert.ok(queryDecodes(q), `${where} → ${res.status}: accepted a query that is not UTF-8`);
          // An added activity's custom fields come back exactly as sent.
          if (c.route === 'POST feed/{slug}/{uid}/' && method === 'POST') {
            const sent = JSON.parse(c.body!.toString('utf8'));
            const got = JSON.parse(answer);
            const pairs: [any, any][] = Array.isArray(sent.activities) ? sent.activities.map((a: any, i: number) => [a, got.activities[i]]) : [[sent, got]];
            for (const [a, b] of pairs) {
              for (const k of Object.keys(a)) if (!CORE.has(k)) assert.deepEqual(b[k], a[k], `${where}: field ${k} was changed`);
            }
          }
        }
        if (res.status >= 400 && method !== 'HEAD') {
          let err: any;
          try {
            err = JSON.parse(answer);
          } catch {
            assert.fail(`${where} → ${res.status} is not JSON: ${answer.slice(0, 200)}`);
          }
          const keys = Object.keys(err).filter((k) => k !== 'exception_fields').sort();
          assert.deepEqual(keys, ['code', 'detail', 'duration', 'exception', 'more_info', 'status_code'], where);
          assert.equal(err.status_code, res.status, where);
          assert.equal(typeof err.code, 'number', where);
          assert.ok(typeof err.detail === 'string' && err.detail.length > 0, where);
          assert.ok(typeof err.exception === 'string' && err.exception.length > 0, where);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
  });

  it('the server still answers and the canary is unchanged', async () => {
    const health = await fetch(t.baseUrl.replace(/\/api\/$/, '/healthz'));
    assert.equal(health.status, 200);
    assert.deepEqual(await snapshot(), before_);
  });
});
