/**
 * A bounded framing layer in front of ldapts' message parser. ldapts' MessageParser.read() concatenates every
 * chunk onto what it holds and calls itself once per message left in the buffer: about 6,000 tiny messages in
 * one TCP read overflow the stack (an uncaught RangeError), and a message that never ends grows the process
 * until V8 aborts. This layer cuts the byte stream into whole LDAPMessages itself (linear: one copy per
 * message at most), hands ldapts exactly one message per call (so its recursion never happens), and stops the
 * connection, without reading on, when the server
 * - sends something that is not an LDAPMessage (any element, at any depth, that does not fit its parent),
 *   or one larger than the connection allows,
 * - answers a request that is not waiting for an answer (or with an answer of another type),
 * - sends more entries than a search asked for, or more bytes for one operation than it allows,
 * - sends a notice of disconnection (RFC 4511 4.4.1),
 * - sends anything after the StartTLS response and before the TLS handshake (plaintext injection).
 */

/** Why the framer stopped the connection; `serverText` is the server's own words, raw (the caller cleans them). */
export interface FramingViolation {
  readonly kind: 'malformed' | 'too-large' | 'unsolicited' | 'mismatched' | 'too-many-entries' | 'notice' | 'injected';
  readonly detail: string;
  readonly serverText?: string;
  readonly resultCode?: number;
}

/** What the framer needs to know of the requests in flight (ldapts' own table, read only). */
export interface PendingRequests {
  /** The request with this message ID still waiting for its answer: its protocolOp tag and, for a search, its size limit. */
  lookup(messageId: number): { readonly requestTag: number; readonly sizeLimit?: number } | undefined;
}

export interface FramingLimits {
  /** Largest LDAPMessage accepted (header included). */
  readonly maxMessageBytes: number;
  /** Most bytes of answers accepted for one request (a search's entries and its result together). */
  readonly maxOperationBytes: number;
}

/** The response tags each request tag may be answered with (RFC 4511 section 4.2 onwards). */
const ANSWERS: Readonly<Record<number, readonly number[]>> = {
  0x60: [0x61], // bind
  0x63: [0x64, 0x65, 0x73], // search: entry, done, reference
  0x66: [0x67], // modify
  0x68: [0x69], // add
  0x4a: [0x6b], // delete
  0x6c: [0x6d], // modifyDN
  0x6e: [0x6f], // compare
  0x77: [0x78, 0x79], // extended: response, intermediate
};
const SEARCH_RESULT_ENTRY = 0x64;
const SEARCH_RESULT_REFERENCE = 0x73;
const EXTENDED_RESPONSE = 0x78;
const INTERMEDIATE_RESPONSE = 0x79;

/** The header of a BER element at `offset`: its tag, where its contents start, and their length. */
function header(buffer: Buffer, offset: number): { tag: number; start: number; length: number } | 'short' | 'bad' {
  if (buffer.length - offset < 2) return 'short';
  const tag = buffer.readUInt8(offset);
  const first = buffer.readUInt8(offset + 1);
  if (first < 0x80) return { tag, start: offset + 2, length: first };
  const n = first & 0x7f;
  // Indefinite lengths are not allowed in LDAP (RFC 4511 5.1); more than 4 length bytes is no sane message.
  if (n === 0 || n > 4) return 'bad';
  if (buffer.length - offset < 2 + n) return 'short';
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + buffer.readUInt8(offset + 2 + i);
  return { tag, start: offset + 2 + n, length };
}

/** Constructed elements nest no deeper than this in any LDAP message this tool reads. */
const MAX_DEPTH = 32;

/**
 * True when every element of `message`, at every depth, has a one-byte tag and a definite length that ends
 * inside its parent, and the parent's elements fill it exactly. ldapts' element loops (`while (offset < end)`)
 * assume as much: a SET whose length runs past its message makes its reader return null forever, and
 * the loop pushes empty values until the heap is gone (a 118-byte answer did it). Iterative: no recursion.
 */
export function isWellFormed(message: Buffer): boolean {
  const ends: number[] = [message.length];
  let offset = 0;
  while (ends.length > 0) {
    const end = ends[ends.length - 1] ?? 0;
    if (offset === end) {
      ends.pop();
      continue;
    }
    const head = header(message, offset);
    if (typeof head === 'string') return false;
    // Tag numbers of 31 and up take more bytes: LDAP uses none.
    if ((head.tag & 0x1f) === 0x1f) return false;
    const elementEnd = head.start + head.length;
    if (elementEnd > end) return false;
    if ((head.tag & 0x20) !== 0) {
      if (ends.length > MAX_DEPTH) return false;
      ends.push(elementEnd);
      offset = head.start;
    } else offset = elementEnd;
  }
  return offset === message.length;
}

