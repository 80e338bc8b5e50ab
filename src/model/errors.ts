/**
 * Every failure the tool reports carries an LDAP result code. Ping's tools (and the UnboundID LDAP SDK they
 * are built on) exit with the result code of what went wrong, and scripts already know those numbers, so the
 * one error type of the project lives at the bottom layer where the codes come from.
 */
import type { AccountPolicyState } from './directory.js';

export const ResultCode = {
  SUCCESS: 0,
  OPERATIONS_ERROR: 1,
  /** A search found more entries than this tool reads (or than its caller asked for). */
  SIZE_LIMIT_EXCEEDED: 4,
  /** Not an LDAP meaning: the tool's own unexpected failure, reported with operationsError's 1. */
  UNEXPECTED: 1,
  /** The server wants a stronger bind than a simple one over a plain connection. */
  STRONGER_AUTH_REQUIRED: 8,
  /** The server requires an encrypted connection for the operation (Active Directory passwords). */
  CONFIDENTIALITY_REQUIRED: 13,
  /** A delete of a value that is not there. */
  NO_SUCH_ATTRIBUTE: 16,
  CONSTRAINT_VIOLATION: 19,
  /** An add of a value that is already there. */
  ATTRIBUTE_OR_VALUE_EXISTS: 20,
  NO_SUCH_OBJECT: 32,
  INVALID_DN_SYNTAX: 34,
  INAPPROPRIATE_AUTHENTICATION: 48,
  INVALID_CREDENTIALS: 49,
  INSUFFICIENT_ACCESS: 50,
  /** The server (or here: an entry changing under the run) is busy: try again. */
  BUSY: 51,
  UNWILLING_TO_PERFORM: 53,
  OBJECT_CLASS_VIOLATION: 65,
  ENTRY_ALREADY_EXISTS: 68,
  /** LDAP's "other"; also the exit status of a result code above 255, which a process cannot exit with. */
  OTHER: 80,
  TIMEOUT: 85,
  PARAM_ERROR: 89,
  CONNECT_ERROR: 91,
  /** Not an LDAP code: the shell convention for a process ended by SIGINT (128 + 2). */
  INTERRUPTED: 130,
  /** Not an LDAP code: the shell convention for a process ended by SIGTERM (128 + 15). */
  TERMINATED: 143,
} as const;

export type ResultCodeValue = number;

export class PrepareError extends Error {
  public override readonly name = 'PrepareError';

  /**
   * @param resultCode what the process exits with
   * @param message one line: what failed (never a secret)
   * @param hint one line: what to do about it
   */
  public constructor(
    public readonly resultCode: ResultCodeValue,
    message: string,
    public readonly hint?: string,
    options?: { cause?: unknown; details?: string; serverMessage?: string; accountState?: AccountPolicyState },
  ) {
    super(message, options);
    this.details = options?.details;
    this.serverMessage = options?.serverMessage;
    this.accountState = options?.accountState;
  }

  /** A refused bind: what the password policy said about the account (locked, expired, must change). */
  public readonly accountState: AccountPolicyState | undefined;

  /**
   * The server's own diagnostic text, for callers that read more into it than the result code (Active
   * Directory says why a bind failed: `data 533` is a disabled account, `775` a locked one).
   */
  public readonly serverMessage: string | undefined;

  /** A block printed after the one-line message, such as the LDIF an operator can apply by hand. */
  public readonly details: string | undefined;
}

export function isPrepareError(error: unknown): error is PrepareError {
  return error instanceof PrepareError;
}

/** The signals that stop a run; an AbortSignal's reason is one of them. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * The failure of a run stopped by a signal: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, as a shell reports a
 * process those signals end. `when` completes the sentence: "before all changes were made", "at a prompt".
 */
export function interruption(reason: unknown, when: string): PrepareError {
  const terminated = reason === 'SIGTERM';
  return new PrepareError(
    terminated ? ResultCode.TERMINATED : ResultCode.INTERRUPTED,
    `${terminated ? 'Terminated (SIGTERM)' : 'Interrupted'} ${when}`.trim(),
    'run the same command again: it finishes what is left',
  );
}

/**
 * A failure of the connection itself (it could not be made, ended, timed out, or the run was stopped): never
 * an answer such as "not found" or "not allowed". No server answer carries these codes: the directory adapter
 * turns a server's 85, 89, 91, 130 or 143 into 80.
 */
export function isConnectionFailure(error: unknown): boolean {
  return (
    error instanceof PrepareError &&
    (error.resultCode === ResultCode.CONNECT_ERROR ||
      error.resultCode === ResultCode.TIMEOUT ||
      error.resultCode === ResultCode.INTERRUPTED ||
      error.resultCode === ResultCode.TERMINATED)
  );
}

export function isInterruption(error: unknown): boolean {
  return (
    error instanceof PrepareError &&
    (error.resultCode === ResultCode.INTERRUPTED || error.resultCode === ResultCode.TERMINATED)
  );
}

/**
 * The account state that stops a sync engine, in words, or undefined when there is none: a password to change
 * first, an expired or expiring password, grace logins, a lock. Any of these fails the verification.
 */
export function accountStateProblem(state: AccountPolicyState | undefined): string | undefined {
  if (state === undefined) return undefined;
  if (state.locked === true) return 'the account is locked (too many failed binds)';
  if (state.mustChange === true) return 'the password must be changed before the account can be used';
  if (state.expired === true) return 'the password has expired';
  if (state.graceLoginsLeft !== undefined)
    return `the password has expired (${state.graceLoginsLeft} grace binds left)`;
  if (state.expiresInSeconds !== undefined)
    return `the password expires in ${state.expiresInSeconds} seconds (the password policy still applies to the account)`;
  return undefined;
}
