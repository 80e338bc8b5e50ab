// The destination sync user's rights on 389 DS, attacked as the sync user on a real server with a global password
// policy (lockout after 3 failures): each way a review found to escape or weaken a password policy is refused
// (50), ordinary destination writes still work, a server whose ACIs predate these denies converges by one run,
// and a passwordAdminDN naming someone else's group is never joined.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { runCli } from '../helpers/cli.js';
import { readEntry, resultCode, withClient, type Bind } from '../helpers/directory.js';
import { connectionArgs, describeRun, makeTempDir, secretFile } from '../helpers/fixture.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';

const BASE = 'dc=example,dc=com';
const PEOPLE = `ou=People,${BASE}`;
const SYNC_DN = `cn=Sync User,${BASE}`;
const SYNC_PASSWORD = 'Sync-attack-pass-1';
const tmp = makeTempDir('pes-ds389-attacks-');
const syncPasswordFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
const logFile = path.join(tmp, 'run.log');

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

function change(operation: 'add' | 'replace' | 'delete', type: string, ...values: string[]): Change {
  return new Change({ operation, modification: new Attribute({ type, values }) });
}

const COS_CLASSES = ['cosSuperDefinition', 'cosPointerDefinition', 'cosClassicDefinition', 'cosIndirectDefinition'];

