import { InputError } from '../errors.js';
import { isPlainObject } from './activity.js';

/** Fields a partial update may not touch (stream-v2-api.md §6.6): identity and targets. */
const IMMUTABLE = new Set(['id', 'time', 'foreign_id', 'to', 'origin']);
const MAX_DEPTH = 10;

function checkPath(path: string, what: string): string[] {
  if (typeof path !== 'string' || path === '') throw new InputError(`${what}: field paths must be non-empty strings`);
  const parts = path.split('.');
  if (parts.length > MAX_DEPTH || parts.some((p) => p === '')) throw new InputError(`${what}: invalid field path "${path.slice(0, 80)}"`);
  if (IMMUTABLE.has(parts[0])) throw new InputError(`${what}: field "${parts[0]}" cannot be changed by a partial update`);
  if (parts.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) {
    throw new InputError(`${what}: invalid field path "${path.slice(0, 80)}"`);
  }
  return parts;
}

/**
 * Validates a change's `set` and `unset` before anything is loaded, so a bad change rejects the
 * whole call without side effects.
 */
export function validateChange(set: unknown, unset: unknown, what: string): { set: Record<string, unknown>; unset: string[] } {
  // PHP encodes an empty associative array as `[]`: the PHP client sends `"set": []` for "nothing to set".
  if (Array.isArray(set) && set.length === 0) set = undefined;
  if (set !== undefined && set !== null && !isPlainObject(set)) throw new InputError(`${what}: set must be an object`);
  if (unset !== undefined && unset !== null && !Array.isArray(unset)) throw new InputError(`${what}: unset must be an array of strings`);
  const s = (set ?? {}) as Record<string, unknown>;
  const u = (unset ?? []) as unknown[];
  for (const k of Object.keys(s)) checkPath(k, what);
  for (const k of u) checkPath(k as string, what);
  return { set: s, unset: u as string[] };
}

/**
 * Applies dotted `set` paths (creating intermediate objects) and `unset` paths to a copy of `obj`.
 *
 * @example applyPartial({a: {b: 1}}, {'a.c': 2}, ['a.b']) // → {a: {c: 2}}
 */
export function applyPartial(obj: Record<string, unknown>, set: Record<string, unknown>, unset: string[]): Record<string, unknown> {
  const out = structuredClone(obj);
  for (const [path, value] of Object.entries(set)) {
    const parts = path.split('.');
    let cur: Record<string, unknown> = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = cur[parts[i]];
      if (!isPlainObject(next)) cur[parts[i]] = {};
      cur = cur[parts[i]] as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]] = value;
  }
  for (const path of unset) {
    const parts = path.split('.');
    let cur: unknown = out;
    for (let i = 0; i < parts.length - 1 && isPlainObject(cur); i++) cur = cur[parts[i]];
    if (isPlainObject(cur)) delete cur[parts[parts.length - 1]];
  }
  return out;
}
