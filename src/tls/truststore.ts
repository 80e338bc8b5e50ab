/**
 * Reads the certificates of a --trustStorePath file: a PEM bundle, a single DER certificate, or a PKCS#12 file
 * (RFC 7292) as OpenSSL, Java's keytool and Windows write them. Node has no PKCS#12 reader for certificate-only
 * files (tls `pfx` insists on a private key), so this is a small reader of our own built on node:crypto:
 * DER walking, the PKCS#12 MAC (which tells a wrong password apart from a damaged file), PBES2 (PBKDF2 with
 * AES or 3DES, the OpenSSL 3 and Java 17 default) and the legacy PKCS#12 PBE schemes (SHA-1 with 3DES, and
 * RC2, which OpenSSL 3 only has in its legacy provider, so it is implemented here).
 * It only reads certificates: key bags are skipped and never decrypted. Passwords never appear in messages.
 */
import { createDecipheriv, createHash, createHmac, pbkdf2Sync, X509Certificate } from 'node:crypto';

export type TrustStoreFormat = 'pem' | 'der' | 'pkcs12' | 'jks';

export interface TrustStoreContent {
  readonly format: TrustStoreFormat;
  /** One PEM text per certificate, as node:tls takes them. */
  readonly certificates: readonly string[];
}

export type TrustStoreProblem =
  /** Not PEM, not DER, not PKCS#12. */
  | 'unrecognized'
  | 'jks'
  /** PKCS#12 whose MAC does not verify with the empty password and no password was given. */
  | 'password-needed'
  | 'password-wrong'
  /** PKCS#12 using something this reader does not implement (message names it). */
  | 'unsupported'
  | 'no-certificate';

export class TrustStoreError extends Error {
  public override readonly name = 'TrustStoreError';
  public constructor(public readonly problem: TrustStoreProblem, message: string) {
    super(message);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Recognises the format and returns the certificates; throws TrustStoreError. */
export function readTrustStore(content: Buffer, password: string | undefined): TrustStoreContent {
  if (content.length >= 4 && content.readUInt32BE(0) === 0xfeedfeed) {
    throw new TrustStoreError('jks', 'it is a Java KeyStore (JKS)');
  }
  const pem = content.toString('latin1').match(PEM_CERTIFICATE);
  if (pem !== null) return { format: 'pem', certificates: pem };
  if (content.length > 0 && content[0] === 0x30) {
    const pfx = tryParsePfx(content);
    if (pfx !== undefined) return { format: 'pkcs12', certificates: pkcs12Certificates(pfx, password) };
    try {
      return { format: 'der', certificates: [new X509Certificate(content).toString()] };
    } catch {
      // neither PKCS#12 nor a certificate: fall through
    }
  }
  throw new TrustStoreError('unrecognized', 'it holds no PEM certificate and is not a PKCS#12 file');
}

// ------------------------------------------------------------------------------------------------ DER

interface Node {
  readonly tag: number;
  readonly constructed: boolean;
  /** Content bytes (for an indefinite-length element: without the end-of-contents octets). */
  readonly value: Buffer;
  /** The whole element, header included. */
  readonly raw: Buffer;
}

class DerError extends Error {}

function parseNode(buf: Buffer, offset: number): Node {
  if (offset + 2 > buf.length) throw new DerError('truncated');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in PKCS#12');
  const constructed = (tag & 0x20) !== 0;
  let pos = offset + 1;
  const first = buf[pos++]!;
  if (first === 0x80) {
    if (!constructed) throw new DerError('indefinite length on a primitive');
    const start = pos;
    while (!(buf[pos] === 0 && buf[pos + 1] === 0)) {
      if (pos >= buf.length) throw new DerError('unterminated indefinite length');
      pos += parseNode(buf, pos).raw.length;
    }
    return { tag, constructed, value: buf.subarray(start, pos), raw: buf.subarray(offset, pos + 2) };
  }
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count > 4 || pos + count > buf.length) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
  }
  if (pos + length > buf.length) throw new DerError('truncated');
  return { tag, constructed, value: buf.subarray(pos, pos + length), raw: buf.subarray(offset, pos + length) };
}

