import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONTENT } from './settings.js';
import { buildTags, hashtagsAndMentions, normaliseConfiguredTag, normaliseTerm } from './tags.js';

describe('content tags', () => {
  it('normalises terms: NFKC, lower case, trimmed, single spaces, no leading # or @', () => {
    assert.equal(normaliseTerm('  #SnowBoarding '), 'snowboarding');
    assert.equal(normaliseTerm('Winter   Sports'), 'winter sports');
    assert.equal(normaliseTerm('ＳＫＩ'), 'ski');
    assert.equal(normaliseTerm('   '), null);
    assert.equal(normaliseTerm('x'.repeat(65)), null);
    assert.equal(normaliseConfiguredTag(' #Spam '), '#spam');
    assert.equal(normaliseConfiguredTag('KW:Rubbish'.replace('KW', 'kw')), 'kw:rubbish');
    assert.equal(normaliseConfiguredTag('Plain'), 'plain');
  });

  it('finds hashtags and mentions, not numbers or e-mail addresses', () => {
    assert.deepEqual(hashtagsAndMentions('Powder! #Snow_day #1 #ski2 with @alex and @bo.b, mail a@b.com, url x.com/#frag'), {
      hashtags: ['Snow_day', 'ski2'],
      mentions: ['alex', 'bo.b'],
    });
    assert.deepEqual(hashtagsAndMentions('#début @Zoë'), { hashtags: ['début'], mentions: ['Zoë'] });
  });

  it('namespaces by source, keeps the strongest source per tag, weights by source and caps the set', () => {
    const tags = buildTags(
      [
        { source: 'keyword', term: 'Powder' },
        { source: 'hashtag', term: 'Snow' },
        { source: 'caller', term: 'snow' },
        { source: 'mention', term: 'alex' },
        { source: 'image', term: 'snowboard', factor: 0.5 },
        { source: 'entity', term: 'Whistler Blackcomb' },
        { source: 'keyword', term: 'powder' },
      ],
      DEFAULT_CONTENT,
    );
    assert.deepEqual(
      tags.map((t) => [t.tag, t.source, t.weight]),
      [
        ['#snow', 'hashtag', 1],
        ['snow', 'caller', 1],
        ['@alex', 'mention', 0.8],
        ['ent:whistler blackcomb', 'entity', 0.6],
        ['kw:powder', 'keyword', 0.5],
        ['img:snowboard', 'image', 0.4],
      ],
    );
    const many = buildTags(
      Array.from({ length: 30 }, (_, i) => ({ source: 'keyword' as const, term: `w${i}` })),
      DEFAULT_CONTENT,
    );
    assert.equal(many.length, 20);
    assert.equal(many[0].tag, 'kw:w0', 'ties keep their order');
  });

  it('applies block and allow lists to the namespaced form', () => {
    const raw = [
      { source: 'hashtag' as const, term: 'spam' },
      { source: 'hashtag' as const, term: 'ski' },
      { source: 'caller' as const, term: 'spam' },
    ];
    assert.deepEqual(buildTags(raw, { ...DEFAULT_CONTENT, blockedTags: new Set(['#spam']) }).map((t) => t.tag), ['#ski', 'spam']);
    assert.deepEqual(buildTags(raw, { ...DEFAULT_CONTENT, allowedTags: new Set(['#ski']) }).map((t) => t.tag), ['#ski']);
  });
});
