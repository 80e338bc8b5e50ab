// The reference sync from a prepared 389 DS source: the proof that "prepared" means ready for a sync engine.
// One 389 DS source (2,600 people imported in one task, its look-through and paged size limits lowered below
// that), prepared as a source; a 389 DS and an OpenLDAP destination, each prepared as a destination. The engine
// of test/helpers/sync-engine.ts, bound only as the sync users, runs a full resync (unpaged, then paged), then
// replays the retro changelog: adds, modifies, renames with a new superior, deletes and a pre-hashed password
// change, until each destination equals the source. Everything is checked on the servers, as their admins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Attribute, Change } from 'ldapts';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { canBind, readEntry, resultCode, withClient, type Bind } from '../helpers/directory.js';
import { makeTempDir, started } from '../helpers/fixture.js';
import { ReferenceSync, ssha, type ChangeRecord } from '../helpers/sync-engine.js';
import {
  assertPasswords,
  assertSameEntries,
  BASE,
  BULK_COUNT,
  bulkLdif,
  endpointOf,
  makeChanges,
  prepare,
  PRINTER,
  printerLdif,
  SCOPE,
  searchOutcome,
  snapshot,
  SYNC_DN,
  timedInto,
  writeLdif,
  ldapadd,
  type Endpoint,
  type SourceChanges,
} from '../helpers/sync-fixture.js';

const SOURCE_PASSWORD = `Sync-389-source-${randomUUID()}`;
const DESTINATION_PASSWORD = `Sync-389-destination-${randomUUID()}`;
const READER_DN = `uid=reader,${BASE}`;
const READER_PASSWORD = 'Reader-password-1';
const READER_ACI = `(targetattr="*")(version 3.0; acl "test: reader without exemptions"; allow (read,search,compare) userdn="ldap:///${READER_DN}";)`;
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
/** Moves to a new parent, which this tool does not grant on 389 DS (README): added by hand, as the README says. */
const MOVE_ACI = `(targetattr="*")(version 3.0; acl "sync destination moves (added by hand)"; allow (moddn) userdn="ldap:///${SYNC_DN}";)`;
const PASSWORD_ADMINS = 'cn=prepare-endpoint-server password administrators,cn=config';
/** Lowered on the source so the sync user's exemption from each limit is proven with 2,600 entries. */
const LOOKTHROUGH_LIMIT = '1000';
const PAGED_SIZE_LIMIT = '1000';
/** The page size of the paged searches: below PAGED_SIZE_LIMIT. */
const PAGE_SIZE = 500;

const tmp = makeTempDir('pes-sync-389-');
let source: Ds389 | undefined;
let destination389: Ds389 | undefined;
let destinationSlapd: Slapd | undefined;
let changes: SourceChanges | undefined;
const timings: Record<string, number> = {};

const sourceEndpoint = (): Endpoint => endpointOf(started(source, '389 DS source'), SOURCE_PASSWORD);
const destinationEndpoints = (): Record<'389 DS' | 'OpenLDAP', Endpoint> => {
  return {
    '389 DS': endpointOf(started(destination389, '389 DS destination'), DESTINATION_PASSWORD),
    OpenLDAP: endpointOf(started(destinationSlapd, 'slapd destination'), DESTINATION_PASSWORD),
  };
};
const sync = (e: Endpoint): { url: string; dn: string; password: string } => ({
  url: e.url,
  dn: SYNC_DN,
  password: e.syncPassword,
});
const engines = new Map<string, ReferenceSync>();
function engine(name: '389 DS' | 'OpenLDAP'): ReferenceSync {
  let found = engines.get(name);
  if (found === undefined) {
    found = new ReferenceSync('389ds', sync(sourceEndpoint()), sync(destinationEndpoints()[name]), SCOPE);
    engines.set(name, found);
  }
  return found;
}

const timed = <T>(name: string, fn: () => Promise<T>): Promise<T> => timedInto(timings, name, fn);

