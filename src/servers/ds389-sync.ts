/**
 * What a sync engine needs of the Netscape lineage (389 DS, Red Hat DS, Sun/Oracle DSEE) beyond rights and an
 * enabled change log: the sync user exempt from search limits, change records that say what a delete removed
 * and which entry a change is about (a rename changes the DN, not the nsUniqueId), a change log scoped to the
 * base DNs when this tool is the one turning it on, and on a destination the right to write the pre-hashed
 * passwords a sync carries (passwordAdminDN). Pure planning; ds389.ts wires it into the profile.
 */
import { dnEquals, isWithin } from '../formats/dn.js';
import { firstValue, valuesOf, type Change, type Entry, type Modification } from '../model/entries.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest } from '../model/plan.js';
import { changed, manual, unchanged, unchangedUnlessWarned } from '../model/steps.js';

export const RETRO_CHANGELOG_PLUGIN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const CONFIG_DN = 'cn=config';

/**
 * The group this tool names in `passwordAdminDN` when nobody named one. It lives in cn=config, next to the setting
 * that names it: out of the data tree the destination sync user may write (so it cannot add members to it) and
 * out of what a sync copies.
 */
export const PASSWORD_ADMINS_GROUP_DN = 'cn=prepare-endpoint-server password administrators,cn=config';
const PASSWORD_ADMINS_DESCRIPTION =
  'Accounts that may write pre-hashed passwords (named by passwordAdminDN in cn=config); managed by prepare-endpoint-server';

/** 389 DS lets the nsUniqueId of the entry into each change record under this name (the name PingDataSync reads). */
export const UNIQUE_ID_MAPPING = 'nsuniqueid:targetUniqueId';

/**
 * What this tool added to the plugin entry is written down on it, one `description` value per setting (the entry
 * is an extensibleObject), so `--remove --disableChangelog` takes back exactly that and never someone else's value.
 */
const MARKER_PREFIX = 'prepare-endpoint-server added ';

/** Per-account search limits (binder-based resource limits); -1 is unlimited. DSEE has no paged size limit. */
export function syncUserLimits(family: string): Record<string, string> {
  return {
    nsSizeLimit: '-1',
    nsLookThroughLimit: '-1',
    ...(family === '389ds' ? { nsPagedSizeLimit: '-1' } : {}),
    nsTimeLimit: '-1',
  };
}

/** The plugin attributes this module looks at. */
export const PLUGIN_CONTENT_ATTRIBUTES = [
  'nsslapd-log-deleted',
  'nsslapd-attribute',
  'nsslapd-include-suffix',
  'nsslapd-exclude-suffix',
  'description',
  // Sun DS 5.x and DSEE take the deleted-entry attributes as a plugin argument `deletedEntryAttributes=a,b`.
  'nsslapd-pluginarg0',
  'nsslapd-pluginarg1',
  'nsslapd-pluginarg2',
  'nsslapd-pluginarg3',
] as const;

/** Reads this module needs besides the profile's own. */
export function syncReadinessReads(target: PrepareTarget, family: string): ReadRequest[] {
  const reads: ReadRequest[] = [{ dn: target.syncUserDn, attributes: Object.keys(syncUserLimits(family)) }];
  if (target.roles.destination && family === '389ds') {
    reads.push(
      { dn: CONFIG_DN, attributes: ['passwordAdminDN'] },
      { dn: PASSWORD_ADMINS_GROUP_DN, attributes: ['objectClass', 'member', 'description'] },
    );
  }
  return reads;
}

/** The entry a foreign passwordAdminDN names, read once the first reads are in. */
export function passwordAdminFollowUp(target: PrepareTarget, observed: Observation, family: string): ReadRequest[] {
  if (!target.roles.destination || family !== '389ds') return [];
  const named = passwordAdminDn(observed);
  if (named === undefined || sameDn(named, PASSWORD_ADMINS_GROUP_DN)) return [];
  return [{ dn: named, attributes: ['objectClass', 'member', 'uniqueMember'] }];
}

// ------------------------------------------------------------------ limits

