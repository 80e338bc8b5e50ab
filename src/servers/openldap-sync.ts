/**
 * What a sync engine needs of OpenLDAP beyond rights and the access log: the sync user exempt from search limits
 * (olcLimits) on each database it reads, an RFC 4533 provider (the syncprov overlay, its module and the
 * entryCSN/entryUUID equality indexes it searches by) on the synced databases and on cn=accesslog for
 * delta-syncrepl, and delete records that carry the deleted entry (olcAccessLogOld, olcAccessLogOldAttr).
 * Pure planning; openldap.ts wires it into the profile.
 */
import { dnEquals, parentDn, quotableDn } from '../formats/dn.js';
import { firstValue, valuesOf, type Change, type Entry, type Modification } from '../model/entries.js';
import type { PlannedStep } from '../model/plan.js';
import { changed, manual, skipped, unchanged, unchangedUnlessWarned } from '../model/steps.js';

/** slapd.conf(5) `limits`: no size limit (also across the pages of a paged search) and no time limit. */
export const LIMITS = 'size=unlimited size.prtotal=unlimited time=unlimited';

/** The olcLimits value this tool adds for the sync user. Values carry no name: the rule is known by its shape. */
export function limitsRule(syncUserDn: string): string {
  return `dn.exact="${quotableDn(syncUserDn)}" ${LIMITS}`;
}

/** Attributes the config search must return for this module. */
export const CONFIG_ATTRIBUTES = [
  'olcLimits',
  'olcDbIndex',
  'olcOverlay',
  'olcSyncrepl',
  'olcMultiProvider',
  'olcAccessLogOld',
  'olcAccessLogOldAttr',
] as const;

/** Object class of syncprov overlay entries. */
export const SYNCPROV_CLASS = 'olcSyncProvConfig';

/** Deleted and modified entries' attributes the accesslog records always carry: what a sync filters and correlates on. */
export const ALWAYS_LOGGED_OLD = ['objectClass', 'entryUUID'] as const;
const LOG_OLD_FILTER = '(objectClass=*)';

function sameDn(a: string, b: string): boolean {
  try {
    return dnEquals(a, b);
  } catch {
    return false;
  }
}

/** `{3}dn.exact=...` -> 3 and the text. */
function ordered(value: string): { index: number | undefined; text: string } {
  const match = /^\{(\d+)\}(.*)$/s.exec(value);
  return match === null ? { index: undefined, text: value } : { index: Number(match[1]), text: match[2] ?? '' };
}

/** olcLimits values of a database that are this tool's rule for the sync user (any position). */
export function ourLimits(database: Entry, syncUserDn: string): string[] {
  return valuesOf(database, 'olcLimits').filter((value) => {
    const match = /^dn\.exact="([^"]*)"\s+(.*)$/i.exec(ordered(value).text.trim());
    return (
      match !== null &&
      sameDn(match[1] ?? '', syncUserDn) &&
      (match[2] ?? '').trim().split(/\s+/).join(' ').toLowerCase() === LIMITS
    );
  });
}

/**
 * The sync user's limits rule on one database, first: slapd applies the first olcLimits rule that matches the
 * bound DN, so a rule of someone else's before ours would win.
 */
export function planLimitsOn(database: Entry, label: string, syncUserDn: string): PlannedStep {
  const id = `limits:${database.dn}`;
  const title = `Search limits for the sync user on '${label}'`;
  const ours = ourLimits(database, syncUserDn);
  const first =
    valuesOf(database, 'olcLimits').find((value) => ordered(value).index === 0) ?? valuesOf(database, 'olcLimits')[0];
  if (ours.length === 1 && first !== undefined && ours[0] === first) {
    return unchanged({ id, title }, `olcLimits ${LIMITS} first on ${database.dn}`);
  }
  const modifications: Modification[] = [
    ...(ours.length > 0 ? [{ operation: 'delete' as const, attribute: 'olcLimits', values: ours }] : []),
    { operation: 'add', attribute: 'olcLimits', values: [`{0}${limitsRule(syncUserDn)}`] },
  ];
  return changed(
    { id, title },
    ours.length > 0 ? 'updated' : 'created',
    `olcLimits ${LIMITS} ${ours.length > 0 ? 'moved first' : 'added first'} on ${database.dn}`,
    [{ kind: 'modify', dn: database.dn, modifications }],
  );
}

/** `--remove`: our limits rule on one database. */
export function planLimitsRemoval(database: Entry, label: string, syncUserDn: string): PlannedStep {
  const id = `limits:${database.dn}`;
  const title = `Search limits for the sync user on '${label}'`;
  const ours = ourLimits(database, syncUserDn);
  if (ours.length === 0) return unchanged({ id, title }, 'no limits rule of this tool for the sync user');
  return changed({ id, title }, 'updated', `olcLimits rule removed from ${database.dn}`, [
    { kind: 'modify', dn: database.dn, modifications: [{ operation: 'delete', attribute: 'olcLimits', values: ours }] },
  ]);
}

