/**
 * Certificates of a PKCS#12 file (RFC 7292) as OpenSSL, Java's keytool and Windows write them. Node has no
 * PKCS#12 reader for certificate-only files (tls `pfx` insists on a private key), so this reader is built on
 * node:crypto: the MAC (which tells a wrong password apart from a damaged file), PBES2 (PBKDF2 with AES or
 * 3DES, the OpenSSL 3 and Java 17 default) and the legacy PKCS#12 PBE schemes (SHA-1 with 3DES, and RC2).
 * Key bags are skipped and never decrypted. Passwords never appear in messages.
 */
import { createDecipheriv, createHash, createHmac, pbkdf2Sync, X509Certificate } from 'node:crypto';
import { DerError, DerRangeError, explicit0, integer, octets, oid, parseNode, sequence, type DerNode } from './der.js';
import { rc2CbcDecrypt } from './rc2.js';
import { TrustStoreError } from './trust-store-error.js';

/**
 * The most key-derivation rounds one derivation may ask for. Writers use far fewer: OpenSSL 3 writes 2048,
 * Java's keytool 10000 (older JDKs up to 100000 for the MAC); ten times the largest leaves room for a store
 * exported with hardened settings. More is refused, not computed: the file sets the number, and 2^40 rounds
 * would keep the run busy for days (1,000,000 rounds of the PKCS#12 KDF take about 2 s in Node).
 */
export const MAX_ITERATIONS = 1_000_000;

/**
 * The most hash rounds all derivations of one file may cost together (about 10 s at the rate above). A file
 * at MAX_ITERATIONS needs up to 5 of them: the MAC tried with the two spellings of "no password", then a key
 * and an IV (a 3DES key takes two rounds of SHA-1 output). Without a total, a file of a thousand encrypted
 * parts, each within the limit, would still take hours; with it, real files (one or two encrypted parts at
 * 2048 or 10000 rounds) stay far below.
 */
export const MAX_TOTAL_ROUNDS = 6 * MAX_ITERATIONS;

/** The rounds a file has left (see MAX_TOTAL_ROUNDS). */
export class KdfBudget {
  private remaining = MAX_TOTAL_ROUNDS;

  public spend(rounds: number): void {
    this.remaining -= rounds;
    if (this.remaining < 0) {
      throw new TrustStoreError(
        'unsupported',
        `it asks for more than ${MAX_TOTAL_ROUNDS} key derivation rounds in all, more than a trust store needs`,
      );
    }
  }
}

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
const PKCS12_PBE: Readonly<
  Record<string, { cipher: 'des-ede3-cbc' | 'des-ede-cbc' | 'rc2'; keyLength: number; name: string }>
> = {
  '1.2.840.113549.1.12.1.3': { cipher: 'des-ede3-cbc', keyLength: 24, name: 'pbeWithSHAAnd3-KeyTripleDES-CBC' },
  '1.2.840.113549.1.12.1.4': { cipher: 'des-ede-cbc', keyLength: 16, name: 'pbeWithSHAAnd2-KeyTripleDES-CBC' },
  '1.2.840.113549.1.12.1.5': { cipher: 'rc2', keyLength: 16, name: 'pbeWithSHAAnd128BitRC2-CBC' },
  '1.2.840.113549.1.12.1.6': { cipher: 'rc2', keyLength: 5, name: 'pbeWithSHAAnd40BitRC2-CBC' },
};

/** The PFX version this reader knows (RFC 7292 section 4: v3). */
const PFX_VERSION = 3;

/** Nested SafeContents bags followed at most this deep (writers nest none). */
const MAX_BAG_NESTING = 8;

export interface Pfx {
  /** The AuthenticatedSafe bytes (what the MAC covers). */
  readonly authSafe: Buffer;
  readonly mac:
    | { readonly hash: string; readonly digest: Buffer; readonly salt: Buffer; readonly iterations: number }
    | 'none'
    | { readonly unsupported: string };
}

