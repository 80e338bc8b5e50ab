/**
 * A bounded reader of Java KeyStore (JKS) files, the format of Ping's own `config/truststore` and keystores:
 * magic FEEDFEED, version 1 or 2, then entries (1: a private key protected by Sun's key protector with its
 * certificate chain; 2: a trusted certificate), then a SHA-1 over the password (UTF-16BE), the words "Mighty
 * Aphrodite" and every byte before it. Written here rather than taken from npm (jks-js pulls in node-forge and
 * a dozen transitive packages for about 150 lines of format): every length is checked against what remains of
 * the file, the entry count is bounded, and the integrity digest is verified whenever a password is given.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { DerError, octets, oid, parseNode, sequence } from './der.js';
import { TrustStoreError } from './trust-store-error.js';

export const JKS_MAGIC = 0xfeedfeed;
/** JCEKS, the same layout with other key protection: recognised to say so. */
export const JCEKS_MAGIC = 0xcececece;
/** More entries than any trust store or key store holds; a crafted count cannot make the reader loop for long. */
const MAX_ENTRIES = 10_000;
/** Sun's proprietary key protection (the only one keytool writes into a JKS file). */
const SUN_KEY_PROTECTOR_OID = '1.3.6.1.4.1.42.2.17.1.1';
const DIGEST_LENGTH = 20;

export interface JksCertificateEntry {
  readonly alias: string;
  /** PEM text. */
  readonly certificate: string;
}

export interface JksKeyEntry {
  readonly alias: string;
  /** The certificate chain, leaf first, as PEM texts. */
  readonly chain: readonly string[];
  /** Sun-key-protector EncryptedPrivateKeyInfo, decrypted only by jksPrivateKey(). */
  readonly protectedKey: Buffer;
}

export interface JksContent {
  readonly trusted: readonly JksCertificateEntry[];
  readonly keys: readonly JksKeyEntry[];
  /** False when no password was given, so the integrity digest could not be checked. */
  readonly verified: boolean;
}

class Cursor {
  private offset = 0;
  public constructor(private readonly buffer: Buffer) {}

  public get position(): number {
    return this.offset;
  }

