import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isMarkedAccount,
  planPreparation,
  planRemoval,
  planSyncUser,
  refuseAdministrators,
  type SyncUserFacts,
} from '../../src/core/plan.js';
import { SYNC_USER_DESCRIPTION } from '../../src/servers/person.js';
import { MDB_LIVE_TOGGLE_CAUTION, LDBM_CONFIG_DN } from '../../src/servers/ds389.js';
import { PingDirectoryProfile } from '../../src/servers/pingdirectory.js';
import type { Change, Entry } from '../../src/model/entries.js';
import { aciName, aciUserDns, isOurAci, planAci, renderAci, type AciSpec } from '../../src/servers/aci.js';
import { CHANGELOG_DN, Ds389Profile, RETRO_CHANGELOG_PLUGIN_DN } from '../../src/servers/ds389.js';
import type { Observation, PlannedStep, PrepareTarget } from '../../src/model/plan.js';
import { entry, observation, rejects } from '../helpers/planning.js';

const BASE = 'dc=example,dc=com';
const OTHER_BASE = 'ou=Other,dc=example,dc=com';
const SYNC_DN = 'cn=Sync User,dc=example,dc=com';
const TWO_DAYS = 2 * 86400;
const profile = new Ds389Profile('389ds', '389 Directory Server');

/** 389 DS's default root DSE ACI. */
const ROOT_DSE_ANON_READ =
  '(targetattr != "aci")(version 3.0; aci "rootdse anon read access"; allow(read,search,compare) userdn="ldap:///anyone";)';
const THIRD_PARTY_ACI =
  '(targetattr="userPassword")(version 3.0; acl "Enable self write for common attributes"; allow (write) userdn="ldap:///self";)';

/** A fake Observation: the entries given, keyed by normalized DN. */
function observe(...entries: Entry[]): Observation {
  return observation(entries);
}

function target(overrides: Partial<PrepareTarget> = {}): PrepareTarget {
  return {
    baseDns: [BASE],
    roles: { source: true, destination: false },
    syncUserDn: SYNC_DN,
    changelogMaxAgeSeconds: TWO_DAYS,
    inheritDefaultRootPrivileges: false,
    ...overrides,
  };
}

const USER_OK: SyncUserFacts = { password: 'sync-pw', canBind: true, resetPassword: false };

function spec(name: string, rights: readonly string[], userDn = SYNC_DN): AciSpec {
  return { name, targetAttributes: '*', rights, userDn };
}
const READ = ['read', 'search', 'compare'];
const WRITE = ['read', 'search', 'compare', 'add', 'delete', 'write', 'moddn'];

function step(steps: readonly PlannedStep[], id: string): PlannedStep {
  const found = steps.find((s) => s.id === id);
  assert.ok(found !== undefined, `no step '${id}' in ${steps.map((s) => s.id).join(', ')}`);
  return found;
}

/** The ACI steps of planAccess (which also plans the sync user's limits and, on a destination, password writes). */
function aciSteps(from: Ds389Profile, t: PrepareTarget, observed: Observation): PlannedStep[] {
  return from.planAccess(t, observed).filter((s) => s.id.startsWith('aci:'));
}

/** Every value any change deletes. */
function deletedValues(changes: readonly Change[]): string[] {
  return changes.flatMap((c) =>
    c.kind === 'modify' ? c.modifications.filter((m) => m.operation === 'delete').flatMap((m) => m.values) : [],
  );
}

