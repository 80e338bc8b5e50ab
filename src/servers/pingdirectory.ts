/**
 * PingDirectory (and UnboundID / Nokia / Alcatel-Lucent Directory Server) and PingDirectoryProxy. The sync
 * user is a root DN user in the configuration; its rights are privileges (`ds-privilege-name`), never ACIs;
 * the change log is the `changelog` backend, configured through `cn=config`.
 */
import {
  pingPasswordPolicyReads,
  pingPasswordPolicyRemovalReads,
  planPingPasswordPolicy,
  planPingPasswordPolicyRemoval,
} from './pingdirectory-pwpolicy.js';
import { formatSpaced, parseServerDuration } from '../formats/duration.js';
import { decideRetention, KEPT_NOTE, wantedRetention } from './retention.js';
import { dnEquals, firstRdn, normalizeDn, parentDn } from '../formats/dn.js';
import type { Change, Entry } from '../model/entries.js';
import { firstValue, valuesOf } from '../model/entries.js';
import { SYNC_USER_DESCRIPTION } from './person.js';
import type { ServerProfile } from './profile.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, RoleSet } from '../model/plan.js';
import { changed, manual, unchanged, unchangedUnlessWarned } from '../model/steps.js';

export const ROOT_DNS_DN = 'cn=Root DNs,cn=config';
export const DEFAULT_SYNC_USER_DN = 'cn=Sync User,cn=Root DNs,cn=config';
export const CHANGELOG_BACKEND_DN = 'ds-cfg-backend-id=changelog,cn=Backends,cn=config';

export const PRIVILEGE_ATTRIBUTE = 'ds-privilege-name';
export const INHERIT_ATTRIBUTE = 'ds-cfg-inherit-default-root-privileges';
export const DEFAULT_ROOT_PRIVILEGES_ATTRIBUTE = 'ds-cfg-default-root-privilege-name';
export const ROOT_DN_USER_CLASS = 'ds-cfg-root-dn-user';
const ENABLED_ATTRIBUTE = 'ds-cfg-enabled';
/** Other DNs a root DN user binds with (`cn=Directory Manager` for `cn=Directory Manager,cn=Root DNs,cn=config`). */
const ALTERNATE_BIND_DN_ATTRIBUTE = 'ds-cfg-alternate-bind-dn';
const MAX_AGE_ATTRIBUTE = 'ds-cfg-changelog-maximum-age';
/** The changelog backend's `changelog-deleted-entry-include-attribute` (multi-valued). */
export const DELETED_ENTRY_ATTRIBUTE = 'ds-cfg-changelog-deleted-entry-include-attribute';

/**
 * Per-user resource limits (operational attributes on the account, root DN users included; 0 is no limit): a
 * full resync reads every entry, and a sync connection sits idle between polls.
 */
export const RESOURCE_LIMITS: Readonly<Record<string, string>> = {
  'ds-rlim-size-limit': '0',
  'ds-rlim-time-limit': '0',
  'ds-rlim-lookthrough-limit': '0',
  'ds-rlim-idle-time-limit': '0',
};

/**
 * What each role needs, least privilege first. Why each one is needed is written down in
 * test/emulators/pingdirectory/PRIVILEGES.md.
 */
export const SOURCE_PRIVILEGES = ['bypass-read-acl', 'config-read', 'unindexed-search'] as const;
export const DESTINATION_PRIVILEGES = ['bypass-acl', 'password-reset', 'bypass-pw-policy', 'unindexed-search'] as const;

/**
 * `default-root-privilege-name` of `cn=Root DNs,cn=config` as PingDirectory 10.2 documents it: used only when
 * the server does not let the admin read its own list.
 */
export const DOCUMENTED_DEFAULT_ROOT_PRIVILEGES = [
  'audit-data-security',
  'bypass-acl',
  'modify-acl',
  'config-read',
  'config-write',
  'ldif-import',
  'ldif-export',
  'backend-backup',
  'backend-restore',
  'server-shutdown',
  'server-restart',
  'disconnect-client',
  'password-reset',
  'update-schema',
  'privilege-change',
  'unindexed-search',
  'lockdown-mode',
  'stream-values',
  'third-party-task',
  'use-admin-session',
  'soft-delete-read',
  'metrics-read',
  'manage-topology',
  'permit-get-password-policy-state-issues',
  'permit-proxied-mschapv2-details',
  'collect-support-data',
  'file-servlet-access',
] as const;

