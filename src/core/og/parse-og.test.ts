import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOpenGraph } from './parse-og.js';

const URL_ = 'https://site.example/a/page';

describe('parseOpenGraph', () => {
  it('reads OG tags, structured media properties and resolves links against <base>', () => {
    const og = parseOpenGraph(
      `<html><head><base href="https://cdn.example/x/">
       <meta property="og:title" content=" Hello &amp; welcome ">
       <meta property="og:image" content="i.png"><meta property="og:image:width" content="10"><meta property="og:image:width" content="99">
       <meta property="og:image:secure_url" content="https://cdn.example/s.png">
       <meta property="og:image" content="javascript:alert(1)">
       <meta property="og:video:url" content="/v.mp4"><meta property="og:video:height" content="-3">
       <link rel="shortcut icon" href="fav.ico"></head></html>`,
      URL_,
      'https://short.example/x',
    );
    assert.deepEqual(og, {
      original_url: 'https://short.example/x',
      title: 'Hello & welcome',
      favicon: 'https://cdn.example/x/fav.ico',
      images: [{ image: 'https://cdn.example/x/i.png', url: 'https://cdn.example/x/i.png', secure_url: 'https://cdn.example/s.png', width: 10 }],
      videos: [{ video: 'https://cdn.example/v.mp4', url: 'https://cdn.example/v.mp4' }],
    });
  });

  it('falls back to the title, meta and twitter tags, and /favicon.ico', () => {
    const og = parseOpenGraph(
      '<title>Plain</title><meta name="description" content="d"><meta name="twitter:image" content="/t.png"><meta name="twitter:site" content="@s">',
      URL_,
      URL_,
    );
    assert.deepEqual(og, {
      original_url: URL_,
      title: 'Plain',
      description: 'd',
      site: '@s',
      favicon: 'https://site.example/favicon.ico',
      images: [{ image: 'https://site.example/t.png', url: 'https://site.example/t.png' }],
    });
  });

  it('finds nothing in a page without OG tags or a title', () => {
    assert.equal(parseOpenGraph('<html><body><p>text</p></body></html>', URL_, URL_), null);
    assert.equal(parseOpenGraph('\u0000\u0001binary', URL_, URL_), null);
  });

  it('keeps at most ten images', () => {
    const html = Array.from({ length: 15 }, (_, i) => `<meta property="og:image" content="/${i}.png">`).join('');
    assert.equal(parseOpenGraph(html, URL_, URL_)!.images!.length, 10);
  });
});