describe('planSyncUser', () => {
  test('absent with its parent present -> created, one add with the full entry', () => {
    const result = planSyncUser(profile, target(), observe(entry(BASE)), {
      password: 'sync-pw',
      canBind: false,
      resetPassword: false,
    });
    assert.equal(result.id, 'sync-user');
    assert.equal(result.status, 'created');
    assert.equal(result.changes.length, 1);
    const change = result.changes[0]!;
    assert.equal(change.kind, 'add');
    if (change.kind !== 'add') throw new Error('unreachable');
    assert.equal(change.dn, SYNC_DN);
    assert.deepEqual(change.attributes['objectClass'], ['top', 'person', 'organizationalPerson', 'inetOrgPerson']);
    assert.deepEqual(change.attributes['cn'], ['Sync User']);
    assert.deepEqual(change.attributes['sn'], ['Sync User']);
    assert.deepEqual(change.attributes['userPassword'], ['sync-pw']);
    assert.deepEqual(result.warnings, []);
  });

  test('the parent is found whatever the case and spacing of the DN', () => {
    const result = planSyncUser(
      profile,
      target({ syncUserDn: 'cn=Sync User, DC=Example, DC=com' }),
      observe(entry(BASE)),
      USER_OK,
    );
    assert.equal(result.status, 'created');
  });

  test('a uid-named sync user carries its uid and takes its value as cn/sn', () => {
    const result = planSyncUser(
      profile,
      target({ syncUserDn: 'uid=sync,ou=People,dc=example,dc=com' }),
      observe(entry('ou=People,dc=example,dc=com')),
      USER_OK,
    );
    const change = result.changes[0]!;
    if (change.kind !== 'add') throw new Error('expected an add');
    assert.deepEqual(change.attributes['uid'], ['sync']);
    assert.deepEqual(change.attributes['cn'], ['sync']);
    assert.deepEqual(change.attributes['sn'], ['sync']);
  });

  test('an upper-case RDN type does not produce the attribute twice', () => {
    const result = planSyncUser(
      profile,
      target({ syncUserDn: 'CN=Sync User,DC=example,DC=com' }),
      observe(entry(BASE)),
      USER_OK,
    );
    const change = result.changes[0]!;
    if (change.kind !== 'add') throw new Error('expected an add');
    const names = Object.keys(change.attributes).map((n) => n.toLowerCase());
    assert.deepEqual(
      names.filter((n) => n === 'cn'),
      ['cn'],
    );
  });

  test('absent with its parent missing -> PrepareError 32 naming the parent', () => {
    const error = rejects(() => planSyncUser(profile, target(), observe(), USER_OK), 32);
    assert.match(error.message, /its parent entry 'dc=example,dc=com' does not exist/);
  });

  test('a one-RDN sync user DN (no parent) -> 32', () => {
    rejects(() => planSyncUser(profile, target({ syncUserDn: 'cn=sync' }), observe(entry(BASE)), USER_OK), 32);
  });

  test('present and the password binds -> unchanged, no changes', () => {
    const result = planSyncUser(profile, target(), observe(entry(BASE), entry(SYNC_DN)), USER_OK);
    assert.equal(result.status, 'unchanged');
    assert.deepEqual(result.changes, []);
  });

  test('present, password does not bind, no reset -> PrepareError 49', () => {
    const error = rejects(
      () =>
        planSyncUser(profile, target(), observe(entry(SYNC_DN)), {
          password: 'wrong',
          canBind: false,
          resetPassword: false,
        }),
      49,
    );
    assert.match(error.hint ?? '', /--resetSyncServerBindPassword/);
    assert.ok(!error.message.includes('wrong'));
  });

  test('present, password does not bind, reset -> updated with a replace of userPassword', () => {
    const result = planSyncUser(profile, target(), observe(entry(SYNC_DN)), {
      password: 'new-pw',
      canBind: false,
      resetPassword: true,
    });
    assert.equal(result.status, 'updated');
    assert.deepEqual(result.changes, [
      {
        kind: 'modify',
        dn: SYNC_DN,
        modifications: [{ operation: 'replace', attribute: 'userPassword', values: ['new-pw'] }],
      },
    ]);
  });
});

