/**
 * Tells text from binary content the way browsers' MIME sniffing does for unknown types (WHATWG
 * "binary data byte" rule): any of the bytes 0x00-0x08, 0x0B, 0x0E-0x1A, 0x1C-0x1F in the first
 * 512 bytes makes it binary. Images are recognised by the image decoder, not here; this only names
 * what a refused upload was (stream-v2-api.md §13: random bytes are `application/octet-stream`).
 *
 * @example sniffedType(Buffer.from('hello')) === 'text/plain'
 */
export function sniffedType(bytes: Uint8Array): 'text/plain' | 'application/octet-stream' {
  const n = Math.min(bytes.length, 512);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) return 'application/octet-stream';
  }
  return 'text/plain';
}

/**
 * Content types a browser would run or render as a document in Rivulet's origin (markup, script,
 * SVG, XML). A file declared with one of these is served as `application/octet-stream`.
 */
export function isActiveType(type: string): boolean {
  const t = type.toLowerCase().split(';')[0].trim();
  return (
    t === '' ||
    t.includes('html') ||
    t.includes('xml') ||
    t.includes('svg') ||
    t.includes('javascript') ||
    t.includes('ecmascript') ||
    t === 'text/css' ||
    t === 'application/pdf' ||
    t.startsWith('multipart/') ||
    !/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(t)
  );
}
