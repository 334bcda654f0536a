/**
 * Content tag rules (personalization.md §2.4): normalising, namespacing, allow and block lists,
 * the per-source weights and the cap per activity. Pure functions; the keyword extractor and the
 * image labeler only propose raw terms.
 */
import type { ContentTag, TagSource } from '../../ports/content-tag-store.js';
import type { ContentSettings } from './settings.js';

/** Weight of a tag by source (§2.4): caller 1.0, hashtag 1.0, image 0.8, keyword 0.5. */
export const SOURCE_WEIGHT: Readonly<Record<TagSource, number>> = {
  caller: 1,
  hashtag: 1,
  mention: 0.8,
  image: 0.8,
  entity: 0.6,
  keyword: 0.5,
};

/** Which source wins when two give the same tag (higher first). */
const SOURCE_RANK: Readonly<Record<TagSource, number>> = { caller: 6, hashtag: 5, image: 4, mention: 3, entity: 2, keyword: 1 };

const PREFIX: Readonly<Record<TagSource, string>> = { caller: '', hashtag: '#', mention: '@', keyword: 'kw:', entity: 'ent:', image: 'img:' };

/** Longest tag kept, in characters (after the namespace). */
export const MAX_TAG_LENGTH = 64;

/**
 * The normalised text of a raw term: Unicode-normalised (NFKC), lower-cased, trimmed, inner
 * whitespace collapsed, and a leading `#`/`@` dropped (the namespace says it). Empty or longer
 * than {@link MAX_TAG_LENGTH}: null.
 * @example normaliseTerm('  #SnowBoarding ') // 'snowboarding'
 */
export function normaliseTerm(raw: string): string | null {
  const t = raw.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ').replace(/^[#@]+/, '');
  if (t === '' || t.length > MAX_TAG_LENGTH) return null;
  return t;
}

/** The namespaced tag of a term from `source`, e.g. `kw:powder`; caller tags stay bare. */
export function namespaced(source: TagSource, term: string): string {
  return PREFIX[source] + term;
}

/** A proposed tag before the rules: its source, raw text, and an optional weight factor (image confidence). */
export interface RawTag {
  readonly source: TagSource;
  readonly term: string;
  readonly factor?: number;
}

/**
 * Builds an activity's tag set: normalises and namespaces every proposal, drops blocked tags and
 * (with an allow list) unlisted ones, keeps the strongest source per tag, and caps the set at
 * `maxTags`, strongest first (ties in proposal order).
 *
 * @example
 *   buildTags([{ source: 'hashtag', term: 'Snow' }, { source: 'keyword', term: 'snow' }], DEFAULT_CONTENT)
 *   // [{ tag: '#snow', source: 'hashtag', weight: 1 }, { tag: 'kw:snow', source: 'keyword', weight: 0.5 }]
 */
export function buildTags(raw: readonly RawTag[], settings: Pick<ContentSettings, 'allowedTags' | 'blockedTags' | 'maxTags'>): ContentTag[] {
  const byTag = new Map<string, { tag: ContentTag; order: number }>();
  raw.forEach((r, order) => {
    const term = normaliseTerm(r.term);
    if (term === null) return;
    const tag = namespaced(r.source, term);
    if (settings.blockedTags.has(tag)) return;
    if (settings.allowedTags !== null && !settings.allowedTags.has(tag)) return;
    const weight = Math.round(SOURCE_WEIGHT[r.source] * Math.min(1, Math.max(0, r.factor ?? 1)) * 1000) / 1000;
    if (weight <= 0) return;
    const prev = byTag.get(tag);
    if (prev === undefined || SOURCE_RANK[r.source] > SOURCE_RANK[prev.tag.source]) byTag.set(tag, { tag: { tag, source: r.source, weight }, order: prev?.order ?? order });
  });
  return [...byTag.values()]
    .sort((a, b) => b.tag.weight - a.tag.weight || a.order - b.order)
    .slice(0, settings.maxTags)
    .map((x) => x.tag);
}

/** Normalises a configured tag (allow/block lists): namespaced input kept, bare text lower-cased. */
export function normaliseConfiguredTag(tag: string): string | null {
  const m = /^(#|@|kw:|ent:|img:)?(.*)$/s.exec(tag.trim())!;
  const term = normaliseTerm(m[2]);
  return term === null ? null : (m[1] ?? '') + term;
}

const HASHTAG_RE = /(?:^|[^\p{L}\p{N}_&/])#([\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)/gu;
const MENTION_RE = /(?:^|[^\p{L}\p{N}_.@/])@([\p{L}\p{N}_][\p{L}\p{N}_.-]*[\p{L}\p{N}_]|[\p{L}\p{N}_])/gu;

/**
 * Hashtags and @mentions of a text. A hashtag needs a letter (`#1` is not one); mentions stop at
 * characters a user id cannot hold; `a@b.com` is an address, not a mention.
 * @example hashtagsAndMentions('Powder day #Snowboarding with @alex!') // { hashtags: ['Snowboarding'], mentions: ['alex'] }
 */
export function hashtagsAndMentions(text: string): { hashtags: string[]; mentions: string[] } {
  const hashtags: string[] = [];
  const mentions: string[] = [];
  for (const m of text.matchAll(HASHTAG_RE)) hashtags.push(m[1]);
  for (const m of text.matchAll(MENTION_RE)) mentions.push(m[1]);
  return { hashtags, mentions };
}
