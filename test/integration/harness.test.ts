// Self-test of the real-server harness: 389 DS start, seed data, restart, stop + purge.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { acceptsConnection } from '../servers/harness.js';
import { started } from '../helpers/fixture.js';
import { adminBind, canBind, readEntry, searchDns } from '../helpers/directory.js';

let ds: Ds389 | undefined;

before(async () => {
  ds = await startDs389();
});

after(async () => {
  await ds?.stop();
});

test('389 DS listens on loopback and has both suffixes and ou=People', async () => {
  const d = started(ds, '389 DS');
  assert.equal(d.host, '127.0.0.1');
  assert.equal(d.url, `ldap://127.0.0.1:${d.port}`);

  const com = await readEntry(d.url, adminBind(d), 'dc=example,dc=com', ['objectClass', 'dc']);
  assert.ok(com, 'dc=example,dc=com exists');
  assert.deepEqual(com.dc, ['example']);

  const org = await readEntry(d.url, adminBind(d), 'dc=example,dc=org');
  assert.ok(org, 'dc=example,dc=org exists');

  const people = await readEntry(d.url, adminBind(d), 'ou=People,dc=example,dc=com', ['objectClass']);
  assert.ok(people, 'ou=People exists');
  assert.ok(
    people.objectclass?.some((v) => v.toLowerCase() === 'organizationalunit'),
    `ou=People is an organizationalUnit: ${JSON.stringify(people.objectclass)}`,
  );

  assert.equal(await readEntry(d.url, adminBind(d), 'ou=Nobody,dc=example,dc=com'), undefined);

  const ous = await searchDns(d.url, adminBind(d), 'dc=example,dc=com', '(objectClass=organizationalUnit)');
  assert.ok(
    ous.some((dn) => dn.toLowerCase() === 'ou=people,dc=example,dc=com'),
    JSON.stringify(ous),
  );

  const config = await readEntry(d.url, adminBind(d), 'cn=config', ['nsslapd-listenhost']);
  assert.deepEqual(config?.['nsslapd-listenhost'], ['127.0.0.1']);
});

test('Directory Manager bind: right password works, wrong one fails', async () => {
  const d = started(ds, '389 DS');
  assert.equal(await canBind(d.url, d.adminDn, d.adminPassword), true);
  assert.equal(await canBind(d.url, d.adminDn, `${d.adminPassword}-wrong`), false);
});

test('restart keeps the data and the server answers again', async () => {
  const d = started(ds, '389 DS');
  await d.restart();
  const people = await readEntry(d.url, adminBind(d), 'ou=People,dc=example,dc=com');
  assert.ok(people, 'ou=People still exists after restart');
});

test('stop shuts the server down and removes its data directory', async () => {
  const d = started(ds, '389 DS');
  assert.equal(await acceptsConnection(d.port), true);
  await d.stop();
  assert.equal(await acceptsConnection(d.port), false, 'port no longer accepts connections');
  assert.equal(existsSync(d.dataDir), false, 'data directory removed');
  await d.stop(); // idempotent
});
