/**
 * Verification after the writes, as the server now answers: the sync user binds and can read what a sync
 * server will need (change numbers, the change log entry, or DirSync on Active Directory); after --remove,
 * the account is gone. A denied check becomes a warning, not a failure: the writes are already made.
 */
import { normalizeDn } from '../formats/dn.js';
import { createHash } from 'node:crypto';
import { accountStateProblem, isConnectionFailure, PrepareError, ResultCode } from '../model/errors.js';
import { firstValue, valuesOf } from '../model/entries.js';
import type { ServerProfile } from '../servers/profile.js';
import type { ChangeSource, Observation, PlannedStep, PrepareTarget } from '../model/plan.js';
import type { Directory } from '../model/directory.js';
import { bindAsSyncUser, type OpenDirectory, type SyncSession } from './connections.js';
import type { RunReporter } from './ports.js';
import type { Secret } from '../model/secret.js';

/** What the final check found: the change numbers where the family has them, and whether it passed. */
export interface Verdict {
  readonly changeNumbers: { readonly first: string; readonly last: string } | undefined;
  readonly verified: boolean;
}

const PASSED: Verdict = { changeNumbers: undefined, verified: true };
const FAILED: Verdict = { changeNumbers: undefined, verified: false };

/** Binds as the sync user after the changes and checks what a sync server will need of it. */
export async function verifySyncUser(
  open: OpenDirectory,
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  plan: readonly PlannedStep[],
  password: Secret,
  reporter: RunReporter,
  warn: (message: string) => void,
  session?: SyncSession,
  /** The admin connection, for checks a sync user cannot make (a rule in cn=config). */
  admin?: Directory,
): Promise<Verdict> {
  // The access test's connection is reused; it binds again unless it is bound already and nothing was
  // written to the account since (a new password or new privileges take effect at the next bind).
  const directory = session?.directory ?? (await open());
  try {
    const syncUserKey = normalizeDn(target.syncUserDn);
    const accountChanged = plan.some((step) => step.changes.some((change) => normalizeDn(change.dn) === syncUserKey));
    // A state seen at the first bind (must change, expiring) is checked again after the run cleared it.
    const state =
      session?.bound !== true || accountChanged || accountStateProblem(session.accountState) !== undefined
        ? ((await bindAsSyncUser(directory, target.syncUserDn, password)) ?? undefined)
        : session.accountState;
    const problem = accountStateProblem(state);
    if (problem !== undefined) {
      reporter.check(`Testing '${target.syncUserDn}' access`, 'Failed', problem);
      warn(`The sync user cannot work as it is: ${problem}; ${stateFix(profile)}`);
      return FAILED;
    }
    if (target.roles.destination && target.writeProvenOn !== undefined) {
      // A probe here would race the first server's probe arriving by replication (389 DS 2.3's retro changelog
      // answered such an add with 68, then stopped): the rights are the same, compared across the servers.
      reporter.check(
        `Verifying '${target.syncUserDn}' can add and delete an entry`,
        'Done',
        `proven on ${target.writeProvenOn}; the rights are compared across the servers`,
      );
    } else if (target.roles.destination) {
      const probe = await probeWrite(directory, profile, target);
      reporter.check(
        `Verifying '${target.syncUserDn}' can add and delete an entry`,
        probe.ok ? 'Done' : 'Denied',
        probe.detail,
      );
      if (!probe.ok) {
        warn(`The sync user cannot write as a destination: ${probe.detail}`);
        return FAILED;
      }
    }
    if (!target.roles.source) {
      reporter.check(`Testing '${target.syncUserDn}' access`, 'Done');
      return PASSED;
    }
    const changeSource = profile.changeSource?.(target);
    if (changeSource?.dirSync !== undefined) {
      const title = `Verifying '${target.syncUserDn}' can run DirSync on '${changeSource.dn}'`;
      const seen = await dirSyncFinds(directory, changeSource.dn, changeSource.dirSync.filter, target.syncUserDn);
      if (seen.ok) {
        reporter.check(title, 'Done', seen.detail);
        warn(changeSource.note);
        return PASSED;
      }
      reporter.check(title, 'Denied', seen.detail);
      warn(
        `The sync user cannot run DirSync on '${changeSource.dn}' (${seen.detail}): ${profile.explainMissingChangeNumbers(target, observed, plan)}`,
      );
      return FAILED;
    }
    if (changeSource !== undefined) {
      const title = `Verifying '${target.syncUserDn}' can read '${changeSource.dn}'`;
      if ((await directory.read(changeSource.dn, ['objectClass'])) !== undefined) {
        reporter.check(title, 'Done');
        warn(changeSource.note);
        return PASSED;
      }
      if (changeSource.mayNotExistYet !== undefined) {
        const other = await verifyAnotherWay(directory, admin, changeSource.mayNotExistYet);
        if (other.ok) {
          reporter.check(title, 'Empty', other.detail);
          reporter.info(`${changeSource.mayNotExistYet.explanation}; ${other.detail}`);
          warn(changeSource.note);
          return PASSED;
        }
        reporter.check(title, 'Denied', other.detail);
        warn(
          `The sync user cannot read '${changeSource.dn}' (${other.detail}): ${profile.explainMissingChangeNumbers(target, observed, plan)}`,
        );
        return FAILED;
      }
      reporter.check(title, 'Denied');
      warn(
        `The sync user cannot read '${changeSource.dn}': ${profile.explainMissingChangeNumbers(target, observed, plan)}`,
      );
      return FAILED;
    }
    const rootDse = await directory.read('', profile.changeNumberAttributes);
    const [firstName, lastName] = profile.changeNumberAttributes;
    const first = firstValue(rootDse, firstName ?? 'firstChangeNumber');
    const last = firstValue(rootDse, lastName ?? 'lastChangeNumber');
    if (first !== undefined && last !== undefined) {
      // Attributes past the first two (PingDirectory's lastPurgedChangeNumber) are reported when the server shows them.
      const more = profile.changeNumberAttributes.slice(2).flatMap((name) => {
        const value = firstValue(rootDse, name);
        return value === undefined ? [] : [`${name} ${value}`];
      });
      reporter.check(
        `Verifying '${target.syncUserDn}' can read the change numbers`,
        'Done',
        [`first ${first}, last ${last}`, ...more].join(', '),
      );
      if (profile.changelogEntryDn !== undefined) {
        const title = `Verifying '${target.syncUserDn}' can read '${profile.changelogEntryDn}'`;
        const readable = await directory.read(profile.changelogEntryDn, ['objectClass']).catch((error: unknown) => {
          if (error instanceof PrepareError && error.resultCode === ResultCode.INSUFFICIENT_ACCESS) return undefined;
          throw error;
        });
        reporter.check(title, readable === undefined ? 'Denied' : 'Done');
        if (readable === undefined) {
          warn(
            `The sync user cannot read '${profile.changelogEntryDn}': ${profile.explainMissingChangeNumbers(target, observed, plan)}`,
          );
          return { changeNumbers: { first, last }, verified: false };
        }
      }
      return { changeNumbers: { first, last }, verified: true };
    }
    reporter.check(`Verifying '${target.syncUserDn}' can read the change numbers`, 'Denied');
    warn(
      `The sync user cannot read firstChangeNumber/lastChangeNumber in the root DSE: ${profile.explainMissingChangeNumbers(target, observed, plan)}`,
    );
    return FAILED;
  } catch (error) {
    const problem = error instanceof PrepareError ? accountStateProblem(error.accountState) : undefined;
    if (problem !== undefined) {
      reporter.check(`Testing '${target.syncUserDn}' access`, 'Failed', problem);
      warn(`The sync user cannot bind after preparation: ${problem}; ${stateFix(profile)}`);
      return FAILED;
    }
    if (error instanceof PrepareError && error.resultCode === ResultCode.INVALID_CREDENTIALS) {
      reporter.check(`Testing '${target.syncUserDn}' access`, 'Denied');
      warn(`The sync user cannot bind after preparation: check its account status (locked or expired?) on the server`);
      return FAILED;
    }
    throw error;
  } finally {
    // A reused connection is closed by prepareEndpoint.
    if (session === undefined) await directory.close();
  }
}

