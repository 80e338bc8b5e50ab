// The reference sync from a prepared OpenLDAP source: a slapd with 2,600 people (one ldapadd), prepared as a
// source, and a slapd prepared as a destination. The engine of test/helpers/sync-engine.ts, bound only as the
// sync users, runs a full resync (unpaged, then paged) and replays cn=accesslog until the destination equals
// the source. Two more slapds, started empty, replicate the source as real RFC 4533 consumers bound as the
// source sync user: one with refreshAndPersist, one with delta-syncrepl from cn=accesslog. Everything is
// checked on the servers, as their admins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Attribute, BerWriter, Change, Control } from 'ldapts';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { canBind, readEntry, resultCode, withClient, type Bind } from '../helpers/directory.js';
import { makeTempDir, started } from '../helpers/fixture.js';
import { ReferenceSync, userAttributes, type ChangeRecord } from '../helpers/sync-engine.js';
import {
  assertPasswords,
  assertSameEntries,
  BASE,
  BULK_COUNT,
  bulkDn,
  bulkLdif,
  bulkUid,
  endpointOf,
  firstPassword,
  ldapadd,
  makeChanges,
  prepare,
  PRINTER,
  printerLdif,
  SCOPE,
  searchOutcome,
  secondPassword,
  snapshot,
  SYNC_DN,
  timedInto,
  writeLdif,
  type Endpoint,
  type PrepareJson,
  type SourceChanges,
} from '../helpers/sync-fixture.js';

const SOURCE_PASSWORD = `Sync-openldap-source-${randomUUID()}`;
const DESTINATION_PASSWORD = `Sync-openldap-destination-${randomUUID()}`;
const DATA_DB = 'olcDatabase={1}mdb,cn=config';
/** The page size of the paged searches. */
const PAGE_SIZE = 200;

const tmp = makeTempDir('pes-sync-openldap-');
let source: Slapd | undefined;
let destination: Slapd | undefined;
const consumers: Partial<Record<'refreshAndPersist' | 'delta-syncrepl', Slapd>> = {};
let changes: SourceChanges | undefined;
let firstSourceRun: { stderr: string; json: PrepareJson } | undefined;
const timings: Record<string, number> = {};

const sourceEndpoint = (): Endpoint => endpointOf(started(source, 'slapd source'), SOURCE_PASSWORD);
const destinationEndpoint = (): Endpoint => endpointOf(started(destination, 'slapd destination'), DESTINATION_PASSWORD);
let referenceSync: ReferenceSync | undefined;
function engine(): ReferenceSync {
  referenceSync ??= new ReferenceSync(
    'openldap',
    { url: sourceEndpoint().url, dn: SYNC_DN, password: SOURCE_PASSWORD },
    { url: destinationEndpoint().url, dn: SYNC_DN, password: DESTINATION_PASSWORD },
    SCOPE,
  );
  return referenceSync;
}

const timed = <T>(name: string, fn: () => Promise<T>): Promise<T> => timedInto(timings, name, fn);

/** The Sync Request control (RFC 4533), refreshOnly, critical: a server without a provider refuses the search. */
class SyncRefreshOnly extends Control {
  public constructor() {
    super('1.3.6.1.4.1.4203.1.9.1.1', { critical: true });
  }

  protected override writeControl(writer: BerWriter): void {
    // SEQUENCE { mode ENUMERATED refreshOnly(1) }
    writer.writeBuffer(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x01]), 0x04);
  }
}

/** Every entry of the base with its user attributes and entryUUID, as `bind` (a rootdn) sees it. */
async function replicaDump(slapd: Slapd): Promise<Map<string, string>> {
  return withClient<Map<string, string>>(slapd.url, { dn: slapd.adminDn, password: slapd.adminPassword }, async (c) => {
    try {
      const { searchEntries } = await c.search(BASE, {
        scope: 'sub',
        filter: '(objectClass=*)',
        attributes: ['*', 'entryUUID'],
        paged: { pageSize: 1000 },
      });
      return new Map(
        searchEntries.map((entry) => {
          const uuid = String(entry['entryUUID'] ?? '');
          return [entry.dn.toLowerCase(), JSON.stringify({ uuid, ...userAttributes(entry) })];
        }),
      );
    } catch (error) {
      if (resultCode(error) === 32) return new Map();
      throw error;
    }
  });
}

