/**
 * The plan: what the server looks like in, the list of steps (each with its writes) out. Pure, so every
 * decision the tool makes can be tested without a server, and `--dry-run` is the plan printed.
 */
import { accountStateProblem, PrepareError, ResultCode } from '../model/errors.js';
import type { AccountPolicyState } from '../model/directory.js';
import { dnEquals, parentDn } from '../formats/dn.js';
import { valuesOf, type Entry } from '../model/entries.js';
import { SYNC_USER_DESCRIPTION } from '../servers/person.js';
import type { ServerProfile } from '../servers/profile.js';
import type { Observation, PlannedStep, PrepareTarget } from '../model/plan.js';
import { changed, skipped, unchanged } from '../model/steps.js';

export interface SyncUserFacts {
  readonly password: string;
  /** Whether a simple bind with the given password succeeded before anything was changed. */
  readonly canBind: boolean;
  readonly resetPassword: boolean;
  /** What the password policy said at that bind (a lock, an expired password, one to change first). */
  readonly accountState?: AccountPolicyState;
}

/**
 * The account's state keeps the bind from proving the password (locked, expired, must change): the profile's
 * password policy step clears the state as the admin, and the final verification binds with the password.
 */
export function isStuck(state: AccountPolicyState | undefined): boolean {
  return (
    state !== undefined &&
    (state.locked === true ||
      state.expired === true ||
      state.mustChange === true ||
      state.graceLoginsLeft !== undefined)
  );
}

/** The sync user step replaces the password of the existing account (see planSyncUser). */
export function resetsPassword(existing: Entry | undefined, facts: SyncUserFacts): boolean {
  return (
    existing !== undefined &&
    facts.resetPassword &&
    !(facts.canBind && accountStateProblem(facts.accountState) === undefined)
  );
}

export function planPreparation(
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  syncUser: SyncUserFacts,
): PlannedStep[] {
  return [
    planSyncUser(profile, target, observed, syncUser),
    ...profile.planAccess(target, observed),
    ...(target.roles.source ? profile.planChangelog(target, observed) : []),
  ];
}

/** Object classes of entries that can be a bind account (RFC 4519, RFC 2307, cosine, PingDirectory root DN users). */
const ACCOUNT_CLASSES: ReadonlySet<string> = new Set([
  'person',
  'organizationalperson',
  'inetorgperson',
  'simplesecurityobject',
  'account',
  'posixaccount',
  'ds-cfg-user',
  'ds-cfg-root-dn-user',
]);

/** True when the entry is an account; an entry whose object classes were not readable gets the benefit of the doubt. */
function isAccount(entry: Entry): boolean {
  const classes = valuesOf(entry, 'objectClass');
  return classes.length === 0 || classes.some((name) => ACCOUNT_CLASSES.has(name.toLowerCase()));
}

export function planSyncUser(
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  syncUser: SyncUserFacts,
): PlannedStep {
  const dn = target.syncUserDn;
  const id = 'sync-user';
  const title = `Sync user '${dn}'`;
  const existing = observed.entry(dn);
  if (existing !== undefined) {
    if (!isAccount(existing)) {
      throw new PrepareError(
        ResultCode.OBJECT_CLASS_VIOLATION,
        `The sync user DN '${dn}' names an existing entry that is not an account (objectClass ${valuesOf(existing, 'objectClass').join(', ') || 'unknown'})`,
        'choose another --syncServerBindDN: a new entry, or an existing person or simpleSecurityObject',
      );
    }
    const problem = accountStateProblem(syncUser.accountState);
    if (syncUser.canBind && problem === undefined) {
      return unchanged({ id, title }, 'exists and accepts the password');
    }
    if (!syncUser.resetPassword && (syncUser.canBind || isStuck(syncUser.accountState))) {
      // The password policy step clears the state as the admin; the verification then binds with the password.
      return unchanged(
        { id, title },
        `exists${syncUser.canBind ? ' and accepts the password' : ''}; ${problem ?? 'its password policy state'}: cleared by the password policy step`,
      );
    }
    if (!syncUser.resetPassword) {
      throw new PrepareError(
        ResultCode.INVALID_CREDENTIALS,
        `The sync user '${dn}' exists but does not accept the password given`,
        'give its current password, or add --resetSyncServerBindPassword to set the new one',
      );
    }
    return changed({ id, title }, 'updated', 'password reset (--resetSyncServerBindPassword)', [
      {
        kind: 'modify',
        dn,
        modifications: [{ operation: 'replace', attribute: profile.passwordAttribute, values: [syncUser.password] }],
      },
    ]);
  }
  const parent = parentDn(dn);
  if (parent === undefined || parent === '' || observed.entry(parent) === undefined) {
    throw new PrepareError(
      ResultCode.NO_SUCH_OBJECT,
      `Cannot create the sync user '${dn}': its parent entry '${parent ?? ''}' does not exist`,
      'create the parent entry first, or choose another --syncServerBindDN',
    );
  }
  return changed({ id, title }, 'created', 'account added', [
    { kind: 'add', dn, attributes: profile.syncUserEntry(dn, syncUser.password, target) },
  ]);
}

