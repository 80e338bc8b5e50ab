// The built CLI against the PingDirectory EMULATOR (test/emulators/pingdirectory, not the real product).
// Every effect is checked over LDAP, as the admin or as the sync user, not only in what the tool prints.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { canBind, readEntry, searchDns, withClient, type Bind } from '../helpers/directory.js';
import { startPingEmulator, type PingEmulator } from '../servers/pingdirectory.js';

const SYNC_DN = 'cn=Sync User,cn=Root DNs,cn=config';
const SYNC_PASSWORD = 'sync-secret-1';
const CHANGELOG_BACKEND = 'ds-cfg-backend-id=changelog,cn=Backends,cn=config';
const SOURCE = ['bypass-read-acl', 'config-read', 'unindexed-search'];
const DESTINATION = ['bypass-acl', 'password-reset', 'bypass-pw-policy', 'unindexed-search'];

let dir = '';
let emulator: PingEmulator | undefined;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pes-ping-it-'));
  await secretFile('admin.pw', 'adminpw');
  await secretFile('sync.pw', SYNC_PASSWORD);
});

after(async () => {
  // Node 24 runs after() even when a name filter left no test to run here, and before() did not run.
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
  // One log per test: assertions on it see only that test's runs.
  await rm(path.join(dir, 'run.log'), { force: true });
});

async function secretFile(name: string, content: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `${content}\n`);
  await chmod(file, 0o600);
  return file;
}

async function start(proxy = false): Promise<PingEmulator> {
  emulator = await startPingEmulator({ proxy });
  return emulator;
}

const admin = (e: PingEmulator): Bind => ({ dn: e.adminDn, password: e.adminPassword });
const sync: Bind = { dn: SYNC_DN, password: SYNC_PASSWORD };

/** A run against the emulator on `baseDn`, as the admin with the password in `adminPasswordFile`; `extra` last. */
function runOn(e: PingEmulator, baseDn: string, adminPasswordFile: string, extra: string[]): Promise<RunCliResult> {
  return runCli([
    '--hostname',
    '127.0.0.1',
    '--port',
    String(e.port),
    '--syncServerBindPasswordFile',
    path.join(dir, 'sync.pw'),
    '--baseDN',
    baseDn,
    '-D',
    'cn=Directory Manager',
    '-j',
    adminPasswordFile,
    '--no-prompt',
    '--logFile',
    path.join(dir, 'run.log'),
    ...extra,
  ]);
}

/** The seed's command line, against the emulator, with the given role flags and extras. */
function prepare(e: PingEmulator, ...extra: string[]): Promise<RunCliResult> {
  return runOn(e, 'dc=example,dc=com', path.join(dir, 'admin.pw'), ['--syncServerBindDN', SYNC_DN, ...extra]);
}

function describeRunText(result: RunCliResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

function ok(result: RunCliResult): void {
  assert.equal(result.code, 0, `exit ${String(result.code)}\n${result.stdout}\n${result.stderr}`);
}

function sorted(values: readonly string[] | undefined): string[] {
  return [...(values ?? [])].map((v) => v.toLowerCase()).sort();
}

async function syncAccount(e: PingEmulator): Promise<Record<string, string[]> | undefined> {
  return readEntry(e.url, admin(e), SYNC_DN, ['*', 'ds-privilege-name', 'modifyTimestamp']);
}

async function addPerson(e: PingEmulator, uid: string): Promise<void> {
  await withClient(e.url, admin(e), (c) =>
    c.add(`uid=${uid},ou=People,dc=example,dc=com`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid,
      cn: uid,
      sn: uid,
    }),
  );
}

/** The sync user as a root DN user made beforehand, with these privilege values (a leading '-' takes one away). */
async function addSyncAccount(e: PingEmulator, inheritDefaultPrivileges: boolean, privileges: string[]): Promise<void> {
  await withClient(e.url, admin(e), (c) =>
    c.add(SYNC_DN, {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-user', 'ds-cfg-root-dn-user'],
      cn: 'Sync User',
      sn: 'User',
      userPassword: SYNC_PASSWORD,
      'ds-cfg-inherit-default-root-privileges': String(inheritDefaultPrivileges),
      'ds-privilege-name': privileges,
    }),
  );
}