/** Waits (up to 90 s) until the consumer holds exactly the provider's entries, entryUUIDs included. */
async function converged(consumer: Slapd, provider: Slapd): Promise<void> {
  let last = '';
  for (let i = 0; i < 180; i++) {
    const [want, have] = await Promise.all([replicaDump(provider), replicaDump(consumer)]);
    const differing = [...want].filter(([dn, value]) => have.get(dn) !== value).map(([dn]) => dn);
    const extra = [...have.keys()].filter((dn) => !want.has(dn));
    if (differing.length === 0 && extra.length === 0) return;
    last = `${differing.length} entries missing or different (${differing.slice(0, 3).join('; ')}), ${extra.length} extra (${extra.slice(0, 3).join('; ')})`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.fail(`the consumer did not converge: ${last}`);
}

/** A consumer of the source bound as the source sync user; delta-syncrepl reads cn=accesslog as well. */
async function startConsumer(mode: 'refreshAndPersist' | 'delta-syncrepl'): Promise<Slapd> {
  const consumer = await startSlapd({ noSync: true, emptyDatabase: true });
  const provider = sourceEndpoint();
  const delta =
    mode === 'delta-syncrepl'
      ? ' logbase="cn=accesslog" logfilter="(&(objectClass=auditWriteObject)(reqResult=0))" syncdata=accesslog'
      : '';
  const syncrepl =
    `{0}rid=001 provider=${provider.url} bindmethod=simple binddn="${SYNC_DN}" credentials=${SOURCE_PASSWORD} ` +
    `searchbase="${BASE}" scope=sub type=refreshAndPersist retry="1 +" timeout=5${delta}`;
  await withClient(consumer.url, { dn: consumer.adminDn, password: consumer.adminPassword }, (c) =>
    c.modify(
      DATA_DB,
      new Change({ operation: 'add', modification: new Attribute({ type: 'olcSyncrepl', values: [syncrepl] }) }),
    ),
  );
  return consumer;
}

describe('reference sync from a prepared OpenLDAP source', () => {
  before(async () => {
    const start = Date.now();
    [source, destination] = await Promise.all([startSlapd({ noSync: true }), startSlapd({ noSync: true })]);
    await ldapadd(
      source.url,
      { dn: source.adminDn, password: source.adminPassword },
      writeLdif(tmp, 'bulk.ldif', bulkLdif({ withSuffix: false })),
    );
    await ldapadd(
      destination.url,
      { dn: destination.adminDn, password: destination.adminPassword },
      writeLdif(tmp, 'printer.ldif', `${printerLdif()}\n`),
    );
    timings['servers and bulk load'] = Date.now() - start;
    await timed('preparations', async () => {
      const run = await prepare(sourceEndpoint(), tmp, [
        '--isSource',
        '--accesslogDirectory',
        started(source, 'slapd source').accesslogDirectory,
      ]);
      firstSourceRun = { stderr: run.result.stderr, json: run.json };
      await prepare(destinationEndpoint(), tmp, ['--isDestination']);
    });
  });

  after(async () => {
    console.log(`# reference sync from OpenLDAP, ms: ${JSON.stringify(timings)}`);
    await Promise.all([
      source?.stop(),
      destination?.stop(),
      consumers.refreshAndPersist?.stop(),
      consumers['delta-syncrepl']?.stop(),
    ]);
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the first source run checks the change log without calling it Denied', () => {
    const run = started(firstSourceRun, 'the first source run');
    const line = run.stderr.split('\n').find((l) => l.startsWith(`Verifying '${SYNC_DN}' can read 'cn=accesslog'`));
    assert.match(line ?? '', /\.+ (Done|Empty)\b/, run.stderr);
  });

  test('the source sync user reads all 2,600 entries unpaged and paged; an account without the exemption cannot', async () => {
    const s = started(source, 'slapd source');
    const everything = BULK_COUNT + 6; // the people, base, ou=People, cn=limited, ou=Bulk, the printer, the sync user
    const syncUser: Bind = { dn: SYNC_DN, password: SOURCE_PASSWORD };
    assert.deepEqual(
      await searchOutcome(s.url, syncUser),
      { code: 0, entries: everything },
      'unpaged, past the 500-entry limit',
    );
    assert.deepEqual(
      await searchOutcome(s.url, syncUser, PAGE_SIZE),
      { code: 0, entries: everything },
      'paged, past the total of a paged search',
    );
    const limited: Bind = { dn: s.limitedDn, password: s.adminPassword };
    assert.equal((await searchOutcome(s.url, limited)).code, 4, 'cn=limited stops at the size limit');
    assert.equal((await searchOutcome(s.url, limited, PAGE_SIZE)).code, 4, 'also paged');
    // An RFC 4533 content refresh (refreshOnly, critical), as `ldapsearch -E '!sync=ro'` sends it.
    const refresh = await withClient(
      s.url,
      syncUser,
      async (c) =>
        (await c.search(BASE, { scope: 'sub', filter: '(objectClass=*)', attributes: ['1.1'] }, new SyncRefreshOnly()))
          .searchEntries.length,
    );
    assert.equal(refresh, everything, 'the sync user runs a content refresh of the whole base');
  });

  test('RFC 4533 consumers bound as the sync user replicate the source: refreshAndPersist and delta-syncrepl', async () => {
    const provider = started(source, 'slapd source');
    await timed('consumers start and refresh', async () => {
      [consumers.refreshAndPersist, consumers['delta-syncrepl']] = await Promise.all([
        startConsumer('refreshAndPersist'),
        startConsumer('delta-syncrepl'),
      ]);
      await Promise.all([
        converged(consumers.refreshAndPersist, provider),
        converged(consumers['delta-syncrepl'], provider),
      ]);
    });
    assert.equal((await replicaDump(consumers.refreshAndPersist!)).size, BULK_COUNT + 6);
  });

  test('full resync to OpenLDAP: every entry copied unpaged, a paged resync then finds nothing to write', async () => {
    const e = engine();
    await e.markChangeLogPosition();
    const first = await timed('full resync', () => e.fullResync({ paged: false }));
    assert.equal(first.read, BULK_COUNT + 2, 'ou=People, ou=Bulk and the people');
    assert.equal(first.added, BULK_COUNT + 1);
    const again = await timed('paged resync', () => e.fullResync({ paged: true }));
    assert.deepEqual(again, { read: BULK_COUNT + 2, added: 0, modified: 0, deleted: 0, unchanged: BULK_COUNT + 2 });
    const d = destinationEndpoint();
    assertSameEntries(
      await snapshot(e, sourceEndpoint().url, sourceEndpoint().admin),
      await snapshot(e, d.url, d.admin),
      'destination',
    );
  });

  test('changes replayed from cn=accesslog: the destination ends equal to the source; the consumers follow', async () => {
    const src = sourceEndpoint();
    changes = await makeChanges(src.url, src.admin);
    const e = engine();
    const records = await e.readChanges();
    const outcome = await timed('replay', () => e.replay(records));
    assert.ok(outcome.applied >= 14, JSON.stringify(outcome));
    const d = destinationEndpoint();
    assertSameEntries(
      await snapshot(e, src.url, src.admin),
      await snapshot(e, d.url, d.admin),
      'destination after the replay',
    );
    await assertPasswords(d.url, changes, [0, 7, 999, BULK_COUNT - 1]);
    assert.ok(
      await readEntry(d.url, d.admin, PRINTER, ['cn']),
      'the printer, deleted on the source but not synchronized, is still there',
    );

    const provider = started(source, 'slapd source');
    await timed('consumers follow the changes', () =>
      Promise.all(Object.values(consumers).map((c) => converged(c, provider))),
    );
    for (const consumer of Object.values(consumers)) {
      assert.equal(
        await canBind(consumer.url, bulkDn(4), secondPassword(bulkUid(4))),
        true,
        'the changed password binds on the consumer',
      );
      assert.equal(await canBind(consumer.url, bulkDn(0), firstPassword(bulkUid(0))), true);
    }
  });

  test('the records the engine read: deletes carry objectClass and entryUUID, every record the entryUUID of its entry', async () => {
    const records: readonly ChangeRecord[] = engine().recordsRead;
    const c = started(changes, 'the changes');
    const deletes = records.filter((r) => r.type === 'delete');
    assert.equal(deletes.length, 4);
    for (const record of deletes)
      assert.ok((record.attributes['objectclass'] ?? []).length > 0, `${record.dn}: objectClass in reqOld`);
    const s = started(source, 'slapd source');
    const renamed = await readEntry(s.url, { dn: s.adminDn, password: s.adminPassword }, c.renamedThenChanged, [
      'entryUUID',
    ]);
    const id = renamed?.entryuuid?.[0];
    assert.ok(id !== undefined);
    assert.deepEqual(
      records.filter((r) => r.entryId === id).map((r) => r.type),
      ['modrdn', 'modify'],
      'the rename and the change after it carry the same reqEntryUUID',
    );
    assert.ok(
      records.every((r) => r.entryId !== undefined),
      'every record has a reqEntryUUID',
    );
    // entryUUID of a deleted entry is in reqOld too (olcAccessLogOldAttr), for a consumer that correlates by it.
    const raw = await withClient(
      s.url,
      { dn: SYNC_DN, password: SOURCE_PASSWORD },
      async (client) =>
        (await client.search('cn=accesslog', { scope: 'one', filter: '(reqType=delete)', attributes: ['reqOld'] }))
          .searchEntries,
    );
    assert.ok(
      raw.length >= 4 &&
        raw.every((entry) => [entry['reqOld']].flat().some((v) => String(v).startsWith('entryUUID: '))),
      'reqOld holds entryUUID',
    );
  });

  test('re-runs write nothing; --remove --disableChangelog takes back the limits, syncprov and the overlay', async () => {
    for (const [e, role] of [
      [sourceEndpoint(), '--isSource'],
      [destinationEndpoint(), '--isDestination'],
    ] as const) {
      const { json } = await prepare(e, tmp, [role]);
      assert.equal(json.changed, false, JSON.stringify(json.steps));
      assert.equal(json.ldap.writes, 0);
    }
    await Promise.all(Object.values(consumers).map((c) => c.stop()));
    const s = started(source, 'slapd source');
    const config = async (): Promise<Array<{ dn: string[]; limits: string[]; overlay: string[] }>> =>
      withClient(s.url, { dn: s.adminDn, password: s.adminPassword }, async (c) =>
        (
          await c.search('cn=config', {
            scope: 'sub',
            filter: '(|(olcLimits=*)(objectClass=olcOverlayConfig))',
            attributes: ['olcLimits', 'olcOverlay'],
          })
        ).searchEntries.map((entry) => ({
          dn: [entry.dn],
          limits: [entry['olcLimits'] ?? []].flat().map(String),
          overlay: [entry['olcOverlay'] ?? []].flat().map(String),
        })),
      );
    const before = await config();
    assert.equal(
      before.filter((e) => e.limits.some((v) => v.includes(SYNC_DN))).length,
      2,
      'limits on the data and the log database',
    );
    assert.equal(
      before.filter((e) => e.overlay.some((v) => v.endsWith('syncprov'))).length,
      2,
      'syncprov on the data and the log database',
    );
    await prepare(sourceEndpoint(), tmp, ['--remove', '--disableChangelog']);
    assert.deepEqual(await config(), [], 'no limits rule and no overlay left');
  });
});
