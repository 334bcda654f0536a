/**
 * Python's `datetime.strftime` as it behaves on Linux (glibc, C locale) for a UTC instant, compiled
 * once per format string. Used by `time.strftime('…')` in aggregation formats (stream-v2-api.md
 * §7.1, §23.3).
 */

/** A UTC instant split into calendar fields; all values are integers. */
export interface BrokenDownTime {
  readonly year: number;
  /** 1–12. */
  readonly month: number;
  /** 1–31. */
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0–999 999. */
  readonly microsecond: number;
  /** Day of the year, 0-based (1 January is 0). */
  readonly yday: number;
  /** Day of the week, 0 = Sunday … 6 = Saturday (C `tm_wday`). */
  readonly wday: number;
  /** ISO 8601 week-numbering year (`%G`). */
  readonly isoYear: number;
  /** ISO 8601 week, 1–53 (`%V`). */
  readonly isoWeek: number;
  /** Whole seconds since the epoch (`%s`). */
  readonly epochSeconds: number;
}

const US_PER_SECOND = 1_000_000;
const SECONDS_PER_DAY = 86_400;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Calendar year of a day count since 1970-01-01, with month and day. */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  // Integer-only conversion (H. Hinnant's civil_from_days): no Date objects on the hot path.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * Splits microseconds since the epoch into UTC calendar fields.
 *
 * @example breakDownTime(1_714_557_600_123_456).yday === 121 // 2024-05-01T10:00:00.123456
 */
