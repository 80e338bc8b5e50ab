// What a sync engine needs beyond rights, planned without a server: search limits, change records that carry
// deleted entries and entry ids, the change log scope, pre-hashed password writes, RFC 4533 (syncprov), and the
// change log check that falls back when cn=accesslog has no entry yet.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifySyncUser } from '../../src/core/verify.js';
import type { Directory } from '../../src/model/directory.js';
import { PrepareError } from '../../src/model/errors.js';
import type { Change, Entry, Modification } from '../../src/model/entries.js';
import { Ds389Profile, RETRO_CHANGELOG_PLUGIN_DN } from '../../src/servers/ds389.js';
import { PASSWORD_ADMINS_GROUP_DN } from '../../src/servers/ds389-sync.js';
import { OpenLdapProfile } from '../../src/servers/openldap.js';
import { CHANGELOG_BACKEND_DN, DEFAULT_SYNC_USER_DN, PingDirectoryProfile } from '../../src/servers/pingdirectory.js';
import type { Observation, PlannedStep, PrepareTarget } from '../../src/model/plan.js';
import { Secret } from '../../src/model/secret.js';
import type { RunReporter } from '../../src/core/ports.js';
import { entry, observation } from '../helpers/planning.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const ds = new Ds389Profile('389ds', '389 Directory Server');
const dsee = new Ds389Profile('dsee', 'Sun DSEE');

function target(overrides: Partial<PrepareTarget> = {}): PrepareTarget {
  return {
    baseDns: [BASE],
    roles: { source: true, destination: false },
    syncUserDn: SYNC_DN,
    changelogMaxAgeSeconds: 172_800,
    inheritDefaultRootPrivileges: false,
    ...overrides,
  };
}

function step(steps: readonly PlannedStep[], id: string): PlannedStep {
  const found = steps.find((s) => s.id === id);
  assert.ok(found !== undefined, `no step '${id}' in ${steps.map((s) => s.id).join(', ')}`);
  return found;
}

function mods(change: Change | undefined): readonly Modification[] {
  assert.ok(change?.kind === 'modify', JSON.stringify(change));
  return change.modifications;
}

const plugin = (attributes: Record<string, string[]>): Entry =>
  entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['off'], ...attributes });
const MARKER = (text: string): string => `prepare-endpoint-server added ${text}`;

describe('389 DS: the sync user without search limits', () => {
  test('a new account gets them with it; an existing one is set to -1 where it is not; DSEE has no paged limit', () => {
    assert.deepEqual(ds.syncUserEntry(SYNC_DN, 'pw')['nsPagedSizeLimit'], ['-1']);
    assert.equal(dsee.syncUserEntry(SYNC_DN, 'pw')['nsPagedSizeLimit'], undefined);
    const fresh = step(ds.planAccess(target(), observation([entry(BASE)])), 'limits');
    assert.equal(fresh.status, 'created');
    assert.deepEqual(fresh.changes, []);
    const someLimits = entry(SYNC_DN, {
      nsSizeLimit: ['500'],
      nsLookThroughLimit: ['-1'],
      nsPagedSizeLimit: ['-1'],
      nsTimeLimit: ['-1'],
    });
    const updated = step(ds.planAccess(target(), observation([entry(BASE), someLimits])), 'limits');
    assert.equal(updated.status, 'updated');
    assert.deepEqual(mods(updated.changes[0]), [{ operation: 'replace', attribute: 'nsSizeLimit', values: ['-1'] }]);
    const done = entry(SYNC_DN, {
      nsSizeLimit: ['-1'],
      nsLookThroughLimit: ['-1'],
      nsPagedSizeLimit: ['-1'],
      nsTimeLimit: ['-1'],
    });
    assert.equal(step(ds.planAccess(target(), observation([entry(BASE), done])), 'limits').status, 'unchanged');
  });
});