function children(node: Node): Node[] {
  if (!node.constructed) throw new DerError('expected a constructed element');
  const out: Node[] = [];
  let pos = 0;
  while (pos < node.value.length) {
    const child = parseNode(node.value, pos);
    out.push(child);
    pos += child.raw.length;
  }
  return out;
}

function expect(node: Node | undefined, tag: number, what: string): Node {
  if (node === undefined || node.tag !== tag) throw new DerError(`expected ${what}`);
  return node;
}

function sequence(node: Node | undefined, what = 'a SEQUENCE'): Node[] {
  return children(expect(node, 0x30, what));
}

function oid(node: Node | undefined): string {
  const value = expect(node, 0x06, 'an OBJECT IDENTIFIER').value;
  const parts: number[] = [];
  let n = 0;
  for (const byte of value) {
    n = n * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

/**
 * The most key-derivation rounds a trust store may ask for. OpenSSL writes 2048, Java's keytool 10000; a
 * file asking for billions would keep the run busy for hours (or overflow Node's pbkdf2), so it is refused.
 */
export const MAX_ITERATIONS = 1_000_000;

function iterationCount(node: Node | undefined): number {
  const iterations = integer(node);
  if (iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new TrustStoreError('unsupported', `it asks for ${iterations} key derivation rounds, more than a trust store needs (at most ${MAX_ITERATIONS})`);
  }
  return iterations;
}

function integer(node: Node | undefined): number {
  const value = expect(node, 0x02, 'an INTEGER').value;
  if (value.length > 6) throw new DerError('INTEGER too large');
  let n = 0;
  for (const byte of value) n = n * 256 + byte;
  return n;
}

/** OCTET STRING content; BER writers may split it into a constructed string of pieces. */
function octets(node: Node | undefined, tag = 0x04): Buffer {
  if (node === undefined) throw new DerError('expected an OCTET STRING');
  if (node.tag === tag) return node.value;
  if (node.tag === (tag | 0x20)) return Buffer.concat(children(node).map((c) => octets(c, 0x04)));
  throw new DerError('expected an OCTET STRING');
}

/** The single element inside an [0] EXPLICIT wrapper. */
function explicit0(node: Node | undefined): Node {
  const inner = children(expect(node, 0xa0, '[0]'));
  if (inner.length !== 1) throw new DerError('expected one element in [0]');
  return inner[0]!;
}

// ------------------------------------------------------------------------------------------------ PKCS#12

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  envelopedData: '1.2.840.113549.1.7.3',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbmac1: '1.2.840.113549.1.5.14',
} as const;

const HASHES: Readonly<Record<string, { name: string; block: number }>> = {
  '1.3.14.3.2.26': { name: 'sha1', block: 64 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', block: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', block: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', block: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', block: 128 },
};

const HMAC_PRFS: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const PBES2_CIPHERS: Readonly<Record<string, { name: string; keyLength: number }>> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
};

/** pbeWithSHAAnd... (RFC 7292 appendix C). */
const PKCS12_PBE: Readonly<Record<string, { cipher: 'des-ede3-cbc' | 'des-ede-cbc' | 'rc2'; keyLength: number; name: string }>> = {
  '1.2.840.113549.1.12.1.3': { cipher: 'des-ede3-cbc', keyLength: 24, name: 'pbeWithSHAAnd3-KeyTripleDES-CBC' },
  '1.2.840.113549.1.12.1.4': { cipher: 'des-ede-cbc', keyLength: 16, name: 'pbeWithSHAAnd2-KeyTripleDES-CBC' },
  '1.2.840.113549.1.12.1.5': { cipher: 'rc2', keyLength: 16, name: 'pbeWithSHAAnd128BitRC2-CBC' },
  '1.2.840.113549.1.12.1.6': { cipher: 'rc2', keyLength: 5, name: 'pbeWithSHAAnd40BitRC2-CBC' },
};