/** A PBE iteration count, refused beyond MAX_ITERATIONS (the message names what the file asked for). */
function iterationCount(node: DerNode | undefined): number {
  let iterations: number;
  try {
    iterations = integer(node, MAX_ITERATIONS, 'an iteration count');
  } catch (error) {
    if (!(error instanceof DerRangeError)) throw error;
    const asked = error.value === undefined ? `a ${error.octets}-byte number of` : String(error.value);
    throw new TrustStoreError(
      'unsupported',
      `it asks for ${asked} key derivation rounds, more than a trust store needs (at most ${MAX_ITERATIONS})`,
    );
  }
  if (iterations < 1) throw new TrustStoreError('unsupported', `it asks for ${iterations} key derivation rounds`);
  return iterations;
}

/** The PFX structure, or undefined when the bytes are not PKCS#12 at all. */
export function tryParsePfx(content: Buffer): Pfx | undefined {
  let top: DerNode[];
  let authSafe: Buffer;
  try {
    const root = parseNode(content, 0);
    top = sequence(root);
    // The version is read with a bound of its own: any other value means "not a PFX", however large.
    if (integer(top[0], Number.MAX_SAFE_INTEGER) !== PFX_VERSION) return undefined;
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
    if (error instanceof TrustStoreError)
      return { authSafe, mac: { unsupported: `a MAC that ${error.message.replace(/^it /, '')}` } };
    return { authSafe, mac: { unsupported: 'a malformed MAC' } };
  }
}

/** Candidate passwords: the one given, or the two spellings of "no password" (empty string and absent). */
function passwordCandidates(password: string | undefined): Array<string | null> {
  return password === undefined || password === '' ? ['', null] : [password];
}

/** The certificates of a parsed PFX (PEM texts); throws TrustStoreError. */
/**
 * `keyBags: 'bounded'` (a client key store, whose key node:tls decrypts afterwards): a shrouded key bag whose
 * key derivation asks for more rounds than MAX_ITERATIONS is refused here, before OpenSSL would run them.
 */
