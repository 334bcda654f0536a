import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { progressBar } from './progress.js';

/** A stream that keeps what is written; `tty` makes it look like a terminal. */
function sink(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
  w.isTTY = tty;
  w.columns = 120;
  return { stream: w, text: () => out };
}

describe('progressBar', () => {
  it('draws the count, percentage, rate and ETA on a terminal, then a summary line', async () => {
    const { stream, text } = sink(true);
    const bar = progressBar('importing', { unit: 'activities', stream, redrawMs: 1 });
    bar.start(2000);
    for (let i = 0; i < 10; i++) {
      bar.tick(100);
      await new Promise((r) => setTimeout(r, 5));
    }
    const drawn = text();
    assert.match(drawn, /importing \[[█░]+\] 50% 1,000\/2,000 activities \| [\d,.]+\/s \| ETA [\d.]+s/);
    bar.stop();
    assert.match(text(), /importing: 1,000 activities in [\d.]+s \([\d,.]+\/s\)\n$/);
  });

  it('prints only the summary line off a terminal', () => {
    const { stream, text } = sink(false);
    const bar = progressBar('seeding', { stream });
    bar.start(3);
    bar.tick();
    bar.tick(2);
    bar.stop();
    assert.match(text(), /^seeding: 3 in [\d.]+s \([\d,.]+\/s\)\n$/);
    bar.stop();
    assert.equal(text().split('\n').length, 2, 'stopping twice prints once');
  });
});