export function breakDownTime(us: number): BrokenDownTime {
  const epochSeconds = Math.floor(us / US_PER_SECOND);
  const microsecond = us - epochSeconds * US_PER_SECOND;
  const days = Math.floor(epochSeconds / SECONDS_PER_DAY);
  const secondOfDay = epochSeconds - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const wday = (((days + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  // ISO weeks belong to the year holding their Thursday.
  const thursday = days + 3 - ((wday + 6) % 7);
  const isoYear = civilFromDays(thursday).year;
  return {
    year,
    month,
    day,
    hour: Math.floor(secondOfDay / 3600),
    minute: Math.floor((secondOfDay % 3600) / 60),
    second: secondOfDay % 60,
    microsecond,
    yday: days - daysFromCivil(year, 1, 1),
    wday,
    isoYear,
    isoWeek: Math.floor((thursday - daysFromCivil(isoYear, 1, 1)) / 7) + 1,
    epochSeconds,
  };
}

const DAY_ABBR = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_FULL = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_ABBR = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_FULL = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/** A numeric conversion: its value and glibc's natural width; `space` pads with blanks by default. */
interface NumberSpec {
  readonly kind: 'number';
  readonly digits: number;
  readonly space?: boolean;
  readonly value: (t: BrokenDownTime) => number;
}

/**
 * A text conversion. `hash` is what the `#` flag does (glibc: swap case to upper for names, lower
 * for AM/PM); `lower` forces lower case whatever the flags (`%P`).
 */
interface TextSpec {
  readonly kind: 'text';
  readonly hash?: 'upper' | 'lower';
  readonly lower?: boolean;
  readonly value: (t: BrokenDownTime) => string;
}

type Spec = NumberSpec | TextSpec;

const hour12 = (t: BrokenDownTime): number => t.hour % 12 || 12;
const num = (digits: number, value: (t: BrokenDownTime) => number, space = false): NumberSpec => ({
  kind: 'number',
  digits,
  space,
  value,
});
const text = (value: (t: BrokenDownTime) => string, hash?: 'upper' | 'lower', lower = false): TextSpec => ({
  kind: 'text',
  hash,
  lower,
  value,
});
/** A composite conversion (`%c`, `%F` …): the sub-format with default flags, then width and case. */
const composite = (format: string): TextSpec => {
  const render = compileParts(format);
  return text((t) => render(t));
};

// glibc conversions in the C locale. `%f`, `%z`, `%Z` and `%:z` are Python's own and are handled
// before this table, as CPython does (Modules/_datetimemodule.c wrap_strftime).
const SPECS: Readonly<Record<string, Spec>> = {
  a: text((t) => DAY_ABBR[t.wday], 'upper'),
  A: text((t) => DAY_FULL[t.wday], 'upper'),
  b: text((t) => MONTH_ABBR[t.month - 1], 'upper'),
  h: text((t) => MONTH_ABBR[t.month - 1], 'upper'),
  B: text((t) => MONTH_FULL[t.month - 1], 'upper'),
  p: text((t) => (t.hour < 12 ? 'AM' : 'PM'), 'lower'),
  P: text((t) => (t.hour < 12 ? 'am' : 'pm'), undefined, true),
  C: num(2, (t) => Math.floor(t.year / 100)),
  d: num(2, (t) => t.day),
  e: num(2, (t) => t.day, true),
  g: num(2, (t) => ((t.isoYear % 100) + 100) % 100),
  G: num(4, (t) => t.isoYear),
  H: num(2, (t) => t.hour),
  I: num(2, hour12),
  j: num(3, (t) => t.yday + 1),
  k: num(2, (t) => t.hour, true),
  l: num(2, hour12, true),
  m: num(2, (t) => t.month),
  M: num(2, (t) => t.minute),
  S: num(2, (t) => t.second),
  u: num(1, (t) => t.wday || 7),
  w: num(1, (t) => t.wday),
  U: num(2, (t) => Math.floor((t.yday + 7 - t.wday) / 7)),
  W: num(2, (t) => Math.floor((t.yday + 7 - ((t.wday + 6) % 7)) / 7)),
  V: num(2, (t) => t.isoWeek),
  y: num(2, (t) => ((t.year % 100) + 100) % 100),
  Y: num(4, (t) => t.year),
  // glibc pads %s like text (blanks), not like a number.
  s: text((t) => String(t.epochSeconds)),
  n: text(() => '\n'),
  t: text(() => '\t'),
  '%': text(() => '%'),
};
// Composite conversions: glibc renders the sub-format with default flags, then applies width and case.
const COMPOSITES: Readonly<Record<string, string>> = {
  c: '%a %b %e %H:%M:%S %Y',
  D: '%m/%d/%y',
  F: '%Y-%m-%d',
  r: '%I:%M:%S %p',
  R: '%H:%M',
  T: '%H:%M:%S',
  x: '%m/%d/%y',
  X: '%H:%M:%S',
};

// Which conversions glibc accepts after the E and O modifiers (probed against CPython on glibc
// 2.36); any other pairing is copied to the output verbatim.
const E_OK = new Set('cnprstuxyzCPRTXYZ%');
const O_OK = new Set('bdeghjklmnprstuwyzBCGHIMPRSTUVWZ%');

type Part = string | ((t: BrokenDownTime) => string);

function pad(s: string, width: number, zero: boolean): string {
  return s.length >= width ? s : s.padStart(width, zero ? '0' : ' ');
}

/** One conversion with its flags (`-`, `_`, `0`, `^`, `#`; the last padding flag wins) and width. */
function conversion(
  spec: Spec,
  padFlag: string,
  upper: boolean,
  hash: boolean,
  width: number,
): (t: BrokenDownTime) => string {
  if (spec.kind === 'number') {
    const digits = Math.max(spec.digits, width);
    const blank = padFlag === '_' || (padFlag === '' && spec.space === true);
    if (padFlag === '-') return (t) => pad(String(spec.value(t)), width, false);
    return (t) => pad(String(spec.value(t)), digits, !blank);
  }
  const zero = padFlag === '0';
  let toCase: 'upper' | 'lower' | undefined = upper ? 'upper' : undefined;
  if (hash && spec.hash) toCase = spec.hash;
  if (spec.lower) toCase = 'lower';
  if (toCase === 'upper') return (t) => pad(spec.value(t).toUpperCase(), width, zero);
  if (toCase === 'lower') return (t) => pad(spec.value(t).toLowerCase(), width, zero);
  return (t) => pad(spec.value(t), width, zero);
}

function compileParts(format: string): (t: BrokenDownTime) => string {
  const parts: Part[] = [];
  const literal = (s: string): void => {
    const last = parts.length - 1;
    if (last >= 0 && typeof parts[last] === 'string') parts[last] = (parts[last] as string) + s;
    else parts.push(s);
  };
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      literal(format.slice(i));
      break;
    }
    if (pct > i) literal(format.slice(i, pct));
    const next = format[pct + 1];
    // CPython substitutes these itself, and only in their bare form.
    if (next === 'f') {
      parts.push((t) => String(t.microsecond).padStart(6, '0'));
      i = pct + 2;
      continue;
    }
    if (next === 'z' || next === 'Z' || (next === ':' && format[pct + 2] === 'z')) {
      // Activity times are UTC: render as an aware UTC datetime would.
      literal(next === 'z' ? '+0000' : next === 'Z' ? 'UTC' : '+00:00');
      i = pct + (next === ':' ? 3 : 2);
      continue;
    }
    let j = pct + 1;
    let padFlag = '';
    let upper = false;
    let hash = false;
    for (; j < format.length; j++) {
      const c = format[j];
      if (c === '^') upper = true;
      else if (c === '#') hash = true;
      else if (c === '-' || c === '_' || c === '0') padFlag = c;
      else break;
    }
    let width = 0;
    for (; j < format.length && format[j] >= '0' && format[j] <= '9'; j++) width = width * 10 + Number(format[j]);
    let modifier = '';
    if (format[j] === 'E' || format[j] === 'O') modifier = format[j++];
    const conv = format[j];
    i = j + 1;
    const allowed = modifier === '' || (modifier === 'E' ? E_OK : O_OK).has(conv);
    if (conv === 'z' || conv === 'Z') {
      // With flags these reach glibc, which knows no zone for Python's naive struct tm.
      if (allowed) continue;
    } else if (conv !== undefined && allowed) {
      const spec = SPECS[conv] ?? (Object.hasOwn(COMPOSITES, conv) ? composite(COMPOSITES[conv]) : undefined);
      if (spec) {
        parts.push(conversion(spec, padFlag, upper, hash, width));
        continue;
      }
    }
    // Unknown conversion (or a lone '%' at the end): glibc copies the directive verbatim, padded
    // to the width like text.
    literal(pad(format.slice(pct, i), width, padFlag === '0'));
  }
  if (parts.length === 0) return () => '';
  if (parts.length === 1) {
    const only = parts[0];
    return typeof only === 'string' ? () => only : only;
  }
  return (t) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(t);
    return out;
  };
}

/**
 * Compiles a Python `strftime` format into a function of microseconds since the epoch, rendered
 * in UTC as CPython does on Linux (glibc, C locale): every glibc conversion with the `-`, `_`, `0`,
 * `^`, `#` flags, a width and the `E`/`O` modifiers; `%f` is six-digit microseconds; `%z`, `%:z`
 * and `%Z` render `+0000`, `+00:00` and `UTC` (the time is UTC); an unknown directive such as `%Q`
 * is copied as-is. The format is parsed once; each call only does arithmetic.
 *
 * @example compileStrftime('%Y-%m-%d %H:%M')(1_714_557_600_123_456) === '2024-05-01 10:00'
 */
export function compileStrftime(format: string): (us: number) => string {
  const render = compileParts(format);
  return (us) => render(breakDownTime(us));
}
