/**
 * The OpenDS lineage: PingDS (formerly ForgeRock Directory Services), OpenDJ and Oracle Unified Directory. The
 * sync user is an ordinary entry under the base DN; its rights are privileges on that entry (`ds-privilege-name`)
 * and ACIs: global ACIs in the access control handler's configuration for the root DSE change numbers,
 * `cn=changelog` and the external changelog control, ACIs on the base DNs for the data. The change log is the
 * external changelog of a replication server, configured in `cn=config` as `dsconfig` would.
 */
import {
  OPENDJ_POLICY,
  pingPasswordPolicyReads,
  pingPasswordPolicyRemovalReads,
  planPingPasswordPolicy,
  planPingPasswordPolicyRemoval,
} from './pingdirectory-pwpolicy.js';
import { OpenDjTopologyReading } from './opendj-topology.js';
import { formatSpaced, parseServerDuration } from '../formats/duration.js';
import { dnEquals, isWithin, parentDn } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import type { Change, Entry } from '../model/entries.js';
import { firstValue, valuesOf } from '../model/entries.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, RoleSet, SearchRequest } from '../model/plan.js';
import { changed, manual, unchanged } from '../model/steps.js';
import { isOurAci, planAciRemoval, planAcis, type AciSpec } from './aci.js';
import { personEntry, syncUserUnderBase } from './person.js';
import type { ServerProfile } from './profile.js';
import { decideRetention, KEPT_NOTE, wantedRetention } from './retention.js';

export type OpenDjFamily = 'pingds' | 'opendj' | 'oud';

export const ACCESS_CONTROL_HANDLER_DN = 'cn=Access Control Handler,cn=config';
export const GLOBAL_ACI_ATTRIBUTE = 'ds-cfg-global-aci';
export const PROVIDER_DN = 'cn=Multimaster Synchronization,cn=Synchronization Providers,cn=config';
export const REPLICATION_SERVER_DN = `cn=replication server,${PROVIDER_DN}`;
export const DOMAINS_DN = `cn=domains,${PROVIDER_DN}`;
export const DEFAULT_PASSWORD_POLICY_DN = 'cn=Default Password Policy,cn=Password Policies,cn=config';
export const CHANGELOG_DN = 'cn=changelog';

/** PingDS 7+: `disabled`, `enabled` or `enabled-cookie-mode-only` (the default: no change numbers). */
export const CHANGELOG_ENABLED_ATTRIBUTE = 'ds-cfg-changelog-enabled';
/** OpenDJ 3/4 and OUD: whether the replication server computes change numbers (true by default). */
export const COMPUTE_CHANGE_NUMBER_ATTRIBUTE = 'ds-cfg-compute-change-number';
export const PURGE_DELAY_ATTRIBUTE = 'ds-cfg-replication-purge-delay';
/** PingDS 7+ replication domain: attributes a delete's record keeps. */
export const ECL_INCLUDE_FOR_DELETES_ATTRIBUTE = 'ds-cfg-ecl-include-for-deletes';
/** External changelog domain (OpenDJ 3/4, ForgeRock DS 6, OUD): attributes every record keeps. */
export const ECL_INCLUDE_ATTRIBUTE = 'ds-cfg-ecl-include';
export const PRIVILEGE_ATTRIBUTE = 'ds-privilege-name';
const ALLOW_PRE_ENCODED_ATTRIBUTE = 'ds-cfg-allow-pre-encoded-passwords';
const DOMAINS_SEARCH = 'opendj:domains';

/** The external changelog request control (ECL cookie exchange), which `targetcontrol="Ecl"` names on PingDS. */
export const ECL_CONTROL_OID = '1.3.6.1.4.1.26027.1.5.4';
/** Root DSE attributes a changelog reader needs, as PingDS documents its global ACI. */
export const ROOT_DSE_CHANGELOG_ATTRIBUTES = [
  'changeLog',
  'firstChangeNumber',
  'lastChangeNumber',
  'lastExternalChangeLogCookie',
] as const;

/** Per-user resource limits on the account (0: no limit): a full resync reads every entry, a sync sits idle between polls. */
export const RESOURCE_LIMITS: Readonly<Record<string, string>> = {
  'ds-rlim-size-limit': '0',
  'ds-rlim-time-limit': '0',
  'ds-rlim-lookthrough-limit': '0',
  'ds-rlim-idle-time-limit': '0',
};

