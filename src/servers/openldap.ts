/**
 * OpenLDAP. Rights are `olcAccess` rules on the database that serves each base DN, in cn=config; the change
 * source is the accesslog overlay writing to a `cn=accesslog` database (OpenLDAP has no cn=changelog and no
 * root DSE change numbers). Everything is done live over LDAP: slapd never needs a restart for it.
 */
import { formatAccessLogPurge, parseServerDuration } from '../formats/duration.js';
import { decideRetention, KEPT_NOTE, wantedRetention } from './retention.js';
import { isWithin, normalizeDn, parentDn, parseDn, quotableDn } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import { renderLdif } from '../formats/ldif.js';
import { firstValue, valuesOf, type Change, type Entry, type Modification } from '../model/entries.js';
import { personEntry, syncUserUnderBase } from './person.js';
import {
  CONFIG_ATTRIBUTES,
  limitsRule,
  logOldAttributes,
  logOldChanges,
  planIndexes,
  planLimitsOn,
  planLimitsRemoval,
  planModule,
  planSyncprovOnData,
  planSyncprovOnLog,
  planSyncprovRemoval,
  syncprovOnLogAttributes,
} from './openldap-sync.js';
import type { ServerProfile } from './profile.js';
import { OpenLdapTopologyReading } from './openldap-topology.js';
import type {
  ChangeSource,
  Observation,
  PlannedStep,
  PrepareTarget,
  ReadRequest,
  SearchRequest,
} from '../model/plan.js';
import { changed, manual, unchanged, unchangedUnlessWarned } from '../model/steps.js';

export const ACCESSLOG_SUFFIX = 'cn=accesslog';
const CONFIG_SEARCH = 'openldap:config';
const DAY = 86_400;

/** OpenLDAP access levels, weakest first; each includes the ones before it. */
const LEVELS = ['none', 'disclose', 'auth', 'compare', 'search', 'read', 'write', 'manage'] as const;

/**
 * DNs inside an olcAccess rule are double-quoted; a quote in a DN is written `\22` so it cannot end the value.
 */
function quotedDn(dn: string): string {
  return `"${quotableDn(dn)}"`;
}

function sameDn(a: string, b: string): boolean {
  try {
    return normalizeDn(a) === normalizeDn(b);
  } catch {
    return false;
  }
}

/** The rule this tool adds on a data database. olcAccess values carry no name, so the rule is known by its shape. */
export function dataAccessRule(base: string, syncUserDn: string, level: 'read' | 'write'): string {
  return `to dn.subtree=${quotedDn(base)} by dn.exact=${quotedDn(syncUserDn)} ${level} by * break`;
}

/** The rule on the accesslog database: the sync user reads, and (on a database this tool creates) nobody else. */
export function accesslogAccessRule(syncUserDn: string, others: 'none' | 'break'): string {
  return `to * by dn.exact=${quotedDn(syncUserDn)} read by * ${others}`;
}

/** `{3}to * by ...` -> index 3 and the rule text. */
export function splitOrdered(value: string): { index: number | undefined; text: string } {
  const match = /^\{(\d+)\}(.*)$/s.exec(value);
  return match === null ? { index: undefined, text: value } : { index: Number(match[1]), text: match[2] ?? '' };
}

interface DataRule {
  readonly value: string;
  readonly level: string;
}

/** Our data rules for `base` and the sync user among a database's olcAccess values. */
export function findDataRules(values: readonly string[], base: string, syncUserDn: string): DataRule[] {
  const found: DataRule[] = [];
  for (const value of values) {
    const { text } = splitOrdered(value);
    const match = /^to\s+dn\.subtree="([^"]*)"\s+by\s+dn\.exact="([^"]*)"\s+(\w+)\s+by\s+\*\s+break\s*$/i.exec(
      text.trim(),
    );
    if (match === null) continue;
    if (sameDn(match[1] ?? '', base) && sameDn(match[2] ?? '', syncUserDn)) {
      found.push({ value, level: (match[3] ?? '').toLowerCase() });
    }
  }
  return found;
}

function rank(level: string): number {
  return LEVELS.indexOf(level as (typeof LEVELS)[number]);
}

function hasObjectClass(entry: Entry, objectClass: string): boolean {
  return valuesOf(entry, 'objectClass').some((v) => v.toLowerCase() === objectClass.toLowerCase());
}

