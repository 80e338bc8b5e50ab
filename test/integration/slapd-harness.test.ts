// Self-test of the OpenLDAP harness: slapd start, seed data, access rules,
// limited admin, restart, stop + purge.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { Attribute, Change } from 'ldapts';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { acceptsConnection } from '../servers/harness.js';
import { started } from '../helpers/fixture.js';
import { adminBind, canBind, readEntry, resultCode, searchDns, withClient } from '../helpers/directory.js';

const execFileP = promisify(execFile);

/** The SASL EXTERNAL identity of the user running the tests (root in CI) over LDAPI. */
const ROOT_PEERCRED = `gidNumber=${process.getgid?.() ?? 0}+uidNumber=${process.getuid?.() ?? 0},cn=peercred,cn=external,cn=auth`;

let slapd: Slapd | undefined;

function limited(s: Slapd): { dn: string; password: string } {
  return { dn: s.limitedDn, password: s.adminPassword };
}

before(async () => {
  slapd = await startSlapd();
});

after(async () => {
  await slapd?.stop();
});

test('slapd listens on loopback and has the suffix, ou=People and cn=limited', async () => {
  const s = started(slapd, 'slapd');
  assert.equal(s.host, '127.0.0.1');
  assert.equal(s.url, `ldap://127.0.0.1:${s.port}`);
  assert.equal(s.adminDn, 'cn=admin,dc=example,dc=com');
  assert.equal(s.configAdminDn, 'cn=admin,cn=config');
  assert.equal(s.limitedDn, 'cn=limited,dc=example,dc=com');

  const com = await readEntry(s.url, adminBind(s), 'dc=example,dc=com', ['objectClass', 'dc']);
  assert.ok(com, 'dc=example,dc=com exists');
  assert.deepEqual(com.dc, ['example']);

  const people = await readEntry(s.url, adminBind(s), 'ou=People,dc=example,dc=com', ['objectClass']);
  assert.ok(people, 'ou=People exists');
  assert.ok(
    people.objectclass?.some((v) => v.toLowerCase() === 'organizationalunit'),
    `ou=People is an organizationalUnit: ${JSON.stringify(people.objectclass)}`,
  );
  assert.ok(await readEntry(s.url, adminBind(s), s.limitedDn), 'cn=limited exists');
  assert.equal(await readEntry(s.url, adminBind(s), 'ou=Nobody,dc=example,dc=com'), undefined);

  // anonymous: root DSE readable, data readable (rule {3}), userPassword not
  const dse = await readEntry(s.url, undefined, '', ['namingContexts', 'configContext']);
  assert.deepEqual(dse?.namingcontexts, ['dc=example,dc=com']);
  assert.deepEqual(dse?.configcontext, ['cn=config']);
  const anonLimited = await readEntry(s.url, undefined, s.limitedDn, ['cn', 'userPassword']);
  assert.deepEqual(anonLimited?.cn, ['limited']);
  assert.deepEqual(anonLimited?.userpassword ?? [], [], 'userPassword hidden from anonymous');

  const st = statSync(s.accesslogDirectory);
  assert.ok(st.isDirectory(), 'accesslog directory pre-created');
  assert.equal(st.mode & 0o777, 0o700);
});

test('binds: the three accounts with the right password, not with a wrong one', async () => {
  const s = started(slapd, 'slapd');
  for (const dn of [s.adminDn, s.configAdminDn, s.limitedDn]) {
    assert.equal(await canBind(s.url, dn, s.adminPassword), true, dn);
    assert.equal(await canBind(s.url, dn, `${s.adminPassword}-wrong`), false, dn);
  }
});

