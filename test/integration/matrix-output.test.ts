// Fault matrix, output and messages (real slapd): stdout or stderr closed early (EPIPE, as `| head -c 20`
// does), a log file on a full device (/dev/full: ENOSPC) or a named pipe nobody reads never stop or corrupt a
// preparation: the run finishes, says so at most once on the stream that still works, and exits with its
// meaningful code. Colours only on a terminal that can show them (never with TERM=dumb, NO_COLOR or
// --no-color). Every LDAP result the server answers with is one line saying what failed and what to do.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { canBind, readEntry } from '../helpers/directory.js';
import {
  assertNoSecretsAnywhere,
  describeRun,
  fileSize,
  logLines,
  oneLine,
  runCli,
  secretFile,
  SENTINEL_OTHER,
  SENTINEL_SYNC,
  useSlapdMatrix,
} from '../helpers/matrix.js';
import { withoutAdminUnderBaseWarning } from '../helpers/fixture.js';
import { accessRulesFor, addEntries, slapdState } from '../helpers/slapd-state.js';

const BASE = 'dc=example,dc=com';
const ESCAPE = '\u001b[';
const matrix = useSlapdMatrix('pes-matrix-out-');
let counter = 0;

const common = matrix.serverArgs;

/** A sync user DN no run has used yet: each row prepares from scratch, so its writes happen after the fault. */
function freshUser(): string {
  counter += 1;
  return `cn=Output User ${counter},ou=People,${BASE}`;
}

/** The run really prepared the server: the account binds and its rule is there. */
async function assertPrepared(dn: string): Promise<void> {
  assert.equal(await canBind(matrix.server.url, dn, SENTINEL_SYNC), true, `${dn} binds`);
  assert.equal((await accessRulesFor(matrix.server, dn.split(',')[0]!)).length, 1, `the access rule for ${dn}`);
}

function noStack(text: string): void {
  assert.ok(!/^\s+at /m.test(text) && !/node:internal|Unhandled 'error' event/.test(text), `no stack trace:\n${text}`);
}

describe('matrix: output errors never stop a preparation', () => {
  test('stdout closed after 20 bytes (| head -c 20): exit 0, prepared, one warning on stderr', async () => {
    const dn = freshUser();
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn]), { closeStdoutAfter: 20 });
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'Testing connection t');
    assert.match(
      oneLine(withoutAdminUnderBaseWarning(r.stderr), r),
      /^Warning: cannot write to stdout \(EPIPE\): the rest of its output is dropped; the run goes on$/,
    );
    await assertPrepared(dn);
  });

  test('stdout closed at once with --json: exit 0, prepared; the warning on stderr', async () => {
    const dn = freshUser();
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn, '--json']), {
      closeStdoutAfter: 0,
    });
    assert.equal(r.code, 0, describeRun(r));
    noStack(r.stderr);
    assert.equal(
      r.stderr.split('\n').filter((line) => line.includes('cannot write to stdout (EPIPE)')).length,
      1,
      describeRun(r),
    );
    await assertPrepared(dn);
  });

  test('stderr closed at once, and a failing run: the exit code is still the LDAP result (49); the warning on stdout', async () => {
    const wrong = secretFile(matrix.tmp, 'wrong.pw', SENTINEL_OTHER);
    const before = await slapdState(matrix.server);
    const r = await runCli(
      common(['--isDestination', '-b', BASE, '--syncServerBindDN', freshUser()], { adminFile: wrong }),
      { closeStderr: true },
    );
    assert.equal(r.code, 49, describeRun(r));
    noStack(r.stdout);
    assert.equal(
      r.stdout.split('\n').filter((line) => /^Warning: cannot write to stderr \(EPIPE\)/.test(line)).length,
      1,
      describeRun(r),
    );
    assert.deepEqual(await slapdState(matrix.server), before);
  });

  test('stdout and stderr both closed at once: exit 0, prepared, the log has the whole run', async () => {
    const dn = freshUser();
    const offset = fileSize(matrix.logFile);
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn]), {
      closeStdoutAfter: 0,
      closeStderr: true,
    });
    assert.equal(r.code, 0, describeRun(r));
    await assertPrepared(dn);
    const lines = logLines(matrix.logFile, offset);
    assert.equal(lines.filter((l) => l.event === 'end').at(-1)?.exitCode, 0);
    assert.ok(
      lines.some((l) => l.event === 'warning' && /cannot write to stdout/.test(String(l.msg))),
      JSON.stringify(lines),
    );
  });

  test('stdout closed and a failing run (a missing base DN): exit 32 as without the fault', async () => {
    const r = await runCli(common(['--isDestination', '-b', `ou=Missing,${BASE}`]), { closeStdoutAfter: 0 });
    assert.equal(r.code, 32, describeRun(r));
    noStack(r.stderr);
    assert.match(r.stderr, /Error: Base DN 'ou=Missing,dc=example,dc=com' does not exist/);
  });

  test('--logFile /dev/full (ENOSPC on every write): exit 0, prepared, one warning', async () => {
    const dn = freshUser();
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn], { logFile: '/dev/full' }));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(
      oneLine(withoutAdminUnderBaseWarning(r.stderr), r),
      /^Warning: cannot write the log file \/dev\/full \(ENOSPC\); the run goes on without it$/,
    );
    await assertPrepared(dn);
    // In --json the warning is in the result too.
    const json = await runCli(
      common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn, '--json'], { logFile: '/dev/full' }),
    );
    assert.equal(json.code, 0, describeRun(json));
    assert.ok(
      (JSON.parse(json.stdout) as { warnings: string[] }).warnings.some((w) => /ENOSPC/.test(w)),
      json.stdout,
    );
  });

  test('--logFile /dev/full on a usage error: still exit 89 and one error line, plus the warning', async () => {
    const r = await runCli(common(['--isDestination', '-b', BASE, '-p', '0'], { logFile: '/dev/full' }));
    assert.equal(r.code, 89, describeRun(r));
    noStack(r.stderr);
    assert.match(r.stderr, /^Error: Invalid --port '0'/m);
  });

  test('--logFile a named pipe nobody reads: the run does not wait for a reader (exit 0, one warning)', async () => {
    const fifo = path.join(matrix.tmp, 'log.fifo');
    execFileSync('mkfifo', [fifo]);
    const dn = freshUser();
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn], { logFile: fifo }), {
      timeoutMs: 20_000,
    });
    assert.equal(r.timedOut, false, describeRun(r));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(
      oneLine(withoutAdminUnderBaseWarning(r.stderr), r),
      /^Warning: cannot write the log file .*log\.fifo \(ENXIO\); the run goes on without it$/,
    );
    await assertPrepared(dn);
  });
});

