/**
 * Text that came from a server (diagnostic messages, vendorName, DNs it returned) is data: before it reaches
 * the terminal, `--json` or the log it loses its control characters (shown escaped, so an ESC sequence cannot
 * clear the screen, set the window title or forge a line), is cut to a length a line can carry, and every
 * password the run knows is masked in it, in any case and in its base64 and hex forms (a server, or a proxy
 * in front of it, may repeat what it was sent). This is the one module that does it; the adapter cleans the
 * server's words where it reads them, the console, the JSON result and the log clean what they write again.
 */

/** Longest piece of server text kept in a message (a diagnostic message is a sentence; a version a word). */
export const SERVER_TEXT_MAX_CHARS = 300;

/** Longest line written to the terminal or the log: room for several DNs, far below a flood. */
export const LINE_MAX_CHARS = 4000;

/** What a masked secret reads as. */
export const MASK = '***';

/**
 * C0 controls (ESC, CR, BEL...), DEL, C1 controls (a single U+009B is a CSI on some terminals), the Unicode
 * line and paragraph separators, and the bidirectional overrides that reorder what a terminal shows.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- the same, newlines and tabs left alone (LDIF blocks, JSON pretty text)
const CONTROLS_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Every control character written as `\xNN` (or `\uNNNN`): what is left prints as itself on one line. */
export function escapeControls(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines === true ? CONTROLS_BUT_LINES : CONTROLS, escapeOne);
}

/** At most `max` characters, saying how many were cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}... (${text.length - max} more characters cut)`;
}

/**
 * A server's words made safe to print: secrets masked (before anything is cut, so no prefix of one survives),
 * cut to `max` characters, control characters escaped.
 */
export function serverText(text: string, mask?: SecretMask, max = SERVER_TEXT_MAX_CHARS): string {
  const masked = mask === undefined ? text : mask.apply(text);
  return escapeControls(cut(masked, max)).trim();
}

/** A line for the terminal or the log: secrets masked, controls escaped, a flood cut. */
export function displayLine(text: string, mask?: SecretMask, max = LINE_MAX_CHARS): string {
  const masked = mask === undefined ? text : mask.apply(text);
  return escapeControls(cut(masked, max));
}

/** Secrets shorter than this are not searched for in text: a one-letter password would mask every word. */
export const MIN_MASKED_SECRET_LENGTH = 3;

/**
 * The forms a secret may take in what a server sends back: as typed (matched in any case), the base64 of its
 * UTF-8 bytes and of Active Directory's quoted UTF-16LE form (with and without padding), and its UTF-8 bytes
 * in hex, plain or as LDAP `\xx` escapes (hex matched in any case too).
 */
export function secretForms(secret: string): string[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const unicodePwd = Buffer.from(`"${secret}"`, 'utf16le');
  const base64 = [utf8, unicodePwd].map((bytes) => bytes.toString('base64'));
  const hex = utf8.toString('hex');
  const forms = [
    secret,
    ...base64,
    ...base64.map((b) => b.replace(/=+$/, '')),
    hex,
    hex.replace(/(..)/g, '\\$1'),
    unicodePwd.toString('hex'),
  ];
  return [...new Set(forms.filter((form) => form.length >= MIN_MASKED_SECRET_LENGTH))];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The passwords of one run, to mask wherever they appear. Passwords learnt later (a prompt's answer) are
 * added as they come. Longest forms first, so a secret that contains another is masked whole.
 */
export class SecretMask {
  private readonly forms = new Set<string>();
  private pattern: RegExp | undefined;

  public constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret);
  }

  public add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_MASKED_SECRET_LENGTH) return;
    for (const form of secretForms(secret)) this.forms.add(form);
    const sorted = [...this.forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = new RegExp(sorted.join('|'), 'gi');
  }

  public apply(text: string): string {
    return this.pattern === undefined ? text : text.replace(this.pattern, MASK);
  }

  /** A copy of a JSON-like value with every string masked (and, unless it is a block of lines, escaped). */
  public deep<T>(value: T, clean: (text: string) => string = (text) => this.apply(text)): T {
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return clean(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
        return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, walk(inner)]));
      }
      return v;
    };
    return walk(value) as T;
  }
}
