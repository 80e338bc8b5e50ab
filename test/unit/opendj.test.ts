// Detection of the OpenDS lineage from root DSE fixtures (test/fixtures/rootdse), and the PingDS/OpenDJ/OUD
// profile's planning: pure, no server.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { entry, observation, rejects } from '../helpers/planning.js';
import { detectServer, SERVER_TYPES } from '../../src/servers/detect.js';
import { profileFor } from '../../src/servers/registry.js';
import {
  ACCESS_CONTROL_HANDLER_DN,
  DEFAULT_PASSWORD_POLICY_DN,
  DOMAINS_DN,
  OpenDjProfile,
  REPLICATION_SERVER_DN,
} from '../../src/servers/opendj.js';
import type { Entry } from '../../src/model/entries.js';
import type { PrepareTarget } from '../../src/model/plan.js';

interface Fixture {
  product: string;
  family: string;
  source: string;
  attributes: Record<string, string[]>;
}

const dir = path.join(repoRoot, 'test', 'fixtures', 'rootdse');
const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Fixture);

function rootDse(attributes: Record<string, string[]>): Entry {
  return entry('', attributes);
}

describe('detection from root DSE fixtures', () => {
  test('there is a fixture for every product and version the issue names', () => {
    assert.deepEqual(
      fixtures.map((f) => f.product),
      [
        'forgerock-ds-6',
        'forgerock-ds-7',
        'opendj-3',
        'opendj-4',
        'oud-12c',
        'oud-14c',
        'pingdirectory-10',
        'pingdirectory-11',
        'pingdirectory-9',
        'pingds-7',
        'pingds-8',
      ],
    );
  });

  for (const fixture of fixtures) {
    test(`${fixture.product} -> ${fixture.family}`, () => {
      assert.equal(detectServer(rootDse(fixture.attributes)).family, fixture.family);
      assert.ok((SERVER_TYPES as readonly string[]).includes(fixture.family));
    });
  }

  test('PingDS names Ping Identity as its vendor, yet is never taken for PingDirectory (and the reverse)', () => {
    for (const fixture of fixtures) {
      const family = detectServer(rootDse(fixture.attributes)).family;
      if (fixture.product.startsWith('pingds') || fixture.product.startsWith('forgerock'))
        assert.equal(family, 'pingds', fixture.product);
      if (fixture.product.startsWith('pingdirectory')) assert.equal(family, 'pingdirectory', fixture.product);
    }
    const pingds = fixtures.find((f) => f.product === 'pingds-8')!;
    assert.equal(pingds.attributes.vendorName?.[0], 'Ping Identity Corporation');
  });

  test('PingDirectory keeps its family with an OpenDS OID beside its own arc (UnboundID grew out of OpenDS)', () => {
    const ping = fixtures.find((f) => f.product === 'pingdirectory-10')!;
    const attributes = {
      ...ping.attributes,
      supportedControl: [...(ping.attributes.supportedControl ?? []), '1.3.6.1.4.1.26027.1.5.2'],
    };
    assert.equal(detectServer(rootDse(attributes)).family, 'pingdirectory');
  });

  test('a root DSE hiding its OIDs is told by its version string, never by the vendor name alone', () => {
    assert.equal(
      detectServer(rootDse({ vendorName: ['Ping Identity Corporation'], vendorVersion: ['PingDS 8.0.0'] })).family,
      'pingds',
    );
    assert.equal(
      detectServer(
        rootDse({
          vendorName: ['Ping Identity Corporation'],
          vendorVersion: ['Ping Identity Directory Server 10.2.0.0'],
        }),
      ).family,
      'pingdirectory',
    );
    assert.equal(
      detectServer(rootDse({ vendorName: ['ForgeRock AS.'], vendorVersion: ['ForgeRock Directory Services 7.3.0'] }))
        .family,
      'pingds',
    );
    assert.equal(
      detectServer(
        rootDse({ vendorName: ['Oracle Corporation'], vendorVersion: ['Oracle Unified Directory 12.2.1.4.0'] }),
      ).family,
      'oud',
    );
    assert.equal(detectServer(rootDse({ vendorVersion: ['OpenDJ 3.0.0'] })).family, 'opendj');
    // An Oracle DSEE root DSE (Oracle vendor, Sun version string) stays DSEE.
    assert.equal(
      detectServer(rootDse({ vendorName: ['Oracle Corporation'], vendorVersion: ['Sun-Directory-Server/11.1.1.7.2'] }))
        .family,
      'dsee',
    );
  });

  test('--serverType pingds, opendj and oud are one profile', () => {
    for (const family of ['pingds', 'opendj', 'oud'] as const) assert.ok(profileFor(family) instanceof OpenDjProfile);
  });
});