describe('matrix: colours only on a terminal that shows them', () => {
  // Through `script` the CLI writes to a terminal; stdout and stderr come back as one stream.
  const onTerminal = (
    env: Record<string, string>,
    extra: string[] = [],
  ): Promise<{ code: number | null; stdout: string }> =>
    runCli(common(['--isDestination', '-b', BASE, ...extra]), { tty: true, env: { NO_COLOR: '', ...env } });

  test('a colour terminal gets colours (the control row); TERM=dumb, NO_COLOR and --no-color get none', async () => {
    const colour = await onTerminal({ TERM: 'xterm-256color' });
    assert.equal(colour.code, 0, colour.stdout);
    assert.ok(colour.stdout.includes(ESCAPE), 'colours on an xterm');
    for (const [env, extra] of [
      [{ TERM: 'dumb' }, []],
      [{ TERM: 'xterm-256color', NO_COLOR: '1' }, []],
      [{ TERM: 'xterm-256color' }, ['--no-color']],
    ] as const) {
      const r = await onTerminal(env, [...extra]);
      assert.equal(r.code, 0, r.stdout);
      assert.ok(
        !r.stdout.includes(ESCAPE),
        `no escape sequence with ${JSON.stringify(env)} ${extra.join(' ')}:\n${JSON.stringify(r.stdout)}`,
      );
      assert.match(r.stdout, /Summary: /);
    }
  });
});

describe('matrix: every LDAP result is one line saying what failed and what to do', () => {
  test('a sync user DN the server cannot make an account of (dc=...): exit 65 with the object class rule and the fix', async () => {
    const dn = `dc=sync,${BASE}`;
    const before = await slapdState(matrix.server);
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn]));
    assert.equal(r.code, 65, describeRun(r));
    const line = oneLine(r.stderr, r);
    assert.doesNotMatch(line, /LDAP error \d+/);
    assert.match(
      line,
      /^Error: The server refused the add of 'dc=sync,dc=example,dc=com': the entry would break its object class rules \(objectClassViolation, LDAP result 65; server said: .*\): choose a --syncServerBindDN whose first part is cn=\.\.\. or uid=\.\.\./,
    );
    assert.deepEqual(await slapdState(matrix.server), before);
  });

  test('--remove of an entry with entries below it: never a bare "LDAP error 66"; the entry and its children stay', async () => {
    const parent = `ou=Team,${BASE}`;
    const child = `cn=Member,${parent}`;
    await addEntries(matrix.server, [
      { dn: parent, attributes: { objectClass: ['organizationalUnit'], ou: ['Team'] } },
      { dn: child, attributes: { objectClass: ['organizationalRole'], cn: ['Member'] } },
    ]);
    const r = await runCli(common(['--remove', '-b', BASE, '--syncServerBindDN', parent]));
    noStack(r.stderr);
    assert.doesNotMatch(r.stderr, /LDAP error \d+/, describeRun(r));
    if (r.code === 66) {
      assert.match(
        oneLine(r.stderr, r),
        /^Error: The server refused the delete of 'ou=Team,dc=example,dc=com': it has entries below it.*\(notAllowedOnNonLeaf, LDAP result 66.*\): this tool never deletes a subtree/,
      );
    } else {
      // Once --remove keeps entries it did not create, the run says so and succeeds.
      assert.equal(r.code, 0, describeRun(r));
    }
    const admin = { dn: matrix.server.adminDn, password: matrix.server.adminPassword };
    assert.ok(await readEntry(matrix.server.url, admin, parent), 'the entry is still there');
    assert.ok(await readEntry(matrix.server.url, admin, child), 'and so is the entry below it');
  });

  test('no sentinel password anywhere', () => {
    assertNoSecretsAnywhere([matrix.logFile], matrix.repoLogOffset, 14);
  });
});