/** `{1}accesslog.la`, `/usr/lib/ldap/accesslog.so` -> `accesslog`. */
function moduleName(value: string): string {
  const file = splitOrdered(value).text.trim().split('/').pop() ?? '';
  return file.replace(/\.(la|so)$/i, '').toLowerCase();
}

interface ConfigView {
  /** Every database entry (the config and frontend databases too); `databases` are those with a suffix. */
  readonly allDatabases: readonly Entry[];
  readonly databases: readonly Entry[];
  readonly moduleLists: readonly Entry[];
  readonly accesslogOverlays: readonly Entry[];
  /** Every overlay entry: their `{n}` positions matter when one is added before another or deleted. */
  readonly overlays: readonly Entry[];
  /** The `{n}` a database added now gets: one past the highest (frontend and config included). */
  readonly nextDatabaseIndex: number;
}

function configView(observed: Observation): ConfigView {
  const entries = observed.found(CONFIG_SEARCH);
  const allDatabases = entries.filter((e) => hasObjectClass(e, 'olcDatabaseConfig'));
  const indexes = allDatabases.map((e) => splitOrdered(firstValue(e, 'olcDatabase') ?? '').index ?? 0);
  return {
    allDatabases,
    databases: allDatabases.filter((e) => valuesOf(e, 'olcSuffix').length > 0),
    moduleLists: entries.filter((e) => hasObjectClass(e, 'olcModuleList')),
    accesslogOverlays: entries.filter((e) => hasObjectClass(e, 'olcAccessLogConfig')),
    overlays: entries.filter((e) => hasObjectClass(e, 'olcOverlayConfig')),
    nextDatabaseIndex: Math.max(0, ...indexes) + 1,
  };
}

function isModuleLoaded(view: ConfigView, name: string): boolean {
  return view.moduleLists.some((list) => valuesOf(list, 'olcModuleLoad').some((v) => moduleName(v) === name));
}

function suffixOf(database: Entry): string {
  return firstValue(database, 'olcSuffix') ?? database.dn;
}

/** The database whose suffix holds `dn` (the most specific one when suffixes nest). */
function databaseFor(view: ConfigView, dn: string): Entry | undefined {
  let best: { entry: Entry; depth: number } | undefined;
  for (const database of view.databases) {
    for (const suffix of valuesOf(database, 'olcSuffix')) {
      if (!isWithin(dn, suffix)) continue;
      const depth = parseDn(suffix).length;
      if (best === undefined || depth > best.depth) best = { entry: database, depth };
    }
  }
  return best?.entry;
}

/**
 * What root can apply with `ldapmodify -Y EXTERNAL -H ldapi:///` when the admin may not read cn=config: the
 * sync user (password masked), the access rules and, on a source, the change log. Database DNs cannot be known
 * without reading cn=config, so they are placeholders that ldapmodify rejects until they are filled in.
 */
