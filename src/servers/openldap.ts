/**
 * OpenLDAP. Rights are `olcAccess` rules on the database that serves each base DN, in cn=config; the change
 * source is the accesslog overlay writing to a `cn=accesslog` database (OpenLDAP has no cn=changelog and no
 * root DSE change numbers). Everything is done live over LDAP: slapd never needs a restart for it.
 */
import { formatAccessLogPurge, parseServerDuration } from '../formats/duration.js';
import { decideRetention, KEPT_NOTE, wantedRetention } from './retention.js';
import { isValidDn, isWithin, normalizeDn, parentDn, parseDn, quotableDn } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import { renderLdif } from '../formats/ldif.js';
import { escapeFilterValue } from '../formats/filter.js';
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
  SyncAccountFacts,
} from '../model/plan.js';
import { changed, manual, unchanged, unchangedUnlessWarned } from '../model/steps.js';
import type { AccountPolicyState } from '../model/directory.js';
import {
  comparableRule,
  findGuardRules,
  observedOpenLdapState,
  openLdapPolicyReads,
  planOpenLdapPasswordPolicy,
  planOpenLdapPasswordPolicyRemoval,
  policyGuardRules,
  syncPolicyDn,
} from './openldap-pwpolicy.js';

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

/** Where a policy's ancestors are searched for: every pwdPolicy entry under a base DN (admin's view). */
function policySearchKey(base: string): string {
  return `openldap:policies:${normalizeDn(base)}`;
}

/**
 * The policies whose place a destination sync user may not change: those named by olcPPolicyDefault on the
 * database's ppolicy overlays, every pwdPolicy entry found under the base, and the sync user's own (made in this
 * run when the overlay is on the database that holds the account). A policy whose ancestor is renamed names nothing,
 * and slapo-ppolicy then applies no policy at all.
 */
