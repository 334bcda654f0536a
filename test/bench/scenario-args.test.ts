import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scenarioArgs } from '../../bench/suite.js';

// The benchmark runner's command line: the value of an option that takes one is never a scenario.
describe('bench scenario arguments', () => {
  it('skips the values of --reads and --feeds, in both spellings', () => {
    assert.deepEqual(scenarioArgs(['read-cpu', '--reads', '4000']), ['read-cpu']);
    assert.deepEqual(scenarioArgs(['mixed', '--reads', '100', '--rates', '0,200', 'read-cpu']), ['mixed', 'read-cpu']);
    assert.deepEqual(scenarioArgs(['--feeds', '10', 'sweep', '--reads=50']), ['sweep']);
  });

  it('skips the directory of --perf, as of --profile', () => {
    assert.deepEqual(scenarioArgs(['mixed', '--rates', '200', '--perf', '/tmp/perf']), ['mixed']);
    assert.deepEqual(scenarioArgs(['--profile', '/tmp/prof', 'read-cpu']), ['read-cpu']);
  });
});
