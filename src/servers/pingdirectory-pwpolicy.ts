/**
 * PingDirectory (and the OpenDS lineage, PingDS/OpenDJ/OUD, which shares these configuration names): the sync user
 * gets a password policy of its own in the server configuration, named by its `ds-pwp-password-policy-dn`.
 * Ping documents that an entry whose `ds-pwp-password-policy-dn` names a valid policy is subject to that policy
 * instead of the Default Password Policy (or the Root Password Policy for root DN users) ("Assigning password
 * policies to users", PingDirectory security guide 10.2; "Assign password policies", PingDS 8: a per-server
 * policy is assigned by that attribute), and that a policy is made with `dsconfig create-password-policy`
 * (password-attribute, default-password-storage-scheme, lockout-failure-count, max-password-age,
 * force-change-on-add, force-change-on-reset: "Creating new password policies"). The configuration entry is
 * written over LDAP with the ds-cfg-* names of those properties (inferred from the configuration's naming rule,
 * property `x-y` is attribute `ds-cfg-x-y`). Writing under cn=config needs config-write, which no sync user
 * this tool makes holds, so it cannot weaken or repoint the policy. Pure.
 */
import { dnEquals, escapeDnValue, firstRdn } from '../formats/dn.js';
import { firstValue, type Change, type Modification } from '../model/entries.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest } from '../model/plan.js';
import { changed, unchanged } from '../model/steps.js';

export const POLICIES_DN = 'cn=Password Policies,cn=config';
export const ROOT_PASSWORD_POLICY_DN = `cn=Root Password Policy,${POLICIES_DN}`;
export const DEFAULT_PASSWORD_POLICY_DN = `cn=Default Password Policy,${POLICIES_DN}`;
export const POLICY_DN_ATTRIBUTE = 'ds-pwp-password-policy-dn';
const STORAGE_SCHEME_ATTRIBUTE = 'ds-cfg-default-password-storage-scheme';
/** PingDirectory's default storage scheme, used when the Default Password Policy cannot be read. */
const FALLBACK_STORAGE_SCHEME = 'cn=Salted SHA256,cn=Password Storage Schemes,cn=config';
/** The suffix that marks a policy as this tool's (the configuration has no free-text mark to carry). */
export const SYNC_POLICY_SUFFIX = 'Password Policy (prepare-endpoint-server)';

/** The exempting settings: no lockout, no forced change; max-password-age is left unset (no expiry). */
export const EXEMPT_SETTINGS: Readonly<Record<string, string>> = {
  'ds-cfg-lockout-failure-count': '0',
  'ds-cfg-force-change-on-add': 'false',
  'ds-cfg-force-change-on-reset': 'false',
};
const MAX_AGE_ATTRIBUTE = 'ds-cfg-max-password-age';

/** What differs between the PingDirectory and the PingDS/OpenDJ configuration entry of a password policy. */
export interface PolicyFlavor {
  readonly objectClasses: readonly string[];
  readonly extra: Readonly<Record<string, string>>;
}
export const PINGDIRECTORY_POLICY: PolicyFlavor = { objectClasses: ['top', 'ds-cfg-password-policy'], extra: {} };
/** OpenDJ 2.5+ / PingDS: a password policy is an authentication policy made by PasswordPolicyFactory (config.ldif). */
export const OPENDJ_POLICY: PolicyFlavor = {
  objectClasses: ['top', 'ds-cfg-authentication-policy', 'ds-cfg-password-policy'],
  extra: { 'ds-cfg-java-class': 'org.opends.server.core.PasswordPolicyFactory' },
};

/** The sync user's own policy: `cn=<its RDN value> Password Policy (prepare-endpoint-server)`. */
export function syncPolicyDn(syncUserDn: string): string {
  const label = firstRdn(syncUserDn)[0]?.value ?? 'Sync User';
  return `cn=${escapeDnValue(`${label} ${SYNC_POLICY_SUFFIX}`)},${POLICIES_DN}`;
}

export function pingPasswordPolicyReads(target: PrepareTarget): ReadRequest[] {
  return [
    { dn: target.syncUserDn, attributes: [POLICY_DN_ATTRIBUTE] },
    {
      dn: syncPolicyDn(target.syncUserDn),
      attributes: ['objectClass', MAX_AGE_ATTRIBUTE, ...Object.keys(EXEMPT_SETTINGS)],
    },
    { dn: DEFAULT_PASSWORD_POLICY_DN, attributes: [STORAGE_SCHEME_ATTRIBUTE] },
  ];
}