const BASE = 'dc=example,dc=com';
const SYNC = `cn=Sync User,${BASE}`;
const target = (
  roles: { source: boolean; destination: boolean },
  extra: Partial<PrepareTarget> = {},
): PrepareTarget => ({
  baseDns: [BASE],
  roles,
  syncUserDn: SYNC,
  changelogMaxAgeSeconds: 172800,
  keepCurrentChangelogMaxAge: true,
  inheritDefaultRootPrivileges: false,
  ...extra,
});
const DOMAIN = `cn=dc=example\\,dc=com,${DOMAINS_DN}`;
const replicationServer = (attributes: Record<string, string[]> = {}): Entry =>
  entry(REPLICATION_SERVER_DN, {
    objectClass: ['top', 'ds-cfg-replication-server'],
    'ds-cfg-changelog-enabled': ['enabled-cookie-mode-only'],
    'ds-cfg-replication-purge-delay': ['3 d'],
    ...attributes,
  });
const domains = {
  'opendj:domains': [entry(DOMAIN, { objectClass: ['top', 'ds-cfg-replication-domain'], 'ds-cfg-base-dn': [BASE] })],
};
const handler = (acis: string[] = []): Entry => entry(ACCESS_CONTROL_HANDLER_DN, { 'ds-cfg-global-aci': acis });