test('cn=admin,dc=example,dc=com manages cn=config and sees the data DB rules in order', async () => {
  const s = started(slapd, 'slapd');
  const db = await readEntry(s.url, adminBind(s), 'olcDatabase={1}mdb,cn=config', ['olcAccess', 'olcSuffix']);
  assert.ok(db, 'olcDatabase={1}mdb,cn=config readable by the data admin');
  assert.deepEqual(db.olcsuffix, ['dc=example,dc=com']);
  assert.deepEqual(db.olcaccess, [
    `{0}to * by dn.exact="${ROOT_PEERCRED}" manage by * break`,
    '{1}to * by dn.exact="cn=limited,dc=example,dc=com" write by * break',
    '{2}to attrs=userPassword by self write by anonymous auth by * none',
    '{3}to * by * read',
  ]);

  const modules = await readEntry(s.url, adminBind(s), 'cn=module{0},cn=config', ['olcModuleLoad']);
  assert.deepEqual(modules?.olcmoduleload, ['{0}back_mdb']);

  const schemas = await searchDns(s.url, adminBind(s), 'cn=schema,cn=config', '(objectClass=olcSchemaConfig)');
  for (const name of ['core', 'cosine', 'nis', 'inetorgperson']) {
    assert.ok(
      schemas.some((dn) => new RegExp(`^cn=\\{\\d+\\}${name},cn=schema,cn=config$`, 'i').test(dn)),
      `schema ${name} loaded: ${JSON.stringify(schemas)}`,
    );
  }

  // the config rootdn reads it too
  const cfg = await readEntry(s.url, { dn: s.configAdminDn, password: s.adminPassword }, 'cn=config', ['cn']);
  assert.ok(cfg, 'cn=config readable by cn=admin,cn=config');
});

test('root manages cn=config through LDAPI (SASL EXTERNAL)', { skip: process.getuid?.() !== 0 }, async () => {
  const s = started(slapd, 'slapd');
  const { stdout } = await execFileP('ldapsearch', [
    '-Q',
    '-Y',
    'EXTERNAL',
    '-H',
    s.ldapiUrl,
    '-LLL',
    '-s',
    'base',
    '-b',
    'olcDatabase={0}config,cn=config',
    'olcRootDN',
  ]);
  assert.match(stdout, /^olcRootDN: cn=admin,cn=config$/m);
});

test('cn=limited cannot read cn=config but can add under ou=People', async () => {
  const s = started(slapd, 'slapd');
  for (const dn of ['cn=config', 'olcDatabase={1}mdb,cn=config']) {
    let entries: unknown[] = [];
    try {
      entries = await withClient(s.url, limited(s), async (c) => {
        const res = await c.search(dn, { scope: 'sub', filter: '(objectClass=*)' });
        return res.searchEntries;
      });
    } catch (err) {
      const code = resultCode(err);
      assert.ok(code === 32 || code === 50, `search ${dn} as cn=limited: expected 32 or 50, got ${String(err)}`);
    }
    assert.deepEqual(entries, [], `cn=limited sees nothing under ${dn}`);
  }

  // nor write it
  await assert.rejects(
    withClient(s.url, limited(s), (c) =>
      c.modify(
        'olcDatabase={1}mdb,cn=config',
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'olcAccess', values: ['to * by * write'] }),
        }),
      ),
    ),
    (err: unknown) => [32, 50].includes(resultCode(err) ?? -1),
  );

  const dn = 'uid=harness,ou=People,dc=example,dc=com';
  await withClient(s.url, limited(s), (c) =>
    c.add(dn, { objectClass: ['inetOrgPerson'], uid: 'harness', cn: 'Harness', sn: 'Test' }),
  );
  const added = await readEntry(s.url, adminBind(s), dn, ['sn', 'creatorsName']);
  assert.deepEqual(added?.sn, ['Test']);
  assert.deepEqual(added?.creatorsname, [s.limitedDn]);
});

test('restart keeps data and cn=config and the server answers again', async () => {
  const s = started(slapd, 'slapd');
  await s.restart();
  assert.ok(await readEntry(s.url, adminBind(s), 'ou=People,dc=example,dc=com'), 'ou=People still exists');
  assert.ok(await readEntry(s.url, adminBind(s), 'uid=harness,ou=People,dc=example,dc=com'), 'added entry kept');
  const db = await readEntry(s.url, adminBind(s), 'olcDatabase={1}mdb,cn=config', ['olcAccess']);
  assert.equal(db?.olcaccess?.length, 4);
});

test('stop shuts the server down and removes its data directory', async () => {
  const s = started(slapd, 'slapd');
  assert.equal(await acceptsConnection(s.port), true);
  await s.stop();
  assert.equal(await acceptsConnection(s.port), false, 'port no longer accepts connections');
  assert.equal(existsSync(s.dataDir), false, 'data directory removed');
  await s.stop(); // idempotent
});
