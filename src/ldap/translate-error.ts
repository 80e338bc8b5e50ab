/**
 * The one place where ldapts and socket errors become what the user reads and what the process exits with:
 * a PrepareError with the LDAP result code, one line saying what failed, and a hint. The sentences for the
 * result codes are in result-meanings.ts, those for certificates and handshakes in ../tls/failures.ts.
 */
import { ResultCodeError } from 'ldapts';
import { isSecretAttribute } from '../model/entries.js';
import { accountStateProblem, PrepareError, ResultCode } from '../model/errors.js';
import { tlsFailure } from '../tls/failures.js';
import type { AccountPolicyState, TransportSecurity, Trust } from '../model/directory.js';
import { RESULT_CODE_MEANINGS } from './result-meanings.js';

/** The operation that failed, and on what: the words of the message. */
export interface ErrorContext {
  readonly operation: string;
  /** For a write: the attributes it sets (to tell a refused password from other constraint violations). */
  readonly attributes?: readonly string[];
  readonly dn: string;
  readonly boundDn: string | undefined;
  readonly address: string;
  /** For TLS failures: how the connection was secured and what was trusted. */
  readonly security?: TransportSecurity;
  readonly trust?: Trust;
  /** An ldapi:// connection: the socket's path, which connection errors name. */
  readonly socketPath?: string;
  /** The subject of the client certificate presented for SASL EXTERNAL, which a refused bind names. */
  readonly clientCertificate?: string;
  /** For a bind that asked for it: what the password policy response controls said. */
  readonly accountState?: AccountPolicyState;
}

/** Result codes a refused SASL EXTERNAL bind comes with (no identity, no mapping, mechanism not offered). */
const EXTERNAL_REFUSALS: ReadonlySet<number> = new Set([
  ResultCode.INAPPROPRIATE_AUTHENTICATION,
  ResultCode.INVALID_CREDENTIALS,
  7, // authMethodNotSupported
  ResultCode.UNWILLING_TO_PERFORM,
  ResultCode.INSUFFICIENT_ACCESS,
]);

/** A refused SASL EXTERNAL bind: say whose identity the server did not map, and how to map it. */
function externalRefused(error: ResultCodeError, said: string, context: ErrorContext): PrepareError {
  if (context.clientCertificate !== undefined) {
    return new PrepareError(
      error.code,
      `${context.address} refused the SASL EXTERNAL bind with the client certificate '${context.clientCertificate}'${said}: the server does not map it to an entry`,
      'map the certificate on the server (389 DS: nsslapd-certmap / certmap.conf and nsCertSubjectDN or userCertificate; OpenLDAP: olcTLSVerifyClient and olcAuthzRegexp), or check --certNickname',
      { cause: error },
    );
  }
  return new PrepareError(
    error.code,
    `${context.address} refused the SASL EXTERNAL bind${said}: ${context.socketPath === undefined ? 'without a client certificate (--keyStorePath) there is no identity to bind' : 'the server maps no entry to this process user over ldapi'}`,
    context.socketPath === undefined
      ? 'give the client certificate with --keyStorePath, over --useSSL or --useStartTLS'
      : 'run as root (or the user the server maps: 389 DS nsslapd-ldapiautobind, OpenLDAP olcAuthzRegexp on cn=peercred), or bind with --bindDN',
    { cause: error },
  );
}

/** A StartTLS request answered with an error result: the server has no TLS to offer on this port. */
function startTlsRefused(error: ResultCodeError, said: string, context: ErrorContext): PrepareError {
  return new PrepareError(
    ResultCode.CONNECT_ERROR,
    `${context.address} refused StartTLS${said}: it has no TLS configured on this port`,
    'configure a certificate on the server, or use --useSSL with its LDAPS port',
    { cause: error },
  );
}