/**
 * The mark of an account this tool created: the `description` value every version writes into the account it
 * adds (and never into an account that existed), on every server family. A person sees it; taking it away
 * keeps the account from --remove, and writing it hands an account over to --remove.
 */
export function isMarkedAccount(entry: Entry): boolean {
  return isAccount(entry) && valuesOf(entry, 'description').includes(SYNC_USER_DESCRIPTION);
}

/** What --remove knows of the sync user's entry beyond the observation: whether entries lie below it. */
export interface RemovalFacts {
  /** Undefined when not looked at (the entry is absent, or not one to delete anyway). */
  readonly hasChildren: boolean | undefined;
}

/**
 * `--remove`: the profile's rights and change log first, the account last (a re-run finishes an interrupted
 * one). The account is deleted only when this tool created it (isMarkedAccount) and nothing lies below it;
 * any other entry is kept, with only the rights taken away, and the run says so.
 */
export function planRemoval(
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  disableChangelog: boolean,
  facts: RemovalFacts = { hasChildren: undefined },
): PlannedStep[] {
  const dn = target.syncUserDn;
  const id = 'sync-user';
  const title = `Sync user '${dn}'`;
  const entry = observed.entry(dn);
  const why = entry === undefined ? undefined : reasonToKeep(entry, facts);
  const account: PlannedStep =
    entry === undefined
      ? unchanged({ id, title }, 'already absent')
      : why === undefined
        ? changed({ id, title }, 'updated', 'account deleted', [{ kind: 'delete', dn }])
        : skipped({ id, title }, `kept: ${why}`, {
            warnings: [
              `'${dn}' was kept, not deleted: ${why}; only the rights this tool granted to it were taken away ` +
                '(settings a run made on the account itself for the sync, such as its search limits, stay: clear them by hand if they should go)',
            ],
          });
  return [...(profile.planRemoval?.(target, observed, disableChangelog, why !== undefined) ?? []), account];
}

function reasonToKeep(entry: Entry, facts: RemovalFacts): string | undefined {
  if (!isAccount(entry)) {
    return `it is not an account (objectClass ${valuesOf(entry, 'objectClass').join(', ') || 'unknown'}), so this tool did not create it`;
  }
  if (!isMarkedAccount(entry)) {
    return `this tool did not create it (it lacks the mark "description: ${SYNC_USER_DESCRIPTION}")`;
  }
  if (facts.hasChildren !== false) {
    return facts.hasChildren === true
      ? 'entries lie below it, and a non-leaf entry is never deleted'
      : 'whether entries lie below it is unknown';
  }
  return undefined;
}

/**
 * The sync user may never be an administrator's account: preparing would reset its password (or create an entry
 * whose password opens a root DN), and --remove would delete it. Checked before any write, on every family,
 * with DNs compared in RFC 4514 form (any case, spacing or escaping).
 */
export function refuseAdministrators(
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  bindDn: string,
  givenSyncUserDn: string,
): void {
  const names = [...new Set([target.syncUserDn, givenSyncUserDn])];
  const aliases = profile.syncUserAliases?.(target, observed) ?? [];
  const hint =
    'choose another --syncServerBindDN: the sync user must be an account of its own, such as cn=Sync User under the base DN';
  if ([...names, ...aliases].some((name) => dnEquals(name, bindDn))) {
    throw new PrepareError(
      ResultCode.PARAM_ERROR,
      `The sync user DN '${givenSyncUserDn}' names the admin's own account (--bindDN '${bindDn}')`,
      hint,
    );
  }
  for (const admin of profile.administratorDns?.(target, observed) ?? []) {
    if ([...names, ...aliases].some((name) => dnEquals(name, admin.dn))) {
      throw new PrepareError(
        ResultCode.PARAM_ERROR,
        `The sync user DN '${givenSyncUserDn}' names the server's administrator (${admin.what})`,
        hint,
      );
    }
  }
}
