// --replica on real replicated pairs (test/servers/replication.ts): one run prepares both servers of a 389 DS
// multi-supplier pair and of a slapd multi-provider pair; a run on one server names the other; a paused
// agreement fails the run (85) naming the replica, with no second add and no conflict entry, and a re-run
// after resuming converges. Every claim is checked on the servers themselves.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Control } from 'ldapts';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { adminBind, canBind, readEntry, withClient, type Bind } from '../helpers/directory.js';
import { connectionArgs, describeRun, makeTempDir, secretFile, started } from '../helpers/fixture.js';
import { startDs389Pair, startSlapdPair, type Ds389Pair, type SlapdPair } from '../servers/replication.js';

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

/** 389 DS conflict entries under the base: shown only to a search naming nsds5ReplConflict with ManageDsaIT. */
async function conflictEntries(server: { url: string; adminDn: string; adminPassword: string }): Promise<string[]> {
  return withClient(server.url, adminBind(server), async (c) => {
    const { searchEntries } = await c.search(
      BASE,
      { scope: 'sub', filter: '(nsds5ReplConflict=*)', attributes: ['dn'] },
      [new Control('2.16.840.1.113730.3.4.2')],
    );
    return searchEntries.map((e) => e.dn);
  });
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
});
