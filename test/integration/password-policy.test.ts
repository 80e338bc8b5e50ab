// The sync account against production-style password policies (issue 22), judged as the sync user on the
// servers themselves: 389 DS with a global policy (must change, 1-day maximum age, lockout after 3 failures) and
// OpenLDAP's ppolicy overlay with such a default policy. The account binds with no policy control saying
// anything, reads and writes what its role needs, survives wrong passwords and a shortened maximum age, a reset
// of a locked account leaves it working, the destination user cannot change any password policy, and an account
// made by the version before this change is converged by one run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change, type Client } from 'ldapts';
import { runCli } from '../helpers/cli.js';
import { canBind, readEntry, resultCode, withClient, type Bind } from '../helpers/directory.js';
import { connectionArgs, describeRun, makeTempDir, secretFile } from '../helpers/fixture.js';
import { buildPreviousVersion, previousVersionSkipReason, type PreviousVersion } from '../helpers/previous-version.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';

const execFileP = promisify(execFile);
const BASE = 'dc=example,dc=com';
const PEOPLE = `ou=People,${BASE}`;
const SYNC_PASSWORD = 'Sync-policy-pass-1';
const NEW_PASSWORD = 'Sync-policy-pass-2';
/** main before this change: its accounts got the global policy (must change, expiry, lockout). */
const BEFORE_THIS_CHANGE = 'fd474c85f27cc48e1cbb2f7896c59282d35a0369';

const tmp = makeTempDir('pes-password-policy-');
const syncPasswordFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
const newPasswordFile = secretFile(tmp, 'new.pw', NEW_PASSWORD);
const logFile = path.join(tmp, 'run.log');

/** main before this change, built once for the file (389 DS and OpenLDAP both converge an account it made). */
let previousBuild: Promise<PreviousVersion> | undefined;
function previousVersion(): Promise<PreviousVersion> {
  previousBuild ??= buildPreviousVersion(BEFORE_THIS_CHANGE);
  return previousBuild;
}
after(async () => {
  if (previousBuild !== undefined) (await previousBuild).remove();
});

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

/** What `ldapwhoami -e ppolicy` prints about the password policy at the bind (expiry, grace, must change). */
async function policyWordsAtBind(url: string, bind: Bind): Promise<string> {
  const { stdout, stderr } = await execFileP('ldapwhoami', [
    '-x',
    '-H',
    url,
    '-D',
    bind.dn,
    '-w',
    bind.password,
    '-e',
    'ppolicy',
  ]).catch((error: { stdout?: string; stderr?: string }) => ({
    stdout: error.stdout ?? '',
    stderr: error.stderr ?? '',
  }));
  return `${stdout}\n${stderr}`;
}

async function wrongBinds(url: string, dn: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) assert.equal(await canBind(url, dn, `wrong-${i}`), false);
}

/** As the sync user: a base search, and an entry added and deleted under the people container. */
async function worksAsDestination(url: string, sync: Bind, label: string): Promise<void> {
  const dn = `cn=probe ${label},${PEOPLE}`;
  assert.equal(
    await outcome(url, sync, async (c) => {
      await c.search(BASE, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
      await c.add(dn, { objectClass: ['top', 'organizationalRole'], cn: `probe ${label}` });
      await c.del(dn);
    }),
    0,
    `${label}: the sync user searches, adds and deletes`,
  );
}

function replace(attribute: string, ...values: string[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values }) });
}