describe('OpenDjProfile planning', () => {
  const profile = new OpenDjProfile('pingds');

  test('a source that is not a replication server stops before any write (53)', () => {
    const seen = observation([entry(BASE), handler()]);
    const error = rejects(() => profile.vetTarget(target({ source: true, destination: false }), seen), 53);
    assert.match(error.message, /not a replication server/);
    assert.match(error.hint ?? '', /create-replication-server/);
    // A destination needs no replication server; neither does --remove.
    assert.deepEqual(profile.vetTarget(target({ source: false, destination: true }), seen), []);
    assert.deepEqual(profile.vetTarget(target({ source: true, destination: true }, { removing: true }), seen), []);
  });

  test('the new account carries the role privileges and no limit, and never a privilege that changes access control', () => {
    const attributes = profile.syncUserEntry(SYNC, 'pw', target({ source: true, destination: true }));
    assert.deepEqual(attributes['ds-privilege-name'], ['changelog-read', 'unindexed-search', 'password-reset']);
    for (const name of ['modify-acl', 'bypass-acl', 'config-write', 'privilege-change', 'bypass-read-acl'])
      assert.ok(!attributes['ds-privilege-name']?.includes(name));
    assert.equal(attributes['ds-rlim-size-limit']?.[0], '0');
  });

  test('source: global ACIs, change-number mode, ecl-include-for-deletes with the asked attributes; a finite purge delay is kept', () => {
    const seen = observation([entry(BASE), handler(), replicationServer()], { found: domains });
    const t = target({ source: true, destination: false }, { deletedEntryAttributes: ['employeeNumber'] });
    const steps = [...profile.planAccess(t, seen), ...profile.planChangelog(t, seen)];
    const global = steps.find((s) => s.id === 'global-aci')!;
    const added = global.changes[0]?.kind === 'modify' ? global.changes[0].modifications : [];
    assert.equal(added[0]?.attribute, 'ds-cfg-global-aci');
    assert.equal(added[0]?.values.length, 3);
    assert.ok(added[0]?.values.some((aci) => aci.includes('(targetcontrol="1.3.6.1.4.1.26027.1.5.4")')));
    assert.ok(
      added[0]?.values.some((aci) =>
        aci.startsWith(
          '(target="ldap:///")(targetscope="base")(targetattr="changeLog||firstChangeNumber||lastChangeNumber||lastExternalChangeLogCookie")',
        ),
      ),
    );
    const changelog = steps.find((s) => s.id === 'changelog')!;
    assert.equal(changelog.status, 'updated');
    const mods = changelog.changes[0]?.kind === 'modify' ? changelog.changes[0].modifications : [];
    assert.deepEqual(
      mods.map((m) => [m.attribute, m.values]),
      [['ds-cfg-changelog-enabled', ['enabled']]],
    );
    const records = steps.find((s) => s.id === `changelog:records:${BASE}`)!;
    const recordMods = records.changes[0]?.kind === 'modify' ? records.changes[0] : undefined;
    assert.equal(recordMods?.dn, DOMAIN);
    assert.deepEqual(
      recordMods?.modifications.map((m) => [m.attribute, m.values]),
      [['ds-cfg-ecl-include-for-deletes', ['objectClass', 'employeeNumber']]],
    );
  });

  test('an explicit --changelogMaximumAge replaces the purge delay and says it must match every replication server', () => {
    const seen = observation([entry(BASE), handler(), replicationServer({ 'ds-cfg-changelog-enabled': ['enabled'] })], {
      found: domains,
    });
    const [changelog] = profile.planChangelog(
      target(
        { source: true, destination: false },
        { keepCurrentChangelogMaxAge: false, changelogMaxAgeSeconds: 604800 },
      ),
      seen,
    );
    const mods = changelog?.changes[0]?.kind === 'modify' ? changelog.changes[0].modifications : [];
    assert.deepEqual(
      mods.map((m) => [m.attribute, m.values]),
      [['ds-cfg-replication-purge-delay', ['1 w']]],
    );
    assert.ok(changelog?.warnings.some((w) => w.includes('set-replication-server-prop')));
  });

  test('OpenDJ 3/4 layout: compute-change-number false is turned on, ecl-include goes on the external changelog domain', () => {
    const external = entry(`cn=external changelog,${DOMAIN}`, {
      objectClass: ['top', 'ds-cfg-external-changelog-domain'],
      'ds-cfg-ecl-include': ['uid'],
    });
    const seen = observation(
      [
        entry(BASE),
        handler(),
        entry(REPLICATION_SERVER_DN, {
          'ds-cfg-compute-change-number': ['false'],
          'ds-cfg-replication-purge-delay': ['3 d'],
        }),
      ],
      { found: { 'opendj:domains': [...domains['opendj:domains'], external] } },
    );
    const steps = new OpenDjProfile('opendj').planChangelog(target({ source: true, destination: false }), seen);
    const mods = steps[0]?.changes[0]?.kind === 'modify' ? steps[0].changes[0].modifications : [];
    assert.deepEqual(
      mods.map((m) => [m.attribute, m.values]),
      [['ds-cfg-compute-change-number', ['true']]],
    );
    const records = steps[1]?.changes[0];
    assert.ok(
      records?.kind === 'modify' &&
        records.dn === external.dn &&
        records.modifications[0]?.attribute === 'ds-cfg-ecl-include',
    );
    assert.match(steps[1]?.detail ?? '', /objectClass added next to uid/);
  });

  test('destination: the write ACI never covers aci nor the password policy pointers, and pre-encoded passwords are left to the operator with the exact command', () => {
    const seen = observation([
      entry(BASE),
      handler(),
      entry(DEFAULT_PASSWORD_POLICY_DN, { 'ds-cfg-allow-pre-encoded-passwords': ['false'] }),
    ]);
    const steps = profile.planAccess(target({ source: false, destination: true }), seen);
    const base = steps.find((s) => s.id === `aci:${BASE}`)!;
    const aci = base.changes[0]?.kind === 'modify' ? (base.changes[0].modifications[0]?.values[0] ?? '') : '';
    assert.match(aci, /^\(targetattr!="aci \|\| ds-pwp-password-policy-dn \|\| pwdPolicySubentry"\)/);
    assert.doesNotMatch(aci, /\ball\b|proxy/);
    const preEncoded = steps.find((s) => s.id === 'pre-encoded-passwords')!;
    assert.equal(preEncoded.status, 'warning');
    assert.match(
      preEncoded.warnings[0] ?? '',
      /dsconfig set-password-policy-prop --policy-name "Default Password Policy" --set allow-pre-encoded-passwords:true/,
    );
    assert.equal(
      steps.some((s) => s.id === 'global-aci'),
      false,
    );
  });

  test('--remove takes away only ACIs named by this tool for this user, and leaves the changelog on', () => {
    const ours =
      '(targetcontrol="1.3.6.1.4.1.26027.1.5.4")(version 3.0; acl "prepare-endpoint-server: sync changelog control"; allow (read) userdn="ldap:///cn=Sync User,dc=example,dc=com";)';
    const someoneElses =
      '(targetcontrol="1.3.6.1.4.1.26027.1.5.4")(version 3.0; acl "prepare-endpoint-server: sync changelog control"; allow (read) userdn="ldap:///cn=Other,dc=example,dc=com";)';
    const seen = observation([
      entry(BASE, { aci: [] }),
      handler([ours, someoneElses, '(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///anyone";)']),
    ]);
    const steps = profile.planRemoval(target({ source: true, destination: true }, { removing: true }), seen, true);
    const global = steps.find((s) => s.id === 'global-aci')!;
    assert.deepEqual(global.changes[0]?.kind === 'modify' ? global.changes[0].modifications : [], [
      { operation: 'delete', attribute: 'ds-cfg-global-aci', values: [ours] },
    ]);
    const changelog = steps.find((s) => s.id === 'changelog')!;
    assert.equal(changelog.changes.length, 0);
    assert.match(changelog.warnings[0] ?? '', /changelog-enabled:enabled-cookie-mode-only/);
  });
});