export function planLimits(target: PrepareTarget, observed: Observation, family: string): PlannedStep {
  const id = 'limits';
  const title = `Search limits of '${target.syncUserDn}'`;
  const wanted = syncUserLimits(family);
  const shown = Object.entries(wanted)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
  const account = observed.entry(target.syncUserDn);
  if (account === undefined) {
    return changed({ id, title }, 'created', `set with the new account: ${shown} (unlimited)`, []);
  }
  const modifications: Modification[] = Object.entries(wanted)
    .filter(([name, value]) => firstValue(account, name)?.trim() !== value)
    .map(([name, value]) => ({ operation: 'replace', attribute: name, values: [value] }));
  if (modifications.length === 0) {
    return unchanged({ id, title }, `${shown} (unlimited)`);
  }
  const was = modifications.map((m) => `${m.attribute} ${firstValue(account, m.attribute) ?? 'unset'}`).join(', ');
  return changed(
    { id, title },
    'updated',
    `${modifications.map((m) => `${m.attribute} -1`).join(', ')} (unlimited; was ${was})`,
    [{ kind: 'modify', dn: target.syncUserDn, modifications }],
  );
}

// ------------------------------------------------------------------ change records

/**
 * The Retro Changelog Plugin settings a sync reads change records through. Added values go next to others'
 * values; a single-valued setting someone chose differently is reported, never overwritten.
 */
export function planChangeRecords(target: PrepareTarget, observed: Observation, family: string): PlannedStep[] {
  const plugin = observed.entry(RETRO_CHANGELOG_PLUGIN);
  if (plugin === undefined) return [];
  return family === '389ds' ? [plan389ChangeRecords(target, plugin)] : [planDseeDeletedEntries(target, plugin)];
}

function plan389ChangeRecords(target: PrepareTarget, plugin: Entry): PlannedStep {
  const id = 'changelog:records';
  const title = 'Change records for a sync (deleted entries, entry ids, scope)';
  const enabled = isOn(firstValue(plugin, 'nsslapd-pluginEnabled'));
  const markers = ourMarkers(plugin);
  const modifications: Modification[] = [];
  const added: string[] = [];
  const notes: string[] = [];
  const warnings: string[] = [];
  const add = (attribute: string, value: string): void => {
    modifications.push({ operation: 'add', attribute, values: [value] });
    added.push(`${attribute}: ${value}`);
  };

  const logDeleted = firstValue(plugin, 'nsslapd-log-deleted');
  if (logDeleted === undefined) {
    add('nsslapd-log-deleted', 'on');
  } else if (!isOn(logDeleted)) {
    warnings.push(
      `nsslapd-log-deleted is '${logDeleted}' on '${RETRO_CHANGELOG_PLUGIN}' (someone's setting, left as it is): the change record ` +
        'of a delete then holds only the DN, so a sync that filters entries (by objectClass, say) misses deletes. Set it to on ' +
        '(ldapmodify: replace: nsslapd-log-deleted, nsslapd-log-deleted: on) and restart the directory server',
    );
  } else {
    notes.push('deletes carry the whole entry');
  }

  if (
    !valuesOf(plugin, 'nsslapd-attribute').some(
      (v) => v.replace(/\s+/g, '').toLowerCase() === UNIQUE_ID_MAPPING.toLowerCase(),
    )
  ) {
    add('nsslapd-attribute', UNIQUE_ID_MAPPING);
  } else {
    notes.push('records carry targetUniqueId');
  }

  // Scope: only the base DNs when this run turns the log on; an existing scope is widened to them, never narrowed.
  const includes = valuesOf(plugin, 'nsslapd-include-suffix');
  const uncovered = target.baseDns.filter((base) => !includes.some((suffix) => safeWithin(base, suffix)));
  if (includes.length === 0 && enabled) {
    notes.push('every suffix logged (kept)');
  } else {
    for (const base of uncovered) add('nsslapd-include-suffix', base);
    if (uncovered.length === 0) notes.push(`logs ${includes.join(', ')}`);
  }
  for (const base of target.baseDns) {
    const excluding = valuesOf(plugin, 'nsslapd-exclude-suffix').find((suffix) => safeWithin(base, suffix));
    if (excluding !== undefined) {
      warnings.push(
        `'${RETRO_CHANGELOG_PLUGIN}' has nsslapd-exclude-suffix '${excluding}' (someone's setting, left as it is): ` +
          `changes under '${base}' are not logged, so a sync never sees them; remove that value and restart the directory server`,
      );
    }
  }

  const newMarkers = added.filter((text) => !markers.some((marker) => sameSetting(marker, text)));
  if (newMarkers.length > 0)
    modifications.push({
      operation: 'add',
      attribute: 'description',
      values: newMarkers.map((text) => MARKER_PREFIX + text),
    });
  if (modifications.length === 0) {
    return unchangedUnlessWarned({ id, title }, notes.join(', '), warnings);
  }
  if (enabled) {
    warnings.push(
      'The Retro Changelog Plugin reads these settings when it starts: restart the directory server ' +
        '(for example `dsctl <instance> restart`) for change records to carry them',
    );
  }
  return changed(
    { id, title },
    markers.length > 0 ? 'updated' : 'created',
    added.join(', '),
    [{ kind: 'modify', dn: RETRO_CHANGELOG_PLUGIN, modifications }],
    { warnings },
  );
}