describe('389 DS with a global password policy', () => {
  let ds: Ds389;
  const syncDn = `cn=Sync User,${PEOPLE}`;
  const sync: Bind = { dn: syncDn, password: SYNC_PASSWORD };
  const admin = (): Bind => ({ dn: ds.adminDn, password: ds.adminPassword });
  const args = (extra: string[], dn = syncDn, passwordFile = syncPasswordFile): string[] =>
    connectionArgs(
      {
        host: '127.0.0.1',
        port: ds.port,
        bindDn: ds.adminDn,
        adminPasswordFile: secretFile(tmp, 'ds-admin.pw', ds.adminPassword),
        syncPasswordFile: passwordFile,
        logFile,
      },
      ['-b', BASE, '--syncServerBindDN', dn, ...extra],
    );

  before(async () => {
    ds = await startDs389({ dynamicPlugins: true });
    await withClient(ds.url, admin(), (c) =>
      c.modify('cn=config', [
        replace('passwordMustChange', 'on'),
        replace('passwordExp', 'on'),
        replace('passwordMaxAge', '86400'),
        replace('passwordLockout', 'on'),
        replace('passwordMaxFailure', '3'),
        replace('passwordLockoutDuration', '3600'),
      ]),
    );
  });

  after(async () => {
    await ds?.stop();
  });

  test('source and destination: the account binds with no policy control, reads the change log and writes', async () => {
    const r = await runCli(args(['--isSource', '--isDestination', '--json']));
    assert.equal(r.code, 0, describeRun(r));
    const result = JSON.parse(r.stdout) as { verified: boolean; steps: { id: string; status: string }[] };
    assert.equal(result.verified, true, describeRun(r));
    assert.match(r.stderr, /nsslapd-pwpolicy-local is 'off' in cn=config: this run turns it on/, 'the switch is said');
    const account = await readEntry(ds.url, admin(), syncDn, ['pwdpolicysubentry', 'passwordExpirationTime']);
    assert.equal(account?.passwordexpirationtime?.[0], '20380119031407Z');
    assert.match(account?.pwdpolicysubentry?.[0] ?? '', /nsPwPolicyEntry_user.*cn=nsPwPolicyContainer,ou=People/i);
    assert.doesNotMatch(await policyWordsAtBind(ds.url, sync), /must be changed|expire|grace|locked/i);
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.search('cn=changelog', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }),
      ),
      0,
      'the sync user reads the change log',
    );
    await worksAsDestination(ds.url, sync, 'first');
  });

  test('five wrong binds, then the right password still binds; a shortened maximum age does not expire it', async () => {
    await wrongBinds(ds.url, syncDn, 5);
    assert.equal(await canBind(ds.url, syncDn, SYNC_PASSWORD), true);
    await withClient(ds.url, admin(), (c) => c.modify('cn=config', [replace('passwordMaxAge', '1')]));
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.doesNotMatch(await policyWordsAtBind(ds.url, sync), /must be changed|expire|grace|locked/i);
    await worksAsDestination(ds.url, sync, 'after max age');
    await withClient(ds.url, admin(), (c) => c.modify('cn=config', [replace('passwordMaxAge', '86400')]));
  });

  test('the destination sync user cannot change a password policy, its CoS, or any pwdpolicysubentry', async () => {
    const policyDn = (await readEntry(ds.url, admin(), syncDn, ['pwdpolicysubentry']))?.pwdpolicysubentry?.[0] ?? '';
    assert.equal(await outcome(ds.url, sync, (c) => c.modify(policyDn, [replace('passwordLockout', 'on')])), 50);
    assert.equal(await outcome(ds.url, sync, (c) => c.del(policyDn)), 50);
    await withClient(ds.url, admin(), (c) =>
      c.add(`uid=victim,${PEOPLE}`, { objectClass: ['top', 'inetOrgPerson'], uid: 'victim', cn: 'v', sn: 'v' }),
    );
    assert.equal(
      await outcome(ds.url, sync, (c) => c.modify(`uid=victim,${PEOPLE}`, [replace('pwdpolicysubentry', policyDn)])),
      50,
    );
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.add(`cn=weaker,${PEOPLE}`, {
          objectClass: ['top', 'ldapsubentry', 'cosSuperDefinition', 'cosPointerDefinition'],
          cn: 'weaker',
          cosTemplateDn: `cn=t,${PEOPLE}`,
          cosAttribute: 'pwdpolicysubentry default operational-default',
        }),
      ),
      50,
    );
    assert.equal(
      await outcome(ds.url, sync, (c) => c.modify(`uid=victim,${PEOPLE}`, [replace('description', 'ok')])),
      0,
    );
  });

  test('--resetSyncServerBindPassword on a locked account: admin first, the lock cleared, no must-change', async () => {
    const dn = `cn=Locked Sync,${PEOPLE}`;
    assert.equal((await runCli(args(['--isDestination'], dn))).code, 0);
    // The lockout is the global policy's: taken back into the account's reach to lock it, as an older version left it.
    await withClient(ds.url, admin(), (c) => c.modify(dn, [replace('pwdpolicysubentry')]));
    await wrongBinds(ds.url, dn, 3);
    assert.equal(await outcome(ds.url, { dn, password: SYNC_PASSWORD }, async () => undefined), 19, 'locked');
    const r = await runCli(args(['--isDestination', '--resetSyncServerBindPassword'], dn, newPasswordFile));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(
      r.stdout,
      /Testing 'cn=Locked Sync,ou=People,dc=example,dc=com' access \.+ Denied \(the account is locked/,
    );
    const account = await readEntry(ds.url, admin(), dn, ['accountUnlockTime', 'passwordExpirationTime']);
    assert.deepEqual(account?.accountunlocktime ?? [], [], 'the lock is cleared');
    assert.equal(account?.passwordexpirationtime?.[0], '20380119031407Z');
    await worksAsDestination(ds.url, { dn, password: NEW_PASSWORD }, 'after reset');
  });

  test('an account made by the version before this change (must change, then locked) is converged by one run', async (t) => {
    const skip = await previousVersionSkipReason(BEFORE_THIS_CHANGE);
    if (skip !== undefined) {
      t.skip(skip);
      return;
    }
    const previous = await previousVersion();
    const dn = `cn=Old Sync,${PEOPLE}`;
    const old = await runCli(args(['--isDestination'], dn), { cli: previous.cli });
    assert.equal(old.code, 0, describeRun(old));
    assert.equal(
      (await readEntry(ds.url, admin(), dn, ['passwordExpirationTime']))?.passwordexpirationtime?.[0],
      '19700101000000Z',
    );
    await wrongBinds(ds.url, dn, 3);
    const dry = await runCli(args(['--isDestination', '--dry-run'], dn));
    assert.match(dry.stderr, /The sync user cannot work as it is: the account is locked/, describeRun(dry));
    const r = await runCli(args(['--isDestination', '--json'], dn));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal((JSON.parse(r.stdout) as { verified: boolean }).verified, true, describeRun(r));
    assert.doesNotMatch(
      await policyWordsAtBind(ds.url, { dn, password: SYNC_PASSWORD }),
      /must be changed|expire|locked/i,
    );
    await worksAsDestination(ds.url, { dn, password: SYNC_PASSWORD }, 'converged');
  });
  test('--remove deletes the account and its own policy', async () => {
    const policyDn = (await readEntry(ds.url, admin(), syncDn, ['pwdpolicysubentry']))?.pwdpolicysubentry?.[0] ?? '';
    assert.notEqual(await readEntry(ds.url, admin(), policyDn), undefined);
    const r = await runCli(args(['--remove']));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readEntry(ds.url, admin(), syncDn), undefined);
    assert.equal(await readEntry(ds.url, admin(), policyDn), undefined, 'its policy is gone too');
  });
});