/**
 * Privileges per role. None of them lets the account change access control (`modify-acl`, `bypass-acl`), the
 * configuration (`config-write`) or privileges (`privilege-change`).
 */
export const SOURCE_PRIVILEGES = ['changelog-read', 'unindexed-search'] as const;
export const DESTINATION_PRIVILEGES = ['password-reset', 'unindexed-search'] as const;

export function privilegesFor(roles: RoleSet): string[] {
  return [
    ...new Set([...(roles.source ? SOURCE_PRIVILEGES : []), ...(roles.destination ? DESTINATION_PRIVILEGES : [])]),
  ];
}

const READ_RIGHTS = ['read', 'search', 'compare'];
/** Adds, modifies, deletes, and renames within (write) and across parents (import, export). */
const WRITE_RIGHTS = ['read', 'search', 'compare', 'add', 'delete', 'write', 'import', 'export'];

/** dsconfig's names for the family, for the commands the run prints. */
const PRODUCT_NAMES: Readonly<Record<OpenDjFamily, string>> = {
  pingds: 'PingDS (ForgeRock Directory Services)',
  opendj: 'OpenDJ',
  oud: 'Oracle Unified Directory',
};

export class OpenDjProfile implements ServerProfile {
  public readonly productName: string;
  public readonly baseDnAttributes = ['objectClass', 'aci'] as const;
  public readonly passwordAttribute = 'userPassword';
  public readonly changeNumberAttributes = ['firstChangeNumber', 'lastChangeNumber'] as const;
  /** Root DSE numbers come through a global ACI; the records themselves need changelog-read too: both are checked. */
  public readonly changelogEntryDn = CHANGELOG_DN;
  public readonly topology = new OpenDjTopologyReading();

  public constructor(public readonly family: OpenDjFamily) {
    this.productName = PRODUCT_NAMES[family];
  }

  public defaultSyncUserDn(baseDns: readonly string[]): string {
    // Ping's documentation: on OUD, OpenDJ and PingDS the account lives under the base DN.
    return syncUserUnderBase(baseDns);
  }

  public reads(target: PrepareTarget): ReadRequest[] {
    return [
      {
        dn: target.syncUserDn,
        attributes: ['objectClass', 'description', PRIVILEGE_ATTRIBUTE, ...Object.keys(RESOURCE_LIMITS)],
      },
      // Read on every run: an admin that cannot read the configuration stops the run here (exit 50), before any write.
      { dn: ACCESS_CONTROL_HANDLER_DN, attributes: [GLOBAL_ACI_ATTRIBUTE] },
      ...(target.removing === true ? pingPasswordPolicyRemovalReads(target) : pingPasswordPolicyReads(target)),
      ...(target.roles.source
        ? [
            {
              dn: REPLICATION_SERVER_DN,
              attributes: [
                'objectClass',
                CHANGELOG_ENABLED_ATTRIBUTE,
                COMPUTE_CHANGE_NUMBER_ATTRIBUTE,
                PURGE_DELAY_ATTRIBUTE,
              ],
            },
          ]
        : []),
      ...(target.roles.destination
        ? [{ dn: DEFAULT_PASSWORD_POLICY_DN, attributes: [ALLOW_PRE_ENCODED_ATTRIBUTE] }]
        : []),
    ];
  }

  public searches(target: PrepareTarget): SearchRequest[] {
    if (!target.roles.source) return [];
    return [
      {
        key: DOMAINS_SEARCH,
        base: DOMAINS_DN,
        scope: 'sub',
        filter: '(objectClass=*)',
        attributes: ['objectClass', 'ds-cfg-base-dn', ECL_INCLUDE_ATTRIBUTE, ECL_INCLUDE_FOR_DELETES_ATTRIBUTE],
      },
    ];
  }

  /** A source must be a replication server: only those keep the external changelog. Checked before any write. */
  public vetTarget(target: PrepareTarget, observed: Observation): string[] {
    if (target.roles.source && target.removing !== true && observed.entry(REPLICATION_SERVER_DN) === undefined) {
      throw new PrepareError(
        ResultCode.UNWILLING_TO_PERFORM,
        `This ${this.productName} server is not a replication server ('${REPLICATION_SERVER_DN}' does not exist), so it keeps no cn=changelog to read changes from`,
        this.family === 'pingds'
          ? 'make it a replication server (setup --replicationPort 8989, or dsconfig create-replication-server --provider-name "Multimaster Synchronization" --set replication-port:8989 --set bootstrap-replication-server:<host>:8989), then run this command again; nothing was changed'
          : 'enable replication with a replication server on this server (dsreplication enable without --noReplicationServer), then run this command again; nothing was changed',
      );
    }
    return [];
  }

