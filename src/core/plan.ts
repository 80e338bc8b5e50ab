/**
 * The plan: what the server looks like in, the list of steps (each with its writes) out. Pure, so every
 * decision the tool makes can be tested without a server, and `--dry-run` is the plan printed.
 */
import { PrepareError, ResultCode } from '../ldap/errors.js';
import { parentDn } from '../ldap/dn.js';
import { valuesOf, type Entry } from '../ldap/types.js';
import type { Observation, PlannedStep, PrepareTarget, ServerProfile } from '../servers/profile.js';

export interface SyncUserFacts {
  readonly password: string;
  /** Whether a simple bind with the given password succeeded before anything was changed. */
  readonly canBind: boolean;
  readonly resetPassword: boolean;
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
  'person', 'organizationalperson', 'inetorgperson', 'simplesecurityobject', 'account', 'posixaccount',
  'ds-cfg-user', 'ds-cfg-root-dn-user',
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
    if (syncUser.canBind) {
      return { id, title, status: 'unchanged', detail: 'exists and accepts the password', changes: [], warnings: [] };
    }
    if (!syncUser.resetPassword) {
      throw new PrepareError(
        ResultCode.INVALID_CREDENTIALS,
        `The sync user '${dn}' exists but does not accept the password given`,
        'give its current password, or add --resetSyncServerBindPassword to set the new one',
      );
    }
    return {
      id,
      title,
      status: 'updated',
      detail: 'password reset (--resetSyncServerBindPassword)',
      changes: [{
        kind: 'modify',
        dn,
        modifications: [{ operation: 'replace', attribute: profile.passwordAttribute, values: [syncUser.password] }],
      }],
      warnings: [],
    };
  }
  const parent = parentDn(dn);
  if (parent === undefined || parent === '' || observed.entry(parent) === undefined) {
    throw new PrepareError(
      ResultCode.NO_SUCH_OBJECT,
      `Cannot create the sync user '${dn}': its parent entry '${parent ?? ''}' does not exist`,
      'create the parent entry first, or choose another --syncServerBindDN',
    );
  }
  return {
    id,
    title,
    status: 'created',
    detail: 'account added',
    changes: [{ kind: 'add', dn, attributes: profile.syncUserEntry(dn, syncUser.password, target) }],
    warnings: [],
  };
}

/** `--remove`: the profile's rights and change log first, the account last (a re-run finishes an interrupted one). */
export function planRemoval(
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  disableChangelog: boolean,
): PlannedStep[] {
  const dn = target.syncUserDn;
  const exists = observed.entry(dn) !== undefined;
  return [
    ...(profile.planRemoval?.(target, observed, disableChangelog) ?? []),
    exists
      ? { id: 'sync-user', title: `Sync user '${dn}'`, status: 'updated', detail: 'account deleted', changes: [{ kind: 'delete', dn }], warnings: [] }
      : { id: 'sync-user', title: `Sync user '${dn}'`, status: 'unchanged', detail: 'already absent', changes: [], warnings: [] },
  ];
}
