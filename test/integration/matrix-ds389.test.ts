// Fault matrix, 389 DS (ACIs): an admin without rights (50, nothing written), an ACI of the tool removed by
// hand (a re-run restores it), and two runs at once on the same server, forced to race write for write
// (both end well, one account, no duplicate ACI).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { canBind, readEntry, searchDns, withClient } from '../helpers/directory.js';
import { startLdapProxy, type LdapProxy, type WriteDecision } from '../helpers/ldap-proxy.js';
import {
  assertNoSecretsAnywhere,
  describeRun,
  fileSize,
  logLines,
  runCli,
  secretFile,
  spawnCli,
  SENTINEL_OTHER,
  SENTINEL_SYNC,
  useMatrixFiles,
} from '../helpers/matrix.js';

const COM = 'dc=example,dc=com';
const ORG = 'dc=example,dc=org';
const WEAK_DN = `uid=weak,ou=People,${COM}`;
const matrix = useMatrixFiles('pes-matrix-389-');
let ds: Ds389;
let weakFile = '';

function dm(): { dn: string; password: string } {
  return { dn: ds.adminDn, password: ds.adminPassword };
}

function common(extra: string[], opts: { bindDn?: string; adminFile?: string; port?: number } = {}): string[] {
  return matrix.args(ds, extra, {
    port: opts.port ?? ds.port,
    bindDn: opts.bindDn ?? ds.adminDn,
    adminPasswordFile: opts.adminFile ?? matrix.adminFile,
  });
}

async function acis(dn: string): Promise<string[]> {
  return ((await readEntry(ds.url, dm(), dn, ['aci']))?.aci ?? []).filter((aci) =>
    aci.includes('prepare-endpoint-server'),
  );
}

async function state(): Promise<unknown> {
  return {
    com: (await readEntry(ds.url, dm(), COM, ['aci', 'modifyTimestamp']))?.aci?.sort(),
    org: (await readEntry(ds.url, dm(), ORG, ['aci']))?.aci?.sort(),
    rootDse: (await readEntry(ds.url, dm(), '', ['aci']))?.aci?.sort(),
    plugin: await readEntry(ds.url, dm(), 'cn=Retro Changelog Plugin,cn=plugins,cn=config', [
      'nsslapd-pluginEnabled',
      'nsslapd-changelogmaxage',
    ]),
    users: [
      ...(await searchDns(ds.url, dm(), COM, '(cn=Sync User)')),
      ...(await searchDns(ds.url, dm(), ORG, '(cn=Sync User)')),
    ].sort(),
  };
}

before(async () => {
  ds = await startDs389();
  weakFile = secretFile(matrix.tmp, 'weak.pw', SENTINEL_OTHER);
  await withClient(ds.url, dm(), async (c) => {
    await c.add(WEAK_DN, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid: 'weak',
      cn: 'Weak',
      sn: 'Weak',
      userPassword: SENTINEL_OTHER,
    });
  });
});

after(async () => {
  await ds?.stop();
});

