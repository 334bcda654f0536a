import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runHttpHarness } from '../../bench/personalization-http.js';
import { generate, TINY_CONFIG } from '../../src/personalization/harness/generator.js';

// The evaluation harness's `--http` mode on a tiny world: the world written with `getstream`, the
// log sent with `stream-analytics`, every test request a personalized read of a live server.
describe('personalization harness over HTTP', () => {
  it('drives a live server end to end and scores what its personalized reads serve', async () => {
    const world = generate(TINY_CONFIG, 42);
    const { result, http } = await runHttpHarness(TINY_CONFIG, 42);
    assert.equal(http.impressions_sent, world.log.time.length, 'every logged impression was sent');
    assert.equal(http.engagements_sent, world.log.engaged.filter(Boolean).length + world.log.negative.filter(Boolean).length);
    assert.equal(http.reads, world.requests.length);
    assert.equal(http.reads_by_model, http.reads, `every read ranked by the learned model: ${JSON.stringify(http.fallback_versions)}`);
    assert.equal(http.mean_results, 25);
    assert.equal(http.results_outside_pool, 0, "the server's candidates come from the generator's window");
    const m = result.policies;
    for (const name of ['learned', 'learned_in_memory', 'engagement_only', 'chronological', 'stream_interest', 'oracle_engage']) assert.ok(m[name] !== undefined, name);
    // Loose margins (about 1.7× and 0.04 vs 0.05 on this world): the served ranking learned from the events.
    assert.ok(m.learned.ndcg_at_10 >= 1.2 * m.chronological.ndcg_at_10, JSON.stringify(result.ratios.learned));
    assert.ok(m.learned.controversy_at_25 <= m.engagement_only.controversy_at_25, JSON.stringify(m.learned));
    assert.ok(result.targets !== undefined && result.targets.some((t) => t.target.startsWith('T1')));
  });
});
