// 389 DS with nsslapd-dynamic-plugins: on. A destination-only run leaves the Retro Changelog Plugin alone;
// a source + destination run over two bases then finishes in one go: the plugin starts live, no restart is
// asked for, and the sync user reads change numbers and changes and writes the destination at once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'ldapts';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { connectionArgs, describeRun, lastRunLines, makeTempDir, secretFile, started } from '../helpers/fixture.js';
import { adminBind, canBind, readEntry, withClient, type Bind } from '../helpers/directory.js';

const COM = 'dc=example,dc=com';
const ORG = 'dc=example,dc=org';
const SYNC_DN = `cn=Sync User,${COM}`;
const DEST_ONLY_DN = `cn=Destination Sync,${ORG}`;
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const SOURCE_ACI_NAME = 'acl "prepare-endpoint-server: sync source read"';
const DEST_ACI_NAME = 'acl "prepare-endpoint-server: sync destination write"';
const CHANGELOG_ACI_NAME = 'acl "prepare-endpoint-server: sync changelog read"';

const SYNC_PASSWORD = `Sync-Dyn-${randomUUID()}`;
const DEST_ONLY_PASSWORD = `Dest-Only-${randomUUID()}`;

let ds: Ds389 | undefined;
let tmp = '';
let logFile = '';
let adminPasswordFile = '';

const server = (): Ds389 => started(ds, '389 DS');
const admin = (): Bind => adminBind(server());

const syncBind = { dn: SYNC_DN, password: SYNC_PASSWORD };

function commonArgs(syncPasswordFile: string): string[] {
  const d = server();
  return connectionArgs({
    host: d.host,
    port: d.port,
    bindDn: d.adminDn,
    adminPasswordFile,
    syncPasswordFile,
    logFile,
  });
}

/** Source and destination on both bases, as SYNC_DN. */
function bothRoles(): Promise<RunCliResult> {
  return runCli([
    ...commonArgs(secretFile(tmp, 'sync.pw', SYNC_PASSWORD)),
    '--isSource',
    '--isDestination',
    '-b',
    COM,
    '-b',
    ORG,
  ]);
}

function acisNamed(acis: readonly string[] | undefined, name: string, userDn: string): string[] {
  return (acis ?? []).filter((aci) => aci.includes(name) && aci.includes(`userdn="ldap:///${userDn}"`));
}

async function changelogTargets(bind: { dn: string; password: string }): Promise<string[]> {
  return withClient(server().url, bind, async (c: Client) => {
    const res = await c.search('cn=changelog', { scope: 'one', filter: '(objectClass=*)', attributes: ['targetDn'] });
    return res.searchEntries.map((e) => {
      const v = Array.isArray(e.targetDn) ? e.targetDn[0] : e.targetDn;
      return String(Buffer.isBuffer(v) ? v.toString('utf8') : (v ?? ''))
        .toLowerCase()
        .replace(/\s+/g, '');
    });
  });
}

before(async () => {
  tmp = makeTempDir('pes-ds389-dynamic-');
  logFile = path.join(tmp, 'run.log');
  ds = await startDs389({ dynamicPlugins: true });
  adminPasswordFile = secretFile(tmp, 'admin.pw', ds.adminPassword);
});