interface Pfx {
  /** The AuthenticatedSafe bytes (what the MAC covers). */
  readonly authSafe: Buffer;
  readonly mac: { readonly hash: string; readonly digest: Buffer; readonly salt: Buffer; readonly iterations: number } | 'none' | { readonly unsupported: string };
}

/** The PFX structure, or undefined when the bytes are not PKCS#12 at all. */
function tryParsePfx(content: Buffer): Pfx | undefined {
  let top: Node[];
  let authSafe: Buffer;
  try {
    const root = parseNode(content, 0);
    top = sequence(root);
    if (integer(top[0]) !== 3) return undefined;
    const contentInfo = sequence(top[1]);
    if (oid(contentInfo[0]) !== OID.data) return undefined;
    authSafe = octets(explicit0(contentInfo[1]));
  } catch {
    return undefined;
  }
  if (top[2] === undefined) return { authSafe, mac: 'none' };
  try {
    const macData = sequence(top[2]);
    const digestInfo = sequence(macData[0]);
    const algorithm = oid(sequence(digestInfo[0])[0]);
    if (algorithm === OID.pbmac1) return { authSafe, mac: { unsupported: 'PBMAC1 integrity protection' } };
    const hash = HASHES[algorithm];
    if (hash === undefined) return { authSafe, mac: { unsupported: `MAC algorithm ${algorithm}` } };
    return {
      authSafe,
      mac: {
        hash: hash.name,
        digest: octets(digestInfo[1]),
        salt: octets(macData[1]),
        iterations: macData[2] === undefined ? 1 : iterationCount(macData[2]),
      },
    };
  } catch (error) {
    if (error instanceof TrustStoreError) return { authSafe, mac: { unsupported: `a MAC that ${error.message.replace(/^it /, '')}` } };
    return { authSafe, mac: { unsupported: 'a malformed MAC' } };
  }
}

/** Candidate passwords: the one given, or the two spellings of "no password" (empty string and absent). */
function passwordCandidates(password: string | undefined): Array<string | null> {
  return password === undefined || password === '' ? ['', null] : [password];
}

function pkcs12Certificates(pfx: Pfx, password: string | undefined): string[] {
  let chosen: string | null | undefined;
  if (pfx.mac === 'none') {
    chosen = password ?? '';
  } else if ('unsupported' in pfx.mac) {
    throw new TrustStoreError('unsupported', `its integrity protection (${pfx.mac.unsupported}) is not supported`);
  } else {
    const mac = pfx.mac;
    chosen = passwordCandidates(password).find((candidate) => {
      const key = pkcs12Kdf(mac.hash, bmpPassword(candidate), mac.salt, 3, mac.iterations, createHash(mac.hash).digest().length);
      const computed = createHmac(mac.hash, key).update(pfx.authSafe).digest();
      return computed.length === mac.digest.length && computed.equals(mac.digest);
    });
    if (chosen === undefined) {
      throw password === undefined || password === ''
        ? new TrustStoreError('password-needed', 'it is a PKCS#12 file protected by a password')
        : new TrustStoreError('password-wrong', 'the password does not open this PKCS#12 file');
    }
  }
  const certificates: string[] = [];
  try {
    for (const contentInfoNode of sequence(parseNode(pfx.authSafe, 0))) {
      const contentInfo = sequence(contentInfoNode);
      const type = oid(contentInfo[0]);
      if (type === OID.data) {
        collectBags(octets(explicit0(contentInfo[1])), certificates);
      } else if (type === OID.encryptedData) {
        const encryptedData = sequence(explicit0(contentInfo[1]));
        const encryptedContentInfo = sequence(encryptedData[1]);
        const algorithm = sequence(encryptedContentInfo[1]);
        const encrypted = octets(encryptedContentInfo[2], 0x80);
        collectBags(decrypt(algorithm, encrypted, chosen), certificates);
      } else if (type === OID.envelopedData) {
        throw new TrustStoreError('unsupported', 'it uses public-key (enveloped) encryption, which is not supported');
      }
    }
  } catch (error) {
    if (error instanceof TrustStoreError) throw error;
    if (pfx.mac === 'none') {
      throw new TrustStoreError(password === undefined ? 'password-needed' : 'password-wrong',
        'its content cannot be decrypted (a wrong or missing password, or a damaged file)');
    }
    throw new TrustStoreError('unrecognized', `it is a damaged PKCS#12 file (${error instanceof Error ? error.message : String(error)})`);
  }
  if (certificates.length === 0) throw new TrustStoreError('no-certificate', 'the PKCS#12 file holds no certificate');
  return certificates;
}