/**
 * DSEE keeps attributes of deleted entries when its `retro-cl-deleted-entry-attr` property names them (Oracle,
 * dsconf server properties; Sun DS 5.x wrote them as a `deletedEntryAttributes=` plugin argument). DSEE is known
 * here from root DSE fixtures only, so the tool reads the plugin argument and says what to run; it writes nothing.
 */
function planDseeDeletedEntries(target: PrepareTarget, plugin: Entry): PlannedStep {
  const id = 'changelog:records';
  const title = 'Attributes kept in change records of deletes';
  const wanted = ['objectClass', ...(target.deletedEntryAttributes ?? [])];
  const configured = PLUGIN_CONTENT_ATTRIBUTES.filter((name) => name.startsWith('nsslapd-pluginarg'))
    .flatMap((name) => valuesOf(plugin, name))
    .flatMap((value) => /^\s*deletedEntryAttributes\s*=(.*)$/i.exec(value)?.[1]?.split(',') ?? [])
    .map((name) => name.trim().toLowerCase());
  const missing = wanted.filter((name) => !configured.includes(name.toLowerCase()));
  if (missing.length === 0) {
    return unchanged({ id, title }, `deletedEntryAttributes=${configured.join(',')}`);
  }
  const properties = [...new Set([...configured, ...wanted.map((name) => name.toLowerCase())])]
    .map((name) => `retro-cl-deleted-entry-attr:${name}`)
    .join(' ');
  return manual({ id, title }, `not set for ${missing.join(', ')}`, [
    `Change records of deletes on DSEE hold only the DN until the server is told which attributes to keep: run ` +
      `\`dsconf set-server-prop -h <host> -p <port> ${properties}\`, then restart the server`,
  ]);
}

/** `--remove --disableChangelog`: the plugin values this tool recorded adding, and the records of them. */
export function planChangeRecordsRemoval(observed: Observation): PlannedStep[] {
  const plugin = observed.entry(RETRO_CHANGELOG_PLUGIN);
  const markers = plugin === undefined ? [] : ourMarkers(plugin);
  const id = 'changelog:records';
  const title = 'Change record settings this tool added';
  if (plugin === undefined || markers.length === 0) {
    return [unchanged({ id, title }, 'none recorded on the plugin')];
  }
  const modifications: Modification[] = [];
  for (const marker of markers) {
    const [attribute = '', ...rest] = marker.slice(MARKER_PREFIX.length).split(': ');
    const value = rest.join(': ');
    const present = valuesOf(plugin, attribute).find((v) => v.trim().toLowerCase() === value.trim().toLowerCase());
    if (present !== undefined) modifications.push({ operation: 'delete', attribute, values: [present] });
  }
  modifications.push({ operation: 'delete', attribute: 'description', values: markers });
  return [
    changed({ id, title }, 'updated', `${markers.map((m) => m.slice(MARKER_PREFIX.length)).join(', ')} removed`, [
      { kind: 'modify', dn: RETRO_CHANGELOG_PLUGIN, modifications },
    ]),
  ];
}