describe('planPreparation on 389 DS as a source', () => {
  const pluginOff = entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['off'] });
  const rootDse = entry('', { aci: [ROOT_DSE_ANON_READ] });

  test('fresh server, dynamic plugins off: read ACIs, plugin enabled with a restart warning, changelog ACI skipped', () => {
    const steps = planPreparation(
      profile,
      target({ baseDns: [BASE, OTHER_BASE] }),
      observe(
        entry(BASE),
        entry(OTHER_BASE),
        rootDse,
        entry('cn=config', { 'nsslapd-dynamic-plugins': ['off'] }),
        pluginOff,
      ),
      USER_OK,
    );
    assert.deepEqual(
      steps.map((s) => s.id),
      [
        'sync-user',
        'limits',
        `aci:source:${BASE}`,
        `aci:source:${OTHER_BASE}`,
        'changelog:records',
        'changelog',
        'aci:changelog',
      ],
    );
    for (const base of [BASE, OTHER_BASE]) {
      const aci = step(steps, `aci:source:${base}`);
      assert.equal(aci.status, 'created');
      assert.deepEqual(aci.changes, [
        {
          kind: 'modify',
          dn: base,
          modifications: [{ operation: 'add', attribute: 'aci', values: [renderAci(spec('sync source read', READ))] }],
        },
      ]);
    }
    const changelog = step(steps, 'changelog');
    assert.equal(changelog.status, 'updated');
    assert.deepEqual(changelog.changes, [
      {
        kind: 'modify',
        dn: RETRO_CHANGELOG_PLUGIN_DN,
        modifications: [
          { operation: 'replace', attribute: 'nsslapd-pluginEnabled', values: ['on'] },
          { operation: 'replace', attribute: 'nsslapd-changelogmaxage', values: ['2d'] },
        ],
      },
    ]);
    assert.equal(changelog.warnings.length, 1);
    assert.match(changelog.warnings[0]!, /nsslapd-dynamic-plugins is off/);
    assert.match(changelog.warnings[0]!, /restart the directory server/);
    const changelogAci = step(steps, 'aci:changelog');
    assert.equal(changelogAci.status, 'skipped');
    assert.deepEqual(changelogAci.changes, []);
  });

  test('fresh server, dynamic plugins on: no restart warning, the changelog ACI is added to cn=changelog', () => {
    const steps = planPreparation(
      profile,
      target(),
      observe(entry(BASE), rootDse, entry('cn=config', { 'nsslapd-dynamic-plugins': ['on'] }), pluginOff),
      USER_OK,
    );
    const changelog = step(steps, 'changelog');
    assert.equal(changelog.status, 'updated');
    assert.deepEqual(changelog.warnings, []);
    assert.match(changelog.detail ?? '', /started live/);
    const changelogAci = step(steps, 'aci:changelog');
    assert.equal(changelogAci.status, 'created');
    assert.deepEqual(changelogAci.changes, [
      {
        kind: 'modify',
        dn: CHANGELOG_DN,
        modifications: [{ operation: 'add', attribute: 'aci', values: [renderAci(spec('sync changelog read', READ))] }],
      },
    ]);
  });

  test('plugin on and running, maxage 48h, 2d wanted -> changelog unchanged (48h == 2d)', () => {
    const steps = profile.planChangelog(
      target(),
      observe(
        entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['on'], 'nsslapd-changelogmaxage': ['48h'] }),
        entry(CHANGELOG_DN, { aci: [renderAci(spec('sync changelog read', READ))] }),
      ),
    );
    const changelog = step(steps, 'changelog');
    assert.equal(changelog.status, 'unchanged');
    assert.deepEqual(changelog.changes, []);
    assert.deepEqual(changelog.warnings, []);
    assert.equal(step(steps, 'aci:changelog').status, 'unchanged');
  });

  test('plugin on and running, maxage 7d, 2d asked for -> updated with only the age, a shortening and a restart warning', () => {
    const steps = profile.planChangelog(
      target(),
      observe(
        entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['on'], 'nsslapd-changelogmaxage': ['7d'] }),
        entry(CHANGELOG_DN),
      ),
    );
    const changelog = step(steps, 'changelog');
    assert.equal(changelog.status, 'updated');
    assert.deepEqual(changelog.changes, [
      {
        kind: 'modify',
        dn: RETRO_CHANGELOG_PLUGIN_DN,
        modifications: [{ operation: 'replace', attribute: 'nsslapd-changelogmaxage', values: ['2d'] }],
      },
    ]);
    assert.equal(changelog.warnings.length, 2);
    assert.match(changelog.warnings[0]!, /shortens the change log retention from 1w to 2d/);
    assert.match(changelog.warnings[1]!, /maximum age is read when the Retro Changelog Plugin starts: restart/);
    assert.match(changelog.detail ?? '', /was 7d/);
  });

  test('plugin on, maxage 30d, no age asked for -> unchanged, kept, no warning', () => {
    const steps = profile.planChangelog(
      target({ keepCurrentChangelogMaxAge: true }),
      observe(
        entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['on'], 'nsslapd-changelogmaxage': ['30d'] }),
        entry(CHANGELOG_DN),
      ),
    );
    const changelog = step(steps, 'changelog');
    assert.equal(changelog.status, 'unchanged');
    assert.deepEqual(changelog.changes, []);
    assert.deepEqual(changelog.warnings, []);
    assert.match(changelog.detail ?? '', /30d, kept: pass --changelogMaximumAge to change it/);
  });

  test('plugin on, maxage unset or 0 (never trimmed), no age asked for -> the 2-day default', () => {
    for (const unlimited of [[], ['0']]) {
      const steps = profile.planChangelog(
        target({ keepCurrentChangelogMaxAge: true }),
        observe(
          entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['on'], 'nsslapd-changelogmaxage': unlimited }),
          entry(CHANGELOG_DN),
        ),
      );
      assert.deepEqual(step(steps, 'changelog').changes, [
        {
          kind: 'modify',
          dn: RETRO_CHANGELOG_PLUGIN_DN,
          modifications: [{ operation: 'replace', attribute: 'nsslapd-changelogmaxage', values: ['2d'] }],
        },
      ]);
    }
  });

  test('maxage 1d, 7d asked for -> longer: changed without a shortening warning', () => {
    const steps = profile.planChangelog(
      target({ changelogMaxAgeSeconds: 7 * 86400 }),
      observe(
        entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['on'], 'nsslapd-changelogmaxage': ['1d'] }),
        entry(CHANGELOG_DN),
      ),
    );
    const changelog = step(steps, 'changelog');
    assert.equal(changelog.status, 'updated');
    assert.ok(!changelog.warnings.some((w) => /shortens/.test(w)));
  });

  test('plugin on but not running -> warning with restart text', () => {
    const steps = profile.planChangelog(
      target(),
      observe(entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': ['on'], 'nsslapd-changelogmaxage': ['2d'] })),
    );
    const changelog = step(steps, 'changelog');
    assert.equal(changelog.status, 'warning');
    assert.deepEqual(changelog.changes, []);
    assert.equal(changelog.warnings.length, 1);
    assert.match(changelog.warnings[0]!, /enabled but not running: restart the directory server/);
    assert.equal(step(steps, 'aci:changelog').status, 'skipped');
  });

  test('no Retro Changelog Plugin entry -> warning only, no changes', () => {
    const steps = profile.planChangelog(target(), observe());
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!.status, 'warning');
    assert.deepEqual(steps[0]!.changes, []);
  });

  test('destination only: no changelog steps at all', () => {
    const steps = planPreparation(
      profile,
      target({ roles: { source: false, destination: true } }),
      observe(entry(BASE)),
      USER_OK,
    );
    assert.deepEqual(
      steps.map((s) => s.id),
      ['sync-user', 'limits', `aci:destination:${BASE}`, 'password-admin'],
    );
  });
});