function ldapiHint(
  target: PrepareTarget,
  observed: Observation,
  syncUser: Record<string, string[]> | undefined,
): string {
  const level = target.roles.destination ? 'write' : 'read';
  const placeholder = (base: string): string => `<DN of the database serving ${base}>`;
  const blocks: string[] = [
    "# Fill in each <...> placeholder; find a database DN with:\n#   ldapsearch -Y EXTERNAL -H ldapi:/// -b cn=config -LLL '(olcSuffix=<base DN>)' dn",
  ];
  if (syncUser !== undefined && observed.entry(target.syncUserDn) === undefined) {
    blocks.push(
      renderLdif([{ kind: 'add', dn: target.syncUserDn, attributes: syncUser }]) +
        '\n# (set the real password with ldappasswd afterwards)',
    );
  }
  for (const base of target.baseDns) {
    blocks.push(
      [
        `dn: ${placeholder(base)}`,
        'changetype: modify',
        'add: olcAccess',
        `olcAccess: {0}${dataAccessRule(base, target.syncUserDn, level)}`,
        '-',
        'add: olcLimits',
        `olcLimits: {0}${limitsRule(target.syncUserDn)}`,
        '-',
      ].join('\n'),
    );
  }
  if (target.roles.source) {
    const purge = purgeValue(target.changelogMaxAgeSeconds);
    const logOld = logOldAttributes(target.deletedEntryAttributes ?? []);
    blocks.push(
      '# the change log: load accesslog and syncprov (skip those loaded), a cn=accesslog database with syncprov for ' +
        'delta-syncrepl, then on each data database syncprov and the accesslog overlay (entryCSN,entryUUID eq indexes needed)',
      [
        'dn: cn=module{0},cn=config',
        'changetype: modify',
        'add: olcModuleLoad',
        'olcModuleLoad: accesslog',
        'olcModuleLoad: syncprov',
        '-',
      ].join('\n'),
      [
        'dn: olcDatabase=mdb,cn=config',
        'changetype: add',
        'objectClass: olcDatabaseConfig',
        'objectClass: olcMdbConfig',
        'olcDatabase: mdb',
        `olcSuffix: ${ACCESSLOG_SUFFIX}`,
        `olcDbDirectory: ${target.accesslogDirectory ?? '<existing empty folder slapd can write>'}`,
        `olcRootDN: ${ACCESSLOG_SUFFIX}`,
        'olcDbIndex: default eq',
        'olcDbIndex: entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN eq',
        `olcAccess: {0}${accesslogAccessRule(target.syncUserDn, 'none')}`,
        `olcLimits: {0}${limitsRule(target.syncUserDn)}`,
      ].join('\n'),
      [
        'dn: olcOverlay=syncprov,<DN of the cn=accesslog database>',
        'changetype: add',
        ...Object.entries(syncprovOnLogAttributes()).flatMap(([name, values]) => values.map((v) => `${name}: ${v}`)),
      ].join('\n'),
      ...target.baseDns.flatMap((base) => [
        [
          `dn: olcOverlay=syncprov,${placeholder(base)}`,
          'changetype: add',
          'objectClass: olcOverlayConfig',
          'objectClass: olcSyncProvConfig',
          'olcOverlay: syncprov',
          'olcSpCheckpoint: 100 10',
        ].join('\n'),
        [
          `dn: olcOverlay=accesslog,${placeholder(base)}`,
          'changetype: add',
          'objectClass: olcOverlayConfig',
          'objectClass: olcAccessLogConfig',
          'olcOverlay: accesslog',
          `olcAccessLogDB: ${ACCESSLOG_SUFFIX}`,
          'olcAccessLogOps: writes',
          'olcAccessLogSuccess: TRUE',
          `olcAccessLogPurge: ${purge}`,
          ...Object.entries(logOld).flatMap(([name, values]) => values.map((v) => `${name}: ${v}`)),
        ].join('\n'),
      ]),
    );
  }
  return blocks.join('\n\n');
}

/** This tool's read rules for the sync user on the accesslog database (`to * by dn.exact=... read by * none|break`). */
function findAccesslogRules(values: readonly string[], syncUserDn: string): string[] {
  return values.filter((value) => {
    const match = /^to\s+\*\s+by\s+dn\.exact="([^"]*)"\s+read\s+by\s+\*\s+(none|break)\s*$/i.exec(
      splitOrdered(value).text.trim(),
    );
    return match !== null && sameDn(match[1] ?? '', syncUserDn);
  });
}

/**
 * Ordered values to delete in one modify, highest index first. slapd matches `{n}text` by index and text, and
 * renumbers what follows each value it deletes: highest first, no value moves before its own delete.
 */
function highestIndexFirst(values: readonly string[]): string[] {
  return [...values].sort((a, b) => (splitOrdered(b).index ?? -1) - (splitOrdered(a).index ?? -1));
}

/** `olcOverlay={2}accesslog,...` -> 2. */
function overlayIndex(overlay: Entry): number {
  const rdn = /^olcOverlay=\{(\d+)\}/i.exec(overlay.dn);
  return rdn === null ? -1 : Number(rdn[1]);
}

/** Overlay entries, highest index first (the order to delete them in). */
function overlaysByIndexDescending(overlays: readonly Entry[]): Entry[] {
  return [...overlays].sort((a, b) => overlayIndex(b) - overlayIndex(a));
}

/** The databases serving the base DNs, each once. */
function servedDatabases(view: ConfigView, target: PrepareTarget): Entry[] {
  const served = new Map<string, Entry>();
  for (const base of target.baseDns) {
    const database = databaseFor(view, base);
    if (database !== undefined) served.set(normalizeDn(database.dn), database);
  }
  return [...served.values()];
}

/** An overlay's purge age in seconds (`olcAccessLogPurge: <age> <interval>`); undefined when unset or 0. */
function purgeAgeOf(overlay: Entry | undefined): number | undefined {
  const age = (firstValue(overlay, 'olcAccessLogPurge') ?? '').trim().split(/\s+/)[0];
  const seconds = parseServerDuration(age ?? '');
  return seconds === undefined || seconds <= 0 ? undefined : seconds;
}

