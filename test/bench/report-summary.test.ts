import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeSummary } from '../../bench/report.js';

// The benchmark summary (bench/results/SUMMARY.md) is rebuilt after every scenario run: a run of
// one scenario, or of part of one, must change only the rows it measured.

const base = { node: 'v20', cpus: 2, argv: [], git: null };

function clusterRun(masters: number, storePerS: number) {
  return {
    masters,
    fanout: { store_apply_per_s: storePerS, raw_zadd_per_s: 100_000, share_of_ceiling: storePerS / 100_000, share_of_ceiling_median_round: storePerS / 100_000 },
    http: {
      cache_off: { connections: 50, requests_per_s: 4_000 + masters, latency_ms: { p50: 10, p99: 30 }, vs_ceiling: 0.2 },
      cache_on: { connections: 50, requests_per_s: 11_000 + masters, latency_ms: { p50: 4, p99: 15 }, vs_ceiling: 0.6 },
      ceiling: { requests_per_s: 20_000, latency_ms: { p50: 2, p99: 6 } },
    },
    memory_bytes_per_entry: { default: 157, 'listpack-1024': 52 },
    ...(masters === 3
      ? {
          capacity: {
            memory_bytes: { per_activity: { bytes: 700, body_bytes: 288 }, per_follow: 480 },
            commands: { per_activity_write: { all: 25 }, per_follow: { all: 27 }, per_flat_read_25: { all: 13.6 } },
          },
        }
      : {}),
  };
}

describe('bench summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-summary-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, doc: object) => writeFileSync(join(dir, name), JSON.stringify(doc));

  it('a cluster run of one size keeps the other sizes from the newest run that measured them, and the other scenarios', () => {
    write('graph-load-2026-12-01T00-00-00-000Z.json', {
      ...base,
      scenario: 'graph-load',
      at: '2026-12-01T00:00:00.000Z',
      graph: { name: 'wiki-vote', title: 'wiki-Vote', follows: 103_689 },
      load: { follows_per_s: 54_321, ms: 1_900 },
    });
    write('cluster-2026-12-02T00-00-00-000Z.json', { ...base, scenario: 'cluster', at: '2026-12-02T00:00:00.000Z', runs: [clusterRun(1, 11_111), clusterRun(2, 22_222), clusterRun(3, 33_333)] });
    // A fan-out-only run (no HTTP reads) is newer, but measured none of the section's reads.
    write('cluster-2026-12-03T00-00-00-000Z.json', { ...base, scenario: 'cluster', at: '2026-12-03T00:00:00.000Z', runs: [{ masters: 2, fanout: clusterRun(2, 99_999).fanout }] });
    writeSummary(dir);
    const first = readFileSync(join(dir, 'SUMMARY.md'), 'utf8');
    assert.match(first, /54,321 follows\/s/);
    for (const n of ['11,111', '22,222', '33,333']) assert.ok(first.includes(`| ${n}/s`), n);
    assert.ok(!first.includes('99,999'));

    // `--masters 1`: only the 1-master rows change.
    write('cluster-2026-12-04T00-00-00-000Z.json', { ...base, scenario: 'cluster', at: '2026-12-04T00:00:00.000Z', runs: [clusterRun(1, 44_444)] });
    writeSummary(dir);
    const text = readFileSync(join(dir, 'SUMMARY.md'), 'utf8');
    assert.match(text, /54,321 follows\/s/, 'the graph-load section is kept');
    assert.ok(text.includes('| 1 master: fan-out inserts through the store | 44,444/s'));
    assert.ok(!text.includes('11,111'));
    assert.ok(text.includes('| 2 masters (cluster-2026-12-02T00-00-00-000Z.json): fan-out inserts through the store | 22,222/s'));
    assert.ok(text.includes('| 3 masters (cluster-2026-12-02T00-00-00-000Z.json): fan-out inserts through the store | 33,333/s'));
    assert.ok(text.includes('3 masters (cluster-2026-12-02T00-00-00-000Z.json): memory per activity beyond its body | 412 B'));
    // Both files are listed under the section, the newest first.
    const subs = [...text.matchAll(/<sub>(cluster-[^ ]+) /g)].map((m) => m[1]);
    assert.deepEqual(subs, ['cluster-2026-12-04T00-00-00-000Z.json', 'cluster-2026-12-02T00-00-00-000Z.json']);
  });
});
