// The PingDirectory profile, pure: detection on root DSE fixtures and every planning decision.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { planPreparation } from '../../src/core/plan.js';
import type { Change, Entry } from '../../src/model/entries.js';
import { detectServer } from '../../src/servers/detect.js';
import {
  CHANGELOG_BACKEND_DN,
  DEFAULT_SYNC_USER_DN,
  effectivePrivileges,
  PingDirectoryProfile,
  privilegesFor,
  ROOT_DNS_DN,
} from '../../src/servers/pingdirectory.js';
import type { Observation, PlannedStep, PrepareTarget } from '../../src/model/plan.js';
import { profileFor } from '../../src/servers/registry.js';
import { entry, observation as fakeObservation } from '../helpers/planning.js';

function rootDse(vendorName: string, vendorVersion: string): Entry {
  return entry('', { objectClass: ['top', 'ds-root-dse'], vendorName: [vendorName], vendorVersion: [vendorVersion] });
}

function observation(entries: Entry[], root?: Entry): Observation {
  return fakeObservation(entries, root === undefined ? {} : { rootDse: root });
}

const TWO_DAYS = 2 * 86400;

function target(overrides: Partial<PrepareTarget> = {}): PrepareTarget {
  return {
    baseDns: ['dc=example,dc=com'],
    roles: { source: true, destination: false },
    syncUserDn: DEFAULT_SYNC_USER_DN,
    changelogMaxAgeSeconds: TWO_DAYS,
    inheritDefaultRootPrivileges: false,
    ...overrides,
  };
}

const rootDns = entry(ROOT_DNS_DN, {
  objectClass: ['ds-cfg-root-dn'],
  'ds-cfg-default-root-privilege-name': [
    'bypass-acl',
    'config-read',
    'config-write',
    'password-reset',
    'unindexed-search',
  ],
});
const disabledChangelog = entry(CHANGELOG_BACKEND_DN, {
  'ds-cfg-enabled': ['false'],
  'ds-cfg-changelog-maximum-age': ['2 d'],
});
const ds = new PingDirectoryProfile('pingdirectory', 'PingDirectory');
const proxy = new PingDirectoryProfile('pingdirectoryproxy', 'PingDirectoryProxy');

function syncUser(attributes: Record<string, string[]>): Entry {
  return entry(DEFAULT_SYNC_USER_DN, { objectClass: ['top', 'person', 'ds-cfg-root-dn-user'], ...attributes });
}

function onlyModification(step: PlannedStep | undefined): Change & { kind: 'modify' } {
  assert.ok(step, 'a step was planned');
  assert.equal(step.changes.length, 1, JSON.stringify(step));
  const change = step.changes[0];
  assert.ok(change?.kind === 'modify');
  return change;
}

describe('detection on root DSE fixtures', () => {
  const cases: [string, string, string, string][] = [
    ['PingDirectory', 'Ping Identity Corporation', 'Ping Identity Directory Server 10.2.0.0', 'pingdirectory'],
    [
      'PingDirectoryProxy',
      'Ping Identity Corporation',
      'Ping Identity Directory Proxy Server 10.2.0.0',
      'pingdirectoryproxy',
    ],
    ['UnboundID DS', 'UnboundID Corp.', 'UnboundID Directory Server 5.2.0.0', 'pingdirectory'],
    ['UnboundID proxy', 'UnboundID Corp.', 'UnboundID Directory Proxy Server 5.2.0.0', 'pingdirectoryproxy'],
    ['Nokia DS', 'Nokia', 'Nokia 8661 Directory Server 7.3', 'pingdirectory'],
    ['Alcatel-Lucent proxy', 'Alcatel-Lucent', 'Alcatel-Lucent 8661 Directory Proxy Server 4.5', 'pingdirectoryproxy'],
  ];
  for (const [name, vendorName, vendorVersion, family] of cases) {
    test(`${name} is ${family}, and its profile is a PingDirectory profile`, () => {
      const detection = detectServer(rootDse(vendorName, vendorVersion));
      assert.equal(detection.family, family);
      const profile = profileFor(detection.family);
      assert.ok(profile instanceof PingDirectoryProfile);
      assert.equal(profile.defaultSyncUserDn(['dc=example,dc=com']), 'cn=Sync User,cn=Root DNs,cn=config');
    });
  }
});