/** `olcAccessLogPurge` for an age: purge entries older than it, checking at least once a day. */
function purgeValue(age: number): string {
  return `${formatAccessLogPurge(age)} ${formatAccessLogPurge(Math.min(age, DAY))}`;
}

/**
 * The accesslog overlay on a data database: successful writes only, into cn=accesslog, purged by age; deletes
 * log the old entry and modifies its object classes and entryUUID (and the extra attributes asked for).
 */
function overlayAdd(databaseDn: string, purge: string, deletedEntryAttributes: readonly string[]): Change {
  return {
    kind: 'add',
    dn: `olcOverlay=accesslog,${databaseDn}`,
    attributes: {
      objectClass: ['olcOverlayConfig', 'olcAccessLogConfig'],
      olcOverlay: ['accesslog'],
      olcAccessLogDB: [ACCESSLOG_SUFFIX],
      olcAccessLogOps: ['writes'],
      olcAccessLogSuccess: ['TRUE'],
      olcAccessLogPurge: [purge],
      ...logOldAttributes(deletedEntryAttributes),
    },
  };
}

export class OpenLdapProfile implements ServerProfile {
  public readonly family = 'openldap';
  public readonly productName = 'OpenLDAP';
  public readonly topology = new OpenLdapTopologyReading();
  public readonly baseDnAttributes = ['objectClass'] as const;
  public readonly passwordAttribute = 'userPassword';
  public readonly changeNumberAttributes = [] as const;

  public defaultSyncUserDn(baseDns: readonly string[]): string {
    return syncUserUnderBase(baseDns);
  }

  public reads(): ReadRequest[] {
    return [];
  }

  public searches(): SearchRequest[] {
    return [
      {
        key: CONFIG_SEARCH,
        base: 'cn=config',
        scope: 'sub',
        filter: '(|(objectClass=olcDatabaseConfig)(objectClass=olcModuleList)(objectClass=olcOverlayConfig))',
        attributes: [
          'objectClass',
          'olcDatabase',
          'olcSuffix',
          'olcRootDN',
          'olcAccess',
          'olcModuleLoad',
          'olcDbDirectory',
          'olcAccessLogDB',
          'olcAccessLogOps',
          'olcAccessLogSuccess',
          'olcAccessLogPurge',
          'olcDisabled',
          ...CONFIG_ATTRIBUTES,
        ],
      },
    ];
  }

  public syncUserEntry(dn: string, password: string): Record<string, string[]> {
    return personEntry(dn, password);
  }

  /** Two overlay adds both succeed (slapd numbers them {0}, {1}...): a run checks again after its writes. */
  public readonly settlesAfterWrites = true;

  /**
   * The root DN of every database: slapd lets it do anything in its database, and binds it with the password of
   * an entry of that DN when there is one, so an account made there would open the root DN.
   */
  public administratorDns(_target: PrepareTarget, observed: Observation): { dn: string; what: string }[] {
    return configView(observed).allDatabases.flatMap((database) =>
      valuesOf(database, 'olcRootDN').map((dn) => ({ dn, what: `olcRootDN of ${database.dn}` })),
    );
  }

  public planAccess(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const view = configView(observed);
    if (view.databases.length === 0) {
      throw new PrepareError(
        ResultCode.INSUFFICIENT_ACCESS,
        'The admin may not read cn=config, where OpenLDAP keeps access rules',
        'bind as an account with manage rights on cn=config, or have root apply the LDIF below with ldapmodify -Y EXTERNAL -H ldapi:///',
        { details: ldapiHint(target, observed, this.syncUserEntry(target.syncUserDn, '')) },
      );
    }
    const level = target.roles.destination ? 'write' : 'read';
    const access = target.baseDns.map((base): PlannedStep => {
      const id = `olcaccess:${base}`;
      const title = `${level === 'write' ? 'Write' : 'Read'} access for the sync user on '${base}'`;
      const database = databaseFor(view, base);
      if (database === undefined) {
        throw new PrepareError(
          ResultCode.UNWILLING_TO_PERFORM,
          `No database in cn=config serves '${base}'`,
          'check --baseDN against the olcSuffix values in cn=config',
        );
      }
      const ours = findDataRules(valuesOf(database, 'olcAccess'), base, target.syncUserDn);
      const strongEnough = ours.filter((rule) => rank(rule.level) >= rank(level));
      const wanted = `{0}${dataAccessRule(base, target.syncUserDn, level)}`;
      if (strongEnough.length === 1 && ours.length === 1) {
        return unchanged({ id, title }, `olcAccess rule on ${database.dn} grants ${ours[0]?.level}`);
      }
      const keep = strongEnough[0];
      const drop = highestIndexFirst(ours.filter((rule) => rule !== keep).map((rule) => rule.value));
      const modifications: Modification[] = [
        ...(drop.length > 0 ? [{ operation: 'delete' as const, attribute: 'olcAccess', values: drop }] : []),
        ...(keep === undefined ? [{ operation: 'add' as const, attribute: 'olcAccess', values: [wanted] }] : []),
      ];
      return changed(
        { id, title },
        ours.length === 0 ? 'created' : 'updated',
        ours.length === 0
          ? `olcAccess rule added first on ${database.dn}, falling through (by * break) to the existing rules`
          : keep === undefined
            ? `olcAccess rule on ${database.dn} set to ${level}`
            : `${drop.length} duplicate olcAccess rule${drop.length === 1 ? '' : 's'} removed from ${database.dn}`,
        [{ kind: 'modify', dn: database.dn, modifications }],
      );
    });
    // A full resync reads every entry: past the 500-entry default and the paged-results total too.
    const limits = servedDatabases(view, target).map((database) =>
      planLimitsOn(database, suffixOf(database), target.syncUserDn),
    );
    return [...access, ...limits];
  }

