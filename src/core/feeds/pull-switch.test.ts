import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addReach, becomesPullServed } from './pull-switch.js';

describe('pull switch', () => {
  it('switches a feed to pull once its follower count passes the threshold, and never back', () => {
    assert.equal(becomesPullServed(10, 10, false), false);
    assert.equal(becomesPullServed(11, 10, false), true);
    assert.equal(becomesPullServed(11, 10, true), false); // already pull-served: nothing to record
    assert.equal(becomesPullServed(1_000_000, undefined, false), false);
  });

  it('sends adds of a pull-served feed to grouped followers only', () => {
    assert.equal(addReach(false, true), 'all');
    assert.equal(addReach(false, false), 'all');
    assert.equal(addReach(true, true), 'grouped');
    assert.equal(addReach(true, false), 'none');
  });
});
