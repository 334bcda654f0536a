import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breakDownTime, compileStrftime } from './strftime.js';

// Expected values were produced by CPython 3.11 on Linux (glibc 2.36) with
// `datetime(..., tzinfo=timezone.utc).strftime('%' + code)`, not by this implementation.
interface Case {
  readonly label: string;
  readonly us: number;
  readonly expected: Readonly<Record<string, string>>;
}

const CASES: readonly Case[] = [
  {
    label: 'a Wednesday morning in a leap year',
    us: 1714554307004200,
    expected: {
      a: 'Wed', A: 'Wednesday', b: 'May', B: 'May', c: 'Wed May  1 09:05:07 2024', C: '20', d: '01',
      D: '05/01/24', e: ' 1', F: '2024-05-01', g: '24', G: '2024', h: 'May', H: '09', I: '09',
      j: '122', k: ' 9', l: ' 9', m: '05', M: '05', n: '\n', p: 'AM', P: 'am', r: '09:05:07 AM',
      R: '09:05', s: '1714554307', S: '07', t: '\t', T: '09:05:07', u: '3', U: '17', V: '18', w: '3',
      W: '18', x: '05/01/24', X: '09:05:07', y: '24', Y: '2024', z: '+0000', Z: 'UTC', f: '004200',
      '%': '%',
    },
  },
  {
    label: '1 January of a leap year, a Monday',
    us: 1704067200000000,
    expected: {
      a: 'Mon', A: 'Monday', b: 'Jan', B: 'January', c: 'Mon Jan  1 00:00:00 2024', C: '20', d: '01',
      D: '01/01/24', e: ' 1', F: '2024-01-01', g: '24', G: '2024', h: 'Jan', H: '00', I: '12',
      j: '001', k: ' 0', l: '12', m: '01', M: '00', n: '\n', p: 'AM', P: 'am', r: '12:00:00 AM',
      R: '00:00', s: '1704067200', S: '00', t: '\t', T: '00:00:00', u: '1', U: '00', V: '01', w: '1',
      W: '01', x: '01/01/24', X: '00:00:00', y: '24', Y: '2024', z: '+0000', Z: 'UTC', f: '000000',
      '%': '%',
    },
  },
  {
    label: '31 December of a leap year, ISO week 1 of 2025',
    us: 1735689599999999,
    expected: {
      a: 'Tue', A: 'Tuesday', b: 'Dec', B: 'December', c: 'Tue Dec 31 23:59:59 2024', C: '20',
      d: '31', D: '12/31/24', e: '31', F: '2024-12-31', g: '25', G: '2025', h: 'Dec', H: '23',
      I: '11', j: '366', k: '23', l: '11', m: '12', M: '59', n: '\n', p: 'PM', P: 'pm',
      r: '11:59:59 PM', R: '23:59', s: '1735689599', S: '59', t: '\t', T: '23:59:59', u: '2',
      U: '52', V: '01', w: '2', W: '53', x: '12/31/24', X: '23:59:59', y: '24', Y: '2024',
      z: '+0000', Z: 'UTC', f: '999999', '%': '%',
    },
  },
  {
    label: '1 January on a Friday, ISO week 53 of 2020',
    us: 1609502400000000,
    expected: {
      a: 'Fri', A: 'Friday', b: 'Jan', B: 'January', c: 'Fri Jan  1 12:00:00 2021', C: '20', d: '01',
      D: '01/01/21', e: ' 1', F: '2021-01-01', g: '20', G: '2020', h: 'Jan', H: '12', I: '12',
      j: '001', k: '12', l: '12', m: '01', M: '00', n: '\n', p: 'PM', P: 'pm', r: '12:00:00 PM',
      R: '12:00', s: '1609502400', S: '00', t: '\t', T: '12:00:00', u: '5', U: '00', V: '53', w: '5',
      W: '00', x: '01/01/21', X: '12:00:00', y: '21', Y: '2021', z: '+0000', Z: 'UTC', f: '000000',
      '%': '%',
    },
  },
  {
    label: '1 January on a Sunday',
    us: 1672533000000001,
    expected: {
      a: 'Sun', A: 'Sunday', b: 'Jan', B: 'January', c: 'Sun Jan  1 00:30:00 2023', C: '20', d: '01',
      D: '01/01/23', e: ' 1', F: '2023-01-01', g: '22', G: '2022', h: 'Jan', H: '00', I: '12',
      j: '001', k: ' 0', l: '12', m: '01', M: '30', n: '\n', p: 'AM', P: 'am', r: '12:30:00 AM',
      R: '00:30', s: '1672533000', S: '00', t: '\t', T: '00:30:00', u: '7', U: '01', V: '52', w: '0',
      W: '00', x: '01/01/23', X: '00:30:00', y: '23', Y: '2023', z: '+0000', Z: 'UTC', f: '000001',
      '%': '%',
    },
  },
  {
    label: '31 December of a leap year, a Thursday',
    us: 1609440300000000,
    expected: {
      a: 'Thu', A: 'Thursday', b: 'Dec', B: 'December', c: 'Thu Dec 31 18:45:00 2020', C: '20',
      d: '31', D: '12/31/20', e: '31', F: '2020-12-31', g: '20', G: '2020', h: 'Dec', H: '18',
      I: '06', j: '366', k: '18', l: ' 6', m: '12', M: '45', n: '\n', p: 'PM', P: 'pm',
      r: '06:45:00 PM', R: '18:45', s: '1609440300', S: '00', t: '\t', T: '18:45:00', u: '4',
      U: '52', V: '53', w: '4', W: '52', x: '12/31/20', X: '18:45:00', y: '20', Y: '2020',
      z: '+0000', Z: 'UTC', f: '000000', '%': '%',
    },
  },
  {
    label: 'Sunday ending ISO week 53 of 2026',
    us: 1798981200000000,
    expected: {
      a: 'Sun', A: 'Sunday', b: 'Jan', B: 'January', c: 'Sun Jan  3 13:00:00 2027', C: '20', d: '03',
      D: '01/03/27', e: ' 3', F: '2027-01-03', g: '26', G: '2026', h: 'Jan', H: '13', I: '01',
      j: '003', k: '13', l: ' 1', m: '01', M: '00', n: '\n', p: 'PM', P: 'pm', r: '01:00:00 PM',
      R: '13:00', s: '1798981200', S: '00', t: '\t', T: '13:00:00', u: '7', U: '01', V: '53', w: '0',
      W: '00', x: '01/03/27', X: '13:00:00', y: '27', Y: '2027', z: '+0000', Z: 'UTC', f: '000000',
      '%': '%',
    },
  },
  {
    label: 'Monday starting ISO week 1 of 2020',
    us: 1577689627070707,
    expected: {
      a: 'Mon', A: 'Monday', b: 'Dec', B: 'December', c: 'Mon Dec 30 07:07:07 2019', C: '20',
      d: '30', D: '12/30/19', e: '30', F: '2019-12-30', g: '20', G: '2020', h: 'Dec', H: '07',
      I: '07', j: '364', k: ' 7', l: ' 7', m: '12', M: '07', n: '\n', p: 'AM', P: 'am',
      r: '07:07:07 AM', R: '07:07', s: '1577689627', S: '07', t: '\t', T: '07:07:07', u: '1',
      U: '52', V: '01', w: '1', W: '52', x: '12/30/19', X: '07:07:07', y: '19', Y: '2019',
      z: '+0000', Z: 'UTC', f: '070707', '%': '%',
    },
  },
  {
    label: 'leap day of a century leap year, noon',
    us: 951825600000000,
    expected: {
      a: 'Tue', A: 'Tuesday', b: 'Feb', B: 'February', c: 'Tue Feb 29 12:00:00 2000', C: '20',
      d: '29', D: '02/29/00', e: '29', F: '2000-02-29', g: '00', G: '2000', h: 'Feb', H: '12',
      I: '12', j: '060', k: '12', l: '12', m: '02', M: '00', n: '\n', p: 'PM', P: 'pm',
      r: '12:00:00 PM', R: '12:00', s: '951825600', S: '00', t: '\t', T: '12:00:00', u: '2', U: '09',
      V: '09', w: '2', W: '09', x: '02/29/00', X: '12:00:00', y: '00', Y: '2000', z: '+0000',
      Z: 'UTC', f: '000000', '%': '%',
    },
  },
  {
    label: '1 March of a century non-leap year',
    us: 4107542400000000,
    expected: {
      a: 'Mon', A: 'Monday', b: 'Mar', B: 'March', c: 'Mon Mar  1 00:00:00 2100', C: '21', d: '01',
      D: '03/01/00', e: ' 1', F: '2100-03-01', g: '00', G: '2100', h: 'Mar', H: '00', I: '12',
      j: '060', k: ' 0', l: '12', m: '03', M: '00', n: '\n', p: 'AM', P: 'am', r: '12:00:00 AM',
      R: '00:00', s: '4107542400', S: '00', t: '\t', T: '00:00:00', u: '1', U: '09', V: '09', w: '1',
      W: '09', x: '03/01/00', X: '00:00:00', y: '00', Y: '2100', z: '+0000', Z: 'UTC', f: '000000',
      '%': '%',
    },
  },
  {
    label: 'the epoch',
    us: 0,
    expected: {
      a: 'Thu', A: 'Thursday', b: 'Jan', B: 'January', c: 'Thu Jan  1 00:00:00 1970', C: '19',
      d: '01', D: '01/01/70', e: ' 1', F: '1970-01-01', g: '70', G: '1970', h: 'Jan', H: '00',
      I: '12', j: '001', k: ' 0', l: '12', m: '01', M: '00', n: '\n', p: 'AM', P: 'am',
      r: '12:00:00 AM', R: '00:00', s: '0', S: '00', t: '\t', T: '00:00:00', u: '4', U: '00',
      V: '01', w: '4', W: '00', x: '01/01/70', X: '00:00:00', y: '70', Y: '1970', z: '+0000',
      Z: 'UTC', f: '000000', '%': '%',
    },
  },
  {
    label: 'single-digit values in the afternoon',
    us: 1114974307000000,
    expected: {
      a: 'Sun', A: 'Sunday', b: 'May', B: 'May', c: 'Sun May  1 19:05:07 2005', C: '20', d: '01',
      D: '05/01/05', e: ' 1', F: '2005-05-01', g: '05', G: '2005', h: 'May', H: '19', I: '07',
      j: '121', k: '19', l: ' 7', m: '05', M: '05', n: '\n', p: 'PM', P: 'pm', r: '07:05:07 PM',
      R: '19:05', s: '1114974307', S: '07', t: '\t', T: '19:05:07', u: '7', U: '18', V: '17', w: '0',
      W: '17', x: '05/01/05', X: '19:05:07', y: '05', Y: '2005', z: '+0000', Z: 'UTC', f: '000000',
      '%': '%',
    },
  },
  {
    label: '31 December of a common year, a Sunday',
    us: 1704063600000000,
    expected: {
      a: 'Sun', A: 'Sunday', b: 'Dec', B: 'December', c: 'Sun Dec 31 23:00:00 2023', C: '20',
      d: '31', D: '12/31/23', e: '31', F: '2023-12-31', g: '23', G: '2023', h: 'Dec', H: '23',
      I: '11', j: '365', k: '23', l: '11', m: '12', M: '00', n: '\n', p: 'PM', P: 'pm',
      r: '11:00:00 PM', R: '23:00', s: '1704063600', S: '00', t: '\t', T: '23:00:00', u: '7',
      U: '53', V: '52', w: '0', W: '52', x: '12/31/23', X: '23:00:00', y: '23', Y: '2023',
      z: '+0000', Z: 'UTC', f: '000000', '%': '%',
    },
  },
];