  public planChangelog(target: PrepareTarget, observed: Observation): PlannedStep[] {
    const view = configView(observed);
    const steps: PlannedStep[] = [];

    // Debian and most packages build overlays as modules: accesslog and syncprov must be loaded before they can be configured.
    steps.push(planModule('accesslog', view.moduleLists, isModuleLoaded(view, 'accesslog')));
    steps.push(planModule('syncprov', view.moduleLists, isModuleLoaded(view, 'syncprov')));

    const logDatabase = databaseFor(view, ACCESSLOG_SUFFIX);
    const logIsOwn =
      logDatabase !== undefined && valuesOf(logDatabase, 'olcSuffix').some((s) => sameDn(s, ACCESSLOG_SUFFIX));
    if (logDatabase === undefined || !logIsOwn) {
      if (target.accesslogDirectory === undefined) {
        throw new PrepareError(
          ResultCode.PARAM_ERROR,
          'This OpenLDAP server has no cn=accesslog database to use as the change log',
          'pass --accesslogDirectory with an existing, empty folder on the server that slapd can write (slapd cannot create it)',
        );
      }
      // Added with its `{n}`, so the syncprov overlay for delta-syncrepl can be added under it in the same run.
      const logDatabaseDn = `olcDatabase={${view.nextDatabaseIndex}}mdb,cn=config`;
      steps.push(
        changed(
          { id: 'accesslog:database', title: `Creating the '${ACCESSLOG_SUFFIX}' database` },
          'created',
          `mdb in ${target.accesslogDirectory}, readable by the sync user only, with no search limits for it`,
          [
            {
              kind: 'add',
              dn: logDatabaseDn,
              attributes: {
                objectClass: ['olcDatabaseConfig', 'olcMdbConfig'],
                olcDatabase: [`{${view.nextDatabaseIndex}}mdb`],
                olcSuffix: [ACCESSLOG_SUFFIX],
                olcDbDirectory: [target.accesslogDirectory],
                olcRootDN: [ACCESSLOG_SUFFIX],
                olcDbIndex: ['default eq', 'entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN eq'],
                olcAccess: [`{0}${accesslogAccessRule(target.syncUserDn, 'none')}`],
                olcLimits: [`{0}${limitsRule(target.syncUserDn)}`],
              },
            },
            { kind: 'add', dn: `olcOverlay=syncprov,${logDatabaseDn}`, attributes: syncprovOnLogAttributes() },
          ],
        ),
      );
    } else {
      steps.push(this.planAccesslogRead(target, logDatabase));
      steps.push(planLimitsOn(logDatabase, ACCESSLOG_SUFFIX, target.syncUserDn));
      steps.push(planIndexes(logDatabase, ACCESSLOG_SUFFIX, ['entryCSN']));
    }

    for (const database of servedDatabases(view, target)) {
      // syncprov goes before the accesslog overlay (the admin guide's delta-syncrepl provider). A new syncprov is
      // inserted at the accesslog overlay's position, which renumbers it: so after any write to that overlay.
      const overlay = this.planOverlay(database, view, target);
      const syncprov = [
        planIndexes(database, suffixOf(database), ['entryCSN', 'entryUUID']),
        planSyncprovOnData(database, suffixOf(database), view.overlays),
      ];
      const logsAlready = view.accesslogOverlays.some((o) => sameDn(parentDn(o.dn) ?? '', database.dn));
      steps.push(...(logsAlready ? [overlay, ...syncprov] : [...syncprov, overlay]));
    }
    if (logDatabase !== undefined && logIsOwn) steps.push(planSyncprovOnLog(logDatabase.dn, view.overlays));
    return steps;
  }