describe('privileges per role', () => {
  test('least privilege for each role and the union for both', () => {
    assert.deepEqual(privilegesFor({ source: true, destination: false }), [
      'bypass-read-acl',
      'config-read',
      'unindexed-search',
    ]);
    assert.deepEqual(privilegesFor({ source: false, destination: true }), [
      'bypass-acl',
      'password-reset',
      'bypass-pw-policy',
      'unindexed-search',
    ]);
    assert.deepEqual(privilegesFor({ source: true, destination: true }), [
      'bypass-read-acl',
      'config-read',
      'unindexed-search',
      'bypass-acl',
      'password-reset',
      'bypass-pw-policy',
    ]);
  });

  test('effective privileges: defaults only when inherited, -name removes, case does not matter', () => {
    assert.deepEqual([...effectivePrivileges(false, ['bypass-acl'], ['config-read'])], ['config-read']);
    assert.deepEqual(
      [...effectivePrivileges(true, ['bypass-acl', 'config-read'], ['-Bypass-ACL', 'jmx-read'])].sort(),
      ['config-read', 'jmx-read'],
    );
  });
});

describe('the sync user entry', () => {
  test('a root DN user without inheritance, carrying exactly the role privileges and the password', () => {
    const attributes = ds.syncUserEntry(
      DEFAULT_SYNC_USER_DN,
      'pw',
      target({ roles: { source: false, destination: true } }),
    );
    assert.ok(attributes.objectClass?.includes('ds-cfg-root-dn-user'));
    assert.deepEqual(attributes.cn, ['Sync User']);
    assert.deepEqual(attributes.sn, ['User']);
    assert.deepEqual(attributes.userPassword, ['pw']);
    assert.deepEqual(attributes['ds-cfg-inherit-default-root-privileges'], ['false']);
    assert.deepEqual(attributes['ds-privilege-name'], [
      'bypass-acl',
      'password-reset',
      'bypass-pw-policy',
      'unindexed-search',
    ]);
    // No search, time, look-through or idle limit: a full resync reads every entry, a sync connection idles between polls.
    for (const name of [
      'ds-rlim-size-limit',
      'ds-rlim-time-limit',
      'ds-rlim-lookthrough-limit',
      'ds-rlim-idle-time-limit',
    ]) {
      assert.deepEqual(attributes[name], ['0'], name);
    }
  });

  test('--inheritDefaultRootPrivileges inherits and names only what the defaults lack', () => {
    const attributes = ds.syncUserEntry(
      DEFAULT_SYNC_USER_DN,
      'pw',
      target({ roles: { source: true, destination: true }, inheritDefaultRootPrivileges: true }),
    );
    assert.deepEqual(attributes['ds-cfg-inherit-default-root-privileges'], ['true']);
    assert.deepEqual(attributes['ds-privilege-name'], ['bypass-read-acl', 'bypass-pw-policy']);
  });

  test('outside cn=Root DNs the account is a normal user with privileges and no root classes', () => {
    const dn = 'uid=sync,ou=People,dc=example,dc=com';
    const attributes = ds.syncUserEntry(dn, 'pw', target({ syncUserDn: dn }));
    assert.equal(attributes.objectClass?.includes('ds-cfg-root-dn-user'), false);
    assert.equal(attributes['ds-cfg-inherit-default-root-privileges'], undefined);
    assert.deepEqual(attributes.uid, ['sync']);
    assert.deepEqual(attributes['ds-privilege-name'], ['bypass-read-acl', 'config-read', 'unindexed-search']);
  });

  test('the whole plan for a new source: create the user, then enable the change log', () => {
    const observed = observation([rootDns, disabledChangelog]);
    const plan = planPreparation(ds, target(), observed, { password: 'pw', canBind: false, resetPassword: false });
    assert.deepEqual(
      plan.map((step) => `${step.id}:${step.status}`),
      ['sync-user:created', 'privileges:created', 'limits:created', 'changelog:updated', 'changelog:records:created'],
    );
    assert.equal(plan[1]?.changes.length, 0, 'the privileges come with the new entry');
  });
});