describe('389 DS: change records for a sync', () => {
  // A running log: cn=changelog is there.
  const records = (p: Entry, t = target()): PlannedStep =>
    step(
      ds.planChangelog(
        t,
        observation([p, entry('cn=changelog'), entry('cn=config', { 'nsslapd-dynamic-plugins': ['on'] })]),
      ),
      'changelog:records',
    );

  test('turning the log on: deleted entries, targetUniqueId and the base DNs only, each recorded in a marker, before the plugin starts', () => {
    const steps = ds.planChangelog(
      target({ baseDns: [BASE, 'dc=example,dc=org'] }),
      observation([plugin({}), entry('cn=config', { 'nsslapd-dynamic-plugins': ['on'] })]),
    );
    assert.deepEqual(
      steps.map((s) => s.id).slice(0, 2),
      ['changelog:records', 'changelog'],
      'written before the live start reads them',
    );
    const s = step(steps, 'changelog:records');
    assert.equal(s.status, 'created');
    assert.deepEqual(mods(s.changes[0]), [
      { operation: 'add', attribute: 'nsslapd-log-deleted', values: ['on'] },
      { operation: 'add', attribute: 'nsslapd-attribute', values: ['nsuniqueid:targetUniqueId'] },
      { operation: 'add', attribute: 'nsslapd-include-suffix', values: [BASE] },
      { operation: 'add', attribute: 'nsslapd-include-suffix', values: ['dc=example,dc=org'] },
      {
        operation: 'add',
        attribute: 'description',
        values: [
          MARKER('nsslapd-log-deleted: on'),
          MARKER('nsslapd-attribute: nsuniqueid:targetUniqueId'),
          MARKER(`nsslapd-include-suffix: ${BASE}`),
          MARKER('nsslapd-include-suffix: dc=example,dc=org'),
        ],
      },
    ]);
    assert.deepEqual(s.warnings, [], 'the plugin is off: the start that turns it on reads them');
  });

  test('a log already on for every suffix is never narrowed; new settings there need a restart', () => {
    const s = records(
      plugin({
        'nsslapd-pluginEnabled': ['on'],
        'nsslapd-changelogmaxage': ['2d'],
        'nsslapd-attribute': ['nsuniqueid:targetUniqueId'],
      }),
    );
    assert.deepEqual(
      mods(s.changes[0]).map((m) => m.attribute),
      ['nsslapd-log-deleted', 'description'],
    );
    assert.match(s.warnings.join(' '), /restart/);
    // When the age changes too, the restart is asked for once.
    const both = ds.planChangelog(
      target({ changelogMaxAgeSeconds: 86_400 }),
      observation([
        plugin({ 'nsslapd-pluginEnabled': ['on'], 'nsslapd-changelogmaxage': ['2d'] }),
        entry('cn=changelog'),
        entry('cn=config'),
      ]),
    );
    assert.equal(both.flatMap((x) => x.warnings).filter((w) => /restart/.test(w)).length, 1);
  });

  test('an existing scope is widened to a base DN it misses, never narrowed; an exclusion of a base is reported', () => {
    const s = records(
      plugin({
        'nsslapd-pluginEnabled': ['on'],
        'nsslapd-log-deleted': ['on'],
        'nsslapd-attribute': ['nsuniqueid:targetUniqueId', 'entryusn:changeusn'],
        'nsslapd-include-suffix': ['dc=example,dc=net'],
        'nsslapd-exclude-suffix': [`ou=Hidden,${BASE}`],
      }),
      target({ baseDns: [`ou=Hidden,${BASE}`] }),
    );
    assert.deepEqual(mods(s.changes[0])[0], {
      operation: 'add',
      attribute: 'nsslapd-include-suffix',
      values: [`ou=Hidden,${BASE}`],
    });
    assert.ok(!mods(s.changes[0]).some((m) => m.operation !== 'add'), 'nothing of theirs replaced or deleted');
    assert.match(s.warnings.join(' '), /nsslapd-exclude-suffix 'ou=Hidden,dc=example,dc=com'/);
  });

  test("someone's nsslapd-log-deleted: off is reported with what to do, never overwritten", () => {
    const s = records(
      plugin({
        'nsslapd-log-deleted': ['off'],
        'nsslapd-attribute': ['nsuniqueid:targetUniqueId'],
        'nsslapd-include-suffix': [BASE],
      }),
    );
    assert.equal(s.status, 'warning');
    assert.deepEqual(s.changes, []);
    assert.match(s.warnings[0] ?? '', /nsslapd-log-deleted is 'off'.*Set it to on/);
  });

  test('--remove --disableChangelog takes back only what the markers record', () => {
    const p = plugin({
      'nsslapd-pluginEnabled': ['on'],
      'nsslapd-log-deleted': ['on'],
      'nsslapd-attribute': ['entryusn:changeusn', 'nsuniqueid:targetUniqueId'],
      'nsslapd-include-suffix': [BASE, 'dc=example,dc=net'],
      description: [
        'theirs',
        MARKER('nsslapd-attribute: nsuniqueid:targetUniqueId'),
        MARKER(`nsslapd-include-suffix: ${BASE}`),
      ],
    });
    const steps = ds.planRemoval(target(), observation([entry(BASE), p, entry('cn=config'), entry('')]), true);
    const s = step(steps, 'changelog:records');
    assert.deepEqual(mods(s.changes[0]), [
      { operation: 'delete', attribute: 'nsslapd-attribute', values: ['nsuniqueid:targetUniqueId'] },
      { operation: 'delete', attribute: 'nsslapd-include-suffix', values: [BASE] },
      {
        operation: 'delete',
        attribute: 'description',
        values: [MARKER('nsslapd-attribute: nsuniqueid:targetUniqueId'), MARKER(`nsslapd-include-suffix: ${BASE}`)],
      },
    ]);
    assert.deepEqual(
      step(
        ds.planRemoval(target(), observation([entry(BASE), p, entry('cn=config'), entry('')]), false),
        'password-admin',
      ).changes,
      [],
      'without --disableChangelog the change log settings stay',
    );
    assert.ok(
      !ds
        .planRemoval(target(), observation([entry(BASE), p, entry('cn=config'), entry('')]), false)
        .some((x) => x.id === 'changelog:records'),
    );
  });

  test('DSEE: says which dsconf properties to set (it writes nothing), or finds them in the plugin argument', () => {
    const s = step(
      dsee.planChangelog(target({ deletedEntryAttributes: ['employeeNumber'] }), observation([plugin({})])),
      'changelog:records',
    );
    assert.equal(s.status, 'warning');
    assert.deepEqual(s.changes, []);
    assert.match(
      s.warnings[0] ?? '',
      /dsconf set-server-prop .*retro-cl-deleted-entry-attr:objectclass retro-cl-deleted-entry-attr:employeenumber/,
    );
    const set = plugin({ 'nsslapd-pluginarg0': ['deletedEntryAttributes=objectclass,cn,employeeNumber'] });
    assert.equal(
      step(
        dsee.planChangelog(target({ deletedEntryAttributes: ['employeeNumber'] }), observation([set])),
        'changelog:records',
      ).status,
      'unchanged',
    );
  });
});

