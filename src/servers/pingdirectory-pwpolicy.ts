/**
 * PingDirectory (and the OpenDS lineage, PingDS/OpenDJ/OUD, which shares these configuration names): which
 * password policy reaches the sync user, and whether it would lock, expire or force a change. Ping documents that the Root Password Policy applies to root DN users and the Default Password Policy
 * to everyone else, unless an entry names its own in `ds-pwp-password-policy-dn` ("Viewing password policies",
 * "Managing password policies", PingDirectory administration guide); the `bypass-pw-policy` privilege has no
 * effect on binds ("Bypassing password policy evaluation"). This tool does not write password policy
 * configuration on PingDirectory: a policy that would stop the sync is said, with what to set by hand. Pure.
 */
import { dnEquals, parentDn } from '../formats/dn.js';
import { firstValue } from '../model/entries.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest } from '../model/plan.js';
import { manual, unchanged } from '../model/steps.js';

export const ROOT_PASSWORD_POLICY_DN = 'cn=Root Password Policy,cn=Password Policies,cn=config';
export const DEFAULT_PASSWORD_POLICY_DN = 'cn=Default Password Policy,cn=Password Policies,cn=config';
export const POLICY_DN_ATTRIBUTE = 'ds-pwp-password-policy-dn';
/** The policy properties that stop a sync account (dsconfig's names, as configuration attributes). */
const POLICY_ATTRIBUTES = [
  'ds-cfg-lockout-failure-count',
  'ds-cfg-max-password-age',
  'ds-cfg-force-change-on-add',
  'ds-cfg-force-change-on-reset',
] as const;

export function pingPasswordPolicyReads(target: PrepareTarget): ReadRequest[] {
  return [
    { dn: target.syncUserDn, attributes: [POLICY_DN_ATTRIBUTE] },
    { dn: ROOT_PASSWORD_POLICY_DN, attributes: [...POLICY_ATTRIBUTES] },
    { dn: DEFAULT_PASSWORD_POLICY_DN, attributes: [...POLICY_ATTRIBUTES] },
  ];
}

/** The password policy named by the account, else the one Ping applies to its kind of account. */
function policyFor(target: PrepareTarget, observed: Observation): string {
  const named = firstValue(observed.entry(target.syncUserDn), POLICY_DN_ATTRIBUTE);
  if (named !== undefined) return named;
  return dnEquals(parentDn(target.syncUserDn) ?? '', 'cn=Root DNs,cn=config')
    ? ROOT_PASSWORD_POLICY_DN
    : DEFAULT_PASSWORD_POLICY_DN;
}

export function planPingPasswordPolicy(target: PrepareTarget, observed: Observation): PlannedStep[] {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const dn = policyFor(target, observed);
  const policy = observed.entry(dn);
  if (policy === undefined) {
    // A policy the account names was not read (only Ping's two defaults are): said, not guessed.
    return [
      manual(head, `'${dn}' not read`, [
        `The password policy '${dn}' applies to the sync user and was not read: check that it has no lockout ` +
          '(lockout-failure-count 0), no max-password-age and no force-change-on-add/reset, or the sync stops when it applies',
      ]),
    ];
  }
  const stops: string[] = [];
  const failures = Number(firstValue(policy, 'ds-cfg-lockout-failure-count') ?? '0');
  if (failures > 0) stops.push(`lockout-failure-count ${failures}`);
  const maxAge = firstValue(policy, 'ds-cfg-max-password-age');
  if (maxAge !== undefined && !/^0\s*[a-z]*$/i.test(maxAge.trim())) stops.push(`max-password-age ${maxAge}`);
  for (const name of ['ds-cfg-force-change-on-add', 'ds-cfg-force-change-on-reset']) {
    if (/^true$/i.test(firstValue(policy, name) ?? '')) stops.push(`${name.slice('ds-cfg-'.length)} true`);
  }
  if (stops.length === 0) return [unchanged(head, `'${dn}': no lockout, no maximum age, no forced change`)];
  return [
    manual(head, `'${dn}' applies: ${stops.join(', ')}`, [
      `The password policy '${dn}' applies to the sync user with ${stops.join(', ')}: a sync engine would be locked ` +
        'out or made to change its password. Create a password policy without them (dsconfig create-password-policy) ' +
        `and name it in the sync user's ${POLICY_DN_ATTRIBUTE}; this tool does not write password policy configuration`,
    ]),
  ];
}