describe('reconciling an existing account', () => {
  test('adds only the missing privileges, leaves the others and the inheritance flag alone', () => {
    const observed = observation([
      rootDns,
      syncUser({
        'ds-cfg-inherit-default-root-privileges': ['false'],
        'ds-privilege-name': ['config-read', 'jmx-read'],
      }),
    ]);
    const [step] = ds.planAccess(target(), observed);
    assert.equal(step?.status, 'updated');
    assert.deepEqual(onlyModification(step).modifications, [
      { operation: 'add', attribute: 'ds-privilege-name', values: ['bypass-read-acl', 'unindexed-search'] },
    ]);
  });

  test('nothing to do when the account holds everything, inherited or named', () => {
    const observed = observation([rootDns, syncUser({ 'ds-privilege-name': ['bypass-read-acl'] })]);
    const [step] = ds.planAccess(target(), observed);
    assert.equal(step?.status, 'unchanged');
    assert.equal(step?.changes.length, 0);
  });

  test('an absent inherit flag means the root user inherits (the server default)', () => {
    const observed = observation([rootDns, syncUser({})]);
    const [step] = ds.planAccess(target({ roles: { source: false, destination: true } }), observed);
    assert.deepEqual(onlyModification(step).modifications, [
      { operation: 'add', attribute: 'ds-privilege-name', values: ['bypass-pw-policy'] },
    ]);
  });

  test('a -name value that takes away a needed privilege is warned about, never removed', () => {
    const observed = observation([rootDns, syncUser({ 'ds-privilege-name': ['-bypass-read-acl'] })]);
    const [step] = ds.planAccess(target(), observed);
    assert.equal(step?.status, 'warning');
    assert.equal(step?.changes.length, 0);
    assert.match(step?.warnings[0] ?? '', /-bypass-read-acl/);
  });

  test('--inheritDefaultRootPrivileges switches inheritance on for an existing root user', () => {
    const observed = observation([
      rootDns,
      syncUser({ 'ds-cfg-inherit-default-root-privileges': ['false'], 'ds-privilege-name': ['bypass-read-acl'] }),
    ]);
    const [step] = ds.planAccess(target({ inheritDefaultRootPrivileges: true }), observed);
    assert.deepEqual(onlyModification(step).modifications, [
      { operation: 'replace', attribute: 'ds-cfg-inherit-default-root-privileges', values: ['true'] },
    ]);
  });

  test('without readable defaults the documented default list is assumed', () => {
    const observed = observation([syncUser({ 'ds-cfg-inherit-default-root-privileges': ['true'] })]);
    const [step] = ds.planAccess(target({ roles: { source: false, destination: true } }), observed);
    assert.deepEqual(onlyModification(step).modifications[0]?.values, ['bypass-pw-policy']);
  });
});

describe('the change log', () => {
  test('enables the backend and writes the age in the server syntax', () => {
    const [step] = ds.planChangelog(target({ changelogMaxAgeSeconds: 8 * 3600 }), observation([disabledChangelog]));
    assert.equal(step?.status, 'updated');
    assert.equal(onlyModification(step).dn, CHANGELOG_BACKEND_DN);
    assert.deepEqual(onlyModification(step).modifications, [
      { operation: 'replace', attribute: 'ds-cfg-enabled', values: ['true'] },
      { operation: 'replace', attribute: 'ds-cfg-changelog-maximum-age', values: ['8 h'] },
    ]);
    assert.match(step?.detail ?? '', /from '2 d' to '8 h'/);
  });

  test('leaves an equal age alone, however the server spells it', () => {
    const enabled = entry(CHANGELOG_BACKEND_DN, {
      'ds-cfg-enabled': ['TRUE'],
      'ds-cfg-changelog-maximum-age': ['48 h'],
    });
    const [step] = ds.planChangelog(target(), observation([enabled]));
    assert.equal(step?.status, 'unchanged');
    assert.equal(step?.changes.length, 0);
  });

  test('a missing backend entry is a warning, not a write', () => {
    const [step] = ds.planChangelog(target(), observation([]));
    assert.equal(step?.status, 'warning');
    assert.equal(step?.changes.length, 0);
  });

  test('the proxy reads no backend, writes nothing and names the backends', () => {
    assert.equal(
      proxy.reads(target()).some((request) => request.dn === CHANGELOG_BACKEND_DN),
      false,
    );
    const [step] = proxy.planChangelog(target(), observation([]));
    assert.equal(step?.status, 'warning');
    assert.equal(step?.changes.length, 0);
    assert.match(step?.warnings[0] ?? '', /each backend/);
  });

  test('explains unreadable change numbers by the missing privilege', () => {
    const observed = observation([
      rootDns,
      disabledChangelog,
      syncUser({ 'ds-privilege-name': ['-bypass-acl', '-bypass-read-acl'] }),
    ]);
    const plan = planPreparation(ds, target(), observed, { password: 'pw', canBind: true, resetPassword: false });
    assert.match(ds.explainMissingChangeNumbers(target(), observed, plan), /lacks the bypass-read-acl privilege/);
    const healthy = observation([rootDns, disabledChangelog]);
    const healthyPlan = planPreparation(ds, target(), healthy, {
      password: 'pw',
      canBind: false,
      resetPassword: false,
    });
    assert.doesNotMatch(ds.explainMissingChangeNumbers(target(), healthy, healthyPlan), /lacks/);
    assert.match(proxy.explainMissingChangeNumbers(target(), healthy, []), /backend/);
  });
});