/** The privileges the roles need, in a stable order: the source's first, then what the destination adds. */
export function privilegesFor(roles: RoleSet): string[] {
  const wanted = [...(roles.source ? SOURCE_PRIVILEGES : []), ...(roles.destination ? DESTINATION_PRIVILEGES : [])];
  return [...new Set(wanted)];
}

/** True for a boolean configuration value PingDirectory reads as true. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === 'true';
}

/**
 * The privileges an account holds, as the server computes them: the default root privileges when it
 * inherits them, plus every `ds-privilege-name` value, minus every `-name` value.
 */
export function effectivePrivileges(
  inherits: boolean,
  defaults: readonly string[],
  values: readonly string[],
): Set<string> {
  const held = new Set(inherits ? defaults.map((name) => name.toLowerCase()) : []);
  for (const value of values) {
    const name = value.trim().toLowerCase();
    if (!name.startsWith('-')) held.add(name);
  }
  for (const value of values) {
    const name = value.trim().toLowerCase();
    if (name.startsWith('-')) held.delete(name.slice(1));
  }
  return held;
}

/** True when the sync user DN names an entry in `cn=Root DNs,cn=config` (a root DN user, not a data entry). */
export function isRootDnUserDn(dn: string): boolean {
  const parent = parentDn(dn);
  return parent !== undefined && dnEquals(parent, ROOT_DNS_DN);
}

interface AccountFacts {
  readonly rootUser: boolean;
  readonly inherits: boolean;
  readonly values: readonly string[];
}

export class PingDirectoryProfile implements ServerProfile {
  public readonly family: string;
  public readonly baseDnAttributes = ['objectClass'] as const;
  public readonly passwordAttribute = 'userPassword';
  public readonly changeNumberAttributes = ['firstChangeNumber', 'lastChangeNumber', 'lastPurgedChangeNumber'] as const;
  private readonly proxy: boolean;

  public constructor(
    family: 'pingdirectory' | 'pingdirectoryproxy',
    public readonly productName: string,
  ) {
    this.family = family;
    this.proxy = family === 'pingdirectoryproxy';
  }

  public defaultSyncUserDn(_baseDns: readonly string[]): string {
    return DEFAULT_SYNC_USER_DN;
  }

  public reads(target: PrepareTarget): ReadRequest[] {
    const requests: ReadRequest[] = [
      {
        dn: target.syncUserDn,
        attributes: [
          'objectClass',
          PRIVILEGE_ATTRIBUTE,
          INHERIT_ATTRIBUTE,
          ALTERNATE_BIND_DN_ATTRIBUTE,
          ...Object.keys(RESOURCE_LIMITS),
        ],
      },
      { dn: ROOT_DNS_DN, attributes: [DEFAULT_ROOT_PRIVILEGES_ATTRIBUTE] },
      ...(target.removing === true ? pingPasswordPolicyRemovalReads(target) : pingPasswordPolicyReads(target)),
    ];
    if (target.roles.source && !this.proxy) {
      requests.push({
        dn: CHANGELOG_BACKEND_DN,
        attributes: [ENABLED_ATTRIBUTE, MAX_AGE_ATTRIBUTE, DELETED_ENTRY_ATTRIBUTE],
      });
    }
    return requests;
  }

