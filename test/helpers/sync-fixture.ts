// What the reference sync tests share: the bulk entries (one LDIF), the changes made on a source, the
// comparison of a destination with its source, and the CLI runs that prepare an endpoint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change, type Client } from 'ldapts';
import { runCli, type RunCliResult } from './cli.js';
import { canBind, resultCode, withClient, type Bind } from './directory.js';
import { connectionArgs, describeRun, secretFile } from './fixture.js';
import { ssha, userAttributes, type Attributes, type ReferenceSync, type SyncScope } from './sync-engine.js';

const execFileP = promisify(execFile);

export const BASE = 'dc=example,dc=com';
export const BULK = `ou=Bulk,${BASE}`;
export const MOVED = `ou=Moved,${BASE}`;
/** An entry of a class the sync does not handle, present on both sides: deleting it on the source must not reach the destination. */
export const PRINTER = `cn=Printer,${BASE}`;
export const SYNC_DN = `cn=Sync User,${BASE}`;
/** Past 389 DS's 2,000-entry and OpenLDAP's 500-entry default size limits. */
export const BULK_COUNT = 2_600;

/** The password of bulk user `uid`, before and after the change a test makes. */
export const firstPassword = (uid: string): string => `first-${uid}`;
export const secondPassword = (uid: string): string => `second-${uid}`;

export function bulkUid(index: number): string {
  return `u${String(index).padStart(5, '0')}`;
}

export function bulkDn(index: number): string {
  return `uid=${bulkUid(index)},${BULK}`;
}

/** The sync scope of every test: people and organizational units under the base, never the sync users. */
export const SCOPE: SyncScope = { base: BASE, classes: ['inetOrgPerson', 'organizationalUnit'], excluded: [SYNC_DN] };

/**
 * The bulk entries as LDIF: ou=Bulk and BULK_COUNT people, each with a pre-hashed {SSHA} password (what an
 * import carries), plus the printer. `withSuffix` adds the base entry and ou=People (for a 389 DS import, which
 * replaces the whole backend).
 */
export function bulkLdif(options: { withSuffix: boolean; baseAci?: string }): string {
  const blocks: string[] = [];
  if (options.withSuffix) {
    blocks.push(
      [
        `dn: ${BASE}`,
        'objectClass: top',
        'objectClass: domain',
        'dc: example',
        ...(options.baseAci === undefined ? [] : [`aci: ${options.baseAci}`]),
      ].join('\n'),
    );
    blocks.push(
      [`dn: ou=People,${BASE}`, 'objectClass: top', 'objectClass: organizationalUnit', 'ou: People'].join('\n'),
    );
  }
  blocks.push([`dn: ${BULK}`, 'objectClass: top', 'objectClass: organizationalUnit', 'ou: Bulk'].join('\n'));
  blocks.push(printerLdif());
  // One salt for all: hashing stays cheap, and every value still differs by its password.
  const salt = Buffer.from('pes-test');
  for (let i = 0; i < BULK_COUNT; i++) {
    const uid = bulkUid(i);
    blocks.push(
      [
        `dn: ${bulkDn(i)}`,
        'objectClass: top',
        'objectClass: person',
        'objectClass: organizationalPerson',
        'objectClass: inetOrgPerson',
        `uid: ${uid}`,
        `cn: Bulk User ${i}`,
        `sn: User${i}`,
        `mail: ${uid}@example.com`,
        `employeeNumber: ${i}`,
        `userPassword: ${ssha(firstPassword(uid), salt)}`,
      ].join('\n'),
    );
  }
  return `${blocks.join('\n\n')}\n`;
}

export function printerLdif(): string {
  return [
    `dn: ${PRINTER}`,
    'objectClass: top',
    'objectClass: device',
    'cn: Printer',
    'description: not synchronized',
  ].join('\n');
}

export function writeLdif(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}