describe('prepare-endpoint-server against the PingDirectory emulator', () => {
  test('destination (the seed command): a root DN user with exactly the destination privileges, change log untouched', async () => {
    const e = await start();
    const result = await prepare(e, '--isDestination');
    ok(result);
    assert.match(result.stdout + result.stderr, /PingDirectory/);

    const account = await syncAccount(e);
    assert.ok(account, 'the sync user exists');
    assert.ok(
      account.objectclass?.map((v) => v.toLowerCase()).includes('ds-cfg-root-dn-user'),
      JSON.stringify(account.objectclass),
    );
    assert.deepEqual(account['ds-cfg-inherit-default-root-privileges'], ['false']);
    assert.deepEqual(sorted(account['ds-privilege-name']), sorted(DESTINATION));
    assert.deepEqual(account.cn, ['Sync User']);
    assert.ok(account.sn?.length === 1);
    assert.equal(await canBind(e.url, SYNC_DN, SYNC_PASSWORD), true);
    assert.equal(await canBind(e.url, SYNC_DN, 'wrong'), false);

    const backend = await readEntry(e.url, admin(e), CHANGELOG_BACKEND, [
      'ds-cfg-enabled',
      'ds-cfg-changelog-maximum-age',
    ]);
    assert.deepEqual(backend?.['ds-cfg-enabled'], ['false'], 'a destination does not enable the change log');
  });

  test('source: change log enabled with the given age, and a later change shows up in cn=changelog for the sync user', async () => {
    const e = await start();
    const result = await prepare(e, '--isSource', '--changelogMaximumAge', '3d');
    ok(result);
    assert.match(result.stdout, /from '2 d' to '3 d'/);
    assert.match(result.stdout, /first 0, last 0, lastPurgedChangeNumber 0/);

    const account = await syncAccount(e);
    assert.deepEqual(sorted(account?.['ds-privilege-name']), sorted(SOURCE));
    const backend = await readEntry(e.url, admin(e), CHANGELOG_BACKEND, [
      'ds-cfg-enabled',
      'ds-cfg-changelog-maximum-age',
    ]);
    assert.deepEqual(backend?.['ds-cfg-enabled'], ['true']);
    assert.deepEqual(backend?.['ds-cfg-changelog-maximum-age'], ['3 d']);

    const before = await readEntry(e.url, sync, '', [
      'firstChangeNumber',
      'lastChangeNumber',
      'lastPurgedChangeNumber',
    ]);
    assert.deepEqual(before?.lastchangenumber, ['0']);
    assert.deepEqual(before?.lastpurgedchangenumber, ['0']);

    await addPerson(e, 'after.prepare');
    const afterChange = await readEntry(e.url, sync, '', ['firstChangeNumber', 'lastChangeNumber']);
    assert.deepEqual(afterChange?.firstchangenumber, ['1']);
    assert.deepEqual(afterChange?.lastchangenumber, ['1']);
    const change = await readEntry(e.url, sync, 'changeNumber=1,cn=changelog', [
      'targetDN',
      'changeType',
      'changeNumber',
    ]);
    assert.deepEqual(change?.targetdn, ['uid=after.prepare,ou=People,dc=example,dc=com']);
    assert.deepEqual(change?.changetype, ['add']);
    // The sync user may not write anything as a source: bypass-read-acl only reads.
    await assert.rejects(
      withClient(e.url, sync, (c) => c.del('uid=after.prepare,ou=People,dc=example,dc=com')),
      (error: unknown) => (error as { code?: number }).code === 50,
    );
  });

  test('source: no resource limits for the sync user; deletes in cn=changelog carry objectClass and the attributes asked for', async () => {
    const e = await start();
    ok(await prepare(e, '--isSource', '--changelogDeletedEntryAttribute', 'uid'));
    const account = await readEntry(e.url, admin(e), SYNC_DN, [
      'ds-rlim-size-limit',
      'ds-rlim-time-limit',
      'ds-rlim-lookthrough-limit',
      'ds-rlim-idle-time-limit',
    ]);
    for (const name of [
      'ds-rlim-size-limit',
      'ds-rlim-time-limit',
      'ds-rlim-lookthrough-limit',
      'ds-rlim-idle-time-limit',
    ])
      assert.deepEqual(account?.[name], ['0'], name);
    const backend = await readEntry(e.url, admin(e), CHANGELOG_BACKEND, [
      'ds-cfg-changelog-deleted-entry-include-attribute',
    ]);
    assert.deepEqual(backend?.['ds-cfg-changelog-deleted-entry-include-attribute'], ['objectClass', 'uid']);

    await addPerson(e, 'to.delete');
    await withClient(e.url, admin(e), (c) => c.del('uid=to.delete,ou=People,dc=example,dc=com'));
    const record = await withClient(
      e.url,
      sync,
      async (c) =>
        (
          await c.search('cn=changelog', {
            scope: 'one',
            filter: '(changeType=delete)',
            attributes: ['*', 'deletedEntryAttrs'],
          })
        ).searchEntries[0],
    );
    assert.match(String(record?.['deletedEntryAttrs']), /objectClass: inetOrgPerson/);
    assert.match(String(record?.['deletedEntryAttrs']), /uid: to\.delete/);

    const again = await prepare(e, '--isSource', '--changelogDeletedEntryAttribute', 'uid', '--json');
    ok(again);
    assert.equal((JSON.parse(again.stdout) as { changed: boolean }).changed, false, 're-run writes nothing');
  });

  test('destination: the sync user writes a pre-hashed password (bypass-pw-policy) and the original password binds', async () => {
    const e = await start();
    ok(await prepare(e, '--isDestination'));
    await addPerson(e, 'carried');
    const dn = 'uid=carried,ou=People,dc=example,dc=com';
    // {SSHA} of 'carried-password' with the salt 'saltsalt', as a sync carries it from another server
    const preHashed =
      '{SSHA}' +
      Buffer.concat([
        (await import('node:crypto')).createHash('sha1').update('carried-password').update('saltsalt').digest(),
        Buffer.from('saltsalt'),
      ]).toString('base64');
    const write = (bind: Bind): Promise<number | undefined> =>
      withClient(e.url, bind, (c) =>
        c.modify(
          dn,
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userPassword', values: [preHashed] }),
          }),
        ),
      ).then(
        () => 0,
        (error: unknown) => (error as { code?: number }).code,
      );
    await withClient(e.url, admin(e), (c) =>
      c.add('cn=No Bypass,cn=Root DNs,cn=config', {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-user', 'ds-cfg-root-dn-user'],
        cn: 'No Bypass',
        sn: 'Bypass',
        userPassword: 'no-bypass-pw',
        'ds-cfg-inherit-default-root-privileges': 'false',
        'ds-privilege-name': ['bypass-acl', 'password-reset'],
      }),
    );
    assert.equal(
      await write({ dn: 'cn=No Bypass,cn=Root DNs,cn=config', password: 'no-bypass-pw' }),
      53,
      'without bypass-pw-policy a pre-encoded password is refused',
    );
    assert.equal(await write(sync), 0);
    assert.equal(await canBind(e.url, dn, 'carried-password'), true);
  });

  test('both roles: the union of the privileges, the default age 2 d left alone', async () => {
    const e = await start();
    const result = await prepare(e, '--isSource', '--isDestination');
    ok(result);
    const account = await syncAccount(e);
    assert.deepEqual(sorted(account?.['ds-privilege-name']), sorted([...new Set([...SOURCE, ...DESTINATION])]));
    const backend = await readEntry(e.url, admin(e), CHANGELOG_BACKEND, [
      'ds-cfg-enabled',
      'ds-cfg-changelog-maximum-age',
      'modifyTimestamp',
    ]);
    assert.deepEqual(backend?.['ds-cfg-enabled'], ['true']);
    assert.deepEqual(backend?.['ds-cfg-changelog-maximum-age'], ['2 d']);
    assert.match(result.stdout, /can read the change numbers \.+ Done/);
  });

  test('a second identical run writes nothing', async () => {
    const e = await start();
    ok(await prepare(e, '--isSource', '--isDestination', '--changelogMaximumAge', '8h'));
    const accountBefore = await syncAccount(e);
    const backendBefore = await readEntry(e.url, admin(e), CHANGELOG_BACKEND, ['*', 'modifyTimestamp']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const logFile = path.join(dir, 'run.log');
    await rm(logFile, { force: true });

    const again = await prepare(e, '--isSource', '--isDestination', '--changelogMaximumAge', '8h');
    ok(again);
    assert.match(again.stdout, /nothing to change/);
    assert.deepEqual(
      await syncAccount(e),
      accountBefore,
      'the sync user entry (modifyTimestamp included) is unchanged',
    );
    assert.deepEqual(await readEntry(e.url, admin(e), CHANGELOG_BACKEND, ['*', 'modifyTimestamp']), backendBefore);
    const writes = (await readFile(logFile, 'utf8')).split('\n').filter((line) => line.includes('"event":"write"'));
    assert.deepEqual(writes, []);
  });

  test('--inheritDefaultRootPrivileges: inherits the defaults and names only what they lack', async () => {
    const e = await start();
    ok(await prepare(e, '--isSource', '--isDestination', '--inheritDefaultRootPrivileges'));
    const account = await syncAccount(e);
    assert.deepEqual(account?.['ds-cfg-inherit-default-root-privileges'], ['true']);
    assert.deepEqual(sorted(account?.['ds-privilege-name']), ['bypass-pw-policy', 'bypass-read-acl']);
    // Inherited for real: the sync user may read the configuration (config-read) and change data (bypass-acl).
    assert.ok(await readEntry(e.url, sync, CHANGELOG_BACKEND, ['ds-cfg-enabled']));
    await addPerson(e, 'before.sync');
    await withClient(e.url, sync, (c) => c.del('uid=before.sync,ou=People,dc=example,dc=com'));
  });

  test('re-run on an existing account adds only the missing privileges and keeps the others', async () => {
    const e = await start();
    await addSyncAccount(e, false, ['config-read', 'jmx-read']);
    const result = await prepare(e, '--isSource');
    ok(result);
    assert.match(result.stdout, /added bypass-read-acl, unindexed-search/);
    const account = await syncAccount(e);
    assert.deepEqual(sorted(account?.['ds-privilege-name']), [
      'bypass-read-acl',
      'config-read',
      'jmx-read',
      'unindexed-search',
    ]);
    assert.deepEqual(account?.['ds-cfg-inherit-default-root-privileges'], ['false']);
  });

  test('a sync user whose privilege is taken away gets a warning naming it, and the value is not removed', async () => {
    const e = await start();
    await addSyncAccount(e, true, ['-bypass-acl', '-bypass-read-acl']);
    const result = await prepare(e, '--isSource');
    ok(result);
    const text = result.stdout + result.stderr;
    assert.match(text, /bypass-read-acl/);
    assert.match(text, /cannot read firstChangeNumber\/lastChangeNumber/);
    const log = await readFile(path.join(dir, 'run.log'), 'utf8');
    assert.ok(
      log.split('\n').some((line) => line.includes('"level":40') && line.includes('bypass-read-acl')),
      'warning in the log',
    );

    const account = await syncAccount(e);
    assert.ok(account?.['ds-privilege-name']?.includes('-bypass-read-acl'), "others' settings are left alone");
    const rootDse = await readEntry(e.url, sync, '', ['firstChangeNumber', 'lastChangeNumber']);
    assert.equal(rootDse?.firstchangenumber?.length ?? 0, 0, 'the emulator hides the change numbers from this account');
  });

  test('PingDirectoryProxy: the sync user is created on the proxy, no change log is touched, and backends are named', async () => {
    const e = await start(true);
    const result = await prepare(e, '--isSource');
    ok(result);
    const text = result.stdout + result.stderr;
    assert.match(text, /PingDirectoryProxy/);
    assert.match(text, /each backend/);
    const account = await syncAccount(e);
    assert.deepEqual(sorted(account?.['ds-privilege-name']), sorted(SOURCE));
    assert.equal(await readEntry(e.url, admin(e), CHANGELOG_BACKEND), undefined, 'the proxy has no changelog backend');
    const writes = (await readFile(path.join(dir, 'run.log'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"event":"write"') && line.includes('Backends'));
    assert.deepEqual(writes, []);
  });

  test('--serverType pingdirectoryproxy overrides detection', async () => {
    const e = await start();
    const result = await prepare(e, '--isSource', '--serverType', 'pingdirectoryproxy');
    ok(result);
    assert.match(result.stdout + result.stderr, /PingDirectoryProxy/);
    const backend = await readEntry(e.url, admin(e), CHANGELOG_BACKEND, ['ds-cfg-enabled']);
    assert.deepEqual(backend?.['ds-cfg-enabled'], ['false'], 'treated as a proxy: the change log is left alone');
  });

  test('password policy: the sync user gets a policy of its own under a locking, must-change Root Password Policy; it cannot touch it; --remove deletes it', async () => {
    const e = await start();
    const rootPolicy = 'cn=Root Password Policy,cn=Password Policies,cn=config';
    const own = 'cn=Sync User Password Policy (prepare-endpoint-server),cn=Password Policies,cn=config';
    const set = (attribute: string, values: string[]): Change =>
      new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values }) });
    await withClient(e.url, admin(e), async (c) => {
      await c.modify(rootPolicy, [
        set('ds-cfg-lockout-failure-count', ['3']),
        set('ds-cfg-force-change-on-add', ['true']),
      ]);
      // A root DN user the policy governs: proves the emulator locks and forces a change under it.
      await c.add('cn=Control,cn=Root DNs,cn=config', {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-user', 'ds-cfg-root-dn-user'],
        cn: 'Control',
        sn: 'Control',
        userPassword: 'control-1',
        'ds-privilege-name': ['config-read'],
      });
    });
    const control: Bind = { dn: 'cn=Control,cn=Root DNs,cn=config', password: 'control-1' };
    await assert.rejects(readEntry(e.url, control, 'cn=config', ['cn']), { code: 53 }, 'must change first');
    for (let i = 0; i < 3; i += 1) assert.equal(await canBind(e.url, control.dn, 'wrong'), false);
    assert.equal(await canBind(e.url, control.dn, control.password), false, 'the control account is locked');

    ok(await prepare(e, '--isDestination'));
    const account = await readEntry(e.url, admin(e), SYNC_DN, ['ds-pwp-password-policy-dn']);
    assert.deepEqual(account?.['ds-pwp-password-policy-dn'], [own]);
    const policy = await readEntry(e.url, admin(e), own, ['*']);
    assert.deepEqual(policy?.['ds-cfg-lockout-failure-count'], ['0']);
    assert.deepEqual(policy?.['ds-cfg-force-change-on-add'], ['false']);
    assert.equal(policy?.['ds-cfg-max-password-age'], undefined, 'no maximum age');
    assert.ok(await readEntry(e.url, sync, 'dc=example,dc=com', ['dc']), 'no forced change for the sync user');
    for (let i = 0; i < 5; i += 1) assert.equal(await canBind(e.url, SYNC_DN, 'wrong'), false);
    assert.equal(await canBind(e.url, SYNC_DN, SYNC_PASSWORD), true, 'five wrong binds do not lock it');

    // The destination sync user (no config-write) can neither weaken its policy nor point itself elsewhere.
    await assert.rejects(
      withClient(e.url, sync, (c) => c.modify(own, set('ds-cfg-lockout-failure-count', ['1']))),
      { code: 50 },
    );
    await assert.rejects(
      withClient(e.url, sync, (c) => c.modify(rootPolicy, set('ds-cfg-lockout-failure-count', ['0']))),
      { code: 50 },
    );
    await assert.rejects(
      withClient(e.url, sync, (c) => c.modify(SYNC_DN, set('ds-pwp-password-policy-dn', [rootPolicy]))),
      { code: 50 },
    );

    // Someone weakens the policy later: a re-run sets it back.
    await withClient(e.url, admin(e), (c) => c.modify(own, set('ds-cfg-lockout-failure-count', ['2'])));
    ok(await prepare(e, '--isDestination'));
    const back = await readEntry(e.url, admin(e), own, ['ds-cfg-lockout-failure-count']);
    assert.deepEqual(back?.['ds-cfg-lockout-failure-count'], ['0']);

    ok(await prepare(e, '--isDestination', '--remove'));
    assert.equal(await syncAccount(e), undefined);
    assert.equal(await readEntry(e.url, admin(e), own, ['cn']), undefined, 'the policy went with the account');
    assert.ok(await readEntry(e.url, admin(e), rootPolicy, ['cn']), "Ping's own policy stays");
  });

  test('password policy: an account an earlier version made, locked under the Root Password Policy, is converged by one run', async () => {
    const e = await start();
    const rootPolicy = 'cn=Root Password Policy,cn=Password Policies,cn=config';
    await withClient(e.url, admin(e), (c) =>
      c.modify(
        rootPolicy,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'ds-cfg-lockout-failure-count', values: ['3'] }),
        }),
      ),
    );
    await addSyncAccount(e, false, DESTINATION);
    for (let i = 0; i < 3; i += 1) assert.equal(await canBind(e.url, SYNC_DN, 'wrong'), false);
    assert.equal(await canBind(e.url, SYNC_DN, SYNC_PASSWORD), false, 'locked');
    const dry = await prepare(e, '--isDestination', '--dry-run');
    assert.match(dry.stderr, /The sync user cannot work as it is: the account is locked/, describeRunText(dry));
    const result = await prepare(e, '--isDestination');
    ok(result);
    assert.match(result.stdout, /access \.+ Denied \(the account is locked/, describeRunText(result));
    assert.equal(await canBind(e.url, SYNC_DN, SYNC_PASSWORD), true, describeRunText(result));
  });

  test('a wrong admin password exits 49 and a missing base DN exits 32, writing nothing', async () => {
    const e = await start();
    const wrong = await secretFile('wrong.pw', 'not-the-password');
    const denied = await runOn(e, 'dc=example,dc=com', wrong, ['--isDestination']);
    assert.equal(denied.code, 49, denied.stderr);
    const missing = await runOn(e, 'dc=nowhere,dc=com', path.join(dir, 'admin.pw'), ['--isDestination']);
    assert.equal(missing.code, 32, missing.stderr);
    assert.equal(await syncAccount(e), undefined);
  });
});

