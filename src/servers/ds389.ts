/**
 * 389 Directory Server, Red Hat Directory Server and Sun/Oracle DSEE: the Netscape lineage. Rights are ACIs;
 * the change log is the Retro Changelog Plugin, which serves `cn=changelog` and the root DSE change numbers.
 */
import { formatCompact, parseServerDuration } from '../formats/duration.js';
import { firstValue, valuesOf } from '../model/entries.js';
import { planAci, planAciRemoval, planAcis, type AciSpec } from './aci.js';
import { decideRetention, KEPT_NOTE, wantedRetention } from './retention.js';
import { personEntry, syncUserUnderBase } from './person.js';
import {
  passwordAdminFollowUp,
  planChangeRecords,
  planChangeRecordsRemoval,
  planLimits,
  planPasswordAdmin,
  planPasswordAdminRemoval,
  PLUGIN_CONTENT_ATTRIBUTES,
  syncReadinessReads,
  syncUserLimits,
} from './ds389-sync.js';
import type { ServerProfile } from './profile.js';
import { Ds389TopologyReading } from './ds389-topology.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, SyncAccountFacts } from '../model/plan.js';
import {
  passwordPolicyReads,
  plan389PasswordPolicy,
  plan389PasswordPolicyRemoval,
  planDseePasswordPolicy,
} from './ds389-pwpolicy.js';
import { changed, manual, skipped, unchanged, type StepHead } from '../model/steps.js';

export const RETRO_CHANGELOG_PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
export const CHANGELOG_DN = 'cn=changelog';
const CONFIG_DN = 'cn=config';
/** Where 389 DS 2.x says which database library its backends use (`nsslapd-backend-implement: mdb` or `bdb`). */
export const LDBM_CONFIG_DN = 'cn=config,cn=ldbm database,cn=plugins,cn=config';
/** 389 DS's root DN unless nsslapd-rootdn says otherwise (or cannot be read). */
const DEFAULT_ROOT_DN = 'cn=Directory Manager';

/**
 * Said before the tool starts or stops the Retro Changelog Plugin live on 389 DS with the mdb database: 389 DS
 * 2.3.1 (Debian 12) died in liblmdb (general protection fault) after two or three live on/off cycles in our tests,
 * and would not start again while the plugin was on; the same cycles on bdb ran 30 times without fault
 * (test/integration/ds389-mdb-cycles.test.ts).
 */
export const MDB_LIVE_TOGGLE_CAUTION =
  'This 389 DS uses the mdb database with nsslapd-dynamic-plugins on: 389 DS 2.3 has crashed (in liblmdb) after a few ' +
  'live starts and stops of the Retro Changelog Plugin, and then would not start while the plugin was on; back the ' +
  'instance up first, or set nsslapd-dynamic-plugins off (the plugin then changes state when the server next starts)';

const ROOT_DSE_DN = '';

/**
 * Object classes that make or apply a password policy (or any other virtual attribute): the policy entries, the
 * CoS definitions and templates that hand out pwdpolicysubentry (how subtree policies work), and ldapsubentry,
 * which local policies, CoS entries and roles are.
 */
const POLICY_CLASSES = [
  'passwordPolicy',
  'ldapsubentry',
  'cosSuperDefinition',
  'cosClassicDefinition',
  'cosPointerDefinition',
  'cosIndirectDefinition',
  'cosTemplate',
] as const;
const POLICY_CLASS_FILTER = `(|${POLICY_CLASSES.map((name) => `(objectClass=${name})`).join('')})`;

/** Entries that make or apply a password policy: entries of those classes, and their container. */
const PASSWORD_POLICY_FILTER = `(|${POLICY_CLASSES.map((name) => `(objectClass=${name})`).join('')}(cn=nsPwPolicyContainer))`;

/**
 * Attributes no destination writes on any entry: the pointer to a policy, the CoS settings that hand one out,
 * and the state the policy keeps on an account (failed binds, lock, expiry, grace logins, history), which the
 * server maintains itself. nsAccountLock is not among them: a sync carries account (de)activation.
 */