/** Active Directory's bind failure sub-codes (the "data" value of its message): what it means, what to do. */
const AD_BIND_REASONS: Readonly<Record<string, readonly [string, string]>> = {
  '525': ['the account does not exist', 'check the DN'],
  '52e': ['the password is wrong', 'check the bind DN and its password'],
  '530': ['the account may not log on at this time', "check the account's logon hours"],
  '531': ['the account may not log on from this workstation', "check the account's allowed workstations"],
  '532': [
    'the password has expired',
    'set a new password for the account (or --resetSyncServerBindPassword for the sync user)',
  ],
  '533': ['the account is disabled', 'enable the account'],
  '701': ['the account has expired', "extend the account's expiry date"],
  '773': [
    'the password must be changed before the account can be used',
    'set a new password for the account (or --resetSyncServerBindPassword for the sync user)',
  ],
  '775': ['the account is locked out', 'unlock the account, or wait for the lockout to end'],
};

/** Active Directory's bind sub-codes that are a password policy state of the account. */
const AD_ACCOUNT_STATES: Readonly<Record<string, AccountPolicyState>> = {
  '532': { expired: true },
  '773': { mustChange: true },
  '775': { locked: true },
};

const STATE_HINT =
  'an administrator clears the state (for the sync user: run this command again, which exempts it from the password policy and clears the state; add --resetSyncServerBindPassword if its password is unknown)';

/**
 * A refused bind whose reason is the account's password policy state: 389 DS answers a locked account with 19
 * ("exceed password retry limit"), OpenLDAP's ppolicy with 49 and the response control's error, AD with 49 and
 * a data sub-code. Named as such, never as a wrong password or a unique attribute.
 */
function refusedByPolicy(error: ResultCodeError, serverText: string, context: ErrorContext): PrepareError | undefined {
  if (context.operation !== 'bind') return undefined;
  const adCode = /\bdata ([0-9a-f]{3,4})\b/i.exec(serverText)?.[1]?.toLowerCase() ?? '';
  const state: AccountPolicyState = {
    ...(context.accountState ?? {}),
    ...(error.code === ResultCode.CONSTRAINT_VIOLATION ? { locked: true } : {}),
    ...(error.code === ResultCode.INVALID_CREDENTIALS ? (AD_ACCOUNT_STATES[adCode] ?? {}) : {}),
  };
  const problem = accountStateProblem(state);
  if (problem === undefined || (state.expiresInSeconds !== undefined && Object.keys(state).length === 1))
    return undefined;
  return new PrepareError(error.code, `The server refused the bind of '${context.dn}': ${problem}`, STATE_HINT, {
    cause: error,
    serverMessage: serverText,
    accountState: state,
  });
}

