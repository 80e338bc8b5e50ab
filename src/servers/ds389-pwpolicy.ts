/**
 * 389 DS: the sync user out of reach of the server's password policy. A password policy of its own (389's
 * user-level local policy: a `passwordPolicy` subentry in `cn=nsPwPolicyContainer` under the account's parent,
 * named by the account's `pwdpolicysubentry`, as `dsconf localpwp adduser` makes it) with expiry, lockout and
 * must-change off, so neither the global policy in cn=config nor a subtree policy reaches it, now or after
 * someone changes them. The account's own state is cleared as the Directory Manager (a `passwordExpirationTime`
 * of 1970 means "must change"; `accountUnlockTime` a lock). Pure planning; ds389.ts wires it into the profile.
 */
import { escapeDnValue, dnEquals, formatDn, parentDn, parseDn } from '../formats/dn.js';
import { firstValue, valuesOf, type Change, type Entry, type Modification } from '../model/entries.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, SyncAccountFacts } from '../model/plan.js';
import { changed, manual, unchanged } from '../model/steps.js';

const CONFIG_DN = 'cn=config';
/** The server-wide switch without which 389 DS ignores every local (subtree and user) password policy. */
export const LOCAL_POLICY_SWITCH = 'nsslapd-pwpolicy-local';
/** The latest date 389 DS writes itself for "never expires" (the 32-bit time_t limit). */
export const NEVER_EXPIRES = '20380119031407Z';

/** The policy settings the sync user's own policy holds: nothing expires, nothing locks, nothing must change. */
export const EXEMPT_POLICY: Readonly<Record<string, string>> = {
  passwordMustChange: 'off',
  passwordExp: 'off',
  passwordLockout: 'off',
};

/** Attributes of the account that carry its password policy state. */
const ACCOUNT_STATE_ATTRIBUTES = [
  'pwdpolicysubentry',
  'passwordExpirationTime',
  'accountUnlockTime',
  'passwordRetryCount',
  'retryCountResetTime',
] as const;

/** `cn=nsPwPolicyContainer` under the account's parent, where 389 keeps local policies. */
export function policyContainerDn(syncUserDn: string): string {
  const parent = parentDn(syncUserDn) ?? '';
  return parent === '' ? 'cn=nsPwPolicyContainer' : `cn=nsPwPolicyContainer,${parent}`;
}

/**
 * The user policy's DN as dsconf spells it: `cn=cn\3DnsPwPolicyEntry_user\2C<account DN>,cn=nsPwPolicyContainer,
 * <parent>`, special characters hex-escaped (389 DS keeps spellings of one DN apart, see core/names.ts).
 */