  public syncUserEntry(dn: string, password: string, target: PrepareTarget): Record<string, string[]> {
    const limits = Object.fromEntries(Object.entries(RESOURCE_LIMITS).map(([name, value]) => [name, [value]]));
    return { ...personEntry(dn, password), ...limits, [PRIVILEGE_ATTRIBUTE]: privilegesFor(target.roles) };
  }

  /**
   * A per-server password policy of the sync user's own (no lockout, no maximum age, no forced change), named by
   * its `ds-pwp-password-policy-dn` (PingDS "Assign password policies"); writing it needs config-write, which the
   * sync user lacks, and the destination ACI (`targetattr != aci`) covers user attributes only, not that
   * operational attribute.
   */
  public planPasswordPolicy(target: PrepareTarget, observed: Observation): PlannedStep[] {
    return planPingPasswordPolicy(target, observed, OPENDJ_POLICY);
  }

  public planAccess(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const steps = [planPrivileges(target, observed), planResourceLimits(target, observed)];
    for (const base of target.baseDns) {
      const acis = valuesOf(observed.entry(base), 'aci');
      const specs = [
        ...(target.roles.source ? [sourceReadAci(target.syncUserDn)] : []),
        ...(target.roles.destination ? [destinationWriteAci(target.syncUserDn)] : []),
      ];
      steps.push(planAcis(`aci:${base}`, `Access for the sync user on '${base}'`, base, acis, specs));
    }
    if (target.roles.source) {
      const global = valuesOf(observed.entry(ACCESS_CONTROL_HANDLER_DN), GLOBAL_ACI_ATTRIBUTE);
      steps.push(
        onGlobalAcis(
          planAcis(
            'global-aci',
            'Change log access for the sync user (global ACIs)',
            ACCESS_CONTROL_HANDLER_DN,
            global,
            changelogAcis(target.syncUserDn),
          ),
        ),
      );
    }
    if (target.roles.destination) steps.push(this.planPreEncodedPasswords(observed));
    return steps;
  }

  /**
   * The family has no per-writer setting for pre-encoded passwords: `allow-pre-encoded-passwords` belongs to the
   * password policy of the entries written, so turning it on lets every writer set hashes. The run says so and
   * prints the command; it never changes a password policy itself.
   */
  private planPreEncodedPasswords(observed: Observation): PlannedStep {
    const head = { id: 'pre-encoded-passwords', title: 'Pre-encoded passwords on the destination' };
    const policy = observed.entry(DEFAULT_PASSWORD_POLICY_DN);
    if (/^true$/i.test(firstValue(policy, ALLOW_PRE_ENCODED_ATTRIBUTE)?.trim() ?? '')) {
      return unchanged(head, 'allow-pre-encoded-passwords is true in the Default Password Policy');
    }
    return manual(head, 'not changed: the setting is not per account', [
      `${this.productName} accepts a pre-hashed userPassword only where the entry's password policy has allow-pre-encoded-passwords:true, ` +
        'a setting for every writer, not for the sync user alone, so this tool leaves it to you. If the sync carries password hashes, run: ' +
        'dsconfig set-password-policy-prop --policy-name "Default Password Policy" --set allow-pre-encoded-passwords:true ' +
        '(and the same for any other policy that governs synchronized entries)',
    ]);
  }

  public currentChangelogMaxAge(_target: PrepareTarget, observed: Observation): number | undefined {
    const text = firstValue(observed.entry(REPLICATION_SERVER_DN), PURGE_DELAY_ATTRIBUTE);
    const seconds = text === undefined ? undefined : parseServerDuration(text);
    return seconds === undefined || seconds <= 0 ? undefined : seconds;
  }

