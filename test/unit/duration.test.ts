import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DurationSyntaxError,
  MAX_DURATION_SECONDS,
  describeDuration,
  formatAccessLogPurge,
  formatCompact,
  formatSpaced,
  parseDuration,
  parseServerDuration,
} from '../../src/formats/duration.js';

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const WEEK = 604800;

describe('parseDuration', () => {
  const accepted: ReadonlyArray<readonly [string, number]> = [
    ['2d', 2 * DAY],
    ['8h', 8 * HOUR],
    ['1w', WEEK],
    ['30m', 30 * MINUTE],
    ['90s', 90],
    ['2 d', 2 * DAY],
    ['2 days', 2 * DAY],
    ['1 day', DAY],
    ['30 minutes', 30 * MINUTE],
    ['1 minute', MINUTE],
    ['45 min', 45 * MINUTE],
    ['45 mins', 45 * MINUTE],
    ['12 hours', 12 * HOUR],
    ['12 hr', 12 * HOUR],
    ['12 hrs', 12 * HOUR],
    ['1 hour', HOUR],
    ['3 weeks', 3 * WEEK],
    ['1 week', WEEK],
    ['10 seconds', 10],
    ['1 second', 1],
    ['10 sec', 10],
    ['10 secs', 10],
    ['2D', 2 * DAY],
    ['2 Days', 2 * DAY],
    ['30M', 30 * MINUTE],
    ['  2d  ', 2 * DAY],
    ['\t1w\n', WEEK],
    ['36h', 36 * HOUR],
  ];
  for (const [text, seconds] of accepted) {
    test(`accepts ${JSON.stringify(text)}`, () => {
      assert.equal(parseDuration(text), seconds);
    });
  }

  const rejected: ReadonlyArray<readonly [string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['abc', /use a number and a unit/],
    ['30', /a unit is required/],
    ['0', /a unit is required/],
    ['0d', /greater than zero/],
    ['0 seconds', /greater than zero/],
    ['-2d', /positive/],
    ['-2', /positive/],
    ['+2d', /use a number and a unit/],
    ['2.5d', /whole number/],
    ['.5h', /whole number/],
    ['2,5d', /whole number/],
    ['2 months', /unknown unit 'months'/],
    ['1y', /unknown unit 'y'/],
    ['2 dayz', /unknown unit/],
    ['d', /use a number and a unit/],
    ['2d12h', /use a number and a unit/],
    ['1d 12h', /use a number and a unit/],
    ['2 d s', /use a number and a unit/],
    ['1e3s', /use a number and a unit/],
    ['0x10s', /use a number and a unit/],
    ['٣d', /use a number and a unit/],
    ['36526d', /at most 100 years/],
    ['5300w', /at most 100 years/],
    ['99999999999999999999s', /at most 100 years/],
    ['constructor', /use a number and a unit/],
    ['2 constructor', /unknown unit/],
    ['2 toString', /unknown unit/],
  ];
  for (const [text, message] of rejected) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseDuration(text),
        (error: unknown) => error instanceof DurationSyntaxError && message.test(error.message),
      );
    });
  }

  test('error message says what is accepted', () => {
    assert.throws(() => parseDuration('abc'), {
      name: 'DurationSyntaxError',
      message: "invalid duration 'abc': use a number and a unit, such as 2d, 8h, 1w, 30m or '2 days'",
    });
  });

  test('error message stays short for huge input', () => {
    assert.throws(
      () => parseDuration('x'.repeat(100000)),
      (error: unknown) => error instanceof DurationSyntaxError && error.message.length < 200,
    );
  });

  test('the upper bound itself is accepted', () => {
    assert.equal(parseDuration('36525d'), MAX_DURATION_SECONDS);
    assert.equal(parseDuration(`${MAX_DURATION_SECONDS}s`), MAX_DURATION_SECONDS);
    assert.throws(() => parseDuration(`${MAX_DURATION_SECONDS + 1}s`), DurationSyntaxError);
  });
});

describe('formatCompact and formatSpaced', () => {
  const cases: ReadonlyArray<readonly [number, string, string]> = [
    [2 * DAY, '2d', '2 d'],
    [36 * HOUR, '36h', '36 h'],
    [WEEK, '1w', '1 w'],
    [2 * WEEK, '2w', '2 w'],
    [8 * DAY, '8d', '8 d'],
    [90, '90s', '90 s'],
    [60, '1m', '1 m'],
    [30 * MINUTE, '30m', '30 m'],
    [1, '1s', '1 s'],
    [DAY + 1, '86401s', '86401 s'],
  ];
  for (const [seconds, compact, spaced] of cases) {
    test(`${seconds} seconds`, () => {
      assert.equal(formatCompact(seconds), compact);
      assert.equal(formatSpaced(seconds), spaced);
      assert.equal(parseDuration(compact), seconds);
      assert.equal(parseDuration(spaced), seconds);
    });
  }

  test('reject non-positive and fractional seconds', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => formatCompact(bad), RangeError);
      assert.throws(() => formatSpaced(bad), RangeError);
      assert.throws(() => formatAccessLogPurge(bad), RangeError);
    }
  });
});

