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
import { connect } from '../../src/ldap/directory.js';
import type { Directory } from '../../src/model/directory.js';
import type { Change } from '../../src/model/entries.js';
import { sdFlagsControl } from '../../src/servers/activedirectory.js';
import {
  AceType,
  decodeSecurityDescriptor,
  decodeSid,
  encodeSecurityDescriptor,
  SecurityInformation,
  withAce,
  type Ace,
  type SecurityDescriptor,
} from '../../src/servers/ad/security-descriptor.js';
import { withClient } from '../helpers/directory.js';
import { buildPreviousVersion, previousVersionSkipReason } from '../helpers/previous-version.js';
import { binaryValue, valuesOf } from '../../src/model/entries.js';
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
    host: '127.0.0.1',
    port: tls ? 636 : 389,
    security: tls ? 'ssl' : 'none',
    trust: { kind: 'all' },
    connectTimeoutMs: 5000,
    operationTimeoutMs: 30_000,
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

async function sidOfDn(dn: string): Promise<string | undefined> {
  const entry = await asAdmin((d) => d.read(dn, ['objectSid']));
  const bytes = binaryValue(entry, 'objectSid');
  return bytes === undefined ? undefined : decodeSid(bytes);
}

async function syncUserSid(): Promise<string | undefined> {
  return sidOfDn(SYNC_DN);
}

const LDAPS = ['--useSSL', '--trustAll'];
/** Every run binds over LDAPS unless the test says otherwise: AD takes no password over plain LDAP. */
const PLAIN = '--test-plain-ldap';

/** -h, -D, password files, --no-prompt, --logFile, -b (the domain unless given), LDAPS unless asked; `extra` last. */
function args(extra: string[], baseDns: string[] = [BASE]): string[] {
  const tls = extra.includes(PLAIN) || extra.includes('--useSSL') || extra.includes('--useStartTLS') ? [] : LDAPS;
  return [
    '-h',
    '127.0.0.1',
    '-D',
    dc.adminDn,
    '--bindPasswordFile',
    adminPasswordFile,
    '--syncServerBindPasswordFile',
    syncPasswordFile,
    '--no-prompt',
    '--logFile',
    path.join(tmp, 'run.log'),
    ...baseDns.flatMap((b) => ['-b', b]),
    ...tls,
    ...extra.filter((arg) => arg !== PLAIN),
  ];
}

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

const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'user'];

/** The add of a user account (`classes` its object classes) with `attributes`. */
function addUser(dn: string, attributes: Record<string, string[]> = {}, classes = USER_CLASSES): Change {
  return { kind: 'add', dn, attributes: { objectClass: classes, ...attributes } };
}

/** A modify of one attribute. */
function modify(dn: string, operation: 'add' | 'delete' | 'replace', attribute: string, values: string[]): Change {
  return { kind: 'modify', dn, modifications: [{ operation, attribute, values }] };
}

/** The write of `dn`'s DACL: `sd` with `ace` added. */
function daclWith(dn: string, sd: SecurityDescriptor, ace: Ace): Change {
  const written = encodeSecurityDescriptor({ ...sd, dacl: withAce(sd.dacl, ace) });
  return {
    kind: 'modify',
    dn,
    controls: [sdFlagsControl(SecurityInformation.DACL)],
    modifications: [
      { operation: 'replace', attribute: 'nTSecurityDescriptor', values: [Buffer.from(written).toString('base64')] },
    ],
  };
}

/** Insufficient access (50): what a write out of the sync user's reach gets. */
const refused = (e: { resultCode?: number }): boolean => e.resultCode === 50;