/** The elements that fill `buffer` from `start` to `end`: tag and content range. */
function elements(buffer: Buffer, start: number, end: number): { tag: number; start: number; end: number }[] {
  const found: { tag: number; start: number; end: number }[] = [];
  for (let offset = start; offset < end;) {
    const head = header(buffer, offset);
    if (typeof head === 'string') return [];
    found.push({ tag: head.tag, start: head.start, end: head.start + head.length });
    offset = head.start + head.length;
  }
  return found;
}

const OCTET_STRING = 0x04;
const SEQUENCE = 0x30;
const SET = 0x31;
/**
 * Response controls whose values are parsed as BER: ldapts' entry change notification, paged results,
 * persistent search and server-side sort, and Active Directory's DirSync (read by directory.ts).
 */
const PARSED_CONTROLS: ReadonlySet<string> = new Set([
  '2.16.840.1.113730.3.4.7',
  '1.2.840.113556.1.4.319',
  '2.16.840.1.113730.3.4.3',
  '1.2.840.113556.1.4.473',
  '1.2.840.113556.1.4.841',
]);

/** The LDAPResult-shaped responses: bind, search done, modify, add, delete, modify DN, compare, extended. */
const RESULT_OPS: ReadonlySet<number> = new Set([0x61, 0x65, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x78]);

/**
 * True when a well-formed message (isWellFormed) also has the shape RFC 4511 gives its response: ldapts reads
 * an element as a SEQUENCE or a SET whatever its tag says, so a primitive element where a constructed one is
 * due would take its bytes, unchecked, for elements.
 */
function hasResponseShape(message: Buffer, opTag: number, opStart: number): boolean {
  const [op, controls, ...rest] = elements(message, opStart, message.length);
  if (op === undefined || rest.length > 0) return false;
  if (controls !== undefined) {
    if (controls.tag !== 0xa0) return false;
    for (const control of elements(message, controls.start, controls.end)) {
      if (control.tag !== SEQUENCE) return false;
      const parts = elements(message, control.start, control.end);
      const [oid] = parts;
      if (oid?.tag !== OCTET_STRING || parts.some((part) => (part.tag & 0x20) !== 0)) return false;
      // The value of a control ldapts (or this adapter) reads is BER too: checked the same way.
      const value = parts.find((part, index) => index > 0 && part.tag === OCTET_STRING);
      if (
        PARSED_CONTROLS.has(message.subarray(oid.start, oid.end).toString('latin1')) &&
        value !== undefined &&
        value.end > value.start &&
        !isWellFormed(message.subarray(value.start, value.end))
      )
        return false;
    }
  }
  const parts = elements(message, op.start, op.end);
  if (opTag === SEARCH_RESULT_ENTRY) {
    const [dn, attributes, ...more] = parts;
    if (dn?.tag !== OCTET_STRING || attributes?.tag !== SEQUENCE || more.length > 0) return false;
    return elements(message, attributes.start, attributes.end).every((attribute) => {
      if (attribute.tag !== SEQUENCE) return false;
      const [type, values, ...extra] = elements(message, attribute.start, attribute.end);
      return (
        type?.tag === OCTET_STRING &&
        extra.length === 0 &&
        (values === undefined ||
          (values.tag === SET &&
            elements(message, values.start, values.end).every((value) => value.tag === OCTET_STRING)))
      );
    });
  }
  if (opTag === SEARCH_RESULT_REFERENCE) return parts.every((uri) => uri.tag === OCTET_STRING);
  if (opTag === INTERMEDIATE_RESPONSE) return parts.every((part) => (part.tag & 0x20) === 0);
  if (RESULT_OPS.has(opTag)) {
    const [code, matched, diagnostic, ...optional] = parts;
    return (
      code?.tag === 0x0a &&
      matched?.tag === OCTET_STRING &&
      diagnostic?.tag === OCTET_STRING &&
      optional.every(
        (part) =>
          (part.tag & 0x20) === 0 ||
          (part.tag === 0xa3 &&
            elements(message, part.start, part.end).every((referral) => referral.tag === OCTET_STRING)),
      )
    );
  }
  return false;
}

/** messageID and protocolOp tag of one whole LDAPMessage, or undefined when it is not one. */
function identify(message: Buffer): { messageId: number; opTag: number; opStart: number } | undefined {
  const outer = header(message, 0);
  if (typeof outer === 'string' || outer.tag !== 0x30) return undefined;
  const id = header(message, outer.start);
  if (typeof id === 'string' || id.tag !== 0x02 || id.length < 1 || id.length > 4) return undefined;
  let messageId = 0;
  for (let i = 0; i < id.length; i++) messageId = messageId * 256 + message.readUInt8(id.start + i);
  const opStart = id.start + id.length;
  if (opStart >= message.length) return undefined;
  return { messageId, opTag: message.readUInt8(opStart), opStart };
}

