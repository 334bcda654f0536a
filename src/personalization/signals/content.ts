/**
 * What an activity's content says (personalization.md §2.4): the raw tag proposals from its fields.
 * Pure apart from the keyword model (loaded once); image labels come from the labeler port and are
 * added by the caller. The content worker extracts keywords on a thread of its own (keyword-thread.ts)
 * and passes them in.
 */
import { hashtagsAndMentions, type RawTag } from './tags.js';
import { extractTerms, type Terms } from './keywords.js';
import type { ContentSettings } from './settings.js';

/** The value at a dotted path of an activity, own properties only. */
export function valueAt(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Strings of a field holding a string or an array of strings (other items ignored). */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** Most terms taken from one field (a hostile activity cannot flood the extractor). */
const MAX_FIELD_ITEMS = 100;

/** The text of an activity's configured text fields, joined by line breaks ('' when it has none). */
export function textOf(activity: Record<string, unknown>, settings: ContentSettings): string {
  return settings.textFields.flatMap((f) => strings(valueAt(activity, f))).join('\n');
}

/**
 * Tag proposals of an activity: caller tags and image labels from the configured fields, hashtags
 * and @mentions of its text fields, and (when enabled) keywords and entities of that text.
 * `terms` are that text's keywords and entities when the caller already extracted them (see
 * keyword-thread.ts); otherwise they are extracted here.
 * @example rawTagsOf({ text: 'Powder! #ski', interest_tags: ['Winter'] }, DEFAULT_CONTENT)
 *   // caller 'Winter', hashtag 'ski', keyword 'powder'
 */
export function rawTagsOf(activity: Record<string, unknown>, settings: ContentSettings, terms?: Terms): RawTag[] {
  const out: RawTag[] = [];
  for (const f of settings.tagFields) for (const t of strings(valueAt(activity, f)).slice(0, MAX_FIELD_ITEMS)) out.push({ source: 'caller', term: t });
  for (const f of settings.imageLabelFields) for (const t of strings(valueAt(activity, f)).slice(0, MAX_FIELD_ITEMS)) out.push({ source: 'image', term: t });
  const text = textOf(activity, settings);
  if (text !== '') {
    const { hashtags, mentions } = hashtagsAndMentions(text);
    for (const h of hashtags) out.push({ source: 'hashtag', term: h });
    for (const m of mentions) out.push({ source: 'mention', term: m });
    if (settings.keywords) {
      terms ??= extractTerms(text);
      for (const e of terms.entities) out.push({ source: 'entity', term: e });
      for (const k of terms.keywords) out.push({ source: 'keyword', term: k });
    }
  }
  return out;
}

/** Image URLs of an activity: strings, or objects with a `url`, in the configured fields (http and https only). */
export function imageUrlsOf(activity: Record<string, unknown>, settings: ContentSettings): string[] {
  const urls: string[] = [];
  for (const f of settings.imageUrlFields) {
    const v = valueAt(activity, f);
    const items = Array.isArray(v) ? v : [v];
    for (const item of items.slice(0, 10)) {
      const u = typeof item === 'string' ? item : typeof item === 'object' && item !== null && typeof (item as { url?: unknown }).url === 'string' ? (item as { url: string }).url : null;
      if (u !== null && /^https?:\/\//i.test(u) && u.length <= 2048) urls.push(u);
    }
  }
  return [...new Set(urls)].slice(0, 10);
}