/** An online import (cn=tasks): replaces the backend of `BASE` with the LDIF file, in about a second. */
async function importLdif(ds: Ds389, file: string): Promise<void> {
  const task = `cn=pes-import-${Date.now()},cn=import,cn=tasks,cn=config`;
  const admin: Bind = { dn: ds.adminDn, password: ds.adminPassword };
  await withClient(ds.url, admin, (c) =>
    c.add(task, {
      objectClass: ['top', 'extensibleObject'],
      cn: [task.slice(3, task.indexOf(','))],
      nsFilename: [file],
      nsInstance: ['userroot'],
    }),
  );
  for (let i = 0; i < 600; i++) {
    const status = await readEntry(ds.url, admin, task, ['nsTaskExitCode', 'nsTaskStatus']);
    const code = status?.nstaskexitcode?.[0];
    if (code !== undefined) {
      assert.equal(code, '0', `import task: ${JSON.stringify(status)}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('the import task did not finish in 60 s');
}

async function modifyAsAdmin(
  ds: Ds389,
  dn: string,
  type: string,
  values: string[],
  operation: 'replace' | 'add' = 'replace',
): Promise<void> {
  await withClient(ds.url, { dn: ds.adminDn, password: ds.adminPassword }, (c) =>
    c.modify(dn, new Change({ operation, modification: new Attribute({ type, values }) })),
  );
}

describe('reference sync from a prepared 389 DS source', () => {
  before(async () => {
    const started389 = Date.now();
    [source, destination389, destinationSlapd] = await Promise.all([
      startDs389({ noSync: true }),
      startDs389({ noSync: true }),
      startSlapd({ noSync: true }),
    ]);
    const ds = source;
    await importLdif(
      ds,
      writeLdif(
        tmp,
        'bulk.ldif',
        bulkLdif({ withSuffix: true, baseAci: READER_ACI }) +
          `\ndn: ${READER_DN}\nobjectClass: top\nobjectClass: account\nobjectClass: simpleSecurityObject\nuid: reader\nuserPassword: ${READER_PASSWORD}\n`,
      ),
    );
    await modifyAsAdmin(ds, 'cn=config,cn=ldbm database,cn=plugins,cn=config', 'nsslapd-lookthroughlimit', [
      LOOKTHROUGH_LIMIT,
    ]);
    await modifyAsAdmin(ds, 'cn=config', 'nsslapd-pagedsizelimit', [PAGED_SIZE_LIMIT]);
    // The printer exists on the destinations too, put there by their admins: a sync must leave it alone.
    const destinations = destinationEndpoints();
    for (const d of Object.values(destinations))
      await ldapadd(d.url, d.admin, writeLdif(tmp, `printer-${d.port}.ldif`, `${printerLdif()}\n`));
    timings['servers and bulk load'] = Date.now() - started389;

    // Prepared as each role needs; the 389 DS source's change log starts at the restart.
    await timed('preparations', async () => {
      await prepare(sourceEndpoint(), tmp, ['--isSource']);
      await ds.restart();
      await prepare(sourceEndpoint(), tmp, ['--isSource']);
      await prepare(destinations['389 DS'], tmp, ['--isDestination']);
      await prepare(destinations.OpenLDAP, tmp, ['--isDestination']);
    });
  });

  after(async () => {
    console.log(`# reference sync from 389 DS, ms: ${JSON.stringify(timings)}`);
    await Promise.all([source?.stop(), destination389?.stop(), destinationSlapd?.stop()]);
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the source sync user reads all 2,600 entries unpaged and paged; an account without its exemptions cannot', async () => {
    const ds = started(source, '389 DS source');
    const syncUser: Bind = { dn: SYNC_DN, password: SOURCE_PASSWORD };
    // the people, base, ou=People, ou=Bulk, the printer, the reader, the sync user, and the cn=nsPwPolicyContainer
    // that holds its own password policy (the policy itself is an ldapsubentry, which a plain search leaves out)
    const everything = BULK_COUNT + 7;
    assert.deepEqual(
      await searchOutcome(ds.url, syncUser),
      { code: 0, entries: everything },
      'unpaged: past the 2,000 size limit and the look-through limit',
    );
    assert.deepEqual(
      await searchOutcome(ds.url, syncUser, PAGE_SIZE),
      { code: 0, entries: everything },
      'paged: past the paged size limit',
    );
    const reader: Bind = { dn: READER_DN, password: READER_PASSWORD };
    assert.ok([4, 11].includes((await searchOutcome(ds.url, reader)).code), 'the reader hits a limit unpaged');
    assert.ok([4, 11].includes((await searchOutcome(ds.url, reader, PAGE_SIZE)).code), 'the reader hits a limit paged');
  });

  for (const name of ['389 DS', 'OpenLDAP'] as const) {
    test(`full resync to ${name}: every entry copied unpaged, a paged resync then finds nothing to write`, async () => {
      const e = engine(name);
      await e.markChangeLogPosition();
      const first = await timed(`full resync to ${name}`, () => e.fullResync({ paged: false }));
      assert.equal(first.read, BULK_COUNT + 2, 'ou=People, ou=Bulk and the people');
      assert.equal(first.added, BULK_COUNT + 1, 'everything but ou=People, which the destination had');
      const again = await timed(`paged resync of ${name}`, () => e.fullResync({ paged: true }));
      assert.deepEqual(again, { read: BULK_COUNT + 2, added: 0, modified: 0, deleted: 0, unchanged: BULK_COUNT + 2 });
      const d = destinationEndpoints()[name];
      assertSameEntries(
        await snapshot(e, sourceEndpoint().url, sourceEndpoint().admin),
        await snapshot(e, d.url, d.admin),
        name,
      );
    });
  }

  test('changes replayed from the retro changelog: each destination ends equal to the source, passwords included', async () => {
    const src = sourceEndpoint();
    changes = await makeChanges(src.url, src.admin);
    // Outside the base DN: not in the change log (nsslapd-include-suffix), asserted on the records below.
    await withClient(src.url, src.admin, (c) =>
      c.add('ou=Elsewhere,dc=example,dc=org', { objectClass: ['top', 'organizationalUnit'], ou: ['Elsewhere'] }),
    );
    const expected = await snapshot(engine('389 DS'), src.url, src.admin);
    const dest = started(destination389, '389 DS destination');
    await modifyAsAdmin(dest, BASE, 'aci', [MOVE_ACI], 'add');
    for (const name of ['389 DS', 'OpenLDAP'] as const) {
      const e = engine(name);
      const records = await e.readChanges();
      const outcome = await timed(`replay to ${name}`, () => e.replay(records));
      assert.ok(outcome.applied >= 14, JSON.stringify(outcome));
      const d = destinationEndpoints()[name];
      assertSameEntries(expected, await snapshot(e, d.url, d.admin), `${name} after the replay`);
      await assertPasswords(d.url, changes, [0, 7, 999, BULK_COUNT - 1]);
      assert.ok(
        await readEntry(d.url, d.admin, PRINTER, ['cn']),
        `${name}: the printer, deleted on the source but not synchronized, is still there`,
      );
      assert.equal(await readEntry(d.url, d.admin, changes.movedFrom, ['uid']), undefined);
      assert.ok(await readEntry(d.url, d.admin, changes.movedTo, ['uid']), 'moved to its new parent');
    }
  });

  test('the records the engine read: deletes carry the deleted entry, every record the nsUniqueId of its entry', async () => {
    const records: readonly ChangeRecord[] = engine('389 DS').recordsRead;
    const c = started(changes, 'the changes');
    const deletes = records.filter((r) => r.type === 'delete');
    assert.equal(deletes.length, 4);
    for (const record of deletes) {
      assert.ok((record.attributes['objectclass'] ?? []).length > 0, `${record.dn}: objectClass in the record`);
      assert.ok((record.attributes['cn'] ?? []).length > 0, `${record.dn}: the whole entry (nsslapd-log-deleted)`);
    }
    const ds = started(source, '389 DS source');
    const renamed = await readEntry(ds.url, { dn: ds.adminDn, password: ds.adminPassword }, c.renamedThenChanged, [
      'nsUniqueId',
    ]);
    const id = renamed?.nsuniqueid?.[0];
    assert.ok(id !== undefined);
    const ofRenamed = records.filter((r) => r.entryId === id);
    assert.deepEqual(
      ofRenamed.map((r) => r.type),
      ['modrdn', 'modify'],
      'the rename and the change after it carry the same targetUniqueId',
    );
    assert.ok(
      records.every((r) => r.entryId !== undefined && /^[0-9a-f]{8}(-[0-9a-f]{8}){3}$/.test(r.entryId)),
      'every record has a targetUniqueId',
    );
    const unscoped = records.filter((r) => r.dn.toLowerCase().endsWith('dc=example,dc=org'));
    assert.deepEqual(unscoped, [], 'the change log holds only the base DN (nsslapd-include-suffix)');
    assert.ok(
      await readEntry(ds.url, { dn: ds.adminDn, password: ds.adminPassword }, 'ou=Elsewhere,dc=example,dc=org'),
      'the write outside the base was made',
    );
  });

  test('re-runs write nothing; --remove takes back what the preparations added', async () => {
    const src = sourceEndpoint();
    const destinations = destinationEndpoints();
    for (const [endpoint, role] of [
      [src, '--isSource'],
      [destinations['389 DS'], '--isDestination'],
      [destinations.OpenLDAP, '--isDestination'],
    ] as const) {
      const { json } = await prepare(endpoint, tmp, [role]);
      assert.equal(json.changed, false, JSON.stringify(json.steps));
      assert.equal(json.ldap.writes, 0);
    }
    const ds = started(source, '389 DS source');
    const dsAdmin: Bind = { dn: ds.adminDn, password: ds.adminPassword };
    const plugin = await readEntry(ds.url, dsAdmin, PLUGIN_DN, [
      'nsslapd-log-deleted',
      'nsslapd-attribute',
      'nsslapd-include-suffix',
      'description',
    ]);
    assert.deepEqual(plugin?.['nsslapd-log-deleted'], ['on']);
    assert.deepEqual(plugin?.['nsslapd-attribute'], ['nsuniqueid:targetUniqueId']);
    assert.deepEqual(plugin?.['nsslapd-include-suffix'], [BASE]);
    assert.equal(plugin?.description?.length, 3, 'one marker per setting this tool added');
    const dest = started(destination389, '389 DS destination');
    const destAdmin: Bind = { dn: dest.adminDn, password: dest.adminPassword };
    assert.deepEqual((await readEntry(dest.url, destAdmin, 'cn=config', ['passwordAdminDN']))?.passwordadmindn, [
      PASSWORD_ADMINS,
    ]);

    await prepare(src, tmp, ['--remove', '--disableChangelog']);
    const removed = await readEntry(ds.url, dsAdmin, PLUGIN_DN, [
      'nsslapd-log-deleted',
      'nsslapd-attribute',
      'nsslapd-include-suffix',
      'description',
      'nsslapd-pluginEnabled',
    ]);
    const settings = Object.fromEntries(
      Object.entries(removed ?? {}).filter(([name, values]) => name !== 'dn' && values.length > 0),
    );
    assert.deepEqual(settings, { 'nsslapd-pluginenabled': ['off'] }, 'the plugin is as 389 DS shipped it');
    assert.equal(await readEntry(ds.url, dsAdmin, SYNC_DN), undefined);

    await prepare(destinations['389 DS'], tmp, ['--remove']);
    assert.equal(await readEntry(dest.url, destAdmin, PASSWORD_ADMINS), undefined, 'the group is gone');
    assert.deepEqual(
      (await readEntry(dest.url, destAdmin, 'cn=config', ['passwordAdminDN']))?.passwordadmindn ?? [''],
      [''],
      'passwordAdminDN is unset again',
    );
  });

  test('a passwordAdminDN someone set is kept: never joined (said what to add by hand); added by hand, the sync user writes pre-hashed passwords, and leaves it on --remove', async () => {
    const dest = started(destination389, '389 DS destination');
    const destAdmin: Bind = { dn: dest.adminDn, password: dest.adminPassword };
    const theirs = `cn=Helpdesk Password Admins,${BASE}`;
    const member = `uid=${'u00000'},ou=Bulk,${BASE}`;
    await withClient(dest.url, destAdmin, (c) =>
      c.add(theirs, {
        objectClass: ['top', 'groupOfUniqueNames'],
        cn: ['Helpdesk Password Admins'],
        uniqueMember: [member],
      }),
    );
    await modifyAsAdmin(dest, 'cn=config', 'passwordAdminDN', [theirs]);
    const d = destinationEndpoints()['389 DS'];
    const { json } = await prepare(d, tmp, ['--isDestination']);
    assert.deepEqual(
      json.steps.find((step) => step.id === 'password-admin')?.status,
      'warning',
      JSON.stringify(json.steps),
    );
    assert.deepEqual(
      (await readEntry(dest.url, destAdmin, theirs, ['uniqueMember']))?.uniquemember,
      [member],
      'the sync user does not join a group this tool did not make',
    );
    // The manual step the run said: the operator adds the sync user by hand.
    await modifyAsAdmin(dest, theirs, 'uniqueMember', [SYNC_DN], 'add');
    assert.deepEqual(
      (await readEntry(dest.url, destAdmin, 'cn=config', ['passwordAdminDN']))?.passwordadmindn,
      [theirs],
      'their passwordAdminDN stays',
    );
    assert.equal(await readEntry(dest.url, destAdmin, PASSWORD_ADMINS), undefined, 'no group of ours next to theirs');

    // The write a sync makes: a pre-hashed password, by the destination sync user; the original password then binds.
    const target = `uid=u00007,ou=Bulk,${BASE}`;
    await withClient(dest.url, { dn: SYNC_DN, password: DESTINATION_PASSWORD }, (c) =>
      c.modify(
        target,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userPassword', values: [ssha('carried-pre-hashed')] }),
        }),
      ),
    );
    assert.equal(await canBind(dest.url, target, 'carried-pre-hashed'), true);
    assert.equal((await prepare(d, tmp, ['--isDestination'])).json.changed, false, 're-run: unchanged');

    await prepare(d, tmp, ['--remove']);
    assert.deepEqual(
      (await readEntry(dest.url, destAdmin, theirs, ['uniqueMember']))?.uniquemember,
      [member],
      'only their member is left',
    );
    assert.deepEqual((await readEntry(dest.url, destAdmin, 'cn=config', ['passwordAdminDN']))?.passwordadmindn, [
      theirs,
    ]);
  });

  test('without the password administrators group, 389 DS refuses the pre-hashed password a sync carries (19)', async () => {
    const dest = started(destination389, '389 DS destination');
    const destAdmin: Bind = { dn: dest.adminDn, password: dest.adminPassword };
    const d = destinationEndpoints()['389 DS'];
    await withClient(dest.url, destAdmin, (c) =>
      c.modify(
        'cn=config',
        new Change({ operation: 'delete', modification: new Attribute({ type: 'passwordAdminDN' }) }),
      ),
    );
    await prepare(d, tmp, ['--isDestination']);
    await withClient(dest.url, destAdmin, (c) =>
      c.modify(
        'cn=config',
        new Change({ operation: 'delete', modification: new Attribute({ type: 'passwordAdminDN' }) }),
      ),
    );
    const code = await withClient(dest.url, { dn: SYNC_DN, password: DESTINATION_PASSWORD }, (c) =>
      c.modify(
        `uid=u00008,ou=Bulk,${BASE}`,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userPassword', values: [ssha('refused')] }),
        }),
      ),
    ).then(
      () => 0,
      (error: unknown) => resultCode(error),
    );
    assert.equal(code, 19, 'passwords with storage scheme are not allowed');
  });
});