describe('the PingDirectory emulator itself', () => {
  async function code(promise: Promise<unknown>): Promise<number | undefined> {
    try {
      await promise;
      return 0;
    } catch (error) {
      return (error as { code?: number }).code;
    }
  }

  test('root DSE: Ping vendor, naming contexts, no change numbers while the changelog backend is disabled', async () => {
    const e = await start();
    const rootDse = await readEntry(e.url, undefined, '', [
      'vendorName',
      'vendorVersion',
      'namingContexts',
      'firstChangeNumber',
    ]);
    assert.deepEqual(rootDse?.vendorname, ['Ping Identity Corporation']);
    assert.match(rootDse?.vendorversion?.[0] ?? '', /^Ping Identity Directory Server .*emulator/);
    assert.deepEqual(rootDse?.namingcontexts, ['dc=example,dc=com']);
    const asAdmin = await readEntry(e.url, admin(e), '', ['firstChangeNumber', 'lastChangeNumber']);
    assert.equal(asAdmin?.firstchangenumber?.length ?? 0, 0);
  });

  test('binds by entry DN and by alternate bind DN; result codes 49, 50, 32, 68, 53', async () => {
    const e = await start();
    assert.equal(await canBind(e.url, 'cn=Directory Manager,cn=Root DNs,cn=config', e.adminPassword), true);
    assert.equal(await canBind(e.url, 'cn=Directory Manager', e.adminPassword), true);
    assert.equal(await canBind(e.url, 'cn=Directory Manager', 'nope'), false);
    assert.equal(await canBind(e.url, 'cn=Nobody,cn=Root DNs,cn=config', 'x'), false);

    assert.equal(await code(readEntry(e.url, undefined, 'cn=config', ['cn'])), 50, 'cn=config needs config-read');
    assert.equal(
      await code(
        withClient(e.url, admin(e), (c) =>
          c.add('uid=x,ou=Nowhere,dc=example,dc=com', { objectClass: 'top', uid: 'x' }),
        ),
      ),
      32,
    );
    assert.equal(
      await code(
        withClient(e.url, admin(e), (c) =>
          c.add('ou=People,dc=example,dc=com', { objectClass: 'organizationalUnit', ou: 'People' }),
        ),
      ),
      68,
    );
    assert.equal(await code(withClient(e.url, admin(e), (c) => c.del('changeNumber=1,cn=changelog'))), 53);
    assert.equal(
      await code(
        withClient(e.url, admin(e), (c) =>
          c.modify(
            CHANGELOG_BACKEND,
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'ds-cfg-changelog-maximum-age', values: ['soon'] }),
            }),
          ),
        ),
      ),
      53,
      'the configuration rejects a value it cannot read',
    );
  });

  test('privileges: computed from inherit and ds-privilege-name with -name removals; config writes need config-write', async () => {
    const e = await start();
    await withClient(e.url, admin(e), (c) =>
      c.add('cn=Reader,cn=Root DNs,cn=config', {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-user', 'ds-cfg-root-dn-user'],
        cn: 'Reader',
        sn: 'Reader',
        userPassword: 'reader-pw',
        'ds-cfg-alternate-bind-dn': 'cn=reader',
        'ds-cfg-inherit-default-root-privileges': 'true',
        'ds-privilege-name': ['-config-write', 'bypass-read-acl'],
      }),
    );
    const reader: Bind = { dn: 'cn=reader', password: 'reader-pw' };
    assert.ok(await readEntry(e.url, reader, CHANGELOG_BACKEND, ['ds-cfg-enabled']), 'config-read inherited');
    assert.equal(
      await code(
        withClient(e.url, reader, (c) =>
          c.modify(
            CHANGELOG_BACKEND,
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'ds-cfg-enabled', values: ['true'] }),
            }),
          ),
        ),
      ),
      50,
      '-config-write removes the inherited privilege',
    );
    const people = await searchDns(e.url, reader, 'dc=example,dc=com', '(objectClass=organizationalUnit)');
    assert.deepEqual(
      people.map((dn) => dn.toLowerCase()),
      ['ou=people,dc=example,dc=com'],
    );
  });

  test('changelog: modifies and deletes are numbered while enabled, and only bypass-(read-)acl holders see them', async () => {
    const e = await start();
    await addPerson(e, 'not.logged');
    await withClient(e.url, admin(e), (c) =>
      c.modify(
        CHANGELOG_BACKEND,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'ds-cfg-enabled', values: ['true'] }) }),
      ),
    );
    await withClient(e.url, admin(e), async (c: Client) => {
      await c.modify(
        'uid=not.logged,ou=People,dc=example,dc=com',
        new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['changed'] }) }),
      );
      await c.del('uid=not.logged,ou=People,dc=example,dc=com');
    });
    const changes = await searchDns(e.url, admin(e), 'cn=changelog', '(changeType=*)');
    assert.deepEqual(changes.sort(), ['changeNumber=1,cn=changelog', 'changeNumber=2,cn=changelog']);
    const types = await withClient(e.url, admin(e), async (c) =>
      (
        await c.search('cn=changelog', {
          scope: 'one',
          filter: '(objectClass=changeLogEntry)',
          attributes: ['changeType'],
        })
      ).searchEntries
        .map((entry) => String(entry.changeType))
        .sort(),
    );
    assert.deepEqual(types, ['delete', 'modify']);
    assert.deepEqual(
      await searchDns(e.url, undefined, 'cn=changelog', '(objectClass=*)'),
      [],
      'anonymous sees no change',
    );
  });
});
