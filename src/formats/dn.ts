/**
 * RFC 4514 distinguished names: parsing, formatting, comparison.
 *
 * Decisions (kept deliberately strict because DNs typed by operators end up
 * in server configuration, where a misread DN is worse than a rejected one):
 *
 * - `;` is NOT accepted as an RDN separator. RFC 2253 let parsers accept it,
 *   RFC 4514 dropped that, and a value containing `;` must be escaped (`\;`).
 *   An unescaped `;` is reported as an error rather than guessed at.
 * - Unescaped `"`, `<`, `>` and NUL are rejected (RFC 4514 requires escaping;
 *   RFC 2253's quoted-string form is not supported).
 * - Spaces (U+0020 only) around `,`, `+` and `=` and at either end of the DN
 *   are tolerated and dropped, like RFC 2253 parsers do. Spaces that belong to
 *   a value at its start or end must therefore be escaped (`\ `).
 * - `#hex` (BER-encoded) values are validated and kept as their literal
 *   `#...` text; nothing marks them as BER. Because `formatDn` escapes every
 *   value as a string, re-formatting such a DN turns the value into the string
 *   `#...`. BER-form DNs do not occur in practice in the directories we touch.
 * - Attribute types must be a descr (`cn`) or a numeric OID (`2.5.4.3`); the
 *   RFC 2253 `OID.2.5.4.3` prefix is rejected.
 * - Empty values (`cn=`) are allowed, as RFC 4514 allows them.
 */

export interface Ava {
  readonly type: string;
  /** Unescaped value as text; a BER `#hex` value keeps its literal `#hex` text. */
  readonly value: string;
}

export type Rdn = readonly Ava[];

/** An AVA with its value as written: escapes kept, the spaces RFC 4514 ignores dropped (see dnSpelling). */
interface SpelledAva extends Ava {
  readonly spelling: string;
}

export class DnSyntaxError extends Error {
  /** 1-based character position of the problem, when one applies. */
  readonly position: number | undefined;

  constructor(problem: string, dnText?: string, position?: number) {
    super(describeProblem(problem, dnText));
    this.name = 'DnSyntaxError';
    this.position = position;
  }
}

// Long DNs are left out of messages so a hostile or huge input cannot flood logs.
const MAX_DN_TEXT_IN_MESSAGE = 80;
const MAX_FRAGMENT_IN_MESSAGE = 40;

function describeProblem(problem: string, dnText: string | undefined): string {
  if (dnText === undefined || dnText.length > MAX_DN_TEXT_IN_MESSAGE) return problem;
  return `${problem} in DN '${dnText}'`;
}

function shorten(fragment: string): string {
  return fragment.length > MAX_FRAGMENT_IN_MESSAGE ? `${fragment.slice(0, MAX_FRAGMENT_IN_MESSAGE)}...` : fragment;
}

const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
// RFC 4512 numericoid: no leading zeros in a component, at least two components.
const NUMERIC_OID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+$/;

function isValidAttributeType(type: string): boolean {
  return DESCR.test(type) || NUMERIC_OID.test(type);
}

