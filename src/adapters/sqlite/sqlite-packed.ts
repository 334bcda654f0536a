/**
 * Rows read as one text: the driver makes each row an array and each value a JavaScript value
 * one by one, through calls that cost more than the statement's own work for a row of a few
 * short values (measured: about 1,000 instructions a value, 2,000 a row). Packed, a statement
 * returns a single text, which is split here at once.
 *
 * The text is the number of rows, then every row's values in order, all separated by the control
 * character U+001F. Ids, kinds and names are validated on write and JSON never holds that
 * character unescaped, but nothing relies on it: a value holding the separator makes more pieces
 * than rows × columns, and the caller then reads the same rows unpacked ({@link unpack} returns
 * null). Values must not be NULL (`concat_ws` leaves NULLs out): select a nullable column through
 * `ifnull` together with a column telling whether it is NULL. Integers come as their decimal text.
 * The rows are in no particular order.
 */

const SEP = '\x1f';
const NONE: readonly string[] = [];

/**
 * The SQL of `select`'s rows packed into one text (see the module's description): `columns` are
 * the expressions of each row, over the tables of `from` (`FROM …`, with its conditions).
 */
export function packed(columns: readonly string[], from: string): string {
  return `SELECT count(*) || char(31) || ifnull(group_concat(concat_ws(char(31), ${columns.join(', ')}), char(31)), '') ${from}`;
}

/**
 * The number of an integer's decimal text (as SQLite writes it: an optional minus, digits), digit
 * by digit: the number parser takes its slow path for the 16 digits of a time in microseconds.
 * Exact up to 2^53 (every step is an integer below it); longer texts go to the parser.
 */
export function intOf(text: string): number {
  const neg = text.charCodeAt(0) === 45;
  const digits = neg ? text.length - 1 : text.length;
  if (digits > 16 || digits === 0) return Number(text);
  let n = 0;
  for (let i = neg ? 1 : 0; i < text.length; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  if (n > Number.MAX_SAFE_INTEGER) return Number(text);
  return neg ? -n : n;
}

/**
 * The values of a packed text, row after row from index 1 (`columns` a row), or null when a value
 * held the separator (then read the rows unpacked).
 */
export function unpack(text: string, columns: number): readonly string[] | null {
  const values = text.split(SEP);
  const rows = Number(values[0]);
  if (rows === 0) return NONE;
  return values.length === 1 + rows * columns ? values : null;
}