describe('formatAccessLogPurge', () => {
  const cases: ReadonlyArray<readonly [number, string]> = [
    [2 * DAY, '02+00:00'],
    [5400, '00+01:30'],
    [90, '00+00:01:30'],
    [WEEK, '07+00:00'],
    [36 * HOUR, '01+12:00'],
    [DAY + HOUR + MINUTE + 1, '01+01:01:01'],
    [1, '00+00:00:01'],
    [99 * DAY, '99+00:00'],
    [100 * DAY, '100+00:00'],
    [365 * DAY + 23 * HOUR + 59 * MINUTE, '365+23:59'],
  ];
  for (const [seconds, expected] of cases) {
    test(`${seconds} seconds -> ${expected}`, () => {
      assert.equal(formatAccessLogPurge(seconds), expected);
      assert.equal(parseServerDuration(expected), seconds);
    });
  }
});

describe('describeDuration', () => {
  const cases: ReadonlyArray<readonly [number, string]> = [
    [2 * DAY, '2 days'],
    [DAY, '1 day'],
    [WEEK, '1 week'],
    [3 * WEEK, '3 weeks'],
    [36 * HOUR, '36 hours'],
    [HOUR, '1 hour'],
    [90, '90 seconds'],
    [1, '1 second'],
    [MINUTE, '1 minute'],
    [45 * MINUTE, '45 minutes'],
    [0, '0 seconds'],
  ];
  for (const [seconds, expected] of cases) {
    test(`${seconds} seconds -> ${expected}`, () => {
      assert.equal(describeDuration(seconds), expected);
    });
  }

  test('the description parses back', () => {
    for (const seconds of [DAY, 2 * DAY, WEEK, 36 * HOUR, 90, 1]) {
      assert.equal(parseDuration(describeDuration(seconds)), seconds);
    }
  });

  test('rejects negative and fractional seconds', () => {
    assert.throws(() => describeDuration(-1), RangeError);
    assert.throws(() => describeDuration(0.5), RangeError);
  });
});

describe('parseServerDuration', () => {
  const cases: ReadonlyArray<readonly [string, number | undefined]> = [
    ['2d', 2 * DAY],
    ['2 d', 2 * DAY],
    ['48h', 48 * HOUR],
    ['2 days', 2 * DAY],
    ['1w', WEEK],
    [' 36 h ', 36 * HOUR],
    ['1d 12h', 36 * HOUR],
    ['1d12h', 36 * HOUR],
    ['1 day, 12 hours', 36 * HOUR],
    ['0', 0],
    ['00', 0],
    ['0d', 0],
    ['02+00:00', 2 * DAY],
    ['01:30', 90 * MINUTE],
    ['00+00:01:30', 90],
    ['', undefined],
    ['   ', undefined],
    ['abc', undefined],
    ['2 months', undefined],
    ['2d junk', undefined],
    ['-2d', undefined],
    ['2.5d', undefined],
    ['172800', undefined],
    ['00+00:60', undefined],
    ['1:2', undefined],
    ['99999999999999999999d', undefined],
    ['2 constructor', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} -> ${String(expected)}`, () => {
      assert.equal(parseServerDuration(text), expected);
    });
  }

  test('a bare number is read in the given unit when the caller knows it', () => {
    assert.equal(parseServerDuration('172800', { bareNumberUnit: 's' }), 2 * DAY);
    assert.equal(parseServerDuration('2', { bareNumberUnit: 'd' }), 2 * DAY);
    assert.equal(parseServerDuration('0', { bareNumberUnit: 'd' }), 0);
  });

  test('reads back every formatter output', () => {
    for (const seconds of [1, 90, 5400, DAY, 2 * DAY, 36 * HOUR, WEEK, 100 * DAY + 1]) {
      assert.equal(parseServerDuration(formatCompact(seconds)), seconds);
      assert.equal(parseServerDuration(formatSpaced(seconds)), seconds);
      assert.equal(parseServerDuration(formatAccessLogPurge(seconds)), seconds);
      assert.equal(parseServerDuration(describeDuration(seconds)), seconds);
    }
  });
});
