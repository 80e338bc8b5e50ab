// The floor (issue 25): what a competent engineer writes for the tool's job on 389 DS in twenty lines, plain
// ldapts, unbundled, one request after another, exactly the plan's minimum operations: the admin's bind, 6
// reads, the writes a first run needs (account, base ACI, plugin), the sync user's bind and change numbers.
// Environment as bench/prepare-389ds.sh: LDAP_URL BIND_DN BIND_PW_FILE SYNC_PW_FILE BASE_DN [MAX_AGE].
import { readFileSync } from 'node:fs';
import { Attribute, Change, Client } from 'ldapts';
const { LDAP_URL: url, BIND_DN, BIND_PW_FILE, SYNC_PW_FILE, BASE_DN: base, MAX_AGE: maxAge = '2d' } = process.env;
const [adminPw, syncPw] = [BIND_PW_FILE, SYNC_PW_FILE].map((file) => readFileSync(file, 'utf8'));
const [syncDn, plugin] = [`cn=Sync User,${base}`, 'cn=Retro Changelog Plugin,cn=plugins,cn=config'];
const aci = `(targetattr="*")(version 3.0; acl "prepare-endpoint-server: sync source read"; allow (read,search,compare) userdn="ldap:///${syncDn}";)`;
const admin = new Client({ url });
const read = (dn, attributes) =>
  admin.search(dn, { scope: 'base', attributes }).then(
    (r) => r.searchEntries[0],
    (e) => (e.code === 32 ? undefined : Promise.reject(e)),
  );
const has = (entry, name, value) =>
  [entry?.[name] ?? []].flat().some((v) => String(v).toLowerCase() === value.toLowerCase());
await admin.bind(BIND_DN, adminPw);
const rootDse = await read('', ['vendorVersion', 'changelog']);
if (!String(rootDse.vendorVersion).startsWith('389-Directory')) throw new Error('not a 389 Directory Server');
const [baseEntry, user, , pluginEntry] = [
  await read(base, ['aci']),
  await read(syncDn, ['1.1']),
  await read('cn=config', ['nsslapd-dynamic-plugins']),
  await read(plugin, ['nsslapd-pluginEnabled', 'nsslapd-changelogmaxage']),
];
const changelog = rootDse.changelog === undefined ? undefined : await read('cn=changelog', ['aci']);
const replace = (type, value) =>
  new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
if (user === undefined)
  await admin.add(syncDn, {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    cn: 'Sync User',
    sn: 'Sync User',
    userPassword: syncPw,
  });
if (!has(baseEntry, 'aci', aci))
  await admin.modify(
    base,
    new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [aci] }) }),
  );
if (!has(pluginEntry, 'nsslapd-pluginEnabled', 'on') || !has(pluginEntry, 'nsslapd-changelogmaxage', maxAge))
  await admin.modify(plugin, [replace('nsslapd-pluginEnabled', 'on'), replace('nsslapd-changelogmaxage', maxAge)]);
if (changelog !== undefined && !has(changelog, 'aci', aci.replace('source read', 'changelog read')))
  await admin.modify(
    'cn=changelog',
    new Change({
      operation: 'add',
      modification: new Attribute({ type: 'aci', values: [aci.replace('source read', 'changelog read')] }),
    }),
  );
const sync = new Client({ url });
await sync.bind(syncDn, syncPw);
console.log(
  (await sync.search('', { scope: 'base', attributes: ['firstChangeNumber', 'lastChangeNumber'] })).searchEntries[0],
);
await Promise.all([admin.unbind(), sync.unbind()]);