describe('389 DS: pre-hashed passwords through passwordAdminDN', () => {
  const destination = target({ roles: { source: false, destination: true } });
  const config = (value?: string): Entry =>
    entry('cn=config', value === undefined ? { passwordAdminDN: [''] } : { passwordAdminDN: [value] });
  const plan = (...entries: Entry[]): PlannedStep =>
    step(ds.planAccess(destination, observation([entry(BASE), ...entries])), 'password-admin');

  test('unset: this tool names its own group in cn=config, with the sync user as member', () => {
    const s = plan(config());
    assert.equal(s.status, 'created');
    assert.deepEqual(
      s.changes.map((c) => [c.kind, c.dn]),
      [
        ['add', PASSWORD_ADMINS_GROUP_DN],
        ['modify', 'cn=config'],
      ],
    );
    assert.deepEqual(mods(s.changes[1]), [
      { operation: 'replace', attribute: 'passwordAdminDN', values: [PASSWORD_ADMINS_GROUP_DN] },
    ]);
    const group = s.changes[0];
    assert.ok(group?.kind === 'add');
    assert.deepEqual(group.attributes['member'], [SYNC_DN]);
    const again = plan(
      config(PASSWORD_ADMINS_GROUP_DN),
      entry(PASSWORD_ADMINS_GROUP_DN, { objectClass: ['groupOfNames'], member: ['CN=sync user, dc=example,dc=com'] }),
    );
    assert.equal(again.status, 'unchanged');
  });

  test("someone's group: never joined (it may carry rights of its own); what to add by hand is said", () => {
    const theirs = `cn=Admins,${BASE}`;
    for (const [group, attribute] of [
      [entry(theirs, { objectClass: ['top', 'groupOfNames'], member: ['uid=a,dc=example,dc=com'] }), 'member'],
      [entry(theirs, { objectClass: ['groupOfUniqueNames'] }), 'uniqueMember'],
    ] as const) {
      const s = plan(config(theirs), group);
      assert.equal(s.status, 'warning');
      assert.deepEqual(s.changes, []);
      assert.match(
        s.warnings[0] ?? '',
        new RegExp(`never joins someone else's group.*add '${SYNC_DN}' to its ${attribute} by hand`),
      );
    }
    const already = plan(config(theirs), entry(theirs, { objectClass: ['groupOfNames'], member: [SYNC_DN] }));
    assert.equal(already.status, 'unchanged', 'a member added by hand');
  });

  test('an account, or an entry the admin cannot read: reported with what to do, nothing written', () => {
    for (const seen of [[entry(`uid=admin,${BASE}`, { objectClass: ['inetOrgPerson'] })], []]) {
      const s = plan(config(`uid=admin,${BASE}`), ...seen);
      assert.equal(s.status, 'warning');
      assert.deepEqual(s.changes, []);
      assert.match(s.warnings[0] ?? '', /never replaces someone's passwordAdminDN/);
    }
  });

  test('an admin who cannot read cn=config gets a warning saying what is left, and no write is planned', () => {
    const s = plan();
    assert.equal(s.status, 'warning');
    assert.deepEqual(s.changes, []);
    assert.match(s.warnings[0] ?? '', /cannot read cn=config.*Directory Manager/);
  });

  test('the named group is read as a follow-up; ours is read up front', () => {
    assert.deepEqual(
      ds.followUpReads(destination, observation([config(`cn=Admins,${BASE}`)])).map((r) => r.dn),
      [`cn=Admins,${BASE}`],
    );
    assert.deepEqual(ds.followUpReads(destination, observation([config(PASSWORD_ADMINS_GROUP_DN)])), []);
    assert.deepEqual(ds.followUpReads(target(), observation([config(`cn=Admins,${BASE}`)])), [], 'a source needs none');
  });

  test('--remove: the sync user leaves; our group goes (and passwordAdminDN with it) only when nobody else is in it', () => {
    const removal = (...entries: Entry[]): PlannedStep =>
      step(
        ds.planRemoval(
          target({ roles: { source: true, destination: true } }),
          observation([entry(BASE), entry(''), ...entries]),
          false,
        ),
        'password-admin',
      );
    const alone = removal(config(PASSWORD_ADMINS_GROUP_DN), entry(PASSWORD_ADMINS_GROUP_DN, { member: [SYNC_DN] }));
    assert.deepEqual(
      alone.changes.map((c) => [c.kind, c.dn]),
      [
        ['modify', 'cn=config'],
        ['delete', PASSWORD_ADMINS_GROUP_DN],
      ],
    );
    const shared = removal(
      config(PASSWORD_ADMINS_GROUP_DN),
      entry(PASSWORD_ADMINS_GROUP_DN, { member: [SYNC_DN, `cn=Other Sync,${BASE}`] }),
    );
    assert.deepEqual(shared.changes, [
      {
        kind: 'modify',
        dn: PASSWORD_ADMINS_GROUP_DN,
        modifications: [{ operation: 'delete', attribute: 'member', values: [SYNC_DN] }],
      },
    ]);
    const theirs = `cn=Admins,${BASE}`;
    const foreign = removal(
      config(theirs),
      entry(theirs, { objectClass: ['groupOfUniqueNames'], uniqueMember: ['uid=a,dc=example,dc=com', SYNC_DN] }),
    );
    assert.deepEqual(foreign.changes, [
      {
        kind: 'modify',
        dn: theirs,
        modifications: [{ operation: 'delete', attribute: 'uniqueMember', values: [SYNC_DN] }],
      },
    ]);
  });
});

describe('OpenLDAP: limits, indexes, syncprov, logold', () => {
  const openldap = new OpenLdapProfile();
  const DATA_DB = 'olcDatabase={1}mdb,cn=config';
  const LOG_DB = 'olcDatabase={2}mdb,cn=config';
  const OURS = `dn.exact="${SYNC_DN}" size=unlimited size.prtotal=unlimited time=unlimited`;
  const data = (attributes: Record<string, string[]> = {}): Entry =>
    entry(DATA_DB, {
      objectClass: ['olcDatabaseConfig'],
      olcDatabase: ['{1}mdb'],
      olcSuffix: [BASE],
      olcDbIndex: ['entryCSN,entryUUID eq'],
      ...attributes,
    });
  const log = (attributes: Record<string, string[]> = {}): Entry =>
    entry(LOG_DB, {
      objectClass: ['olcDatabaseConfig'],
      olcDatabase: ['{2}mdb'],
      olcSuffix: ['cn=accesslog'],
      olcDbIndex: ['entryCSN eq'],
      ...attributes,
    });
  const accesslog = (index: number, extra: Record<string, string[]> = {}): Entry =>
    entry(`olcOverlay={${index}}accesslog,${DATA_DB}`, {
      objectClass: ['olcOverlayConfig', 'olcAccessLogConfig'],
      olcOverlay: [`{${index}}accesslog`],
      olcAccessLogDB: ['cn=accesslog'],
      olcAccessLogOps: ['writes'],
      olcAccessLogSuccess: ['TRUE'],
      olcAccessLogPurge: ['02+00:00 01+00:00'],
      olcAccessLogOld: ['(objectClass=*)'],
      olcAccessLogOldAttr: ['objectClass', 'entryUUID'],
      ...extra,
    });
  const syncprov = (index: number, db = DATA_DB): Entry =>
    entry(`olcOverlay={${index}}syncprov,${db}`, {
      objectClass: ['olcOverlayConfig', 'olcSyncProvConfig'],
      olcOverlay: [`{${index}}syncprov`],
    });
  const modules = entry('cn=module{0},cn=config', {
    objectClass: ['olcModuleList'],
    olcModuleLoad: ['{0}back_mdb', '{1}accesslog', '{2}syncprov'],
  });
  const observe = (config: Entry[]): Observation => observation([], { found: { 'openldap:config': config } });

  test('limits: ours goes first (slapd applies the first rule that matches); a rule of someone else stays', () => {
    const theirs = `{0}dn.exact="${SYNC_DN}" size=100`;
    const s = step(
      openldap.planAccess(target(), observe([data({ olcLimits: [theirs, `{1}${OURS}`] })])),
      `limits:${DATA_DB}`,
    );
    assert.equal(s.status, 'updated');
    assert.deepEqual(mods(s.changes[0]), [
      { operation: 'delete', attribute: 'olcLimits', values: [`{1}${OURS}`] },
      { operation: 'add', attribute: 'olcLimits', values: [`{0}${OURS}`] },
    ]);
    assert.equal(
      step(
        openldap.planAccess(target(), observe([data({ olcLimits: [`{0}${OURS}`, theirs.replace('{0}', '{1}')] })])),
        `limits:${DATA_DB}`,
      ).status,
      'unchanged',
    );
  });

  test('an attribute someone indexed another way is reported, not given a second index line (slapd refuses it)', () => {
    const s = step(
      openldap.planChangelog(
        target(),
        observe([
          data({ olcDbIndex: ['entryCSN pres', 'default eq', 'entryUUID'] }),
          log(),
          modules,
          accesslog(0),
          syncprov(0, LOG_DB),
        ]),
      ),
      `index:${DATA_DB}`,
    );
    assert.equal(s.status, 'warning');
    assert.deepEqual(s.changes, [], 'entryUUID takes the default (eq); entryCSN is theirs');
    assert.match(s.warnings[0] ?? '', /entryCSN is indexed .* but not for equality \(pres\)/);
  });

  test('syncprov goes before an existing accesslog overlay, after any change to that overlay (it renumbers it)', () => {
    const steps = openldap.planChangelog(
      target({ deletedEntryAttributes: ['employeeNumber'] }),
      observe([
        data(),
        log(),
        modules,
        accesslog(1),
        entry(`olcOverlay={0}memberof,${DATA_DB}`, { objectClass: ['olcOverlayConfig'], olcOverlay: ['{0}memberof'] }),
        syncprov(0, LOG_DB),
      ]),
    );
    const ids = steps.map((s) => s.id);
    assert.ok(ids.indexOf(`accesslog:overlay:${DATA_DB}`) < ids.indexOf(`syncprov:${DATA_DB}`));
    assert.deepEqual(mods(step(steps, `accesslog:overlay:${DATA_DB}`).changes[0]), [
      { operation: 'add', attribute: 'olcAccessLogOldAttr', values: ['employeeNumber'] },
    ]);
    const add = step(steps, `syncprov:${DATA_DB}`).changes[0];
    assert.equal(add?.dn, `olcOverlay={1}syncprov,${DATA_DB}`);
  });

  test("someone's logold filter is reported, never replaced", () => {
    const steps = openldap.planChangelog(
      target(),
      observe([
        data(),
        log(),
        modules,
        accesslog(1, { olcAccessLogOld: ['(objectClass=person)'] }),
        syncprov(0),
        syncprov(0, LOG_DB),
      ]),
    );
    const s = step(steps, `accesslog:overlay:${DATA_DB}`);
    assert.equal(s.status, 'warning');
    assert.deepEqual(s.changes, []);
    assert.match(s.warnings[0] ?? '', /olcAccessLogOld '\(objectClass=person\)'/);
  });

  test('--remove: our limits rules go; --disableChangelog deletes overlays from the last position to the first, and keeps syncprov where the database replicates', () => {
    const config = [
      data({ olcLimits: [`{0}${OURS}`] }),
      log({ olcLimits: [`{0}${OURS}`] }),
      modules,
      syncprov(0),
      accesslog(1),
      syncprov(0, LOG_DB),
    ];
    const steps = openldap.planRemoval(target(), observe(config), true);
    assert.deepEqual(
      steps.filter((s) => s.id.startsWith('limits:')).map((s) => s.changes[0]?.dn),
      [DATA_DB, LOG_DB],
    );
    const deleted = steps
      .flatMap((s) => s.changes)
      .filter((c) => c.kind === 'delete')
      .map((c) => c.dn);
    assert.deepEqual(deleted, [
      `olcOverlay={1}accesslog,${DATA_DB}`,
      `olcOverlay={0}syncprov,${DATA_DB}`,
      `olcOverlay={0}syncprov,${LOG_DB}`,
    ]);
    const replicating = openldap.planRemoval(
      target(),
      observe([data({ olcMultiProvider: ['TRUE'] }), log(), modules, syncprov(0), accesslog(1)]),
      true,
    );
    const kept = step(replicating, `syncprov:${DATA_DB}`);
    assert.equal(kept.status, 'warning');
    assert.deepEqual(kept.changes, []);
  });
});

describe('PingDirectory: resource limits and deleted entries in the changelog', () => {
  const ping = new PingDirectoryProfile('pingdirectory', 'PingDirectory');
  test('an existing account gets ds-rlim-* 0; the backend keeps objectClass and the attributes asked for, next to others', () => {
    const account = entry(DEFAULT_SYNC_USER_DN, {
      objectClass: ['ds-cfg-root-dn-user'],
      'ds-rlim-size-limit': ['1000'],
      'ds-rlim-time-limit': ['0'],
      'ds-rlim-lookthrough-limit': ['0'],
      'ds-rlim-idle-time-limit': ['0'],
    });
    const t = target({ syncUserDn: DEFAULT_SYNC_USER_DN, deletedEntryAttributes: ['employeeNumber', 'objectclass'] });
    const limits = step(ping.planAccess(t, observation([account, entry('cn=Root DNs,cn=config')])), 'limits');
    assert.deepEqual(mods(limits.changes[0]), [
      { operation: 'replace', attribute: 'ds-rlim-size-limit', values: ['0'] },
    ]);
    const backend = entry(CHANGELOG_BACKEND_DN, {
      'ds-cfg-enabled': ['true'],
      'ds-cfg-changelog-maximum-age': ['2 d'],
      'ds-cfg-changelog-deleted-entry-include-attribute': ['uid'],
    });
    const records = step(ping.planChangelog(t, observation([backend])), 'changelog:records');
    assert.deepEqual(mods(records.changes[0]), [
      {
        operation: 'add',
        attribute: 'ds-cfg-changelog-deleted-entry-include-attribute',
        values: ['objectClass', 'employeeNumber'],
      },
    ]);
  });
});

describe('the OpenLDAP change log check when cn=accesslog has no entry yet', () => {
  const openldap = new OpenLdapProfile();
  const LOG_RULE = `{0}to * by dn.exact="${SYNC_DN}" read by * none`;

  /** A Directory where the sync user finds no cn=accesslog; `refresh` is what its RFC 4533 refresh does. */
  function fakes(refresh: 'ok' | 'unavailable', rule: string): { sync: Directory; admin: Directory } {
    const sync = {
      bind: async () => undefined,
      read: async () => undefined,
      search: async (
        _base: string,
        _scope: string,
        _filter: string,
        _attributes: readonly string[],
        options?: { controls?: readonly { oid: string; critical: boolean }[] },
      ) => {
        assert.deepEqual(
          options?.controls?.map((c) => [c.oid, c.critical]),
          [['1.3.6.1.4.1.4203.1.9.1.1', true]],
          'a critical Sync Request control',
        );
        if (refresh === 'unavailable') throw new PrepareError(12, 'critical extension is unavailable', '');
        return [];
      },
      close: async () => undefined,
    } as unknown as Directory;
    const admin = {
      search: async () => [entry('olcDatabase={2}mdb,cn=config', { olcAccess: [rule] })],
    } as unknown as Directory;
    return { sync, admin };
  }

  async function check(
    refresh: 'ok' | 'unavailable',
    rule = LOG_RULE,
  ): Promise<{ checks: string[]; warnings: string[]; info: string[] }> {
    const checks: string[] = [];
    const warnings: string[] = [];
    const info: string[] = [];
    const reporter = {
      check: (_title: string, outcome: string, detail?: string) => checks.push(`${outcome}: ${detail ?? ''}`),
      info: (m: string) => info.push(m),
    } as unknown as RunReporter;
    const { sync, admin } = fakes(refresh, rule);
    const open = (): Promise<Directory> =>
      Promise.reject(new Error("the access test's connection is reused: no other is opened"));
    await verifySyncUser(
      open,
      openldap,
      target(),
      observation([]),
      [],
      new Secret('pw'),
      reporter,
      (m) => warnings.push(m),
      { directory: sync, bound: true },
      admin,
    );
    return { checks, warnings, info };
  }

  test('says plainly the log has no entry yet, checks a refresh and the rule instead: Empty, not Denied', async () => {
    const { checks, info } = await check('ok');
    assert.equal(checks.length, 1);
    assert.match(
      checks[0] ?? '',
      /^Empty: checked instead: the sync user ran an RFC 4533 refresh of 'dc=example,dc=com' and its read rule/,
    );
    assert.match(info.join(' '), /'cn=accesslog' has no entry yet/);
  });

  test('a refresh the server refuses, or no read rule for the sync user, is Denied with the reason', async () => {
    assert.match(
      (await check('unavailable')).checks[0] ?? '',
      /^Denied: an RFC 4533 refresh .* failed: critical extension is unavailable/,
    );
    assert.match((await check('ok', '{0}to * by * none')).checks[0] ?? '', /^Denied: no read rule for the sync user/);
  });
});