// Flags, widths and modifiers on 2005-05-01T19:05:07.004200 (a Sunday), same source as CASES.
const FLAGGED_US = 1_114_974_307_004_200;
const FLAGS: readonly (readonly [string, string])[] = [
  ['%-d', '1'],
  ['%_d', ' 1'],
  ['%05d', '00001'],
  ['%-5d', '    1'],
  ['%_5d', '    1'],
  ['%3d', '001'],
  ['%1d', '01'],
  ['%10Y', '0000002005'],
  ['%-y', '5'],
  ['%_y', ' 5'],
  ['%-j', '121'],
  ['%-I', '7'],
  ['%_H', '19'],
  ['%-e', '1'],
  ['%0e', '01'],
  ['%-k', '19'],
  ['%0k', '19'],
  ['%-l', '7'],
  ['%3u', '007'],
  ['%8G', '00002005'],
  ['%^a', 'SUN'],
  ['%#a', 'SUN'],
  ['%#A', 'SUNDAY'],
  ['%^B', 'MAY'],
  ['%#b', 'MAY'],
  ['%#h', 'MAY'],
  ['%^p', 'PM'],
  ['%#p', 'pm'],
  ['%^P', 'pm'],
  ['%#P', 'pm'],
  ['%^10a', '       SUN'],
  ['%_10a', '       Sun'],
  ['%010a', '0000000Sun'],
  ['%08p', '000000PM'],
  ['%^c', 'SUN MAY  1 19:05:07 2005'],
  ['%#c', 'Sun May  1 19:05:07 2005'],
  ['%20F', '          2005-05-01'],
  ['%12s', '  1114974307'],
  ['%5%', '    %'],
  ['%05%', '0000%'],
  ['%5n', '    \n'],
  ['%Ey', '05'],
  ['%EY', '2005'],
  ['%Ec', 'Sun May  1 19:05:07 2005'],
  ['%Ex', '05/01/05'],
  ['%EX', '19:05:07'],
  ['%EC', '20'],
  ['%Od', '01'],
  ['%Oe', ' 1'],
  ['%OH', '19'],
  ['%Om', '05'],
  ['%OV', '17'],
  ['%Ob', 'May'],
  ['%Oy', '05'],
  ['%-z', ''],
  ['%Ez', ''],
  ['%#Z', ''],
  ['%Q', '%Q'],
  ['%-Q', '%-Q'],
  ['%5Q', '  %5Q'],
  ['%Ea', '%Ea'],
  ['%Ed', '%Ed'],
  ['%OY', '%OY'],
  ['%EOd', '%EOd'],
  ['%-f', '%-f'],
  ['%3f', '%3f'],
  ['%010f', '00000%010f'],
  ['%E', '%E'],
  ['%O', '%O'],
  ['%-', '%-'],
  ['%5', '   %5'],
  ['%:', '%:'],
  ['%%f', '%f'],
  ['abc%', 'abc%'],
  ['%%', '%'],
];

