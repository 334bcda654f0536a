import { readFileSync } from 'node:fs';
const P = JSON.parse(readFileSync('/tmp/ownreact/params.json', 'utf8'));
const COLS = 'id, kind, activity_id, user_id, parent, depth, data, target_feeds, created, updated, deleted';
const cols = COLS.split(', ').map((c) => 'r.' + c).join(', ');
const g = `WITH g(owner, kind) AS (SELECT owner, kind FROM reaction_counts WHERE app = @app AND owner_type = 'a' AND owner IN (SELECT value FROM json_each(@owners)) AND n > 0)`;
const v0 = (idx, user, order = true) => `${g}
 SELECT ${cols} FROM g CROSS JOIN reactions r ON r.app = @app AND r.id IN (
   SELECT x.id FROM reactions x INDEXED BY ${idx} WHERE x.app = @app ${user ? 'AND x.user_id = @userId' : ''} AND x.activity_id = g.owner AND x.parent = '' AND x.kind = g.kind AND x.deleted IS NULL
   ORDER BY x.created DESC, x.id DESC LIMIT +@n) ${order ? 'ORDER BY r.created DESC, r.id DESC' : ''}`;
const sorted = (rows) => [...rows].sort((a, b) => b[8] - a[8] || (a[0] < b[0] ? 1 : -1));
const which = process.env.WHICH ?? 'latest';
const params = P[which];
const user = which === 'own';
export default {
  setup: [
    `CREATE INDEX reactions_live ON reactions (app, activity_id, parent, kind, created, id) WHERE deleted IS NULL`,
    `CREATE INDEX reactions_own ON reactions (app, user_id, activity_id, parent, kind, created, id) WHERE deleted IS NULL`,

  ],
  variants: [
    { name: 'v0 current', sql: v0('reactions_activity_kind', user), params, norm: sorted },
    { name: 'v1 live idx', sql: v0(user ? 'reactions_own' : 'reactions_live', user), params, norm: sorted },
    { name: 'v1 no order', sql: v0(user ? 'reactions_own' : 'reactions_live', user, false), params, norm: sorted },
    { name: 'v0 no order', sql: v0('reactions_activity_kind', user, false), params, norm: sorted },
    { name: 'ids only', sql: v0('reactions_activity_kind', user).replace('SELECT ' + cols + ' FROM g', 'SELECT r.id FROM g'), params },
    { name: 'nulls', sql: v0('reactions_activity_kind', user).replace('SELECT ' + cols + ' FROM g', "SELECT r.id, r.kind, r.activity_id, r.user_id, '', 1, r.data, nullif(r.target_feeds, '[]'), r.created, nullif(r.updated, r.created), NULL FROM g"), params },
    { name: 'nulls-noact', sql: v0('reactions_activity_kind', user).replace('SELECT ' + cols + ' FROM g', "SELECT r.id, r.kind, NULL, r.user_id, '', 1, r.data, nullif(r.target_feeds, '[]'), r.created, nullif(r.updated, r.created), NULL FROM g"), params },
    { name: 'own-skip', sql: `WITH RECURSIVE k(owner, kind) AS (
        SELECT j.value, (SELECT min(x.kind) FROM reactions x INDEXED BY reactions_own WHERE x.app = @app AND x.user_id = @userId AND x.activity_id = j.value AND x.parent = '' AND x.deleted IS NULL) FROM json_each(@owners) j
        UNION ALL SELECT k.owner, (SELECT min(x.kind) FROM reactions x INDEXED BY reactions_own WHERE x.app = @app AND x.user_id = @userId AND x.activity_id = k.owner AND x.parent = '' AND x.deleted IS NULL AND x.kind > k.kind) FROM k WHERE k.kind IS NOT NULL)
      SELECT ${cols} FROM k CROSS JOIN reactions r ON r.app = @app AND r.id IN (
        SELECT x.id FROM reactions x INDEXED BY reactions_own WHERE x.app = @app AND x.user_id = @userId AND x.activity_id = k.owner AND x.parent = '' AND x.kind = k.kind AND x.deleted IS NULL
        ORDER BY x.created DESC, x.id DESC LIMIT +@n) WHERE k.kind IS NOT NULL`, params, norm: sorted },
    { name: 'own-walk', sql: `SELECT ${cols} FROM json_each(@owners) j CROSS JOIN reactions r INDEXED BY reactions_own ON r.app = @app AND r.user_id = @userId AND r.activity_id = j.value AND r.parent = '' AND r.deleted IS NULL`, params: Object.fromEntries(Object.entries(params).filter(([k]) => k !== "n")), norm: sorted },
    { name: 'L1 gjoin noorder', sql: `WITH g(owner, kind) AS (SELECT c.owner, c.kind FROM json_each(@owners) j CROSS JOIN reaction_counts c ON c.app = @app AND c.owner_type = 'a' AND c.owner = j.value AND c.n > 0)
      SELECT ${cols} FROM g CROSS JOIN reactions r ON r.app = @app AND r.id IN (
        SELECT x.id FROM reactions x INDEXED BY reactions_activity_kind WHERE x.app = @app AND x.activity_id = g.owner AND x.parent = '' AND x.kind = g.kind AND x.deleted IS NULL
        ORDER BY x.created DESC, x.id DESC LIMIT +@n)`, params, norm: sorted },
    { name: 'L2 threshold', sql: `WITH g(owner, kind, c) AS (SELECT c.owner, c.kind, (SELECT x.created FROM reactions x INDEXED BY reactions_live WHERE x.app = @app AND x.activity_id = c.owner AND x.parent = '' AND x.kind = c.kind AND x.deleted IS NULL ORDER BY x.created DESC, x.id DESC LIMIT 1 OFFSET @n - 1)
          FROM json_each(@owners) j CROSS JOIN reaction_counts c ON c.app = @app AND c.owner_type = 'a' AND c.owner = j.value AND c.n > 0)
      SELECT ${cols} FROM g CROSS JOIN reactions r INDEXED BY reactions_live ON r.app = @app AND r.activity_id = g.owner AND r.parent = '' AND r.kind = g.kind AND r.deleted IS NULL AND r.created >= ifnull(g.c, -9223372036854775808)`, params, norm: sorted },
    { name: 'g only', sql: `${g} SELECT owner, kind FROM g`, params: { app: params.app, owners: params.owners } },
  ],
};
