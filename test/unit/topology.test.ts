// The replication readings of each family (src/servers/*-topology.ts) from entries as the servers return them,
// and the --replica option's forms (src/cli/replicas.ts). The real servers are in integration/replicas.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReplica, parseReplicas } from '../../src/cli/replicas.js';
import type { Entry } from '../../src/model/entries.js';
import type { PrepareTarget } from '../../src/model/plan.js';
import { AdTopologyReading } from '../../src/servers/ad-topology.js';
import { Ds389TopologyReading } from '../../src/servers/ds389-topology.js';
import { OpenDjTopologyReading } from '../../src/servers/opendj-topology.js';
import { OpenLdapTopologyReading } from '../../src/servers/openldap-topology.js';
import { entry, rejects } from '../helpers/planning.js';

const BASE = 'dc=example,dc=com';
const target: PrepareTarget = {
  baseDns: [BASE],
  roles: { source: true, destination: false },
  syncUserDn: `cn=Sync User,${BASE}`,
  changelogMaxAgeSeconds: 172800,
  inheritDefaultRootPrivileges: false,
};
const found = (map: Record<string, Entry[]>): ReadonlyMap<string, readonly Entry[]> => new Map(Object.entries(map));
const REPLICA_DN = 'cn=replica,cn=dc\\3Dexample\\2Cdc\\3Dcom,cn=mapping tree,cn=config';

describe('--replica', () => {
  test('HOST:PORT, a bracketed IPv6 address, and a per-replica accesslog folder', () => {
    assert.deepEqual(parseReplica('ds2.example.com:389'), { host: 'ds2.example.com', port: 389 });
    assert.deepEqual(parseReplica('[::1]:1389'), { host: '::1', port: 1389 });
    assert.deepEqual(parseReplica('127.0.0.1:2389,accesslogDirectory=/var/lib/ldap/a,b'), {
      host: '127.0.0.1',
      port: 2389,
      accesslogDirectory: '/var/lib/ldap/a,b',
    });
  });

  test('a missing port, a bad port, an unknown per-replica setting, the server itself or one twice: exit 89', () => {
    for (const bad of [
      'ds2',
      'ds2:0',
      'ds2:65536',
      'ldap://ds2:389',
      'ds2:389,foo=bar',
      'ds2:389,accesslogDirectory=',
    ]) {
      rejects(() => parseReplica(bad), 89);
    }
    rejects(() => parseReplicas(['ds1:389'], { host: 'DS1', port: 389 }), 89);
    rejects(() => parseReplicas(['ds2:389', 'ds2:389'], { host: 'ds1', port: 389 }), 89);
    assert.equal(parseReplicas(['ds2:389', 'ds2:1389'], { host: 'ds1', port: 389 }).length, 2);
  });
});