export function userPolicyDn(syncUserDn: string): string {
  const value = escapeDnValue(policyName(syncUserDn)).replace(
    /\\(.)/gs,
    (_, char: string) => `\\${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return `cn=${value},${policyContainerDn(syncUserDn)}`;
}

/**
 * The policy's name holds the account's DN as text: written in one spelling (RFC 4514, escapes as few as can be),
 * so every spelling of the sync user DN a run settles on names the same policy entry.
 */
function policyName(syncUserDn: string): string {
  return `cn=nsPwPolicyEntry_user,${formatDn(parseDn(syncUserDn))}`;
}

export function passwordPolicyReads(target: PrepareTarget): ReadRequest[] {
  return [
    { dn: CONFIG_DN, attributes: [LOCAL_POLICY_SWITCH] },
    { dn: target.syncUserDn, attributes: [...ACCOUNT_STATE_ATTRIBUTES] },
    { dn: policyContainerDn(target.syncUserDn), attributes: ['objectClass'] },
    { dn: userPolicyDn(target.syncUserDn), attributes: ['objectClass', ...Object.keys(EXEMPT_POLICY)] },
  ];
}

function isOn(value: string | undefined): boolean {
  return value !== undefined && /^(on|true)$/i.test(value.trim());
}

export function plan389PasswordPolicy(
  target: PrepareTarget,
  observed: Observation,
  account: SyncAccountFacts,
): PlannedStep[] {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const policyDn = userPolicyDn(target.syncUserDn);
  const containerDn = policyContainerDn(target.syncUserDn);
  const changes: Change[] = [];
  const done: string[] = [];
  const cautions: string[] = [];

  const localSwitch = firstValue(observed.entry(CONFIG_DN), LOCAL_POLICY_SWITCH);
  if (!isOn(localSwitch)) {
    // Server-wide: said before it is written (the issue's rule for settings someone else may have chosen).
    cautions.push(
      `${LOCAL_POLICY_SWITCH} is '${localSwitch ?? 'off'}' in cn=config: this run turns it on (server-wide), because 389 DS ` +
        "honours a user's own password policy only then; from now on every local (subtree or user) password policy " +
        'already defined under cn=nsPwPolicyContainer entries applies too. Check them with: dsconf <instance> localpwp list',
    );
    changes.push({
      kind: 'modify',
      dn: CONFIG_DN,
      modifications: [{ operation: 'replace', attribute: LOCAL_POLICY_SWITCH, values: ['on'] }],
    });
    done.push(`${LOCAL_POLICY_SWITCH} on (was ${localSwitch ?? 'off'})`);
  }
  if (observed.entry(containerDn) === undefined) {
    changes.push({
      kind: 'add',
      dn: containerDn,
      attributes: { objectClass: ['top', 'nsContainer'], cn: ['nsPwPolicyContainer'] },
    });
  }
  const policy = observed.entry(policyDn);
  if (policy === undefined) {
    changes.push({
      kind: 'add',
      dn: policyDn,
      attributes: {
        objectClass: ['top', 'ldapsubentry', 'passwordpolicy'],
        cn: [policyName(target.syncUserDn)],
        ...Object.fromEntries(Object.entries(EXEMPT_POLICY).map(([name, value]) => [name, [value]])),
      },
    });
    done.push('its own policy added (passwordExp, passwordLockout, passwordMustChange off)');
  } else {
    const modifications: Modification[] = Object.entries(EXEMPT_POLICY)
      .filter(([name, value]) => firstValue(policy, name)?.trim().toLowerCase() !== value)
      .map(([name, value]) => ({ operation: 'replace', attribute: name, values: [value] }));
    if (modifications.length > 0) {
      changes.push({ kind: 'modify', dn: policyDn, modifications });
      done.push(`its policy set back to ${modifications.map((m) => `${m.attribute} off`).join(', ')}`);
    }
  }

  const entry = observed.entry(target.syncUserDn);
  const accountChanges = accountModifications(entry, policyDn, account);
  if (accountChanges.modifications.length > 0) {
    changes.push({ kind: 'modify', dn: target.syncUserDn, modifications: accountChanges.modifications });
    done.push(...accountChanges.done);
  }
  if (changes.length === 0) {
    return [unchanged(head, `own policy ${policyDn}: no expiry, no lockout, no must-change`)];
  }
  return [
    changed(head, policy === undefined ? 'created' : 'updated', done.join('; '), changes, {
      ...(cautions.length > 0 ? { cautions } : {}),
    }),
  ];
}

/** pwdpolicysubentry naming the policy, and the state 389 DS left on the account cleared. */
function accountModifications(
  entry: Entry | undefined,
  policyDn: string,
  account: SyncAccountFacts,
): { modifications: Modification[]; done: string[] } {
  const modifications: Modification[] = [];
  const done: string[] = [];
  // A new account gets the global policy's state at its add (a 1970 expiration time under must-change); a reset
  // may set it again: both are written over blindly, the observation predates them.
  const fresh = entry === undefined || account.created || account.passwordReset;
  const named = valuesOf(entry, 'pwdpolicysubentry');
  if (fresh || named.length !== 1 || !dnEquals(named[0] ?? '', policyDn)) {
    modifications.push({ operation: 'replace', attribute: 'pwdpolicysubentry', values: [policyDn] });
    done.push('pwdpolicysubentry names it');
  }
  const expiration = firstValue(entry, 'passwordExpirationTime');
  // Always the far date, so any run leaves the account alike whatever the global policy did at its add.
  if (fresh || expiration?.trim().toUpperCase() !== NEVER_EXPIRES) {
    modifications.push({ operation: 'replace', attribute: 'passwordExpirationTime', values: [NEVER_EXPIRES] });
    done.push(`passwordExpirationTime ${NEVER_EXPIRES}${expiration === undefined ? '' : ` (was ${expiration})`}`);
  }
  if (firstValue(entry, 'accountUnlockTime') !== undefined) {
    modifications.push({ operation: 'replace', attribute: 'accountUnlockTime', values: [] });
    done.push('lock cleared');
  }
  const retries = firstValue(entry, 'passwordRetryCount');
  if (retries !== undefined && retries.trim() !== '0') {
    modifications.push({ operation: 'replace', attribute: 'passwordRetryCount', values: ['0'] });
    if (firstValue(entry, 'retryCountResetTime') !== undefined)
      modifications.push({ operation: 'replace', attribute: 'retryCountResetTime', values: [] });
    done.push(`failed binds counted back to 0 (were ${retries})`);
  }
  return { modifications, done };
}

/** Sun/Oracle DSEE: its own policy mechanism differs (pwdPolicy per draft-behera); said, not done. */
export function planDseePasswordPolicy(target: PrepareTarget): PlannedStep[] {
  return [
    manual(
      { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` },
      'not set by this tool on DSEE',
      [
        `Exempt '${target.syncUserDn}' from password expiry and lockout by hand: a pwdPolicy entry with pwdMaxAge 0, ` +
          'pwdLockout FALSE and pwdMustChange FALSE named by its pwdPolicySubentry (dsconf create-password-policy / dsadm)',
      ],
    ),
  ];
}

/**
 * `--remove`: the account's own policy goes with the account (the container stays: other local policies may
 * live in it); kept with an account this tool does not delete, which would otherwise fall back to the global one.
 */
export function plan389PasswordPolicyRemoval(
  target: PrepareTarget,
  observed: Observation,
  accountKept: boolean,
): PlannedStep {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const policyDn = userPolicyDn(target.syncUserDn);
  if (observed.entry(policyDn) === undefined) return unchanged(head, 'no policy of its own');
  if (accountKept) return unchanged(head, `own policy ${policyDn} kept with the account`);
  return changed(head, 'updated', `own policy ${policyDn} deleted`, [{ kind: 'delete', dn: policyDn }]);
}
