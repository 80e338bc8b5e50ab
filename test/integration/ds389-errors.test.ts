// Failures against a real 389 DS: every one exits with its result code, says one line on stderr, writes
// nothing to the server, and never shows a password. Checked on the server as Directory Manager.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { freePort, startDs389, type Ds389 } from '../servers/ds389.js';
import { repoRoot, runCli, type RunCliOptions, type RunCliResult } from '../helpers/cli.js';
import { adminBind, canBind, readEntry, searchDns, type Bind } from '../helpers/directory.js';
import {
  connectionArgs,
  describeRun,
  fileSize,
  logLines,
  makeTempDir,
  secretFile,
  started,
} from '../helpers/fixture.js';

const COM = 'dc=example,dc=com';
const ORG = 'dc=example,dc=org';
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';

const WRONG_ADMIN_PASSWORD = `Wrong-Admin-${randomUUID()}`;
const SYNC_PASSWORD_1 = `Sync-First-${randomUUID()}`;
const SYNC_PASSWORD_2 = `Sync-Second-${randomUUID()}`;
const SENTINELS = [WRONG_ADMIN_PASSWORD, SYNC_PASSWORD_1, SYNC_PASSWORD_2];

/** The default log in the tool folder: no run of this file may write there, since each passes --logFile. */
const REPO_LOG = path.join(repoRoot, 'logs', 'prepare-endpoint-server.log');

let ds: Ds389 | undefined;
let tmp = '';
let logFile = '';
let adminPasswordFile = '';
let wrongAdminPasswordFile = '';
let sync1File = '';
let sync2File = '';
let repoLogOffset = 0;
const results: RunCliResult[] = [];

const server = (): Ds389 => started(ds, '389 DS');
const admin = (): Bind => adminBind(server());

/** -h/-p/-D, the admin and sync password files, --no-prompt and --logFile; `extra` last. */
function args(extra: string[], opts: { adminFile?: string; syncFile?: string; port?: string } = {}): string[] {
  const d = server();
  return connectionArgs(
    {
      host: d.host,
      port: opts.port ?? d.port,
      bindDn: d.adminDn,
      adminPasswordFile: opts.adminFile ?? adminPasswordFile,
      syncPasswordFile: opts.syncFile ?? sync1File,
      logFile,
    },
    extra,
  );
}

async function run(cliArgs: string[], opts: RunCliOptions = {}): Promise<RunCliResult & { ms: number }> {
  const started = Date.now();
  const r = await runCli(cliArgs, opts);
  results.push(r);
  return { ...r, ms: Date.now() - started };
}

/** stderr is exactly one non-empty line (no stack trace, no repeated message). */
function assertOneLine(stderr: string, r: RunCliResult): string {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, describeRun(r));
  return lines[0]!;
}

/** Everything a failed run must not have changed. */
async function serverState(): Promise<unknown> {
  const d = server();
  const sorted = (e: Record<string, string[]> | undefined): unknown =>
    e === undefined ? undefined : { ...e, aci: [...(e.aci ?? [])].sort() };
  return {
    com: sorted(await readEntry(d.url, admin(), COM, ['aci', 'modifyTimestamp', 'modifiersName'])),
    org: sorted(await readEntry(d.url, admin(), ORG, ['aci', 'modifyTimestamp', 'modifiersName'])),
    people: await readEntry(d.url, admin(), `ou=People,${COM}`, ['modifyTimestamp']),
    rootDse: sorted(await readEntry(d.url, admin(), '', ['aci'])),
    plugin: await readEntry(d.url, admin(), PLUGIN_DN, ['*', 'modifyTimestamp', 'modifiersName']),
    changelog: await readEntry(d.url, admin(), 'cn=changelog'),
    syncUsers: [
      ...(await searchDns(d.url, admin(), COM, '(|(cn=Sync User)(objectClass=inetOrgPerson))')),
      ...(await searchDns(d.url, admin(), ORG, '(|(cn=Sync User)(objectClass=inetOrgPerson))')),
    ].sort(),
  };
}

/** Runs `action` (which runs the CLI once) and checks that the server and the run log show no write. */
async function assertNothingWritten(action: () => Promise<void>): Promise<void> {
  const before = await serverState();
  const offset = fileSize(logFile);
  // modifyTimestamp has one-second granularity: make any write show.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await action();
  assert.deepEqual(await serverState(), before, 'the server is unchanged');
  const lines = logLines(logFile, offset);
  assert.deepEqual(
    lines.filter((l) => l.event === 'write'),
    [],
    'no "event":"write" in the run log',
  );
}