export function pkcs12Certificates(
  pfx: Pfx,
  password: string | undefined,
  options: { readonly keyBags?: 'bounded' } = {},
): string[] {
  const budget = new KdfBudget();
  let chosen: string | null | undefined;
  if (pfx.mac === 'none') {
    chosen = password ?? '';
  } else if ('unsupported' in pfx.mac) {
    throw new TrustStoreError('unsupported', `its integrity protection (${pfx.mac.unsupported}) is not supported`);
  } else {
    const mac = pfx.mac;
    chosen = passwordCandidates(password).find((candidate) => {
      const key = pkcs12Kdf(
        mac.hash,
        bmpPassword(candidate),
        mac.salt,
        3,
        mac.iterations,
        createHash(mac.hash).digest().length,
        budget,
      );
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
        collectBags(octets(explicit0(contentInfo[1])), certificates, 0, options.keyBags === 'bounded');
      } else if (type === OID.encryptedData) {
        const encryptedData = sequence(explicit0(contentInfo[1]));
        const encryptedContentInfo = sequence(encryptedData[1]);
        const algorithm = sequence(encryptedContentInfo[1]);
        const encrypted = octets(encryptedContentInfo[2], 0x80);
        collectBags(decrypt(algorithm, encrypted, chosen, budget), certificates, 0, options.keyBags === 'bounded');
      } else if (type === OID.envelopedData) {
        throw new TrustStoreError('unsupported', 'it uses public-key (enveloped) encryption, which is not supported');
      }
    }
  } catch (error) {
    if (error instanceof TrustStoreError) throw error;
    if (pfx.mac === 'none') {
      throw new TrustStoreError(
        password === undefined ? 'password-needed' : 'password-wrong',
        'its content cannot be decrypted (a wrong or missing password, or a damaged file)',
      );
    }
    throw new TrustStoreError(
      'unrecognized',
      `it is a damaged PKCS#12 file (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (certificates.length === 0) throw new TrustStoreError('no-certificate', 'the PKCS#12 file holds no certificate');
  return certificates;
}

function collectBags(safeContents: Buffer, out: string[], nesting: number, boundKeys = false): void {
  if (nesting > MAX_BAG_NESTING) throw new DerError(`SafeContents nested deeper than ${MAX_BAG_NESTING} levels`);
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
      collectBags(explicit0(bag[1]).raw, out, nesting + 1, boundKeys);
    } else if (bagId === OID.shroudedKeyBag && boundKeys) {
      keyBagRounds(sequence(sequence(explicit0(bag[1]))[0]));
    }
    // key bags, CRL bags, secret bags: not trust anchors
  }
}

/** The rounds a shrouded key bag's encryption asks for (PBES2 with PBKDF2, or a PKCS#12 PBE), bounded. */
function keyBagRounds(algorithm: DerNode[]): void {
  const algorithmOid = oid(algorithm[0]);
  if (algorithmOid === OID.pbes2) {
    const kdf = sequence(sequence(algorithm[1])[0]);
    iterationCount(sequence(kdf[1])[1]);
  } else if (PKCS12_PBE[algorithmOid] !== undefined) {
    iterationCount(sequence(algorithm[1])[1]);
  } else {
    throw new TrustStoreError('unsupported', `its key is protected by ${algorithmOid}, which is not supported`);
  }
}

function decrypt(algorithm: DerNode[], encrypted: Buffer, password: string | null, budget: KdfBudget): Buffer {
  const algorithmOid = oid(algorithm[0]);
  if (algorithmOid === OID.pbes2) {
    const params = sequence(algorithm[1]);
    const kdf = sequence(params[0]);
    if (oid(kdf[0]) !== OID.pbkdf2)
      throw new TrustStoreError('unsupported', `its key derivation ${oid(kdf[0])} is not supported`);
    const kdfParams = sequence(kdf[1]);
    const salt = octets(kdfParams[0]);
    const iterations = iterationCount(kdfParams[1]);
    let prf = 'sha1';
    for (const extra of kdfParams.slice(2)) {
      if (extra.tag === 0x30) {
        const prfOid = oid(sequence(extra)[0]);
        const name = HMAC_PRFS[prfOid];
        if (name === undefined)
          throw new TrustStoreError('unsupported', `its PBKDF2 function ${prfOid} is not supported`);
        prf = name;
      }
    }
    const scheme = sequence(params[1]);
    const schemeOid = oid(scheme[0]);
    const cipher = PBES2_CIPHERS[schemeOid];
    if (cipher === undefined) throw new TrustStoreError('unsupported', `its cipher ${schemeOid} is not supported`);
    const iv = octets(scheme[1]);
    // PBKDF2 runs its rounds once per block of PRF output; the key lengths above fit in two blocks of SHA-1.
    budget.spend(iterations * Math.ceil(cipher.keyLength / createHash(prf).digest().length));
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
  const key = pkcs12Kdf('sha1', bmp, salt, 1, iterations, pbe.keyLength, budget);
  const iv = pkcs12Kdf('sha1', bmp, salt, 2, iterations, 8, budget);
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

/**
 * RFC 7292 appendix B.2. id: 1 key, 2 IV, 3 MAC key. Refuses more than MAX_ITERATIONS rounds; `budget`, when
 * given, is charged the rounds of every block of output (see MAX_TOTAL_ROUNDS).
 */
export function pkcs12Kdf(
  hash: string,
  password: Buffer,
  salt: Buffer,
  id: number,
  iterations: number,
  length: number,
  budget?: KdfBudget,
): Buffer {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new TrustStoreError(
      'unsupported',
      `it asks for ${iterations} key derivation rounds, more than a trust store needs (at most ${MAX_ITERATIONS})`,
    );
  }
  const { block: v } = Object.values(HASHES).find((h) => h.name === hash) ?? { block: 64 };
  const u = createHash(hash).digest().length;
  budget?.spend(iterations * Math.ceil(length / u));
  const repeat = (source: Buffer): Buffer => {
    if (source.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i++) out[i] = source.readUInt8(i % source.length);
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
    for (let k = 0; k < v; k++) b[k] = a.readUInt8(k % u);
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i.readUInt8(j + k) + b.readUInt8(k) + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(result).subarray(0, length);
}
