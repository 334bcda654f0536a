/**
 * Keywords and named entities of a text (personalization.md §2.4), with `wink-nlp` and its English
 * lite model, which ships inside the npm package (nothing is downloaded at install or run time).
 *
 * - keywords: nouns and proper nouns, lemmatised, minus stop words, numbers and one-letter words;
 * - entities: runs of proper nouns (`Whistler Blackcomb`, `Barack Obama`) — the lite model has no
 *   person/place recogniser, so a run of proper nouns stands for a named entity;
 * - hashtags and @mentions found by the tokenizer are left to `hashtagsAndMentions`.
 *
 * The model takes ~0.4 s to load; it is loaded on first use (by the content worker, off the
 * request path), once per process.
 */
import { createRequire } from 'node:module';

export interface Terms {
  readonly keywords: string[];
  readonly entities: string[];
}

type Nlp = {
  readDoc(text: string): {
    tokens(): { each(fn: (t: { out(x: unknown): string }) => void): void };
  };
  its: Record<string, unknown>;
};

let nlp: Nlp | null = null;

/** Nouns too general to say what a post is about (the model's stop words are function words). */
const GENERIC = new Set(['today', 'tomorrow', 'yesterday', 'tonight', 'day', 'days', 'time', 'week', 'year', 'thing', 'things', 'lot', 'way', 'people', 'guy', 'stuff']);

function load(): Nlp {
  if (nlp === null) {
    const require = createRequire(import.meta.url);
    const winkNLP = require('wink-nlp') as (model: unknown) => Nlp;
    nlp = winkNLP(require('wink-eng-lite-web-model'));
  }
  return nlp;
}

/** Longest text read, in characters: activities are at most 10 KB. */
const MAX_TEXT = 10_240;

/**
 * @example extractTerms('Fresh powder at Whistler Blackcomb today!')
 *   // { keywords: ['powder', 'whistler', 'blackcomb'], entities: ['whistler blackcomb'] }
 */
export function extractTerms(text: string): Terms {
  if (text.trim() === '') return { keywords: [], entities: [] };
  const n = load();
  const its = n.its;
  const keywords: string[] = [];
  const entities: string[] = [];
  let run: string[] = [];
  // A lone capitalised word opening a sentence is not evidence of a name ("Fresh powder…").
  let runAtStart = false;
  let sentenceStart = true;
  const endRun = () => {
    if (run.length > 1 || (run.length === 1 && !runAtStart)) entities.push(run.join(' '));
    run = [];
  };
  n.readDoc(text.slice(0, MAX_TEXT))
    .tokens()
    .each((t) => {
      const type = t.out(its.type);
      const pos = t.out(its.pos);
      if (type !== 'word') {
        endRun();
        if (type === 'punctuation' && /[.!?]/.test(t.out(its.value))) sentenceStart = true;
        return;
      }
      if (pos === 'PROPN') {
        if (run.length === 0) runAtStart = sentenceStart;
        run.push(t.out(its.normal));
      } else endRun();
      sentenceStart = false;
      if ((pos === 'NOUN' || pos === 'PROPN') && !(t.out(its.stopWordFlag) as unknown as boolean)) {
        const lemma = t.out(its.lemma);
        if (lemma.length > 1 && /\p{L}/u.test(lemma) && !GENERIC.has(lemma)) keywords.push(lemma);
      }
    });
  endRun();
  return { keywords, entities };
}