const POLICY_STATE_ATTRIBUTES = [
  'pwdpolicysubentry',
  'cosAttribute',
  'cosTemplateDn',
  'cosSpecifier',
  'cosIndirectSpecifier',
  'accountUnlockTime',
  'passwordRetryCount',
  'retryCountResetTime',
  'passwordExpirationTime',
  'passwordGraceUserTime',
  'passwordExpWarned',
  'passwordHistory',
] as const;

const READ_RIGHTS = ['read', 'search', 'compare'];
/**
 * A destination applies adds, modifies, deletes and renames in place; reading is how it finds the entries to
 * change. Not `moddn` (389 DS 1.3.1+ checks moves to a new parent against it): moving an entry could carry a
 * subtree password policy's container away from the accounts it governs; an operator who wants moves adds an
 * ACI of their own (README).
 */
const WRITE_RIGHTS = ['read', 'search', 'compare', 'delete', 'write'];

/** The step that enables the Retro Changelog Plugin, whatever it finds. */
const CHANGELOG_STEP: StepHead = { id: 'changelog', title: 'Enabling cn=changelog' };

function isOn(value: string | undefined): boolean {
  return value !== undefined && /^(on|true)$/i.test(value.trim());
}

export class Ds389Profile implements ServerProfile {
  public readonly family: string;
  public readonly baseDnAttributes = ['objectClass', 'aci'] as const;
  public readonly passwordAttribute = 'userPassword';
  public readonly changeNumberAttributes = ['firstChangeNumber', 'lastChangeNumber'] as const;
  /** 389 DS keeps `\20` and a space apart in DNs (see core/names.ts). */
  public readonly distinguishesDnSpellings = true;
  public readonly topology: Ds389TopologyReading;

  public constructor(
    family: '389ds' | 'dsee',
    public readonly productName: string,
  ) {
    this.family = family;
    this.topology = new Ds389TopologyReading(family);
  }

  public defaultSyncUserDn(baseDns: readonly string[]): string {
    // Ping's documentation: on the Sun/389 lineage the account lives under the base DN, never in cn=config.
    return syncUserUnderBase(baseDns);
  }

  public reads(target: PrepareTarget): ReadRequest[] {
    const sync = [
      ...syncReadinessReads(target, this.family),
      ...(this.family === '389ds' ? passwordPolicyReads(target) : []),
    ];
    // nsslapd-rootdn: the sync user may never be the Directory Manager (see administratorDns).
    if (!target.roles.source) return [...sync, { dn: CONFIG_DN, attributes: ['nsslapd-rootdn'] }];
    return [
      ...sync,
      { dn: CONFIG_DN, attributes: ['nsslapd-dynamic-plugins', 'nsslapd-rootdn'] },
      { dn: LDBM_CONFIG_DN, attributes: ['nsslapd-backend-implement'] },
      {
        dn: RETRO_CHANGELOG_PLUGIN_DN,
        attributes: ['nsslapd-pluginEnabled', 'nsslapd-changelogmaxage', ...PLUGIN_CONTENT_ATTRIBUTES],
      },
      { dn: CHANGELOG_DN, attributes: ['aci'] },
      { dn: ROOT_DSE_DN, attributes: ['aci'] },
    ];
  }

  public planPasswordPolicy(target: PrepareTarget, observed: Observation, account: SyncAccountFacts): PlannedStep[] {
    return this.family === '389ds' ? plan389PasswordPolicy(target, observed, account) : planDseePasswordPolicy(target);
  }

  public followUpReads(target: PrepareTarget, observed: Observation): ReadRequest[] {
    return passwordAdminFollowUp(target, observed, this.family);
  }

  public syncUserEntry(dn: string, password: string): Record<string, string[]> {
    // The limits go in with the account: a sync's full resync reads more entries than the server's defaults allow.
    return {
      ...personEntry(dn, password),
      ...Object.fromEntries(Object.entries(syncUserLimits(this.family)).map(([name, value]) => [name, [value]])),
    };
  }

