// Least privilege, judged by the servers themselves: a prepared destination sync user tries to take over
// access control and its own account on real 389 DS (and is refused), still does what a sync needs, a server
// prepared by the previous version (built from git history) is converged by one run, and a change log
// retention someone else chose is kept unless asked, on 389 DS, OpenLDAP and the PingDirectory emulator.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { canBind, modifyAttribute, readEntry, resultCode, withClient, type Bind } from '../helpers/directory.js';
import { connectionArgs, describeRun, makeTempDir, secretFile } from '../helpers/fixture.js';
import { sleep, spawnCli } from '../helpers/matrix.js';
import { buildPreviousVersion, previousVersionSkipReason, type PreviousVersion } from '../helpers/previous-version.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { startPingEmulator, type PingEmulator } from '../servers/pingdirectory.js';

const BASE = 'dc=example,dc=com';
const ORG = 'dc=example,dc=org';
const SYNC_PASSWORD = 'Sync-least-privilege-1';
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const EVIL_ACI = '(targetattr="*")(version 3.0; acl "taken over"; allow (all) userdn="ldap:///anyone";)';
const THIRD_PARTY_ACI =
  '(targetattr="description")(version 3.0; acl "third party: helpdesk"; allow (read,search) userdn="ldap:///anyone";)';

/** README, 389 DS rights: what an operator adds by hand for a sync that moves entries to a new parent. */
const MOVE_ACI = `(targetattr="*")(version 3.0; acl "sync destination moves (added by hand)"; allow (moddn) userdn="ldap:///cn=Sync User,${BASE}";)`;
const tmp = makeTempDir('pes-least-privilege-');
const adminPasswordFile = (password: string): string => secretFile(tmp, `admin-${password.length}.pw`, password);
const syncPasswordFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
const logFile = path.join(tmp, 'run.log');

async function acisOf(url: string, bind: Bind, dn: string): Promise<string[]> {
  return (await readEntry(url, bind, dn, ['aci']))?.aci ?? [];
}

/** The LDAP result code of what `fn` does as `bind` (0 when it succeeds). */
async function outcome(url: string, bind: Bind, fn: (c: Client) => Promise<unknown>): Promise<number> {
  try {
    await withClient(url, bind, fn);
    return 0;
  } catch (error) {
    const code = resultCode(error);
    if (code === undefined) throw error;
    return code;
  }
}

function json(r: RunCliResult): {
  changed: boolean;
  ldap: { writes: number };
  steps: Array<{ id: string; status: string; detail?: string }>;
  warnings: string[];
} {
  return JSON.parse(r.stdout) as never;
}