/** One ldapadd of an LDIF file as `bind` (the admin): the fast way to load thousands of entries. */
export async function ldapadd(url: string, bind: Bind, file: string): Promise<void> {
  const dir = path.dirname(file);
  const passwordFile = secretFile(dir, `ldapadd-${path.basename(file)}.pw`, bind.password);
  // ldapadd -y reads the whole file, newline included: write it without one.
  writeFileSync(passwordFile, bind.password, { mode: 0o600 });
  await execFileP('ldapadd', ['-x', '-H', url, '-D', bind.dn, '-y', passwordFile, '-f', file], {
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly admin: Bind;
  readonly syncPassword: string;
}

/** The endpoint of a throw-away server (ds389.ts, openldap.ts) whose sync user is to have `syncPassword`. */
export function endpointOf(
  server: { host: string; port: number; url: string; adminDn: string; adminPassword: string },
  syncPassword: string,
): Endpoint {
  return {
    host: server.host,
    port: server.port,
    url: server.url,
    admin: { dn: server.adminDn, password: server.adminPassword },
    syncPassword,
  };
}

/** Runs `fn` and records its wall time in `timings` under `name` (even when it fails). */
/**
 * A whole search of BASE as `bind`, unpaged or in pages of `pageSize`: its LDAP result code (0 when it returns
 * everything) and the entries it returned (-1 on an error).
 */
export async function searchOutcome(
  url: string,
  bind: Bind,
  pageSize?: number,
): Promise<{ code: number; entries: number }> {
  try {
    const entries = await withClient(
      url,
      bind,
      async (c) =>
        (
          await c.search(BASE, {
            scope: 'sub',
            filter: '(objectClass=*)',
            attributes: ['1.1'],
            ...(pageSize === undefined ? {} : { paged: { pageSize } }),
          })
        ).searchEntries.length,
    );
    return { code: 0, entries };
  } catch (error) {
    const code = resultCode(error);
    if (code === undefined) throw error;
    return { code, entries: -1 };
  }
}

export async function timedInto<T>(timings: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - start;
  }
}

/** Runs the built CLI against an endpoint with --json; fails the test on a non-zero exit. */
export async function prepare(
  endpoint: Endpoint,
  dir: string,
  extra: readonly string[],
): Promise<{ result: RunCliResult; json: PrepareJson }> {
  const adminPasswordFile = secretFile(dir, `admin-${endpoint.port}.pw`, endpoint.admin.password);
  const syncPasswordFile = secretFile(dir, `sync-${endpoint.port}.pw`, endpoint.syncPassword);
  const result = await runCli(
    connectionArgs(
      {
        host: endpoint.host,
        port: endpoint.port,
        bindDn: endpoint.admin.dn,
        adminPasswordFile,
        syncPasswordFile,
        logFile: path.join(dir, 'run.log'),
      },
      ['-b', BASE, '--json', ...extra],
    ),
    { timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, describeRun(result));
  return { result, json: JSON.parse(result.stdout) as PrepareJson };
}

export interface PrepareJson {
  changed: boolean;
  ldap: { reads: number; writes: number };
  steps: { id: string; status: string; detail?: string }[];
  warnings: string[];
}

/** The changes every reference sync replays: adds, modifies, renames with a new superior, deletes, a password. */
export interface SourceChanges {
  readonly added: string[];
  readonly movedFrom: string;
  readonly movedTo: string;
  readonly renamedThenChanged: string;
  readonly deleted: string[];
  readonly passwordChanged: string;
}

export async function makeChanges(url: string, admin: Bind): Promise<SourceChanges> {
  const person = (uid: string, extra: Attributes = {}): Attributes => ({
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    uid: [uid],
    cn: [`New ${uid}`],
    sn: [uid],
    ...extra,
  });
  const replace = (type: string, values: string[]): Change =>
    new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
  const movedFrom = bulkDn(10);
  const movedTo = `uid=${bulkUid(10)},${MOVED}`;
  const renamedFrom = bulkDn(11);
  const renamedThenChanged = `uid=renamed11,${MOVED}`;
  await withClient(url, admin, async (c: Client) => {
    await c.add(MOVED, { objectClass: ['top', 'organizationalUnit'], ou: ['Moved'] });
    await c.add(`uid=new1,${BULK}`, person('new1', { userPassword: [ssha(firstPassword('new1'))] }));
    await c.add(`uid=new2,${MOVED}`, person('new2'));
    await c.add(`uid=transient,${BULK}`, person('transient'));
    await c.modify(bulkDn(1), [replace('description', ['changed once'])]);
    await c.modify(bulkDn(1), [replace('description', ['changed twice'])]);
    await c.modify(bulkDn(2), [
      new Change({ operation: 'add', modification: new Attribute({ type: 'mail', values: ['second@example.com'] }) }),
    ]);
    await c.modify(bulkDn(3), [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'employeeNumber' }) }),
    ]);
    await c.modifyDN(movedFrom, movedTo);
    // A rename to a new RDN under a new parent, then a change to the moved entry: found again by its id.
    await c.modifyDN(renamedFrom, renamedThenChanged);
    await c.modify(renamedThenChanged, [replace('description', ['moved, then changed'])]);
    await c.modify(bulkDn(4), [replace('userPassword', [ssha(secondPassword(bulkUid(4)))])]);
    await c.del(bulkDn(5));
    await c.del(bulkDn(6));
    await c.del(`uid=transient,${BULK}`);
    // Not in the sync scope (a device): its delete must be told apart from the people's by the record alone.
    await c.del(PRINTER);
  });
  return {
    added: [`uid=new1,${BULK}`, `uid=new2,${MOVED}`, MOVED],
    movedFrom,
    movedTo,
    renamedThenChanged,
    deleted: [bulkDn(5), bulkDn(6), `uid=transient,${BULK}`],
    passwordChanged: bulkDn(4),
  };
}