  /** The root DN (Directory Manager by default), which has no entry and holds every right. */
  public administratorDns(_target: PrepareTarget, observed: Observation): { dn: string; what: string }[] {
    const rootDn = firstValue(observed.entry(CONFIG_DN), 'nsslapd-rootdn') ?? DEFAULT_ROOT_DN;
    return [{ dn: rootDn, what: `the root DN, nsslapd-rootdn '${rootDn}'` }];
  }

  public planAccess(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const steps: PlannedStep[] = [planLimits(target, observed, this.family)];
    for (const base of target.baseDns) {
      const acis = valuesOf(observed.entry(base), 'aci');
      if (target.roles.source) {
        steps.push(
          planAci(
            `aci:source:${base}`,
            `Read access for the sync user on '${base}'`,
            base,
            acis,
            this.aci('sync source read', READ_RIGHTS, target.syncUserDn),
          ),
        );
      }
      if (target.roles.destination) {
        steps.push(
          planAcis(
            `aci:destination:${base}`,
            `Write access for the sync user on '${base}'`,
            base,
            acis,
            this.destinationAcis(target.syncUserDn),
          ),
        );
      }
    }
    if (target.roles.source) {
      const rootDseAcis = valuesOf(observed.entry(ROOT_DSE_DN), 'aci');
      if (!rootDseReadableByEveryone(rootDseAcis)) {
        steps.push(
          planAci(
            'aci:root-dse',
            'Root DSE read access for the sync user',
            ROOT_DSE_DN,
            rootDseAcis,
            this.aci('sync root DSE read', READ_RIGHTS, target.syncUserDn),
          ),
        );
      }
    }
    if (target.roles.destination && this.family === '389ds') steps.push(...planPasswordAdmin(target, observed));
    return steps;
  }

  public planChangelog(target: PrepareTarget, observed: Observation): PlannedStep[] {
    // Written before the plugin is turned on, so a live start (dynamic plugins) reads them too.
    const records = planChangeRecords(target, observed, this.family);
    const steps = this.planChangelogState(target, observed);
    const restartSaidAlready = steps.some((step) => step.warnings.some((w) => w.includes('restart')));
    return [
      ...records.map((step) =>
        restartSaidAlready
          ? {
              ...step,
              warnings: step.warnings.filter((w) => !w.startsWith('The Retro Changelog Plugin reads these settings')),
            }
          : step,
      ),
      ...steps,
    ];
  }