describe('389 DS topology', () => {
  const reading = new Ds389TopologyReading('389ds');

  test('a supplier with one agreement (paused) names the other server and says the agreement is paused', () => {
    const topology = reading.topology(
      target,
      found({
        replicas: [
          entry(REPLICA_DN, {
            nsDS5ReplicaRoot: [BASE],
            nsDS5ReplicaType: ['3'],
            nsDS5Flags: ['1'],
            nsDS5ReplicaId: ['1'],
          }),
        ],
        agreements: [
          entry(`cn=to-b,${REPLICA_DN}`, {
            cn: ['to-b'],
            nsDS5ReplicaRoot: [BASE],
            nsDS5ReplicaHost: ['ds2.example.com'],
            nsDS5ReplicaPort: ['389'],
            nsds5ReplicaEnabled: ['off'],
          }),
          // another suffix's agreement is none of this run's business
          entry('cn=to-c,cn=replica,cn=o\\3Dother,cn=mapping tree,cn=config', {
            nsDS5ReplicaRoot: ['o=other'],
            nsDS5ReplicaHost: ['ds3'],
            nsDS5ReplicaPort: ['389'],
          }),
        ],
      }),
    );
    assert.equal(topology.role, 'supplier');
    assert.deepEqual(
      topology.peers.map((p) => `${p.host}:${p.port}`),
      ['ds2.example.com:389'],
    );
    assert.ok(topology.notes.some((n) => n.includes('paused')));
  });

  test('a read-only consumer names its suppliers from its referrals; no replica is no role', () => {
    const consumer = reading.topology(
      target,
      found({
        replicas: [
          entry(REPLICA_DN, {
            nsDS5ReplicaRoot: [BASE],
            nsDS5ReplicaType: ['2'],
            nsDS5Flags: ['0'],
            nsDS5ReplicaReferral: ['ldap://ds1.example.com:389/dc%3Dexample%2Cdc%3Dcom'],
          }),
        ],
      }),
    );
    assert.equal(consumer.role, 'consumer');
    assert.deepEqual(
      consumer.peers.map((p) => [p.host, p.port, p.role]),
      [['ds1.example.com', 389, 'supplier']],
    );
    assert.equal(reading.topology(target, found({})).role, undefined);
  });

  test('failover facts: the Retro Changelog settings and the sync user rights, each by name', () => {
    const facts = reading.failoverFacts(
      target,
      found({
        retro: [
          entry('cn=Retro Changelog Plugin,cn=plugins,cn=config', {
            'nsslapd-pluginEnabled': ['on'],
            'nsslapd-changelogmaxage': ['2d'],
            'nsslapd-attribute': ['nsuniqueid:targetUniqueId'],
          }),
        ],
        changelog: [
          entry('cn=changelog', {
            aci: [
              `(targetattr="*")(version 3.0; acl "prepare-endpoint-server: sync changelog read"; allow (read) userdn="ldap:///cn=Sync User,${BASE}";)`,
              '(targetattr="*")(version 3.0; acl "someone else"; allow (read) userdn="ldap:///cn=x";)',
            ],
          }),
        ],
      }),
    );
    assert.equal(facts['change log maximum age (nsslapd-changelogmaxage)'], '2d');
    assert.equal(facts['change log (Retro Changelog Plugin)'], 'on');
    assert.match(facts["sync user's ACIs on cn=changelog"] ?? '', /sync changelog read/);
    assert.doesNotMatch(facts["sync user's ACIs on cn=changelog"] ?? '', /someone else/);
    assert.equal(facts["sync user's limit nsSizeLimit"], '(none)');
  });

  test('conflicts are the entries carrying nsds5ReplConflict (not the keep-alive subentries)', () => {
    const conflicts = reading.conflicts(
      target,
      found({
        'conflicts-0': [
          entry(`cn=repl keep alive 1,${BASE}`, { objectClass: ['ldapsubentry'] }),
          entry(`cn=Sync User+nsuniqueid=1-2-3-4,${BASE}`, {
            nsds5ReplConflict: ['namingConflict (ADD) cn=sync user'],
          }),
        ],
      }),
    );
    assert.deepEqual(
      conflicts.map((e) => e.dn),
      [`cn=Sync User+nsuniqueid=1-2-3-4,${BASE}`],
    );
  });
});

describe('OpenLDAP topology', () => {
  const reading = new OpenLdapTopologyReading();
  const db = 'olcDatabase={1}mdb,cn=config';

  test('multi-provider: a supplier naming its providers; a consumer with olcUpdateRef is read-only', () => {
    const multi = reading.topology(
      target,
      found({
        config: [
          entry(db, {
            objectClass: ['olcDatabaseConfig', 'olcMdbConfig'],
            olcSuffix: [BASE],
            olcSyncrepl: [
              '{0}rid=001 provider=ldap://ldap2.example.com:389 bindmethod=simple searchbase="dc=example,dc=com"',
            ],
            olcMultiProvider: ['TRUE'],
          }),
          entry(`olcOverlay={0}syncprov,${db}`, { objectClass: ['olcOverlayConfig'], olcOverlay: ['{0}syncprov'] }),
        ],
      }),
    );
    assert.equal(multi.role, 'supplier');
    assert.deepEqual(
      multi.peers.map((p) => `${p.host}:${p.port}`),
      ['ldap2.example.com:389'],
    );
    const consumer = reading.topology(
      target,
      found({
        config: [
          entry(db, {
            olcSuffix: [BASE],
            olcSyncrepl: ['rid=002 provider=ldaps://ldap1.example.com searchbase="dc=example,dc=com"'],
            olcUpdateRef: ['ldaps://ldap1.example.com'],
          }),
        ],
      }),
    );
    assert.equal(consumer.role, 'consumer');
    assert.deepEqual(
      consumer.peers.map((p) => `${p.host}:${p.port}`),
      ['ldap1.example.com:636'],
    );
    assert.equal(reading.topology(target, found({ config: [entry(db, { olcSuffix: [BASE] })] })).role, undefined);
  });

  test("failover facts: the accesslog overlay's settings and the sync user's rules without their {n}", () => {
    const facts = reading.failoverFacts(
      target,
      found({
        config: [
          entry(db, {
            olcSuffix: [BASE],
            olcAccess: [`{3}to * by dn.exact="cn=Sync User,${BASE}" read by * break`],
          }),
          entry(`olcOverlay={1}accesslog,${db}`, {
            olcOverlay: ['{1}accesslog'],
            olcAccessLogDB: ['cn=accesslog'],
            olcAccessLogPurge: ['2+00:00 1+00:00'],
            olcAccessLogOps: ['writes'],
          }),
        ],
      }),
    );
    assert.equal(facts['change log (accesslog overlay)'], 'on');
    assert.equal(facts['change log maximum age (olcAccessLogPurge)'], '2+00:00 1+00:00');
    assert.equal(
      facts["sync user's access rules (olcAccess)"],
      `to * by dn.exact="cn=Sync User,${BASE}" read by * break`,
    );
  });
});

