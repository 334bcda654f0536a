import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageUrlsOf, rawTagsOf } from './content.js';
import { extractTerms } from './keywords.js';
import { DEFAULT_CONTENT } from './settings.js';

describe('keywords and entities (wink-nlp, bundled English model)', () => {
  it('keeps lemmatised nouns and runs of proper nouns, not stop words or sentence-initial capitals', () => {
    const t = extractTerms('Fresh powder at Whistler Blackcomb today! Barack Obama visited Paris and Google announced new phones.');
    for (const k of ['powder', 'whistler', 'phone', 'paris']) assert.ok(t.keywords.includes(k), `${k} in ${t.keywords}`);
    assert.ok(!t.keywords.includes('today') && !t.keywords.includes('at'));
    assert.deepEqual(t.entities, ['whistler blackcomb', 'barack obama', 'paris', 'google']);
    assert.deepEqual(extractTerms('   '), { keywords: [], entities: [] });
  });

  it('reads the configured fields of an activity', () => {
    const raw = rawTagsOf(
      { text: 'Ride #snow with @alex', title: 'Mountains', interest_tags: ['ski', 3], image_labels: 'lake', nested: { x: 1 } },
      { ...DEFAULT_CONTENT, keywords: false },
    );
    assert.deepEqual(raw, [
      { source: 'caller', term: 'ski' },
      { source: 'image', term: 'lake' },
      { source: 'hashtag', term: 'snow' },
      { source: 'mention', term: 'alex' },
    ]);
    assert.deepEqual(imageUrlsOf({ image: 'https://a/1.jpg', images: ['https://a/2.jpg', 'ftp://no', { url: 'http://a/3.png' }], attachments: { images: ['https://a/1.jpg'] } }, DEFAULT_CONTENT), [
      'https://a/1.jpg',
      'https://a/2.jpg',
      'http://a/3.png',
    ]);
  });
});