  public planChangelog(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const head = { id: 'changelog', title: 'Enabling cn=changelog (change numbers)' };
    const server = observed.entry(REPLICATION_SERVER_DN);
    if (server === undefined)
      return [
        manual(head, 'not a replication server', [
          'This server keeps no external changelog: make it a replication server',
        ]),
      ];
    const modifications: { operation: 'replace'; attribute: string; values: string[] }[] = [];
    const notes: string[] = [];
    const mode = firstValue(server, CHANGELOG_ENABLED_ATTRIBUTE)?.trim();
    const compute = firstValue(server, COMPUTE_CHANGE_NUMBER_ATTRIBUTE)?.trim();
    if (mode !== undefined) {
      if (mode.toLowerCase() === 'enabled') notes.push('changelog-enabled enabled');
      else {
        modifications.push({ operation: 'replace', attribute: CHANGELOG_ENABLED_ATTRIBUTE, values: ['enabled'] });
        notes.push(`changelog-enabled enabled, was ${mode}`);
      }
    } else if (compute !== undefined && !/^true$/i.test(compute)) {
      modifications.push({ operation: 'replace', attribute: COMPUTE_CHANGE_NUMBER_ATTRIBUTE, values: ['true'] });
      notes.push(`compute-change-number true, was ${compute}`);
    } else {
      notes.push('change numbers computed');
    }
    const currentText = firstValue(server, PURGE_DELAY_ATTRIBUTE);
    const retention = decideRetention(this.currentChangelogMaxAge(target, observed), wantedRetention(target));
    const wanted = formatSpaced(retention.seconds);
    const warnings = retention.warning === undefined ? [] : [retention.warning];
    if (retention.change) {
      modifications.push({ operation: 'replace', attribute: PURGE_DELAY_ATTRIBUTE, values: [wanted] });
      notes.push(`replication-purge-delay '${wanted}', was '${currentText ?? 'unset'}'`);
      warnings.push(
        `replication-purge-delay also governs replication and must be the same on every replication server of the topology: on each other one, run dsconfig set-replication-server-prop --provider-name "Multimaster Synchronization" --set "replication-purge-delay:${wanted}"`,
      );
    } else {
      notes.push(`replication-purge-delay '${currentText ?? wanted}'${retention.kept ? `, ${KEPT_NOTE}` : ''}`);
    }
    const records = target.baseDns.map((base) => this.planDeletedEntryAttributes(target, observed, base));
    if (modifications.length === 0) return [unchanged(head, notes.join(', '), { warnings }), ...records];
    const change: Change = { kind: 'modify', dn: server.dn, modifications };
    return [changed(head, 'updated', notes.join(', '), [change], { warnings }), ...records];
  }

  /**
   * Records of deletes carry objectClass (and `--changelogDeletedEntryAttribute`): otherwise a delete records only
   * the DN, and Sync Classes with include filters miss it. PingDS 7+ keeps `ecl-include-for-deletes` on the
   * replication domain; OpenDJ 3/4, ForgeRock DS 6 and OUD have only `ecl-include` (every record) on the
   * domain's external changelog domain entry. Others' values stay.
   */
  private planDeletedEntryAttributes(target: PrepareTarget, observed: Observation, base: string): PlannedStep {
    const head = {
      id: `changelog:records:${base}`,
      title: `Attributes kept in change records of deletes under '${base}'`,
    };
    const found = observed.found(DOMAINS_SEARCH);
    const hasClass = (entry: Entry, name: string): boolean =>
      valuesOf(entry, 'objectClass').some((value) => value.toLowerCase() === name);
    const domain = found.find(
      (entry) =>
        hasClass(entry, 'ds-cfg-replication-domain') &&
        valuesOf(entry, 'ds-cfg-base-dn').some((domainBase) => safeWithin(base, domainBase)),
    );
    if (domain === undefined) {
      return manual(head, 'not replicated here', [
        `No replication domain on this server covers '${base}', so the changelog records no change under it: ` +
          `add '${base}' to replication (dsreplication enable, or dsconfig create-replication-domain --provider-name "Multimaster Synchronization" --domain-name "${base}" --set base-dn:${base}), then run this command again`,
      ]);
    }
    const external = found.find(
      (entry) => hasClass(entry, 'ds-cfg-external-changelog-domain') && dnEquals(parentDn(entry.dn) ?? '', domain.dn),
    );
    const holder = external ?? domain;
    const attribute = external === undefined ? ECL_INCLUDE_FOR_DELETES_ATTRIBUTE : ECL_INCLUDE_ATTRIBUTE;
    const property = attribute.replace(/^ds-cfg-/, '');
    const have = valuesOf(holder, attribute);
    const wanted = ['objectClass', ...(target.deletedEntryAttributes ?? [])].filter(
      (name, index, all) => all.findIndex((other) => other.toLowerCase() === name.toLowerCase()) === index,
    );
    const missing = wanted.filter(
      (name) => !have.some((value) => value.trim().toLowerCase() === name.toLowerCase() || value.trim() === '*'),
    );
    if (missing.length === 0) return unchanged(head, `${property} ${have.join(', ')}`);
    return changed(
      head,
      have.length === 0 ? 'created' : 'updated',
      `${property} ${missing.join(', ')} added${have.length === 0 ? '' : ` next to ${have.join(', ')}`}`,
      [{ kind: 'modify', dn: holder.dn, modifications: [{ operation: 'add', attribute, values: missing }] }],
    );
  }

