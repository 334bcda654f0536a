import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { extractTermsOffThread, keywordThreadId, stopKeywordThread } from './keyword-thread.js';
import { extractTerms } from './keywords.js';

const TEXTS = [
  'Fresh powder at Whistler Blackcomb today! Barack Obama visited Paris and Google announced new phones.',
  '',
  'Ride #snow with @alex',
  'The quick brown fox jumps over the lazy dog near the river bank.',
  '   ',
  'Apple and Microsoft report earnings; analysts in New York expect growth.',
];

describe('keyword extraction on the keyword thread', () => {
  it('gives each text the terms the calling thread would, in order, across concurrent calls', async () => {
    const expected = TEXTS.map(extractTerms);
    const calls = await Promise.all([extractTermsOffThread(TEXTS), extractTermsOffThread([...TEXTS].reverse()), extractTermsOffThread(TEXTS.slice(2, 4))]);
    assert.deepEqual(calls[0], expected);
    assert.deepEqual(calls[1], [...expected].reverse());
    assert.deepEqual(calls[2], expected.slice(2, 4));
    assert.deepEqual(await extractTermsOffThread([]), []);
    const id = keywordThreadId();
    assert.ok(id !== null && id !== threadId, `extraction ran on thread ${id}, not on the calling thread ${threadId}`);
  });

  it('extracts on the calling thread once the keyword thread has stopped, including what it owed', async () => {
    const expected = TEXTS.map(extractTerms);
    await extractTermsOffThread(TEXTS.slice(0, 1));
    const owed = extractTermsOffThread(TEXTS);
    await stopKeywordThread();
    assert.deepEqual(await owed, expected);
    assert.equal(keywordThreadId(), null);
    assert.deepEqual(await extractTermsOffThread(TEXTS), expected);
  });
});
