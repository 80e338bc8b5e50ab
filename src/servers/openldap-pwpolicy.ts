/**
 * OpenLDAP with the ppolicy overlay: the sync user out of reach of the default (and any other) password policy.
 * A policy entry of its own (slapo-ppolicy(5): `pwdMaxAge: 0` never expires, `pwdLockout: FALSE`,
 * `pwdMustChange: FALSE`) next to the account, named by the account's `pwdPolicySubentry`; the state the overlay
 * left on the account (`pwdAccountLockedTime`, `pwdReset`) is cleared as the admin. The destination sync user
 * may never write a policy: see policyGuardRules. Pure planning; openldap.ts wires it into the profile.
 */
import { dnEquals, escapeDnValue, isWithin, normalizeDn, parentDn, quotableDn } from '../formats/dn.js';
import type { AccountPolicyState } from '../model/directory.js';
import { firstValue, valuesOf, type Change, type Entry, type Modification } from '../model/entries.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, SyncAccountFacts } from '../model/plan.js';
import { changed, unchanged } from '../model/steps.js';

export const SYNC_POLICY_NAME = 'prepare-endpoint-server sync account policy';
const POLICY_DESCRIPTION =
  'Password policy of the sync account: never expires, never locks, never must change (managed by prepare-endpoint-server)';

/** The policy settings: 0 is "never" for the maximum age; no lockout; no change required after a reset. */
export const EXEMPT_POLICY: Readonly<Record<string, string>> = {
  pwdAttribute: 'userPassword',
  pwdMaxAge: '0',
  pwdLockout: 'FALSE',
  pwdMustChange: 'FALSE',
};

const ACCOUNT_STATE_ATTRIBUTES = ['pwdPolicySubentry', 'pwdAccountLockedTime', 'pwdReset'] as const;

/** The sync user's own policy entry: a sibling of the account. */
export function syncPolicyDn(syncUserDn: string): string {
  const parent = parentDn(syncUserDn) ?? '';
  return `cn=${escapeDnValue(SYNC_POLICY_NAME)}${parent === '' ? '' : `,${parent}`}`;
}

export function openLdapPolicyReads(target: PrepareTarget): ReadRequest[] {
  return [
    { dn: target.syncUserDn, attributes: [...ACCOUNT_STATE_ATTRIBUTES] },
    {
      dn: syncPolicyDn(target.syncUserDn),
      attributes: ['objectClass', 'description', ...Object.keys(EXEMPT_POLICY)],
    },
  ];
}

/** What the overlay's attributes on the account say (a lock is told to a bind only with olcPPolicyUseLockout). */
export function observedOpenLdapState(entry: Entry | undefined): AccountPolicyState | undefined {
  if (entry === undefined) return undefined;
  const locked = firstValue(entry, 'pwdAccountLockedTime') !== undefined;
  const reset = /^true$/i.test(firstValue(entry, 'pwdReset')?.trim() ?? '');
  return locked || reset ? { ...(locked ? { locked: true } : {}), ...(reset ? { mustChange: true } : {}) } : undefined;
}

export function planOpenLdapPasswordPolicy(
  target: PrepareTarget,
  observed: Observation,
  account: SyncAccountFacts,
  overlayDn: string | undefined,
): PlannedStep[] {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  if (overlayDn === undefined) {
    return [unchanged(head, 'no ppolicy overlay on the database that holds the account: no password policy applies')];
  }
  const policyDn = syncPolicyDn(target.syncUserDn);
  const changes: Change[] = [];
  const done: string[] = [];
  const policy = observed.entry(policyDn);
  if (policy === undefined) {
    changes.push({
      kind: 'add',
      dn: policyDn,
      attributes: {
        objectClass: ['top', 'organizationalRole', 'pwdPolicy'],
        cn: [SYNC_POLICY_NAME],
        description: [POLICY_DESCRIPTION],
        ...Object.fromEntries(Object.entries(EXEMPT_POLICY).map(([name, value]) => [name, [value]])),
      },
    });
    done.push(`its own policy ${policyDn} added (pwdMaxAge 0, pwdLockout FALSE, pwdMustChange FALSE)`);
  } else {
    const modifications: Modification[] = Object.entries(EXEMPT_POLICY)
      .filter(([name, value]) => firstValue(policy, name)?.trim().toLowerCase() !== value.toLowerCase())
      .map(([name, value]) => ({ operation: 'replace', attribute: name, values: [value] }));
    if (modifications.length > 0) {
      changes.push({ kind: 'modify', dn: policyDn, modifications });
      done.push(`its policy set back to ${modifications.map((m) => `${m.attribute} ${m.values.join('')}`).join(', ')}`);
    }
  }
  const entry = observed.entry(target.syncUserDn);
  const fresh = entry === undefined || account.created || account.passwordReset;
  const modifications: Modification[] = [];
  const named = valuesOf(entry, 'pwdPolicySubentry');
  if (fresh || named.length !== 1 || (named[0] ?? '').toLowerCase() !== policyDn.toLowerCase()) {
    modifications.push({ operation: 'replace', attribute: 'pwdPolicySubentry', values: [policyDn] });
    done.push('pwdPolicySubentry names it');
  }
  // A reset by the admin under a must-change policy sets pwdReset: the observation predates it, so it is cleared blindly.
  if (account.passwordReset || firstValue(entry, 'pwdReset') !== undefined) {
    modifications.push({ operation: 'replace', attribute: 'pwdReset', values: [] });
    done.push('must-change (pwdReset) cleared');
  }
  if (firstValue(entry, 'pwdAccountLockedTime') !== undefined) {
    modifications.push({ operation: 'replace', attribute: 'pwdAccountLockedTime', values: [] });
    done.push('lock (pwdAccountLockedTime) cleared');
  }
  if (modifications.length > 0) changes.push({ kind: 'modify', dn: target.syncUserDn, modifications });
  if (changes.length === 0) return [unchanged(head, `own policy ${policyDn}: no expiry, no lockout, no must-change`)];
  return [changed(head, policy === undefined ? 'created' : 'updated', done.join('; '), changes)];
}

