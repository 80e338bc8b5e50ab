/**
 * Reads the certificates of a --trustStorePath file: a PEM bundle (pem.ts), a single DER certificate, or a
 * PKCS#12 file (pkcs12.ts, on the DER reader der.ts and RC2 in rc2.ts). It only reads certificates: key bags
 * are skipped and never decrypted. Passwords never appear in messages.
 */
import { X509Certificate } from 'node:crypto';
import { readPemCertificates } from './pem.js';
import { pkcs12Certificates, tryParsePfx } from './pkcs12.js';
import { TrustStoreError } from './trust-store-error.js';

export { TrustStoreError, type TrustStoreProblem } from './trust-store-error.js';
export { MAX_ITERATIONS } from './pkcs12.js';

export type TrustStoreFormat = 'pem' | 'der' | 'pkcs12' | 'jks';

export interface TrustStoreContent {
  readonly format: TrustStoreFormat;
  /** One PEM text per certificate, as node:tls takes them. */
  readonly certificates: readonly string[];
}

/** The magic number a Java KeyStore file starts with. */
const JKS_MAGIC = 0xfeedfeed;

/** Recognises the format and returns the certificates; throws TrustStoreError. */
export function readTrustStore(content: Buffer, password: string | undefined): TrustStoreContent {
  if (content.length >= 4 && content.readUInt32BE(0) === JKS_MAGIC) {
    throw new TrustStoreError('jks', 'it is a Java KeyStore (JKS)');
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
