// The floor (issue 25) on PingDirectory: plain ldapts, unbundled, one request after another, exactly the plan's
// minimum operations: the admin's bind, 4 reads, the writes a first run needs (the root DN user, the changelog
// backend), the sync user's bind and change numbers.
// Environment as bench/prepare-pingdirectory.sh: LDAP_URL BIND_DN BIND_PW_FILE SYNC_PW_FILE BASE_DN [MAX_AGE].
import { readFileSync } from 'node:fs';
import { Attribute, Change, Client } from 'ldapts';
const { LDAP_URL: url, BIND_DN, BIND_PW_FILE, SYNC_PW_FILE, BASE_DN: base, MAX_AGE: maxAge = '2 d' } = process.env;
const [adminPw, syncPw] = [BIND_PW_FILE, SYNC_PW_FILE].map((file) => readFileSync(file, 'utf8'));
const [syncDn, backend] = ['cn=Sync User,cn=Root DNs,cn=config', 'ds-cfg-backend-id=changelog,cn=Backends,cn=config'];
const privileges = ['bypass-read-acl', 'config-read', 'unindexed-search'];
const admin = new Client({ url });
const read = (dn, attributes) =>
  admin.search(dn, { scope: 'base', attributes }).then(
    (r) => r.searchEntries[0],
    (e) => (e.code === 32 ? undefined : Promise.reject(e)),
  );
const has = (entry, name, value) =>
  [entry?.[name] ?? []].flat().some((v) => String(v).toLowerCase() === value.toLowerCase());
await admin.bind(BIND_DN, adminPw);
if (!String((await read('', ['vendorName'])).vendorName).startsWith('Ping Identity'))
  throw new Error('not PingDirectory');
if ((await read(base, ['1.1'])) === undefined) throw new Error(`${base} does not exist`);
const [user, backendEntry] = [
  await read(syncDn, ['ds-privilege-name']),
  await read(backend, ['ds-cfg-enabled', 'ds-cfg-changelog-maximum-age']),
];
const replace = (type, value) =>
  new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
const missing = privileges.filter((p) => !has(user, 'ds-privilege-name', p));
if (user === undefined)
  await admin.add(syncDn, {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'ds-cfg-user', 'ds-cfg-root-dn-user'],
    cn: 'Sync User',
    sn: 'User',
    userPassword: syncPw,
    'ds-cfg-inherit-default-root-privileges': 'false',
    'ds-privilege-name': privileges,
  });
else if (missing.length > 0)
  await admin.modify(
    syncDn,
    new Change({ operation: 'add', modification: new Attribute({ type: 'ds-privilege-name', values: missing }) }),
  );
if (!has(backendEntry, 'ds-cfg-enabled', 'true') || !has(backendEntry, 'ds-cfg-changelog-maximum-age', maxAge))
  await admin.modify(backend, [replace('ds-cfg-enabled', 'true'), replace('ds-cfg-changelog-maximum-age', maxAge)]);
const sync = new Client({ url });
await sync.bind(syncDn, syncPw);
const numbers = (
  await sync.search('', {
    scope: 'base',
    attributes: ['firstChangeNumber', 'lastChangeNumber', 'lastPurgedChangeNumber'],
  })
).searchEntries[0];
if (numbers.lastChangeNumber === undefined) throw new Error('the sync user cannot read the change numbers');
await Promise.all([admin.unbind(), sync.unbind()]);