// ------------------------------------------------------------------ pre-hashed passwords

/**
 * 389 DS refuses a pre-hashed userPassword (`{SSHA}...`, which is what a sync carries) unless the writer is a
 * password administrator: a member of the group `passwordAdminDN` names (RHDS admin guide, password
 * administrators). With none named, this tool names its own group; a group someone else named is never joined
 * (it may carry rights of its own): what to add by hand is said instead.
 */
export function planPasswordAdmin(target: PrepareTarget, observed: Observation): PlannedStep[] {
  const id = 'password-admin';
  const title = `Pre-hashed password writes for '${target.syncUserDn}'`;
  const sync = target.syncUserDn;
  if (observed.entry(CONFIG_DN) === undefined) {
    // An admin without rights on cn=config can still grant the ACIs: say what is left rather than fail on it.
    return [
      manual({ id, title }, 'the admin cannot read cn=config', [
        `The admin cannot read cn=config, where passwordAdminDN lives: the destination sync user cannot write pre-hashed ` +
          `passwords until it is a member of the group passwordAdminDN names; run this command as Directory Manager, or have one add ` +
          `'${sync}' to that group`,
      ]),
    ];
  }
  const named = passwordAdminDn(observed);
  if (named === undefined || sameDn(named, PASSWORD_ADMINS_GROUP_DN)) {
    const group = observed.entry(PASSWORD_ADMINS_GROUP_DN);
    const changes: Change[] = [];
    if (group === undefined) {
      changes.push({
        kind: 'add',
        dn: PASSWORD_ADMINS_GROUP_DN,
        attributes: {
          objectClass: ['top', 'groupOfNames'],
          cn: ['prepare-endpoint-server password administrators'],
          description: [PASSWORD_ADMINS_DESCRIPTION],
          member: [sync],
        },
      });
    } else if (!isMember(group, 'member', sync)) {
      changes.push({
        kind: 'modify',
        dn: PASSWORD_ADMINS_GROUP_DN,
        modifications: [{ operation: 'add', attribute: 'member', values: [sync] }],
      });
    }
    if (named === undefined) {
      changes.push({
        kind: 'modify',
        dn: CONFIG_DN,
        modifications: [{ operation: 'replace', attribute: 'passwordAdminDN', values: [PASSWORD_ADMINS_GROUP_DN] }],
      });
    }
    const detail = `member of '${PASSWORD_ADMINS_GROUP_DN}', which passwordAdminDN names`;
    if (changes.length === 0) return [unchanged({ id, title }, detail)];
    return [
      changed({ id, title }, named === undefined && group === undefined ? 'created' : 'updated', detail, changes),
    ];
  }
  const entry = observed.entry(named);
  const membership = groupMembershipAttribute(entry);
  if (entry === undefined || membership === undefined) {
    const why =
      entry === undefined
        ? 'which the admin cannot read (or which does not exist)'
        : 'which is not a group (groupOfNames or groupOfUniqueNames)';
    return [
      manual({ id, title }, `passwordAdminDN names '${named}', ${why}`, [
        `passwordAdminDN in cn=config names '${named}', ${why}: the destination sync user cannot write pre-hashed ` +
          `passwords (389 DS answers 19, passwords with storage scheme are not allowed). This tool never replaces someone's ` +
          `passwordAdminDN: make it a group that holds '${named}' and '${sync}', or add '${sync}' to it, then run this command again`,
      ]),
    ];
  }
  const detail = `member of '${named}' (${membership}), the group passwordAdminDN names`;
  if (isMember(entry, membership, sync)) return [unchanged({ id, title }, detail)];
  // Never joined: that group may carry rights of its own (ACIs naming it), which the sync user would gain.
  return [
    manual({ id, title }, `passwordAdminDN names '${named}', a group this tool did not make`, [
      `passwordAdminDN in cn=config names '${named}', a group this tool did not make: the destination sync user cannot ` +
        `write pre-hashed passwords (389 DS answers 19) until it is a member. This tool never joins someone else's group ` +
        `(the sync user would gain every right granted to it): check what that group may do, then add '${sync}' to its ` +
        `${membership} by hand, and run this command again`,
    ]),
  ];
}