  private planChangelogState(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const plugin = observed.entry(RETRO_CHANGELOG_PLUGIN_DN);
    if (plugin === undefined) {
      return [
        manual(CHANGELOG_STEP, `'${RETRO_CHANGELOG_PLUGIN_DN}' is missing`, [
          `The Retro Changelog Plugin entry '${RETRO_CHANGELOG_PLUGIN_DN}' was not found: this server cannot serve cn=changelog; reinstall the plugin, then run this command again`,
        ]),
      ];
    }
    const dynamicPlugins = isOn(firstValue(observed.entry(CONFIG_DN), 'nsslapd-dynamic-plugins'));
    const enabled = isOn(firstValue(plugin, 'nsslapd-pluginEnabled'));
    const running = observed.entry(CHANGELOG_DN) !== undefined;
    const currentAgeText = firstValue(plugin, 'nsslapd-changelogmaxage');
    const retention = decideRetention(this.currentChangelogMaxAge(target, observed), wantedRetention(target));
    const wantedAge = formatCompact(retention.seconds);

    const modifications = [
      ...(enabled ? [] : [{ operation: 'replace' as const, attribute: 'nsslapd-pluginEnabled', values: ['on'] }]),
      ...(retention.change
        ? [{ operation: 'replace' as const, attribute: 'nsslapd-changelogmaxage', values: [wantedAge] }]
        : []),
    ];
    const ageDetail = retention.change
      ? `nsslapd-changelogmaxage ${wantedAge}, was ${currentAgeText ?? 'unset (never trimmed)'}`
      : `nsslapd-changelogmaxage ${retention.kept ? `${currentAgeText ?? wantedAge}, ${KEPT_NOTE}` : wantedAge}`;
    const retentionWarnings = retention.warning === undefined ? [] : [retention.warning];
    const restart =
      'restart the directory server (for example `dsctl <instance> restart`), then run this command again to finish and verify';

    const steps: PlannedStep[] = [];
    if (modifications.length === 0) {
      steps.push(
        running
          ? unchanged(CHANGELOG_STEP, `Retro Changelog Plugin on, ${ageDetail}`, { warnings: retentionWarnings })
          : manual(CHANGELOG_STEP, 'enabled in the configuration, not running yet', [
              `The Retro Changelog Plugin is enabled but not running: ${restart}`,
              ...retentionWarnings,
            ]),
      );
    } else {
      // 389 starts a plugin live only with nsslapd-dynamic-plugins on, and reads the maximum age only when the
      // plugin starts: so a live start takes the new age, and every other case needs a restart.
      const startsLive = !enabled && dynamicPlugins;
      const restartWarnings = startsLive
        ? []
        : enabled
          ? [`The new change log maximum age is read when the Retro Changelog Plugin starts: ${restart}`]
          : [`The Retro Changelog Plugin starts at the next server start (nsslapd-dynamic-plugins is off): ${restart}`];
      const warnings = [...retentionWarnings, ...restartWarnings];
      steps.push(
        changed(
          CHANGELOG_STEP,
          'updated',
          `${enabled ? 'Retro Changelog Plugin already on' : 'Retro Changelog Plugin on'}, ${ageDetail}${startsLive ? ', started live' : ''}`,
          [{ kind: 'modify', dn: RETRO_CHANGELOG_PLUGIN_DN, modifications }],
          { warnings, ...(startsLive && usesMdb(observed) ? { cautions: [MDB_LIVE_TOGGLE_CAUTION] } : {}) },
        ),
      );
    }

    // cn=changelog comes into being when the plugin starts; its default ACI lets nobody read the changes.
    const changelogWillRun = running || (!enabled && dynamicPlugins);
    const spec = this.aci('sync changelog read', READ_RIGHTS, target.syncUserDn);
    if (changelogWillRun) {
      steps.push(
        planAci(
          'aci:changelog',
          `Change log read access for the sync user on '${CHANGELOG_DN}'`,
          CHANGELOG_DN,
          valuesOf(observed.entry(CHANGELOG_DN), 'aci'),
          spec,
        ),
      );
    } else {
      steps.push(
        skipped(
          { id: 'aci:changelog', title: `Change log read access for the sync user on '${CHANGELOG_DN}'` },
          `'${CHANGELOG_DN}' exists only once the plugin runs: granted by the run after the restart`,
        ),
      );
    }
    return steps;
  }

  /** The plugin's maximum age in seconds; undefined when unset or 0 (never trimmed). */
  public currentChangelogMaxAge(_target: PrepareTarget, observed: Observation): number | undefined {
    const text = firstValue(observed.entry(RETRO_CHANGELOG_PLUGIN_DN), 'nsslapd-changelogmaxage');
    // 389 reads a bare number as seconds.
    const seconds = text === undefined ? undefined : parseServerDuration(text, { bareNumberUnit: 's' });
    return seconds === undefined || seconds <= 0 ? undefined : seconds;
  }

