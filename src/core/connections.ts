/**
 * The run's connections: the admin's, opened by the root DSE read that both tests it and feeds detection, and
 * the sync user's, opened by the access test and kept for the final verification. Callers close both.
 */
import type { AccountPolicyState, ConnectionOptions, Directory } from '../model/directory.js';
import { accountStateProblem, PrepareError, ResultCode } from '../model/errors.js';
import type { Entry } from '../model/entries.js';
import { ROOT_DSE_ATTRIBUTES } from '../servers/detect.js';
import type { RunReporter } from './ports.js';
import type { Settings } from './settings.js';
import type { Secret } from '../model/secret.js';

export function connectionOptions(settings: Settings): ConnectionOptions {
  return {
    host: settings.host,
    port: settings.port,
    security: settings.security,
    trust: settings.trust,
    connectTimeoutMs: settings.connectTimeoutMs,
    operationTimeoutMs: settings.operationTimeoutMs,
    ...(settings.socketPath === undefined ? {} : { socketPath: settings.socketPath }),
    ...(settings.clientCertificate === undefined ? {} : { clientCertificate: settings.clientCertificate }),
  };
}

/** How messages name the server: `host:port`, or the ldapi:// URL of its socket. */
export function serverAddress(options: ConnectionOptions): string {
  return options.socketPath === undefined
    ? `${options.host}:${options.port}`
    : `ldapi://${encodeURIComponent(options.socketPath)}`;
}

/** Opens another connection of the run: its options and counters are the run's (see RunDependencies.connect). */
export type OpenDirectory = () => Promise<Directory>;

export async function openConnection(
  open: OpenDirectory,
  options: ConnectionOptions,
  reporter: RunReporter,
): Promise<{ directory: Directory; rootDse: Entry | undefined }> {
  const address = serverAddress(options);
  let directory: Directory | undefined;
  try {
    directory = await open();
    // ldapts connects on the first operation; the root DSE read is that operation (and proves the server
    // speaks LDAP). It asks for what detection needs, so detection reads nothing more.
    const rootDse = await readRootDseAnonymously(directory);
    reporter.check(`Testing connection to ${address}`, 'Done');
    return { directory, rootDse };
  } catch (error) {
    reporter.check(`Testing connection to ${address}`, 'Failed');
    // Closed on every path: a connection left open keeps the process waiting until the server hangs up.
    await directory?.close();
    throw error;
  }
}

/**
 * The root DSE as an anonymous connection sees it; undefined when the server answers nobody anonymous
 * (389 DS with nsslapd-allow-anonymous-access off says 48, slapd with olcRequires authc 53, others 50): the
 * server did answer, so the connection works, and the run binds as the admin before reading it again.
 */
async function readRootDseAnonymously(directory: Directory): Promise<Entry | undefined> {
  try {
    return await directory.read('', ROOT_DSE_ATTRIBUTES);
  } catch (error) {
    if (
      error instanceof PrepareError &&
      (error.resultCode === ResultCode.INAPPROPRIATE_AUTHENTICATION ||
        error.resultCode === ResultCode.INSUFFICIENT_ACCESS ||
        error.resultCode === ResultCode.UNWILLING_TO_PERFORM)
    )
      return undefined;
    throw error;
  }
}

/** The sync user's own connection: `bound` when the bind of the access test succeeded. */
export interface SyncSession {
  readonly directory: Directory;
  readonly bound: boolean;
  /** Why the bind failed, in the server's words (Active Directory's `data 533` and the like). */
  readonly bindDiagnostic?: string;
  /**
   * What the password policy said at the bind (asked with the password policy request control): a lock, an
   * expired password or one that must be changed, with the bind refused or not; an expiry date ahead.
   */
  readonly accountState?: AccountPolicyState;
}

/** A bind as the sync user, asking the server what its password policy says about the account. */
export function bindAsSyncUser(directory: Directory, dn: string, password: Secret): Promise<AccountPolicyState | void> {
  return directory.bind(dn, password.reveal(), { passwordPolicy: true });
}

/**
 * Binds as the sync user on a connection of its own. Denied is normal before the account exists. The
 * connection stays open for verifySyncUser (the caller closes it); it is closed here only on a failure.
 */
export async function testSyncAccess(
  open: OpenDirectory,
  dn: string,
  password: Secret,
  reporter: RunReporter,
): Promise<SyncSession> {
  const directory = await open();
  try {
    const state = (await bindAsSyncUser(directory, dn, password)) ?? undefined;
    const problem = accountStateProblem(state);
    // A bind that succeeds for an account that must change its password (or is about to expire) is no
    // working sync account: said here, and cleared by the run as the admin.
    reporter.check(`Testing '${dn}' access`, problem === undefined ? 'Done' : 'Denied', problem);
    return { directory, bound: true, ...(state === undefined ? {} : { accountState: state }) };
  } catch (error) {
    if (error instanceof PrepareError && (isDenial(error.resultCode) || error.accountState !== undefined)) {
      const problem = accountStateProblem(error.accountState);
      reporter.check(`Testing '${dn}' access`, 'Denied', problem);
      return {
        directory,
        bound: false,
        ...(error.serverMessage === undefined ? {} : { bindDiagnostic: error.serverMessage }),
        ...(error.accountState === undefined ? {} : { accountState: error.accountState }),
      };
    }
    await directory.close();
    throw error;
  }
}

/**
 * The access test again, on the same connection, for an account that exists now although the first test was
 * denied: another run may have created it in between (its password is then this run's too), or the server
 * binds it only under the spelling it returned.
 */
export async function retestSyncAccess(session: SyncSession, dn: string, password: Secret): Promise<SyncSession> {
  try {
    const state = (await bindAsSyncUser(session.directory, dn, password)) ?? undefined;
    return { directory: session.directory, bound: true, ...(state === undefined ? {} : { accountState: state }) };
  } catch (error) {
    if (error instanceof PrepareError && (isDenial(error.resultCode) || error.accountState !== undefined)) {
      return error.accountState === undefined ? session : { ...session, accountState: error.accountState };
    }
    throw error;
  }
}

/** Result codes that mean "not this account, or not yet". */
function isDenial(code: number): boolean {
  return (
    code === ResultCode.INVALID_CREDENTIALS ||
    code === ResultCode.NO_SUCH_OBJECT ||
    code === ResultCode.INSUFFICIENT_ACCESS ||
    code === ResultCode.INAPPROPRIATE_AUTHENTICATION ||
    code === ResultCode.UNWILLING_TO_PERFORM
  );
}
