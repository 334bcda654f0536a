import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FastHistogram, quantile } from './fast-histogram.js';

describe('FastHistogram', () => {
  it('puts a value equal to a bound into that bound\'s bucket and larger ones into +Inf', () => {
    const h = new FastHistogram('t_seconds', 'test', ['route'], [0.1, 1]);
    const s = h.series(['/a']);
    for (const v of [0.05, 0.1, 0.5, 1, 2]) s.observe(v);
    assert.deepEqual([...s.counts], [2, 2, 1]);
    assert.equal(s.count, 5);
    assert.equal(s.sum, 3.65);
  });

  it('hands out one series per label set', () => {
    const h = new FastHistogram('t_seconds', 'test', ['route', 'status'], [1]);
    assert.equal(h.series(['/a', '200']), h.series(['/a', '200']));
    assert.notEqual(h.series(['/a', '200']), h.series(['/a', '404']));
    assert.deepEqual(h.series(['/a', '404']).labels, { route: '/a', status: '404' });
  });

  it('exports what prom-client formats as a histogram: cumulative buckets, +Inf, sum and count', async () => {
    const h = new FastHistogram('t_seconds', 'A test histogram', ['route'], [0.1, 1]);
    const s = h.series(['/a']);
    s.observe(0.05);
    s.observe(0.5);
    s.observe(5);
    const r = new Registry();
    r.registerMetric(h as never);
    const text = await r.metrics();
    assert.equal(
      text,
      [
        '# HELP t_seconds A test histogram',
        '# TYPE t_seconds histogram',
        't_seconds_bucket{route="/a",le="0.1"} 1',
        't_seconds_bucket{route="/a",le="1"} 2',
        't_seconds_bucket{route="/a",le="+Inf"} 3',
        't_seconds_sum{route="/a"} 5.55',
        't_seconds_count{route="/a"} 3',
        '',
      ].join('\n'),
    );
  });
});

describe('quantile', () => {
  const bounds = Float64Array.from([1, 2, 4]);
  it('interpolates inside the bucket that holds the rank', () => {
    assert.equal(quantile(bounds, [0, 10, 0, 0], 0.5), 1.5);
    assert.equal(quantile(bounds, [10, 0, 0, 0], 0.5), 0.5);
    assert.equal(quantile(bounds, [5, 0, 5, 0], 0.99), 2 + 2 * ((9.9 - 5) / 5));
  });
  it('caps at the last bound and is null without observations', () => {
    assert.equal(quantile(bounds, [0, 0, 0, 3], 0.5), 4);
    assert.equal(quantile(bounds, [0, 0, 0, 0], 0.5), null);
  });
});
