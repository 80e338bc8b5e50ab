/**
 * PEM certificates (RFC 7468): the one pattern of a certificate block, for trust stores and for the system CA
 * bundles, and the strict reading of a --trustStorePath bundle, where every certificate block must be one.
 */
import { X509Certificate } from 'node:crypto';
import { TrustStoreError } from './trust-store-error.js';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

/** Every `BEGIN CERTIFICATE` ... `END CERTIFICATE` block of a text. Other PEM blocks (keys, CRLs) are not matched. */
const PEM_CERTIFICATE = new RegExp(`${BEGIN}[\\s\\S]+?${END}`, 'g');

/** The certificate blocks of a text, unchecked (for system bundles, which node:tls reads as it always has). */
export function pemCertificateBlocks(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

/**
 * The certificate blocks of a trust store's text, each checked to be an X.509 certificate; undefined when the
 * text has no BEGIN CERTIFICATE line at all (so it is not PEM). A block that is not a certificate (damaged
 * base64, a BEGIN without its END) is a TrustStoreError naming its line: node:tls would skip it without a word,
 * and the run would fail later with a misleading "unknown CA".
 */
export function readPemCertificates(text: string): string[] | undefined {
  if (!text.includes(BEGIN)) return undefined;
  const certificates: string[] = [];
  let from = 0;
  for (let index = 1; ; index++) {
    const begin = text.indexOf(BEGIN, from);
    if (begin < 0) break;
    const line = (): number => lineOf(text, begin);
    const end = text.indexOf(END, begin + BEGIN.length);
    const nextBegin = text.indexOf(BEGIN, begin + BEGIN.length);
    if (end < 0 || (nextBegin >= 0 && nextBegin < end)) {
      throw new TrustStoreError(
        'invalid-pem',
        `its PEM certificate ${index} (line ${line()}) has no END CERTIFICATE line`,
      );
    }
    const block = text.slice(begin, end + END.length);
    const body = block.slice(BEGIN.length, -END.length).replace(/\s+/g, '');
    if (body === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
      throw new TrustStoreError('invalid-pem', `its PEM certificate ${index} (line ${line()}) is not valid base64`);
    }
    try {
      new X509Certificate(block);
    } catch {
      throw new TrustStoreError(
        'invalid-pem',
        `its PEM certificate ${index} (line ${line()}) is not an X.509 certificate`,
      );
    }
    certificates.push(block);
    from = end + END.length;
  }
  return certificates;
}

/** The 1-based line number of `offset` in `text`. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
