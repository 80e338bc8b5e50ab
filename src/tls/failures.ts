/**
 * What a failed TLS connection means for the user: node:tls and OpenSSL error codes (an untrusted or expired
 * certificate, a wrong host name, a handshake cut short) turned into one line and a hint, exit code 91.
 */
import { PrepareError, ResultCode } from '../model/errors.js';
import { serverText } from '../formats/server-text.js';
import type { TransportSecurity, Trust } from '../model/directory.js';

/** What was being done when the error came: the operation (StartTLS or another), where, and how secured. */
export interface TlsFailureContext {
  readonly operation: string;
  readonly address: string;
  readonly security?: TransportSecurity;
  readonly trust?: Trust;
}

/** OpenSSL verification codes (as Node reports them) that mean "no trusted CA vouches for this certificate". */
const UNTRUSTED_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'INVALID_CA',
]);

const NOT_FOR_PRODUCTION = '--trustAll skips the check (tests only, never in production)';

/** Certificate and handshake failures; undefined when the error is not about TLS. */
export function tlsFailure(
  error: unknown,
  code: string,
  message: string,
  context: TlsFailureContext,
): PrepareError | undefined {
  const failed = `TLS to ${context.address} failed`;
  const cause = { cause: error };
  if (UNTRUSTED_CODES.has(code)) {
    const what =
      code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
        ? 'the server certificate is self-signed'
        : 'the server certificate is issued by an unknown CA';
    const trust = context.trust;
    if (trust?.kind === 'certificates') {
      return new PrepareError(
        ResultCode.CONNECT_ERROR,
        `${failed}: ${what}, not by one in --trustStorePath '${trust.source}'`,
        `add the CA certificate that issued the server certificate to ${trust.source}, or point --trustStorePath at the right file`,
        cause,
      );
    }
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `${failed}: ${what}, which the system CAs do not vouch for`,
      `pass that CA certificate with --trustStorePath (a PEM or PKCS#12 file); ${NOT_FOR_PRODUCTION}`,
      cause,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    const when = code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet';
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `${failed}: the server certificate (or a CA certificate in its chain) ${when}`,
      `renew the server certificate, and check this machine's clock (now ${new Date().toISOString()})`,
      cause,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const details = error as { host?: unknown; cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } } };
    const host = typeof details.host === 'string' ? details.host : context.address;
    const altNames = details.cert?.subjectaltname;
    const names =
      typeof altNames === 'string' && altNames !== ''
        ? altNames.replace(/IP Address:/g, 'IP:')
        : typeof details.cert?.subject?.CN === 'string'
          ? `CN=${details.cert.subject.CN}`
          : undefined;
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `${failed}: the server certificate is not for '${host}'${names === undefined ? '' : ` (it names ${serverText(names)})`}`,
      `connect with a --hostname the certificate names, or reissue the certificate with '${host}' in its subjectAltName`,
      cause,
    );
  }
  const handshakeCut =
    code === 'ECONNRESET' ||
    /before secure TLS connection was established/i.test(message) ||
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    /wrong version number/i.test(message);
  if (handshakeCut && context.security === 'ssl') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `${failed}: the server did not answer the TLS handshake; ${context.address} looks like a plain LDAP port`,
      'give the LDAPS port (usually 636) with --useSSL, or use --useStartTLS on this port',
      cause,
    );
  }
  if (handshakeCut && context.security === 'starttls' && context.operation === 'StartTLS') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `${failed}: the server accepted StartTLS but broke off the handshake`,
      'check the server TLS configuration (its certificate and key)',
      cause,
    );
  }
  if (context.operation === 'StartTLS' && /closed/i.test(message)) {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `${context.address} did not answer the StartTLS request (${serverText(message)})`,
      'if this is an LDAPS port, use --useSSL instead of --useStartTLS',
      cause,
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /^CERT_|_CERT(_|$)/.test(code)) {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `${failed}: ${serverText(message)}`,
      'check the server certificate and its TLS settings',
      cause,
    );
  }
  return undefined;
}
