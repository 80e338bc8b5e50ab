/**
 * Active Directory: the sync account out of reach of the domain's lockout and expiry. Its password never expires
 * (DONT_EXPIRE_PASSWORD, set when the account is made), it is never made to change it (pwdLastSet is never 0:
 * a must-change flag is cleared with -1, "now"), and a fine-grained password policy of its own (a PSO,
 * msDS-PasswordSettings in CN=Password Settings Container, MS-ADTS 3.1.1.3.1.5.6; Samba 4.9+) sets no lockout
 * and no maximum age for it alone. Without the container (domain functional level below 2008) the run says
 * which lockout threshold of the domain applies. Pure planning; activedirectory.ts wires it into the profile.
 */
import { dnEquals, escapeDnValue } from '../../formats/dn.js';
import { firstValue, valuesOf, type Change, type Entry, type Modification } from '../../model/entries.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, SyncAccountFacts } from '../../model/plan.js';
import { changed, manual, unchanged } from '../../model/steps.js';

export const PSO_NAME = 'prepare-endpoint-server sync account';
/** Never, in AD's negative 100-nanosecond intervals (what `samba-tool domain passwordsettings pso` writes for 0). */
const NEVER = '-9223372036854775808';
/** 30 minutes: required attributes, unused with a lockout threshold of 0. */
const THIRTY_MINUTES = '-18000000000';

export function psoContainerDn(domainNc: string): string {
  return `CN=Password Settings Container,CN=System,${domainNc}`;
}

export function psoDn(domainNc: string): string {
  return `CN=${escapeDnValue(PSO_NAME)},${psoContainerDn(domainNc)}`;
}

/** The settings that matter to the sync; the password rules are the domain's own (length, complexity, history). */
function wantedSettings(domain: Entry | undefined): Record<string, string> {
  const complexity = (Number(firstValue(domain, 'pwdProperties') ?? '1') & 1) === 1;
  return {
    'msDS-LockoutThreshold': '0',
    'msDS-MaximumPasswordAge': NEVER,
    'msDS-PasswordSettingsPrecedence': '1',
    'msDS-PasswordReversibleEncryptionEnabled': 'FALSE',
    'msDS-PasswordHistoryLength': firstValue(domain, 'pwdHistoryLength') ?? '24',
    'msDS-PasswordComplexityEnabled': complexity ? 'TRUE' : 'FALSE',
    'msDS-MinimumPasswordLength': firstValue(domain, 'minPwdLength') ?? '7',
    'msDS-MinimumPasswordAge': '0',
    'msDS-LockoutObservationWindow': THIRTY_MINUTES,
    'msDS-LockoutDuration': THIRTY_MINUTES,
  };
}

/** Settings a re-run puts back when someone changed them. */
const ENFORCED = ['msDS-LockoutThreshold', 'msDS-MaximumPasswordAge'] as const;

export function passwordSettingsReads(domainNc: string): ReadRequest[] {
  return [
    {
      dn: domainNc,
      attributes: ['lockoutThreshold', 'maxPwdAge', 'minPwdLength', 'pwdProperties', 'pwdHistoryLength'],
    },
    { dn: psoContainerDn(domainNc), attributes: ['objectClass'] },
    { dn: psoDn(domainNc), attributes: ['objectClass', ...ENFORCED, 'msDS-PSOAppliesTo'] },
  ];
}