  public syncUserEntry(dn: string, password: string, target: PrepareTarget): Record<string, string[]> {
    const rdn = firstRdn(dn);
    const naming: Record<string, string[]> = {};
    for (const ava of rdn) naming[ava.type] = [ava.value];
    const label = rdn[0]?.value ?? 'Sync User';
    const words = label.split(/\s+/).filter((word) => word !== '');
    const surname = words.length > 1 ? (words[words.length - 1] ?? label) : label;
    const givenName = words.length > 1 ? words.slice(0, -1).join(' ') : undefined;
    const privileges = this.privilegesToGrant(target);
    const limits = Object.fromEntries(Object.entries(RESOURCE_LIMITS).map(([name, value]) => [name, [value]]));
    const person = {
      cn: [label],
      sn: [surname],
      ...(givenName === undefined ? {} : { givenName: [givenName] }),
      ...naming,
      description: [SYNC_USER_DESCRIPTION],
      userPassword: [password],
      ...limits,
    };
    if (!isRootDnUserDn(dn)) {
      // Outside cn=Root DNs the account is a normal user: privileges still apply, inheritance does not.
      return {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        ...person,
        [PRIVILEGE_ATTRIBUTE]: privilegesFor(target.roles),
      };
    }
    return {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-user', ROOT_DN_USER_CLASS],
      ...person,
      [INHERIT_ATTRIBUTE]: [target.inheritDefaultRootPrivileges ? 'true' : 'false'],
      ...(privileges.length > 0 ? { [PRIVILEGE_ATTRIBUTE]: privileges } : {}),
    };
  }

  /** A root DN user also binds with its alternate bind DNs: the admin may be this account under another name. */
  public syncUserAliases(target: PrepareTarget, observed: Observation): readonly string[] {
    return valuesOf(observed.entry(target.syncUserDn), ALTERNATE_BIND_DN_ATTRIBUTE);
  }

  /** A password policy of the sync user's own (no lockout, no maximum age, no forced change), named by the account. */
  public planPasswordPolicy(target: PrepareTarget, observed: Observation): PlannedStep[] {
    return planPingPasswordPolicy(target, observed);
  }

  public planAccess(target: PrepareTarget, observed: Observation): PlannedStep[] {
    return [...this.planPrivileges(target, observed), planResourceLimits(target, observed)];
  }

  private planPrivileges(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const id = 'privileges';
    const title = `Privileges of '${target.syncUserDn}'`;
    const needed = privilegesFor(target.roles);
    const account = observed.entry(target.syncUserDn);
    if (account === undefined) {
      const granted =
        target.inheritDefaultRootPrivileges && isRootDnUserDn(target.syncUserDn)
          ? ['the default root privileges', ...this.privilegesToGrant(target)]
          : needed;
      return [changed({ id, title }, 'created', `granted with the new account: ${granted.join(', ')}`, [])];
    }

    const facts = accountFacts(account, target.syncUserDn);
    const defaults = this.defaultRootPrivileges(observed);
    const modifications: { operation: 'add' | 'replace'; attribute: string; values: string[] }[] = [];
    const notes: string[] = [];
    let inherits = facts.inherits;
    if (target.inheritDefaultRootPrivileges && facts.rootUser && !facts.inherits) {
      modifications.push({ operation: 'replace', attribute: INHERIT_ATTRIBUTE, values: ['true'] });
      notes.push('now inherits the default root privileges');
      inherits = true;
    }
    const held = effectivePrivileges(inherits, defaults, facts.values);
    const removedByValue = new Set(
      facts.values
        .map((v) => v.trim().toLowerCase())
        .filter((v) => v.startsWith('-'))
        .map((v) => v.slice(1)),
    );
    const missing = needed.filter((name) => !held.has(name));
    const blocked = missing.filter((name) => removedByValue.has(name));
    const toAdd = missing.filter((name) => !removedByValue.has(name));
    if (toAdd.length > 0) {
      modifications.push({ operation: 'add', attribute: PRIVILEGE_ATTRIBUTE, values: toAdd });
      notes.push(`added ${toAdd.join(', ')}`);
    }
    const warnings = blocked.map(
      (name) =>
        `'${target.syncUserDn}' has '${PRIVILEGE_ATTRIBUTE}: -${name}', which takes away the ${name} privilege the sync user needs: ` +
        `remove that value from the account (this tool never removes what others set), then run this command again`,
    );

    if (modifications.length === 0) {
      return [
        unchangedUnlessWarned(
          { id, title },
          `${inherits ? 'inherits the default root privileges; ' : ''}holds ${needed.filter((name) => held.has(name)).join(', ') || 'none of those needed'}`,
          warnings,
        ),
      ];
    }
    const change: Change = { kind: 'modify', dn: target.syncUserDn, modifications };
    return [
      warnings.length > 0
        ? manual({ id, title }, notes.join('; '), warnings, [change])
        : changed({ id, title }, 'updated', notes.join('; '), [change]),
    ];
  }

