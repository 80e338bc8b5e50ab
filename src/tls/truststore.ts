/**
 * Reads the certificates of a --trustStorePath file: a PEM bundle (pem.ts), a single DER certificate, or a
 * PKCS#12 file (pkcs12.ts, on the DER reader der.ts and RC2 in rc2.ts). It only reads certificates: key bags
 * are skipped and never decrypted. Passwords never appear in messages.
 */
import { X509Certificate } from 'node:crypto';
import { readPemCertificates } from './pem.js';
import { pkcs12Certificates, tryParsePfx } from './pkcs12.js';
import { TrustStoreError } from './trust-store-error.js';
import { JCEKS_MAGIC, JKS_MAGIC, readJks } from './jks.js';

export { TrustStoreError, type TrustStoreProblem } from './trust-store-error.js';
export { MAX_ITERATIONS } from './pkcs12.js';

export type TrustStoreFormat = 'pem' | 'der' | 'pkcs12' | 'jks';

export interface TrustStoreContent {
  readonly format: TrustStoreFormat;
  /** One PEM text per certificate, as node:tls takes them. */
  readonly certificates: readonly string[];
  /** A JKS file read without a password: its integrity digest was not checked (keytool warns the same way). */
  readonly unverified?: boolean;
}

/**
 * Recognises the format and returns the certificates; throws TrustStoreError. `expected` is --trustStoreFormat:
 * a file of another format is refused rather than read as what it happens to be.
 */
export function readTrustStore(
  content: Buffer,
  password: string | undefined,
  expected?: TrustStoreFormat,
): TrustStoreContent {
  const store = readAnyTrustStore(content, password);
  if (expected !== undefined && expected !== store.format && !(expected === 'pem' && store.format === 'der'))
    throw new TrustStoreError(
      'unrecognized',
      `it is a ${store.format.toUpperCase()} file, not ${expected.toUpperCase()}`,
    );
  return store;
}

function readAnyTrustStore(content: Buffer, password: string | undefined): TrustStoreContent {
  const magic = content.length >= 4 ? content.readUInt32BE(0) : 0;
  if (magic === JKS_MAGIC || magic === JCEKS_MAGIC) {
    const jks = readJks(content, password);
    // A JKS trust store's trust anchors are its trusted-certificate entries; a key store's chains are not anchors.
    const certificates = jks.trusted.map((entry) => entry.certificate);
    if (certificates.length === 0)
      throw new TrustStoreError('no-certificate', 'the JKS file holds no trusted certificate entry');
    return { format: 'jks', certificates, ...(jks.verified ? {} : { unverified: true }) };
  }
  const pem = readPemCertificates(content.toString('latin1'));
  if (pem !== undefined) return { format: 'pem', certificates: pem };
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
