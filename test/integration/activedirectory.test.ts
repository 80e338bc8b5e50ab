// Active Directory, proven on a real Samba AD domain controller (test/servers/samba.sh). Samba's LDAP ports are
// fixed (389/636), so every AD test is in this one file and shares one DC, started once; each test removes
// what it added (--remove) so the next starts from a clean domain. What the tool did is checked on the DC with
// Samba's own Python bindings (SDDL of the descriptors), and by using the rights: DirSync as the sync user,
// writes below a destination base DN, a password reset.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type Directory } from '../../src/ldap/directory.js';
import { decodeSid } from '../../src/servers/ad/security-descriptor.js';
import { binaryValue, valuesOf } from '../../src/ldap/types.js';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { describeRun } from '../helpers/fixture.js';
import { sambaSkipReason, startSamba, type SambaDc } from '../servers/samba.js';

const skip = sambaSkipReason();
const BASE = 'DC=example,DC=com';
const SYNC_DN = `CN=Sync User,CN=Users,${BASE}`;
const DELETED = `CN=Deleted Objects,${BASE}`;
const ADMINISTRATORS = `CN=Administrators,CN=Builtin,${BASE}`;
const TARGET_OU = `OU=Sync Target,${BASE}`;
const SYNC_PASSWORD = `Sync-${randomUUID()}-aA1!`;
const GET_CHANGES = '1131f6aa-9c07-11d1-f79f-00c04fc2dcd2';
/** The mark of an account this tool created. */
const MARK = 'Account used by the synchronization server (created by prepare-endpoint-server)';

interface JsonResult {
  changed: boolean;
  steps: Array<{ id: string; status: string; detail?: string }>;
  ldap: { reads: number; writes: number };
  exitCode: number;
  warnings: string[];
}

let dc: SambaDc;
let tmp: string;
let adminPasswordFile: string;
let syncPasswordFile: string;

async function open(bind: { dn: string; password: string } | undefined, tls = false): Promise<Directory> {
  const directory = await connect({
    host: '127.0.0.1', port: tls ? 636 : 389, security: tls ? 'ssl' : 'none', trust: { kind: 'all' },
    connectTimeoutMs: 5000, operationTimeoutMs: 30_000,
  });
  if (bind !== undefined) await directory.bind(bind.dn, bind.password);
  return directory;
}

