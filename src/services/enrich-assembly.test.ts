// Enriched activities and rendered reactions are assembled as JSON text from pieces (users',
// objects' and reactions' texts, each stored data text in its serialized form) instead of being
// built as objects and serialized whole. The answers must stay the same bytes: every case below is
// compared with the text the object-built renderer (before 2026-12-06, 8cc5bef) gave for it,
// kept in `enrich-assembly.golden.json`. The data is unusual on purpose: keys that are integers,
// empty or need escaping, unicode (astral, lone surrogates, right-to-left), numbers at the edges
// of their forms, bodies not in serialized form, missing users, objects, activities and reactions,
// kinds that are integers, reactions over the listed limit, children, own reactions and children.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import type { App } from '../core/feeds/feed-group.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { EntryRecord } from '../ports/collection-store.js';
import type { LatestQuery, ReactionRecord } from '../ports/reaction-store.js';
import type { UserRecord } from '../ports/user-store.js';
import { enrichActivities, ReactionGraph, type EnrichDeps, type EnrichOptions } from './enrich.js';

const GOLDEN = new URL('./enrich-assembly.golden.json', import.meta.url);
const T0 = 1_764_979_200_000_000; // 2025-12-06T00:00:00Z in µs
const A1 = '11111111-1111-1111-1111-111111111111';
const A2 = '22222222-2222-2222-2222-222222222222';
const A3 = '33333333-3333-3333-3333-333333333333';
const A4 = '44444444-4444-4444-4444-444444444444';
const A5 = '55555555-5555-5555-5555-555555555555';
const A6 = '66666666-6666-6666-6666-666666666666';
const A7 = '77777777-7777-7777-7777-777777777777';
const A8 = '88888888-8888-8888-8888-888888888888';
const MISSING_A = '99999999-9999-9999-9999-999999999999';

const users: UserRecord[] = [
  { id: 'ann', data: '{"name":"Ann","avatar":"https://example.com/a.png"}', createdUs: T0, updatedUs: T0 + 1 },
  { id: 'bob', data: '{"2":"two","1":"one","name":"Bob \\"the\\" builder\\\\","nested":{"10":1,"b":[1,2.5,-0.001,1e+21]}}', createdUs: T0 + 7, updatedUs: T0 + 999_999 },
  { id: 'cat', data: '{}', createdUs: T0 + 2, updatedUs: T0 + 2 },
  // Not in serialized form: spaces, an escaped slash, a number written long.
  { id: 'dan', data: '{ "name" : "D\\/an", "n": 1.50, "e": 1E3, "u": "\\u00e9\\ud83d\\ude00" }', createdUs: T0 + 3, updatedUs: T0 + 4 },
  { id: 'émile', data: '{"name":"Émile 😀 \\ud800 שלום","list":[null,true,false,{"":""}]}', createdUs: T0 + 5, updatedUs: T0 + 6 },
];

const entries: EntryRecord[] = [
  { collection: 'food', id: 'soup', data: '{"name":"soup","price":4.5,"tags":["hot","wet"]}', userId: null, createdUs: T0 + 10, updatedUs: T0 + 11 },
  { collection: 'food', id: 'pie', data: '{"10":"ten","9":"nine","x":{"3":3,"a":"\\u2028\\u2029"}}', userId: 'ann', createdUs: T0 + 12, updatedUs: T0 + 13 },
  { collection: 'pla"ces', id: 'ho:me', data: '{"name":"home\\n"}', userId: null, createdUs: T0 + 14, updatedUs: T0 + 15 },
];

