// --replica on real replicated pairs (test/servers/replication.ts): one run prepares both servers of a 389 DS
// multi-supplier pair and of a slapd multi-provider pair; a run on one server names the other; a paused
// agreement fails the run (85) naming the replica, with no second add and no conflict entry, and a re-run
// after resuming converges. Every claim is checked on the servers themselves.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Attribute, Change, Control, type Client } from 'ldapts';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cliPath, repoRoot, runCli, type RunCliResult } from '../helpers/cli.js';
import { adminBind, canBind, readEntry, withClient, type Bind } from '../helpers/directory.js';
import { connectionArgs, describeRun, makeTempDir, secretFile, started } from '../helpers/fixture.js';
import { ReferenceSync, type Account } from '../helpers/sync-engine.js';
import { startSlapd } from '../servers/openldap.js';
import {
  startDs389Pair,
  startSlapdConsumer,
  startSlapdPair,
  type Ds389Pair,
  type SlapdPair,
} from '../servers/replication.js';

const BASE = 'dc=example,dc=com';
const SYNC_PASSWORD = `Sync-Repl-${randomUUID()}`;

interface ServerJson {
  host: string;
  port: number;
  role: string | null;
  prepared: boolean;
  steps: { id: string; status: string; title: string }[];
  changeNumbers: { first: string; last: string } | null;
  verified: boolean | null;
}
interface RunJson {
  verified: boolean | null;
  changed: boolean;
  warnings: string[];
  servers: ServerJson[];
  ldap: { writes: number };
  steps: { id: string; status: string; title: string; detail: string | null }[];
}

function parsed(run: RunCliResult): RunJson {
  try {
    return JSON.parse(run.stdout) as RunJson;
  } catch {
    assert.fail(`no JSON on stdout: ${describeRun(run)}`);
  }
}

/** 389 DS conflict entries under the base: 2.x makes them ldapsubentry, shown only to a filter naming that class. */
async function conflictEntries(server: { url: string; adminDn: string; adminPassword: string }): Promise<string[]> {
  return withClient(server.url, adminBind(server), async (c) => {
    const { searchEntries } = await c.search(
      BASE,
      { scope: 'sub', filter: '(|(objectClass=ldapsubentry)(nsds5ReplConflict=*))', attributes: ['nsds5ReplConflict'] },
      [new Control('2.16.840.1.113730.3.4.2')],
    );
    return searchEntries.filter((e) => [e['nsds5ReplConflict'] ?? []].flat().length > 0).map((e) => e.dn);
  });
}

/** The accesslog overlays in a slapd's cn=config (as its config admin). */
async function accesslogOverlays(server: { url: string; adminPassword: string }): Promise<string[]> {
  return withClient(server.url, { dn: 'cn=admin,cn=config', password: server.adminPassword }, async (c) =>
    (
      await c.search('cn=config', { scope: 'sub', filter: '(objectClass=olcAccessLogConfig)', attributes: ['dn'] })
    ).searchEntries.map((e) => e.dn),
  );
}