const HEX_DIGIT = /^[0-9A-Fa-f]$/;
// Characters that may follow a backslash as themselves (RFC 4514 `special`).
const ESCAPABLE = new Set([' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\']);
// Characters RFC 4514 forbids unescaped inside a string value (`,` and `+`
// end the value instead, `\` starts an escape).
const MUST_BE_ESCAPED = new Set(['"', ';', '<', '>', '\u0000']);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function pushUtf8(bytes: number[], codePoint: number): void {
  if (codePoint < 0x80) {
    bytes.push(codePoint);
  } else if (codePoint < 0x800) {
    bytes.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
  } else if (codePoint < 0x10000) {
    bytes.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
  } else {
    bytes.push(
      0xf0 | (codePoint >> 18),
      0x80 | ((codePoint >> 12) & 0x3f),
      0x80 | ((codePoint >> 6) & 0x3f),
      0x80 | (codePoint & 0x3f),
    );
  }
}

function describeChar(char: string): string {
  return char === '\u0000' ? 'NUL' : `'${char}'`;
}

class DnParser {
  private pos = 0;
  private rdnNumber = 1;

  constructor(private readonly text: string) {}

  parse(): SpelledAva[][] {
    this.skipSpaces();
    if (this.atEnd()) return [];
    const rdns: SpelledAva[][] = [];
    for (;;) {
      rdns.push(this.parseRdn());
      if (this.atEnd()) return rdns;
      // parseRdn only stops at the end or at a ','.
      this.pos++;
      this.rdnNumber++;
    }
  }

  private parseRdn(): SpelledAva[] {
    const avas: SpelledAva[] = [];
    for (;;) {
      this.skipSpaces();
      const char = this.peek();
      if (char === undefined || char === ',') {
        if (avas.length === 0) {
          const detail = char === undefined && this.rdnNumber > 1 ? " (trailing ',')" : '';
          this.fail(`empty RDN ${this.rdnNumber}${detail}`, this.pos);
        }
        this.fail(`missing attribute after '+' in RDN ${this.rdnNumber}`, this.pos);
      }
      avas.push(this.parseAva());
      this.skipSpaces();
      const next = this.peek();
      if (next === '+') {
        this.pos++;
        continue;
      }
      // parseAva stops values only at end, ',' or '+', and hex values are checked likewise.
      return avas;
    }
  }

  private parseAva(): SpelledAva {
    const typeStart = this.pos;
    while (!this.atEnd() && !' =,+'.includes(this.text[this.pos] ?? '')) this.pos++;
    const type = this.text.slice(typeStart, this.pos);
    this.skipSpaces();
    if (this.peek() !== '=') {
      if (type === '') {
        this.fail(`missing attribute type in RDN ${this.rdnNumber}`, typeStart);
      }
      this.fail(`missing '=' in RDN ${this.rdnNumber}`, this.pos);
    }
    if (type === '') {
      this.fail(`missing attribute type in RDN ${this.rdnNumber}`, typeStart);
    }
    if (!isValidAttributeType(type)) {
      this.fail(`invalid attribute type '${shorten(type)}' in RDN ${this.rdnNumber}`, typeStart);
    }
    this.pos++; // '='
    this.skipSpaces();
    if (this.peek() === '#') {
      const literal = this.parseHexValue();
      return { type, value: literal, spelling: literal };
    }
    return { type, ...this.parseStringValue() };
  }

  private parseHexValue(): string {
    const start = this.pos;
    this.pos++; // '#'
    while (!this.atEnd() && !' ,+'.includes(this.text[this.pos] ?? '')) this.pos++;
    const literal = this.text.slice(start, this.pos);
    const hex = literal.slice(1);
    if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) {
      this.fail(
        `invalid hex string value '${shorten(literal)}' in RDN ${this.rdnNumber}` +
          " (escape a leading '#' as '\\#' for a text value)",
        start,
      );
    }
    this.skipSpaces();
    const next = this.peek();
    if (next !== undefined && next !== ',' && next !== '+') {
      this.fail(`unexpected ${describeChar(next)} after hex string value in RDN ${this.rdnNumber}`, this.pos);
    }
    return literal;
  }

  private parseStringValue(): { value: string; spelling: string } {
    const start = this.pos;
    const bytes: number[] = [];
    // Unescaped trailing spaces are insignificant; remember where the last
    // significant byte (and its text) ended so they can be dropped.
    let significantLength = 0;
    let significantEnd = start;
    for (;;) {
      const char = this.peek();
      if (char === undefined || char === ',' || char === '+') break;
      if (char === '\\') {
        bytes.push(this.parseEscape());
        significantLength = bytes.length;
        significantEnd = this.pos;
        continue;
      }
      if (MUST_BE_ESCAPED.has(char)) {
        const escaped = char === '\u0000' ? '\\00' : `\\${char}`;
        this.fail(`unescaped ${describeChar(char)} in RDN ${this.rdnNumber} (write it as '${escaped}')`, this.pos);
      }
      const codePoint = this.text.codePointAt(this.pos) ?? 0;
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
        this.fail(`unpaired surrogate in RDN ${this.rdnNumber}`, this.pos);
      }
      pushUtf8(bytes, codePoint);
      this.pos += codePoint > 0xffff ? 2 : 1;
      if (char !== ' ') {
        significantLength = bytes.length;
        significantEnd = this.pos;
      }
    }
    try {
      return {
        value: strictUtf8.decode(new Uint8Array(bytes.slice(0, significantLength))),
        spelling: this.text.slice(start, significantEnd),
      };
    } catch {
      this.fail(`invalid UTF-8 in hex escapes of the value in RDN ${this.rdnNumber}`, start);
    }
  }

  /** Consumes one escape sequence and returns the byte it stands for. */
  private parseEscape(): number {
    const escapeStart = this.pos;
    const first = this.text[this.pos + 1];
    if (first === undefined) {
      this.fail(`unexpected end after '\\'`, escapeStart);
    }
    if (ESCAPABLE.has(first)) {
      this.pos += 2;
      return first.charCodeAt(0);
    }
    if (HEX_DIGIT.test(first)) {
      const second = this.text[this.pos + 2];
      if (second === undefined) {
        this.fail(`unexpected end after '\\${first}'`, escapeStart);
      }
      if (!HEX_DIGIT.test(second)) {
        this.fail(`invalid hex escape '\\${first}${second}'`, escapeStart);
      }
      this.pos += 3;
      return Number.parseInt(first + second, 16);
    }
    const shown = first === '\u0000' ? 'NUL' : `'\\${first}'`;
    this.fail(`invalid escape ${shown}`, escapeStart);
  }

  private skipSpaces(): void {
    while (this.text[this.pos] === ' ') this.pos++;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Throws with the problem and the 1-based position of the offending character at `index`. */
  private fail(problem: string, index: number): never {
    throw new DnSyntaxError(`${problem} at position ${index + 1}`, this.text, index + 1);
  }
}

/** Parses an RFC 4514 DN string into RDNs, most specific first. `''` is the empty (root) DN. */
export function parseDn(text: string): Rdn[] {
  return new DnParser(text).parse().map((rdn) => rdn.map(({ type, value }) => ({ type, value })));
}

/**
 * The DN as it was written, without what RFC 4514 lets a parser ignore (spaces around `=`, `,` and `+`, and
 * unescaped spaces at either end of a value), and with a naming attribute's OID written as its name (`2.5.4.3=`
 * is `cn=`, which every server reads; 389 DS refuses an entry named by OID): case and escapes stay as they are,
 * so `cn=Sync\20User`
 * stays `cn=Sync\20User` (389 DS tells that apart from `cn=Sync User`, so the spelling that created an entry is
 * the one that binds to it). Control characters are hex-escaped so no raw newline reaches a log or LDIF.
 * Throws DnSyntaxError on an invalid DN.
 */
export function dnSpelling(text: string): string {
  return spellRdns(text, (spelling) => spelling).join(',');
}

/** The first RDN as written (see dnSpelling); throws DnSyntaxError for the empty DN or invalid input. */
export function firstRdnSpelling(text: string): string {
  const first = spellRdns(text, (spelling) => spelling)[0];
  if (first === undefined) throw new DnSyntaxError('the empty DN has no RDN');
  return first;
}

function spellRdns(text: string, adjust: (spelling: string) => string): string[] {
  return new DnParser(text)
    .parse()
    .map((rdn) => rdn.map((ava) => `${typeByName(ava.type)}=${adjust(hexEscapeControls(ava.spelling))}`).join('+'));
}

function hexEscapeControls(spelling: string): string {
  return spelling.replace(
    // eslint-disable-next-line no-control-regex -- control characters are exactly what this escapes
    /[\u0000-\u001f\u007f]/g,
    (char) => `\\${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

export function isValidDn(text: string): boolean {
  try {
    parseDn(text);
    return true;
  } catch (error) {
    if (error instanceof DnSyntaxError) return false;
    throw error;
  }
}

/**
 * Escapes a value for use in a DN string. Besides what RFC 4514 requires
 * (`" + , ; < > \`, a leading `#` or space, a trailing space, NUL) it escapes
 * `=` (harmless, and some older parsers choke on it) and control characters
 * as hex, so a DN never carries raw newlines or tabs into logs or LDIF.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  const lastIndex = value.length - 1;
  for (let index = 0; index < value.length; index++) {
    const char = value[index] ?? '';
    const code = char.charCodeAt(0);
    if ('"+,;<>\\='.includes(char)) {
      out += `\\${char}`;
    } else if (code < 0x20 || code === 0x7f) {
      out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else if (char === '#' && index === 0) {
      out += '\\#';
    } else if (char === ' ' && (index === 0 || index === lastIndex)) {
      out += '\\ ';
    } else {
      out += char;
    }
  }
  return out;
}

/**
 * The DN as written (dnSpelling) for use inside a double-quoted value of server configuration (an ACI's
 * `userdn="ldap:///..."`, an olcAccess `dn.exact="..."`): `"`, `|` and `?` are hex-escaped (RFC 4514 allows any
 * character as `\\XX`), so no value can end the quoted string early, add an alternative (`||` in a userdn) or start
 * an LDAP URL's scope and filter (`?`). Every other escape is kept as written: 389 DS matches an ACI's userdn
 * only against the DN spelled as the entry was created (`\\20` and a space differ there). Parsing the result gives
 * the same DN.
 */
export function quotableDn(dn: string): string {
  return spellRdns(dn, (spelling) =>
    spelling.replace(/\\(?:"|[0-9A-Fa-f]{2}|.)|["|?]/gs, (match) => {
      if (match === '\\"' || match === '"') return '\\22';
      if (match === '|') return '\\7C';
      if (match === '?') return '\\3F';
      return match;
    }),
  ).join(',');
}

/** Formats RDNs as an RFC 4514 string; throws DnSyntaxError on an empty RDN or a bad attribute type. */
export function formatDn(rdns: readonly Rdn[]): string {
  return rdns
    .map((rdn, index) => {
      if (rdn.length === 0) throw new DnSyntaxError(`empty RDN ${index + 1}`);
      return rdn
        .map((ava) => {
          if (!isValidAttributeType(ava.type)) {
            throw new DnSyntaxError(`invalid attribute type '${shorten(ava.type)}' in RDN ${index + 1}`);
          }
          return `${ava.type}=${escapeDnValue(ava.value)}`;
        })
        .join('+');
    })
    .join(',');
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The numeric OIDs of the attribute types DNs are named with (RFC 4519, RFC 4524), which RFC 4514 lets a DN
 * spell instead of the name (`2.5.4.3=Sync User` is `cn=Sync User`).
 */
const NAMING_OIDS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'cn'],
  ['2.5.4.4', 'sn'],
  ['2.5.4.5', 'serialNumber'],
  ['2.5.4.6', 'c'],
  ['2.5.4.7', 'l'],
  ['2.5.4.8', 'st'],
  ['2.5.4.9', 'street'],
  ['2.5.4.10', 'o'],
  ['2.5.4.11', 'ou'],
  ['2.5.4.12', 'title'],
  ['2.5.4.42', 'givenName'],
  ['2.5.4.43', 'initials'],
  ['2.5.4.44', 'generationQualifier'],
  ['2.5.4.46', 'dnQualifier'],
  ['0.9.2342.19200300.100.1.1', 'uid'],
  ['0.9.2342.19200300.100.1.3', 'mail'],
  ['0.9.2342.19200300.100.1.25', 'dc'],
]);

/** The name of a naming attribute written as its OID (`2.5.4.3` -> `cn`), else the type as written. */
function typeByName(type: string): string {
  return NAMING_OIDS.get(type) ?? type;
}

/** An attribute type in comparison form: lower case, and the name for a naming attribute's OID. */
export function attributeTypeKey(type: string): string {
  return typeByName(type).toLowerCase();
}

/**
 * Canonical comparison form of one RDN: types by name (NAMING_OIDS), values in lower case with runs of inner
 * spaces made one, as the case-ignore matching rules of the attributes used in naming do (cn, uid, ou, dc, o,
 * ...). An escaped space at either end still counts (RFC 4518 would drop it; a value that needed escaping there is
 * taken as meant), and case-exact attributes and other Unicode folding are not modelled.
 */
function normalizeRdn(rdn: Rdn): Ava[] {
  return rdn
    .map((ava) => ({
      type: attributeTypeKey(ava.type),
      value: ava.value.toLowerCase().replace(/(?<=[^ ]) {2,}(?=[^ ])/g, ' '),
    }))
    .sort((a, b) => compareText(a.type, b.type) || compareText(a.value, b.value));
}

/** A comparison key for a DN; throws DnSyntaxError on an invalid DN. See normalizeRdn for its limits. */
export function normalizeDn(text: string): string {
  return formatDn(parseDn(text).map(normalizeRdn));
}

/** True when both DNs are valid and name the same entry (per normalizeDn). */
export function dnEquals(a: string, b: string): boolean {
  try {
    return normalizeDn(a) === normalizeDn(b);
  } catch (error) {
    if (error instanceof DnSyntaxError) return false;
    throw error;
  }
}

/** The DN without its first RDN; undefined for the empty DN, '' for a one-RDN DN. Throws on invalid input. */
export function parentDn(text: string): string | undefined {
  const rdns = parseDn(text);
  if (rdns.length === 0) return undefined;
  return formatDn(rdns.slice(1));
}

/** The first (most specific) RDN; throws DnSyntaxError for the empty DN or invalid input. */
export function firstRdn(text: string): Rdn {
  const first = parseDn(text)[0];
  if (first === undefined) throw new DnSyntaxError('the empty DN has no RDN');
  return first;
}

/** True when dn is base itself or an entry below it; false if either is invalid. '' contains everything. */
export function isWithin(dn: string, base: string): boolean {
  let dnKeys: string[];
  let baseKeys: string[];
  try {
    dnKeys = parseDn(dn).map((rdn) => formatDn([normalizeRdn(rdn)]));
    baseKeys = parseDn(base).map((rdn) => formatDn([normalizeRdn(rdn)]));
  } catch (error) {
    if (error instanceof DnSyntaxError) return false;
    throw error;
  }
  if (baseKeys.length > dnKeys.length) return false;
  const offset = dnKeys.length - baseKeys.length;
  return baseKeys.every((key, index) => dnKeys[offset + index] === key);
}