  /** The changelog backend's maximum age in seconds; undefined when unset, unlimited, or on a proxy. */
  public currentChangelogMaxAge(_target: PrepareTarget, observed: Observation): number | undefined {
    if (this.proxy) return undefined;
    const text = firstValue(observed.entry(CHANGELOG_BACKEND_DN), MAX_AGE_ATTRIBUTE);
    const seconds = text === undefined ? undefined : parseServerDuration(text);
    return seconds === undefined || seconds <= 0 ? undefined : seconds;
  }

  public planChangelog(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const id = 'changelog';
    const title = 'Enabling cn=changelog';
    if (this.proxy) {
      return [
        manual({ id, title }, 'not on a proxy: the change log lives on the backend servers', [
          'PingDirectoryProxy keeps no change log of its own: the sync server reads the change logs of the backend ' +
            'Directory Servers through it, so run this command with --isSource against each backend server too',
        ]),
      ];
    }
    const backend = observed.entry(CHANGELOG_BACKEND_DN);
    if (backend === undefined) {
      return [
        manual({ id, title }, `'${CHANGELOG_BACKEND_DN}' is missing`, [
          `The changelog backend '${CHANGELOG_BACKEND_DN}' was not found (or the admin may not read it): check the server version and that the admin holds config-read`,
        ]),
      ];
    }
    const enabled = isTrue(firstValue(backend, ENABLED_ATTRIBUTE));
    const currentText = firstValue(backend, MAX_AGE_ATTRIBUTE);
    const retention = decideRetention(this.currentChangelogMaxAge(target, observed), wantedRetention(target));
    const wanted = formatSpaced(retention.seconds);
    const modifications = [
      ...(enabled ? [] : [{ operation: 'replace' as const, attribute: ENABLED_ATTRIBUTE, values: ['true'] }]),
      ...(retention.change ? [{ operation: 'replace' as const, attribute: MAX_AGE_ATTRIBUTE, values: [wanted] }] : []),
    ];
    const ageDetail = retention.change
      ? `changelog-maximum-age changed from '${currentText ?? 'unset'}' to '${wanted}'`
      : `changelog-maximum-age '${currentText ?? wanted}'${retention.kept ? `, ${KEPT_NOTE}` : ''}`;
    const warnings = retention.warning === undefined ? [] : [retention.warning];
    const records = planDeletedEntryAttributes(target, backend);
    if (modifications.length === 0) {
      return [unchanged({ id, title }, `changelog backend enabled, ${ageDetail}`, { warnings }), records];
    }
    return [
      changed(
        { id, title },
        'updated',
        `${enabled ? 'changelog backend already enabled' : 'changelog backend enabled'}, ${ageDetail}`,
        [{ kind: 'modify', dn: CHANGELOG_BACKEND_DN, modifications }],
        { warnings },
      ),
      records,
    ];
  }

