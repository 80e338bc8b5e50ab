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
import { serverText as cleanServerText, type SecretMask } from '../formats/server-text.js';

/**
 * How a connection ended, in the adapter's own terms (never read from a message): a connect or a TLS
 * handshake that did not finish in time, an operation without an answer in time, a connection closed or
 * stopped for breaking the protocol, and `gone` for an operation asked of a connection that ended earlier
 * (its cause is how it ended).
 */
export type ConnectionFailureKind =
  'connect-timeout' | 'handshake-stalled' | 'operation-timeout' | 'closed' | 'protocol' | 'gone';

export class ConnectionFailure extends Error {
  public override readonly name = 'ConnectionFailure';

  public constructor(
    public readonly kind: ConnectionFailureKind,
    message: string,
    /** The server's own words (a notice of disconnection), raw: translateError cleans them. */
    public readonly serverText?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The result codes a server may answer with that this tool knows (RFC 4511 4.1.9, RFC 3909, RFC 4370,
 * RFC 6171, RFC 4533's e-syncRefreshRequired). Any other, and the client-side codes a server has no business
 * sending (85, 89, 91) or the shell's 130 and 143, would read as one of the tool's own exits: they exit 80.
 */
const SERVER_RESULT_CODES: ReadonlySet<number> = new Set([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 32, 33, 34, 36, 48, 49, 50, 51, 52, 53, 54, 64,
  65, 66, 67, 68, 69, 71, 80, 118, 119, 120, 121, 122, 123, 4096,
]);

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
  /** The operation changes the server (a timeout then leaves it unknown whether it was made). */
  readonly write?: boolean;
  /** The passwords sent on the connection: masked in whatever the server says. */
  readonly mask?: SecretMask;
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
  if (error instanceof ConnectionFailure) return connectionFailure(error, context, where);
  if (error instanceof ResultCodeError) {
    const rawText = error.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '');
    // The server's words are data: no control character, no secret, no flood reaches the user.
    const serverText = cleanServerText(rawText, context.mask);
    const said = serverText === '' ? '' : ` (server said: ${serverText})`;
    if (context.operation === 'StartTLS') return startTlsRefused(error, said, context);
    if (!SERVER_RESULT_CODES.has(error.code)) {
      return new PrepareError(
        ResultCode.OTHER,
        `The server answered the ${context.operation} of ${where} with result code ${error.code}, which is no LDAP result code (exit 80)${said}`,
        "check the server's error log; a proxy or a broken server may stand between",
        { cause: error },
      );
    }
    if (context.operation === 'SASL EXTERNAL bind' && EXTERNAL_REFUSALS.has(error.code))
      return externalRefused(error, said, context);
    const policyRefusal = refusedByPolicy(error, serverText, context);
    if (policyRefusal !== undefined) return policyRefusal;
    if (
      context.boundDn === undefined &&
      context.operation !== 'bind' &&
      (error.code === ResultCode.INAPPROPRIATE_AUTHENTICATION ||
        error.code === ResultCode.INSUFFICIENT_ACCESS ||
        error.code === ResultCode.UNWILLING_TO_PERFORM)
    ) {
      // Hardened servers (389 DS without anonymous access, slapd's olcRequires authc) answer nobody anonymous.
      return new PrepareError(
        error.code,
        `The server refuses the ${context.operation} of ${where} to an anonymous connection${said}`,
        'give --bindDN and its password (the run binds as the admin before reading)',
        { cause: error },
      );
    }
    switch (error.code) {
      case ResultCode.INVALID_CREDENTIALS: {
        // Active Directory says why in a "data <hex>" sub-code: a right password can still be refused.
        const reason = AD_BIND_REASONS[/\bdata ([0-9a-f]{3,4})\b/i.exec(rawText)?.[1]?.toLowerCase() ?? ''];
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
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (context.socketPath !== undefined) {
    const socketFailure = socketConnectFailure(code, context.socketPath, error);
    if (socketFailure !== undefined) return socketFailure;
  }
  if (code === 'ECONNREFUSED') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `Nothing is listening on ${context.address} (connection refused)`,
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
  if (code === 'ECONNRESET') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `The connection to ${context.address} was reset during the ${context.operation}${maybeMade(context)}`,
      context.operation === 'StartTLS' || context.security === 'ssl'
        ? 'if the port is a plain LDAP port, drop --useSSL (or use --useStartTLS)'
        : 'run the same command again once the server is back: it finishes what is left',
      { cause: error },
    );
  }
  if (code === 'ETIMEDOUT') return connectionFailure(new ConnectionFailure('connect-timeout', message), context, where);
  if (code === 'EPIPE' || code === 'ECONNABORTED') {
    return new PrepareError(
      ResultCode.CONNECT_ERROR,
      `The connection to ${context.address} was lost during the ${context.operation}${maybeMade(context)}`,
      'run the same command again once the server is back: it finishes what is left',
      { cause: error },
    );
  }
  return new PrepareError(
    ResultCode.CONNECT_ERROR,
    `The ${context.operation} of ${where} on ${context.address} failed: ${cleanServerText(message.split('\n', 1)[0] ?? '', context.mask)}`,
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

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** For a write the connection lost: the server may have made it or not. */
function maybeMade(context: ErrorContext): string {
  return context.write === true ? ', so it may or may not have been made' : '';
}

/** How an earlier loss reads inside another sentence. */
function lossWords(reason: unknown): { words: string; code: number } {
  if (reason instanceof ConnectionFailure) {
    switch (reason.kind) {
      case 'operation-timeout':
        return { words: 'an operation got no answer in time', code: ResultCode.TIMEOUT };
      case 'connect-timeout':
        return { words: 'the connect timed out', code: ResultCode.CONNECT_ERROR };
      case 'handshake-stalled':
        return { words: 'the TLS handshake stalled', code: ResultCode.CONNECT_ERROR };
      case 'protocol':
        return { words: `the server ${reason.message}`, code: ResultCode.CONNECT_ERROR };
      case 'closed':
        return { words: 'it was closed', code: ResultCode.CONNECT_ERROR };
      case 'gone':
        return { words: 'it was closed', code: ResultCode.CONNECT_ERROR };
    }
  }
  const code = errorCode(reason);
  return {
    words: code === 'ECONNRESET' ? 'it was reset' : code === '' ? 'a socket error' : `a socket error (${code})`,
    code: ResultCode.CONNECT_ERROR,
  };
}

/** A connection that could not be made, timed out, ended, or broke the protocol: one line, 91 (85 for a timeout). */
function connectionFailure(error: ConnectionFailure, context: ErrorContext, where: string): PrepareError {
  const cause = { cause: error };
  switch (error.kind) {
    case 'connect-timeout':
      return new PrepareError(
        ResultCode.CONNECT_ERROR,
        `Could not connect to ${context.address}: the connect timed out`,
        'check --hostname, --port and the firewall between, or raise --connectTimeout',
        cause,
      );
    case 'handshake-stalled':
      return new PrepareError(
        ResultCode.CONNECT_ERROR,
        `TLS to ${context.address} failed: the handshake stalled (no answer within --connectTimeout)`,
        context.security === 'ssl'
          ? 'check that the port is an LDAPS port (or use --useStartTLS with the LDAP port), or raise --connectTimeout'
          : 'check the server and anything between (a proxy may hold the handshake), or raise --connectTimeout',
        cause,
      );
    case 'operation-timeout':
      return new PrepareError(
        ResultCode.TIMEOUT,
        `${context.address} did not answer the ${context.operation} of ${where} in time${maybeMade(context)}; the connection is closed`,
        'check that the server is healthy, or raise --operationTimeout; a re-run finishes what is left',
        cause,
      );
    case 'closed':
      return new PrepareError(
        ResultCode.CONNECT_ERROR,
        `The connection to ${context.address} was lost during the ${context.operation}${maybeMade(context)}`,
        context.operation === 'StartTLS'
          ? 'if this is an LDAPS port, use --useSSL instead of --useStartTLS'
          : 'run the same command again once the server is back: it finishes what is left',
        cause,
      );
    case 'protocol': {
      const text = error.serverText === undefined ? '' : cleanServerText(error.serverText, context.mask);
      return new PrepareError(
        ResultCode.CONNECT_ERROR,
        `The connection to ${context.address} was stopped during the ${context.operation}: the server ${error.message}${text === '' ? '' : ` (server said: ${text})`}`,
        'nothing more was read or sent on it; check that --hostname and --port name a sane LDAP server and what stands between, then run again',
        cause,
      );
    }
    case 'gone': {
      const earlier = lossWords(error.cause);
      return new PrepareError(
        earlier.code,
        `The ${context.operation} of ${where} was not sent: the connection to ${context.address} ended earlier (${earlier.words}), and this tool never reopens one by itself`,
        'run the same command again: it connects anew (TLS and bind included) and finishes what is left',
        cause,
      );
    }
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