describe('compileStrftime', () => {
  for (const { label, us, expected } of CASES) {
    it(`renders every conversion as Python does: ${label}`, () => {
      for (const [code, want] of Object.entries(expected)) {
        assert.equal(compileStrftime(`%${code}`)(us), want, `%${code}`);
      }
    });
  }

  it('renders several conversions and literal text in one format', () => {
    const f = compileStrftime('%Y-%m-%dT%H:%M:%S.%f week %V/%G day %j');
    assert.equal(f(1_735_689_599_999_999), '2024-12-31T23:59:59.999999 week 01/2025 day 366');
  });

  it('applies glibc flags, widths and E/O modifiers, and copies unknown directives', () => {
    for (const [format, want] of FLAGS) {
      assert.equal(compileStrftime(format)(FLAGGED_US), want, format);
    }
  });

  it("renders %:z as '+00:00' (Python 3.12)", () => {
    assert.equal(compileStrftime('%:z')(0), '+00:00');
  });

  it('returns the same text for every call, and handles an empty format', () => {
    const f = compileStrftime('%A');
    assert.equal(f(0), 'Thursday');
    assert.equal(f(0), 'Thursday');
    assert.equal(compileStrftime('')(0), '');
    assert.equal(compileStrftime('plain')(0), 'plain');
  });
});