async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what} did not happen in 60 s`);
}

describe('389 DS multi-supplier pair', () => {
  let pair: Ds389Pair | undefined;
  let tmp = '';
  let adminPasswordFile = '';
  let syncPasswordFile = '';
  const p = (): Ds389Pair => started(pair, '389 DS pair');

  before(async () => {
    pair = await startDs389Pair({ dynamicPlugins: true });
    tmp = makeTempDir('pes-replicas-');
    adminPasswordFile = secretFile(tmp, 'admin.pw', p().a.adminPassword);
    syncPasswordFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
  });
  after(async () => {
    await pair?.stop();
  });

  const args = (extra: string[], syncDn = `cn=Sync User,${BASE}`): string[] =>
    connectionArgs(
      {
        host: p().a.host,
        port: p().a.port,
        bindDn: p().a.adminDn,
        adminPasswordFile,
        syncPasswordFile,
        logFile: path.join(tmp, 'run.log'),
      },
      [
        '-b',
        BASE,
        '--isSource',
        '--isDestination',
        '--changelogMaximumAge',
        '2d',
        '--syncServerBindDN',
        syncDn,
        '--json',
        ...extra,
      ],
    );
  const replicaB = (): string[] => ['--replica', `127.0.0.1:${p().b.port}`];

  test('one run with --replica prepares both servers: both verified, one add, no conflict entry, settings equal', async () => {
    const run = await runCli(args(replicaB()), { timeoutMs: 120_000 });
    assert.equal(run.code, 0, describeRun(run));
    const json = parsed(run);
    assert.equal(json.verified, true, describeRun(run));
    assert.deepEqual(
      json.servers.map((s) => [s.port, s.role, s.prepared, s.verified]),
      [
        [p().a.port, 'supplier', true, true],
        [p().b.port, 'supplier', true, true],
      ],
    );
    // The sync user was added on A only: B shows it unchanged (it came by replication).
    assert.equal(json.servers[0]?.steps.find((s) => s.id === 'sync-user')?.status, 'created');
    assert.equal(json.servers[1]?.steps.find((s) => s.id === 'sync-user')?.status, 'unchanged');
    assert.match(run.stderr, /Failover readiness \(settings equal on every server\) \.+ Done/);
    for (const server of [p().a, p().b]) {
      assert.ok(await canBind(server.url, `cn=Sync User,${BASE}`, SYNC_PASSWORD), `binds on ${server.url}`);
      const plugin = await readEntry(server.url, adminBind(server), 'cn=Retro Changelog Plugin,cn=plugins,cn=config', [
        'nsslapd-pluginEnabled',
        'nsslapd-changelogmaxage',
      ]);
      assert.deepEqual(plugin?.['nsslapd-pluginenabled'], ['on'], server.url);
      assert.deepEqual(plugin?.['nsslapd-changelogmaxage'], ['2d'], server.url);
      const changelog = await readEntry(server.url, adminBind(server), 'cn=changelog', ['aci']);
      assert.ok(
        changelog?.aci?.some((aci) => aci.includes('prepare-endpoint-server')),
        `the change log ACI on ${server.url}`,
      );
      assert.deepEqual(await conflictEntries(server), [], `no conflict entry on ${server.url}`);
    }
    // Each server's change numbers are its own, reported per server.
    assert.ok(json.servers.every((s) => s.changeNumbers !== null));
  });

  test('a re-run with --replica writes nothing', async () => {
    const run = await runCli(args(replicaB()), { timeoutMs: 120_000 });
    assert.equal(run.code, 0, describeRun(run));
    const json = parsed(run);
    assert.equal(json.changed, false, JSON.stringify(json.steps));
    assert.equal(json.ldap.writes, 0);
    assert.equal(json.verified, true);
  });

  test('a run on A alone names B as not prepared, with the option that prepares it, once', async () => {
    const run = await runCli(args([]), { timeoutMs: 120_000 });
    assert.equal(run.code, 0, describeRun(run));
    const json = parsed(run);
    const named = json.warnings.filter((w) => w.includes(`127.0.0.1:${p().b.port}`));
    assert.equal(named.length, 1, JSON.stringify(json.warnings));
    assert.match(named[0] ?? '', new RegExp(`--replica 127\\.0\\.0\\.1:${p().b.port}`));
    assert.match(run.stderr, new RegExp(`other server 127\\.0\\.0\\.1:${p().b.port},.*NOT prepared in this run`));
  });

  test('a paused agreement fails the run (85) naming the replica, with no add on B and no conflict; after resuming a re-run converges', async () => {
    const lagDn = `cn=Sync Lag,${BASE}`;
    await p().pause('a');
    try {
      const run = await runCli(args([...replicaB(), '--replicationTimeout', '3s'], lagDn), { timeoutMs: 120_000 });
      assert.equal(run.code, 85, describeRun(run));
      assert.match(run.stderr, new RegExp(`did not reach 127\\.0\\.0\\.1:${p().b.port} within 3s`));
      assert.equal(await readEntry(p().b.url, adminBind(p().b), lagDn), undefined, 'nothing added on B');
      assert.ok(await readEntry(p().a.url, adminBind(p().a), lagDn), 'the account is on A');
    } finally {
      await p().resume('a');
    }
    await waitUntil(
      'the account reached B',
      async () => (await readEntry(p().b.url, adminBind(p().b), lagDn)) !== undefined,
    );
    const again = await runCli(args(replicaB(), lagDn), { timeoutMs: 120_000 });
    assert.equal(again.code, 0, describeRun(again));
    const json = parsed(again);
    assert.equal(json.verified, true, describeRun(again));
    assert.equal(json.servers[1]?.steps.find((s) => s.id === 'sync-user')?.status, 'unchanged');
    for (const server of [p().a, p().b]) {
      assert.deepEqual(await conflictEntries(server), [], `no conflict entry on ${server.url}`);
      assert.ok(await canBind(server.url, lagDn, SYNC_PASSWORD));
    }
  });
  test('a setting that differs between the servers fails verification naming the server and the value', async () => {
    // Someone set a longer retention on B: a run without --changelogMaximumAge keeps it (never weakened) ...
    await withClient(p().b.url, adminBind(p().b), (c) =>
      c.modify(
        'cn=Retro Changelog Plugin,cn=plugins,cn=config',
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'nsslapd-changelogmaxage', values: ['5d'] }),
        }),
      ),
    );
    const withoutAge = args(replicaB()).filter(
      (a, i, all) => a !== '--changelogMaximumAge' && all[i - 1] !== '--changelogMaximumAge',
    );
    const run = await runCli(withoutAge, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, describeRun(run));
    const json = parsed(run);
    // ... and the comparison says that a failover from A to B reads a different retention.
    assert.equal(json.verified, false, describeRun(run));
    const mismatch = json.warnings.find((w) => w.includes('nsslapd-changelogmaxage'));
    assert.ok(mismatch, JSON.stringify(json.warnings));
    assert.match(mismatch, new RegExp(`127\\.0\\.0\\.1:${p().b.port} has '5d'`));
    // Given explicitly, the age is set on both and the servers agree again.
    const again = await runCli(args(replicaB()), { timeoutMs: 120_000 });
    assert.equal(parsed(again).verified, true, describeRun(again));
  });

  test('without --replica, parallel runs on A and B under lag leave a conflict copy; the next run removes the one it made and says so', async () => {
    const raceDn = `cn=Sync Race,${BASE}`;
    const runOnB = (): ReturnType<typeof runCli> =>
      runCli(
        connectionArgs(
          {
            host: p().b.host,
            port: p().b.port,
            bindDn: p().b.adminDn,
            adminPasswordFile,
            syncPasswordFile,
            logFile: path.join(tmp, 'run-b.log'),
          },
          [
            '-b',
            BASE,
            '--isSource',
            '--isDestination',
            '--changelogMaximumAge',
            '2d',
            '--syncServerBindDN',
            raceDn,
            '--json',
          ],
        ),
        { timeoutMs: 120_000 },
      );
    await p().pause('a');
    await p().pause('b');
    try {
      const [onA, onB] = await Promise.all([runCli(args([], raceDn), { timeoutMs: 120_000 }), runOnB()]);
      assert.equal(onA.code, 0, describeRun(onA));
      assert.equal(onB.code, 0, describeRun(onB));
    } finally {
      await p().resume('a');
      await p().resume('b');
    }
    await waitUntil('the conflict entry appears', async () => (await conflictEntries(p().a)).length > 0);
    const run = await runCli(args([], raceDn), { timeoutMs: 120_000 });
    assert.equal(run.code, 0, describeRun(run));
    const step = parsed(run).steps.find((s) => s.id.startsWith('conflicts:'));
    assert.equal(step?.status, 'updated', describeRun(run));
    assert.match(
      step?.detail ?? '',
      /removed [12] conflict cop(y|ies) of what this tool made \(the sync user, its password policy\): .*'cn=Sync Race\+nsuniqueid=/i,
    );
    // B may hold a conflict copy of its own of the policy entry (its own unique id, not replicated to A): B's next
    // run removes that one.
    const onBAgain = await runOnB();
    assert.equal(onBAgain.code, 0, describeRun(onBAgain));
    for (const server of [p().a, p().b]) {
      let left: string[] = [];
      await waitUntil(`no conflict entry left on ${server.url}`, async () => {
        left = await conflictEntries(server);
        return left.length === 0;
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}: left ${JSON.stringify(left)}; the run said ${step?.detail ?? ''}`);
      });
      assert.ok(await canBind(server.url, raceDn, SYNC_PASSWORD));
    }
  });
  test('a failover sync: the reference engine reads A, A stops part-way through a stream of changes, the engine resumes on B by time and the destination ends equal, nothing lost or applied twice', async () => {
    const { a, b } = p();
    const destination = await startSlapd({ noSync: true });
    try {
      const destinationAdmin = secretFile(tmp, 'dest-admin.pw', destination.adminPassword);
      const prepared = await runCli(
        connectionArgs(
          {
            host: destination.host,
            port: destination.port,
            bindDn: destination.adminDn,
            adminPasswordFile: destinationAdmin,
            syncPasswordFile,
            logFile: path.join(tmp, 'dest.log'),
          },
          ['-b', BASE, '--isDestination'],
        ),
        { timeoutMs: 120_000 },
      );
      assert.equal(prepared.code, 0, describeRun(prepared));
      const sync = `cn=Sync User,${BASE}`;
      const account = (url: string): Account => ({ url, dn: sync, password: SYNC_PASSWORD });
      const people = `ou=People,${BASE}`;
      const engine = new ReferenceSync('389ds', account(a.url), account(destination.url), {
        base: people,
        classes: ['inetOrgPerson'],
        excluded: [],
      });
      await engine.markChangeLogPosition();
      await engine.fullResync({ paged: true });
      const person = (n: number): string => `uid=failover${n},${people}`;
      const write = (fn: (c: Client) => Promise<void>): Promise<void> => withClient(a.url, adminBind(a), fn);
      const add = (c: Client, n: number): Promise<void> =>
        c.add(person(n), {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: `failover${n}`,
          cn: `Failover ${n}`,
          sn: `${n}`,
        });
      const setDescription = (c: Client, n: number, text: string): Promise<void> =>
        c.modify(
          person(n),
          new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [text] }) }),
        );
      // First part of the stream, read and applied from A: 6 adds, 2 modifies, 1 delete.
      await write(async (c) => {
        for (let n = 1; n <= 6; n++) await add(c, n);
        await setDescription(c, 1, 'first part 1');
        await setDescription(c, 2, 'first part 2');
        await c.del(person(3));
      });
      const first = await engine.replay(await engine.readChanges());
      assert.equal(first.applied, 9, JSON.stringify(first));
      // Second part, on A only while the engine is not looking: 4 adds, 2 modifies, 2 deletes; then A stops.
      await write(async (c) => {
        for (let n = 7; n <= 10; n++) await add(c, n);
        await setDescription(c, 4, 'second part 4');
        await setDescription(c, 7, 'second part 7');
        await c.del(person(5));
        await c.del(person(8));
      });
      await waitUntil('B has the second part', async () => {
        const seen = await readEntry(b.url, adminBind(b), person(7), ['description']);
        const gone = await readEntry(b.url, adminBind(b), person(8));
        return seen?.description?.[0] === 'second part 7' && gone === undefined;
      });
      await a.stop();
      // Failover as the README says: B's change numbers are its own, so back-track by time and skip what was applied.
      engine.failOver(account(b.url), 10);
      const second = await engine.replay(await engine.readChanges());
      assert.equal(second.applied, 8, `every change of the second part, once: ${JSON.stringify(second)}`);
      assert.ok(engine.alreadyApplied > 0, 'the back-track read changes already applied, and skipped them');
      const wanted = await engine.read(account(b.url));
      const have = await engine.read(account(destination.url));
      assert.deepEqual(
        [...have].map(([dn, e]) => [dn, e.attributes]).sort(),
        [...wanted].map(([dn, e]) => [dn, e.attributes]).sort(),
        'the destination equals the source',
      );
      assert.equal(wanted.size, 7, 'failover1..10 less 3, 5 and 8');
    } finally {
      await destination.stop();
    }
  });
});