  /**
   * The ACIs (global and on the base DNs) go by their name and user; privileges and limits live on the account,
   * which the core deletes when this tool created it. A kept account keeps its privileges (nothing records which
   * of them this tool added): the run names them. The external changelog belongs to replication: even with
   * --disableChangelog the tool does not turn change numbers off (other readers may use them), it prints the command.
   */
  public planRemoval(
    target: PrepareTarget,
    observed: Observation,
    disableChangelog: boolean,
    accountKept = false,
  ): PlannedStep[] {
    const steps: PlannedStep[] = [...planPingPasswordPolicyRemoval(target, observed, accountKept)];
    const all = [sourceReadAci(target.syncUserDn), destinationWriteAci(target.syncUserDn)];
    for (const base of target.baseDns) {
      steps.push(
        planAciRemoval(
          `aci:${base}`,
          `Access for the sync user on '${base}'`,
          base,
          valuesOf(observed.entry(base), 'aci'),
          all,
        ),
      );
    }
    steps.push(
      onGlobalAcis(
        planAciRemoval(
          'global-aci',
          'Change log access for the sync user (global ACIs)',
          ACCESS_CONTROL_HANDLER_DN,
          valuesOf(observed.entry(ACCESS_CONTROL_HANDLER_DN), GLOBAL_ACI_ATTRIBUTE),
          changelogAcis(target.syncUserDn),
        ),
      ),
    );
    const account = observed.entry(target.syncUserDn);
    if (accountKept && account !== undefined) {
      const head = { id: 'privileges', title: `Privileges of '${target.syncUserDn}'` };
      const held = new Set(valuesOf(account, PRIVILEGE_ATTRIBUTE).map((value) => value.trim().toLowerCase()));
      const granted = privilegesFor({ source: true, destination: true }).filter((name) => held.has(name));
      steps.push(
        granted.length === 0
          ? unchanged(head, 'none of those this tool grants')
          : manual(head, `kept: ${granted.join(', ')}`, [
              `'${target.syncUserDn}' keeps its privileges ${granted.join(', ')}: the server does not ` +
                `record which of them this tool added, so none was taken away; remove the '${PRIVILEGE_ATTRIBUTE}' values it no longer needs by hand`,
            ]),
      );
    }
    if (disableChangelog) {
      steps.push(
        manual({ id: 'changelog', title: 'Disabling cn=changelog' }, 'left on: it belongs to replication', [
          'The external changelog is part of replication and other readers may depend on its change numbers, so this tool leaves it as it is. ' +
            'To stop computing change numbers, run: dsconfig set-replication-server-prop --provider-name "Multimaster Synchronization" ' +
            (this.family === 'pingds'
              ? '--set changelog-enabled:enabled-cookie-mode-only'
              : '--set compute-change-number:false'),
        ]),
      );
    }
    return steps;
  }

  public explainMissingChangeNumbers(
    target: PrepareTarget,
    observed: Observation,
    plan: readonly PlannedStep[],
  ): string {
    const global = plan.find((step) => step.id === 'global-aci');
    if (global !== undefined && global.status === 'warning') return global.warnings.join('; ');
    const server = observed.entry(REPLICATION_SERVER_DN);
    if (server === undefined) return 'this server is not a replication server, so it keeps no external changelog';
    return (
      `the global ACI "prepare-endpoint-server: sync changelog root DSE read" must let '${target.syncUserDn}' read ` +
      `${ROOT_DSE_CHANGELOG_ATTRIBUTES.join(', ')} in the root DSE, and change numbers must be on (changelog-enabled:enabled): ` +
      `check ${GLOBAL_ACI_ATTRIBUTE} in '${ACCESS_CONTROL_HANDLER_DN}' and that no deny ACI hides them`
    );
  }
}

