/**
 * The run's connections: the admin's, opened by the root DSE read that both tests it and feeds detection, and
 * the sync user's, opened by the access test and kept for the final verification. Callers close both.
 */
import type { ConnectionOptions, Directory } from '../model/directory.js';
import { PrepareError, ResultCode } from '../model/errors.js';
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
  };
}

/** Opens another connection of the run: its options and counters are the run's (see RunDependencies.connect). */
export type OpenDirectory = () => Promise<Directory>;

export async function openConnection(
  open: OpenDirectory,
  options: ConnectionOptions,
  reporter: RunReporter,
): Promise<{ directory: Directory; rootDse: Entry | undefined }> {
  const address = `${options.host}:${options.port}`;
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
    await directory.bind(dn, password.reveal());
    reporter.check(`Testing '${dn}' access`, 'Done');
    return { directory, bound: true };
  } catch (error) {
    if (error instanceof PrepareError && isDenial(error.resultCode)) {
      reporter.check(`Testing '${dn}' access`, 'Denied');
      return {
        directory,
        bound: false,
        ...(error.serverMessage === undefined ? {} : { bindDiagnostic: error.serverMessage }),
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
    await session.directory.bind(dn, password.reveal());
    return { directory: session.directory, bound: true };
  } catch (error) {
    if (error instanceof PrepareError && isDenial(error.resultCode)) return session;
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