async function asAdmin<T>(fn: (d: Directory) => Promise<T>, tls = false): Promise<T> {
  const d = await open({ dn: dc.adminDn, password: dc.adminPassword }, tls);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

async function syncUserSid(): Promise<string | undefined> {
  const entry = await asAdmin((d) => d.read(SYNC_DN, ['objectSid']));
  const bytes = binaryValue(entry, 'objectSid');
  return bytes === undefined ? undefined : decodeSid(bytes);
}

/** -h, -D, password files, --no-prompt, --logFile, -b (the domain unless given); `extra` last. */
function args(extra: string[], baseDns: string[] = [BASE]): string[] {
  return [
    '-h', '127.0.0.1', '-D', dc.adminDn, '--bindPasswordFile', adminPasswordFile,
    '--syncServerBindPasswordFile', syncPasswordFile, '--no-prompt', '--logFile', path.join(tmp, 'run.log'),
    ...baseDns.flatMap((b) => ['-b', b]), ...extra,
  ];
}

const LDAPS = ['--useSSL', '--trustAll'];

async function run(extra: string[], baseDns?: string[]): Promise<RunCliResult> {
  return runCli(args(extra, baseDns), { timeoutMs: 60_000 });
}

async function runJson(extra: string[], baseDns?: string[]): Promise<JsonResult> {
  const r = await run([...extra, '--json'], baseDns);
  assert.equal(r.code, 0, describeRun(r));
  return JSON.parse(r.stdout) as JsonResult;
}

/** Removes everything and checks it is gone (the next test starts clean). */
async function removeAll(baseDns?: string[]): Promise<void> {
  const r = await run(['--remove', '--isSource', '--isDestination'], baseDns);
  assert.equal(r.code, 0, describeRun(r));
  assert.equal(await asAdmin((d) => d.read(SYNC_DN, ['objectClass'])), undefined);
}

/** DirSync as `bind` from the start until done: the cookie that sees only later changes. */
async function dirSyncCookie(d: Directory): Promise<string> {
  let cookie: string | undefined;
  for (let round = 0; round < 100; round++) {
    const result = await d.dirSync(BASE, '(objectClass=*)', ['objectClass'], cookie === undefined ? {} : { cookie });
    cookie = result.cookie;
    if (!result.more) return cookie;
  }
  throw new Error('DirSync never finished');
}

describe('Active Directory on Samba AD DC', { skip: skip ?? false }, () => {
  before(async () => {
    const t0 = Date.now();
    dc = await startSamba();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pes-ad-'));
    adminPasswordFile = path.join(tmp, 'admin.pw');
    syncPasswordFile = path.join(tmp, 'sync.pw');
    writeFileSync(adminPasswordFile, `${dc.adminPassword}\n`, { mode: 0o600 });
    writeFileSync(syncPasswordFile, `${SYNC_PASSWORD}\n`, { mode: 0o600 });
    await asAdmin((d) => d.apply({ kind: 'add', dn: TARGET_OU, attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['Sync Target'] } }));
    console.log(`# Samba AD DC provisioned and started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await dc?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  test('without TLS the password cannot be set: exit 13 naming --useSSL, nothing written', async () => {
    const r = await run(['--isSource']);
    assert.equal(r.code, 13, describeRun(r));
    assert.match(r.stderr, /--useSSL/);
    assert.match(r.stderr, /encrypted connection/);
    assert.equal(await asAdmin((d) => d.read(SYNC_DN, ['objectClass'])), undefined, 'no account was created');
  });

  test('source over LDAPS: account, DirSync right, CN=Deleted Objects; DirSync as the sync user sees a later change', async () => {
    const r = await run(['--isSource', ...LDAPS]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /Server type: Active Directory/);
    assert.match(r.stdout, /can run DirSync on 'DC=example,DC=com' \.+ Done/);
    assert.match(r.stderr, /no cn=changelog and no firstChangeNumber\/lastChangeNumber/);

    const account = await asAdmin((d) => d.read(SYNC_DN, ['userAccountControl', 'sAMAccountName', 'objectClass']));
    assert.deepEqual(valuesOf(account, 'userAccountControl'), ['66048'], 'enabled, password never expires');
    assert.deepEqual(valuesOf(account, 'sAMAccountName'), ['SyncUser']);
    const sid = await syncUserSid();
    assert.ok(sid);

    // On the DC, in Samba's own words
    const domain = await dc.sddl(BASE);
    assert.ok(domain.includes(`(OA;;CR;${GET_CHANGES};;${sid})`), domain);
    const deleted = await dc.sddl(DELETED);
    assert.match(deleted, /^O:BA/, 'ownership taken for BUILTIN\\Administrators');
    assert.ok(deleted.includes(`(A;CI;RPLCLORC;;;${sid})`), deleted);
    // no destination rights for a source
    assert.ok(!new RegExp(`\\(A;CI;[A-Z]+;;;${sid}\\)`).test(domain), 'no inheritable write ACE for a source');

    // Using the right: DirSync from a cookie sees an entry the admin adds afterwards
    const sync = await open({ dn: SYNC_DN, password: SYNC_PASSWORD });
    try {
      const cookie = await dirSyncCookie(sync);
      const later = `OU=Later ${randomUUID().slice(0, 8)},${BASE}`;
      await asAdmin((d) => d.apply({ kind: 'add', dn: later, attributes: { objectClass: ['top', 'organizationalUnit'] } }));
      const changes = await sync.dirSync(BASE, '(objectClass=*)', ['objectClass'], { cookie });
      assert.ok(changes.entries.some((e) => e.dn.toLowerCase() === later.toLowerCase()), JSON.stringify(changes.entries.map((e) => e.dn)));
      await asAdmin((d) => d.apply({ kind: 'delete', dn: later }));
      // ... and the delete too (a tombstone under CN=Deleted Objects)
      const deletes = await sync.dirSync(BASE, '(objectClass=*)', ['objectClass', 'isDeleted'], { cookie: changes.cookie });
      assert.ok(deletes.entries.some((e) => valuesOf(e, 'isDeleted')[0] === 'TRUE'), JSON.stringify(deletes.entries.map((e) => e.dn)));
    } finally {
      await sync.close();
    }

    await removeAll();
  });

  test('destination over StartTLS: inheritable ACE on the base DN; the sync user creates, modifies, resets, deletes there and nowhere else', async () => {
    const r = await run(['--isDestination', '--useStartTLS', '--trustAll'], [TARGET_OU]);
    assert.equal(r.code, 0, describeRun(r));
    const sid = await syncUserSid();
    assert.ok(sid);
    const ou = await dc.sddl(TARGET_OU);
    assert.ok(ou.includes(`(A;CI;RPWPCRCCDCLCLORCSDDTSW;;;${sid})`) || new RegExp(`\\(A;CI;[A-Z]+;;;${sid}\\)`).test(ou), ou);
    assert.ok(!(await dc.sddl(BASE)).includes(sid), 'nothing on the domain for a destination');

    const sync = await open({ dn: SYNC_DN, password: SYNC_PASSWORD }, true);
    try {
      const user = `CN=Synced ${randomUUID().slice(0, 8)},${TARGET_OU}`;
      await sync.apply({ kind: 'add', dn: user, attributes: { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: [`s${randomUUID().slice(0, 12)}`] } });
      await sync.apply({ kind: 'modify', dn: user, modifications: [{ operation: 'replace', attribute: 'description', values: ['synced'] }] });
      await sync.apply({ kind: 'modify', dn: user, modifications: [{ operation: 'replace', attribute: 'unicodePwd', values: [`Reset-${randomUUID()}-aA1!`] }] });
      await sync.apply({ kind: 'delete', dn: user });
      await assert.rejects(
        sync.apply({ kind: 'add', dn: `CN=Elsewhere,CN=Users,${BASE}`, attributes: { objectClass: ['top', 'person', 'organizationalPerson', 'user'] } }),
        (e: { resultCode?: number }) => e.resultCode === 50,
        'no rights outside the base DN',
      );
    } finally {
      await sync.close();
    }
    await removeAll([TARGET_OU]);
    assert.ok(!(await dc.sddl(TARGET_OU)).includes(sid), 'the ACE went with --remove');
  });

  test('both roles, then a re-run that finds everything present and writes nothing', async () => {
    const first = await runJson(['--isSource', '--isDestination', ...LDAPS]);
    assert.ok(first.changed);
    assert.ok(first.ldap.writes >= 3, JSON.stringify(first.ldap));
    const sid = await syncUserSid();
    const domain = await dc.sddl(BASE);
    assert.ok(domain.includes(`(OA;;CR;${GET_CHANGES};;${sid})`), domain);
    assert.ok(new RegExp(`\\(A;CI;[A-Z]+;;;${sid}\\)`).test(domain), domain);
    // the same DN got both ACEs in one write: none lost to the other
    const again = await runJson(['--isSource', '--isDestination']);
    assert.equal(again.changed, false);
    assert.equal(again.ldap.writes, 0);
    assert.deepEqual(again.steps.map((s) => [s.id, s.status]), [
      ['sync-user', 'unchanged'],
      [`ace:${BASE}`, 'unchanged'],
      [`ace:${DELETED}`, 'unchanged'],
      ['changelog', 'skipped'],
    ]);
    assert.equal(await dc.sddl(BASE), domain, 'descriptor untouched by the re-run');
  });

  test('--remove takes the ACEs and the account away; a second --remove writes nothing', async () => {
    const sid = await syncUserSid();
    assert.ok(sid, 'left by the previous test');
    const dry = await run(['--remove', '--dry-run']);
    assert.equal(dry.code, 0, describeRun(dry));
    assert.match(dry.stdout + dry.stderr, /control: 1\.2\.840\.113556\.1\.4\.801 true:: MAMCAQQ=/);
    assert.match(dry.stdout + dry.stderr, /nTSecurityDescriptor:: /);

    await removeAll();
    assert.ok(!(await dc.sddl(BASE)).includes(sid), 'domain ACEs gone');
    assert.ok(!(await dc.sddl(DELETED)).includes(sid), 'Deleted Objects ACE gone');
    const second = await runJson(['--remove']);
    assert.equal(second.ldap.writes, 0);
  });

  test('--adAdministratorsGroup: membership of CN=Administrators instead of ACEs, DirSync works, --remove takes it away', async () => {
    const r = await run(['--isSource', '--isDestination', '--adAdministratorsGroup', ...LDAPS]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /can run DirSync on 'DC=example,DC=com' \.+ Done/);
    const members = await asAdmin((d) => d.read(ADMINISTRATORS, ['member']));
    assert.ok(valuesOf(members, 'member').some((m) => m.toLowerCase() === SYNC_DN.toLowerCase()), JSON.stringify(valuesOf(members, 'member')));
    const sid = await syncUserSid();
    assert.ok(!(await dc.sddl(BASE)).includes(sid!), 'no ACEs with --adAdministratorsGroup');

    const again = await runJson(['--isSource', '--isDestination', '--adAdministratorsGroup']);
    assert.equal(again.ldap.writes, 0);

    await removeAll();
    const after = await asAdmin((d) => d.read(ADMINISTRATORS, ['member']));
    assert.ok(!valuesOf(after, 'member').some((m) => m.toLowerCase() === SYNC_DN.toLowerCase()));
  });

  test('the account the tool creates carries its mark; --remove keeps an account it did not create and takes its ACEs only', async () => {
    const created = await run(['--isDestination', ...LDAPS], [TARGET_OU]);
    assert.equal(created.code, 0, describeRun(created));
    assert.deepEqual(valuesOf(await asAdmin((d) => d.read(SYNC_DN, ['description'])), 'description'), [MARK]);
    await removeAll([TARGET_OU]);

    const adopted = `CN=Adopted User,CN=Users,${BASE}`;
    const password = `Adopted-${randomUUID()}-aA1!`;
    const passwordFile = path.join(tmp, 'adopted.pw');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    await asAdmin((d) => d.apply({ kind: 'add', dn: adopted, attributes: {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn: ['Adopted User'], sAMAccountName: ['adopted'],
      userAccountControl: ['512'], unicodePwd: [password],
    } }), true);
    try {
      const r = await run(['--isDestination', '--syncServerBindDN', adopted, '--syncServerBindPasswordFile', passwordFile, ...LDAPS], [TARGET_OU]);
      assert.equal(r.code, 0, describeRun(r));
      const entry = await asAdmin((d) => d.read(adopted, ['description', 'objectSid']));
      assert.deepEqual(valuesOf(entry, 'description'), [], 'an adopted account is never marked');
      const sid = decodeSid(binaryValue(entry, 'objectSid')!);
      assert.ok((await dc.sddl(TARGET_OU)).includes(sid), 'the run granted its ACE');

      const removed = await run(['--remove', '--syncServerBindDN', adopted], [TARGET_OU]);
      assert.equal(removed.code, 0, describeRun(removed));
      assert.match(removed.stderr, /was kept, not deleted: this tool did not create it/, describeRun(removed));
      assert.ok(await asAdmin((d) => d.read(adopted, ['objectClass'])), 'the account is kept');
      assert.ok(!(await dc.sddl(TARGET_OU)).includes(sid), 'its ACE is gone');
    } finally {
      await asAdmin((d) => d.apply({ kind: 'delete', dn: adopted }));
    }
  });

  test('the administrator as the sync user is refused (exit 89) before any write, in any spelling', async () => {
    for (const dn of [dc.adminDn, dc.adminDn.toUpperCase().replace(/,/g, ', ')]) {
      const r = await run(['--isDestination', '--syncServerBindDN', dn, '--resetSyncServerBindPassword', ...LDAPS], [TARGET_OU]);
      assert.equal(r.code, 89, describeRun(r));
      assert.match(r.stderr, /names the admin's own account/, describeRun(r));
    }
    const remove = await run(['--remove', '--syncServerBindDN', dc.adminDn], [TARGET_OU]);
    assert.equal(remove.code, 89, describeRun(remove));
    assert.ok(await asAdmin((d) => d.read(dc.adminDn, ['objectClass'])), 'the administrator is still there, and binds');
  });

  test('a dry run of a new account writes nothing and prints the account masked', async () => {
    const r = await run(['--isSource', '--isDestination', '--dry-run', ...LDAPS]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout + r.stderr, /unicodePwd: \*{8}/);
    assert.ok(!(r.stdout + r.stderr).includes(SYNC_PASSWORD));
    assert.equal(await asAdmin((d) => d.read(SYNC_DN, ['objectClass'])), undefined);
  });
});

if (skip !== undefined) {
  test(`Active Directory integration tests skipped: ${skip}`, { skip }, () => undefined);
}