/** Equality-indexed attributes of a database, lower-cased (olcDbIndex: `attr[,attr] [type[,type]]`, `default`). */
function indexTypes(database: Entry): Map<string, string[]> {
  const byAttribute = new Map<string, string[]>();
  let defaults: string[] = [];
  const lines = valuesOf(database, 'olcDbIndex').map((value) => value.trim().split(/\s+/));
  for (const [attributes = '', types] of lines) {
    if (attributes.toLowerCase() === 'default') defaults = (types ?? '').toLowerCase().split(',');
  }
  for (const [attributes = '', types] of lines) {
    if (attributes.toLowerCase() === 'default') continue;
    for (const attribute of attributes.toLowerCase().split(',')) {
      byAttribute.set(attribute, types === undefined ? defaults : types.toLowerCase().split(','));
    }
  }
  return byAttribute;
}

/**
 * Equality indexes syncprov searches by (slapo-syncprov(5)): added for attributes with no index line; an attribute
 * someone indexed another way is reported (slapd refuses a second index line for it, and their line is theirs).
 */
export function planIndexes(database: Entry, label: string, needed: readonly string[]): PlannedStep {
  const id = `index:${database.dn}`;
  const title = `Equality indexes for content sync on '${label}'`;
  const indexed = indexTypes(database);
  const missing = needed.filter((name) => !indexed.has(name.toLowerCase()));
  const otherwise = needed.filter(
    (name) => indexed.has(name.toLowerCase()) && !(indexed.get(name.toLowerCase()) ?? []).includes('eq'),
  );
  const warnings = otherwise.map(
    (name) =>
      `${name} is indexed on ${database.dn} but not for equality (${(indexed.get(name.toLowerCase()) ?? []).join(',') || 'no type'}): ` +
      `syncprov then scans the database; add eq to that olcDbIndex value`,
  );
  if (missing.length === 0) {
    return unchangedUnlessWarned({ id, title }, `${needed.join(', ')} eq`, warnings);
  }
  return changed(
    { id, title },
    'created',
    `olcDbIndex ${missing.join(',')} eq on ${database.dn} (slapd builds it live)`,
    [
      {
        kind: 'modify',
        dn: database.dn,
        modifications: [{ operation: 'add', attribute: 'olcDbIndex', values: [`${missing.join(',')} eq`] }],
      },
    ],
    { warnings },
  );
}

/** The overlays under a database, with their `{n}` positions. */
export function overlaysOf(overlays: readonly Entry[], databaseDn: string): { entry: Entry; index: number }[] {
  return overlays
    .filter((overlay) => sameDn(parentDn(overlay.dn) ?? '', databaseDn))
    .map((entry) => ({
      entry,
      index: ordered(firstValue(entry, 'olcOverlay') ?? /^olcOverlay=([^,]*)/i.exec(entry.dn)?.[1] ?? '').index ?? 0,
    }));
}

function overlayName(entry: Entry): string {
  return ordered(firstValue(entry, 'olcOverlay') ?? '')
    .text.trim()
    .toLowerCase();
}

export function isSyncprov(entry: Entry): boolean {
  return (
    overlayName(entry) === 'syncprov' ||
    valuesOf(entry, 'objectClass').some((c) => c.toLowerCase() === SYNCPROV_CLASS.toLowerCase())
  );
}

/**
 * The syncprov overlay on a data database: placed before the accesslog overlay, as the OpenLDAP admin guide's
 * delta-syncrepl provider does. An existing one is someone's configuration and stays as it is.
 */
export function planSyncprovOnData(database: Entry, label: string, overlays: readonly Entry[]): PlannedStep {
  const id = `syncprov:${database.dn}`;
  const title = `RFC 4533 content sync of '${label}' (syncprov)`;
  const mine = overlaysOf(overlays, database.dn);
  const existing = mine.find(({ entry }) => isSyncprov(entry));
  if (existing !== undefined) return unchanged({ id, title }, existing.entry.dn);
  const accesslog = mine.filter(({ entry }) => overlayName(entry) === 'accesslog').sort((a, b) => a.index - b.index)[0];
  const rdn = accesslog === undefined ? 'syncprov' : `{${accesslog.index}}syncprov`;
  return changed(
    { id, title },
    'created',
    `syncprov overlay on ${database.dn}${accesslog === undefined ? '' : ', before the accesslog overlay'}`,
    [
      {
        kind: 'add',
        dn: `olcOverlay=${rdn},${database.dn}`,
        // A checkpoint every 100 writes or 10 minutes keeps the contextCSN a consumer resumes from current.
        attributes: {
          objectClass: ['olcOverlayConfig', SYNCPROV_CLASS],
          olcOverlay: [rdn],
          olcSpCheckpoint: ['100 10'],
        },
      },
    ],
  );
}

/** syncprov on the accesslog database, for delta-syncrepl consumers (admin guide 18.3.4: no present phase, reload hint). */
export function syncprovOnLogAttributes(): Record<string, string[]> {
  return {
    objectClass: ['olcOverlayConfig', SYNCPROV_CLASS],
    olcOverlay: ['syncprov'],
    olcSpNoPresent: ['TRUE'],
    olcSpReloadHint: ['TRUE'],
  };
}

