// 389 DS as a sync source with dynamic plugins OFF (the 389 default): the first run enables the Retro
// Changelog Plugin and asks for a restart, the run after the restart grants cn=changelog, a third run
// changes nothing. Every claim is checked on the server itself, as Directory Manager or as the sync user.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { runCli } from '../helpers/cli.js';
import {
  connectionArgs,
  describeRun,
  lastRunLines,
  logLines,
  makeTempDir,
  secretFile,
  started,
  type LogLine,
  withoutAdminUnderBaseWarning,
} from '../helpers/fixture.js';
import { adminBind, canBind, readEntry, searchFirstValues, withClient, type Bind } from '../helpers/directory.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const SOURCE_ACI_NAME = 'acl "prepare-endpoint-server: sync source read"';
const CHANGELOG_ACI_NAME = 'acl "prepare-endpoint-server: sync changelog read"';
const SYNC_USERDN = `userdn="ldap:///${SYNC_DN}"`;
/** Somebody else's ACI on the base, naming our sync user: the tool must leave it alone. */
const THIRD_PARTY_ACI = `(targetattr="description")(version 3.0; acl "third party: description read"; allow (read,search) userdn="ldap:///${SYNC_DN}";)`;

const SYNC_PASSWORD = `Sync-Src-${randomUUID()}`;
const ALICE_PASSWORD = `Alice-${randomUUID()}`;

let ds: Ds389 | undefined;
let tmp = '';
let logFile = '';
let adminPasswordFile = '';
let syncPasswordFile = '';

const server = (): Ds389 => started(ds, '389 DS');
const admin = (): Bind => adminBind(server());

const syncBind = { dn: SYNC_DN, password: SYNC_PASSWORD };

function sourceArgs(): string[] {
  const d = server();
  return connectionArgs(
    { host: d.host, port: d.port, bindDn: d.adminDn, adminPasswordFile, syncPasswordFile, logFile },
    ['-b', BASE, '--isSource', '--changelogMaximumAge', '3d'],
  );
}

/** The lines of the last run in the log (the last runId), checked to be the lines written after `from`. */
function lastRun(from: number): LogLine[] {
  const lines = lastRunLines(logFile);
  assert.deepEqual(
    lines,
    logLines(logFile).slice(from),
    'the last runId covers exactly the lines written by the last run',
  );
  return lines;
}

function ourAcis(acis: readonly string[] | undefined, name: string): string[] {
  return (acis ?? []).filter((aci) => aci.includes(name));
}

async function changelogEntries(bind: { dn: string; password: string }): Promise<Array<Record<string, string>>> {
  return searchFirstValues(server().url, bind, 'cn=changelog', {
    scope: 'one',
    filter: '(objectClass=*)',
    attributes: ['changeNumber', 'targetDn', 'changeType'],
  });
}

async function addEntry(
  bind: { dn: string; password: string },
  dn: string,
  attributes: Record<string, string | string[]>,
): Promise<void> {
  await withClient(server().url, bind, (c) => c.add(dn, attributes));
}

/** What a no-op run must leave exactly as it was. */
async function snapshot(): Promise<Record<string, unknown>> {
  const d = server();
  const base = await readEntry(d.url, admin(), BASE, ['aci', 'modifyTimestamp', 'modifiersName']);
  const user = await readEntry(d.url, admin(), SYNC_DN, ['*', 'modifyTimestamp', 'modifiersName']);
  const plugin = await readEntry(d.url, admin(), PLUGIN_DN, ['*', 'modifyTimestamp', 'modifiersName']);
  const changelog = await readEntry(d.url, admin(), 'cn=changelog', ['aci', 'modifyTimestamp', 'modifiersName']);
  const rootDse = await readEntry(d.url, admin(), '', ['aci', 'lastchangenumber']);
  const sortAcis = (e: Record<string, string[]> | undefined): Record<string, string[]> | undefined =>
    e === undefined ? undefined : { ...e, ...(e.aci ? { aci: [...e.aci].sort() } : {}) };
  return { base: sortAcis(base), user, plugin, changelog: sortAcis(changelog), rootDse: sortAcis(rootDse) };
}