  /** The purge age of the first accesslog overlay on a database serving a base DN (undefined when none is set). */
  public currentChangelogMaxAge(target: PrepareTarget, observed: Observation): number | undefined {
    const view = configView(observed);
    for (const database of servedDatabases(view, target)) {
      const overlay = view.accesslogOverlays.find((o) => sameDn(parentDn(o.dn) ?? '', database.dn));
      const age = purgeAgeOf(overlay);
      if (age !== undefined) return age;
    }
    return undefined;
  }

  public planRemoval(target: PrepareTarget, observed: Observation, disableChangelog: boolean): PlannedStep[] {
    const view = configView(observed);
    if (view.databases.length === 0) {
      throw new PrepareError(
        ResultCode.INSUFFICIENT_ACCESS,
        'The admin may not read cn=config, where OpenLDAP keeps access rules',
        'bind as an account with manage rights on cn=config',
      );
    }
    const steps: PlannedStep[] = [];
    for (const base of target.baseDns) {
      const database = databaseFor(view, base);
      const ours =
        database === undefined ? [] : findDataRules(valuesOf(database, 'olcAccess'), base, target.syncUserDn);
      steps.push(
        database === undefined || ours.length === 0
          ? unchanged(
              { id: `olcaccess:${base}`, title: `Access for the sync user on '${base}'` },
              'no rule of this tool for the sync user',
            )
          : changed(
              { id: `olcaccess:${base}`, title: `Access for the sync user on '${base}'` },
              'updated',
              `olcAccess rule removed from ${database.dn}`,
              [
                {
                  kind: 'modify',
                  dn: database.dn,
                  modifications: [
                    {
                      operation: 'delete',
                      attribute: 'olcAccess',
                      values: highestIndexFirst(ours.map((r) => r.value)),
                    },
                  ],
                },
              ],
            ),
      );
    }
    const logDatabase = view.databases.find((d) => valuesOf(d, 'olcSuffix').some((s) => sameDn(s, ACCESSLOG_SUFFIX)));
    if (logDatabase !== undefined) {
      const ours = highestIndexFirst(findAccesslogRules(valuesOf(logDatabase, 'olcAccess'), target.syncUserDn));
      steps.push(
        ours.length === 0
          ? unchanged(
              { id: 'accesslog:access', title: `Read access on '${ACCESSLOG_SUFFIX}'` },
              'no rule of this tool for the sync user',
            )
          : changed(
              { id: 'accesslog:access', title: `Read access on '${ACCESSLOG_SUFFIX}'` },
              'updated',
              `olcAccess rule removed from ${logDatabase.dn}`,
              [
                {
                  kind: 'modify',
                  dn: logDatabase.dn,
                  modifications: [{ operation: 'delete', attribute: 'olcAccess', values: ours }],
                },
              ],
            ),
      );
    }
    for (const database of servedDatabases(view, target))
      steps.push(planLimitsRemoval(database, suffixOf(database), target.syncUserDn));
    if (logDatabase !== undefined) steps.push(planLimitsRemoval(logDatabase, ACCESSLOG_SUFFIX, target.syncUserDn));
    if (disableChangelog) {
      // Deleting the overlay is what slapd 2.5 handles live; toggling olcDisabled on it aborts slapd. Deleting an
      // overlay renumbers the ones after it, so on each database they go from the last position to the first.
      const deletions: { database: string; index: number; step: PlannedStep }[] = [];
      for (const overlay of view.accesslogOverlays) {
        if (!sameDn(firstValue(overlay, 'olcAccessLogDB') ?? '', ACCESSLOG_SUFFIX)) continue;
        deletions.push({
          database: normalizeDn(parentDn(overlay.dn) ?? ''),
          index: splitOrdered(firstValue(overlay, 'olcOverlay') ?? '').index ?? 0,
          step: changed(
            { id: `accesslog:overlay:${overlay.dn}`, title: `Logging to '${ACCESSLOG_SUFFIX}'` },
            'updated',
            `${overlay.dn} deleted; the log database and its entries are kept`,
            [{ kind: 'delete', dn: overlay.dn }],
          ),
        });
      }
      for (const database of [...servedDatabases(view, target), ...(logDatabase === undefined ? [] : [logDatabase])]) {
        for (const { index, step } of planSyncprovRemoval(database, suffixOf(database), view.overlays)) {
          deletions.push({ database: normalizeDn(database.dn), index, step });
        }
      }
      deletions.sort((a, b) => a.database.localeCompare(b.database) || b.index - a.index);
      steps.push(...deletions.map((deletion) => deletion.step));
    }
    return steps;
  }