describe('ACIs on 389 DS', () => {
  // The destination's rights: everything but access control, with deny ACIs that win over any allow.
  const wantedWrite =
    '(targetattr!="aci")(version 3.0; acl "prepare-endpoint-server: sync destination write"; allow (read,search,compare,delete,write) userdn="ldap:///cn=Sync User,dc=example,dc=com";)';
  // The add allow (adds without a pwdpolicysubentry of their own) and the denies.
  const destinationDenies = [
    '(targetattr!="aci")(targattrfilters="add=pwdpolicysubentry:(!(pwdpolicysubentry=*))")(version 3.0; acl "prepare-endpoint-server: sync destination add"; allow (add) userdn="ldap:///cn=Sync User,dc=example,dc=com";)',
    '(targetattr="aci")(version 3.0; acl "prepare-endpoint-server: sync destination: no access control changes"; deny (write) userdn="ldap:///cn=Sync User,dc=example,dc=com";)',
    '(targetfilter="(aci=*)")(version 3.0; acl "prepare-endpoint-server: sync destination: no entries carrying ACIs"; deny (add,delete) userdn="ldap:///cn=Sync User,dc=example,dc=com";)',
    '(targetattr="*")(targetfilter="(|(objectClass=passwordPolicy)(objectClass=ldapsubentry)(objectClass=cosSuperDefinition)(objectClass=cosClassicDefinition)(objectClass=cosPointerDefinition)(objectClass=cosIndirectDefinition)(objectClass=cosTemplate)(cn=nsPwPolicyContainer))")(version 3.0; acl "prepare-endpoint-server: sync destination: no password policies"; deny (add,delete,write) userdn="ldap:///cn=Sync User,dc=example,dc=com";)',
    '(targattrfilters="add=objectClass:(|(objectClass=passwordPolicy)(objectClass=ldapsubentry)(objectClass=cosSuperDefinition)(objectClass=cosClassicDefinition)(objectClass=cosPointerDefinition)(objectClass=cosIndirectDefinition)(objectClass=cosTemplate)),del=objectClass:(|(objectClass=passwordPolicy)(objectClass=ldapsubentry)(objectClass=cosSuperDefinition)(objectClass=cosClassicDefinition)(objectClass=cosPointerDefinition)(objectClass=cosIndirectDefinition)(objectClass=cosTemplate))")(version 3.0; acl "prepare-endpoint-server: sync destination: no password policy classes"; deny (write) userdn="ldap:///cn=Sync User,dc=example,dc=com";)',
    '(targetattr="pwdpolicysubentry || cosAttribute || cosTemplateDn || cosSpecifier || cosIndirectSpecifier || accountUnlockTime || passwordRetryCount || retryCountResetTime || passwordExpirationTime || passwordGraceUserTime || passwordExpWarned || passwordHistory")(version 3.0; acl "prepare-endpoint-server: sync destination: no password policy pointers"; deny (write) userdn="ldap:///cn=Sync User,dc=example,dc=com";)',
    '(targetfilter="(|(cosAttribute=*)(cosTemplateDn=*)(cosSpecifier=*)(cosIndirectSpecifier=*))")(version 3.0; acl "prepare-endpoint-server: sync destination: no entries carrying password policy pointers"; deny (add) userdn="ldap:///cn=Sync User,dc=example,dc=com";)',
    '(targetattr="*")(version 3.0; acl "prepare-endpoint-server: sync destination: not its own account"; deny (write,delete,moddn) (userdn="ldap:///cn=Sync User,dc=example,dc=com" and userdn="ldap:///self");)',
  ];
  const wantedDestination = [wantedWrite, ...destinationDenies];
  const wantedRead = renderAci(spec('sync source read', READ));
  const destination = target({ roles: { source: false, destination: true } });

  test('destination: add (no pwdpolicysubentry), delete, write on everything but aci, no moddn, and the deny ACIs, in one modify', () => {
    const steps = aciSteps(profile, destination, observe(entry(BASE, { aci: [THIRD_PARTY_ACI] })));
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!.status, 'created');
    assert.deepEqual(steps[0]!.changes, [
      {
        kind: 'modify',
        dn: BASE,
        modifications: [{ operation: 'add', attribute: 'aci', values: wantedDestination }],
      },
    ]);
  });

  test('DSEE: no moddn right anywhere (DSEE does not know it)', () => {
    const dsee = new Ds389Profile('dsee', 'Sun DSEE');
    const added = aciSteps(dsee, destination, observe(entry(BASE)))
      .flatMap((s) => s.changes)
      .flatMap((c) => (c.kind === 'modify' ? c.modifications.flatMap((m) => m.values) : []));
    assert.equal(added.length, 9);
    assert.ok(
      added.every((aci) => !/moddn/.test(aci)),
      added.join('\n'),
    );
  });

  test('the allow-all destination ACI of earlier versions is rewritten, the denies added, in one modify', () => {
    const earlier =
      '(targetattr="*")(version 3.0; acl "prepare-endpoint-server: sync destination write"; ' +
      'allow (read,search,compare,add,delete,write,moddn) userdn="ldap:///cn=Sync User,dc=example,dc=com";)';
    const steps = aciSteps(profile, destination, observe(entry(BASE, { aci: [THIRD_PARTY_ACI, earlier] })));
    assert.equal(steps[0]!.status, 'updated');
    assert.deepEqual(steps[0]!.changes, [
      {
        kind: 'modify',
        dn: BASE,
        modifications: [
          { operation: 'delete', attribute: 'aci', values: [earlier] },
          { operation: 'add', attribute: 'aci', values: wantedDestination },
        ],
      },
    ]);
  });

  test('an identical existing ACI set -> unchanged, no changes', () => {
    const steps = aciSteps(
      profile,
      destination,
      observe(entry(BASE, { aci: [THIRD_PARTY_ACI, ...wantedDestination] })),
    );
    assert.equal(steps[0]!.status, 'unchanged');
    assert.deepEqual(steps[0]!.changes, []);
  });

  test('ours with a different text -> one modify deleting the old value and adding the new', () => {
    const old = renderAci(spec('sync destination write', ['read', 'search', 'write']));
    const steps = aciSteps(
      profile,
      destination,
      observe(entry(BASE, { aci: [THIRD_PARTY_ACI, old, ...destinationDenies] })),
    );
    assert.equal(steps[0]!.status, 'updated');
    assert.deepEqual(steps[0]!.changes, [
      {
        kind: 'modify',
        dn: BASE,
        modifications: [
          { operation: 'delete', attribute: 'aci', values: [old] },
          { operation: 'add', attribute: 'aci', values: [wantedWrite] },
        ],
      },
    ]);
  });

  test('ours recognized whatever the case of the name and the user DN', () => {
    const old =
      '(targetattr="*")(version 3.0; acl "PREPARE-ENDPOINT-SERVER: Sync Destination Write"; allow (write) userdn="ldap:///CN=sync user, DC=example,DC=COM";)';
    const result = planAci('x', 'x', BASE, [old], spec('sync destination write', WRITE));
    assert.equal(result.status, 'updated');
    assert.deepEqual(deletedValues(result.changes), [old]);
  });

  test('the wanted ACI next to a stale one of ours -> delete the stale one only, add nothing', () => {
    const stale = renderAci(spec('sync destination write', ['read']));
    const wanted = renderAci(spec('sync destination write', WRITE));
    const result = planAci('x', 'x', BASE, [wanted, THIRD_PARTY_ACI, stale], spec('sync destination write', WRITE));
    assert.equal(result.status, 'updated');
    assert.deepEqual(result.changes, [
      {
        kind: 'modify',
        dn: BASE,
        modifications: [{ operation: 'delete', attribute: 'aci', values: [stale] }],
      },
    ]);
  });

  test('third-party ACIs never appear in any delete', () => {
    const otherUser = renderAci(spec('sync destination write', WRITE, 'cn=Someone Else,dc=example,dc=com'));
    const otherName = wantedWrite.replace('sync destination write', 'sync destination write (hand-made)');
    const unnamed = '(targetattr="*")(version 3.0; allow (all) userdn="ldap:///cn=Sync User,dc=example,dc=com";)';
    const stale = renderAci(spec('sync destination write', ['read']));
    const foreign = [THIRD_PARTY_ACI, otherUser, otherName, unnamed, wantedRead];
    const observations = [
      [...foreign],
      [...foreign, wantedWrite],
      [...foreign, stale],
      [...foreign, wantedWrite, wantedWrite, stale],
    ];
    for (const acis of observations) {
      const steps = aciSteps(
        profile,
        target({ roles: { source: true, destination: true } }),
        observe(entry(BASE, { aci: acis }), entry('', { aci: [ROOT_DSE_ANON_READ] })),
      );
      const deleted = steps.flatMap((s) => deletedValues(s.changes));
      for (const value of foreign.filter((v) => v !== wantedRead))
        assert.ok(!deleted.includes(value), `deleted ${value}`);
      assert.ok(!deleted.includes(wantedRead));
    }
  });

  test('root DSE with the default anonymous-read ACI -> no root DSE step', () => {
    const steps = aciSteps(profile, target(), observe(entry(BASE), entry('', { aci: [ROOT_DSE_ANON_READ] })));
    assert.deepEqual(
      steps.map((s) => s.id),
      [`aci:source:${BASE}`],
    );
  });

  test('root DSE with no ACIs -> a root DSE ACI step adding ours', () => {
    for (const observation of [observe(entry(BASE), entry('')), observe(entry(BASE))]) {
      const steps = aciSteps(profile, target(), observation);
      const rootStep = step(steps, 'aci:root-dse');
      assert.equal(rootStep.status, 'created');
      assert.deepEqual(rootStep.changes, [
        {
          kind: 'modify',
          dn: '',
          modifications: [
            { operation: 'add', attribute: 'aci', values: [renderAci(spec('sync root DSE read', READ))] },
          ],
        },
      ]);
    }
  });

  test('a root DSE ACI that only lets anyone search (not read) does not count', () => {
    const searchOnly = '(targetattr="*")(version 3.0; acl "x"; allow (search) userdn="ldap:///anyone";)';
    const steps = aciSteps(profile, target(), observe(entry(BASE), entry('', { aci: [searchOnly] })));
    assert.equal(step(steps, 'aci:root-dse').status, 'created');
  });
});