export function planAdPasswordSettings(
  target: PrepareTarget,
  observed: Observation,
  account: SyncAccountFacts,
  domainNc: string,
): PlannedStep[] {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const changes: Change[] = [];
  const done: string[] = [];
  const warnings: string[] = [];
  const domain = observed.entry(domainNc);
  if (observed.entry(psoContainerDn(domainNc)) === undefined) {
    const threshold = firstValue(domain, 'lockoutThreshold') ?? 'unknown';
    warnings.push(
      `The domain has no '${psoContainerDn(domainNc)}' (fine-grained password policies need the 2008 domain functional ` +
        `level): the domain's lockout threshold (lockoutThreshold ${threshold}) applies to the sync account, so ` +
        `${threshold === '0' ? 'it never locks' : `${threshold} wrong binds by a sync engine with a stale password lock it`}; ` +
        'raise the functional level and run this command again, or watch the account',
    );
  } else {
    const dn = psoDn(domainNc);
    const pso = observed.entry(dn);
    if (pso === undefined) {
      changes.push({
        kind: 'add',
        dn,
        attributes: {
          objectClass: ['top', 'msDS-PasswordSettings'],
          ...Object.fromEntries(Object.entries(wantedSettings(domain)).map(([name, value]) => [name, [value]])),
          'msDS-PSOAppliesTo': [target.syncUserDn],
        },
      });
      done.push(`its own PSO ${dn} added (msDS-LockoutThreshold 0, msDS-MaximumPasswordAge never)`);
    } else {
      const wanted = wantedSettings(domain);
      const modifications: Modification[] = ENFORCED.filter((name) => firstValue(pso, name) !== wanted[name]).map(
        (name) => ({ operation: 'replace', attribute: name, values: [wanted[name] ?? ''] }),
      );
      if (!valuesOf(pso, 'msDS-PSOAppliesTo').some((value) => dnEquals(value, target.syncUserDn))) {
        modifications.push({ operation: 'add', attribute: 'msDS-PSOAppliesTo', values: [target.syncUserDn] });
      }
      if (modifications.length > 0) {
        changes.push({ kind: 'modify', dn, modifications });
        done.push(`its PSO set back (${modifications.map((m) => m.attribute).join(', ')})`);
      }
    }
  }
  const entry = observed.entry(target.syncUserDn);
  const modifications: Modification[] = [];
  const lockout = firstValue(entry, 'lockoutTime');
  if (lockout !== undefined && lockout !== '0') {
    modifications.push({ operation: 'replace', attribute: 'lockoutTime', values: ['0'] });
    done.push('lock cleared (lockoutTime 0)');
  }
  if (firstValue(entry, 'pwdLastSet') === '0' && !account.created) {
    // -1 sets "now": the must-change flag goes, and the password is not made to look expired.
    modifications.push({ operation: 'replace', attribute: 'pwdLastSet', values: ['-1'] });
    done.push('must-change cleared (pwdLastSet -1, never 0)');
  }
  if (modifications.length > 0) changes.push({ kind: 'modify', dn: target.syncUserDn, modifications });
  if (changes.length === 0) {
    return warnings.length > 0
      ? [manual(head, 'domain lockout applies', warnings)]
      : [unchanged(head, `own PSO ${psoDn(domainNc)}: no lockout, no maximum age`)];
  }
  return [changed(head, changes[0]?.kind === 'add' ? 'created' : 'updated', done.join('; '), changes, { warnings })];
}

/**
 * `--remove`: the PSO goes with the account (only the one of this tool's name that applies to it alone); kept
 * with an account this tool keeps.
 */
export function planAdPasswordSettingsRemoval(
  target: PrepareTarget,
  observed: Observation,
  domainNc: string,
  accountKept: boolean,
): PlannedStep {
  const head = { id: 'password-policy', title: `Password policy of '${target.syncUserDn}'` };
  const dn = psoDn(domainNc);
  const pso = observed.entry(dn);
  if (pso === undefined) return unchanged(head, 'no PSO of its own');
  const appliesTo = valuesOf(pso, 'msDS-PSOAppliesTo');
  const onlyOurs = appliesTo.every((value) => dnEquals(value, target.syncUserDn));
  if (accountKept || !onlyOurs)
    return unchanged(head, `${dn} kept${accountKept ? ' with the account' : ': it applies to others too'}`);
  return changed(head, 'updated', `own PSO ${dn} deleted`, [{ kind: 'delete', dn }]);
}