  public changeSource(target: PrepareTarget): ChangeSource {
    return {
      dn: ACCESSLOG_SUFFIX,
      note:
        'OpenLDAP exposes no firstChangeNumber/lastChangeNumber in the root DSE: a PingDataSync source on it needs a ' +
        'custom change detector (Server SDK) reading cn=accesslog; RFC 4533 consumers (slapd syncrepl, refreshAndPersist ' +
        'or delta-syncrepl from cn=accesslog) can bind as the sync user',
      mayNotExistYet: {
        explanation: `'${ACCESSLOG_SUFFIX}' has no entry yet: slapd adds the log's root entry in the background once the overlay starts, then one entry per logged write`,
        refreshBase: target.baseDns[0] ?? '',
        ruleBase: 'cn=config',
        ruleFilter: `(olcSuffix=${ACCESSLOG_SUFFIX})`,
        ruleAttribute: 'olcAccess',
        hasRule: (values) =>
          values.some((value) => {
            const match = /^to\s+\*\s+by\s+dn\.exact="([^"]*)"\s+(\w+)\b/i.exec(splitOrdered(value).text.trim());
            return (
              match !== null &&
              sameDn(match[1] ?? '', target.syncUserDn) &&
              rank((match[2] ?? '').toLowerCase()) >= rank('read')
            );
          }),
      },
    };
  }

  public explainMissingChangeNumbers(): string {
    return `check that the '${ACCESSLOG_SUFFIX}' database exists and that its olcAccess lets the sync user read it`;
  }

  private planAccesslogRead(target: PrepareTarget, logDatabase: Entry): PlannedStep {
    const id = 'accesslog:access';
    const title = `Read access for the sync user on '${ACCESSLOG_SUFFIX}'`;
    const granting = valuesOf(logDatabase, 'olcAccess').filter((value) => {
      const match = /^to\s+\*\s+by\s+dn\.exact="([^"]*)"\s+(\w+)\b/i.exec(splitOrdered(value).text.trim());
      return (
        match !== null &&
        sameDn(match[1] ?? '', target.syncUserDn) &&
        rank((match[2] ?? '').toLowerCase()) >= rank('read')
      );
    });
    // A second rule of this tool's shape for the sync user (two runs at once, or the same rule in another DN
    // spelling) is taken away; the first one, and every rule of another shape, stays.
    const ours = findAccesslogRules(valuesOf(logDatabase, 'olcAccess'), target.syncUserDn);
    const keep = granting[0];
    const duplicates = ours.filter((value) => value !== keep);
    if (keep !== undefined && duplicates.length > 0) {
      return changed(
        { id, title },
        'updated',
        `${duplicates.length} duplicate olcAccess rule${duplicates.length === 1 ? '' : 's'} removed from ${logDatabase.dn}`,
        [
          {
            kind: 'modify',
            dn: logDatabase.dn,
            modifications: [{ operation: 'delete', attribute: 'olcAccess', values: highestIndexFirst(duplicates) }],
          },
        ],
      );
    }
    if (keep !== undefined) {
      return unchanged({ id, title }, `olcAccess rule on ${logDatabase.dn}`);
    }
    return changed({ id, title }, 'created', `olcAccess rule added first on ${logDatabase.dn}`, [
      {
        kind: 'modify',
        dn: logDatabase.dn,
        modifications: [
          {
            operation: 'add',
            attribute: 'olcAccess',
            values: [`{0}${accesslogAccessRule(target.syncUserDn, 'break')}`],
          },
        ],
      },
    ]);
  }

  private planOverlay(database: Entry, view: ConfigView, target: PrepareTarget): PlannedStep {
    const id = `accesslog:overlay:${database.dn}`;
    const suffix = firstValue(database, 'olcSuffix') ?? database.dn;
    const title = `Logging writes to '${suffix}' in '${ACCESSLOG_SUFFIX}'`;
    const onDatabase = overlaysByIndexDescending(
      view.accesslogOverlays.filter((o) => sameDn(parentDn(o.dn) ?? '', database.dn)),
    ).reverse();
    const toOurLog = onDatabase.filter((o) => sameDn(firstValue(o, 'olcAccessLogDB') ?? '', ACCESSLOG_SUFFIX));
    if (toOurLog.length > 1) {
      // Two runs at once each added one (slapd numbers them, so both adds succeed): the first stays, the others
      // go, highest index first (see planRemoval); the next run's plan checks what is left.
      const duplicates = overlaysByIndexDescending(toOurLog.slice(1));
      return changed(
        { id, title },
        'updated',
        `${duplicates.length} duplicate accesslog overlay${duplicates.length === 1 ? '' : 's'} deleted (${duplicates.map((o) => o.dn).join(', ')})`,
        duplicates.map((o): Change => ({ kind: 'delete', dn: o.dn })),
      );
    }
    const overlay = toOurLog[0] ?? onDatabase[0];
    const retention = decideRetention(purgeAgeOf(overlay), wantedRetention(target));
    const purge = purgeValue(retention.seconds);
    const retentionWarnings = retention.warning === undefined ? [] : [retention.warning];
    const extra = target.deletedEntryAttributes ?? [];
    if (overlay === undefined) {
      return changed(
        { id, title },
        'created',
        `accesslog overlay, successful writes only, purge ${purge}, deletes with the old entry`,
        [overlayAdd(database.dn, purge, extra)],
      );
    }
    const logDb = firstValue(overlay, 'olcAccessLogDB') ?? '';
    if (!sameDn(logDb, ACCESSLOG_SUFFIX)) {
      return manual({ id, title }, `an accesslog overlay already logs to '${logDb}'`, [
        `${overlay.dn} logs to '${logDb}', not '${ACCESSLOG_SUFFIX}': it was left alone; point the sync server at '${logDb}' or reconfigure it by hand`,
      ]);
    }
    if (/^true$/i.test(firstValue(overlay, 'olcDisabled') ?? '')) {
      // slapd 2.5 aborts (accesslog_db_root assertion) when olcDisabled is modified on an accesslog overlay,
      // so a disabled overlay is deleted and created again, which it handles live.
      return changed({ id, title }, 'updated', `${overlay.dn} was disabled: re-created enabled, purge ${purge}`, [
        { kind: 'delete', dn: overlay.dn },
        overlayAdd(database.dn, purge, extra),
      ]);
    }
    const modifications: Modification[] = [];
    const ops = valuesOf(overlay, 'olcAccessLogOps').flatMap((v) => v.toLowerCase().split(/\s+/));
    if (!ops.includes('writes') && !['add', 'delete', 'modify', 'modrdn'].every((op) => ops.includes(op))) {
      modifications.push({ operation: 'add', attribute: 'olcAccessLogOps', values: ['writes'] });
    }
    if (!/^true$/i.test(firstValue(overlay, 'olcAccessLogSuccess') ?? '')) {
      modifications.push({ operation: 'replace', attribute: 'olcAccessLogSuccess', values: ['TRUE'] });
    }
    // A kept age keeps its purge interval too; a new age is checked at least daily.
    const currentInterval = (firstValue(overlay, 'olcAccessLogPurge') ?? '').trim().split(/\s+/)[1];
    if (
      retention.change ||
      (!retention.kept && parseServerDuration(currentInterval ?? '') !== Math.min(retention.seconds, DAY))
    ) {
      modifications.push({ operation: 'replace', attribute: 'olcAccessLogPurge', values: [purge] });
    }
    const logOld = logOldChanges(overlay, extra);
    modifications.push(...logOld.modifications);
    if (modifications.length === 0) {
      const shown = retention.kept ? `${firstValue(overlay, 'olcAccessLogPurge') ?? purge}, ${KEPT_NOTE}` : purge;
      return unchangedUnlessWarned({ id, title }, `accesslog overlay, purge ${shown}`, logOld.warnings);
    }
    return changed(
      { id, title },
      'updated',
      `${modifications.map((m) => m.attribute).join(', ')} on ${overlay.dn}${modifications.some((m) => m.attribute === 'olcAccessLogPurge') ? ` (purge ${purge}, was ${firstValue(overlay, 'olcAccessLogPurge') ?? 'unset'})` : ''}`,
      [{ kind: 'modify', dn: overlay.dn, modifications }],
      { warnings: [...retentionWarnings, ...logOld.warnings] },
    );
  }
}
