// The built CLI against the PingDS/OpenDJ EMULATOR (test/emulators/opendj, not the real product). Every effect is
// checked over LDAP on the emulator: as the admin, and as the sync user (binds, the changelog, the attacks).
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { canBind, readEntry, resultCode, searchDns, withClient, type Bind } from '../helpers/directory.js';
import { startOpenDjEmulator, type OpenDjEmulator, type OpenDjEmulatorOptions } from '../servers/opendj.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const SYNC_PASSWORD = 'sync-secret-1';
const HANDLER = 'cn=Access Control Handler,cn=config';
const REPLICATION_SERVER =
  'cn=replication server,cn=Multimaster Synchronization,cn=Synchronization Providers,cn=config';
const DOMAIN =
  'cn=dc=example\\,dc=com,cn=domains,cn=Multimaster Synchronization,cn=Synchronization Providers,cn=config';

let dir = '';
let emulator: OpenDjEmulator | undefined;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pes-opendj-it-'));
  for (const [name, content] of [
    ['admin.pw', 'adminpw'],
    ['sync.pw', SYNC_PASSWORD],
    ['data-admin.pw', 'data-admin-pw'],
  ] as const) {
    await writeFile(path.join(dir, name), `${content}\n`);
    await chmod(path.join(dir, name), 0o600);
  }
});
after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function start(options: OpenDjEmulatorOptions = {}): Promise<OpenDjEmulator> {
  emulator = await startOpenDjEmulator(options);
  return emulator;
}

const admin = (e: OpenDjEmulator): Bind => ({ dn: e.adminDn, password: e.adminPassword });
const sync: Bind = { dn: SYNC_DN, password: SYNC_PASSWORD };

function prepare(e: OpenDjEmulator, ...extra: string[]): Promise<RunCliResult> {
  const adminArgs = extra.includes('--data-admin')
    ? ['-D', e.dataAdmin.dn, '-j', path.join(dir, 'data-admin.pw')]
    : ['-D', 'cn=Directory Manager', '-j', path.join(dir, 'admin.pw')];
  return runCli([
    '--hostname',
    '127.0.0.1',
    '--port',
    String(e.port),
    '--syncServerBindPasswordFile',
    path.join(dir, 'sync.pw'),
    '--baseDN',
    BASE,
    ...adminArgs,
    '--no-prompt',
    '--logFile',
    path.join(dir, 'run.log'),
    ...extra.filter((arg) => arg !== '--data-admin'),
  ]);
}

function ok(result: RunCliResult): void {
  assert.equal(result.code, 0, `exit ${String(result.code)}\n${result.stdout}\n${result.stderr}`);
}

/** Everything the tool may write, as the admin sees it: to prove a run wrote nothing, or exactly what. */
async function configState(e: OpenDjEmulator): Promise<string> {
  const parts = await Promise.all([
    readEntry(e.url, admin(e), HANDLER, ['ds-cfg-global-aci']),
    readEntry(e.url, admin(e), REPLICATION_SERVER, ['*']),
    readEntry(e.url, admin(e), DOMAIN, ['*']),
    readEntry(e.url, admin(e), BASE, ['aci', 'modifyTimestamp']),
    readEntry(e.url, admin(e), SYNC_DN, ['*', '+']),
  ]);
  return JSON.stringify(parts);
}

async function expectRefused(what: string, code: number, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assert.equal(resultCode(error), code, `${what}: ${String(error)}`);
    return;
  }
  assert.fail(`${what} was allowed`);
}