/** The sync scope of `url` as `bind` sees it, for comparing a destination with its source. */
export async function snapshot(engine: ReferenceSync, url: string, bind: Bind): Promise<Map<string, Attributes>> {
  const entries = await engine.read({ url, dn: bind.dn, password: bind.password }, { paged: true });
  return new Map([...entries].map(([key, entry]) => [key, entry.attributes]));
}

/** Asserts the destination's scope holds exactly the source's entries with the same values. */
export function assertSameEntries(
  source: Map<string, Attributes>,
  destination: Map<string, Attributes>,
  what: string,
): void {
  const missing = [...source.keys()].filter((dn) => !destination.has(dn));
  const extra = [...destination.keys()].filter((dn) => !source.has(dn));
  assert.deepEqual(
    { missing: missing.slice(0, 5), extra: extra.slice(0, 5) },
    { missing: [], extra: [] },
    `${what}: the same entries`,
  );
  const differing = [...source].filter(
    ([dn, attributes]) => JSON.stringify(sorted(attributes)) !== JSON.stringify(sorted(destination.get(dn) ?? {})),
  );
  assert.deepEqual(
    differing
      .slice(0, 3)
      .map(([dn, attributes]) => ({ dn, source: sorted(attributes), destination: sorted(destination.get(dn) ?? {}) })),
    [],
    `${what}: every entry has the same values`,
  );
  assert.equal(destination.size, source.size);
}

function sorted(attributes: Attributes): Attributes {
  return Object.fromEntries(
    Object.entries(attributes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, [...v].sort()]),
  );
}

/** The passwords a sync carried work on the destination, and the replaced one does not. */
export async function assertPasswords(url: string, changes: SourceChanges, sample: readonly number[]): Promise<void> {
  for (const i of sample)
    assert.equal(
      await canBind(url, bulkDn(i), firstPassword(bulkUid(i))),
      true,
      `${bulkDn(i)} binds with its first password`,
    );
  const uid = bulkUid(4);
  assert.equal(await canBind(url, changes.passwordChanged, secondPassword(uid)), true, 'the changed password binds');
  assert.equal(
    await canBind(url, changes.passwordChanged, firstPassword(uid)),
    false,
    'the replaced password no longer binds',
  );
  assert.equal(
    await canBind(url, changes.added[0]!, firstPassword('new1')),
    true,
    'an added entry binds with its password',
  );
}

export { userAttributes };