  public planRemoval(
    target: PrepareTarget,
    observed: Observation,
    disableChangelog: boolean,
    accountKept?: boolean,
  ): PlannedStep[] {
    const user = target.syncUserDn;
    const dataAcis = [this.aci('sync source read', READ_RIGHTS, user), ...this.destinationAcis(user)];
    const steps = target.baseDns.map((base) =>
      planAciRemoval(
        `aci:${base}`,
        `Access for the sync user on '${base}'`,
        base,
        valuesOf(observed.entry(base), 'aci'),
        dataAcis,
      ),
    );
    if (observed.entry(CHANGELOG_DN) !== undefined) {
      steps.push(
        planAciRemoval(
          'aci:changelog',
          `Change log read access on '${CHANGELOG_DN}'`,
          CHANGELOG_DN,
          valuesOf(observed.entry(CHANGELOG_DN), 'aci'),
          [this.aci('sync changelog read', READ_RIGHTS, user)],
        ),
      );
    }
    steps.push(
      planAciRemoval(
        'aci:root-dse',
        'Root DSE read access',
        ROOT_DSE_DN,
        valuesOf(observed.entry(ROOT_DSE_DN), 'aci'),
        [this.aci('sync root DSE read', READ_RIGHTS, user)],
      ),
    );
    if (this.family === '389ds') steps.push(...planPasswordAdminRemoval(target, observed));
    if (this.family === '389ds') steps.push(plan389PasswordPolicyRemoval(target, observed, accountKept === true));
    if (disableChangelog) {
      if (this.family === '389ds') steps.push(...planChangeRecordsRemoval(observed));
      steps.push(this.planChangelogOff(observed));
    }
    return steps;
  }

  private planChangelogOff(observed: Observation): PlannedStep {
    const plugin = observed.entry(RETRO_CHANGELOG_PLUGIN_DN);
    const title = 'Disabling cn=changelog';
    if (plugin === undefined || !isOn(firstValue(plugin, 'nsslapd-pluginEnabled'))) {
      return unchanged({ id: 'changelog', title }, 'Retro Changelog Plugin already off');
    }
    const dynamicPlugins = isOn(firstValue(observed.entry(CONFIG_DN), 'nsslapd-dynamic-plugins'));
    return changed(
      { id: 'changelog', title },
      'updated',
      `Retro Changelog Plugin off${dynamicPlugins ? ', stopped live' : ''}`,
      [
        {
          kind: 'modify',
          dn: RETRO_CHANGELOG_PLUGIN_DN,
          modifications: [{ operation: 'replace', attribute: 'nsslapd-pluginEnabled', values: ['off'] }],
        },
      ],
      {
        warnings: dynamicPlugins
          ? []
          : [
              'The Retro Changelog Plugin stops at the next server start (nsslapd-dynamic-plugins is off): restart the directory server',
            ],
        ...(dynamicPlugins && usesMdb(observed) ? { cautions: [MDB_LIVE_TOGGLE_CAUTION] } : {}),
      },
    );
  }

  public explainMissingChangeNumbers(
    _target: PrepareTarget,
    observed: Observation,
    plan: readonly PlannedStep[],
  ): string {
    const changelog = plan.find((step) => step.id === 'changelog');
    if (changelog !== undefined && changelog.warnings.length > 0) {
      return 'the change log is not running yet: restart the directory server, then run this command again';
    }
    if (observed.entry(CHANGELOG_DN) === undefined && changelog?.detail?.includes('started live') !== true) {
      return 'the Retro Changelog Plugin is not running: check the server error log, restart the server, then run this command again';
    }
    return "the sync user may not read the root DSE: check the ACIs on the root DSE ('') and cn=changelog";
  }