function collectBags(safeContents: Buffer, out: string[]): void {
  for (const bagNode of sequence(parseNode(safeContents, 0))) {
    const bag = sequence(bagNode);
    const bagId = oid(bag[0]);
    if (bagId === OID.certBag) {
      const certBag = sequence(explicit0(bag[1]));
      if (oid(certBag[0]) !== OID.x509Certificate) continue; // SDSI certificates: not for TLS
      const der = octets(explicit0(certBag[1]));
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(der);
      } catch {
        throw new DerError('a certificate bag holds no valid X.509 certificate');
      }
      out.push(certificate.toString());
    } else if (bagId === OID.safeContentsBag) {
      collectBags(explicit0(bag[1]).raw, out);
    }
    // key bags, CRL bags, secret bags: not trust anchors
  }
}

function decrypt(algorithm: Node[], encrypted: Buffer, password: string | null): Buffer {
  const algorithmOid = oid(algorithm[0]);
  if (algorithmOid === OID.pbes2) {
    const params = sequence(algorithm[1]);
    const kdf = sequence(params[0]);
    if (oid(kdf[0]) !== OID.pbkdf2) throw new TrustStoreError('unsupported', `its key derivation ${oid(kdf[0])} is not supported`);
    const kdfParams = sequence(kdf[1]);
    const salt = octets(kdfParams[0]);
    const iterations = iterationCount(kdfParams[1]);
    let prf = 'sha1';
    for (const extra of kdfParams.slice(2)) {
      if (extra.tag === 0x30) {
        const prfOid = oid(sequence(extra)[0]);
        const name = HMAC_PRFS[prfOid];
        if (name === undefined) throw new TrustStoreError('unsupported', `its PBKDF2 function ${prfOid} is not supported`);
        prf = name;
      }
    }
    const scheme = sequence(params[1]);
    const schemeOid = oid(scheme[0]);
    const cipher = PBES2_CIPHERS[schemeOid];
    if (cipher === undefined) throw new TrustStoreError('unsupported', `its cipher ${schemeOid} is not supported`);
    const iv = octets(scheme[1]);
    const key = pbkdf2Sync(Buffer.from(password ?? '', 'utf8'), salt, iterations, cipher.keyLength, prf);
    const decipher = createDecipheriv(cipher.name, key, iv);
    return Buffer.concat([decipher.update(encrypted), decipher.final()]);
  }
  const pbe = PKCS12_PBE[algorithmOid];
  if (pbe === undefined) throw new TrustStoreError('unsupported', `its encryption ${algorithmOid} is not supported`);
  const params = sequence(algorithm[1]);
  const salt = octets(params[0]);
  const iterations = iterationCount(params[1]);
  const bmp = bmpPassword(password);
  const key = pkcs12Kdf('sha1', bmp, salt, 1, iterations, pbe.keyLength);
  const iv = pkcs12Kdf('sha1', bmp, salt, 2, iterations, 8);
  if (pbe.cipher === 'rc2') return rc2CbcDecrypt(key, pbe.keyLength * 8, iv, encrypted);
  const decipher = createDecipheriv(pbe.cipher, key, iv);
  return Buffer.concat([decipher.update(encrypted), decipher.final()]);
}

