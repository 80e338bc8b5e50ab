/**
 * Durations for change log maximum ages, and the formats each server type
 * expects them in.
 *
 * Decisions:
 * - A bare number (`30`) is rejected by parseDuration: 389 DS reads a bare
 *   nsslapd-changelogmaxage as seconds while Ping's configuration reads
 *   unit-less values differently, so guessing would silently set very
 *   different ages on different servers.
 * - `m` always means minutes; months and years are not accepted since their
 *   length varies.
 * - Only one number-unit pair (`36h`, not `1d12h`) is accepted from users to
 *   keep the syntax obvious; parseServerDuration is more lenient because it
 *   reads what servers report.
 */

export class DurationSyntaxError extends Error {
  constructor(text: string, reason?: string) {
    const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    const hint = "use a number and a unit, such as 2d, 8h, 1w, 30m or '2 days'";
    super(`invalid duration '${shown}': ${reason === undefined ? hint : `${reason}; ${hint}`}`);
    this.name = 'DurationSyntaxError';
  }
}

const SECONDS_PER: Readonly<Record<DurationUnit, number>> = {
  w: 604800,
  d: 86400,
  h: 3600,
  m: 60,
  s: 1,
};

export type DurationUnit = 'w' | 'd' | 'h' | 'm' | 's';

// Largest first, so formatters can pick the largest unit that divides evenly.
const UNITS_LARGEST_FIRST: readonly DurationUnit[] = ['w', 'd', 'h', 'm', 's'];

const UNIT_ALIASES: Readonly<Record<string, DurationUnit>> = {
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  mins: 'm',
  minute: 'm',
  minutes: 'm',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
  w: 'w',
  wk: 'w',
  wks: 'w',
  week: 'w',
  weeks: 'w',
};

const UNIT_NAMES: Readonly<Record<DurationUnit, readonly [string, string]>> = {
  w: ['week', 'weeks'],
  d: ['day', 'days'],
  h: ['hour', 'hours'],
  m: ['minute', 'minutes'],
  s: ['second', 'seconds'],
};

/** 100 years of 365.25 days: far beyond any sensible change log age, well within safe integers. */
export const MAX_DURATION_SECONDS = 36525 * 86400;

function unitOf(name: string): DurationUnit | undefined {
  const lower = name.toLowerCase();
  return Object.hasOwn(UNIT_ALIASES, lower) ? UNIT_ALIASES[lower] : undefined;
}

/** Parses a user-supplied duration such as `2d`, `8 h` or `3 weeks` into whole seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new DurationSyntaxError(text, 'it is empty');
  if (trimmed.startsWith('-')) throw new DurationSyntaxError(text, 'it must be positive');
  if (/^[+-]?\d+$/.test(trimmed)) {
    throw new DurationSyntaxError(text, 'a unit is required, because servers disagree on what a bare number means');
  }
  const match = /^(\d+)\s*([A-Za-z]+)$/.exec(trimmed);
  if (match === null) {
    if (/^\d*[.,]\d/.test(trimmed)) throw new DurationSyntaxError(text, 'the number must be a whole number');
    throw new DurationSyntaxError(text);
  }
  const [, digits = '', unitName = ''] = match;
  const unit = unitOf(unitName);
  if (unit === undefined) throw new DurationSyntaxError(text, `unknown unit '${unitName.slice(0, 20)}'`);
  const amount = Number(digits);
  if (amount === 0) throw new DurationSyntaxError(text, 'it must be greater than zero');
  const seconds = amount * SECONDS_PER[unit];
  if (!Number.isSafeInteger(seconds) || seconds > MAX_DURATION_SECONDS) {
    throw new DurationSyntaxError(text, 'it must be at most 100 years');
  }
  return seconds;
}

function requirePositiveSeconds(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new RangeError(`duration must be a positive whole number of seconds, got ${seconds}`);
  }
}

/** The largest unit dividing seconds evenly, with the amount in that unit. */
function largestExactUnit(seconds: number): { amount: number; unit: DurationUnit } {
  for (const unit of UNITS_LARGEST_FIRST) {
    if (seconds % SECONDS_PER[unit] === 0) return { amount: seconds / SECONDS_PER[unit], unit };
  }
  return { amount: seconds, unit: 's' };
}

/** 389 DS `nsslapd-changelogmaxage` form: `2d`, `36h`, `1w`, `90s`. */
export function formatCompact(seconds: number): string {
  requirePositiveSeconds(seconds);
  const { amount, unit } = largestExactUnit(seconds);
  return `${amount}${unit}`;
}

/** Ping configuration form, with a space: `2 d`, `36 h`, `1 w`, `90 s`. */
export function formatSpaced(seconds: number): string {
  requirePositiveSeconds(seconds);
  const { amount, unit } = largestExactUnit(seconds);
  return `${amount} ${unit}`;
}

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/** OpenLDAP `olcAccessLogPurge` age form `dd+hh:mm`, or `dd+hh:mm:ss` when seconds remain. */
export function formatAccessLogPurge(seconds: number): string {
  requirePositiveSeconds(seconds);
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const base = `${twoDigits(days)}+${twoDigits(hours)}:${twoDigits(minutes)}`;
  return rest === 0 ? base : `${base}:${twoDigits(rest)}`;
}

/** Human wording for messages: `2 days`, `1 week`, `36 hours`, `90 seconds`. */
export function describeDuration(seconds: number): string {
  if (seconds === 0) return '0 seconds';
  requirePositiveSeconds(seconds);
  const { amount, unit } = largestExactUnit(seconds);
  const [singular, plural] = UNIT_NAMES[unit];
  return `${amount} ${amount === 1 ? singular : plural}`;
}

export interface ServerDurationOptions {
  /**
   * How to read a bare non-zero number. Without it such a value gives
   * undefined, because its meaning depends on the server type.
   */
  readonly bareNumberUnit?: DurationUnit;
}

/**
 * Leniently reads a duration as a server reports it, to compare the configured
 * age with the wanted one. Accepts `2d`, `2 d`, `48h`, `2 days`, sums such as
 * `1d 12h`, and OpenLDAP's `[dd+]hh:mm[:ss]`. `0` means unlimited and gives 0;
 * an empty or unreadable value gives undefined.
 */
export function parseServerDuration(text: string, options: ServerDurationOptions = {}): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) {
    const amount = Number(trimmed);
    if (amount === 0) return 0;
    if (options.bareNumberUnit === undefined) return undefined;
    return safeOrUndefined(amount * SECONDS_PER[options.bareNumberUnit]);
  }
  const clock = /^(?:(\d+)\+)?(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(trimmed);
  if (clock !== null) {
    const [, days = '0', hours = '0', minutes = '0', secs = '0'] = clock;
    if (Number(minutes) > 59 || Number(secs) > 59) return undefined;
    return safeOrUndefined(Number(days) * 86400 + Number(hours) * 3600 + Number(minutes) * 60 + Number(secs));
  }
  const pairPattern = /(\d+)\s*([A-Za-z]+)[\s,]*/gy;
  let total = 0;
  let consumed = 0;
  for (let pair = pairPattern.exec(trimmed); pair !== null; pair = pairPattern.exec(trimmed)) {
    const unit = unitOf(pair[2] ?? '');
    if (unit === undefined) return undefined;
    total += Number(pair[1]) * SECONDS_PER[unit];
    consumed = pairPattern.lastIndex;
  }
  if (consumed !== trimmed.length) return undefined;
  return safeOrUndefined(total);
}

function safeOrUndefined(seconds: number): number | undefined {
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}