describe('renderAci / isOurAci with awkward DNs', () => {
  test('a double quote in the user DN is written as \\22 and the ACI is recognized again', () => {
    const quoted = spec('sync source read', READ, 'cn=Sync \\"Q\\" User,dc=example,dc=com');
    const aci = renderAci(quoted);
    assert.equal(
      aci,
      '(targetattr="*")(version 3.0; acl "prepare-endpoint-server: sync source read"; ' +
        'allow (read,search,compare) userdn="ldap:///cn=Sync \\22Q\\22 User,dc=example,dc=com";)',
    );
    assert.equal(aci.match(/"/g)?.length, 6);
    assert.deepEqual(aciUserDns(aci), ['cn=Sync \\22Q\\22 User,dc=example,dc=com']);
    assert.equal(isOurAci(aci, quoted), true);
    assert.equal(planAci('x', 'x', BASE, [aci], quoted).status, 'unchanged');
  });

  test('a DN with an escaped comma is recognized again', () => {
    const comma = spec('sync source read', READ, 'cn=Sync\\, User,dc=example,dc=com');
    const aci = renderAci(comma);
    assert.ok(aci.includes('userdn="ldap:///cn=Sync\\, User,dc=example,dc=com"'), aci);
    assert.equal(isOurAci(aci, comma), true);
    assert.equal(isOurAci(aci, spec('sync source read', READ, 'cn=Sync,dc=example,dc=com')), false);
    assert.equal(planAci('x', 'x', BASE, [aci], comma).status, 'unchanged');
  });

  test('a DN with an escaped backslash followed by "22" is recognized again', () => {
    const backslash = spec('sync source read', READ, 'cn=Back\\\\22slash,dc=example,dc=com');
    const aci = renderAci(backslash);
    assert.equal(isOurAci(aci, backslash), true);
  });

  test('aciName reads acl "..." and aci "..."; ACIs of another name or user are not ours', () => {
    assert.equal(aciName(renderAci(spec('sync source read', READ))), 'prepare-endpoint-server: sync source read');
    assert.equal(aciName(ROOT_DSE_ANON_READ), 'rootdse anon read access');
    assert.equal(isOurAci(renderAci(spec('sync source read', READ)), spec('sync destination write', WRITE)), false);
    assert.equal(
      isOurAci(renderAci(spec('sync source read', READ, 'cn=Other,dc=example,dc=com')), spec('sync source read', READ)),
      false,
    );
  });
});

describe('planRemoval: only an account this tool created is deleted', () => {
  const PERSON = ['top', 'person', 'organizationalPerson', 'inetOrgPerson'];
  const account = (attributes: Record<string, string[]>): Entry =>
    entry(SYNC_DN, { objectClass: PERSON, ...attributes });
  const userStep = (e: Entry | undefined, children: boolean | 'unknown' = false): PlannedStep =>
    step(
      planRemoval(
        profile,
        target(),
        observe(...(e === undefined ? [] : [e]), entry(BASE), entry(''), entry(CHANGELOG_DN)),
        false,
        { hasChildren: children === 'unknown' ? undefined : children },
      ),
      'sync-user',
    );

  test('the mark is the exact description every version writes into the account it creates', () => {
    assert.equal(isMarkedAccount(account({ description: [SYNC_USER_DESCRIPTION] })), true);
    assert.equal(
      isMarkedAccount(account({ description: ['something else', SYNC_USER_DESCRIPTION] })),
      true,
      'among other values',
    );
    assert.equal(isMarkedAccount(account({ description: [`${SYNC_USER_DESCRIPTION} `] })), false);
    assert.equal(isMarkedAccount(account({})), false);
    assert.equal(
      isMarkedAccount(
        entry(SYNC_DN, { objectClass: ['top', 'organizationalUnit'], description: [SYNC_USER_DESCRIPTION] }),
      ),
      false,
      'not an account',
    );
    assert.equal(
      isMarkedAccount(entry(SYNC_DN, { objectClass: ['top', 'groupOfNames'], description: [SYNC_USER_DESCRIPTION] })),
      false,
    );
  });

  test('a marked leaf account is deleted; anything else is kept with a warning saying why', () => {
    assert.deepEqual(userStep(account({ description: [SYNC_USER_DESCRIPTION] })).changes, [
      { kind: 'delete', dn: SYNC_DN },
    ]);
    for (const [kept, why] of [
      [userStep(account({})), /did not create it/],
      [userStep(entry(SYNC_DN, { objectClass: ['top', 'organizationalUnit'] })), /not an account/],
      [userStep(account({ description: [SYNC_USER_DESCRIPTION] }), true), /non-leaf entry is never deleted/],
      [userStep(account({ description: [SYNC_USER_DESCRIPTION] }), 'unknown'), /unknown/],
    ] as const) {
      assert.equal(kept.status, 'skipped');
      assert.deepEqual(kept.changes, []);
      assert.match(kept.warnings[0] ?? '', /was kept, not deleted/);
      assert.match(kept.warnings[0] ?? '', why);
    }
    assert.equal(userStep(undefined).status, 'unchanged');
  });

  test('the rights are taken away whether the account is deleted or kept', () => {
    const aci = renderAci(spec('sync destination write', WRITE));
    const steps = planRemoval(
      profile,
      target(),
      observe(account({}), entry(BASE, { aci: [aci] }), entry(''), entry(CHANGELOG_DN)),
      false,
      { hasChildren: false },
    );
    assert.deepEqual(deletedValues(steps.flatMap((s) => s.changes)), [aci]);
  });

  test('PingDirectory: a kept root DN user keeps its privileges, which a warning names', () => {
    const ping = new PingDirectoryProfile('pingdirectory', 'PingDirectory');
    const dn = 'cn=Other,cn=Root DNs,cn=config';
    const user = entry(dn, {
      objectClass: [...PERSON, 'ds-cfg-root-dn-user'],
      'ds-privilege-name': ['bypass-acl', 'password-reset', 'backend-backup'],
    });
    const steps = planRemoval(ping, target({ syncUserDn: dn }), observe(user, entry('cn=Root DNs,cn=config')), false, {
      hasChildren: undefined,
    });
    assert.deepEqual(
      steps.flatMap((s) => s.changes),
      [],
    );
    assert.match(step(steps, 'privileges').warnings[0] ?? '', /keeps its privileges bypass-acl, password-reset/);
  });
});

describe('refuseAdministrators: the sync user is never an administrator', () => {
  test('the bind DN in any spelling, and 389 DS nsslapd-rootdn (Directory Manager when unreadable)', () => {
    const seen = observe(entry('cn=config', { 'nsslapd-rootdn': ['cn=Root Admin'] }));
    for (const sync of [
      'uid=admin,ou=People,dc=example,dc=com',
      'UID = Admin , OU=people,DC=EXAMPLE,DC=COM',
      'uid=\\61dmin,ou=People,dc=example,dc=com',
    ]) {
      const error = rejects(
        () =>
          refuseAdministrators(
            profile,
            target({ syncUserDn: sync }),
            seen,
            'uid=admin,ou=People,dc=example,dc=com',
            sync,
          ),
        89,
      );
      assert.match(error.message, /names the admin's own account/);
    }
    assert.match(
      rejects(
        () =>
          refuseAdministrators(
            profile,
            target({ syncUserDn: 'CN=root\\20admin' }),
            seen,
            'uid=x,dc=example,dc=com',
            'CN=root\\20admin',
          ),
        89,
      ).message,
      /the root DN, nsslapd-rootdn 'cn=Root Admin'/,
    );
    rejects(
      () =>
        refuseAdministrators(
          profile,
          target({ syncUserDn: 'cn=directory manager' }),
          observe(),
          'uid=x,dc=example,dc=com',
          'cn=directory manager',
        ),
      89,
    );
    assert.doesNotThrow(() => refuseAdministrators(profile, target(), seen, 'cn=Directory Manager', SYNC_DN));
  });

  test('PingDirectory: the admin bound by an alternate bind DN of the sync user account', () => {
    const ping = new PingDirectoryProfile('pingdirectory', 'PingDirectory');
    const dn = 'cn=Directory Manager,cn=Root DNs,cn=config';
    const seen = observe(entry(dn, { 'ds-cfg-alternate-bind-dn': ['cn=Directory Manager'] }));
    rejects(() => refuseAdministrators(ping, target({ syncUserDn: dn }), seen, 'CN=directory manager', dn), 89);
    assert.doesNotThrow(() =>
      refuseAdministrators(
        ping,
        target({ syncUserDn: 'cn=Sync User,cn=Root DNs,cn=config' }),
        seen,
        'cn=Directory Manager',
        'cn=Sync User,cn=Root DNs,cn=config',
      ),
    );
  });
});

describe('389 DS with mdb and dynamic plugins: a caution before a live start or stop of the Retro Changelog Plugin', () => {
  const seen = (backend: string, dynamic: string, enabled: string): Observation =>
    observe(
      entry('cn=config', { 'nsslapd-dynamic-plugins': [dynamic] }),
      entry(LDBM_CONFIG_DN, { 'nsslapd-backend-implement': [backend] }),
      entry(RETRO_CHANGELOG_PLUGIN_DN, { 'nsslapd-pluginEnabled': [enabled] }),
      entry(BASE),
      entry(''),
    );
  const cautions = (steps: readonly PlannedStep[]): readonly string[] => step(steps, 'changelog').cautions ?? [];

  test('mdb + dynamic: on the live start and on the live stop; never on bdb or without dynamic plugins', () => {
    assert.deepEqual(cautions(profile.planChangelog(target(), seen('mdb', 'on', 'off'))), [MDB_LIVE_TOGGLE_CAUTION]);
    assert.deepEqual(cautions(profile.planRemoval(target(), seen('mdb', 'on', 'on'), true)), [MDB_LIVE_TOGGLE_CAUTION]);
    assert.deepEqual(cautions(profile.planChangelog(target(), seen('bdb', 'on', 'off'))), []);
    assert.deepEqual(cautions(profile.planChangelog(target(), seen('mdb', 'off', 'off'))), []);
    assert.deepEqual(cautions(profile.planRemoval(target(), seen('mdb', 'off', 'on'), true)), []);
  });
});