function safeWithin(dn: string, base: string): boolean {
  try {
    return isWithin(dn, base);
  } catch {
    return false;
  }
}

export function sourceReadAci(userDn: string): AciSpec {
  return { name: 'sync source read', targetAttributes: '*||+', rights: READ_RIGHTS, userDn };
}

/**
 * Every attribute but `aci` and the password policy pointers: the destination sync user may never write access
 * control, nor point an account (itself included) at another password policy.
 */
export function destinationWriteAci(userDn: string): AciSpec {
  return {
    name: 'sync destination write',
    targetAttributes: 'aci || ds-pwp-password-policy-dn || pwdPolicySubentry',
    excludeTargetAttributes: true,
    rights: WRITE_RIGHTS,
    userDn,
  };
}

/** The three global ACIs PingDS documents for a changelog reader, for this user only. */
export function changelogAcis(userDn: string): AciSpec[] {
  return [
    {
      name: 'sync changelog root DSE read',
      target: '',
      targetScope: 'base',
      targetAttributes: ROOT_DSE_CHANGELOG_ATTRIBUTES.join('||'),
      rights: READ_RIGHTS,
      userDn,
    },
    { name: 'sync changelog read', target: CHANGELOG_DN, targetAttributes: '*||+', rights: READ_RIGHTS, userDn },
    { name: 'sync changelog control', targetControl: ECL_CONTROL_OID, rights: ['read'], userDn },
  ];
}

/** planAcis writes `aci`; global ACIs are values of the access control handler's `ds-cfg-global-aci`. */
function onGlobalAcis(step: PlannedStep): PlannedStep {
  return {
    ...step,
    changes: step.changes.map((change) =>
      change.kind !== 'modify'
        ? change
        : {
            ...change,
            modifications: change.modifications.map((m) => ({ ...m, attribute: GLOBAL_ACI_ATTRIBUTE })),
          },
    ),
  };
}

/** The privileges the roles need, added next to the account's others. */
function planPrivileges(target: PrepareTarget, observed: Observation): PlannedStep {
  const head = { id: 'privileges', title: `Privileges of '${target.syncUserDn}'` };
  const needed = privilegesFor(target.roles);
  const account = observed.entry(target.syncUserDn);
  if (account === undefined) return changed(head, 'created', `granted with the new account: ${needed.join(', ')}`, []);
  const held = new Set(valuesOf(account, PRIVILEGE_ATTRIBUTE).map((value) => value.trim().toLowerCase()));
  const missing = needed.filter((name) => !held.has(name));
  if (missing.length === 0) return unchanged(head, `holds ${needed.join(', ')}`);
  return changed(head, 'updated', `added ${missing.join(', ')}`, [
    {
      kind: 'modify',
      dn: account.dn,
      modifications: [{ operation: 'add', attribute: PRIVILEGE_ATTRIBUTE, values: missing }],
    },
  ]);
}

/** ds-rlim-* on the sync user: set with a new account, made unlimited on an existing one. */
function planResourceLimits(target: PrepareTarget, observed: Observation): PlannedStep {
  const head = { id: 'limits', title: `Resource limits of '${target.syncUserDn}'` };
  const shown = Object.keys(RESOURCE_LIMITS)
    .map((name) => `${name} 0`)
    .join(', ');
  const account = observed.entry(target.syncUserDn);
  if (account === undefined) return changed(head, 'created', `set with the new account: ${shown} (no limit)`, []);
  const modifications = Object.entries(RESOURCE_LIMITS)
    .filter(([name, value]) => firstValue(account, name)?.trim() !== value)
    .map(([name, value]) => ({ operation: 'replace' as const, attribute: name, values: [value] }));
  if (modifications.length === 0) return unchanged(head, `${shown} (no limit)`);
  return changed(head, 'updated', `${modifications.map((m) => `${m.attribute} 0`).join(', ')} (no limit)`, [
    { kind: 'modify', dn: account.dn, modifications },
  ]);
}

/** For tests and the verification: whether a global ACI value is one of this tool's for the user. */
export function isOurGlobalAci(aci: string, userDn: string): boolean {
  return changelogAcis(userDn).some((spec) => isOurAci(aci, spec));
}