  /**
   * The privileges live on the sync user's own entry, which the core deletes when this tool created it: nothing
   * else was added. An account the tool adopted keeps its entry and its privileges, because nothing on the server
   * tells the privileges this tool added from those it already had: the run names the ones a role needs for the
   * operator to take away by hand. With --disableChangelog the changelog backend is disabled (not on a proxy,
   * which has none).
   */
  public planRemoval(
    target: PrepareTarget,
    observed: Observation,
    disableChangelog: boolean,
    accountKept = false,
  ): PlannedStep[] {
    const steps: PlannedStep[] = [...planPingPasswordPolicyRemoval(target, observed, accountKept)];
    const account = observed.entry(target.syncUserDn);
    if (accountKept && account !== undefined) {
      const held = new Set(valuesOf(account, PRIVILEGE_ATTRIBUTE).map((value) => value.trim().toLowerCase()));
      const granted = privilegesFor({ source: true, destination: true }).filter((name) => held.has(name));
      steps.push(
        granted.length === 0
          ? unchanged(
              { id: 'privileges', title: `Privileges of '${target.syncUserDn}'` },
              'none of those this tool grants',
            )
          : manual({ id: 'privileges', title: `Privileges of '${target.syncUserDn}'` }, `kept: ${granted.join(', ')}`, [
              `'${target.syncUserDn}' keeps its privileges ${granted.join(', ')}: the server does not record which of them this tool ` +
                `added, so none was taken away; remove the '${PRIVILEGE_ATTRIBUTE}' values it no longer needs by hand`,
            ]),
      );
    }
    if (!disableChangelog || this.proxy) return steps;
    const title = 'Disabling cn=changelog';
    const backend = observed.entry(CHANGELOG_BACKEND_DN);
    if (backend === undefined || !isTrue(firstValue(backend, ENABLED_ATTRIBUTE))) {
      return [...steps, unchanged({ id: 'changelog', title }, 'changelog backend already disabled')];
    }
    return [
      ...steps,
      changed({ id: 'changelog', title }, 'updated', 'changelog backend disabled', [
        {
          kind: 'modify',
          dn: CHANGELOG_BACKEND_DN,
          modifications: [{ operation: 'replace', attribute: ENABLED_ATTRIBUTE, values: ['false'] }],
        },
      ]),
    ];
  }

  public explainMissingChangeNumbers(
    target: PrepareTarget,
    observed: Observation,
    plan: readonly PlannedStep[],
  ): string {
    if (this.proxy) {
      return 'PingDirectoryProxy has no change log of its own: prepare each backend Directory Server with --isSource';
    }
    const changelog = plan.find((step) => step.id === 'changelog');
    if (changelog !== undefined && changelog.status === 'warning') {
      return `the changelog backend could not be enabled: ${changelog.detail ?? 'see the warning above'}`;
    }
    const held = privilegesAfterPlan(target, observed, plan, this.defaultRootPrivileges(observed));
    if (!held.has('bypass-read-acl') && !held.has('bypass-acl')) {
      return (
        'the sync user lacks the bypass-read-acl privilege (bypass-acl would do too), which reading the change log needs: ' +
        `add 'ds-privilege-name: bypass-read-acl' to '${target.syncUserDn}' and remove any '-bypass-read-acl' value`
      );
    }
    return (
      'the changelog backend is enabled and the sync user holds bypass-read-acl, yet the change numbers are hidden: ' +
      'check the global ACIs and the client connection policy that applies to the sync user'
    );
  }

  private privilegesToGrant(target: PrepareTarget): string[] {
    const needed = privilegesFor(target.roles);
    if (!target.inheritDefaultRootPrivileges) return needed;
    // The defaults lack bypass-read-acl and bypass-pw-policy: name what the roles need beyond them, as Ping's own examples do.
    const defaults = new Set<string>(DOCUMENTED_DEFAULT_ROOT_PRIVILEGES);
    return needed.filter((name) => !defaults.has(name));
  }

  private defaultRootPrivileges(observed: Observation): string[] {
    const listed = valuesOf(observed.entry(ROOT_DNS_DN), DEFAULT_ROOT_PRIVILEGES_ATTRIBUTE);
    return listed.length > 0 ? [...listed] : [...DOCUMENTED_DEFAULT_ROOT_PRIVILEGES];
  }
}

function accountFacts(account: Entry, dn: string): AccountFacts {
  const classes = valuesOf(account, 'objectClass').map((name) => name.toLowerCase());
  const rootUser = classes.includes(ROOT_DN_USER_CLASS) || isRootDnUserDn(dn);
  // inherit-default-root-privileges defaults to true on a root DN user, and means nothing elsewhere.
  const inheritValue = firstValue(account, INHERIT_ATTRIBUTE);
  const inherits = rootUser && (inheritValue === undefined || isTrue(inheritValue));
  return { rootUser, inherits, values: valuesOf(account, PRIVILEGE_ATTRIBUTE) };
}