/**
 * `--remove`: the sync user leaves the password administrators; this tool's group goes when nobody else is in
 * it, and passwordAdminDN with it when it names that group.
 */
export function planPasswordAdminRemoval(target: PrepareTarget, observed: Observation): PlannedStep[] {
  const id = 'password-admin';
  const title = 'Pre-hashed password writes';
  const sync = target.syncUserDn;
  const named = passwordAdminDn(observed);
  const changes: Change[] = [];
  const notes: string[] = [];
  const ours = observed.entry(PASSWORD_ADMINS_GROUP_DN);
  if (ours !== undefined) {
    const others = valuesOf(ours, 'member').filter((member) => !sameDn(member, sync));
    if (others.length === 0) {
      if (named !== undefined && sameDn(named, PASSWORD_ADMINS_GROUP_DN)) {
        changes.push({
          kind: 'modify',
          dn: CONFIG_DN,
          modifications: [{ operation: 'delete', attribute: 'passwordAdminDN', values: [] }],
        });
        notes.push('passwordAdminDN cleared');
      }
      changes.push({ kind: 'delete', dn: PASSWORD_ADMINS_GROUP_DN });
      notes.push(`'${PASSWORD_ADMINS_GROUP_DN}' deleted`);
    } else if (isMember(ours, 'member', sync)) {
      changes.push({
        kind: 'modify',
        dn: PASSWORD_ADMINS_GROUP_DN,
        modifications: [
          { operation: 'delete', attribute: 'member', values: valuesOf(ours, 'member').filter((m) => sameDn(m, sync)) },
        ],
      });
      notes.push(`left '${PASSWORD_ADMINS_GROUP_DN}' (other members stay)`);
    }
  }
  if (named !== undefined && !sameDn(named, PASSWORD_ADMINS_GROUP_DN)) {
    const entry = observed.entry(named);
    const membership = groupMembershipAttribute(entry);
    if (entry !== undefined && membership !== undefined && isMember(entry, membership, sync)) {
      changes.push({
        kind: 'modify',
        dn: named,
        modifications: [
          {
            operation: 'delete',
            attribute: membership,
            values: valuesOf(entry, membership).filter((m) => sameDn(m, sync)),
          },
        ],
      });
      notes.push(`left '${named}'`);
    }
  }
  if (changes.length === 0) return [unchanged({ id, title }, 'the sync user is in no password administrators group')];
  return [changed({ id, title }, 'updated', notes.join('; '), changes)];
}

// ------------------------------------------------------------------ helpers

/** `passwordAdminDN` of cn=config; 389 shows an unset one as an empty value. */
function passwordAdminDn(observed: Observation): string | undefined {
  const value = firstValue(observed.entry(CONFIG_DN), 'passwordAdminDN')?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function groupMembershipAttribute(entry: Entry | undefined): 'member' | 'uniqueMember' | undefined {
  if (entry === undefined) return undefined;
  const classes = valuesOf(entry, 'objectClass').map((name) => name.toLowerCase());
  if (classes.includes('groupofuniquenames')) return 'uniqueMember';
  if (classes.includes('groupofnames')) return 'member';
  return undefined;
}

function isMember(group: Entry, attribute: string, dn: string): boolean {
  return valuesOf(group, attribute).some((member) => sameDn(member, dn));
}

function ourMarkers(plugin: Entry): string[] {
  return valuesOf(plugin, 'description').filter((value) => value.startsWith(MARKER_PREFIX));
}

function sameSetting(marker: string, text: string): boolean {
  return marker.slice(MARKER_PREFIX.length).trim().toLowerCase() === text.trim().toLowerCase();
}

function isOn(value: string | undefined): boolean {
  return value !== undefined && /^(on|true)$/i.test(value.trim());
}

function sameDn(a: string, b: string): boolean {
  try {
    return dnEquals(a, b);
  } catch {
    return false;
  }
}

function safeWithin(dn: string, base: string): boolean {
  try {
    return isWithin(dn, base);
  } catch {
    return false;
  }
}