describe('breakDownTime', () => {
  it('splits an instant into UTC calendar fields', () => {
    assert.deepEqual(breakDownTime(1_714_554_307_004_200), {
      year: 2024,
      month: 5,
      day: 1,
      hour: 9,
      minute: 5,
      second: 7,
      microsecond: 4200,
      yday: 121,
      wday: 3,
      isoYear: 2024,
      isoWeek: 18,
      epochSeconds: 1_714_554_307,
    });
  });

  it('agrees with Date for the last microsecond of every day from 1970 to 2249', () => {
    // Microsecond numbers stay exact until 2255 (see core/time.ts).
    const start = Date.UTC(1970, 0, 1);
    const days = (Date.UTC(2250, 0, 1) - start) / 86_400_000;
    for (let day = 0; day < days; day += 1) {
      const ms = start + day * 86_400_000;
      const d = new Date(ms);
      const t = breakDownTime(ms * 1000 + 86_399_999_999);
      const sameDate = t.year === d.getUTCFullYear() && t.month === d.getUTCMonth() + 1 && t.day === d.getUTCDate();
      if (!sameDate || t.wday !== d.getUTCDay()) {
        assert.fail(`day ${day}: ${JSON.stringify(t)} vs ${d.toISOString()}`);
      }
      const yday = (ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000;
      if (t.yday !== yday || t.hour !== 23 || t.minute !== 59 || t.second !== 59 || t.microsecond !== 999_999) {
        assert.fail(`day ${day}: ${JSON.stringify(t)}`);
      }
    }
  });
});
