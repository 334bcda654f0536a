/**
 * `npm run bench -- audit`: what recording the audit log costs the write path. The same adds of
 * one activity each (autocannon POSTs to distinct feeds, at 1 and 16 connections, 5 s each) against
 * two servers started in this run: one recording every change (the default) and one whose audit
 * log records nothing. Only the ratio between them within the run means anything.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { connect } from 'getstream';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { sqliteRecords } from '../src/adapters/sqlite/sqlite-records.js';
import { parseConfig, sqlitePath } from '../src/config/config.js';
import { createRivulet } from '../src/main.js';
import type { AuditLog } from '../src/ports/audit-log.js';
import { writeResult } from './report.js';

const nothingRecorded: AuditLog = {
  append: async () => {},
  list: async () => [],
  latest: async () => null,
};

async function measure(recording: boolean, connections: number) {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-audit-'));
  const apiSecret = randomBytes(24).toString('base64url');
  const config = parseConfig({ apps: [{ app_id: '1', api_key: 'benchkey', api_secret: apiSecret, feed_groups: [{ name: 'user', type: 'flat' }] }] }, dir);
  const store = new SqliteStore(sqlitePath(config));
  const records = sqliteRecords(store);
  const rivulet = await createRivulet({ config, store, logger: pino({ level: 'warn' }), records: recording ? records : { ...records, audit: nothingRecorded } });
  try {
    const base = await rivulet.listen(0, '127.0.0.1');
    const token = connect('benchkey', apiSecret, '1').getOrCreateToken();
    let n = 0;
    const res = await autocannon({
      url: `${base}/api/v1.0/feed/user/bench/?api_key=benchkey`,
      connections,
      duration: 5,
      method: 'POST',
      headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ actor: 'SU:bench', verb: 'post', object: `o:${n++}` }) }) }],
    });
    return { adds_per_s: Math.round(res.requests.average), p50_ms: res.latency.p50, p99_ms: res.latency.p99, errors: res.errors + res.non2xx };
  } finally {
    await rivulet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function audit(): Promise<void> {
  const result: Record<string, unknown> = {};
  for (const connections of [1, 16]) {
    const off = await measure(false, connections);
    const on = await measure(true, connections);
    result[`c${connections}`] = { without_audit: off, with_audit: on, ratio: Math.round((on.adds_per_s / off.adds_per_s) * 100) / 100 };
  }
  writeResult('audit', result);
  console.log(JSON.stringify(result, null, 2));
}
