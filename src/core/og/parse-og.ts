import { Parser } from 'htmlparser2';

export interface OgImage {
  image?: string;
  url?: string;
  secure_url?: string;
  width?: number;
  height?: number;
  type?: string;
  alt?: string;
}
export interface OgVideo {
  video?: string;
  url?: string;
  secure_url?: string;
  width?: number;
  height?: number;
  type?: string;
}
export interface OgAudio {
  audio?: string;
  url?: string;
  secure_url?: string;
  type?: string;
}

/** A page's Open Graph data in Stream's shape (stream-v2-api.md §14); absent values are left out. */
export interface OgData {
  title?: string;
  type?: string;
  url?: string;
  site?: string;
  site_name?: string;
  description?: string;
  determiner?: string;
  locale?: string;
  favicon?: string;
  original_url: string;
  images?: OgImage[];
  videos?: OgVideo[];
  audios?: OgAudio[];
}

const MAX_MEDIA = 10;
const MAX_TEXT = 1000;

function clean(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
  return t === '' ? undefined : t;
}

function absolute(v: string | undefined, base: string): string | undefined {
  const t = clean(v);
  if (t === undefined) return undefined;
  try {
    const u = new URL(t, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

function int(v: string | undefined): number | undefined {
  const n = Number(clean(v));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Extracts Open Graph data from HTML (`og:*` meta properties, structured `og:image:width` etc.
 * attached to the image before them), falling back to `<title>`, `<meta name=description>`,
 * Twitter card tags and `/favicon.ico` when a page has no OG tags. Returns null when the page has
 * neither an OG tag nor a title (nothing to preview). `pageUrl` is where the page was found
 * (relative links resolve against it, or against `<base href>`); `originalUrl` what was asked for.
 *
 * @example parseOpenGraph('<meta property="og:title" content="Hi">', 'https://a.example/', 'https://a.example/')
 *   // { title: 'Hi', favicon: 'https://a.example/favicon.ico', original_url: 'https://a.example/' }
 */
export function parseOpenGraph(html: string, pageUrl: string, originalUrl: string): OgData | null {
  const og: Record<string, string> = {};
  const images: Record<string, string>[] = [];
  const videos: Record<string, string>[] = [];
  const audios: Record<string, string>[] = [];
  const named: Record<string, string> = {};
  let title: string | undefined;
  let inTitle = false;
  let titleText = '';
  let icon: string | undefined;
  let base = pageUrl;
  let sawOg = false;

  const media = (list: Record<string, string>[], key: string, value: string) => {
    // `og:image` starts a new image; `og:image:width` etc. describe the latest one.
    if (key === '' || key === 'url') {
      if (list.length < MAX_MEDIA) list.push({ url: value });
      return;
    }
    if (list.length === 0) list.push({});
    const last = list[list.length - 1];
    if (last[key] === undefined) last[key] = value;
  };

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'title' && title === undefined) {
          inTitle = true;
          titleText = '';
        } else if (name === 'base' && attrs.href) {
          base = absolute(attrs.href, pageUrl) ?? base;
        } else if (name === 'link' && attrs.href) {
          const rel = (attrs.rel ?? '').toLowerCase().split(/\s+/);
          if (icon === undefined && (rel.includes('icon') || rel.includes('apple-touch-icon'))) icon = attrs.href;
        } else if (name === 'meta') {
          const content = attrs.content;
          if (content === undefined) return;
          const prop = (attrs.property ?? attrs.name ?? '').trim().toLowerCase();
          if (prop.startsWith('og:')) {
            sawOg = true;
            const [, kind, ...rest] = prop.split(':');
            const key = rest.join(':');
            if (kind === 'image') media(images, key, content);
            else if (kind === 'video') media(videos, key, content);
            else if (kind === 'audio') media(audios, key, content);
            else if (og[kind] === undefined) og[kind] = content;
          } else if (prop !== '' && named[prop] === undefined) {
            named[prop] = content;
          }
        }
      },
      ontext(text) {
        if (inTitle) titleText += text;
      },
      onclosetag(name) {
        if (name === 'title' && inTitle) {
          inTitle = false;
          title = titleText;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();

  const pageTitle = clean(og.title) ?? clean(named['twitter:title']) ?? clean(title);
  if (!sawOg && pageTitle === undefined) return null;

  if (images.length === 0 && named['twitter:image']) images.push({ url: named['twitter:image'] });
  let origin: string | undefined;
  try {
    origin = new URL(pageUrl).origin;
  } catch {
    origin = undefined;
  }
  const out: OgData = { original_url: originalUrl };
  const set = <K extends keyof OgData>(k: K, v: OgData[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('title', pageTitle);
  set('type', clean(og.type));
  set('url', absolute(og.url, base));
  set('site', clean(named['twitter:site']));
  set('site_name', clean(og.site_name));
  set('description', clean(og.description) ?? clean(named.description) ?? clean(named['twitter:description']));
  set('determiner', clean(og.determiner));
  set('locale', clean(og.locale));
  set('favicon', absolute(icon, base) ?? (origin ? `${origin}/favicon.ico` : undefined));
  const imgs = images
    .map((m) => {
      const url = absolute(m.url, base);
      const img: OgImage = { image: url, url, secure_url: absolute(m.secure_url, base), width: int(m.width), height: int(m.height), type: clean(m.type), alt: clean(m.alt) };
      return dropUndefined(img);
    })
    .filter((m) => m.image !== undefined);
  const vids = videos
    .map((m) => {
      const url = absolute(m.url, base);
      return dropUndefined<OgVideo>({ video: url, url, secure_url: absolute(m.secure_url, base), width: int(m.width), height: int(m.height), type: clean(m.type) });
    })
    .filter((m) => m.video !== undefined);
  const auds = audios
    .map((m) => {
      const url = absolute(m.url, base);
      return dropUndefined<OgAudio>({ audio: url, url, secure_url: absolute(m.secure_url, base), type: clean(m.type) });
    })
    .filter((m) => m.audio !== undefined);
  if (imgs.length > 0) out.images = imgs;
  if (vids.length > 0) out.videos = vids;
  if (auds.length > 0) out.audios = auds;
  return out;
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