  /**
   * A destination may add, delete, rename in place and write every attribute of every entry under the base, and
   * never touch access control: the allow ACI leaves out `aci`, and deny ACIs (which win over any allow,
   * including one the account might gain later through a group) refuse writing `aci` values, adding or deleting
   * an entry that carries ACIs (389 checks targetattr per attribute on a modify, but not on an add), making or
   * changing a password policy or a CoS (entries, object class values, pointers), clearing an account's
   * lockout or expiry state, and changing its own account (its roles, limits or lock).
   */
  private destinationAcis(userDn: string): AciSpec[] {
    // A deny of moddn on its own account stays (an operator may grant moves by hand); DSEE does not know the right.
    const move = this.family === 'dsee' ? [] : ['moddn'];
    return [
      {
        name: 'sync destination write',
        targetAttributes: 'aci',
        excludeTargetAttributes: true,
        rights: WRITE_RIGHTS,
        userDn,
      },
      // Adds are allowed only of entries without a pwdpolicysubentry of their own (which would pick their
      // password policy). Said as an allow with a value filter because a deny cannot say it on 389 DS: a
      // targetfilter also sees the pwdpolicysubentry a subtree policy's CoS hands every entry below it, and a
      // deny's value filter matches every entry lacking the attribute.
      {
        name: 'sync destination add',
        targetAttributes: 'aci',
        excludeTargetAttributes: true,
        targetAttrFilters: 'add=pwdpolicysubentry:(!(pwdpolicysubentry=*))',
        rights: ['add'],
        userDn,
      },
      {
        name: 'sync destination: no access control changes',
        targetAttributes: 'aci',
        permission: 'deny',
        rights: ['write'],
        userDn,
      },
      // Not moddn: 389 does not apply a targetfilter to moves, and a moved entry's ACIs still govern the same
      // entries (an ACI applies to the entry holding it and what lies below it).
      {
        name: 'sync destination: no entries carrying ACIs',
        targetFilter: '(aci=*)',
        permission: 'deny',
        rights: ['add', 'delete'],
        userDn,
      },
      // Password policies are access control too: 389 applies a passwordPolicy entry to the accounts whose
      // pwdpolicysubentry names it, set directly or generated by a CoS (how subtree policies work).
      {
        name: 'sync destination: no password policies',
        // Without a targetattr, 389 DS applies an ACI to entry rights (add, delete) only, not to writes.
        targetAttributes: '*',
        targetFilter: PASSWORD_POLICY_FILTER,
        permission: 'deny',
        rights: ['add', 'delete', 'write'],
        userDn,
      },
      // 389 tests a targetfilter on the entry as it is before a modify: a plain entry could otherwise be turned
      // into a policy or CoS entry by adding the object class value.
      {
        name: 'sync destination: no password policy classes',
        targetAttrFilters: `add=objectClass:${POLICY_CLASS_FILTER},del=objectClass:${POLICY_CLASS_FILTER}`,
        permission: 'deny',
        rights: ['write'],
        userDn,
      },
      {
        name: 'sync destination: no password policy pointers',
        targetAttributes: POLICY_STATE_ATTRIBUTES.join(' || '),
        permission: 'deny',
        rights: ['write'],
        userDn,
      },
      // targetattr governs modifies, not adds: an added entry could otherwise be a CoS of its own.
      {
        name: 'sync destination: no entries carrying password policy pointers',
        targetFilter: `(|${POLICY_STATE_ATTRIBUTES.slice(1, 5)
          .map((name) => `(${name}=*)`)
          .join('')})`,
        permission: 'deny',
        rights: ['add'],
        userDn,
      },
      // An ACI's target may not leave the entry it sits on, so "its own entry" is said by the bind rule instead.
      {
        name: 'sync destination: not its own account',
        targetAttributes: '*',
        ownEntryOnly: true,
        permission: 'deny',
        rights: ['write', 'delete', ...move],
        userDn,
      },
    ];
  }

  private aci(name: string, rights: readonly string[], userDn: string): AciSpec {
    // targetattr="*" covers operational attributes such as nsUniqueId and entryUUID on 389 DS 2.x; "+" is
    // rejected there as an unknown attribute.
    return { name, targetAttributes: '*', rights, userDn };
  }
}

/** True when the server's backends use the mdb database library (389 DS 2.x; older servers have bdb only). */
function usesMdb(observed: Observation): boolean {
  return /^mdb$/i.test(firstValue(observed.entry(LDBM_CONFIG_DN), 'nsslapd-backend-implement')?.trim() ?? '');
}

/** True when some ACI on the root DSE lets anyone (or any bound user) read it, as 389's default does. */
function rootDseReadableByEveryone(acis: readonly string[]): boolean {
  return acis.some(
    (aci) =>
      /userdn\s*=\s*"ldap:\/\/\/(anyone|all)"/i.test(aci) &&
      /allow\s*\(([^)]*\b)?read\b/i.test(aci) &&
      // Only an ACI over every attribute (or all but a few) covers the change numbers.
      /\(\s*targetattr\s*(!=\s*"[^"]*"|=\s*"\s*\*\s*")\s*\)/i.test(aci),
  );
}