/** --remove reads the account's policy pointer and the policy, to delete the policy with the account. */
export function pingPasswordPolicyRemovalReads(target: PrepareTarget): ReadRequest[] {
  return [
    { dn: target.syncUserDn, attributes: [POLICY_DN_ATTRIBUTE] },
    { dn: syncPolicyDn(target.syncUserDn), attributes: ['objectClass', 'cn'] },
  ];
}

export function planPingPasswordPolicy(
  target: PrepareTarget,
  observed: Observation,
  flavor: PolicyFlavor = PINGDIRECTORY_POLICY,
): PlannedStep[] {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const policyDn = syncPolicyDn(target.syncUserDn);
  const policy = observed.entry(policyDn);
  const changes: Change[] = [];
  const done: string[] = [];
  if (policy === undefined) {
    const scheme = firstValue(observed.entry(DEFAULT_PASSWORD_POLICY_DN), STORAGE_SCHEME_ATTRIBUTE);
    changes.push({
      kind: 'add',
      dn: policyDn,
      attributes: {
        objectClass: [...flavor.objectClasses],
        cn: [firstRdn(policyDn)[0]?.value ?? ''],
        ...Object.fromEntries(Object.entries(flavor.extra).map(([name, value]) => [name, [value]])),
        'ds-cfg-password-attribute': ['userPassword'],
        [STORAGE_SCHEME_ATTRIBUTE]: [scheme ?? FALLBACK_STORAGE_SCHEME],
        ...Object.fromEntries(Object.entries(EXEMPT_SETTINGS).map(([name, value]) => [name, [value]])),
      },
    });
    done.push(
      `its own policy '${policyDn}' added (lockout-failure-count 0, no max-password-age, force-change-on-add/reset false)`,
    );
  } else {
    const modifications: Modification[] = Object.entries(EXEMPT_SETTINGS)
      .filter(([name, value]) => firstValue(policy, name)?.trim().toLowerCase() !== value)
      .map(([name, value]) => ({ operation: 'replace', attribute: name, values: [value] }));
    const maxAge = firstValue(policy, MAX_AGE_ATTRIBUTE);
    if (maxAge !== undefined && !/^0\s*[a-z]*$/i.test(maxAge.trim())) {
      modifications.push({ operation: 'replace', attribute: MAX_AGE_ATTRIBUTE, values: [] });
    }
    if (modifications.length > 0) {
      changes.push({ kind: 'modify', dn: policyDn, modifications });
      done.push(
        `its policy set back: ${modifications.map((m) => `${m.attribute.slice('ds-cfg-'.length)} ${m.values.join('') || 'unset'}`).join(', ')}`,
      );
    }
  }
  const named = firstValue(observed.entry(target.syncUserDn), POLICY_DN_ATTRIBUTE);
  if (named === undefined || !dnEquals(named, policyDn)) {
    changes.push({
      kind: 'modify',
      dn: target.syncUserDn,
      modifications: [{ operation: 'replace', attribute: POLICY_DN_ATTRIBUTE, values: [policyDn] }],
    });
    done.push(`${POLICY_DN_ATTRIBUTE} names it${named === undefined ? '' : ` (was '${named}')`}`);
  }
  if (changes.length === 0) {
    return [unchanged(head, `own policy '${policyDn}': no lockout, no maximum age, no forced change`)];
  }
  return [changed(head, policy === undefined ? 'created' : 'updated', done.join('; '), changes)];
}

/**
 * `--remove`: the account's own policy goes with the account, when the account is deleted and names it (a
 * policy with this tool's name that the account does not name is someone else's, or another account's).
 */
export function planPingPasswordPolicyRemoval(
  target: PrepareTarget,
  observed: Observation,
  accountKept: boolean,
): PlannedStep[] {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const policyDn = syncPolicyDn(target.syncUserDn);
  if (observed.entry(policyDn) === undefined) return [unchanged(head, 'no policy of its own')];
  const named = firstValue(observed.entry(target.syncUserDn), POLICY_DN_ATTRIBUTE);
  if (accountKept || named === undefined || !dnEquals(named, policyDn)) {
    return [
      unchanged(head, `'${policyDn}' kept${accountKept ? ' with the account' : ': the account does not name it'}`),
    ];
  }
  return [changed(head, 'updated', `'${policyDn}' deleted with the account`, [{ kind: 'delete', dn: policyDn }])];
}
