/**
 * A reader of DER (and of the BER that PKCS#12 writers use: indefinite lengths, constructed strings), for the
 * trust store readers. Its input is a file someone handed the tool, so every number it reads is bounded: a
 * length by the bytes that remain, nesting by MAX_DEPTH, an integer by the largest value its field can hold.
 */

/** One element: its tag, and its bytes. */
export interface DerNode {
  readonly tag: number;
  readonly constructed: boolean;
  /** Content bytes (for an indefinite-length element: without the end-of-contents octets). */
  readonly value: Buffer;
  /** The whole element, header included. */
  readonly raw: Buffer;
}

/** The bytes are not the structure expected (damaged, truncated, or not this format at all). */
export class DerError extends Error {
  public override readonly name = 'DerError';
}

/** An INTEGER larger than its field allows. `value` is exact (undefined beyond 16 bytes), for messages. */
export class DerRangeError extends DerError {
  public constructor(
    public readonly value: bigint | undefined,
    public readonly octets: number,
    public readonly max: number,
    what: string,
  ) {
    super(`${what} ${value ?? `of ${octets} bytes`} is larger than ${max}`);
  }
}

/**
 * The deepest nesting read. A PKCS#12 file nests about ten levels (PFX, AuthenticatedSafe, ContentInfo,
 * SafeContents, bags, a nested SafeContents bag and its certificate); 32 leaves room for unusual writers while a
 * crafted file of millions of nested headers neither exhausts the stack nor costs quadratic time.
 */
export const MAX_DEPTH = 32;

/** Bytes of a definite length (4: up to 4 GiB, beyond any trust store; the length is bounded by the input anyway). */
const MAX_LENGTH_OCTETS = 4;

/** Bytes of an INTEGER that are read exactly (for the message) before it is refused as too large. */
const MAX_INTEGER_OCTETS = 16;

/** Bytes of one OBJECT IDENTIFIER arc: 7 bits each, 7 bytes stay within Number.MAX_SAFE_INTEGER. */
const MAX_OID_ARC_OCTETS = 7;

/** The element at `offset` of `buf`; `depth` is how deep it lies (0 for the outermost). */
export function parseNode(buf: Buffer, offset: number, depth = 0): DerNode {
  if (depth > MAX_DEPTH) throw new DerError(`nested deeper than ${MAX_DEPTH} levels`);
  if (offset + 2 > buf.length) throw new DerError('truncated');
  const tag = buf.readUInt8(offset);
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in PKCS#12');
  const constructed = (tag & 0x20) !== 0;
  let pos = offset + 1;
  const first = buf.readUInt8(pos++);
  if (first === 0x80) {
    if (!constructed) throw new DerError('indefinite length on a primitive');
    const start = pos;
    for (;;) {
      if (pos + 2 > buf.length) throw new DerError('unterminated indefinite length');
      if (buf[pos] === 0 && buf[pos + 1] === 0) break;
      pos += parseNode(buf, pos, depth + 1).raw.length;
    }
    return { tag, constructed, value: buf.subarray(start, pos), raw: buf.subarray(offset, pos + 2) };
  }
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count > MAX_LENGTH_OCTETS) throw new DerError(`a length of ${count} bytes`);
    if (pos + count > buf.length) throw new DerError('truncated');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf.readUInt8(pos++);
  }
  if (length > buf.length - pos) throw new DerError('truncated');
  return { tag, constructed, value: buf.subarray(pos, pos + length), raw: buf.subarray(offset, pos + length) };
}

/** The elements inside a constructed element, which lies at `depth`. */
export function children(node: DerNode, depth = 0): DerNode[] {
  if (!node.constructed) throw new DerError('expected a constructed element');
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.value.length) {
    const child = parseNode(node.value, pos, depth + 1);
    out.push(child);
    pos += child.raw.length;
  }
  return out;
}

export function expect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined || node.tag !== tag) throw new DerError(`expected ${what}`);
  return node;
}

export function sequence(node: DerNode | undefined, what = 'a SEQUENCE'): DerNode[] {
  return children(expect(node, 0x30, what));
}

export function oid(node: DerNode | undefined): string {
  const value = expect(node, 0x06, 'an OBJECT IDENTIFIER').value;
  if (value.length === 0 || (value.readUInt8(value.length - 1) & 0x80) !== 0)
    throw new DerError('a truncated OBJECT IDENTIFIER');
  const parts: number[] = [];
  let n = 0;
  let octetsInArc = 0;
  for (const byte of value) {
    if (++octetsInArc > MAX_OID_ARC_OCTETS) throw new DerError('an OBJECT IDENTIFIER arc too large');
    n = n * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else parts.push(n);
      n = 0;
      octetsInArc = 0;
    }
  }
  return parts.join('.');
}

/**
 * A non-negative INTEGER no larger than `max` (at most Number.MAX_SAFE_INTEGER), the largest value the field
 * `what` can hold. A larger one is a DerRangeError carrying the exact value (when it has at most 16 bytes),
 * so that a message can name what the file asked for; a negative one is a DerError.
 */
export function integer(node: DerNode | undefined, max: number, what = 'an INTEGER'): number {
  const value = expect(node, 0x02, 'an INTEGER').value;
  if (value.length === 0) throw new DerError('an empty INTEGER');
  if ((value.readUInt8(0) & 0x80) !== 0) throw new DerError(`${what} is negative`);
  if (value.length > MAX_INTEGER_OCTETS) throw new DerRangeError(undefined, value.length, max, what);
  const n = BigInt(`0x${value.toString('hex')}`);
  if (n > BigInt(max)) throw new DerRangeError(n, value.length, max, what);
  return Number(n);
}

/** OCTET STRING content; BER writers may split it into a constructed string of pieces. */
export function octets(node: DerNode | undefined, tag = 0x04, depth = 0): Buffer {
  if (node === undefined) throw new DerError('expected an OCTET STRING');
  if (node.tag === tag) return node.value;
  if (node.tag === (tag | 0x20)) return Buffer.concat(children(node, depth).map((c) => octets(c, 0x04, depth + 1)));
  throw new DerError('expected an OCTET STRING');
}

/** The single element inside an [0] EXPLICIT wrapper. */
export function explicit0(node: DerNode | undefined): DerNode {
  const [only, ...more] = children(expect(node, 0xa0, '[0]'));
  if (only === undefined || more.length > 0) throw new DerError('expected one element in [0]');
  return only;
}