describe('389 DS: the destination sync user against password policy attacks', () => {
  let ds: Ds389;
  const sync: Bind = { dn: SYNC_DN, password: SYNC_PASSWORD };
  const admin = (): Bind => ({ dn: ds.adminDn, password: ds.adminPassword });
  const run = (extra: string[] = []): ReturnType<typeof runCli> =>
    runCli(
      connectionArgs(
        {
          host: '127.0.0.1',
          port: ds.port,
          bindDn: ds.adminDn,
          adminPasswordFile: secretFile(tmp, 'ds-admin.pw', ds.adminPassword),
          syncPasswordFile,
          logFile,
        },
        ['-b', BASE, '--syncServerBindDN', SYNC_DN, '--isDestination', ...extra],
      ),
    );
  let policyDn = '';

  before(async () => {
    ds = await startDs389();
    await withClient(ds.url, admin(), async (c) => {
      await c.modify('cn=config', [
        change('replace', 'passwordLockout', 'on'),
        change('replace', 'passwordMaxFailure', '3'),
        change('replace', 'passwordLockoutDuration', '3600'),
      ]);
      await c.add(`uid=victim,${PEOPLE}`, { objectClass: ['top', 'inetOrgPerson'], uid: 'victim', cn: 'v', sn: 'v' });
    });
    const r = await run(['--json']);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal((JSON.parse(r.stdout) as { verified: boolean }).verified, true, describeRun(r));
    policyDn = (await readEntry(ds.url, admin(), SYNC_DN, ['pwdpolicysubentry']))?.pwdpolicysubentry?.[0] ?? '';
    assert.match(policyDn, /nsPwPolicyEntry_user/);
  });

  after(async () => {
    await ds?.stop();
  });

  test('an added entry may not name a password policy (pwdpolicysubentry): 50', async () => {
    const code = await outcome(ds.url, sync, (c) =>
      c.add(`uid=escapee,${PEOPLE}`, {
        objectClass: ['top', 'inetOrgPerson'],
        uid: 'escapee',
        cn: 'e',
        sn: 'e',
        pwdpolicysubentry: policyDn,
      }),
    );
    assert.equal(code, 50);
    assert.equal(await readEntry(ds.url, admin(), `uid=escapee,${PEOPLE}`), undefined);
  });

  test('a plain entry may not be turned into a CoS, a template or a password policy by object class values: 50', async () => {
    const dn = `cn=plain,${PEOPLE}`;
    assert.equal(
      await outcome(ds.url, sync, (c) => c.add(dn, { objectClass: ['top', 'extensibleObject'], cn: 'plain' })),
      0,
      'the plain entry is ordinary data',
    );
    for (const added of [['ldapsubentry'], ['cosTemplate'], ['passwordPolicy'], ...COS_CLASSES.map((name) => [name])]) {
      assert.equal(
        await outcome(ds.url, sync, (c) => c.modify(dn, [change('add', 'objectClass', ...added)])),
        50,
        `objectClass ${added.join()} added`,
      );
    }
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.modify(dn, [
          change('add', 'objectClass', 'ldapsubentry', 'cosSuperDefinition', 'cosPointerDefinition'),
          change('add', 'cosTemplateDn', `cn=t,${PEOPLE}`),
          change('add', 'cosAttribute', 'pwdpolicysubentry default operational-default'),
        ]),
      ),
      50,
      'the CoS of the review',
    );
    for (const attribute of ['cosAttribute', 'cosTemplateDn', 'cosSpecifier', 'cosIndirectSpecifier']) {
      assert.equal(
        await outcome(ds.url, sync, (c) => c.modify(dn, [change('add', attribute, 'pwdpolicysubentry')])),
        50,
        attribute,
      );
    }
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.add(`cn=template,${PEOPLE}`, {
          objectClass: ['top', 'extensibleObject', 'cosTemplate'],
          cn: 'template',
        }),
      ),
      50,
      'a template added',
    );
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.add(`cn=cos,${PEOPLE}`, {
          objectClass: ['top', 'extensibleObject'],
          cn: 'cos',
          cosAttribute: 'pwdpolicysubentry default operational-default',
        }),
      ),
      50,
      'an entry added with cosAttribute',
    );
    const classes = (await readEntry(ds.url, admin(), dn, ['objectClass']))?.objectclass ?? [];
    assert.deepEqual(classes.map((name) => name.toLowerCase()).sort(), ['extensibleobject', 'top']);
    assert.equal(await outcome(ds.url, sync, (c) => c.del(dn)), 0);
  });

  test("another account's lockout and expiry state may not be written: 50 (nsAccountLock may)", async () => {
    const victim = `uid=victim,${PEOPLE}`;
    for (const [attribute, value] of [
      ['accountUnlockTime', '20200101000000Z'],
      ['passwordRetryCount', '0'],
      ['retryCountResetTime', '20200101000000Z'],
      ['passwordExpirationTime', '20380119031407Z'],
      ['passwordGraceUserTime', '0'],
      ['passwordExpWarned', '0'],
      ['passwordHistory', '20200101000000Z{SSHA}x'],
      ['pwdpolicysubentry', policyDn],
    ] as const) {
      assert.equal(
        await outcome(ds.url, sync, (c) => c.modify(victim, [change('replace', attribute, value)])),
        50,
        attribute,
      );
    }
    assert.equal(
      await outcome(ds.url, sync, (c) => c.modify(victim, [change('replace', 'nsAccountLock', 'true')])),
      0,
      'a sync carries account deactivation',
    );
  });

  test('entries may not be moved to another parent (moddn); renamed in place they may', async () => {
    await withClient(ds.url, admin(), (c) =>
      c.add(`ou=Svc,${BASE}`, { objectClass: ['top', 'organizationalUnit'], ou: 'Svc' }),
    );
    assert.equal(
      await outcome(ds.url, sync, (c) => c.modifyDN(`uid=victim,${PEOPLE}`, `uid=victim,ou=Svc,${BASE}`)),
      50,
    );
    assert.equal(await outcome(ds.url, sync, (c) => c.modifyDN(`uid=victim,${PEOPLE}`, 'uid=victim2')), 0);
    assert.equal(await outcome(ds.url, sync, (c) => c.modifyDN(`uid=victim2,${PEOPLE}`, 'uid=victim')), 0);
  });

  test('under a subtree policy (its CoS hands every entry a pwdpolicysubentry): ordinary writes work, moves are refused', async () => {
    const svc = `ou=Policed,${BASE}`;
    const container = `cn=nsPwPolicyContainer,${svc}`;
    const policy = `cn=subtree policy,${container}`;
    const template = `cn=subtree template,${container}`;
    await withClient(ds.url, admin(), async (c) => {
      await c.add(svc, { objectClass: ['top', 'organizationalUnit'], ou: 'Policed' });
      await c.add(container, { objectClass: ['top', 'nsContainer'], cn: 'nsPwPolicyContainer' });
      await c.add(policy, {
        objectClass: ['top', 'ldapsubentry', 'passwordPolicy'],
        cn: 'subtree policy',
        passwordLockout: 'on',
        passwordMaxFailure: '2',
      });
      await c.add(template, {
        objectClass: ['top', 'extensibleObject', 'cosTemplate', 'ldapsubentry'],
        cn: 'subtree template',
        pwdpolicysubentry: policy,
      });
      await c.add(`cn=nsPwPolicy_CoS,${svc}`, {
        objectClass: ['top', 'ldapsubentry', 'cosSuperDefinition', 'cosPointerDefinition'],
        cn: 'nsPwPolicy_CoS',
        cosTemplateDn: template,
        cosAttribute: 'pwdpolicysubentry default operational-default',
      });
    });
    const dn = `uid=policed,${svc}`;
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.add(dn, { objectClass: ['top', 'inetOrgPerson'], uid: 'policed', cn: 'p', sn: 'p' }),
      ),
      0,
      'an add under the subtree policy',
    );
    assert.deepEqual(
      (await readEntry(ds.url, admin(), dn, ['pwdpolicysubentry']))?.pwdpolicysubentry,
      [policy],
      'the subtree policy applies to it',
    );
    assert.equal(await outcome(ds.url, sync, (c) => c.modify(dn, [change('replace', 'description', 'x')])), 0);
    assert.equal(await outcome(ds.url, sync, (c) => c.modifyDN(svc, `ou=Policed,${PEOPLE}`)), 50, 'no moves');
    assert.equal(await outcome(ds.url, sync, (c) => c.del(dn)), 0);
  });

  test('ordinary destination writes work: person entries added, changed, given a password, deleted', async () => {
    const dn = `uid=ordinary,${PEOPLE}`;
    assert.equal(
      await outcome(ds.url, sync, async (c) => {
        await c.add(dn, {
          objectClass: ['top', 'inetOrgPerson'],
          uid: 'ordinary',
          cn: 'o',
          sn: 'o',
          userPassword: 'Ordinary-pass-1',
        });
        await c.modify(dn, [
          change('replace', 'description', 'changed'),
          change('add', 'objectClass', 'extensibleObject'),
        ]);
        await c.modify(dn, [change('replace', 'userPassword', 'Ordinary-pass-2')]);
        await c.del(dn);
      }),
      0,
    );
  });

  test('a server prepared before these denies converges: the missing ones are added by one run', async () => {
    const acis = (await readEntry(ds.url, admin(), BASE, ['aci']))?.aci ?? [];
    const dropped = acis.filter((aci) => /no password policy classes|sync destination add"/.test(aci));
    assert.equal(dropped.length, 2);
    const older = acis.find((aci) => /acl "prepare-endpoint-server: sync destination write"/.test(aci)) ?? '';
    await withClient(ds.url, admin(), (c) =>
      c.modify(BASE, [
        change('delete', 'aci', ...dropped, older),
        change(
          'add',
          'aci',
          older.replace(
            'allow (read,search,compare,delete,write)',
            'allow (read,search,compare,add,delete,write,moddn)',
          ),
        ),
      ]),
    );
    const r = await run();
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /Write access for the sync user on 'dc=example,dc=com' \.+ Updated/);
    const dn = `cn=again,${PEOPLE}`;
    await withClient(ds.url, admin(), (c) => c.add(dn, { objectClass: ['top', 'extensibleObject'], cn: 'again' }));
    assert.equal(await outcome(ds.url, sync, (c) => c.modify(dn, [change('add', 'objectClass', 'cosTemplate')])), 50);
    assert.equal(
      await outcome(ds.url, sync, (c) =>
        c.add(`uid=escapee,${PEOPLE}`, {
          objectClass: ['top', 'inetOrgPerson'],
          uid: 'escapee',
          cn: 'e',
          sn: 'e',
          pwdpolicysubentry: policyDn,
        }),
      ),
      50,
    );
    assert.match((await run()).stdout, /Write access for the sync user on 'dc=example,dc=com' \.+ Unchanged/);
  });

  test("a passwordAdminDN naming someone else's group: never joined, what to add by hand is said", async () => {
    const theirs = `cn=their admins,${BASE}`;
    await withClient(ds.url, admin(), async (c) => {
      await c.add(theirs, { objectClass: ['top', 'groupOfNames'], cn: 'their admins', member: `uid=victim,${PEOPLE}` });
      await c.modify('cn=config', [change('replace', 'passwordAdminDN', theirs)]);
    });
    const r = await run();
    assert.equal(r.code, 0, describeRun(r));
    assert.match(
      r.stderr,
      /a group this tool did not make[^\n]*add 'cn=Sync User,dc=example,dc=com' to its member by hand/,
    );
    assert.doesNotMatch(r.stdout, /Pre-hashed password writes[^\n]*Created/);
    const members = (await readEntry(ds.url, admin(), theirs, ['member']))?.member ?? [];
    assert.deepEqual(members, [`uid=victim,${PEOPLE}`], 'the sync user is not a member');
  });
});