/** What to do about a password policy state the run could not clear. */
function stateFix(profile: ServerProfile): string {
  return profile.planPasswordPolicy === undefined
    ? `exempt the account from the password policy of ${profile.productName} by hand (no expiry, no lockout, no must-change), clear its state as an administrator, then run this command again`
    : "the password policy still reaches the account: see the run's password policy step, fix what it names, then run this command again (where it exempts the account it also clears the state as the admin; add --resetSyncServerBindPassword if the password is not known)";
}

/**
 * A destination proves it can write by doing it: the sync user adds an entry under each base DN and deletes it
 * again. The probe's name is the sync user's own (a digest of its DN), so a probe that a run stopped between the
 * add and the delete left behind is found by the next run of the same account (its add answers "already
 * exists"), deleted and made again, and two runs of different accounts never touch each other's. Two runs of
 * the same account at once may delete each other's probe: the one whose delete then finds nothing still proved
 * the add, and the other proved the delete. Refused, or not deleted, fails the verification.
 */
async function probeWrite(
  directory: Directory,
  profile: ServerProfile,
  target: PrepareTarget,
): Promise<{ ok: boolean; detail: string }> {
  const name = `${PROBE_PREFIX}${createHash('sha256').update(normalizeDn(target.syncUserDn)).digest('hex').slice(0, 12)}`;
  let leftovers = 0;
  for (const base of target.baseDns) {
    const dn = `cn=${name},${base}`;
    const add = async (): Promise<void> => {
      await directory.apply({ kind: 'add', dn, attributes: probeAttributes(profile, dn) });
    };
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await add();
          break;
        } catch (error) {
          if (!(error instanceof PrepareError) || error.resultCode !== ResultCode.ENTRY_ALREADY_EXISTS || attempt === 3)
            throw error;
          // Left by a run of this account that stopped before its delete (or one running now): made anew.
          await deleteProbe(directory, dn);
          leftovers += 1;
        }
      }
    } catch (error) {
      if (error instanceof PrepareError) return { ok: false, detail: `adding '${dn}' failed: ${error.message}` };
      throw error;
    }
    try {
      await deleteProbe(directory, dn);
      // The probe leaves nothing behind: it is verification, not one of the run's writes ("a second run writes nothing").
      directory.stats.writes -= 2;
    } catch (error) {
      if (error instanceof PrepareError)
        return { ok: false, detail: `deleting the probe entry '${dn}' failed (delete it by hand): ${error.message}` };
      throw error;
    }
  }
  const bases = target.baseDns.length;
  return {
    ok: true,
    detail: `a probe entry added and deleted under ${bases === 1 ? 'the base DN' : `each of ${bases} base DNs`}${leftovers === 0 ? '' : ` (${leftovers} left by an interrupted run replaced)`}`,
  };
}