describe('slapd multi-provider pair', () => {
  let pair: SlapdPair | undefined;
  let tmp = '';
  let adminPasswordFile = '';
  let syncPasswordFile = '';
  const p = (): SlapdPair => started(pair, 'slapd pair');

  before(async () => {
    pair = await startSlapdPair();
    tmp = makeTempDir('pes-replicas-slapd-');
    adminPasswordFile = secretFile(tmp, 'admin.pw', p().a.adminPassword);
    syncPasswordFile = secretFile(tmp, 'sync.pw', SYNC_PASSWORD);
  });
  after(async () => {
    await pair?.stop();
  });

  test('one run with --replica (each its own accesslog folder) prepares both: both verified, settings equal', async () => {
    const { a, b } = p();
    const run = await runCli(
      connectionArgs(
        {
          host: a.host,
          port: a.port,
          bindDn: a.adminDn,
          adminPasswordFile,
          syncPasswordFile,
          logFile: path.join(tmp, 'run.log'),
        },
        [
          '-b',
          BASE,
          '--isSource',
          '--changelogMaximumAge',
          '2d',
          '--accesslogDirectory',
          a.accesslogDirectory,
          '--replica',
          `127.0.0.1:${b.port},accesslogDirectory=${b.accesslogDirectory}`,
          '--json',
        ],
      ),
      { timeoutMs: 120_000 },
    );
    assert.equal(run.code, 0, describeRun(run));
    const json = parsed(run);
    assert.equal(json.verified, true, describeRun(run));
    assert.deepEqual(
      json.servers.map((s) => [s.port, s.role, s.verified]),
      [
        [a.port, 'supplier', true],
        [b.port, 'supplier', true],
      ],
    );
    assert.equal(json.servers[1]?.steps.find((s) => s.id === 'sync-user')?.status, 'unchanged');
    assert.match(run.stderr, /Failover readiness \(settings equal on every server\) \.+ Done/);
    const bind: (s: typeof a) => Bind = (s) => ({ dn: 'cn=admin,cn=config', password: s.adminPassword });
    for (const server of [a, b]) {
      const overlays = await withClient(server.url, bind(server), async (c) =>
        (
          await c.search('cn=config', {
            scope: 'sub',
            filter: '(objectClass=olcAccessLogConfig)',
            attributes: ['olcAccessLogPurge'],
          })
        ).searchEntries.map((e) => String(e['olcAccessLogPurge'])),
      );
      assert.equal(overlays.length, 1, `one accesslog overlay on ${server.url}`);
      assert.ok(await canBind(server.url, `cn=Sync User,${BASE}`, SYNC_PASSWORD));
    }
  });
  test('a read-only consumer named with --replica gets no writes and its own line; the sync user binds there', async () => {
    const { a, b } = p();
    const consumer = await startSlapdConsumer(a);
    try {
      const overlaysBefore = await accesslogOverlays(consumer);
      const run = await runCli(
        connectionArgs(
          {
            host: a.host,
            port: a.port,
            bindDn: a.adminDn,
            adminPasswordFile,
            syncPasswordFile,
            logFile: path.join(tmp, 'run.log'),
          },
          [
            '-b',
            BASE,
            '--isSource',
            '--changelogMaximumAge',
            '2d',
            '--accesslogDirectory',
            a.accesslogDirectory,
            '--replica',
            `127.0.0.1:${b.port},accesslogDirectory=${b.accesslogDirectory}`,
            '--replica',
            `127.0.0.1:${consumer.port}`,
            '--json',
          ],
        ),
        { timeoutMs: 120_000 },
      );
      assert.equal(run.code, 0, describeRun(run));
      const json = parsed(run);
      const third = json.servers[2];
      assert.deepEqual([third?.port, third?.role, third?.prepared], [consumer.port, 'consumer', false]);
      assert.deepEqual(
        third?.steps.map((s) => s.status),
        ['skipped'],
      );
      assert.match(run.stderr, new RegExp(`Read-only consumer 127\\.0\\.0\\.1:${consumer.port} \\.+ Skipped`));
      assert.equal(json.verified, true, describeRun(run));
      assert.deepEqual(await accesslogOverlays(consumer), overlaysBefore, 'nothing written on the consumer');
      assert.ok(await canBind(consumer.url, `cn=Sync User,${BASE}`, SYNC_PASSWORD), 'the sync user binds there');
    } finally {
      await consumer.stop();
    }
  });
  test('--remove with --replica deletes the account once and takes back each server its own rules', async () => {
    const { a, b } = p();
    const run = await runCli(
      connectionArgs(
        {
          host: a.host,
          port: a.port,
          bindDn: a.adminDn,
          adminPasswordFile,
          syncPasswordFile,
          logFile: path.join(tmp, 'run.log'),
        },
        ['-b', BASE, '--remove', '--replica', `127.0.0.1:${b.port}`, '--json'],
      ),
      { timeoutMs: 120_000 },
    );
    assert.equal(run.code, 0, describeRun(run));
    const json = parsed(run);
    assert.equal(json.servers[0]?.steps.find((s) => s.id === 'sync-user')?.status, 'updated');
    assert.notEqual(json.servers[1]?.steps.find((s) => s.id === 'sync-user')?.status, 'updated', 'deleted once, on A');
    for (const server of [a, b]) {
      assert.equal(await readEntry(server.url, adminBind(server), `cn=Sync User,${BASE}`), undefined, server.url);
      const rules = await withClient(
        server.url,
        { dn: 'cn=admin,cn=config', password: server.adminPassword },
        async (c) =>
          (
            await c.search('cn=config', {
              scope: 'sub',
              filter: '(|(olcAccess=*)(olcLimits=*))',
              attributes: ['olcAccess', 'olcLimits'],
            })
          ).searchEntries.flatMap((e) => [e['olcAccess'] ?? [], e['olcLimits'] ?? []].flat().map(String)),
      );
      assert.deepEqual(
        rules.filter((r) => r.includes('cn=Sync User')),
        [],
        `no rule for the sync user left on ${server.url}`,
      );
    }
  });
  test(
    'Ansible: one task with replicas prepares the pair (the module passes --replica, its result has servers)',
    { skip: spawnSync('sh', ['-c', 'command -v ansible-playbook']).status === 0 ? false : 'ansible-playbook missing' },
    async () => {
      const { a, b } = p();
      const play = path.join(tmp, 'replicas.yml');
      const resultFile = path.join(tmp, 'ansible-result.json');
      const task = {
        executable: cliPath,
        hostname: '127.0.0.1',
        port: a.port,
        replicas: [`127.0.0.1:${b.port},accesslogDirectory=${b.accesslogDirectory}`],
        bind_dn: a.adminDn,
        bind_password: a.adminPassword,
        sync_server_bind_password: SYNC_PASSWORD,
        base_dn: [BASE],
        is_source: true,
        changelog_maximum_age: '2d',
        accesslog_directory: a.accesslogDirectory,
        log_file: path.join(tmp, 'ansible-run.log'),
      };
      writeFileSync(
        play,
        JSON.stringify([
          {
            hosts: 'localhost',
            connection: 'local',
            gather_facts: false,
            tasks: [
              { 'pes.endpoint.prepare_endpoint_server': task, register: 'prepared' },
              { copy: { content: '{{ prepared | to_json }}', dest: resultFile } },
            ],
          },
        ]),
      );
      const played = spawnSync('ansible-playbook', ['-i', 'localhost,', play], {
        cwd: tmp,
        encoding: 'utf8',
        timeout: 240_000,
        env: {
          ...process.env,
          PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          ANSIBLE_COLLECTIONS_PATH: path.join(repoRoot, 'ansible'),
          ANSIBLE_HOME: path.join(tmp, 'ansible-home'),
          ANSIBLE_LOCAL_TEMP: path.join(tmp, 'ansible-tmp'),
          ANSIBLE_REMOTE_TEMP: path.join(tmp, 'ansible-tmp'),
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
          ANSIBLE_LOCALHOST_WARNING: 'false',
          ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false',
        },
      });
      assert.equal(played.status, 0, `${played.stdout}\n${played.stderr}`);
      assert.ok(!`${played.stdout}${played.stderr}`.includes(SYNC_PASSWORD), 'no password in the output');
      const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { changed: boolean; servers: ServerJson[] };
      assert.equal(result.changed, true);
      assert.deepEqual(
        result.servers.map((s) => [s.port, s.verified]),
        [
          [a.port, true],
          [b.port, true],
        ],
      );
    },
  );
});