const activity = (id: string, body: string): ActivityRecord => ({ id, timeUs: T0, foreignId: '', to: [], body, home: 'user:ann' });
const activities: ActivityRecord[] = [
  activity(A1, `{"id":"${A1}","actor":"SU:ann","verb":"eat","object":"SO:food:soup","target":"SU:nobody","time":"2025-12-06T00:00:00.000000","foreign_id":"","to":[],"text":"héllo ✓ 😀 \\ud83d","2":"two","10":"ten","":"empty key","q\\"k\\\\":"quoted key","n":[0,-1,1.5e-7,1e+21,123456789012345680000,-0.5],"deep":{"5":"five","a":{"b":["SU:ann"]}}}`),
  activity(A2, `{"id":"${A2}","actor":"SU:bob","verb":"quote","object":"SA:${A1}","target":"SR:r-top-1","time":"2025-12-06T00:00:00.000001","foreign_id":"q:1","to":["user:cat"],"ref_missing":"SA:${MISSING_A}","ref_not_uuid":"SA:not-a-uuid","r_missing":"SR:nope","o_missing":"SO:food:nothing","o_bad":"SO:food:","u_bad":"SU:","short":"SU","lower":"su:ann"}`),
  activity(A3, `{"id":"${A3}","actor":"SU:émile","verb":"go","object":"SO:pla\\"ces:ho:me","time":"2025-12-06T00:00:00.000002","foreign_id":"","to":[],"popularity":7}`),
  // Not in serialized form: spaces and a number written long.
  activity(A4, `{ "id" : "${A4}", "actor": "SU:dan", "verb": "x", "object": "SO:food:pie", "time": "2025-12-06T00:00:00.000003", "foreign_id": "", "to": [], "score": 1.50, "e": 2E2 }`),
  // Shows an activity that shows another: the nested one's own references stay strings.
  activity(A5, `{"id":"${A5}","actor":"SU:cat","verb":"quote","object":"SA:${A2}","time":"2025-12-06T00:00:00.000004","foreign_id":"","to":[]}`),
  // `__proto__` (refused on write, here as if stored before that rule) and reserved keys.
  activity(A6, `{"id":"${A6}","__proto__":{"actor":"SU:ann"},"verb":"odd","own_reactions":"SU:bob","latest_reactions":[1],"reaction_counts":null,"actor":"SU:ann","time":"2025-12-06T00:00:00.000005","foreign_id":"","to":[]}`),
  activity(A7, `{"id":"${A7}","__proto__":"SU:bob","verb":"odder","time":"2025-12-06T00:00:00.000006","foreign_id":"","to":[]}`),
  // A body with its own `origin`, which the page's does not replace.
  activity(A8, `{"id":"${A8}","verb":"own origin","origin":"SU:cat","3":3,"time":"2025-12-06T00:00:00.000007","foreign_id":"","to":[]}`),
];

let seq = 0;
const reaction = (id: string, kind: string, activityId: string, userId: string, parent = '', depth = 1, extra: Partial<ReactionRecord> = {}): ReactionRecord => ({
  id,
  kind,
  activityId,
  userId,
  parent,
  depth,
  data: '{}',
  targetFeeds: [],
  createdUs: T0 + 100 + seq++,
  updatedUs: T0 + 100 + seq,
  deletedUs: null,
  ...extra,
});
const reactions: ReactionRecord[] = [
  reaction('r-top-1', 'like', A1, 'cat'),
  reaction('r-top-2', 'like', A1, 'bob', '', 1, { data: '{"x":"\\ud800é","7":7}' }),
  reaction('r-top-3', 'like', A1, 'ann'),
  reaction('r-top-4', 'like', A1, 'ghost'),
  reaction('r-com-1', 'comment', A1, 'bob', '', 1, { data: '{"text":"yum 😀","n":1e-7}', targetFeeds: ['user:bob', 'notification:ann'] }),
  reaction('r-7-1', '7', A1, 'cat'),
  reaction('r-com-2', 'comment', A2, 'cat', '', 1, { data: '{ "text" : "spaced" }' }),
  reaction('r-like-a3', 'like', A3, 'cat'),
  // Children and grandchildren.
  reaction('c-1', 'reply', A1, 'ann', 'r-com-1', 2, { data: '{"text":"thanks"}' }),
  reaction('c-2', 'like', A1, 'cat', 'r-com-1', 2),
  reaction('c-3', 'reply', A1, 'cat', 'r-com-1', 2, { data: '{"text":"again"}' }),
  reaction('g-1', 'like', A1, 'cat', 'c-1', 3),
  reaction('g-2', '3', A1, 'bob', 'c-1', 3),
  reaction('r-gone', 'like', A3, 'cat', '', 1, { deletedUs: T0 + 500 }),
  reaction('r-a6', 'like', A6, 'bob'),
];

/** The reaction store's answers, computed from the list above as the SQLite store's are. */
function latest(q: LatestQuery): ReactionRecord[] {
  const out: ReactionRecord[] = [];
  for (const owner of q.owners) {
    const list = reactions
      .filter((r) => r.deletedUs === null && (q.of === 'activity' ? r.activityId === owner && r.parent === '' : r.parent === owner))
      .filter((r) => (q.kinds === undefined || q.kinds.includes(r.kind)) && (q.userId === undefined || r.userId === q.userId))
      .sort((a, b) => b.createdUs - a.createdUs || (a.id < b.id ? 1 : -1));
    const perKind = new Map<string, number>();
    let n = 0;
    for (const r of list) {
      if (q.perOwner !== undefined && n >= q.perOwner) break;
      const k = perKind.get(r.kind) ?? 0;
      if (q.perKind !== undefined && k >= q.perKind) continue;
      perKind.set(r.kind, k + 1);
      n++;
      out.push(r);
    }
  }
  return out;
}

