import type { FastifyRequest } from 'fastify';
import { InputError } from '../core/errors.js';

/** The parsed query string: node's querystring gives strings, or arrays for repeated keys. */
export type Query = Record<string, string | string[] | undefined>;

export function query(req: FastifyRequest): Query {
  return (req.query ?? {}) as Query;
}

/** One string value of a parameter (the first when repeated). */
export function str(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A boolean parameter (§1.2): `true`/`1`/`True` and `false`/`0`/`False`; 400/4 otherwise. */
export function bool(q: Query, name: string): boolean {
  const v = str(q, name);
  if (v === undefined || v === '') return false;
  const l = v.toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  throw new InputError(`${name} must be true or false`);
}

/** The request's parameters for a `next` link, without those in `skip` (paging ones are rebuilt). */
export function carried(q: Query, skip: ReadonlySet<string>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (skip.has(k) || v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  }
  return params;
}

/** A list parameter: comma-separated, or repeated as `name` / `name[]` (§1.2). */
export function list(q: Query, name: string): string[] | undefined {
  const values: string[] = [];
  let present = false;
  for (const key of [name, name + '[]']) {
    const v = q[key];
    if (v === undefined) continue;
    present = true;
    for (const item of Array.isArray(v) ? v : [v]) values.push(...item.split(','));
  }
  if (!present) return undefined;
  return values.map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Validates `rankingVars` / `ranking_vars` (§6.3): a JSON object string or the bracket form
 * `rankingVars[name]=value`. Anything else is 400/4, even on unranked feeds.
 */
export function rankingVars(q: Query): Record<string, unknown> | undefined {
  // Most reads carry none: one pass over the parameter names decides.
  let any = false;
  for (const key in q) {
    if (key.startsWith('ranking')) {
      any = true;
      break;
    }
  }
  if (!any) return undefined;
  let out: Record<string, unknown> | undefined;
  for (const base of ['rankingVars', 'ranking_vars']) {
    const v = q[base];
    if (v !== undefined) {
      if (Array.isArray(v)) throw new InputError(`${base} must be a JSON object`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        throw new InputError(`${base} must be a JSON object`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InputError(`${base} must be a JSON object`);
      out = { ...out, ...(parsed as Record<string, unknown>) };
    }
    for (const key of Object.keys(q)) {
      if (!key.startsWith(base + '[')) continue;
      const m = /^[A-Za-z_]+\[([^\]]+)\]$/.exec(key);
      if (!m) throw new InputError(`${base} must be an object, got ${key}`);
      const val = str(q, key);
      const num = val !== undefined && val.trim() !== '' && Number.isFinite(Number(val)) ? Number(val) : val;
      out = { ...out, [m[1]]: num };
    }
  }
  return out;
}

/**
 * Refuses a query string whose percent-escapes do not decode to UTF-8 (`%FF`): node's parser would
 * put U+FFFD in their place and the value would be stored changed. 400/4 naming the parameter.
 * A `%` not followed by two hex digits stays a literal `%`, as the parser treats it.
 */
export function checkQueryEncoding(url: string): void {
  const q = url.indexOf('?');
  if (q < 0 || url.indexOf('%', q) < 0) return;
  for (const pair of url.slice(q + 1).split('&')) {
    if (!pair.includes('%')) continue;
    try {
      decodeURIComponent(pair.replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
    } catch {
      const eq = pair.indexOf('=');
      let name = eq < 0 ? pair : pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
      } catch {
        name = 'a query parameter name';
      }
      throw new InputError(`${name.slice(0, 64)} is not valid UTF-8 once decoded`, { fields: { [name.slice(0, 64)]: ['not valid UTF-8'] } });
    }
  }
}