/** What the sync user holds once the plan is applied: what it had, plus the privileges the plan adds. */
export function privilegesAfterPlan(
  target: PrepareTarget,
  observed: Observation,
  plan: readonly PlannedStep[],
  defaults: readonly string[],
): Set<string> {
  const key = normalizeDn(target.syncUserDn);
  let inherits = false;
  let values: string[] = [];
  const account = observed.entry(target.syncUserDn);
  if (account !== undefined) {
    const facts = accountFacts(account, target.syncUserDn);
    inherits = facts.inherits;
    values = [...facts.values];
  }
  for (const change of plan.flatMap((step) => step.changes)) {
    if (normalizeDn(change.dn) !== key) continue;
    if (change.kind === 'add') {
      const attributes = lowerKeys(change.attributes);
      inherits =
        isTrue(attributes.get(INHERIT_ATTRIBUTE)?.[0]) ||
        (attributes.get(INHERIT_ATTRIBUTE) === undefined && isRootDnUserDn(change.dn));
      values = [...(attributes.get(PRIVILEGE_ATTRIBUTE) ?? [])];
    } else if (change.kind === 'modify') {
      for (const modification of change.modifications) {
        const attribute = modification.attribute.toLowerCase();
        if (attribute === PRIVILEGE_ATTRIBUTE && modification.operation === 'add') values.push(...modification.values);
        if (attribute === INHERIT_ATTRIBUTE && modification.operation === 'replace')
          inherits = isTrue(modification.values[0]);
      }
    }
  }
  return effectivePrivileges(inherits, defaults, values);
}

/** ds-rlim-* on the sync user: set with a new account, made unlimited on an existing one. */
function planResourceLimits(target: PrepareTarget, observed: Observation): PlannedStep {
  const id = 'limits';
  const title = `Resource limits of '${target.syncUserDn}'`;
  const shown = Object.keys(RESOURCE_LIMITS)
    .map((name) => `${name} 0`)
    .join(', ');
  const account = observed.entry(target.syncUserDn);
  if (account === undefined)
    return changed({ id, title }, 'created', `set with the new account: ${shown} (no limit)`, []);
  const modifications = Object.entries(RESOURCE_LIMITS)
    .filter(([name, value]) => firstValue(account, name)?.trim() !== value)
    .map(([name, value]) => ({ operation: 'replace' as const, attribute: name, values: [value] }));
  if (modifications.length === 0) return unchanged({ id, title }, `${shown} (no limit)`);
  return changed(
    { id, title },
    'updated',
    `${modifications.map((m) => `${m.attribute} 0`).join(', ')} (no limit; was ${modifications.map((m) => firstValue(account, m.attribute) ?? 'unset').join(', ')})`,
    [{ kind: 'modify', dn: target.syncUserDn, modifications }],
  );
}

/**
 * Changelog entries of deletes carry objectClass (and the attributes asked for), which Sync Classes with include
 * filters need to see deletes (Ping: configure the backend for synchronizing deletes). Others' values stay.
 */
function planDeletedEntryAttributes(target: PrepareTarget, backend: Entry): PlannedStep {
  const id = 'changelog:records';
  const title = 'Attributes kept in changelog entries of deletes';
  const have = valuesOf(backend, DELETED_ENTRY_ATTRIBUTE);
  const wanted = ['objectClass', ...(target.deletedEntryAttributes ?? [])].filter(
    (name, index, all) => all.findIndex((other) => other.toLowerCase() === name.toLowerCase()) === index,
  );
  const missing = wanted.filter((name) => !have.some((value) => value.trim().toLowerCase() === name.toLowerCase()));
  if (missing.length === 0)
    return unchanged({ id, title }, `changelog-deleted-entry-include-attribute ${have.join(', ')}`);
  return changed(
    { id, title },
    have.length === 0 ? 'created' : 'updated',
    `changelog-deleted-entry-include-attribute ${missing.join(', ')} added${have.length === 0 ? '' : ` next to ${have.join(', ')}`}`,
    [
      {
        kind: 'modify',
        dn: CHANGELOG_BACKEND_DN,
        modifications: [{ operation: 'add', attribute: DELETED_ENTRY_ATTRIBUTE, values: missing }],
      },
    ],
  );
}

function lowerKeys(attributes: Readonly<Record<string, readonly string[]>>): Map<string, readonly string[]> {
  return new Map(Object.entries(attributes).map(([name, values]) => [name.toLowerCase(), values]));
}