describe('matrix: 389 DS', () => {
  test('an admin without rights to add entries or ACIs: exit 50, nothing written, the LDIF to apply by hand', async () => {
    const before = await state();
    const offset = fileSize(matrix.logFile);
    const r = await runCli(
      common(['-b', COM, '--isSource', '--isDestination'], { bindDn: WEAK_DN, adminFile: weakFile }),
    );
    assert.equal(r.code, 50, describeRun(r));
    assert.match(r.stderr.split('\n')[0]!, /'uid=weak,ou=People,dc=example,dc=com' may not add/, describeRun(r));
    assert.match(r.stderr, /^dn: cn=Sync User,dc=example,dc=com$/m, 'the LDIF left to apply');
    assert.doesNotMatch(r.stderr, /^userPassword:/m, 'no password, not even masked');
    assert.match(
      r.stderr,
      /^# then its password \(asked for, never printed\): ldappasswd -x -H 'ldap:\/\/127\.0\.0\.1:\d+' -D 'uid=weak,ou=People,dc=example,dc=com' -W -S 'cn=Sync User,dc=example,dc=com'$/m,
      'the command that sets it',
    );
    assert.deepEqual(await state(), before, 'the server is unchanged');
    assert.deepEqual(
      logLines(matrix.logFile, offset).filter((l) => l.event === 'write'),
      [],
    );
  });

  test('two runs at once, racing write for write: both exit 0, one account, no duplicate ACI', async () => {
    // Two proxies hold each write until the other run has reached the same write: both runs planned on the
    // same server state and send every write together.
    const arrived: Map<number, number> = new Map();
    const waiting: Map<number, () => void> = new Map();
    const barrier = async (index: number): Promise<WriteDecision> => {
      const count = (arrived.get(index) ?? 0) + 1;
      arrived.set(index, count);
      if (count === 2) {
        waiting.get(index)?.();
        return 'forward';
      }
      await Promise.race([
        new Promise<void>((resolve) => waiting.set(index, resolve)),
        new Promise((resolve) => setTimeout(resolve, 3_000)),
      ]);
      return 'forward';
    };
    const proxies: LdapProxy[] = [];
    for (let i = 0; i < 2; i++)
      proxies.push(
        await startLdapProxy({ host: ds.host, port: ds.port }, { onWrite: (request) => barrier(request.index) }),
      );
    try {
      const runs = proxies.map(
        (proxy) =>
          spawnCli(common(['-b', ORG, '--isSource', '--isDestination', '--json'], { port: proxy.port })).result,
      );
      const [a, b] = await Promise.all(runs);
      assert.equal(a!.code, 0, describeRun(a!));
      assert.equal(b!.code, 0, describeRun(b!));
      assert.ok(
        [...arrived.values()].filter((n) => n === 2).length >= 2,
        `the runs raced on several writes: ${JSON.stringify([...arrived])}`,
      );
      assert.match(
        `${a!.stdout}${a!.stderr}${b!.stdout}${b!.stderr}`,
        /changed meanwhile by someone else/,
        "one run found the other's writes",
      );
    } finally {
      for (const proxy of proxies) await proxy.close();
    }
    assert.deepEqual(await searchDns(ds.url, dm(), ORG, '(cn=Sync User)'), [`cn=Sync User,${ORG}`]);
    assert.equal(await canBind(ds.url, `cn=Sync User,${ORG}`, SENTINEL_SYNC), true);
    const names = [...(await acis(ORG)), ...(await acis(''))].map((aci) => /acl "([^"]*)"/.exec(aci)?.[1]);
    assert.equal(new Set(names).size, names.length, `no duplicate ACI: ${JSON.stringify(names)}`);
    assert.deepEqual(names.filter((name) => /sync (source read|destination write)$/.test(name ?? '')).sort(), [
      'prepare-endpoint-server: sync destination write',
      'prepare-endpoint-server: sync source read',
    ]);
    const again = await runCli(common(['-b', ORG, '--isSource', '--isDestination', '--json']));
    assert.equal(again.code, 0, describeRun(again));
    assert.equal(
      (JSON.parse(again.stdout) as { changed: boolean }).changed,
      false,
      'a third run finds everything in place',
    );
  });

  test('an ACI of the tool removed by hand: a re-run restores it, the next run changes nothing', async () => {
    const [aci] = (await acis(ORG)).filter((value) => value.includes('sync destination write'));
    assert.ok(aci, 'the destination ACI is there');
    await withClient(ds.url, dm(), async (c) => {
      await c.modify(ORG, [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'aci', values: [aci] }) }),
      ]);
    });
    assert.ok(!(await acis(ORG)).includes(aci));
    const r = await runCli(common(['-b', ORG, '--isSource', '--isDestination', '--json']));
    assert.equal(r.code, 0, describeRun(r));
    assert.ok((await acis(ORG)).includes(aci), 'restored, word for word');
    const again = await runCli(common(['-b', ORG, '--isSource', '--isDestination', '--json']));
    assert.equal((JSON.parse(again.stdout) as { changed: boolean }).changed, false, describeRun(again));
  });

  test('a sync user DN with quotes, parentheses, + and , gets a working ACI that names only it', async () => {
    const hostile = `cn=Sync \\"Q\\" (x) \\+ \\, ldap:///anyone,ou=People,${COM}`;
    const r = await runCli(common(['-b', COM, '--isDestination', '--syncServerBindDN', hostile, '--json']));
    assert.equal(r.code, 0, describeRun(r));
    const target = `ou=People,${COM}`;
    const write = (dn: string, password: string): Promise<void> =>
      withClient(ds.url, { dn, password }, async (c) => {
        await c.modify(target, [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'description', values: [`by ${dn.slice(0, 8)}`] }),
          }),
        ]);
      });
    await write(hostile, SENTINEL_SYNC);
    assert.deepEqual(
      (await readEntry(ds.url, dm(), target, ['description']))?.description,
      [`by ${hostile.slice(0, 8)}`],
      'the sync user may write',
    );
    await assert.rejects(
      write(WEAK_DN, SENTINEL_OTHER),
      (error: { code?: number }) => error.code === 50,
      'nobody else got the right',
    );
  });

  test('a sync user DN with ||, ?, ; or * (which an ACI userdn cannot name): exit 89 before any write', async () => {
    for (const dn of [
      `cn=*,ou=People,${COM}`,
      `cn=Sync || ldap:///anyone,ou=People,${COM}`,
      `cn=Sync??sub?(uid=*),ou=People,${COM}`,
      `cn=Sync \\; x,ou=People,${COM}`,
    ]) {
      const before = await state();
      const r = await runCli(common(['-b', COM, '--isDestination', '--syncServerBindDN', dn]));
      assert.equal(r.code, 89, describeRun(r));
      assert.match(r.stderr, /cannot name/, describeRun(r));
      assert.deepEqual(await state(), before);
      assert.equal(await readEntry(ds.url, dm(), dn), undefined);
    }
  });

  test('--remove of an entry with entries below it: never a bare "LDAP error 66"; the entry and its children stay', async () => {
    const parent = `ou=Team,${COM}`;
    const child = `cn=Member,${parent}`;
    await withClient(ds.url, dm(), async (c) => {
      await c.add(parent, { objectClass: ['top', 'organizationalUnit'], ou: 'Team' });
      await c.add(child, { objectClass: ['top', 'organizationalRole'], cn: 'Member' });
    });
    const r = await runCli(common(['--remove', '-b', COM, '--syncServerBindDN', parent]));
    assert.doesNotMatch(r.stderr, /LDAP error \d+|^\s+at /m, describeRun(r));
    if (r.code === 66) {
      const lines = r.stderr.split('\n').filter((line) => line.trim() !== '');
      assert.equal(lines.length, 1, describeRun(r));
      assert.match(
        lines[0]!,
        /^Error: The server refused the delete of 'ou=Team,dc=example,dc=com': it has entries below it.*\(notAllowedOnNonLeaf, LDAP result 66.*\): this tool never deletes a subtree/,
      );
    } else {
      // Once --remove keeps entries it did not create, the run says so and succeeds.
      assert.equal(r.code, 0, describeRun(r));
    }
    assert.ok(await readEntry(ds.url, dm(), parent), 'the entry is still there');
    assert.ok(await readEntry(ds.url, dm(), child), 'and so is the entry below it');
  });

  test("the Directory Manager or the admin's own DN as the sync user: exit 89 before any write, in any spelling", async () => {
    const cases: { args: string[]; bindDn?: string; adminFile?: string; message: RegExp }[] = [
      {
        args: ['--isDestination', '--syncServerBindDN', 'cn=Directory Manager', '--resetSyncServerBindPassword'],
        message: /names the admin's own account/,
      },
      {
        args: ['--isDestination', '--syncServerBindDN', ' CN = directory\\20manager ', '--resetSyncServerBindPassword'],
        message: /names the admin's own account/,
      },
      { args: ['--remove', '--syncServerBindDN', 'cn=directory manager'], message: /names the admin's own account/ },
      // Bound as another account, the Directory Manager is still refused (nsslapd-rootdn, which that account may not even read).
      {
        args: ['--isDestination', '--syncServerBindDN', 'cn=Directory Manager', '--resetSyncServerBindPassword'],
        bindDn: WEAK_DN,
        adminFile: weakFile,
        message: /names the server's administrator \(the root DN/,
      },
      {
        args: [
          '--isDestination',
          '--syncServerBindDN',
          'UID=weak, OU=people,dc=example,dc=com',
          '--resetSyncServerBindPassword',
        ],
        bindDn: WEAK_DN,
        adminFile: weakFile,
        message: /names the admin's own account/,
      },
    ];
    for (const c of cases) {
      const before = await state();
      const r = await runCli(
        common(['-b', COM, ...c.args], {
          ...(c.bindDn === undefined ? {} : { bindDn: c.bindDn }),
          ...(c.adminFile === undefined ? {} : { adminFile: c.adminFile }),
        }),
      );
      assert.equal(r.code, 89, describeRun(r));
      assert.match(r.stderr, c.message, describeRun(r));
      assert.deepEqual(await state(), before);
    }
    assert.equal(
      await canBind(ds.url, ds.adminDn, ds.adminPassword),
      true,
      'the Directory Manager password is unchanged',
    );
    assert.equal(await canBind(ds.url, WEAK_DN, SENTINEL_OTHER), true, 'the admin account password is unchanged');
  });

  test('a sync user DN with a hex escape gets an ACI 389 DS matches: the sync user writes; re-runs in other spellings write nothing', async () => {
    const hex = `cn=Sync\\20Hex,ou=People,${COM}`;
    const r = await runCli(common(['-b', COM, '--isDestination', '--syncServerBindDN', hex]));
    assert.equal(r.code, 0, describeRun(r));
    const target = `ou=People,${COM}`;
    await withClient(ds.url, { dn: hex, password: SENTINEL_SYNC }, async (c) => {
      await c.modify(target, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'description', values: ['by the hex sync user'] }),
        }),
      ]);
      assert.equal(
        (await c.search(target, { scope: 'base', attributes: ['description'] })).searchEntries.length,
        1,
        'and reads',
      );
    });
    assert.deepEqual((await readEntry(ds.url, dm(), target, ['description']))?.description, ['by the hex sync user']);
    for (const dn of [
      `cn=Sync Hex,ou=People,${COM}`,
      'CN = sync\\20hex , OU=people,DC=EXAMPLE,DC=COM',
      `cn=\\53ync\\20\\48ex,ou=People,${COM}`,
      `2.5.4.3=Sync   Hex,ou=People,${COM}`,
    ]) {
      for (const base of [COM, 'DC=Example, DC=COM', '0.9.2342.19200300.100.1.25=example,dc=com']) {
        const again = await runCli(common(['-b', base, '--isDestination', '--syncServerBindDN', dn, '--json']));
        assert.equal(again.code, 0, describeRun(again));
        assert.equal(
          (JSON.parse(again.stdout) as { ldap: { writes: number } }).ldap.writes,
          0,
          `${dn} under ${base}: ${describeRun(again)}`,
        );
        assert.equal((JSON.parse(again.stdout) as { syncUserDn: string }).syncUserDn, hex, 'the DN the server binds');
      }
    }
    assert.deepEqual(await searchDns(ds.url, dm(), COM, '(cn=Sync Hex)'), [hex], 'one account');
  });

  test('base DNs that differ only in case or spacing find the same ACIs: no rewrite', async () => {
    const first = await runCli(common(['-b', COM, '--isSource', '--isDestination', '--json']));
    assert.equal(first.code, 0, describeRun(first));
    const acisBefore = await acis(COM);
    for (const base of ['DC=EXAMPLE,DC=COM', 'dc = Example , dc = com', 'dc=ex\\61mple,dc=com']) {
      const again = await runCli(common(['-b', base, '--isSource', '--isDestination', '--json']));
      assert.equal(again.code, 0, describeRun(again));
      assert.equal(
        (JSON.parse(again.stdout) as { ldap: { writes: number } }).ldap.writes,
        0,
        `${base}: ${describeRun(again)}`,
      );
    }
    assert.deepEqual(await acis(COM), acisBefore);
  });

  test('no sentinel password anywhere', () => {
    assertNoSecretsAnywhere([matrix.logFile], matrix.repoLogOffset, 9);
  });
});
