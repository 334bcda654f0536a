import { readFileSync } from 'node:fs';
const P = JSON.parse(readFileSync('/tmp/ownreact/params2.json', 'utf8'));
const which = process.env.WHICH;
const sortRows = (rows) => rows.map((r) => JSON.stringify(r)).sort();
const V = {
  users: [
    ['cur', P.users[0], P.users[1]],
    ['join', 'SELECT u.id, u.data, u.created, u.updated FROM json_each(?) j CROSS JOIN users u ON u.app = ? AND u.id = j.value', [P.users[1][1], P.users[1][0]]],
    ['join-id', 'SELECT u.id FROM json_each(?) j CROSS JOIN users u ON u.app = ? AND u.id = j.value', [P.users[1][1], P.users[1][0]]],
    ['json only', 'SELECT value FROM json_each(?) j', [P.users[1][1]]],
    ['agg-json', 'SELECT json_group_array(json_array(u.id, u.data, u.created, u.updated)) FROM json_each(?) j CROSS JOIN users u ON u.app = ? AND u.id = j.value', null, (st) => JSON.parse(st.get(P.users[1][1], P.users[1][0])[0])],
    ['agg-sep', "SELECT group_concat(u.id || char(31) || u.created || char(31) || u.updated || char(31) || u.data, char(30)) FROM json_each(?) j CROSS JOIN users u ON u.app = ? AND u.id = j.value", null, (st) => st.get(P.users[1][1], P.users[1][0])[0].split('\x1e').map((r) => { const a = r.split('\x1f'); return [a[0], a[3], Number(a[1]), Number(a[2])]; })],
    ['json count', 'SELECT count(*) FROM json_each(?) j', [P.users[1][1]]],
    ['one-by-one', 'SELECT id, data, created, updated FROM users WHERE app = ? AND id = ?', null, (st) => { const ids = JSON.parse(P.users[1][1]); const out = []; for (const id of ids) { const r = st.get(P.users[1][0], id); if (r) out.push(r); } return out; }],
    ['in-params', 'SELECT id, data, created, updated FROM users WHERE app = ? AND id IN (' + JSON.parse(P.users[1][1]).map(() => '?').join(',') + ')', [P.users[1][0], ...JSON.parse(P.users[1][1])]],
    ['in-params64', 'SELECT id, data, created, updated FROM users WHERE app = ? AND id IN (' + Array(64).fill('?').join(',') + ')', [P.users[1][0], ...JSON.parse(P.users[1][1]), ...Array(64 - JSON.parse(P.users[1][1]).length).fill(null)]],
  ],
  coll: [
    ['values', 'SELECT c.collection, c.id, c.user_id, c.data, c.created, c.updated FROM collection_entries c WHERE c.app = ? AND (c.collection, c.id) IN (VALUES ' + JSON.parse(P.coll[1][1]).map(() => '(?,?)').join(',') + ')', [P.coll[1][0], ...JSON.parse(P.coll[1][1]).flat()]],
    ['in-params', 'SELECT c.collection, c.id, c.user_id, c.data, c.created, c.updated FROM collection_entries c WHERE c.app = ? AND c.collection = ? AND c.id IN (' + JSON.parse(P.coll[1][1]).map(() => '?').join(',') + ')', [P.coll[1][0], 'post', ...JSON.parse(P.coll[1][1]).map((x) => x[1])]],
    ['cur', P.coll[0], P.coll[1]],
    ['join', 'SELECT c.collection, c.id, c.user_id, c.data, c.created, c.updated FROM json_each(?) j CROSS JOIN collection_entries c ON c.app = ? AND c.collection = j.value ->> 0 AND c.id = j.value ->> 1', [P.coll[1][1], P.coll[1][0]]],
    ['json only', 'SELECT value ->> 0, value ->> 1 FROM json_each(?) j', [P.coll[1][1]]],
  ],
  counts: [
    ['join-key', 'SELECT j.key, c.kind, c.n FROM json_each(?) j CROSS JOIN reaction_counts c ON c.app = ? AND c.owner_type = ? AND c.owner = j.value', [P.counts[1][2], P.counts[1][0], P.counts[1][1]]],
    ['join-key-nokind', 'SELECT j.key, 7, c.n FROM json_each(?) j CROSS JOIN reaction_counts c ON c.app = ? AND c.owner_type = ? AND c.owner = j.value', [P.counts[1][2], P.counts[1][0], P.counts[1][1]]],
    ['join-cnt', 'SELECT count(*) FROM json_each(?) j CROSS JOIN reaction_counts c ON c.app = ? AND c.owner_type = ? AND c.owner = j.value', [P.counts[1][2], P.counts[1][0], P.counts[1][1]]],
    ['in-params', 'SELECT owner, kind, n FROM reaction_counts WHERE app = ? AND owner_type = ? AND owner IN (' + JSON.parse(P.counts[1][2]).map(() => '?').join(',') + ')', [P.counts[1][0], P.counts[1][1], ...JSON.parse(P.counts[1][2])]],
    ['cur', P.counts[0], P.counts[1]],
    ['join', 'SELECT c.owner, c.kind, c.n FROM json_each(?) j CROSS JOIN reaction_counts c ON c.app = ? AND c.owner_type = ? AND c.owner = j.value', [P.counts[1][2], P.counts[1][0], P.counts[1][1]]],
  ],
  children: [
    ['cur', P.children[0], [P.children[1][0]]],
    ['counts-r', P.counts[0], [P.counts[1][0], 'r', P.children[1][0].owners]],
    ['counts-r-join', 'SELECT c.owner, c.kind, c.n FROM json_each(?) j CROSS JOIN reaction_counts c ON c.app = ? AND c.owner_type = ? AND c.owner = j.value', [P.children[1][0].owners, P.counts[1][0], 'r']],
  ],
  scan: [['cur', P.scan[0], P.scan[1]]],
};
export default { setup: [], variants: V[which].map(([name, sql, params, run]) => ({ name, sql, params, run, norm: sortRows })) };