const PROBE_PREFIX = 'prepare-endpoint-server probe ';

/**
 * Deletes a probe entry; one already gone (another run of the same account deleted it) is no failure. 389 DS
 * answers a delete that meets another one of the same entry with 50, not 32: then the entry must be gone.
 */
async function deleteProbe(directory: Directory, dn: string): Promise<void> {
  try {
    await directory.apply({ kind: 'delete', dn });
  } catch (error) {
    if (!(error instanceof PrepareError)) throw error;
    if (error.resultCode === ResultCode.NO_SUCH_OBJECT) return;
    if (error.resultCode === ResultCode.INSUFFICIENT_ACCESS && (await directory.read(dn, ['1.1'])) === undefined)
      return;
    throw error;
  }
}

function probeAttributes(profile: ServerProfile, dn: string): Record<string, string[]> {
  const cn = dn.slice(3, dn.indexOf(','));
  return profile.probeEntryClasses === undefined
    ? { objectClass: ['top', 'organizationalRole'], cn: [cn] }
    : { objectClass: [...profile.probeEntryClasses], cn: [cn] };
}

/** RFC 4533 Sync Request control (refreshOnly, no cookie): the BER of SEQUENCE { mode ENUMERATED 1 }. */
const SYNC_REFRESH_ONLY = {
  oid: '1.3.6.1.4.1.4203.1.9.1.1',
  critical: true,
  value: Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x01]).toString('base64'),
};