before(async () => {
  tmp = makeTempDir('pes-ds389-errors-');
  logFile = path.join(tmp, 'run.log');
  repoLogOffset = fileSize(REPO_LOG);
  ds = await startDs389();
  adminPasswordFile = secretFile(tmp, 'admin.pw', ds.adminPassword);
  wrongAdminPasswordFile = secretFile(tmp, 'wrong-admin.pw', WRONG_ADMIN_PASSWORD);
  sync1File = secretFile(tmp, 'sync1.pw', SYNC_PASSWORD_1);
  sync2File = secretFile(tmp, 'sync2.pw', SYNC_PASSWORD_2);
});

after(async () => {
  await ds?.stop();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('389 DS: failures write nothing (pristine server)', () => {
  test('wrong admin password: exit 49, one line naming the bind DN, nothing written', async () => {
    await assertNothingWritten(async () => {
      const r = await run(args(['-b', COM, '--isSource', '--isDestination'], { adminFile: wrongAdminPasswordFile }));
      assert.equal(r.code, 49, describeRun(r));
      const line = assertOneLine(r.stderr, r);
      assert.ok(line.includes('cn=Directory Manager'), line);
      const end = logLines(logFile, 0)
        .filter((l) => l.event === 'end')
        .at(-1);
      assert.equal(end?.exitCode, 49, JSON.stringify(end));
    });
  });

  test('missing base DN: exit 32, nothing written (also when another base exists)', async () => {
    await assertNothingWritten(async () => {
      const r = await run(args(['-b', 'dc=missing,dc=com', '--isSource']));
      assert.equal(r.code, 32, describeRun(r));
      assert.match(assertOneLine(r.stderr, r), /dc=missing,dc=com/);
      // The first base exists (the sync user would go under it): still nothing may be written.
      const both = await run(args(['-b', COM, '-b', 'dc=missing,dc=com', '--isSource', '--isDestination']));
      assert.equal(both.code, 32, describeRun(both));
      assert.match(assertOneLine(both.stderr, both), /dc=missing,dc=com/);
    });
  });

  test('sync user whose parent is missing: exit 32, nothing written', async () => {
    await assertNothingWritten(async () => {
      const r = await run(
        args(['-b', COM, '--isSource', '--isDestination', '--syncServerBindDN', `cn=Sync User,ou=Nowhere,${COM}`]),
      );
      assert.equal(r.code, 32, describeRun(r));
      assert.match(assertOneLine(r.stderr, r), /ou=Nowhere/);
    });
    assert.equal(await readEntry(server().url, admin(), `cn=Sync User,ou=Nowhere,${COM}`), undefined);
  });

  test('no passwords, no --no-prompt, stdin closed or /dev/null: exit 89 within seconds', async () => {
    const d = server();
    const noPasswords = [
      '-h',
      d.host,
      '-p',
      String(d.port),
      '-D',
      d.adminDn,
      '-b',
      COM,
      '--isSource',
      '--logFile',
      logFile,
    ];
    for (const stdin of ['closed', 'inherit-none'] as const) {
      const r = await run(noPasswords, { stdin, timeoutMs: 20_000 });
      assert.equal(r.timedOut, false, `stdin ${stdin}: the CLI must not wait for input\n${describeRun(r)}`);
      assert.equal(r.code, 89, `stdin ${stdin}\n${describeRun(r)}`);
      assert.match(r.stderr, /bindPasswordFile|PES_BIND_PASSWORD/, describeRun(r));
    }
    assert.equal(await readEntry(d.url, admin(), `cn=Sync User,${COM}`), undefined);
  });

  test('invalid DN: exit 89', async () => {
    const r = await run(args(['-b', 'dc=example,,dc=com', '--isSource']));
    assert.equal(r.code, 89, describeRun(r));
    assert.match(r.stderr, /dc=example,,dc=com/);
    const user = await run(args(['-b', COM, '--isSource', '--syncServerBindDN', 'cn=Sync User,,dc=example,dc=com']));
    assert.equal(user.code, 89, describeRun(user));
  });

  for (const port of ['0', '70000', 'abc']) {
    test(`port ${port}: exit 89`, async () => {
      const r = await run(args(['-b', COM, '--isSource'], { port }));
      assert.equal(r.code, 89, describeRun(r));
      assert.match(r.stderr, /port/i, describeRun(r));
      assert.equal(r.stdout, '', 'a usage error says nothing on stdout');
    });
  }

  test('nothing listening on the port: exit 91', async () => {
    const port = await freePort();
    const r = await run(args(['-b', COM, '--isSource'], { port: String(port) }), { timeoutMs: 30_000 });
    assert.equal(r.timedOut, false, describeRun(r));
    assert.equal(r.code, 91, describeRun(r));
    assert.ok(assertOneLine(r.stderr, r).includes(String(port)), describeRun(r));
  });

  test('the server is still pristine after all of the above', async () => {
    const d = server();
    const users = await searchDns(d.url, admin(), COM, '(objectClass=inetOrgPerson)');
    assert.deepEqual(users, []);
    const acis = [
      ...((await readEntry(d.url, admin(), COM, ['aci']))?.aci ?? []),
      ...((await readEntry(d.url, admin(), ORG, ['aci']))?.aci ?? []),
      ...((await readEntry(d.url, admin(), '', ['aci']))?.aci ?? []),
    ];
    assert.ok(!acis.some((aci) => aci.includes('prepare-endpoint-server')), JSON.stringify(acis));
    const plugin = await readEntry(d.url, admin(), PLUGIN_DN, ['nsslapd-pluginEnabled', 'nsslapd-changelogmaxage']);
    assert.equal(plugin?.['nsslapd-pluginenabled']?.[0]?.toLowerCase(), 'off');
    assert.deepEqual(plugin?.['nsslapd-changelogmaxage'] ?? [], [], 'no maximum age was set');
  });

  test('a usage error (89) is logged to the --logFile given, not to the tool folder', async () => {
    const offset = fileSize(logFile);
    const r = await run(args(['-b', COM, '--isSource'], { port: '0' }));
    assert.equal(r.code, 89, describeRun(r));
    const lines = logLines(logFile, offset);
    assert.ok(
      lines.some((l) => l.event === 'usage-error' && l.exitCode === 89),
      `--logFile got: ${JSON.stringify(lines)}`,
    );
  });
});

describe('389 DS: an existing sync user with another password', () => {
  const syncDn = `cn=Sync User,${ORG}`;

  test('setup: a destination run creates the sync user with the first password', async () => {
    const r = await run(args(['-b', ORG, '--isDestination'], { syncFile: sync1File }));
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(await readEntry(server().url, admin(), syncDn), `${syncDn} exists`);
    assert.equal(await canBind(server().url, syncDn, SYNC_PASSWORD_1), true);
  });

  test('a different password: exit 49, the password is unchanged and nothing is written', async () => {
    const d = server();
    const hashBefore = (await readEntry(d.url, admin(), syncDn, ['userPassword']))?.userpassword;
    assert.ok(hashBefore?.length === 1, 'Directory Manager reads the password hash');
    await assertNothingWritten(async () => {
      const r = await run(args(['-b', ORG, '--isDestination'], { syncFile: sync2File }));
      assert.equal(r.code, 49, describeRun(r));
      const line = assertOneLine(r.stderr, r);
      assert.ok(line.includes(syncDn), line);
      assert.match(line, /resetSyncServerBindPassword/, line);
    });
    assert.deepEqual((await readEntry(d.url, admin(), syncDn, ['userPassword']))?.userpassword, hashBefore);
    assert.equal(await canBind(d.url, syncDn, SYNC_PASSWORD_1), true, 'the old password still binds');
    assert.equal(await canBind(d.url, syncDn, SYNC_PASSWORD_2), false, 'the new one does not');
  });

  test('with --resetSyncServerBindPassword: exit 0 and the new password binds', async () => {
    const d = server();
    const offset = fileSize(logFile);
    const r = await run(args(['-b', ORG, '--isDestination', '--resetSyncServerBindPassword'], { syncFile: sync2File }));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await canBind(d.url, syncDn, SYNC_PASSWORD_2), true, 'the new password binds');
    assert.equal(await canBind(d.url, syncDn, SYNC_PASSWORD_1), false, 'the old one no longer does');
    const writes = logLines(logFile, offset).filter((l) => l.event === 'write');
    assert.ok(
      writes.some(
        (l) =>
          String(l.dn).toLowerCase() === syncDn.toLowerCase() &&
          JSON.stringify(l.attributes).toLowerCase().includes('userpassword'),
      ),
      JSON.stringify(writes),
    );
  });
});

describe('389 DS: passwords never leak', () => {
  test('no sentinel password in the stdout, stderr or log of any run above', () => {
    assert.ok(results.length >= 15, `all runs were recorded: ${results.length}`);
    const logText = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    assert.ok(logText.length > 0, 'the run log was written');
    // Usage errors currently go to the tool folder's log: look there too (only at what was appended).
    const repoLogText = existsSync(REPO_LOG) ? readFileSync(REPO_LOG).subarray(repoLogOffset).toString('utf8') : '';
    const secrets = [...SENTINELS, server().adminPassword];
    for (const secret of secrets) {
      results.forEach((r, i) => {
        assert.ok(!r.stdout.includes(secret), `run ${i}: a password is on stdout`);
        assert.ok(!r.stderr.includes(secret), `run ${i}: a password is on stderr`);
      });
      assert.ok(!logText.includes(secret), 'a password is in the run log');
      assert.ok(!repoLogText.includes(secret), 'a password is in the tool folder log');
    }
  });
});