describe('slapd multi-provider pair with delta-syncrepl over the accesslog', () => {
  let pair: SlapdPair | undefined;
  let tmp = '';
  const p = (): SlapdPair => started(pair, 'slapd delta-syncrepl pair');

  before(async () => {
    pair = await startSlapdPair({ delta: true });
    tmp = makeTempDir('pes-replicas-delta-');
  });
  after(async () => {
    await pair?.stop();
  });

  test('one run with --replica adopts each server its own accesslog: both verified, settings equal, replication kept', async () => {
    const { a, b } = p();
    const run = await runCli(
      connectionArgs(
        {
          host: a.host,
          port: a.port,
          bindDn: a.adminDn,
          adminPasswordFile: secretFile(tmp, 'admin.pw', a.adminPassword),
          syncPasswordFile: secretFile(tmp, 'sync.pw', SYNC_PASSWORD),
          logFile: path.join(tmp, 'run.log'),
        },
        ['-b', BASE, '--isSource', '--replica', `127.0.0.1:${b.port}`, '--json'],
      ),
      { timeoutMs: 120_000 },
    );
    assert.equal(run.code, 0, describeRun(run));
    const json = parsed(run);
    assert.equal(json.verified, true, describeRun(run));
    assert.deepEqual(
      json.servers.map((s) => [s.role, s.verified]),
      [
        ['supplier', true],
        ['supplier', true],
      ],
    );
    assert.match(run.stderr, /Failover readiness \(settings equal on every server\) \.+ Done/);
    for (const server of [a, b]) {
      assert.equal((await accesslogOverlays(server)).length, 1, `the existing overlay adopted on ${server.url}`);
      assert.ok(await canBind(server.url, `cn=Sync User,${BASE}`, SYNC_PASSWORD));
    }
    // Replication still runs both ways over the accesslogs.
    await withClient(b.url, adminBind(b), (c) =>
      c.add(`ou=AfterPrepare,${BASE}`, { objectClass: ['top', 'organizationalUnit'], ou: 'AfterPrepare' }),
    );
    await waitUntil(
      'a write on B reaches A',
      async () => (await readEntry(a.url, adminBind(a), `ou=AfterPrepare,${BASE}`)) !== undefined,
    );
  });
});