/** resultCode and diagnosticMessage of an LDAPResult-shaped operation (for a notice of disconnection). */
function ldapResult(message: Buffer, opStart: number): { code?: number; text?: string } {
  const op = header(message, opStart);
  if (typeof op === 'string') return {};
  const code = header(message, op.start);
  if (typeof code === 'string' || code.tag !== 0x0a || code.length > 4) return {};
  let value = 0;
  for (let i = 0; i < code.length; i++) value = value * 256 + message.readUInt8(code.start + i);
  const matched = header(message, code.start + code.length);
  if (typeof matched === 'string') return { code: value };
  const diagnostic = header(message, matched.start + matched.length);
  if (typeof diagnostic === 'string') return { code: value };
  return {
    code: value,
    text: message.subarray(diagnostic.start, diagnostic.start + diagnostic.length).toString('utf8'),
  };
}

export class BoundedFraming {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private stopped = false;
  /** Entries and bytes received so far per message ID. */
  private readonly received = new Map<number, { entries: number; bytes: number }>();
  /** Set while a StartTLS response is awaited: nothing may follow it in plaintext. */
  private startTlsPending = false;

  public constructor(
    private readonly pending: PendingRequests,
    private readonly limits: FramingLimits,
    private readonly deliver: (message: Buffer) => void,
    private readonly stop: (violation: FramingViolation) => void,
  ) {}

  /** Between the StartTLS request and the end of the handshake. */
  public expectStartTls(value: boolean): void {
    this.startTlsPending = value;
  }

  public push(chunk: Buffer): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.isStopped() || this.buffered === 0) return;
      const buffer = this.merge();
      const head = header(buffer, 0);
      if (head === 'short') return;
      if (head === 'bad' || head.tag !== 0x30) {
        this.fail({ kind: 'malformed', detail: 'sent bytes that are not an LDAP message' });
        return;
      }
      const total = head.start + head.length;
      if (total > this.limits.maxMessageBytes) {
        this.fail({
          kind: 'too-large',
          detail: `announced a message of ${total} bytes (at most ${this.limits.maxMessageBytes} are read)`,
        });
        return;
      }
      if (buffer.length < total) return;
      const message = buffer.subarray(0, total);
      const rest = buffer.subarray(total);
      this.chunks = rest.length === 0 ? [] : [rest];
      this.buffered = rest.length;
      this.accept(message);
      if (!this.isStopped() && this.startTlsPending && this.buffered > 0) {
        this.fail({ kind: 'injected', detail: 'sent plaintext after its StartTLS response, before the TLS handshake' });
        return;
      }
    }
  }

  /** The bytes held as one buffer: copied only when they came in more than one chunk. */
  private merge(): Buffer {
    const [only] = this.chunks;
    if (this.chunks.length === 1 && only !== undefined) return only;
    const merged = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [merged];
    return merged;
  }

  /** Read through a method: accept() may stop the framing in the middle of push()'s loop. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private accept(message: Buffer): void {
    const id = isWellFormed(message) ? identify(message) : undefined;
    if (id === undefined || !hasResponseShape(message, id.opTag, id.opStart)) {
      this.fail({ kind: 'malformed', detail: 'sent a message that is not an LDAP message' });
      return;
    }
    if (id.messageId === 0 && id.opTag === EXTENDED_RESPONSE) {
      const result = ldapResult(message, id.opStart);
      this.fail({
        kind: 'notice',
        detail: 'ended the connection (notice of disconnection)',
        ...(result.text === undefined || result.text === '' ? {} : { serverText: result.text }),
        ...(result.code === undefined ? {} : { resultCode: result.code }),
      });
      return;
    }
    const request = this.pending.lookup(id.messageId);
    if (request === undefined) {
      this.fail({ kind: 'unsolicited', detail: `sent an answer (message ${id.messageId}) to no request in flight` });
      return;
    }
    if (!(ANSWERS[request.requestTag] ?? []).includes(id.opTag)) {
      this.fail({
        kind: 'mismatched',
        detail: `answered request ${id.messageId} with a message of another type (0x${id.opTag.toString(16)})`,
      });
      return;
    }
    const seen = this.received.get(id.messageId) ?? { entries: 0, bytes: 0 };
    seen.bytes += message.length;
    if (id.opTag === SEARCH_RESULT_ENTRY) seen.entries += 1;
    this.received.set(id.messageId, seen);
    if (request.sizeLimit !== undefined && request.sizeLimit > 0 && seen.entries > request.sizeLimit) {
      this.fail({
        kind: 'too-many-entries',
        detail: `sent more entries than the ${request.sizeLimit} the search asked for`,
      });
      return;
    }
    if (seen.bytes > this.limits.maxOperationBytes) {
      this.fail({
        kind: 'too-large',
        detail: `sent more than ${this.limits.maxOperationBytes} bytes for one request`,
      });
      return;
    }
    // A final answer: the request is done, and its message ID may come back for another one.
    if (id.opTag !== SEARCH_RESULT_ENTRY && id.opTag !== SEARCH_RESULT_REFERENCE && id.opTag !== INTERMEDIATE_RESPONSE)
      this.received.delete(id.messageId);
    this.deliver(message);
  }

  private fail(violation: FramingViolation): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
    this.stop(violation);
  }
}