after(async () => {
  await ds?.stop();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('389 DS with dynamic plugins on (tests run in order)', () => {
  test('the instance really has dynamic plugins on and the Retro Changelog Plugin off', async () => {
    const d = server();
    const config = await readEntry(d.url, admin(), 'cn=config', ['nsslapd-dynamic-plugins']);
    assert.equal(config?.['nsslapd-dynamic-plugins']?.[0]?.toLowerCase(), 'on');
    const plugin = await readEntry(d.url, admin(), PLUGIN_DN, ['nsslapd-pluginEnabled']);
    assert.equal(plugin?.['nsslapd-pluginenabled']?.[0]?.toLowerCase(), 'off');
    assert.equal(await readEntry(d.url, admin(), 'cn=changelog'), undefined);
  });

  test('--isDestination only, on a fresh base, does not touch the Retro Changelog Plugin', async () => {
    const d = server();
    const pluginBefore = await readEntry(d.url, admin(), PLUGIN_DN, ['*', 'modifyTimestamp', 'modifiersName']);
    const rootAcisBefore = (await readEntry(d.url, admin(), '', ['aci']))?.aci ?? [];
    await new Promise((resolve) => setTimeout(resolve, 1100)); // modifyTimestamp has one-second granularity

    const r = await runCli([
      ...commonArgs(secretFile(tmp, 'dest-only.pw', DEST_ONLY_PASSWORD)),
      '--isDestination',
      '-b',
      ORG,
      '--syncServerBindDN',
      DEST_ONLY_DN,
    ]);
    assert.equal(r.code, 0, describeRun(r));
    assert.doesNotMatch(r.stderr, /restart/i, describeRun(r));

    assert.deepEqual(
      await readEntry(d.url, admin(), PLUGIN_DN, ['*', 'modifyTimestamp', 'modifiersName']),
      pluginBefore,
      'the plugin entry is exactly as before',
    );
    assert.equal(await readEntry(d.url, admin(), 'cn=changelog'), undefined, 'cn=changelog was not started');
    assert.deepEqual(
      (await readEntry(d.url, admin(), '', ['aci']))?.aci ?? [],
      rootAcisBefore,
      'root DSE ACIs untouched',
    );

    const orgAcis = (await readEntry(d.url, admin(), ORG, ['aci']))?.aci ?? [];
    assert.equal(acisNamed(orgAcis, DEST_ACI_NAME, DEST_ONLY_DN).length, 1, JSON.stringify(orgAcis));
    assert.equal(acisNamed(orgAcis, SOURCE_ACI_NAME, DEST_ONLY_DN).length, 0, JSON.stringify(orgAcis));
    const comAcis = (await readEntry(d.url, admin(), COM, ['aci']))?.aci ?? [];
    assert.ok(
      !comAcis.some((aci) => aci.includes('prepare-endpoint-server')),
      `dc=example,dc=com untouched: ${JSON.stringify(comAcis)}`,
    );
    assert.equal(await canBind(d.url, DEST_ONLY_DN, DEST_ONLY_PASSWORD), true);

    const lines = lastRunLines(logFile);
    const writes = lines.filter((l) => l.event === 'write');
    assert.ok(writes.length > 0, 'the run logged its writes');
    assert.ok(!writes.some((l) => /plugins|changelog/i.test(String(l.dn))), JSON.stringify(writes));
    // In cn=config a destination writes only what its account's own password policy needs (the switch that makes
    // 389 honour it, said before it is written) and what pre-hashed passwords need: passwordAdminDN and its group.
    assert.deepEqual(
      writes.filter((l) => /cn=config$/i.test(String(l.dn))).map((l) => [l.dn, l.attributes]),
      [
        ['cn=config', ['nsslapd-pwpolicy-local']],
        [
          'cn=prepare-endpoint-server password administrators,cn=config',
          ['objectClass', 'cn', 'description', 'member'],
        ],
        ['cn=config', ['passwordAdminDN']],
      ],
    );
    assert.match(r.stderr, /nsslapd-pwpolicy-local is 'off' in cn=config: this run turns it on \(server-wide\)/);
    assert.ok(
      !lines.some((l) => l.event === 'step' && l.id === 'changelog'),
      'no changelog step in a destination-only run',
    );
  });

  test('--isSource --isDestination over two bases: exit 0, no restart warning, everything granted in one run', async () => {
    const d = server();
    const r = await bothRoles();
    assert.equal(r.code, 0, describeRun(r));
    assert.doesNotMatch(r.stderr, /restart/i, describeRun(r));
    assert.doesNotMatch(r.stdout, /restart/i, describeRun(r));

    assert.ok(await readEntry(d.url, admin(), SYNC_DN), `${SYNC_DN} was created under the first base`);
    assert.equal(await canBind(d.url, SYNC_DN, SYNC_PASSWORD), true);

    for (const base of [COM, ORG]) {
      const acis = (await readEntry(d.url, admin(), base, ['aci']))?.aci ?? [];
      assert.equal(acisNamed(acis, SOURCE_ACI_NAME, SYNC_DN).length, 1, `${base}: ${JSON.stringify(acis)}`);
      assert.equal(acisNamed(acis, DEST_ACI_NAME, SYNC_DN).length, 1, `${base}: ${JSON.stringify(acis)}`);
    }
    // The destination-only user's ACI (same name, other user) is somebody else's now: left alone.
    const orgAcis = (await readEntry(d.url, admin(), ORG, ['aci']))?.aci ?? [];
    assert.equal(acisNamed(orgAcis, DEST_ACI_NAME, DEST_ONLY_DN).length, 1, JSON.stringify(orgAcis));

    const plugin = await readEntry(d.url, admin(), PLUGIN_DN, ['nsslapd-pluginEnabled']);
    assert.equal(plugin?.['nsslapd-pluginenabled']?.[0]?.toLowerCase(), 'on');
    const changelog = await readEntry(d.url, admin(), 'cn=changelog', ['aci']);
    assert.ok(changelog, 'cn=changelog exists without a restart');
    assert.equal(acisNamed(changelog.aci, CHANGELOG_ACI_NAME, SYNC_DN).length, 1, JSON.stringify(changelog.aci));

    const rootDse = await readEntry(d.url, syncBind, '', ['firstChangeNumber', 'lastChangeNumber']);
    assert.ok(rootDse?.firstchangenumber?.[0] !== undefined, `firstchangenumber readable: ${JSON.stringify(rootDse)}`);
    assert.ok(rootDse?.lastchangenumber?.[0] !== undefined, `lastchangenumber readable: ${JSON.stringify(rootDse)}`);
  });

  test('the sync user can add and delete under the destination base', async () => {
    const d = server();
    const dn = `ou=Sync Probe,${ORG}`;
    await withClient(d.url, syncBind, async (c) => {
      await c.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: 'Sync Probe' });
    });
    assert.ok(await readEntry(d.url, admin(), dn), 'the sync user added an entry');
    await withClient(d.url, syncBind, (c) => c.del(dn));
    assert.equal(await readEntry(d.url, admin(), dn), undefined, 'the sync user deleted it');
  });

  test('a change under dc=example,dc=com shows in cn=changelog, read as the sync user', async () => {
    const d = server();
    const target = `uid=dyn1,ou=People,${COM}`;
    await withClient(d.url, admin(), (c) =>
      c.add(target, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'dyn1',
        cn: 'Dyn One',
        sn: 'One',
      }),
    );
    let targets: string[] = [];
    for (let i = 0; i < 50; i++) {
      targets = await changelogTargets(syncBind);
      if (targets.includes(target.toLowerCase())) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(targets.includes(target.toLowerCase()), JSON.stringify(targets));
  });

  test('a second identical run changes nothing', async () => {
    const r = await bothRoles();
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /nothing to change/i, describeRun(r));
    assert.deepEqual(
      lastRunLines(logFile).filter((l) => l.event === 'write'),
      [],
    );
  });
});