/** The password as PKCS#12 key derivation takes it: UTF-16BE with a terminating NUL; null is "no password". */
function bmpPassword(password: string | null): Buffer {
  if (password === null) return Buffer.alloc(0);
  const out = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** RFC 7292 appendix B.2. id: 1 key, 2 IV, 3 MAC key. */
export function pkcs12Kdf(hash: string, password: Buffer, salt: Buffer, id: number, iterations: number, length: number): Buffer {
  const { block: v } = Object.values(HASHES).find((h) => h.name === hash) ?? { block: 64 };
  const u = createHash(hash).digest().length;
  const repeat = (source: Buffer): Buffer => {
    if (source.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i++) out[i] = source[i % source.length]!;
    return out;
  };
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([repeat(salt), repeat(password)]);
  const result: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let a = createHash(hash).update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) a = createHash(hash).update(a).digest();
    result.push(a);
    if (produced + u >= length) break;
    const b = Buffer.alloc(v);
    for (let k = 0; k < v; k++) b[k] = a[k % u]!;
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i[j + k]! + b[k]! + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(result).subarray(0, length);
}

// ------------------------------------------------------------------------------------------------ RC2

// RFC 2268, section 2: PITABLE.
const PITABLE = Buffer.from(
  'd978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2' +
  '179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82' +
  '54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626' +
  '6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7' +
  '08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec' +
  'c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
  '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9' +
  '0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad',
  'hex',
);

/** CBC decryption with RC2 (RFC 2268) and PKCS#7 padding removal. */
export function rc2CbcDecrypt(keyBytes: Buffer, effectiveBits: number, iv: Buffer, data: Buffer): Buffer {
  if (data.length === 0 || data.length % 8 !== 0) throw new DerError('RC2 data is not a whole number of blocks');
  const table = rc2Table();
  const l = Buffer.alloc(128);
  keyBytes.copy(l);
  const t = keyBytes.length;
  for (let i = t; i < 128; i++) l[i] = table[(l[i - 1]! + l[i - t]!) & 0xff]!;
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  l[128 - t8] = table[l[128 - t8]! & tm]!;
  for (let i = 127 - t8; i >= 0; i--) l[i] = table[l[i + 1]! ^ l[i + t8]!]!;
  const k: number[] = [];
  for (let i = 0; i < 64; i++) k.push(l[2 * i]! | (l[2 * i + 1]! << 8));

  const shifts = [1, 2, 3, 5];
  const out = Buffer.alloc(data.length);
  let previous = iv;
  for (let offset = 0; offset < data.length; offset += 8) {
    const r = [0, 1, 2, 3].map((w) => data.readUInt16LE(offset + 2 * w));
    let j = 63;
    const rmix = (i: number): void => {
      const s = shifts[i]!;
      let x = ((r[i]! >>> s) | (r[i]! << (16 - s))) & 0xffff;
      x -= k[j]! + (r[(i + 3) & 3]! & r[(i + 2) & 3]!) + (~r[(i + 3) & 3]! & 0xffff & r[(i + 1) & 3]!);
      r[i] = x & 0xffff;
      j--;
    };
    const rmixRound = (): void => [3, 2, 1, 0].forEach(rmix);
    const rmashRound = (): void =>
      [3, 2, 1, 0].forEach((i) => {
        r[i] = (r[i]! - k[r[(i + 3) & 3]! & 63]!) & 0xffff;
      });
    for (let n = 0; n < 5; n++) rmixRound();
    rmashRound();
    for (let n = 0; n < 6; n++) rmixRound();
    rmashRound();
    for (let n = 0; n < 5; n++) rmixRound();
    for (let w = 0; w < 4; w++) out.writeUInt16LE(r[w]! ^ previous.readUInt16LE(2 * w), offset + 2 * w);
    previous = data.subarray(offset, offset + 8);
  }
  const pad = out[out.length - 1]!;
  if (pad < 1 || pad > 8 || !out.subarray(out.length - pad).every((b) => b === pad)) throw new DerError('bad RC2 padding');
  return out.subarray(0, out.length - pad);
}

function rc2Table(): Buffer {
  if (PITABLE.length !== 256) throw new Error(`RC2 PITABLE has ${PITABLE.length} bytes`);
  return PITABLE;
}