/** `change` made by `d` is refused for insufficient access. */
async function assertRefused(d: Directory, change: Change, what: string): Promise<void> {
  await assert.rejects(d.apply(change), refused, what);
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
    await asAdmin((d) =>
      d.apply({
        kind: 'add',
        dn: TARGET_OU,
        attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['Sync Target'] },
      }),
    );
    console.log(`# Samba AD DC provisioned and started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await dc?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  test('without TLS: exit 13 naming --useSSL before any password is sent (a wrong admin password is not even tried), nothing written', async () => {
    const r = await run(['--isSource', PLAIN]);
    assert.equal(r.code, 13, describeRun(r));
    assert.match(r.stderr, /--useSSL/);
    assert.match(r.stderr, /encrypted connection: nothing was sent/);
    assert.equal(await asAdmin((d) => d.read(SYNC_DN, ['objectClass'])), undefined, 'no account was created');
    const wrong = path.join(tmp, 'wrong-admin.pw');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const plainWrong = await runCli(
      [...args(['--isSource', '--remove', PLAIN]).map((a) => (a === adminPasswordFile ? wrong : a))],
      { timeoutMs: 60_000 },
    );
    assert.equal(plainWrong.code, 13, `13, not 49: no bind was made: ${describeRun(plainWrong)}`);
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
      await asAdmin((d) =>
        d.apply({ kind: 'add', dn: later, attributes: { objectClass: ['top', 'organizationalUnit'] } }),
      );
      const changes = await sync.dirSync(BASE, '(objectClass=*)', ['objectClass'], { cookie });
      assert.ok(
        changes.entries.some((e) => e.dn.toLowerCase() === later.toLowerCase()),
        JSON.stringify(changes.entries.map((e) => e.dn)),
      );
      await asAdmin((d) => d.apply({ kind: 'delete', dn: later }));
      // ... and the delete too (a tombstone under CN=Deleted Objects)
      const deletes = await sync.dirSync(BASE, '(objectClass=*)', ['objectClass', 'isDeleted'], {
        cookie: changes.cookie,
      });
      assert.ok(
        deletes.entries.some((e) => valuesOf(e, 'isDeleted')[0] === 'TRUE'),
        JSON.stringify(deletes.entries.map((e) => e.dn)),
      );
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
    assert.ok(
      ou.includes(`(A;CI;RPWPCRCCDCLCLORCSDDTSW;;;${sid})`) || new RegExp(`\\(A;CI;[A-Z]+;;;${sid}\\)`).test(ou),
      ou,
    );
    assert.ok(!(await dc.sddl(BASE)).includes(sid), 'nothing on the domain for a destination');

    const sync = await open({ dn: SYNC_DN, password: SYNC_PASSWORD }, true);
    try {
      const user = `CN=Synced ${randomUUID().slice(0, 8)},${TARGET_OU}`;
      await sync.apply(addUser(user, { sAMAccountName: [`s${randomUUID().slice(0, 12)}`] }));
      await sync.apply(modify(user, 'replace', 'description', ['synced']));
      await sync.apply(modify(user, 'replace', 'unicodePwd', [`Reset-${randomUUID()}-aA1!`]));
      await sync.apply({ kind: 'delete', dn: user });
      await assertRefused(sync, addUser(`CN=Elsewhere,CN=Users,${BASE}`), 'no rights outside the base DN');
    } finally {
      await sync.close();
    }
    await removeAll([TARGET_OU]);
    assert.ok(!(await dc.sddl(TARGET_OU)).includes(sid), 'the ACE went with --remove');
  });

  test('destination on the domain head: no protected group, protected password, descriptor or GPO link is within reach; a sync still works', async () => {
    // A Tier 0 group nested in Domain Admins, with a member: Samba runs no SDProp, so neither has adminCount.
    const tier0 = `CN=Tier0 ${randomUUID().slice(0, 6)},${TARGET_OU}`;
    const nestedAdmin = `CN=Nested Admin ${randomUUID().slice(0, 6)},${TARGET_OU}`;
    const alice = `CN=Alice ${randomUUID().slice(0, 6)},${TARGET_OU}`;
    await asAdmin(async (d) => {
      await d.apply(addUser(tier0, { sAMAccountName: [`t0${randomUUID().slice(0, 8)}`] }, ['top', 'group']));
      for (const [dn, prefix, password] of [
        [nestedAdmin, 'na', 'Nested'],
        [alice, 'al', 'Alice'],
      ] as const) {
        await d.apply(
          addUser(dn, {
            sAMAccountName: [`${prefix}${randomUUID().slice(0, 8)}`],
            unicodePwd: [`${password}-${randomUUID()}-aA1!`],
            userAccountControl: ['512'],
          }),
        );
      }
      await d.apply(modify(tier0, 'add', 'member', [nestedAdmin]));
      await d.apply(modify(`CN=Domain Admins,CN=Users,${BASE}`, 'add', 'member', [tier0]));
    }, true);
    const r = await run(['--isDestination', ...LDAPS]);
    assert.equal(r.code, 0, describeRun(r));
    const sid = await syncUserSid();
    assert.ok(sid);
    const domain = await dc.sddl(BASE);
    assert.ok(
      !new RegExp(`\\(OA?;[A-Z]*;[A-Z]*(CR|GA|WD|WO)[A-Z]*;;[^;]*;${sid}\\)`).test(domain),
      `no blanket extended right, GA, WD or WO: ${domain}`,
    );
    assert.ok(
      !domain.includes(`1131f6ad-9c07-11d1-f79f-00c04fc2dcd2;;${sid}`),
      'no DS-Replication-Get-Changes-All (DCSync)',
    );

    const sync = await open({ dn: SYNC_DN, password: SYNC_PASSWORD }, true);
    try {
      for (const group of [
        `CN=Domain Admins,CN=Users,${BASE}`,
        ADMINISTRATORS,
        `CN=Enterprise Admins,CN=Users,${BASE}`,
        `CN=Schema Admins,CN=Users,${BASE}`,
        `CN=Account Operators,CN=Builtin,${BASE}`,
        `CN=Backup Operators,CN=Builtin,${BASE}`,
        tier0,
      ]) {
        await assertRefused(sync, modify(group, 'add', 'member', [SYNC_DN]), `join ${group}`);
      }
      for (const account of [`CN=Administrator,CN=Users,${BASE}`, `CN=krbtgt,CN=Users,${BASE}`, nestedAdmin]) {
        await assertRefused(
          sync,
          modify(account, 'replace', 'unicodePwd', [`Taken-${randomUUID()}-aA1!`]),
          `reset ${account}`,
        );
        await assert.rejects(
          sync.apply({ kind: 'delete', dn: account }),
          (e: { resultCode?: number }) => e.resultCode === 50 || e.resultCode === 80,
          `delete ${account}`,
        );
      }
      // Every descriptor: the base, an ordinary user, a protected group, its own account.
      for (const dn of [BASE, TARGET_OU, alice, `CN=Domain Admins,CN=Users,${BASE}`, SYNC_DN]) {
        const current = await asAdmin((d) =>
          d.read(dn, ['nTSecurityDescriptor'], { controls: [sdFlagsControl(SecurityInformation.DACL)] }),
        );
        const sd = decodeSecurityDescriptor(binaryValue(current, 'nTSecurityDescriptor')!);
        const everyone = { type: AceType.ACCESS_ALLOWED, flags: 0, mask: 0x10000000, sid: 'S-1-1-0' };
        await assertRefused(sync, daclWith(dn, sd, everyone), `descriptor of ${dn}`);
      }
      const gpLink = '[LDAP://cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=example,DC=com;0]';
      for (const dn of [BASE, TARGET_OU]) {
        await assertRefused(sync, modify(dn, 'replace', 'gPLink', [gpLink]), `gPLink on ${dn}`);
      }
      await assertRefused(sync, modify(BASE, 'replace', 'description', ['taken']), 'the domain object itself');
      await assertRefused(sync, modify(SYNC_DN, 'replace', 'description', ['mine']), 'its own account');

      // What a sync needs: users, groups, contacts and OUs created, changed, moved and deleted; an ordinary password reset.
      const ou = `OU=Synced ${randomUUID().slice(0, 6)},${TARGET_OU}`;
      const user = `CN=Synced User,${ou}`;
      const group = `CN=Synced Group,${ou}`;
      const contact = `CN=Synced Contact,${ou}`;
      const sub = `OU=Sub,${ou}`;
      await sync.apply({ kind: 'add', dn: ou, attributes: { objectClass: ['top', 'organizationalUnit'] } });
      await sync.apply({ kind: 'add', dn: sub, attributes: { objectClass: ['top', 'organizationalUnit'] } });
      await sync.apply(addUser(user, { sAMAccountName: [`su${randomUUID().slice(0, 8)}`] }));
      await sync.apply(addUser(group, { sAMAccountName: [`sg${randomUUID().slice(0, 8)}`] }, ['top', 'group']));
      await sync.apply(addUser(contact, {}, ['top', 'person', 'organizationalPerson', 'contact']));
      await sync.apply(modify(group, 'add', 'member', [user]));
      await sync.apply(modify(user, 'replace', 'description', ['synced']));
      await sync.apply(modify(alice, 'replace', 'unicodePwd', [`Reset-${randomUUID()}-aA1!`]));
      await withClient(dc.url, { dn: SYNC_DN, password: SYNC_PASSWORD }, (c) =>
        c.modifyDN(user, `CN=Synced User,${sub}`),
      );
      for (const dn of [`CN=Synced User,${sub}`, group, contact, sub, ou]) await sync.apply({ kind: 'delete', dn });
    } finally {
      await sync.close();
    }
    await asAdmin(async (d) => {
      await d.apply(modify(`CN=Domain Admins,CN=Users,${BASE}`, 'delete', 'member', [tier0]));
      for (const dn of [tier0, nestedAdmin, alice]) await d.apply({ kind: 'delete', dn });
    });
    await removeAll();
    for (const dn of [
      BASE,
      `CN=Domain Admins,CN=Users,${BASE}`,
      `CN=Administrator,CN=Users,${BASE}`,
      `CN=krbtgt,CN=Users,${BASE}`,
    ]) {
      assert.ok(!(await dc.sddl(dn)).includes(sid), `--remove took the ACEs away from ${dn}`);
    }
  });

  test('a domain prepared by the previous version (one broad ACE: DCSync, Domain Admins) is converged by one run', async (t) => {
    const skipReason = await previousVersionSkipReason();
    if (skipReason !== undefined) {
      t.skip(skipReason);
      return;
    }
    const previous = await buildPreviousVersion();
    try {
      const old = await runCli(args(['--isDestination', ...LDAPS]), { timeoutMs: 60_000, cli: previous.cli });
      assert.equal(old.code, 0, describeRun(old));
      const sid = await syncUserSid();
      assert.ok((await dc.sddl(BASE)).includes(`(A;CI;RPWPCRCCDCLCLORCSDDTSW;;;${sid})`), 'the broad ACE of 0.1.0');
      const domainAdmins = `CN=Domain Admins,CN=Users,${BASE}`;
      const join = {
        kind: 'modify' as const,
        dn: domainAdmins,
        modifications: [{ operation: 'add' as const, attribute: 'member', values: [SYNC_DN] }],
      };
      const sync = await open({ dn: SYNC_DN, password: SYNC_PASSWORD }, true);
      try {
        await sync.apply(join);
      } finally {
        await sync.close();
      }
      await asAdmin((d) =>
        d.apply({ ...join, modifications: [{ operation: 'delete', attribute: 'member', values: [SYNC_DN] }] }),
      );

      const upgrade = await runJson(['--isDestination', ...LDAPS]);
      assert.match(
        upgrade.steps.find((s) => s.id === `ace:${BASE}`)?.detail ?? '',
        /broad destination ACE of an earlier version removed/,
        JSON.stringify(upgrade.steps, null, 1),
      );
      assert.ok(!(await dc.sddl(BASE)).includes(`(A;CI;RPWPCRCCDCLCLORCSDDTSW;;;${sid})`), 'the broad ACE is gone');
      const again = await open({ dn: SYNC_DN, password: SYNC_PASSWORD }, true);
      try {
        await assert.rejects(
          again.apply(join),
          (e: { resultCode?: number }) => e.resultCode === 50,
          'the takeover fails after one run',
        );
      } finally {
        await again.close();
      }
      const rerun = await runJson(['--isDestination', ...LDAPS]);
      assert.equal(rerun.ldap.writes, 0, 'a second run writes nothing');
    } finally {
      previous.remove();
    }
    await removeAll();
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
    assert.deepEqual(
      again.steps.map((s) => [s.id, s.status]),
      [
        ['sync-user', 'unchanged'],
        ['password-policy', 'unchanged'],
        ['ad:protected', 'unchanged'],
        [`ace:${BASE}`, 'unchanged'],
        [`ace:${DELETED}`, 'unchanged'],
        ['ad:rights-record', 'unchanged'],
        ['changelog', 'skipped'],
      ],
    );
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
    assert.ok(
      valuesOf(members, 'member').some((m) => m.toLowerCase() === SYNC_DN.toLowerCase()),
      JSON.stringify(valuesOf(members, 'member')),
    );
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
    await asAdmin(
      (d) =>
        d.apply(
          addUser(adopted, {
            cn: ['Adopted User'],
            sAMAccountName: ['adopted'],
            userAccountControl: ['512'],
            unicodePwd: [password],
          }),
        ),
      true,
    );
    try {
      const r = await run(
        ['--isDestination', '--syncServerBindDN', adopted, '--syncServerBindPasswordFile', passwordFile, ...LDAPS],
        [TARGET_OU],
      );
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
      const r = await run(
        ['--isDestination', '--syncServerBindDN', dn, '--resetSyncServerBindPassword', ...LDAPS],
        [TARGET_OU],
      );
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
  test('an account that is not a user, a built-in or a protected one is never taken over, even with --resetSyncServerBindPassword', async () => {
    const computer = `CN=pc${randomUUID().slice(0, 6)},CN=Computers,${BASE}`;
    await asAdmin((d) =>
      d.apply(
        addUser(computer, { sAMAccountName: [`pc${randomUUID().slice(0, 8)}$`], userAccountControl: ['4096'] }, [
          ...USER_CLASSES,
          'computer',
        ]),
      ),
    );
    const domainBefore = await dc.sddl(BASE);
    try {
      for (const dn of [computer, `CN=krbtgt,CN=Users,${BASE}`]) {
        for (const mode of [[], ['--dry-run']]) {
          const r = await run([
            '--isSource',
            '--isDestination',
            '--resetSyncServerBindPassword',
            '--syncServerBindDN',
            dn,
            ...mode,
          ]);
          assert.equal(r.code, 53, describeRun(r));
          assert.match(r.stderr, /never takes such an account over/);
        }
      }
      // The Administrator is also the admin these tests bind as: refused as the admin's own account first.
      const administrator = await run([
        '--isSource',
        '--isDestination',
        '--resetSyncServerBindPassword',
        '--syncServerBindDN',
        `CN=Administrator,CN=Users,${BASE}`,
      ]);
      assert.equal(administrator.code, 89, describeRun(administrator));
      assert.equal(await dc.sddl(BASE), domainBefore, 'nothing written');
      const machine = await asAdmin((d) => d.read(computer, ['pwdLastSet']));
      assert.deepEqual(valuesOf(machine, 'pwdLastSet'), ['0'], 'the machine password was not reset');
    } finally {
      await asAdmin((d) => d.apply({ kind: 'delete', dn: computer }));
    }
  });

  test('an existing account: disabled is said (not "wrong password") and not reset; risky flags are warned about and left', async () => {
    const disabled = `CN=Disabled Sync,CN=Users,${BASE}`;
    const risky = `CN=Risky Sync,CN=Users,${BASE}`;
    await asAdmin(async (d) => {
      await d.apply(
        addUser(disabled, {
          sAMAccountName: ['DisabledSync'],
          unicodePwd: [SYNC_PASSWORD],
          userAccountControl: ['514'],
        }),
      );
      await d.apply(
        addUser(risky, {
          sAMAccountName: ['RiskySync'],
          unicodePwd: [SYNC_PASSWORD],
          userAccountControl: [String(0x200 | 0x400000)],
        }),
      );
    }, true);
    try {
      for (const extra of [[], ['--resetSyncServerBindPassword']]) {
        const r = await run(['--isSource', '--syncServerBindDN', disabled, ...extra]);
        assert.equal(r.code, 49, describeRun(r));
        assert.match(r.stderr, /exists but cannot bind: the account is disabled/);
      }
      assert.deepEqual(
        valuesOf(await asAdmin((d) => d.read(disabled, ['userAccountControl'])), 'userAccountControl'),
        ['514'],
        'still disabled: not "fixed"',
      );

      const warned = await run(['--isSource', '--syncServerBindDN', risky]);
      assert.equal(warned.code, 0, describeRun(warned));
      assert.match(warned.stderr, /risky userAccountControl flags: DONT_REQ_PREAUTH/);
      assert.deepEqual(valuesOf(await asAdmin((d) => d.read(risky, ['userAccountControl'])), 'userAccountControl'), [
        String(0x200 | 0x400000),
      ]);
      const removed = await run(['--remove', '--syncServerBindDN', risky]);
      assert.equal(removed.code, 0, describeRun(removed));
    } finally {
      await asAdmin(async (d) => {
        for (const dn of [disabled, risky])
          if ((await d.read(dn, ['objectClass'])) !== undefined) await d.apply({ kind: 'delete', dn });
      });
    }
  });

  test('three runs for three sync users on one base DN at once: every account ends with all its ACEs (8 trials)', async () => {
    const users = [1, 2, 3].map((n) => `CN=Concurrent ${n},CN=Users,${BASE}`);
    const outcomes: string[] = [];
    for (let trial = 1; trial <= 8; trial++) {
      const runs = await Promise.all(
        users.map((dn) => run(['--isDestination', '--syncServerBindDN', dn, '--json'], [TARGET_OU])),
      );
      runs.forEach((r) => assert.equal(r.code, 0, describeRun(r)));
      const sddl = await dc.sddl(TARGET_OU);
      const counts: number[] = [];
      for (const dn of users) {
        const sid = await sidOfDn(dn);
        counts.push(sddl.split(`;${sid})`).length - 1);
      }
      outcomes.push(`trial ${trial}: ${counts.join('/')} ACEs`);
      assert.ok(
        counts.every((n) => n === 17),
        `every account keeps its 17 ACEs (${outcomes.at(-1)}): ${sddl}`,
      );
      for (const dn of users) {
        const removed = await run(['--remove', '--syncServerBindDN', dn], [TARGET_OU]);
        assert.equal(removed.code, 0, describeRun(removed));
      }
    }
    console.log(`# concurrent runs: ${outcomes.join('; ')}`);
  });

  test('reconcile: without --adAdministratorsGroup the membership goes; a source-only run says which destination rights stay', async () => {
    const first = await run(['--isSource', '--isDestination', '--adAdministratorsGroup']);
    assert.equal(first.code, 0, describeRun(first));
    const member = async (): Promise<boolean> =>
      valuesOf(await asAdmin((d) => d.read(ADMINISTRATORS, ['member'])), 'member').some(
        (m) => m.toLowerCase() === SYNC_DN.toLowerCase(),
      );
    assert.equal(await member(), true);
    const narrower = await run(['--isSource', '--isDestination']);
    assert.equal(narrower.code, 0, describeRun(narrower));
    assert.equal(await member(), false, 'the membership went');
    assert.match(
      narrower.stdout,
      /Membership of 'CN=Administrators,CN=Builtin,DC=example,DC=com' \.+ Updated \(removed/,
    );

    const sourceOnly = await run(['--isSource']);
    assert.equal(sourceOnly.code, 0, describeRun(sourceOnly));
    assert.match(
      sourceOnly.stderr,
      /still holds destination rights on 'DC=example,DC=com' from an earlier --isDestination run: kept/,
    );
    await removeAll();
  });

  test('--remove finds every base DN the account holds rights on, whatever -b says', async () => {
    const hr = `OU=HR ${randomUUID().slice(0, 6)},${BASE}`;
    await asAdmin((d) => d.apply({ kind: 'add', dn: hr, attributes: { objectClass: ['top', 'organizationalUnit'] } }));
    try {
      const r = await run(['--isDestination'], [TARGET_OU, hr]);
      assert.equal(r.code, 0, describeRun(r));
      const sid = await syncUserSid();
      assert.ok((await dc.sddl(hr)).includes(sid!));
      const removed = await run(['--remove', '--isDestination'], [TARGET_OU]);
      assert.equal(removed.code, 0, describeRun(removed));
      assert.ok(!(await dc.sddl(hr)).includes(sid!), 'the base DN not given to --remove was cleaned too');
      assert.ok(!(await dc.sddl(TARGET_OU)).includes(sid!));
    } finally {
      await asAdmin((d) => d.apply({ kind: 'delete', dn: hr }));
    }
  });

  test('a failed final check: the summary says NOT verified and --json has verified=false (exit 0)', async () => {
    const prepared = await run(['--isSource']);
    assert.equal(prepared.code, 0, describeRun(prepared));
    const sid = (await syncUserSid())!;
    // An administrator denies the DirSync right to the account afterwards.
    await asAdmin(async (d) => {
      const current = await d.read(BASE, ['nTSecurityDescriptor'], {
        controls: [sdFlagsControl(SecurityInformation.DACL)],
      });
      const sd = decodeSecurityDescriptor(binaryValue(current, 'nTSecurityDescriptor')!);
      const deny = { type: AceType.ACCESS_DENIED_OBJECT, flags: 0, mask: 0x100, sid, objectType: GET_CHANGES };
      await d.apply(daclWith(BASE, sd, deny));
    }, true);
    const r = await run(['--isSource', '--json']);
    assert.equal(r.code, 0, describeRun(r));
    const result = JSON.parse(r.stdout) as { verified: boolean | null };
    assert.equal(result.verified, false);
    assert.match(r.stderr, /NOT verified/);
    assert.doesNotMatch(r.stderr, /already prepared/);
    await removeAll();
  });

  test('a base DN in another partition (CN=Configuration) is refused (89); a taken sAMAccountName is 68 naming its holder', async () => {
    const config = await run(['--isDestination'], [`CN=Configuration,${BASE}`]);
    assert.equal(config.code, 89, describeRun(config));
    assert.match(config.stderr, /not in the domain naming context/);
    const holder = `CN=Holder ${randomUUID().slice(0, 6)},CN=Users,${BASE}`;
    await asAdmin((d) => d.apply(addUser(holder, { sAMAccountName: ['SyncUser'] })));
    try {
      const r = await run(['--isSource']);
      assert.equal(r.code, 68, describeRun(r));
      assert.match(r.stderr, new RegExp(`sAMAccountName 'SyncUser', which '${holder}' already has`));
      assert.equal(await asAdmin((d) => d.read(SYNC_DN, ['objectClass'])), undefined);
    } finally {
      await asAdmin((d) => d.apply({ kind: 'delete', dn: holder }));
    }
  });
});

if (skip !== undefined) {
  test(`Active Directory integration tests skipped: ${skip}`, { skip }, () => undefined);
}