function counts(owners: readonly string[], of: 'activity' | 'reaction'): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const owner of owners) {
    const c: Record<string, number> = {};
    for (const r of reactions) {
      if (r.deletedUs !== null || (of === 'activity' ? r.activityId !== owner || r.parent !== '' : r.parent !== owner)) continue;
      c[r.kind] = (c[r.kind] ?? 0) + 1;
    }
    if (Object.keys(c).length > 0) out.set(owner, c);
  }
  return out;
}

const byId = <T extends { id: string }>(list: readonly T[], ids: readonly string[]) => new Map(list.filter((x) => ids.includes(x.id)).map((x) => [x.id, x]));

const deps = {
  ports: {
    activities: { getActivities: async (_app: string, ids: readonly string[]) => byId(activities, ids) },
    reactions: {
      getReactions: async (_app: string, ids: readonly string[]) => byId(reactions.filter((r) => r.deletedUs === null), ids),
      latestReactions: async (_app: string, q: LatestQuery) => latest(q),
      reactionCounts: async (_app: string, owners: readonly string[], of: 'activity' | 'reaction') => counts(owners, of),
    },
    users: { getUsers: async (_app: string, ids: readonly string[]) => byId(users, ids) },
    collections: {
      getEntries: async (_app: string, refs: readonly { collection: string; id: string }[]) =>
        new Map(entries.filter((e) => refs.some((r) => r.collection === e.collection && r.id === e.id)).map((e) => [`${e.collection}:${e.id}`, e])),
    },
  },
} as unknown as EnrichDeps;
const app = { appId: 'app1' } as App;

const base: EnrichOptions = { references: false, ownReactions: false, recentReactions: false, reactionCounts: false, ownChildren: false, recentLimit: 5, apiBase: 'http://h:1/api/v1.0/' };
const cases: Record<string, EnrichOptions> = {
  references: { ...base, references: true },
  'everything, limit 2': { ...base, references: true, ownReactions: true, recentReactions: true, reactionCounts: true, ownChildren: true, recentLimit: 2, userId: 'cat' },
  'react-activity-feed': { ...base, references: true, ownReactions: true, recentReactions: true, reactionCounts: true, userId: 'bob' },
  'no references, limit 1': { ...base, ownReactions: true, recentReactions: true, reactionCounts: true, recentLimit: 1, userId: 'cat' },
  'kinds filter': { ...base, references: true, ownReactions: true, recentReactions: true, reactionCounts: true, kinds: ['comment', '7'], userId: 'cat' },
  'own reactions of a user without any': { ...base, references: true, ownReactions: true, ownChildren: true, userId: 'nobody' },
  'counts only': { ...base, reactionCounts: true },
};
const items = [
  ...activities.map((a) => ({ body: a.body, origin: null })),
  { body: activities[0].body, origin: 'user:ann' },
  { body: activities[2].body, origin: 'timeline:"quoted"\\é' },
  // An origin that reads as a reference (a feed group named `SU`).
  { body: activities[1].body, origin: 'SU:bob' },
  { body: activities[7].body, origin: 'user:ann' },
];

async function outputs(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(cases)) out[name] = await enrichActivities(deps, app, items, o);
  // Reactions as the reaction routes render them (with and without own children, extra data).
  for (const [name, ownChildren, extraData] of [
    ['reactions', false, undefined],
    ['reactions with own children and extra data', true, { 'user:ann': { a: 1 }, '5': 'five' }],
  ] as const) {
    const graph = new ReactionGraph(ownChildren, 'cat');
    const roots = reactions.filter((r) => r.deletedUs === null || r.id === 'r-gone');
    await graph.load(deps, app, roots);
    await graph.loadUsers(deps, app, graph.all(roots));
    out[name] = roots.map((r) => graph.renderText(r, { extraData }));
  }
  return out;
}

test('enriched activities and reactions are the bytes the object-built renderer gave', async () => {
  const got = await outputs();
  if (process.env.WRITE_GOLDEN === '1') writeFileSync(GOLDEN, JSON.stringify(got, null, 1) + '\n');
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string[]>;
  assert.deepEqual(Object.keys(got), Object.keys(golden));
  for (const [name, texts] of Object.entries(golden)) {
    const mine = got[name] as string[];
    assert.equal(mine.length, texts.length, name);
    for (let i = 0; i < texts.length; i++) assert.equal(mine[i], texts[i], `${name}, item ${i}`);
  }
});

test('the same activities render the same bytes on a second read (kept texts are not changed by use)', async () => {
  assert.deepEqual(await outputs(), await outputs());
});