describe('OpenLDAP with the ppolicy overlay and a default policy', () => {
  let slapd: Slapd;
  const syncDn = `cn=Sync User,${PEOPLE}`;
  const sync: Bind = { dn: syncDn, password: SYNC_PASSWORD };
  const policiesDn = `ou=policies,${BASE}`;
  const defaultPolicy = `cn=default,${policiesDn}`;
  const specialDn = `ou=special,${BASE}`;
  const admin = (): Bind => ({ dn: slapd.adminDn, password: slapd.adminPassword });
  const args = (extra: string[], dn = syncDn, passwordFile = syncPasswordFile): string[] =>
    connectionArgs(
      {
        host: '127.0.0.1',
        port: slapd.port,
        bindDn: slapd.adminDn,
        adminPasswordFile: secretFile(tmp, 'slapd-admin.pw', slapd.adminPassword),
        syncPasswordFile: passwordFile,
        logFile,
      },
      ['-b', BASE, '--syncServerBindDN', dn, ...extra],
    );

  before(async () => {
    slapd = await startSlapd();
    await withClient(slapd.url, admin(), async (c) => {
      await c.modify('cn=module{0},cn=config', [
        new Change({ operation: 'add', modification: new Attribute({ type: 'olcModuleLoad', values: ['ppolicy'] }) }),
      ]);
      await c.add('olcOverlay=ppolicy,olcDatabase={1}mdb,cn=config', {
        objectClass: ['olcOverlayConfig', 'olcPPolicyConfig'],
        olcOverlay: 'ppolicy',
        olcPPolicyDefault: defaultPolicy,
      });
      await c.add(policiesDn, { objectClass: ['organizationalUnit'], ou: 'policies' });
      await c.add(defaultPolicy, {
        objectClass: ['device', 'pwdPolicy'],
        cn: 'default',
        pwdAttribute: 'userPassword',
        pwdMaxAge: '86400',
        pwdMustChange: 'TRUE',
        pwdLockout: 'TRUE',
        pwdMaxFailure: '3',
      });
      // A policy accounts name by pwdPolicySubentry, in a container of its own.
      await c.add(specialDn, { objectClass: ['organizationalUnit'], ou: 'special' });
      await c.add(`cn=strict,${specialDn}`, {
        objectClass: ['device', 'pwdPolicy'],
        cn: 'strict',
        pwdAttribute: 'userPassword',
        pwdLockout: 'TRUE',
        pwdMaxFailure: '2',
      });
    });
  });

  after(async () => {
    await slapd?.stop();
  });

  test('source and destination: no policy control at the bind, the account reads and writes', async () => {
    const r = await runCli(
      args(['--isSource', '--isDestination', '--accesslogDirectory', slapd.accesslogDirectory, '--json']),
    );
    assert.equal(r.code, 0, describeRun(r));
    assert.equal((JSON.parse(r.stdout) as { verified: boolean }).verified, true, describeRun(r));
    const account = await readEntry(slapd.url, admin(), syncDn, ['pwdPolicySubentry']);
    assert.match(account?.pwdpolicysubentry?.[0] ?? '', /^cn=prepare-endpoint-server sync account policy,ou=People/i);
    assert.doesNotMatch(await policyWordsAtBind(slapd.url, sync), /must be changed|expire|grace|locked/i);
    await worksAsDestination(slapd.url, sync, 'first');
  });

  test('five wrong binds, then the right password binds; a shortened default maximum age does not expire it', async () => {
    await wrongBinds(slapd.url, syncDn, 5);
    assert.equal(await canBind(slapd.url, syncDn, SYNC_PASSWORD), true);
    await withClient(slapd.url, admin(), (c) => c.modify(defaultPolicy, [replace('pwdMaxAge', '1')]));
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.doesNotMatch(await policyWordsAtBind(slapd.url, sync), /must be changed|expire|grace|locked/i);
    await worksAsDestination(slapd.url, sync, 'after max age');
    await withClient(slapd.url, admin(), (c) => c.modify(defaultPolicy, [replace('pwdMaxAge', '86400')]));
  });

  test('the destination sync user cannot change, delete or add a policy, nor set pwdPolicySubentry', async () => {
    const own = `cn=prepare-endpoint-server sync account policy,${PEOPLE}`;
    assert.equal(await outcome(slapd.url, sync, (c) => c.modify(defaultPolicy, [replace('pwdLockout', 'FALSE')])), 50);
    assert.equal(await outcome(slapd.url, sync, (c) => c.modify(own, [replace('pwdLockout', 'TRUE')])), 50);
    assert.equal(await outcome(slapd.url, sync, (c) => c.del(defaultPolicy)), 50);
    assert.equal(
      await outcome(slapd.url, sync, (c) =>
        c.add(`cn=evil,${policiesDn}`, {
          objectClass: ['device', 'pwdPolicy'],
          cn: 'evil',
          pwdAttribute: 'userPassword',
        }),
      ),
      50,
    );
    assert.equal(
      await outcome(slapd.url, sync, (c) => c.modify(slapd.limitedDn, [replace('pwdPolicySubentry', own)])),
      50,
    );
    assert.equal(await outcome(slapd.url, sync, (c) => c.modify(policiesDn, [replace('description', 'ok')])), 0);
  });

  test('the destination sync user cannot escape lockout: no add naming a policy, no class added, no rename above the default, no unlock', async () => {
    const own = `cn=prepare-endpoint-server sync account policy,${PEOPLE}`;
    // An added account naming the lockout-free policy (an add is checked on `entry`, not its attributes).
    assert.equal(
      await outcome(slapd.url, sync, (c) =>
        c.add(`cn=escapee,${PEOPLE}`, {
          objectClass: ['person'],
          cn: 'escapee',
          sn: 'escapee',
          pwdPolicySubentry: own,
        }),
      ),
      50,
    );
    // An entry of its own made a policy by a modify that adds the class, in any spelling.
    const weak = `cn=weakpol,${policiesDn}`;
    assert.equal(
      await outcome(slapd.url, sync, (c) =>
        c.add(weak, { objectClass: ['device', 'extensibleObject'], cn: 'weakpol', pwdLockout: 'FALSE' }),
      ),
      0,
    );
    for (const spelling of ['pwdPolicy', 'PWDPOLICY', '1.3.6.1.4.1.42.2.27.8.2.1']) {
      assert.equal(
        await outcome(slapd.url, sync, (c) =>
          c.modify(weak, [
            new Change({ operation: 'add', modification: new Attribute({ type: 'objectClass', values: [spelling] }) }),
          ]),
        ),
        50,
        spelling,
      );
    }
    assert.equal(await outcome(slapd.url, sync, (c) => c.del(weak)), 0);
    // The default policy's container renamed away: the default would name nothing.
    assert.equal(await outcome(slapd.url, sync, (c) => c.modifyDN(policiesDn, 'ou=gone')), 50);
    assert.equal((await readEntry(slapd.url, admin(), defaultPolicy, ['cn'])) !== undefined, true);
    // Nor the container of another policy (accounts naming it would get none), nor that of its own policy.
    assert.equal(await outcome(slapd.url, sync, (c) => c.modifyDN(specialDn, 'ou=gone')), 50);
    assert.equal(await outcome(slapd.url, sync, (c) => c.modifyDN(PEOPLE, 'ou=gone')), 50);
    // Another account's lock cleared.
    const victim = `cn=victim,${PEOPLE}`;
    await withClient(slapd.url, admin(), (c) =>
      c.add(victim, {
        objectClass: ['person'],
        cn: 'victim',
        sn: 'victim',
        pwdAccountLockedTime: '000001010000Z',
        pwdReset: 'TRUE',
        pwdPolicySubentry: defaultPolicy,
      }),
    );
    for (const attribute of ['pwdAccountLockedTime', 'pwdReset', 'pwdEndTime']) {
      assert.equal(await outcome(slapd.url, sync, (c) => c.modify(victim, [replace(attribute)])), 50, attribute);
    }
    // NO-USER-MODIFICATION: slapd refuses it before any access rule (19, constraintViolation).
    assert.equal(await outcome(slapd.url, sync, (c) => c.modify(victim, [replace('pwdFailureTime')])), 19);
    const locked = await readEntry(slapd.url, admin(), victim, ['pwdAccountLockedTime', 'pwdReset']);
    assert.equal(locked?.pwdaccountlockedtime?.[0], '000001010000Z');
    // Ordinary destination writes still work, on an account the admin gave a policy too.
    assert.equal(
      await outcome(slapd.url, sync, async (c) => {
        await c.modify(victim, [replace('description', 'synced')]);
        await c.add(`cn=plain,${PEOPLE}`, { objectClass: ['person'], cn: 'plain', sn: 'plain' });
        await c.modify(`cn=plain,${PEOPLE}`, [replace('sn', 'changed')]);
        await c.modifyDN(`cn=plain,${PEOPLE}`, 'cn=plain2');
        await c.del(`cn=plain2,${PEOPLE}`);
        await c.del(victim);
      }),
      0,
    );
  });

  test('guard rules of the earlier shape are replaced by one run, and the next run changes nothing', async () => {
    const database = 'olcDatabase={1}mdb,cn=config';
    const rules = async (): Promise<string[]> =>
      (await readEntry(slapd.url, admin(), database, ['olcAccess']))?.olcaccess ?? [];
    const current = (await rules()).filter((rule) => /pwdPolicy|attrs=entry/i.test(rule));
    assert.ok(current.length >= 5, current.join('\n'));
    const who = `by dn.exact="${syncDn}" read by * break`;
    await withClient(slapd.url, admin(), async (c) => {
      await c.modify(database, [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'olcAccess', values: current }) }),
      ]);
      await c.modify(database, [
        new Change({
          operation: 'add',
          modification: new Attribute({
            type: 'olcAccess',
            values: [`{0}to dn.subtree="${BASE}" attrs=@pwdPolicy,pwdPolicySubentry ${who}`],
          }),
        }),
      ]);
      await c.modify(database, [
        new Change({
          operation: 'add',
          modification: new Attribute({
            type: 'olcAccess',
            values: [`{0}to dn.subtree="${BASE}" filter=(objectClass=pwdPolicy) ${who}`],
          }),
        }),
      ]);
    });
    // What the earlier rules let through (the test's attack can fail): an account added naming the exempt policy.
    const escapee = `cn=escapee,${PEOPLE}`;
    const own = `cn=prepare-endpoint-server sync account policy,${PEOPLE}`;
    const escape = (c: Client): Promise<void> =>
      c.add(escapee, { objectClass: ['person'], cn: 'escapee', sn: 'escapee', pwdPolicySubentry: own });
    assert.equal(await outcome(slapd.url, sync, escape), 0, 'the earlier rules let the add through');
    await withClient(slapd.url, admin(), (c) => c.del(escapee));
    const r = await runCli(args(['--isSource', '--isDestination', '--accesslogDirectory', slapd.accesslogDirectory]));
    assert.equal(r.code, 0, describeRun(r));
    const after = await rules();
    assert.equal(await outcome(slapd.url, sync, escape), 50);
    assert.equal(after.filter((rule) => /attrs=@pwdPolicy,pwdPolicySubentry by/i.test(rule)).length, 0);
    assert.equal(after.filter((rule) => /pwdPolicy|attrs=entry/i.test(rule)).length, current.length, after.join('\n'));
    assert.equal(await outcome(slapd.url, sync, (c) => c.modifyDN(policiesDn, 'ou=gone')), 50);
    const again = await runCli(
      args(['--isSource', '--isDestination', '--accesslogDirectory', slapd.accesslogDirectory]),
    );
    assert.equal(again.code, 0, describeRun(again));
    assert.deepEqual(await rules(), after, 'the next run leaves olcAccess as it is');
  });

  test('an account made by the version before this change (must change, then locked) is converged by one run', async (t) => {
    const skip = await previousVersionSkipReason(BEFORE_THIS_CHANGE);
    if (skip !== undefined) {
      t.skip(skip);
      return;
    }
    const previous = await previousVersion();
    const dn = `cn=Old Sync,${PEOPLE}`;
    const old = await runCli(args(['--isDestination'], dn), { cli: previous.cli });
    assert.equal(old.code, 0, describeRun(old));
    // Its reset to a new password under pwdMustChange leaves pwdReset (must change), as the issue saw.
    const reset = await runCli(args(['--isDestination', '--resetSyncServerBindPassword'], dn, newPasswordFile), {
      cli: previous.cli,
    });
    assert.equal(reset.code, 0, describeRun(reset));
    assert.deepEqual((await readEntry(slapd.url, admin(), dn, ['pwdReset']))?.pwdreset, ['TRUE'], 'must change');
    assert.equal(
      await outcome(slapd.url, { dn, password: NEW_PASSWORD }, (c) => c.search(BASE, { scope: 'base' })),
      50,
    );
    await wrongBinds(slapd.url, dn, 3);
    assert.equal(
      (await readEntry(slapd.url, admin(), dn, ['pwdAccountLockedTime']))?.pwdaccountlockedtime?.length,
      1,
      'then locked',
    );
    const dry = await runCli(args(['--isDestination', '--dry-run'], dn, newPasswordFile));
    assert.match(dry.stderr, /The sync user cannot work as it is: the account is locked/, describeRun(dry));
    const r = await runCli(args(['--isDestination', '--json'], dn, newPasswordFile));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal((JSON.parse(r.stdout) as { verified: boolean }).verified, true, describeRun(r));
    const account = await readEntry(slapd.url, admin(), dn, ['pwdReset', 'pwdAccountLockedTime', 'pwdPolicySubentry']);
    assert.deepEqual(account?.pwdreset ?? [], []);
    assert.deepEqual(account?.pwdaccountlockedtime ?? [], []);
    assert.match(account?.pwdpolicysubentry?.[0] ?? '', /^cn=prepare-endpoint-server sync account policy,/i);
    assert.doesNotMatch(
      await policyWordsAtBind(slapd.url, { dn, password: NEW_PASSWORD }),
      /must be changed|expire|grace|locked/i,
    );
    await worksAsDestination(slapd.url, { dn, password: NEW_PASSWORD }, 'converged old');
  });

  test('--resetSyncServerBindPassword on a locked account made under the default policy leaves no pwdReset', async () => {
    const dn = `cn=Locked Sync,${PEOPLE}`;
    await withClient(slapd.url, admin(), (c) =>
      c.add(dn, { objectClass: ['inetOrgPerson'], cn: 'Locked Sync', sn: 'S', userPassword: SYNC_PASSWORD }),
    );
    await wrongBinds(slapd.url, dn, 3);
    assert.equal(
      (await readEntry(slapd.url, admin(), dn, ['pwdAccountLockedTime']))?.pwdaccountlockedtime?.length,
      1,
      'locked',
    );
    const r = await runCli(args(['--isDestination', '--resetSyncServerBindPassword'], dn, newPasswordFile));
    assert.equal(r.code, 0, describeRun(r));
    const account = await readEntry(slapd.url, admin(), dn, ['pwdReset', 'pwdAccountLockedTime']);
    assert.deepEqual(account?.pwdreset ?? [], [], 'no must-change after the reset');
    assert.deepEqual(account?.pwdaccountlockedtime ?? [], [], 'the lock is cleared');
    await worksAsDestination(slapd.url, { dn, password: NEW_PASSWORD }, 'after reset');
  });

  test('--remove deletes the account and its own policy entry', async () => {
    const own = `cn=prepare-endpoint-server sync account policy,${PEOPLE}`;
    const r = await runCli(args(['--remove']));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readEntry(slapd.url, admin(), syncDn), undefined);
    assert.equal(await readEntry(slapd.url, admin(), own), undefined, 'its policy is gone too');
    const access = (await readEntry(slapd.url, admin(), 'olcDatabase={1}mdb,cn=config', ['olcAccess']))?.olcaccess;
    assert.deepEqual(
      (access ?? []).filter((rule) => rule.toLowerCase().includes(syncDn.toLowerCase())),
      [],
      'no rule for the sync user is left, guards included',
    );
  });
});