  public take(length: number, what: string): Buffer {
    if (length < 0 || this.offset + length > this.buffer.length)
      throw new TrustStoreError('jks', `it is a damaged JKS file (${what} runs past its end)`);
    const bytes = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  public u16(what: string): number {
    return this.take(2, what).readUInt16BE(0);
  }

  public u32(what: string): number {
    return this.take(4, what).readUInt32BE(0);
  }

  /** Java's DataOutput.writeUTF: a 16-bit length and modified UTF-8 (the same as UTF-8 for aliases in practice). */
  public utf(what: string): string {
    return this.take(this.u16(what), what).toString('utf8');
  }
}

/** The entries of a JKS file; with a password, its integrity digest is checked first. Throws TrustStoreError. */
export function readJks(content: Buffer, password: string | undefined): JksContent {
  if (content.length < 12 + DIGEST_LENGTH) throw new TrustStoreError('jks', 'it is a truncated JKS file');
  const cursor = new Cursor(content.subarray(0, content.length - DIGEST_LENGTH));
  const magic = cursor.u32('the magic number');
  if (magic === JCEKS_MAGIC) throw new TrustStoreError('jks', 'it is a JCEKS key store, which is not supported');
  if (magic !== JKS_MAGIC) throw new TrustStoreError('unrecognized', 'it is not a JKS file');
  const version = cursor.u32('the version');
  if (version !== 1 && version !== 2)
    throw new TrustStoreError('jks', `it is a JKS file of version ${version} (1 and 2 are known)`);
  const verified = password !== undefined && password !== '';
  if (verified) {
    const expected = content.subarray(content.length - DIGEST_LENGTH);
    const digest = createHash('sha1')
      .update(Buffer.from(password, 'utf16le').swap16())
      .update('Mighty Aphrodite', 'utf8')
      .update(content.subarray(0, content.length - DIGEST_LENGTH))
      .digest();
    if (!digest.equals(expected))
      throw new TrustStoreError(
        'password-wrong',
        'the password does not verify the integrity of this JKS file (a wrong password, or a changed file)',
      );
  }
  const count = cursor.u32('the entry count');
  if (count > MAX_ENTRIES)
    throw new TrustStoreError('jks', `it says it holds ${count} entries, more than ${MAX_ENTRIES}`);
  const certificate = (what: string): string => {
    if (version === 2) {
      const type = cursor.utf(`the certificate type of ${what}`);
      if (type !== 'X.509') throw new TrustStoreError('jks', `${what} holds a ${type} certificate`);
    }
    const der = cursor.take(cursor.u32(`the certificate of ${what}`), `the certificate of ${what}`);
    try {
      return new X509Certificate(der).toString();
    } catch {
      throw new TrustStoreError('jks', `it is a damaged JKS file (${what} holds no X.509 certificate)`);
    }
  };
  const trusted: JksCertificateEntry[] = [];
  const keys: JksKeyEntry[] = [];
  for (let index = 0; index < count; index++) {
    const tag = cursor.u32('an entry tag');
    const alias = cursor.utf('an alias');
    cursor.take(8, 'a timestamp');
    const what = `the entry '${alias}'`;
    if (tag === 2) {
      trusted.push({ alias, certificate: certificate(what) });
    } else if (tag === 1) {
      const protectedKey = cursor.take(cursor.u32(`the key of ${what}`), `the key of ${what}`);
      const chainLength = cursor.u32(`the chain length of ${what}`);
      if (chainLength > 64) throw new TrustStoreError('jks', `${what} has a chain of ${chainLength} certificates`);
      const chain: string[] = [];
      for (let i = 0; i < chainLength; i++) chain.push(certificate(what));
      keys.push({ alias, chain, protectedKey });
    } else {
      throw new TrustStoreError('jks', `${what} is of a kind (${tag}) a JKS trust or key store does not hold`);
    }
  }
  if (cursor.position !== content.length - DIGEST_LENGTH)
    throw new TrustStoreError('jks', 'it is a damaged JKS file (bytes after its last entry)');
  return { trusted, keys, verified };
}

/**
 * The private key of a key entry as PKCS#8 PEM, decrypted with Sun's key protector: the key stream is
 * SHA-1(password, previous digest) starting from a 20-byte salt, XORed over the key, and a SHA-1 of the
 * password and the plain key checks the result.
 */
export function jksPrivateKey(entry: JksKeyEntry, password: string): string {
  let encrypted: Buffer;
  try {
    const info = sequence(parseNode(entry.protectedKey, 0));
    const algorithm = oid(sequence(info[0])[0]);
    if (algorithm !== SUN_KEY_PROTECTOR_OID)
      throw new TrustStoreError('jks', `the key of '${entry.alias}' is protected by ${algorithm}`);
    encrypted = octets(info[1]);
  } catch (error) {
    if (error instanceof DerError) throw new TrustStoreError('jks', `the key of '${entry.alias}' is damaged`);
    throw error;
  }
  if (encrypted.length < 2 * DIGEST_LENGTH) throw new TrustStoreError('jks', `the key of '${entry.alias}' is damaged`);
  const passwordBytes = Buffer.from(password, 'utf16le').swap16();
  const salt = encrypted.subarray(0, DIGEST_LENGTH);
  const body = encrypted.subarray(DIGEST_LENGTH, encrypted.length - DIGEST_LENGTH);
  const check = encrypted.subarray(encrypted.length - DIGEST_LENGTH);
  const plain = Buffer.alloc(body.length);
  let digest: Buffer = salt;
  for (let offset = 0; offset < body.length; offset += DIGEST_LENGTH) {
    digest = createHash('sha1').update(passwordBytes).update(digest).digest();
    for (let i = 0; i < DIGEST_LENGTH && offset + i < body.length; i++)
      plain[offset + i] = (body[offset + i] ?? 0) ^ (digest[i] ?? 0);
  }
  if (!createHash('sha1').update(passwordBytes).update(plain).digest().equals(check))
    throw new TrustStoreError('password-wrong', `the password does not open the key of '${entry.alias}'`);
  return createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
}
