import { createHmac } from 'node:crypto';

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/**
 * A JWT made by hand, for tokens the official client will not make: any payload (null claims,
 * wrong types), HS256 by default, HS512, or `alg: none` with an empty signature.
 */
export function jwt(payload: unknown, secret: string, alg: 'HS256' | 'HS512' | 'none' = 'HS256'): string {
  const head = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  if (alg === 'none') return `${head}.`;
  const sig = createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}