before(async () => {
  tmp = makeTempDir('pes-ds389-source-');
  logFile = path.join(tmp, 'run.log');
  ds = await startDs389();
  adminPasswordFile = secretFile(tmp, 'admin.pw', ds.adminPassword);
  syncPasswordFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
  // A third-party ACI that names the sync user but is not ours.
  await withClient(ds.url, admin(), (c) =>
    c.modify(BASE, [
      new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [THIRD_PARTY_ACI] }) }),
    ]),
  );
});

after(async () => {
  await ds?.stop();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('389 DS source, dynamic plugins off: enable, restart, finish, re-run', () => {
  let acisBefore: string[] = [];

  test('first run: exit 0, restart warning, sync user, base ACI, plugin on with 3d, no cn=changelog yet', async () => {
    const d = server();
    const base = await readEntry(d.url, admin(), BASE, ['aci']);
    acisBefore = [...(base?.aci ?? [])];
    assert.ok(acisBefore.includes(THIRD_PARTY_ACI), 'the third-party ACI was seeded');
    assert.ok(acisBefore.length >= 2, `389's default ACI is on the base too: ${JSON.stringify(acisBefore)}`);
    const pluginBefore = await readEntry(d.url, admin(), PLUGIN_DN, ['nsslapd-pluginEnabled']);
    assert.equal(pluginBefore?.['nsslapd-pluginenabled']?.[0]?.toLowerCase(), 'off', 'the plugin starts off');

    const r = await runCli(sourceArgs());
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, /restart/i, describeRun(r));

    const user = await readEntry(d.url, admin(), SYNC_DN, ['objectClass']);
    assert.ok(user, `${SYNC_DN} exists`);
    assert.ok(
      user.objectclass?.some((v) => v.toLowerCase() === 'inetorgperson'),
      JSON.stringify(user.objectclass),
    );
    assert.equal(await canBind(d.url, SYNC_DN, SYNC_PASSWORD), true, 'the sync user binds with its password');

    const after = (await readEntry(d.url, admin(), BASE, ['aci']))?.aci ?? [];
    const ours = ourAcis(after, SOURCE_ACI_NAME);
    assert.equal(ours.length, 1, JSON.stringify(after));
    assert.ok(ours[0]!.includes(SYNC_USERDN), ours[0]);
    for (const aci of acisBefore) assert.ok(after.includes(aci), `pre-existing ACI kept: ${aci}`);
    assert.equal(after.length, acisBefore.length + 1, 'exactly one ACI added to the base');

    const plugin = await readEntry(d.url, admin(), PLUGIN_DN, ['nsslapd-pluginEnabled', 'nsslapd-changelogmaxage']);
    assert.equal(plugin?.['nsslapd-pluginenabled']?.[0]?.toLowerCase(), 'on');
    assert.deepEqual(plugin?.['nsslapd-changelogmaxage'], ['3d']);

    assert.equal(
      await readEntry(d.url, admin(), 'cn=changelog'),
      undefined,
      'cn=changelog exists only after a restart',
    );
  });

  test('after a restart the same command finishes: changelog ACI, change numbers, changes readable', async () => {
    const d = server();
    await d.restart();
    assert.ok(await readEntry(d.url, admin(), 'cn=changelog'), 'cn=changelog exists after the restart');

    const r = await runCli(sourceArgs());
    assert.equal(r.code, 0, describeRun(r));
    assert.doesNotMatch(r.stderr, /restart/i, describeRun(r));

    const changelog = await readEntry(d.url, admin(), 'cn=changelog', ['aci']);
    const ours = ourAcis(changelog?.aci, CHANGELOG_ACI_NAME);
    assert.equal(ours.length, 1, JSON.stringify(changelog?.aci));
    assert.ok(ours[0]!.includes(SYNC_USERDN), ours[0]);

    // The base still has exactly one of ours and everything else it had.
    const baseAcis = (await readEntry(d.url, admin(), BASE, ['aci']))?.aci ?? [];
    assert.equal(ourAcis(baseAcis, SOURCE_ACI_NAME).length, 1, JSON.stringify(baseAcis));
    for (const aci of acisBefore) assert.ok(baseAcis.includes(aci), `pre-existing ACI kept: ${aci}`);

    const rootDse = await readEntry(d.url, syncBind, '', ['firstChangeNumber', 'lastChangeNumber']);
    assert.ok(
      rootDse?.firstchangenumber?.[0] !== undefined,
      `sync user reads firstchangenumber: ${JSON.stringify(rootDse)}`,
    );
    assert.ok(
      rootDse?.lastchangenumber?.[0] !== undefined,
      `sync user reads lastchangenumber: ${JSON.stringify(rootDse)}`,
    );

    const target = `uid=t1,ou=People,${BASE}`;
    await addEntry(admin(), target, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid: 't1',
      cn: 'Test One',
      sn: 'One',
    });
    let found: Record<string, string> | undefined;
    for (let i = 0; i < 50 && found === undefined; i++) {
      const entries = await changelogEntries(syncBind);
      found = entries.find((e) => (e.targetdn ?? '').toLowerCase().replace(/\s+/g, '') === target.toLowerCase());
      if (found === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(found, 'the sync user finds the change in cn=changelog');
    assert.match(found.dn ?? '', /^changenumber=\d+,cn=changelog$/i, found.dn);
    assert.equal(found.changetype?.toLowerCase(), 'add');

    const after = await readEntry(d.url, syncBind, '', ['lastChangeNumber']);
    assert.ok(Number(after?.lastchangenumber?.[0]) >= Number(found.changenumber), JSON.stringify(after));

    // An ordinary user sees none of it.
    const alice = `uid=alice,ou=People,${BASE}`;
    await addEntry(admin(), alice, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid: 'alice',
      cn: 'Alice',
      sn: 'Alice',
      userPassword: ALICE_PASSWORD,
    });
    assert.equal(await canBind(d.url, alice, ALICE_PASSWORD), true, 'alice binds');
    const seenByAlice = await changelogEntries({ dn: alice, password: ALICE_PASSWORD });
    assert.deepEqual(seenByAlice, [], 'an ordinary user cannot read changelog entries');
    const seenBySync = await changelogEntries(syncBind);
    assert.ok(seenBySync.length >= 2, `the sync user sees both adds: ${seenBySync.length}`);
  });

  test('third run changes nothing: summary says so, server unchanged, no write in the run log', async () => {
    const d = server();
    const before = await snapshot();
    const logLength = logLines(logFile).length;
    // modifyTimestamp has one-second granularity: make any write show.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const r = await runCli(sourceArgs());
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /nothing to change/i, describeRun(r));
    assert.equal(withoutAdminUnderBaseWarning(r.stderr), '', 'no warnings on a prepared server');

    const afterSnap = await snapshot();
    assert.deepEqual(afterSnap, before);
    assert.equal(await canBind(d.url, SYNC_DN, SYNC_PASSWORD), true);

    const lines = lastRun(logLength);
    assert.ok(
      lines.some((l) => l.event === 'start'),
      'the run logged its start',
    );
    const end = lines.find((l) => l.event === 'end');
    assert.equal(end?.exitCode, 0, JSON.stringify(end));
    assert.equal(end?.changed, false, JSON.stringify(end));
    assert.equal(end?.writes, 0, JSON.stringify(end));
    assert.deepEqual(
      lines.filter((l) => l.event === 'write'),
      [],
      'no "event":"write" line for this run',
    );
    // The earlier runs did log their writes (the log is real, not silent).
    assert.ok(
      logLines(logFile).some((l) => l.event === 'write' && String(l.dn).toLowerCase() === PLUGIN_DN.toLowerCase()),
    );
  });

  test('no password ever reaches the run log', () => {
    const text = readFileSync(logFile, 'utf8');
    assert.ok(!text.includes(SYNC_PASSWORD), 'sync password not in the log');
    assert.ok(!text.includes(server().adminPassword), 'admin password not in the log');
  });
});