/**
 * For a change source that is empty until the first change: the sync user runs an RFC 4533 refresh of the base
 * (critical, so a server without a provider refuses it), and the admin finds the sync user's read rule in place.
 */
async function verifyAnotherWay(
  directory: Directory,
  admin: Directory | undefined,
  check: NonNullable<ChangeSource['mayNotExistYet']>,
): Promise<{ ok: boolean; detail: string }> {
  try {
    await directory.search(check.refreshBase, 'base', '(objectClass=*)', ['1.1'], { controls: [SYNC_REFRESH_ONLY] });
  } catch (error) {
    // A refused refresh is a verdict; a connection that is gone is not (it stops the run).
    if (error instanceof PrepareError && !isConnectionFailure(error))
      return { ok: false, detail: `an RFC 4533 refresh of '${check.refreshBase}' failed: ${error.message}` };
    throw error;
  }
  if (admin !== undefined) {
    const found = await admin
      .search(check.ruleBase, 'sub', check.ruleFilter, [check.ruleAttribute])
      .catch((error: unknown) => {
        if (isConnectionFailure(error)) throw error;
        return [];
      });
    if (!found.some((entry) => check.hasRule(valuesOf(entry, check.ruleAttribute)))) {
      return {
        ok: false,
        detail: `no read rule for the sync user was found on the entry matching ${check.ruleFilter}`,
      };
    }
  }
  return {
    ok: true,
    detail: `checked instead: the sync user ran an RFC 4533 refresh of '${check.refreshBase}'${admin === undefined ? '' : ' and its read rule on the log database is in place'}`,
  };
}

/**
 * A DirSync search from the start (no cookie), round after round while the server has more, until an entry
 * with the DN wanted shows up: proof that the sync user holds the replication right and sees recent changes.
 */
async function dirSyncFinds(
  directory: Directory,
  base: string,
  filter: string,
  dn: string,
): Promise<{ ok: boolean; detail: string }> {
  const wanted = normalizeDn(dn);
  let cookie: string | undefined;
  try {
    for (let round = 1; round <= 50; round++) {
      const result = await directory.dirSync(base, filter, ['objectClass'], cookie === undefined ? {} : { cookie });
      if (result.entries.some((entry) => normalizeDn(entry.dn) === wanted)) {
        return { ok: true, detail: `the sync user's own entry came back as a change (round ${round})` };
      }
      if (!result.more) return { ok: false, detail: `DirSync answered, but without '${dn}'` };
      cookie = result.cookie;
    }
    return { ok: false, detail: `'${dn}' not seen after 50 DirSync rounds` };
  } catch (error) {
    if (
      error instanceof PrepareError &&
      (error.resultCode === ResultCode.INSUFFICIENT_ACCESS || error.resultCode === ResultCode.UNWILLING_TO_PERFORM)
    ) {
      return { ok: false, detail: `the server said: ${error.message}` };
    }
    throw error;
  }
}

/** After --remove the sync user's entry must be gone (read back as the admin). */
export async function confirmRemoval(
  admin: Directory,
  dn: string,
  reporter: RunReporter,
  warn: (message: string) => void,
): Promise<Verdict> {
  const title = `Verifying '${dn}' is gone`;
  if ((await admin.read(dn, ['objectClass'])) === undefined) {
    reporter.check(title, 'Done');
    return PASSED;
  }
  reporter.check(title, 'Failed');
  warn(`'${dn}' still exists after its removal: check the server's error log`);
  return FAILED;
}