function placedPolicies(
  view: ConfigView,
  observed: Observation,
  target: PrepareTarget,
  database: Entry,
  base: string,
): string[] {
  const overlayOn = (db: Entry | undefined): Entry[] =>
    db === undefined
      ? []
      : view.overlays.filter((o) => hasObjectClass(o, 'olcPPolicyConfig') && sameDn(parentDn(o.dn) ?? '', db.dn));
  const defaults = overlayOn(database).flatMap((o) => valuesOf(o, 'olcPPolicyDefault'));
  const found = observed.found(policySearchKey(base)).map((e) => e.dn);
  const own = overlayOn(databaseFor(view, target.syncUserDn)).length > 0 ? [syncPolicyDn(target.syncUserDn)] : [];
  return [...defaults, ...found, ...own].filter((dn) => dn.trim() !== '' && isValidDn(dn));
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
 * Without cn=config, what the admin and the sync user can read shows whether the fix printed before was
 * applied: the sync user exists and, on a source, the root DSE names cn=accesslog (whose entries the sync
 * user must then read: the final check). Then the run verifies instead of printing the fix again. Write
 * access cannot be seen without cn=config: a destination's step says so instead of claiming it.
 */
function appliedByHand(target: PrepareTarget, observed: Observation): PlannedStep[] | undefined {
  if (observed.entry(target.syncUserDn) === undefined) return undefined;
  const logServed = valuesOf(observed.rootDse, 'namingContexts').some((dn) => sameDn(dn, ACCESSLOG_SUFFIX));
  if (target.roles.source && !logServed) return undefined;
  return target.baseDns.map((base) =>
    target.roles.destination
      ? manual(
          { id: `olcaccess:${base}`, title: `Write access for the sync user on '${base}'` },
          'cannot be checked: cn=config is not readable by this admin',
          [
            `The sync user's write access on '${base}' cannot be checked without cn=config: if root applied the printed fix it has it; run as root over ldapi with --useSASLExternal to have it checked`,
          ],
        )
      : unchanged(
          { id: `olcaccess:${base}`, title: `Read access for the sync user on '${base}'` },
          'cn=config is not readable by this admin: the sync user reads cn=accesslog at the end',
        ),
  );
}

/** A word for a POSIX shell: single-quoted, a quote inside written '\''. */
function shellWord(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** LDIF for an unquoted here-document: `$`, backquote and backslash keep their meaning; `@@NAME@@` becomes `$NAME`. */
function hereDocument(ldif: string): string {
  return ldif.replace(/[\\$`]/g, (c) => `\\${c}`).replace(/@@([A-Z0-9_]+)@@/g, '$$$1');
}

/** The database DN of an olcSuffix, looked up by root over ldapi (the one command that finds it). */
function lookUp(variable: string, suffix: string): string {
  return (
    `${variable}=$(ldapsearch -Q -LLL -o ldif-wrap=no -Y EXTERNAL -H ldapi:/// -b cn=config ${shellWord(`(olcSuffix=${escapeFilterValue(suffix)})`)} dn | sed -n 's/^dn: //p')\n` +
    `[ -n "$${variable}" ] || { echo "no database in cn=config serves ${suffix.replace(/["$`\\]/g, '')}" >&2; exit 1; }`
  );
}

const ROOT_LDAPMODIFY = 'ldapmodify -Q -Y EXTERNAL -H ldapi:///';

/**
 * The complete fix when the admin may not read cn=config (a stock Debian slapd: only root over ldapi may),
 * split by who can apply it. Part 1 is a script for root on the server: it looks each database's DN up by
 * its suffix (the admin could not read them), then adds the access rules, the entryCSN/entryUUID indexes and,
 * on a source, the change log. Part 2 is for the admin who ran this: the sync user's entry (ldapadd) and its
 * password (ldappasswd prompts for it: no password is ever printed). A re-run then verifies (planAccess).
 */
function handFix(target: PrepareTarget, observed: Observation, syncUser: Record<string, string[]> | undefined): string {
  const level = target.roles.destination ? 'write' : 'read';
  const database = (index: number): string => `@@DB${index + 1}@@`;
  const root: string[] = [
    '#!/bin/sh',
    '# Part 1, for root on the server: cn=config is managed by root over ldapi (SASL EXTERNAL).',
    '# Save it as a file and run it as root: sh FILE',
    'set -e',
    ...target.baseDns.map((base, index) => lookUp(`DB${index + 1}`, base)),
  ];
  /** One ldapmodify as root; `orElse` runs when it fails (a value that is there already). */
  const modify = (ldif: string, orElse?: string): string =>
    `${ROOT_LDAPMODIFY} <<EOF${orElse === undefined ? '' : ` || echo ${shellWord(orElse)}`}\n${hereDocument(ldif)}\nEOF`;
  root.push(
    modify(
      target.baseDns
        .map((base, index) =>
          [
            `dn: ${database(index)}`,
            'changetype: modify',
            'add: olcAccess',
            `olcAccess: {0}${dataAccessRule(base, target.syncUserDn, level)}`,
            '-',
            'add: olcLimits',
            `olcLimits: {0}${limitsRule(target.syncUserDn)}`,
            '-',
          ].join('\n'),
        )
        .join('\n\n'),
    ),
  );
  if (target.roles.source) {
    const purge = purgeValue(target.changelogMaxAgeSeconds);
    const logOld = logOldAttributes(target.deletedEntryAttributes ?? []);
    const attributeLines = (attributes: Record<string, string[]>): string[] =>
      Object.entries(attributes).flatMap(([name, values]) => values.map((v) => `${name}: ${v}`));
    const served = valuesOf(observed.rootDse, 'namingContexts').some((dn) => sameDn(dn, ACCESSLOG_SUFFIX));
    root.push(
      '# Content sync needs equality indexes on entryCSN and entryUUID (a database that has them already says so).',
      ...target.baseDns.map((_base, index) =>
        modify(
          [
            `dn: ${database(index)}`,
            'changetype: modify',
            'add: olcDbIndex',
            'olcDbIndex: entryCSN,entryUUID eq',
            '-',
          ].join('\n'),
          'the entryCSN/entryUUID indexes exist already',
        ),
      ),
      '# The overlays as modules (Debian builds them so); a module loaded already says so.',
      ...['accesslog', 'syncprov'].map((module) =>
        modify(
          [
            'dn: cn=module{0},cn=config',
            'changetype: modify',
            'add: olcModuleLoad',
            `olcModuleLoad: ${module}`,
            '-',
          ].join('\n'),
          `the ${module} module is loaded already`,
        ),
      ),
    );
    if (served) {
      root.push(
        `# '${ACCESSLOG_SUFFIX}' exists: the sync user gets read access to it.`,
        lookUp('LOGDB', ACCESSLOG_SUFFIX),
        modify(
          [
            'dn: @@LOGDB@@',
            'changetype: modify',
            'add: olcAccess',
            `olcAccess: {0}${accesslogAccessRule(target.syncUserDn, 'break')}`,
            '-',
          ].join('\n'),
        ),
      );
    } else {
      const folder = target.accesslogDirectory;
      root.push(
        `# A '${ACCESSLOG_SUFFIX}' database in its own folder, owned like the data's, readable by the sync user only.`,
        ...(folder === undefined
          ? [
              'LOGDIR=/var/lib/ldap-accesslog',
              'DATADIR=$(ldapsearch -Q -LLL -o ldif-wrap=no -Y EXTERNAL -H ldapi:/// -b "$DB1" -s base olcDbDirectory | sed -n \'s/^olcDbDirectory: //p\')',
              'mkdir -p "$LOGDIR" && chown --reference="$DATADIR" "$LOGDIR" && chmod 700 "$LOGDIR"',
            ]
          : [`LOGDIR=${shellWord(folder)}`]),
        modify(
          [
            'dn: olcDatabase=mdb,cn=config',
            'changetype: add',
            'objectClass: olcDatabaseConfig',
            'objectClass: olcMdbConfig',
            'olcDatabase: mdb',
            `olcSuffix: ${ACCESSLOG_SUFFIX}`,
            'olcDbDirectory: @@LOGDIR@@',
            `olcRootDN: ${ACCESSLOG_SUFFIX}`,
            'olcDbIndex: default eq',
            'olcDbIndex: entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN eq',
            `olcAccess: {0}${accesslogAccessRule(target.syncUserDn, 'none')}`,
            `olcLimits: {0}${limitsRule(target.syncUserDn)}`,
          ].join('\n'),
        ),
        lookUp('LOGDB', ACCESSLOG_SUFFIX),
        modify(
          ['dn: olcOverlay=syncprov,@@LOGDB@@', 'changetype: add', ...attributeLines(syncprovOnLogAttributes())].join(
            '\n',
          ),
        ),
      );
    }
    root.push(
      modify(
        target.baseDns
          .flatMap((_base, index) => [
            [
              `dn: olcOverlay=syncprov,${database(index)}`,
              'changetype: add',
              'objectClass: olcOverlayConfig',
              'objectClass: olcSyncProvConfig',
              'olcOverlay: syncprov',
              'olcSpCheckpoint: 100 10',
            ].join('\n'),
            [
              `dn: olcOverlay=accesslog,${database(index)}`,
              'changetype: add',
              'objectClass: olcOverlayConfig',
              'objectClass: olcAccessLogConfig',
              'olcOverlay: accesslog',
              `olcAccessLogDB: ${ACCESSLOG_SUFFIX}`,
              'olcAccessLogOps: writes',
              'olcAccessLogSuccess: TRUE',
              `olcAccessLogPurge: ${purge}`,
              ...attributeLines(logOld),
            ].join('\n'),
          ])
          .join('\n\n'),
      ),
    );
  }
  const blocks = [root.join('\n')];
  if (syncUser !== undefined && observed.entry(target.syncUserDn) === undefined) {
    const connection = target.adminConnection;
    const server =
      connection === undefined
        ? '-H ldap://localhost'
        : `-H ${shellWord(connection.url)}${connection.startTls ? ' -ZZ' : ''}`;
    const admin = connection === undefined ? '' : ` -D ${shellWord(connection.adminDn)}`;
    const { userPassword: _password, ...withoutPassword } = syncUser;
    blocks.push(
      [
        `# Part 2, for ${connection === undefined ? 'the data admin' : `'${connection.adminDn}'`} (it may write the entries): the sync user,`,
        '# then its password (ldappasswd asks for the admin password, then twice for the new one).',
        `ldapadd -x ${server}${admin} -W <<'EOF'`,
        renderLdif([{ kind: 'add', dn: target.syncUserDn, attributes: withoutPassword }]).replace(
          /^changetype: add\n/m,
          '',
        ),
        'EOF',
        `ldappasswd -x ${server}${admin} -W -S ${shellWord(target.syncUserDn)}`,
      ].join('\n'),
    );
  }
  blocks.push('# Then run this command again: it checks what it can see and verifies the sync user.');
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

  public reads(target: PrepareTarget): ReadRequest[] {
    return openLdapPolicyReads(target);
  }

  /** What the ppolicy overlay left on the account: a lock or a must-change flag a bind does not always tell. */
  public observedAccountState(target: PrepareTarget, observed: Observation): AccountPolicyState | undefined {
    return observedOpenLdapState(observed.entry(target.syncUserDn));
  }

  public planPasswordPolicy(target: PrepareTarget, observed: Observation, account: SyncAccountFacts): PlannedStep[] {
    const view = configView(observed);
    const database = databaseFor(view, target.syncUserDn);
    const overlay =
      database === undefined
        ? undefined
        : view.overlays.find((o) => hasObjectClass(o, 'olcPPolicyConfig') && sameDn(parentDn(o.dn) ?? '', database.dn));
    return planOpenLdapPasswordPolicy(target, observed, account, overlay?.dn);
  }

  /** The ppolicy schema is known to slapd (its module loaded, or an overlay configured in a static build). */
  private knowsPasswordPolicies(view: ConfigView): boolean {
    return isModuleLoaded(view, 'ppolicy') || view.overlays.some((o) => hasObjectClass(o, 'olcPPolicyConfig'));
  }

  public searches(target: PrepareTarget): SearchRequest[] {
    return [
      // Only a destination gets guard rules; the search reads the whole base, so a source run skips it.
      ...(target.roles.destination ? target.baseDns : []).map((base) => ({
        key: policySearchKey(base),
        base,
        scope: 'sub' as const,
        filter: '(objectClass=pwdPolicy)',
        attributes: ['1.1'],
      })),
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
          'olcPPolicyDefault',
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
      const applied = appliedByHand(target, observed);
      if (applied !== undefined) return applied;
      throw new PrepareError(
        ResultCode.INSUFFICIENT_ACCESS,
        'The admin may not read cn=config, where OpenLDAP keeps access rules',
        'run this command as root on the server with --hostname ldapi:/// --useSASLExternal (and this --bindDN for the entries), or apply the two parts below',
        { details: handFix(target, observed, this.syncUserEntry(target.syncUserDn, '')) },
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
      const values = valuesOf(database, 'olcAccess');
      const ours = findDataRules(values, base, target.syncUserDn);
      const strongEnough = ours.filter((rule) => rank(rule.level) >= rank(level));
      const wanted = `{0}${dataAccessRule(base, target.syncUserDn, level)}`;
      const keep = strongEnough[0];
      // A destination may never write a password policy: guard rules come before its write rule.
      const guards =
        level === 'write' && this.knowsPasswordPolicies(view)
          ? policyGuardRules(base, target.syncUserDn, placedPolicies(view, observed, target, database, base))
          : [];
      const foundGuards = findGuardRules(values, base, target.syncUserDn);
      const keepIndex = keep === undefined ? undefined : splitOrdered(keep.value).index;
      const wantedGuards = new Set(guards.map(comparableRule));
      const guardsInPlace =
        foundGuards.length === guards.length &&
        foundGuards.every((guard) => wantedGuards.has(comparableRule(splitOrdered(guard.value).text))) &&
        (guards.length === 0 || (keepIndex !== undefined && foundGuards.every((guard) => guard.index < keepIndex)));
      if (strongEnough.length === 1 && ours.length === 1 && guardsInPlace) {
        return unchanged(
          { id, title },
          `olcAccess rule on ${database.dn} grants ${ours[0]?.level}${guards.length > 0 ? ', password policies read-only' : ''}`,
        );
      }
      const drop = highestIndexFirst([
        ...ours.filter((rule) => rule !== keep).map((rule) => rule.value),
        ...(guardsInPlace ? [] : foundGuards.map((guard) => guard.value)),
      ]);
      const modifications: Modification[] = [
        ...(drop.length > 0 ? [{ operation: 'delete' as const, attribute: 'olcAccess', values: drop }] : []),
        ...(keep === undefined ? [{ operation: 'add' as const, attribute: 'olcAccess', values: [wanted] }] : []),
        // Each added at {0}, so they end up first, before the write rule, in the order policyGuardRules gives.
        ...(guardsInPlace
          ? []
          : [...guards]
              .reverse()
              .map((rule) => ({ operation: 'add' as const, attribute: 'olcAccess', values: [`{0}${rule}`] }))),
      ];
      const guardNote =
        guardsInPlace || guards.length === 0
          ? ''
          : "; password policies, their state on accounts, pwdPolicySubentry and the default policy's place made read-only for it";
      return changed(
        { id, title },
        ours.length === 0 ? 'created' : 'updated',
        (ours.length === 0
          ? `olcAccess rule added first on ${database.dn}, falling through (by * break) to the existing rules`
          : keep === undefined
            ? `olcAccess rule on ${database.dn} set to ${level}`
            : drop.length > 0 && ours.length > 1
              ? `${ours.length - 1} duplicate olcAccess rule${ours.length === 2 ? '' : 's'} removed from ${database.dn}`
              : `olcAccess rule on ${database.dn} grants ${keep.level}`) + guardNote,
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
    // Reached without cn=config only once the hand-applied fix shows (appliedByHand): the sync user checks the log.
    if (view.databases.length === 0)
      return [
        unchanged(
          { id: 'accesslog:database', title: `The '${ACCESSLOG_SUFFIX}' database` },
          'served (namingContexts); cn=config is not readable by this admin, so the sync user reads it at the end',
        ),
      ];
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

  public planRemoval(
    target: PrepareTarget,
    observed: Observation,
    disableChangelog: boolean,
    accountKept?: boolean,
  ): PlannedStep[] {
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
        database === undefined
          ? []
          : [
              ...findDataRules(valuesOf(database, 'olcAccess'), base, target.syncUserDn),
              ...findGuardRules(valuesOf(database, 'olcAccess'), base, target.syncUserDn),
            ];
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
    steps.push(planOpenLdapPasswordPolicyRemoval(target, observed, accountKept === true));
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