/** The one place where ldapts and socket errors become what the user reads and what the process exits with. */
export function translateError(error: unknown, context: ErrorContext): PrepareError {
  if (error instanceof PrepareError) return error;
  const where = context.dn === '' ? 'the root DSE' : `'${context.dn}'`;
  const who = context.boundDn === undefined ? 'an anonymous connection' : `'${context.boundDn}'`;
  if (error instanceof ResultCodeError) {
    const serverText = error.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
    const said = serverText === '' ? '' : ` (server said: ${serverText})`;
    if (context.operation === 'StartTLS') return startTlsRefused(error, said, context);
    if (context.operation === 'SASL EXTERNAL bind' && EXTERNAL_REFUSALS.has(error.code))
      return externalRefused(error, said, context);
    const policyRefusal = refusedByPolicy(error, serverText, context);
    if (policyRefusal !== undefined) return policyRefusal;
    switch (error.code) {
      case ResultCode.INVALID_CREDENTIALS: {
        // Active Directory says why in a "data <hex>" sub-code: a right password can still be refused.
        const reason = AD_BIND_REASONS[/\bdata ([0-9a-f]{3,4})\b/i.exec(serverText)?.[1]?.toLowerCase() ?? ''];
        if (reason !== undefined) {
          return new PrepareError(
            error.code,
            `The server refused the bind of '${context.dn}': ${reason[0]}`,
            reason[1],
            { cause: error, serverMessage: serverText },
          );
        }
        return new PrepareError(
          error.code,
          `The server rejected the password for '${context.dn}'`,
          'check the bind DN and its password',
          { cause: error, serverMessage: serverText },
        );
      }
      case ResultCode.INSUFFICIENT_ACCESS:
        return new PrepareError(
          error.code,
          `${capitalize(who)} may not ${context.operation} ${where}${said}`,
          'bind as an administrator allowed to change this entry (for example cn=Directory Manager)',
          { cause: error },
        );
      case ResultCode.NO_SUCH_OBJECT:
        return new PrepareError(error.code, `${capitalize(where)} does not exist${said}`, undefined, { cause: error });
      case ResultCode.STRONGER_AUTH_REQUIRED:
      case ResultCode.CONFIDENTIALITY_REQUIRED:
        return new PrepareError(
          error.code,
          `The server requires an encrypted connection for ${context.operation} ${where}${said}`,
          'add --useSSL or --useStartTLS',
          { cause: error },
        );
      case ResultCode.CONSTRAINT_VIOLATION:
        if (context.attributes?.some(isSecretAttribute) === true) {
          return new PrepareError(
            error.code,
            `The server refused the password of ${where}: it breaks the server's password policy${said}`,
            'choose a sync user password the password policy accepts (length, character classes, history)',
            { cause: error },
          );
        }
        break;
      default:
        break;
    }
    const meaning = RESULT_CODE_MEANINGS[error.code];
    const name = meaning === undefined ? `LDAP result ${error.code}` : `${meaning.name}, LDAP result ${error.code}`;
    return new PrepareError(
      error.code,
      `The server refused the ${context.operation} of ${where}: ${meaning?.why ?? 'it answered with an error'} (${name}${serverText === '' ? '' : `; server said: ${serverText}`})`,
      meaning?.hint ?? "look the result code up in the directory server's documentation and check its error log",
      { cause: error },
    );
  }
  const code =
    typeof (error as { code?: unknown } | null | undefined)?.code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  if (context.socketPath !== undefined) {
    const socketFailure = socketConnectFailure(code, context.socketPath, error);
    if (socketFailure !== undefined) return socketFailure;
  }
  if (code === 'ECONNREFUSED') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `Nothing is listening on ${context.address}`,
      'check --hostname and --port, and that the directory server is running',
      { cause: error },
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `The host name in ${context.address} does not resolve`,
      'check --hostname',
      { cause: error },
    );
  }
  const tls = tlsFailure(error, code, message, context);
  if (tls !== undefined) return tls;
  if (code === 'ECONNRESET' || /secure TLS connection/i.test(message)) {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `The connection to ${context.address} was reset`,
      'if the port is a plain LDAP port, drop --useSSL (or use --useStartTLS)',
      { cause: error },
    );
  }
  if (/timed? ?out|timeout/i.test(message) || code === 'ETIMEDOUT') {
    return new PrepareError(
      ResultCode.TIMEOUT,
      `${context.address} did not answer the ${context.operation} in time`,
      'check that the server is healthy, or raise --connectTimeout / --operationTimeout',
      { cause: error },
    );
  }
  if (/closed|ECONNABORTED|EPIPE/i.test(message) || code === 'EPIPE') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `The connection to ${context.address} was lost during the ${context.operation}`,
      'run the same command again once the server is back: it finishes what is left',
      { cause: error },
    );
  }
  return new PrepareError(
    ResultCode.CONNECT_ERROR,
    `The ${context.operation} of ${where} on ${context.address} failed: ${message}`,
    'check that the server runs and the network between, then run the same command again',
    { cause: error },
  );
}

/** An ldapi:// socket that cannot be connected to: the message names its path. */
function socketConnectFailure(code: string, path: string, error: unknown): PrepareError | undefined {
  const reasons: Readonly<Record<string, readonly [string, string]>> = {
    ENOENT: [
      'there is no such socket',
      'check the path in the ldapi:// URL (percent-encoded, such as ldapi://%2Frun%2Fslapd%2Fldapi)',
    ],
    ECONNREFUSED: ['no server is listening on it', 'start the directory server, or check the path in the ldapi:// URL'],
    EACCES: ['this user may not open it', 'run as a user allowed to open the socket (usually root)'],
    ENOTSOCK: ['it is not a socket', "give the path of the server's ldapi socket"],
  };
  const reason = reasons[code];
  if (reason === undefined) return undefined;
  return new PrepareError(
    ResultCode.CONNECT_ERROR,
    `Cannot connect to the ldapi socket '${path}': ${reason[0]}`,
    reason[1],
    {
      cause: error,
    },
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
