// Fault matrix, network: refused, a listener that never answers, a host name that does not resolve, and a
// server stopped in the middle of a run (then a re-run after its restart finishes the job). Real slapd.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from '../servers/harness.js';
import { slapdScript } from '../servers/openldap.js';
import { canBind, readEntry } from '../helpers/directory.js';
import { startLdapProxy, startSilentListener } from '../helpers/ldap-proxy.js';
import {
  assertNoSecretsAnywhere,
  describeRun,
  logLines,
  oneLine,
  runCli,
  spawnCli,
  SENTINEL_SYNC,
  useSlapdMatrix,
} from '../helpers/matrix.js';
import { accessRulesFor, slapdState } from '../helpers/slapd-state.js';

const execFileP = promisify(execFile);
const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const matrix = useSlapdMatrix('pes-matrix-net-');

function common(host: string, port: number, extra: string[]): string[] {
  return matrix.args({ host, port, adminDn: matrix.server.adminDn }, extra);
}

describe('matrix: network', () => {
  test('nothing listening: exit 91, one line naming host:port', async () => {
    const port = await freePort();
    const r = await runCli(common('127.0.0.1', port, ['--isDestination', '-b', BASE]), { timeoutMs: 20_000 });
    assert.equal(r.code, 91, describeRun(r));
    assert.match(oneLine(r.stderr, r), new RegExp(`Nothing is listening on 127\\.0\\.0\\.1:${port}`));
  });

  test('a listener that accepts and never answers: exit 85 within --operationTimeout', async () => {
    const silent = await startSilentListener();
    try {
      const r = await runCli(
        common('127.0.0.1', silent.port, [
          '--isDestination',
          '-b',
          BASE,
          '--operationTimeout',
          '2s',
          '--connectTimeout',
          '2s',
        ]),
        { timeoutMs: 20_000 },
      );
      assert.equal(r.code, 85, describeRun(r));
      assert.match(oneLine(r.stderr, r), /did not answer .* in time/);
      assert.ok(silent.connections() >= 1, 'the CLI did connect');
      // The 2 s timeout, not the default, ended it: the harness would have stopped the run at 20 s.
      assert.equal(r.timedOut, false, describeRun(r));
      const end = logLines(matrix.logFile)
        .filter((l) => l.event === 'end')
        .at(-1);
      assert.equal(end?.exitCode, 85);
    } finally {
      await silent.close();
    }
  });

  test('a host name that does not resolve: exit 91', async () => {
    const r = await runCli(
      common('no-such-host.invalid', 389, ['--isDestination', '-b', BASE, '--connectTimeout', '5s']),
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 91, describeRun(r));
    assert.match(oneLine(r.stderr, r), /no-such-host\.invalid:389/);
  });

  test('the server stops in the middle of the writes: exit 91; after its restart a re-run finishes the job', async () => {
    const before = await slapdState(matrix.server);
    let stopped = false;
    const proxy = await startLdapProxy(
      { host: matrix.server.host, port: matrix.server.port },
      {
        async onWrite(request) {
          // The sync user is added (write 1); the server goes down while the access rule (write 2) is on its way.
          if (request.index === 2) {
            stopped = true;
            await execFileP('bash', [slapdScript, 'down', matrix.server.dataDir]);
            return 'drop';
          }
          return 'forward';
        },
      },
    );
    try {
      const r = await spawnCli(
        common('127.0.0.1', proxy.port, ['--isDestination', '-b', BASE, '--operationTimeout', '10s']),
        { timeoutMs: 30_000 },
      ).result;
      assert.ok(stopped, `the server was stopped mid-run: ${describeRun(r)}`);
      assert.equal(r.code, 91, describeRun(r));
      assert.match(oneLine(r.stderr.replace(/^Hint: .*$/m, ''), r), /connection to 127\.0\.0\.1:\d+ was lost|reset/);
    } finally {
      await proxy.close();
      await execFileP('bash', [slapdScript, 'up', String(matrix.server.port), matrix.server.dataDir]);
    }
    // Half prepared: the account exists, its access rule does not.
    assert.ok(
      await readEntry(matrix.server.url, { dn: matrix.server.adminDn, password: matrix.server.adminPassword }, SYNC_DN),
    );
    assert.deepEqual(await accessRulesFor(matrix.server, 'cn=Sync User'), []);
    assert.notDeepEqual(await slapdState(matrix.server), before);

    const rerun = await runCli(
      common(matrix.server.host, matrix.server.port, ['--isDestination', '-b', BASE, '--json']),
    );
    assert.equal(rerun.code, 0, describeRun(rerun));
    const json = JSON.parse(rerun.stdout) as { steps: { id: string; status: string }[] };
    assert.deepEqual(
      json.steps.map((step) => step.status),
      // the sync user, its password policy (no ppolicy overlay on this slapd), the access rule, the limits
      ['unchanged', 'unchanged', 'created', 'created'],
      rerun.stdout,
    );
    assert.equal((await accessRulesFor(matrix.server, 'cn=Sync User')).length, 1);
    assert.equal(await canBind(matrix.server.url, SYNC_DN, SENTINEL_SYNC), true);
    const third = await runCli(
      common(matrix.server.host, matrix.server.port, ['--isDestination', '-b', BASE, '--json']),
    );
    assert.equal((JSON.parse(third.stdout) as { changed: boolean }).changed, false, describeRun(third));
  });

  test('no sentinel password anywhere', () => {
    assertNoSecretsAnywhere([matrix.logFile], matrix.repoLogOffset, 6);
  });
});
