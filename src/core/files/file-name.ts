/** Longest file name kept, in UTF-8 bytes (longer names are cut, keeping their extension). */
export const MAX_NAME_BYTES = 200;

/**
 * The name an upload is stored and served under: the last path segment of what the client sent
 * (browsers and the node client send a bare name; some send a path), without control characters,
 * at most {@link MAX_NAME_BYTES} bytes. A name that ends up empty, `.` or `..` becomes `file`.
 *
 * @example safeFileName('C:\\Users\\me\\cat picture.JPG') === 'cat picture.JPG'
 */
export function safeFileName(raw: string | undefined): string {
  let name = (raw ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    let stem = name.slice(0, name.length - ext.length);
    while (Buffer.byteLength(stem + ext) > MAX_NAME_BYTES) stem = [...stem].slice(0, -1).join('');
    name = stem + ext;
  }
  if (name === '' || name === '.' || name === '..') return 'file';
  return name;
}

/** The name with its extension replaced (a processed image may change format). */
export function withExtension(name: string, ext: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name) + '.' + ext;
}