describe('PingDS emulator: source and destination', () => {
  test('password policy: a per-server policy of its own under a locking Default Password Policy; the destination user cannot repoint or weaken it; --remove deletes it', async () => {
    const e = await start();
    const defaultPolicy = 'cn=Default Password Policy,cn=Password Policies,cn=config';
    const own = 'cn=Sync User Password Policy (prepare-endpoint-server),cn=Password Policies,cn=config';
    const set = (attribute: string, values: string[]): Change =>
      new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values }) });
    await withClient(e.url, admin(e), async (c) => {
      await c.modify(defaultPolicy, set('ds-cfg-lockout-failure-count', ['3']));
      await c.add(`uid=control,${BASE}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'control',
        cn: 'Control',
        sn: 'Control',
        userPassword: 'control-1',
      });
    });
    for (let i = 0; i < 3; i += 1) assert.equal(await canBind(e.url, `uid=control,${BASE}`, 'wrong'), false);
    assert.equal(await canBind(e.url, `uid=control,${BASE}`, 'control-1'), false, 'the emulator locks under it');

    ok(await prepare(e, '--isDestination'));
    const account = await readEntry(e.url, admin(e), SYNC_DN, ['ds-pwp-password-policy-dn']);
    assert.deepEqual(account?.['ds-pwp-password-policy-dn'], [own]);
    const policy = await readEntry(e.url, admin(e), own, ['*']);
    assert.deepEqual(policy?.['ds-cfg-lockout-failure-count'], ['0']);
    assert.deepEqual(policy?.['ds-cfg-java-class'], ['org.opends.server.core.PasswordPolicyFactory']);
    for (let i = 0; i < 5; i += 1) assert.equal(await canBind(e.url, SYNC_DN, 'wrong'), false);
    assert.equal(await canBind(e.url, SYNC_DN, SYNC_PASSWORD), true, 'five wrong binds do not lock it');

    await expectRefused('repointing its own policy', 50, () =>
      withClient(e.url, sync, (c) => c.modify(SYNC_DN, set('ds-pwp-password-policy-dn', [defaultPolicy]))),
    );
    await expectRefused('repointing another account', 50, () =>
      withClient(e.url, sync, (c) => c.modify(`uid=control,${BASE}`, set('ds-pwp-password-policy-dn', [own]))),
    );
    await expectRefused('weakening its policy', 50, () =>
      withClient(e.url, sync, (c) => c.modify(own, set('ds-cfg-lockout-failure-count', ['1']))),
    );
    await expectRefused('weakening the default policy', 50, () =>
      withClient(e.url, sync, (c) => c.modify(defaultPolicy, set('ds-cfg-lockout-failure-count', ['0']))),
    );

    ok(await prepare(e, '--isDestination', '--remove'));
    assert.equal(await readEntry(e.url, admin(e), SYNC_DN, ['cn']), undefined);
    assert.equal(await readEntry(e.url, admin(e), own, ['cn']), undefined, 'the policy went with the account');
  });

  test('prepares both roles; the sync user reads change numbers and cn=changelog, and a delete records objectClass', async () => {
    const e = await start();
    const result = await prepare(
      e,
      '--isSource',
      '--isDestination',
      '--changelogDeletedEntryAttribute',
      'employeeNumber',
    );
    ok(result);
    assert.match(result.stdout, /can read 'cn=changelog' \.+ Done/);

    const account = await readEntry(e.url, admin(e), SYNC_DN, [
      'ds-privilege-name',
      'ds-rlim-size-limit',
      'ds-rlim-time-limit',
      'ds-rlim-lookthrough-limit',
      'ds-rlim-idle-time-limit',
    ]);
    assert.deepEqual(account?.['ds-privilege-name']?.sort(), ['changelog-read', 'password-reset', 'unindexed-search']);
    for (const name of [
      'ds-rlim-size-limit',
      'ds-rlim-time-limit',
      'ds-rlim-lookthrough-limit',
      'ds-rlim-idle-time-limit',
    ])
      assert.deepEqual(account?.[name], ['0']);
    const global = (await readEntry(e.url, admin(e), HANDLER, ['ds-cfg-global-aci']))?.['ds-cfg-global-aci'] ?? [];
    assert.equal(global.filter((aci) => aci.includes('prepare-endpoint-server: ') && aci.includes(SYNC_DN)).length, 3);
    const server = await readEntry(e.url, admin(e), REPLICATION_SERVER, [
      'ds-cfg-changelog-enabled',
      'ds-cfg-replication-purge-delay',
    ]);
    assert.deepEqual(
      [server?.['ds-cfg-changelog-enabled'], server?.['ds-cfg-replication-purge-delay']],
      [['enabled'], ['3 d']],
    );
    assert.deepEqual(
      (await readEntry(e.url, admin(e), DOMAIN, ['ds-cfg-ecl-include-for-deletes']))?.[
        'ds-cfg-ecl-include-for-deletes'
      ],
      ['objectClass', 'employeeNumber'],
    );

    // As the sync user: the root DSE numbers, a write as a destination, then the delete's record in cn=changelog.
    const person = `uid=jdoe,ou=People,${BASE}`;
    await withClient(e.url, sync, async (c) => {
      await c.add(person, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'jdoe',
        cn: 'J Doe',
        sn: 'Doe',
        employeeNumber: '42',
      });
      await c.modify(
        person,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userPassword', values: ['new-secret-9'] }),
        }),
      );
      await c.del(person);
      const rootDse = (
        await c.search('', {
          scope: 'base',
          attributes: ['firstChangeNumber', 'lastChangeNumber', 'lastExternalChangeLogCookie'],
        })
      ).searchEntries[0];
      assert.ok(Number(rootDse?.['lastChangeNumber']) >= 3, JSON.stringify(rootDse));
      const records = (
        await c.search('cn=changelog', { scope: 'one', filter: '(changeType=delete)', attributes: ['*', '+'] })
      ).searchEntries;
      const deleted = records.find((r) => String(r['targetDN']) === person);
      assert.ok(deleted !== undefined, JSON.stringify(records));
      assert.match(String(deleted['includedAttributes']), /objectClass: inetOrgPerson/);
      assert.match(String(deleted['includedAttributes']), /employeeNumber: 42/);
    });

    // A re-run writes nothing: every step unchanged (the pre-encoded password note stays a warning) and no timestamp moves.
    const before = await configState(e);
    const again = await prepare(
      e,
      '--isSource',
      '--isDestination',
      '--changelogDeletedEntryAttribute',
      'employeeNumber',
      '--json',
    );
    ok(again);
    const json = JSON.parse(again.stdout) as {
      changed: boolean;
      verified: boolean;
      steps: { id: string; status: string }[];
      changeNumbers: { last: string };
    };
    assert.equal(json.changed, false);
    assert.equal(json.verified, true);
    assert.deepEqual(
      json.steps.filter((s) => s.status !== 'unchanged').map((s) => s.id),
      ['pre-encoded-passwords'],
    );
    assert.equal(await configState(e), before);
  });

  test('the sync user can never change access control or the configuration (the attack, on the emulator)', async () => {
    const e = await start();
    ok(await prepare(e, '--isSource', '--isDestination'));
    const aci = `(targetattr="*")(version 3.0; acl "attack"; allow (all) userdn="ldap:///${SYNC_DN}";)`;
    await withClient(e.url, sync, async (c) => {
      await expectRefused('an aci on the base', 50, () =>
        c.modify(BASE, new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [aci] }) })),
      );
      await expectRefused('an entry carrying an aci', 50, () =>
        c.add(`ou=Evil,${BASE}`, { objectClass: ['top', 'organizationalUnit'], ou: 'Evil', aci }),
      );
      await expectRefused('a global ACI', 50, () =>
        c.modify(
          HANDLER,
          new Change({ operation: 'add', modification: new Attribute({ type: 'ds-cfg-global-aci', values: [aci] }) }),
        ),
      );
      await expectRefused('a cn=config change', 50, () =>
        c.modify(
          REPLICATION_SERVER,
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'ds-cfg-replication-purge-delay', values: ['1 s'] }),
          }),
        ),
      );
      await expectRefused('a privilege for itself', 50, () =>
        c.modify(
          SYNC_DN,
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'ds-privilege-name', values: ['modify-acl'] }),
          }),
        ),
      );
      await expectRefused('an aci on its own entry', 50, () =>
        c.modify(
          SYNC_DN,
          new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [aci] }) }),
        ),
      );
    });
    // The emulator enforces what it claims: the admin may do the same.
    await withClient(e.url, admin(e), (c) =>
      c.modify(
        BASE,
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'aci', values: [aci.replace(SYNC_DN, 'cn=Nobody')] }),
        }),
      ),
    );
    const acis = (await readEntry(e.url, admin(e), BASE, ['aci']))?.['aci'] ?? [];
    assert.equal(acis.filter((value) => value.includes('"attack"') && value.includes(SYNC_DN)).length, 0);
  });

  test('--dry-run writes nothing; --remove takes back exactly what was added and deletes the account; the changelog stays on', async () => {
    const e = await start();
    const untouched = await configState(e);
    const dry = await prepare(e, '--isSource', '--isDestination', '--dry-run');
    ok(dry);
    assert.match(dry.stdout, /ds-cfg-global-aci/);
    assert.equal(await configState(e), untouched);

    ok(await prepare(e, '--isSource', '--isDestination'));
    const removed = await prepare(e, '--remove', '--disableChangelog');
    ok(removed);
    assert.match(removed.stderr, /changelog-enabled:enabled-cookie-mode-only/);
    assert.equal(await readEntry(e.url, admin(e), SYNC_DN), undefined);
    assert.equal(await canBind(e.url, SYNC_DN, SYNC_PASSWORD), false);
    const global = (await readEntry(e.url, admin(e), HANDLER, ['ds-cfg-global-aci']))?.['ds-cfg-global-aci'] ?? [];
    assert.equal(
      global.some((aci) => aci.includes('prepare-endpoint-server')),
      false,
    );
    assert.equal(global.length, 3);
    assert.deepEqual((await readEntry(e.url, admin(e), BASE, ['aci']))?.['aci'] ?? [], []);
    assert.deepEqual(
      (await readEntry(e.url, admin(e), REPLICATION_SERVER, ['ds-cfg-changelog-enabled']))?.[
        'ds-cfg-changelog-enabled'
      ],
      ['enabled'],
    );
    // Idempotent.
    const second = await prepare(e, '--remove', '--json');
    ok(second);
    assert.equal((JSON.parse(second.stdout) as { changed: boolean }).changed, false);
  });

  test('a retention someone set is kept unless asked; an explicit age replaces it and names the other replication servers', async () => {
    const e = await start({ changelogMode: 'enabled' });
    await withClient(e.url, admin(e), (c) =>
      c.modify(
        REPLICATION_SERVER,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'ds-cfg-replication-purge-delay', values: ['10 d'] }),
        }),
      ),
    );
    ok(await prepare(e, '--isSource'));
    assert.deepEqual(
      (await readEntry(e.url, admin(e), REPLICATION_SERVER, ['ds-cfg-replication-purge-delay']))?.[
        'ds-cfg-replication-purge-delay'
      ],
      ['10 d'],
    );
    const shorter = await prepare(e, '--isSource', '--changelogMaximumAge', '2d');
    ok(shorter);
    assert.match(shorter.stderr, /shortens the change log retention/);
    assert.match(shorter.stderr, /every replication server of the topology/);
    assert.deepEqual(
      (await readEntry(e.url, admin(e), REPLICATION_SERVER, ['ds-cfg-replication-purge-delay']))?.[
        'ds-cfg-replication-purge-delay'
      ],
      ['2 d'],
    );
  });
});

describe('failures, each with its exit code and nothing written', () => {
  test('a source that is not a replication server: exit 53, untouched; a destination still works there', async () => {
    const e = await start({ standalone: true });
    const before = await configState(e);
    const result = await prepare(e, '--isSource');
    assert.equal(result.code, 53, result.stderr);
    assert.match(result.stderr, /not a replication server/);
    assert.match(result.stderr, /create-replication-server/);
    assert.equal(await configState(e), before);
    assert.deepEqual(await searchDns(e.url, admin(e), BASE, '(cn=Sync User)'), []);
    ok(await prepare(e, '--isDestination'));
  });

  test('an admin without rights on cn=config: exit 50, untouched', async () => {
    const e = await start();
    const before = await configState(e);
    const result = await prepare(e, '--isSource', '--data-admin');
    assert.equal(result.code, 50, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, /may not search 'cn=/);
    assert.equal(await configState(e), before);
  });

  test('--json on a failure: one object with the exit code and the message', async () => {
    const e = await start({ standalone: true });
    const result = await prepare(e, '--isSource', '--json');
    assert.equal(result.code, 53);
    const json = JSON.parse(result.stdout) as {
      exitCode: number;
      server: { type: string };
      error: { message: string };
    };
    assert.equal(json.exitCode, 53);
    assert.equal(json.server.type, 'pingds');
    assert.match(json.error.message, /not a replication server/);
  });
});

describe('OpenDJ emulator flavour', () => {
  test('detected as OpenDJ; ecl-include goes on the external changelog domain; change numbers are already computed', async () => {
    const e = await start({ flavor: 'opendj' });
    const result = await prepare(e, '--isSource');
    ok(result);
    assert.match(result.stdout, /Server type: OpenDJ/);
    assert.deepEqual(
      (await readEntry(e.url, admin(e), `cn=external changelog,${DOMAIN}`, ['ds-cfg-ecl-include']))?.[
        'ds-cfg-ecl-include'
      ],
      ['objectClass'],
    );
    assert.deepEqual(
      (await readEntry(e.url, admin(e), REPLICATION_SERVER, ['ds-cfg-compute-change-number']))?.[
        'ds-cfg-compute-change-number'
      ],
      ['true'],
    );
    const rootDse = await readEntry(e.url, sync, '', ['firstChangeNumber', 'lastChangeNumber']);
    assert.ok(rootDse?.['lastchangenumber'] !== undefined, JSON.stringify(rootDse));
  });
});