describe('Active Directory topology (fixtures: no second DC runs here)', () => {
  const config = 'CN=Configuration,DC=example,DC=com';
  const rootDse = entry('', { namingContexts: ['DC=example,DC=com', config] });
  const site = `CN=Servers,CN=Default-First-Site-Name,CN=Sites,${config}`;
  const sites = [
    entry(`CN=DC1,${site}`, { objectClass: ['top', 'server'], dNSHostName: ['dc1.example.com'] }),
    entry(`CN=NTDS Settings,CN=DC1,${site}`, { objectClass: ['top', 'applicationSettings', 'nTDSDSA'] }),
    entry(`CN=DC2,${site}`, { objectClass: ['top', 'server'], dNSHostName: ['dc2.example.com'] }),
    entry(`CN=NTDS Settings,CN=DC2,${site}`, { objectClass: ['nTDSDSA'], 'msDS-isRODC': ['FALSE'] }),
    entry(`CN=RODC,${site}`, { objectClass: ['server'], dNSHostName: ['rodc.example.com'] }),
    entry(`CN=NTDS Settings,CN=RODC,${site}`, { objectClass: ['nTDSDSA'], 'msDS-isRODC': ['TRUE'] }),
  ];

  test('the other domain controllers from the configuration partition, a read-only one as a consumer', () => {
    const reading = new AdTopologyReading(rootDse);
    assert.equal(reading.searches()[1]?.base, `CN=Sites,${config}`);
    const topology = reading.topology(
      target,
      found({ rootdse: [entry('', { dsServiceName: [`CN=NTDS Settings,CN=DC1,${site}`] })], sites }),
    );
    assert.equal(topology.role, 'supplier');
    assert.deepEqual(
      topology.peers.map((p) => [p.host, p.role]),
      [
        ['dc2.example.com', 'supplier'],
        ['rodc.example.com', 'consumer'],
      ],
    );
  });

  test('a single DC has no peers; CNF: copies are the conflicts', () => {
    const reading = new AdTopologyReading(rootDse);
    assert.equal(
      reading.topology(
        target,
        found({
          sites: sites.slice(0, 2),
          rootdse: [entry('', { dsServiceName: [`CN=NTDS Settings,CN=DC1,${site}`] })],
        }),
      ).role,
      undefined,
    );
    const conflicts = reading.conflicts(
      target,
      found({
        'conflicts-0': [
          entry(`CN=Sync User\\0ACNF:1234,CN=Users,${BASE}`, { cn: ['Sync User\nCNF:1234'] }),
          entry(`CN=Sync User,CN=Users,${BASE}`, { cn: ['Sync User'] }),
        ],
      }),
    );
    assert.equal(conflicts.length, 1);
  });
});

describe('PingDS / OpenDJ topology', () => {
  const reading = new OpenDjTopologyReading();
  const provider = 'cn=Multimaster Synchronization,cn=Synchronization Providers,cn=config';

  test('a replication domain of the base DN: replicated, the replication servers said in the notes, not as --replica', () => {
    const topology = reading.topology(
      target,
      found({
        replication: [
          entry(`cn=replication server,${provider}`, {
            objectClass: ['ds-cfg-replication-server'],
            'ds-cfg-replication-server': ['ds2.example.com:8989'],
            'ds-cfg-replication-purge-delay': ['3 d'],
          }),
          entry(`cn=dc=example\\,dc=com,cn=domains,${provider}`, {
            objectClass: ['ds-cfg-replication-domain'],
            'ds-cfg-base-dn': [BASE],
            'ds-cfg-server-id': ['1'],
          }),
        ],
      }),
    );
    assert.equal(topology.role, 'supplier');
    assert.deepEqual(topology.peers, []);
    assert.ok(topology.notes.some((n) => n.includes('ds2.example.com:8989')));
    assert.equal(reading.topology(target, found({})).role, undefined);
  });
});