describe('389 DS destination: what the sync user can and cannot do, on the server', () => {
  let ds: Ds389;
  const syncDn = `cn=Sync User,${BASE}`;
  const sync: Bind = { dn: syncDn, password: SYNC_PASSWORD };
  const admin = (): Bind => ({ dn: ds.adminDn, password: ds.adminPassword });
  const args = (extra: string[], base = BASE, dn = syncDn): string[] =>
    connectionArgs(
      {
        host: '127.0.0.1',
        port: ds.port,
        bindDn: ds.adminDn,
        adminPasswordFile: adminPasswordFile(ds.adminPassword),
        syncPasswordFile,
        logFile,
      },
      ['-b', base, '--syncServerBindDN', dn, ...extra],
    );

  before(async () => {
    ds = await startDs389();
    await withClient(ds.url, admin(), async (c) => {
      await c.add(`ou=Guarded,${BASE}`, {
        objectClass: ['top', 'organizationalUnit'],
        ou: 'Guarded',
        aci: THIRD_PARTY_ACI,
      });
      await c.add(`uid=alice,ou=People,${BASE}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'alice',
        cn: 'alice',
        sn: 'A',
        userPassword: 'alice-old-1',
      });
    });
    const r = await runCli(args(['--isDestination']));
    assert.equal(r.code, 0, describeRun(r));
  });

  after(async () => {
    await ds?.stop();
  });

  test('it cannot add, replace or delete an ACI, anywhere under the base', async () => {
    const before = await acisOf(ds.url, admin(), BASE);
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.modify(
          BASE,
          new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [EVIL_ACI] }) }),
        ),
      ),
      50,
    );
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.modify(BASE, new Change({ operation: 'delete', modification: new Attribute({ type: 'aci' }) })),
      ),
      50,
    );
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.modify(
          `ou=Guarded,${BASE}`,
          new Change({ operation: 'replace', modification: new Attribute({ type: 'aci', values: [EVIL_ACI] }) }),
        ),
      ),
      50,
    );
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.add(`ou=Smuggled,${BASE}`, { objectClass: ['top', 'organizationalUnit'], ou: 'Smuggled', aci: EVIL_ACI }),
      ),
      50,
      'an entry carrying an ACI cannot be added (389 checks targetattr per attribute on modify, not on add)',
    );
    assert.deepEqual(await acisOf(ds.url, admin(), BASE), before, 'the base ACIs are as they were');
    assert.equal(await readEntry(ds.url, admin(), `ou=Smuggled,${BASE}`), undefined);
  });

  test('it cannot delete an entry carrying an ACI, nor change, rename or delete its own account', async () => {
    assert.equal(await outcome(ds.url, sync, (c) => c.del(`ou=Guarded,${BASE}`)), 50);
    assert.deepEqual(
      await acisOf(ds.url, admin(), `ou=Guarded,${BASE}`),
      [THIRD_PARTY_ACI],
      'still there with its ACI',
    );
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.modify(
          syncDn,
          new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['mine'] }) }),
        ),
      ),
      50,
    );
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.modify(
          syncDn,
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'nsRoleDN', values: [`cn=Admins,${BASE}`] }),
          }),
        ),
      ),
      50,
    );
    assert.equal(await outcome(ds.url, sync, (c) => c.del(syncDn)), 50);
    assert.equal(await outcome(ds.url, sync, (c) => c.modifyDN(syncDn, `cn=Sync User,ou=People,${BASE}`)), 50);
  });

  test('it still adds, modifies, renames and deletes ordinary entries, and resets an ordinary password; moves only with an ACI added by hand', async () => {
    const ou = `ou=Synced,${BASE}`;
    const user = `uid=bob,${ou}`;
    await withClient(ds.url, sync, async (c) => {
      await c.add(ou, { objectClass: ['top', 'organizationalUnit'], ou: 'Synced' });
      await c.add(user, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'bob',
        cn: 'bob',
        sn: 'B',
      });
      await c.modify(
        user,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['synced'] }) }),
      );
      await c.modifyDN(user, 'uid=bobby');
      await c.modifyDN(`uid=bobby,${ou}`, 'uid=bob');
      await assert.rejects(c.modifyDN(user, `uid=bob,ou=People,${BASE}`), (e) => resultCode(e) === 50, 'no moddn');
      // README, 389 DS rights: an operator who wants moves adds this ACI of their own.
      await withClient(ds.url, admin(), (a) =>
        a.modify(
          BASE,
          new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [MOVE_ACI] }) }),
        ),
      );
      await c.modifyDN(user, `uid=bob,ou=People,${BASE}`);
      await withClient(ds.url, admin(), (a) =>
        a.modify(
          BASE,
          new Change({ operation: 'delete', modification: new Attribute({ type: 'aci', values: [MOVE_ACI] }) }),
        ),
      );
      await c.modify(
        `uid=alice,ou=People,${BASE}`,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userPassword', values: ['alice-new-1'] }),
        }),
      );
      await c.del(`uid=bob,ou=People,${BASE}`);
      await c.del(ou);
    });
    assert.equal(await canBind(ds.url, `uid=alice,ou=People,${BASE}`, 'alice-new-1'), true, 'the reset password works');
    assert.equal(await readEntry(ds.url, admin(), `uid=bob,ou=People,${BASE}`), undefined);
  });

  test('a server prepared by the previous version (whose ACI let the sync user take over ACIs) is converged by one run', async (t) => {
    const skip = await previousVersionSkipReason();
    if (skip !== undefined) {
      t.skip(skip);
      return;
    }
    const previous: PreviousVersion = await buildPreviousVersion();
    try {
      const orgSync = `cn=Sync User,${ORG}`;
      const old = await runCli(args(['--isDestination'], ORG, orgSync), { cli: previous.cli });
      assert.equal(old.code, 0, describeRun(old));
      const asOrgSync: Bind = { dn: orgSync, password: SYNC_PASSWORD };
      const addEvil = (c: Client): Promise<void> =>
        c.modify(
          ORG,
          new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [EVIL_ACI] }) }),
        );
      assert.equal(await outcome(ds.url, asOrgSync, addEvil), 0, 'the attack worked against the previous version');
      await modifyAttribute(ds.url, admin(), ORG, 'delete', 'aci', [EVIL_ACI]);

      const upgrade = await runCli(args(['--isDestination', '--json'], ORG, orgSync));
      assert.equal(upgrade.code, 0, describeRun(upgrade));
      const result = json(upgrade);
      assert.equal(result.steps.find((s) => s.id === `aci:destination:${ORG}`)?.status, 'updated', upgrade.stdout);
      assert.equal(await outcome(ds.url, asOrgSync, addEvil), 50, 'the attack fails after one run of this version');
      const ours = (await acisOf(ds.url, admin(), ORG)).filter((aci) => aci.includes('prepare-endpoint-server'));
      assert.ok(!ours.some((aci) => aci.startsWith('(targetattr="*")') && aci.includes('allow')), JSON.stringify(ours));

      const again = await runCli(args(['--isDestination', '--json'], ORG, orgSync));
      assert.equal(again.code, 0, describeRun(again));
      assert.equal(json(again).ldap.writes, 0, 'a second run writes nothing');
    } finally {
      previous.remove();
    }
  });

  test('retention: a 30d maximum age is kept without --changelogMaximumAge, and shortening it is said', async () => {
    await modifyAttribute(ds.url, admin(), PLUGIN_DN, 'replace', 'nsslapd-changelogmaxage', ['30d']);
    const kept = await runCli(args(['--isSource']));
    assert.equal(kept.code, 0, describeRun(kept));
    assert.match(kept.stdout, /30d, kept: pass --changelogMaximumAge to change it/);
    assert.deepEqual(
      (await readEntry(ds.url, admin(), PLUGIN_DN, ['nsslapd-changelogmaxage']))?.['nsslapd-changelogmaxage'],
      ['30d'],
    );

    const longer = await runCli(args(['--isSource', '--changelogMaximumAge', '45d']));
    assert.equal(longer.code, 0, describeRun(longer));
    assert.doesNotMatch(longer.stderr, /shortens/);
    assert.deepEqual(
      (await readEntry(ds.url, admin(), PLUGIN_DN, ['nsslapd-changelogmaxage']))?.['nsslapd-changelogmaxage'],
      ['45d'],
    );

    const shorter = await runCli(args(['--isSource', '--changelogMaximumAge', '2d']));
    assert.equal(shorter.code, 0, describeRun(shorter));
    assert.match(shorter.stderr, /--changelogMaximumAge 2d shortens the change log retention from 45d to 2d/);
    assert.deepEqual(
      (await readEntry(ds.url, admin(), PLUGIN_DN, ['nsslapd-changelogmaxage']))?.['nsslapd-changelogmaxage'],
      ['2d'],
    );
  });
  test("retention at a terminal: the prompt offers the server's 30d, and Enter keeps it", async () => {
    await modifyAttribute(ds.url, admin(), PLUGIN_DN, 'replace', 'nsslapd-changelogmaxage', ['30d']);
    const atTerminal = args(['--isSource']).filter((arg) => arg !== '--no-prompt');
    const spawned = spawnCli(atTerminal, { tty: true, stdin: 'open', timeoutMs: 30_000 });
    const prompted = await Promise.race([
      spawned.output(/Maximum age of change log entries/).then(() => true),
      sleep(20_000).then(() => false),
    ]);
    if (prompted) spawned.child.stdin?.write('\r');
    else spawned.child.kill('SIGKILL');
    const r = await spawned.result;
    assert.ok(prompted, `the age was asked: ${describeRun(r)}`);
    // The terminal wraps the question; the answer offered is the server's value.
    assert.match(r.stdout, /Enter keeps the current\s+one\): \(30d\)/, describeRun(r));
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(
      (await readEntry(ds.url, admin(), PLUGIN_DN, ['nsslapd-changelogmaxage']))?.['nsslapd-changelogmaxage'],
      ['30d'],
    );
  });
});

describe('OpenLDAP retention: olcAccessLogPurge kept unless asked', () => {
  let slapd: Slapd;
  const overlayPurge = async (): Promise<string[]> => {
    const admin = { dn: slapd.configAdminDn, password: slapd.adminPassword };
    return withClient(slapd.url, admin, async (c) => {
      const { searchEntries } = await c.search('cn=config', {
        scope: 'sub',
        filter: '(objectClass=olcAccessLogConfig)',
        attributes: ['olcAccessLogPurge'],
      });
      return searchEntries.flatMap((e) => [e['olcAccessLogPurge']].flat().map(String));
    });
  };
  const args = (extra: string[]): string[] =>
    connectionArgs(
      {
        host: '127.0.0.1',
        port: slapd.port,
        bindDn: slapd.adminDn,
        adminPasswordFile: adminPasswordFile(slapd.adminPassword),
        syncPasswordFile,
        logFile,
      },
      ['-b', BASE, '--isSource', '--accesslogDirectory', slapd.accesslogDirectory, ...extra],
    );

  before(async () => {
    slapd = await startSlapd();
  });
  after(async () => {
    await slapd?.stop();
  });

  test('30 days set, a run without the option keeps it; an explicit 2d changes it and says it shortens', async () => {
    const first = await runCli(args(['--changelogMaximumAge', '30d']));
    assert.equal(first.code, 0, describeRun(first));
    assert.deepEqual(await overlayPurge(), ['30+00:00 01+00:00']);

    const kept = await runCli(args([]));
    assert.equal(kept.code, 0, describeRun(kept));
    assert.match(kept.stdout, /kept: pass --changelogMaximumAge to change it/);
    assert.deepEqual(await overlayPurge(), ['30+00:00 01+00:00']);

    const shorter = await runCli(args(['--changelogMaximumAge', '2d']));
    assert.equal(shorter.code, 0, describeRun(shorter));
    assert.match(shorter.stderr, /shortens the change log retention from 30d to 2d/);
    assert.deepEqual(await overlayPurge(), ['02+00:00 01+00:00']);
  });
});

describe('PingDirectory emulator retention: changelog-maximum-age kept unless asked', () => {
  let emulator: PingEmulator;
  const backend = 'ds-cfg-backend-id=changelog,cn=Backends,cn=config';
  const args = (extra: string[]): string[] => [
    '-h',
    '127.0.0.1',
    '-p',
    String(emulator.port),
    '-D',
    emulator.adminDn,
    '-j',
    adminPasswordFile(emulator.adminPassword),
    '--syncServerBindDN',
    'cn=Sync User,cn=Root DNs,cn=config',
    '--syncServerBindPasswordFile',
    syncPasswordFile,
    '-b',
    BASE,
    '--isSource',
    '--no-prompt',
    '--logFile',
    logFile,
    ...extra,
  ];
  const age = async (): Promise<string[] | undefined> =>
    (
      await readEntry(emulator.url, { dn: emulator.adminDn, password: emulator.adminPassword }, backend, [
        'ds-cfg-changelog-maximum-age',
      ])
    )?.['ds-cfg-changelog-maximum-age'];

  before(async () => {
    emulator = await startPingEmulator();
  });
  after(async () => {
    await emulator?.stop();
  });

  test("'30 d' set by someone else is kept without the option; an explicit 2d shortens it with a warning", async () => {
    await modifyAttribute(
      emulator.url,
      { dn: emulator.adminDn, password: emulator.adminPassword },
      backend,
      'replace',
      'ds-cfg-changelog-maximum-age',
      ['30 d'],
    );
    const kept = await runCli(args([]));
    assert.equal(kept.code, 0, describeRun(kept));
    assert.match(kept.stdout, /'30 d', kept: pass --changelogMaximumAge to change it/);
    assert.deepEqual(await age(), ['30 d']);

    const shorter = await runCli(args(['--changelogMaximumAge', '2d']));
    assert.equal(shorter.code, 0, describeRun(shorter));
    assert.match(shorter.stderr, /shortens the change log retention from 30d to 2d/);
    assert.deepEqual(await age(), ['2 d']);
  });
});