/**
 * What the ppolicy overlay keeps on an account (slapo-ppolicy(5)). Some are NO-USER-MODIFICATION, refused anyway
 * without the Relax control; pwdAccountLockedTime, pwdReset, pwdStartTime and pwdEndTime are not, so a writer
 * could unlock or un-expire any account. All are read-only for the destination sync user.
 */
const POLICY_STATE_ATTRIBUTES = [
  'pwdPolicySubentry',
  'pwdAccountLockedTime',
  'pwdFailureTime',
  'pwdReset',
  'pwdChangedTime',
  'pwdHistory',
  'pwdGraceUseTime',
  'pwdStartTime',
  'pwdEndTime',
  'pwdAccountTmpLockoutEnd',
] as const;

/**
 * The olcAccess rules that keep a destination sync user from every password policy under a base DN, written
 * before its write rule (each `by * break`, so the rules after them still decide for everyone else):
 * - whole pwdPolicy entries (change, delete, add, rename);
 * - an objectClass value pwdPolicy written on any entry (a modify turning an entry it made into a policy);
 * - the `entry` of any entry carrying pwdPolicySubentry: slapd checks an add against `entry` (the filter sees the
 *   new entry) and not its attributes (olcAddContentAcl is off by default), so an added account cannot name a
 *   lockout-free policy; such an entry may still be deleted (`z`), not renamed;
 * - the policy attributes (`@pwdPolicy`) and the overlay's state attributes on any entry;
 * - the `entry` of each ancestor, within the base, of the policies in place (olcPPolicyDefault, every pwdPolicy
 *   entry, the sync user's own): renaming `ou=policies` would leave the default naming nothing, and lockout gone
 *   for the whole database. A policy added later is covered by the next run.
 * It may still read all of them.
 */
export function policyGuardRules(base: string, syncUserDn: string, placedPolicyDns: readonly string[] = []): string[] {
  const sync = `by dn.exact="${quotableDn(syncUserDn)}"`;
  const who = `${sync} read by * break`;
  const where = `dn.subtree="${quotableDn(base)}"`;
  const ancestors = new Map<string, string>();
  for (const policyDn of placedPolicyDns) {
    for (let dn = parentDn(policyDn); dn !== undefined && dn !== '' && isWithin(dn, base); dn = parentDn(dn)) {
      ancestors.set(normalizeDn(dn), dn);
    }
  }
  // In this order (slapd stops at the first rule and clause that match): a policy entry is read-only whole, even
  // when it carries pwdPolicySubentry too.
  return [
    `to ${where} filter=(objectClass=pwdPolicy) ${who}`,
    ...[...ancestors.values()].map((dn) => `to dn.base="${quotableDn(dn)}" attrs=entry ${who}`),
    `to ${where} attrs=objectClass val=pwdPolicy ${who}`,
    `to ${where} attrs=@pwdPolicy,${POLICY_STATE_ATTRIBUTES.join(',')} ${who}`,
    `to ${where} filter=(pwdPolicySubentry=*) attrs=entry ${sync} =rscxdz by * break`,
  ];
}

/** The guard rules an earlier version of this tool wrote: recognised so a run replaces them and --remove removes them. */
function earlierGuardRules(base: string, syncUserDn: string): string[] {
  const who = `by dn.exact="${quotableDn(syncUserDn)}" read by * break`;
  return [`to dn.subtree="${quotableDn(base)}" attrs=@pwdPolicy,pwdPolicySubentry ${who}`];
}

/**
 * This tool's guard rules among a database's olcAccess values for `base` and the sync user (compared as written):
 * today's, an earlier version's, and an ancestor rule for any DN within the base (the default policy may have moved).
 */
export function findGuardRules(
  values: readonly string[],
  base: string,
  syncUserDn: string,
): { value: string; index: number }[] {
  const known = new Set(
    [...policyGuardRules(base, syncUserDn), ...earlierGuardRules(base, syncUserDn)].map(comparableRule),
  );
  const ancestorRule = /^to dn\.base="([^"]*)" attrs=entry by dn\.exact="([^"]*)" read by \* break$/;
  return values.flatMap((value, position) => {
    const match = /^\{(\d+)\}(.*)$/s.exec(value);
    const text = match === null ? value : (match[2] ?? '');
    const index = match === null ? position : Number(match[1]);
    const ancestor = ancestorRule.exec(comparableRule(text));
    const ours =
      known.has(comparableRule(text)) ||
      (ancestor !== null && dnEquals(ancestor[2] ?? '', syncUserDn) && isWithin(ancestor[1] ?? '', base));
    return ours ? [{ value, index }] : [];
  });
}

export function comparableRule(rule: string): string {
  return rule.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** `--remove`: the account's own policy entry goes with the account (only one carrying this tool's description). */
export function planOpenLdapPasswordPolicyRemoval(
  target: PrepareTarget,
  observed: Observation,
  accountKept: boolean,
): PlannedStep {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const policyDn = syncPolicyDn(target.syncUserDn);
  const policy = observed.entry(policyDn);
  if (policy === undefined) return unchanged(head, 'no policy of its own');
  if (accountKept || !valuesOf(policy, 'description').includes(POLICY_DESCRIPTION))
    return unchanged(head, `${policyDn} kept${accountKept ? ' with the account' : ': this tool did not make it'}`);
  return changed(head, 'updated', `own policy ${policyDn} deleted`, [{ kind: 'delete', dn: policyDn }]);
}