export function planSyncprovOnLog(logDatabaseDn: string, overlays: readonly Entry[]): PlannedStep {
  const id = `syncprov:${logDatabaseDn}`;
  const title = "Delta-syncrepl from 'cn=accesslog' (syncprov)";
  const existing = overlaysOf(overlays, logDatabaseDn).find(({ entry }) => isSyncprov(entry));
  if (existing !== undefined) return unchanged({ id, title }, existing.entry.dn);
  return changed({ id, title }, 'created', `syncprov overlay on ${logDatabaseDn}, no present phase, reload hint`, [
    { kind: 'add', dn: `olcOverlay=syncprov,${logDatabaseDn}`, attributes: syncprovOnLogAttributes() },
  ]);
}

/** The module step for syncprov, like the accesslog one: only where slapd loads overlays as modules. */
export function planModule(name: string, moduleLists: readonly Entry[], loaded: boolean): PlannedStep {
  const id = `${name}:module`;
  const title = `Loading the ${name} module`;
  const firstList = [...moduleLists].sort((a, b) => a.dn.localeCompare(b.dn))[0];
  if (firstList === undefined) {
    return skipped({ id, title }, `slapd has no module list: ${name} is assumed built in`);
  }
  if (loaded) return unchanged({ id, title }, 'already loaded');
  return changed({ id, title }, 'created', `olcModuleLoad on ${firstList.dn}`, [
    {
      kind: 'modify',
      dn: firstList.dn,
      modifications: [{ operation: 'add', attribute: 'olcModuleLoad', values: [name] }],
    },
  ]);
}

/** olcAccessLogOld and olcAccessLogOldAttr for a new accesslog overlay. */
export function logOldAttributes(extra: readonly string[]): Record<string, string[]> {
  return { olcAccessLogOld: [LOG_OLD_FILTER], olcAccessLogOldAttr: uniqueNames([...ALWAYS_LOGGED_OLD, ...extra]) };
}

/**
 * On an existing accesslog overlay: deletes log the old entry (logold) and modifies always log objectClass and
 * entryUUID (logoldattr), with the extra attributes asked for. A logold filter someone set is theirs: reported.
 */
export function logOldChanges(
  overlay: Entry,
  extra: readonly string[],
): { modifications: Modification[]; warnings: string[] } {
  const modifications: Modification[] = [];
  const warnings: string[] = [];
  const filter = firstValue(overlay, 'olcAccessLogOld');
  if (filter === undefined) {
    modifications.push({ operation: 'add', attribute: 'olcAccessLogOld', values: [LOG_OLD_FILTER] });
  } else if (filter.replace(/\s+/g, '').toLowerCase() !== LOG_OLD_FILTER.toLowerCase()) {
    warnings.push(
      `${overlay.dn} logs old entries only for olcAccessLogOld '${filter}' (someone's setting, left as it is): ` +
        `deletes of other entries are logged with their DN only; set it to ${LOG_OLD_FILTER} if a sync must see every delete`,
    );
  }
  const have = valuesOf(overlay, 'olcAccessLogOldAttr')
    .flatMap((v) => v.split(/[\s,]+/))
    .map((v) => v.toLowerCase());
  const missing = uniqueNames([...ALWAYS_LOGGED_OLD, ...extra]).filter((name) => !have.includes(name.toLowerCase()));
  if (missing.length > 0) modifications.push({ operation: 'add', attribute: 'olcAccessLogOldAttr', values: missing });
  return { modifications, warnings };
}

/**
 * `--remove --disableChangelog`: the syncprov overlays of the synced databases and of cn=accesslog go, except
 * where the database itself replicates (olcSyncrepl, olcMultiProvider): there syncprov serves the replicas too.
 */
export function planSyncprovRemoval(
  database: Entry,
  label: string,
  overlays: readonly Entry[],
): { index: number; step: PlannedStep }[] {
  return overlaysOf(overlays, database.dn)
    .filter(({ entry }) => isSyncprov(entry))
    .map(({ entry, index }) => {
      const id = `syncprov:${database.dn}`;
      const title = `RFC 4533 content sync of '${label}' (syncprov)`;
      const replicates =
        valuesOf(database, 'olcSyncrepl').length > 0 || /^true$/i.test(firstValue(database, 'olcMultiProvider') ?? '');
      if (replicates) {
        return {
          index,
          step: manual({ id, title }, `${entry.dn} kept: ${database.dn} replicates`, [
            `${entry.dn} was kept: ${database.dn} takes part in replication (olcSyncrepl or olcMultiProvider), whose consumers need it`,
          ]),
        };
      }
      const change: Change = { kind: 'delete', dn: entry.dn };
      return { index, step: changed({ id, title }, 'updated', `${entry.dn} deleted`, [change]) };
    });
}

function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.filter((name) => {
    const key = name.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
