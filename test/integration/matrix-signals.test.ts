// Fault matrix, signals (real slapd and 389 DS): SIGINT (Ctrl-C) and SIGTERM stop a run at any point (at a
// prompt, waiting for a password on stdin, while connecting, during a search that is never answered, during
// a write that is never answered, between writes) and the process exits 130 / 143 by itself, with one line and
// the log's end line. No assertion is on a time (the machine may be loaded): the harness's deadline, tens of
// seconds, catches a hang, and how long each exit took is printed as a diagnostic. What the interrupted run leaves, a re-run finishes: it ends in
// the state of an uninterrupted run, and a third run writes nothing.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd } from '../servers/openldap.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { canBind, readEntry } from '../helpers/directory.js';
import {
  startFullBacklogListener,
  startLdapProxy,
  startSilentListener,
  type WriteDecision,
} from '../helpers/ldap-proxy.js';
import {
  assertNoSecretsAnywhere,
  connectingTo,
  describeRun,
  fileSize,
  logLines,
  oneLine,
  readsStdin,
  runCli,
  signalAndWait,
  spawnCli,
  SENTINEL_SYNC,
  type Spawned,
  until,
  useSlapdMatrix,
} from '../helpers/matrix.js';
import { accessRulesFor, slapdState } from '../helpers/slapd-state.js';
import type { RunCliResult } from '../helpers/cli.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const CODES = { SIGINT: 130, SIGTERM: 143 } as const;
/**
 * A signal sent as a write reaches the server, which answers it at once: the run stops after that answer,
 * unless the machine is so loaded that the answer takes longer than WRITE_GRACE_MS; then the write is said to
 * be unknown. Both are correct; which one happens is the machine's timing, not the test's.
 */
const BETWEEN_WRITES =
  /before all changes were made|during the (add|modify) of .*: 127\.0\.0\.1:\d+ did not answer it in time, so it may or may not have been made/;
const matrix = useSlapdMatrix('pes-matrix-sig-');

const measured: string[] = [];

function args(host: string, port: number, bindDn: string, extra: string[]): string[] {
  return matrix.args({ host, port, adminDn: bindDn }, extra);
}

/** The run ended by `signal` as the tool ends it: its code, in time, one line, and the log's end line. */
function assertStopped(
  r: RunCliResult & { exitMs: number },
  signal: keyof typeof CODES,
  where: string,
  offset: number,
  pattern: RegExp,
): void {
  measured.push(`${where}, ${signal}: exit ${String(r.code)} after ${r.exitMs} ms`);
  assert.equal(r.signal, null, `the tool exits by itself, not by the signal's default action: ${describeRun(r)}`);
  assert.equal(r.timedOut, false, `${where}: never a hang: ${describeRun(r)}`);
  assert.equal(r.code, CODES[signal], describeRun(r));
  assert.ok(!/^\s+at /m.test(r.stderr), `no stack trace: ${describeRun(r)}`);
  // With --json the progress lines are on stderr too: the failure is the one Error line.
  const line = oneLine(
    r.stderr
      .split('\n')
      .filter((l) => l.startsWith('Error'))
      .join('\n'),
    r,
  );
  assert.match(line, signal === 'SIGTERM' ? /^Error: Terminated \(SIGTERM\)/ : /^Error: Interrupted/, describeRun(r));
  assert.match(line, pattern, describeRun(r));
  assert.match(line, /run the same command again/);
  const end = logLines(matrix.logFile, offset)
    .filter((l) => l.event === 'end' || l.event === 'usage-error')
    .at(-1);
  assert.equal(end?.exitCode, CODES[signal], `the log's last line says ${CODES[signal]}`);
}

describe('matrix: signals stop the run at once (130 for SIGINT, 143 for SIGTERM)', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} at a prompt (on a terminal): nothing written`, async () => {
      const before = await slapdState(matrix.server);
      const offset = fileSize(matrix.logFile);
      const spawned = spawnCli(
        [
          '-h',
          matrix.server.host,
          '-p',
          String(matrix.server.port),
          '-D',
          matrix.server.adminDn,
          '-b',
          BASE,
          '--isDestination',
          '--logFile',
          matrix.logFile,
        ],
        { tty: true, stdin: 'open', timeoutMs: 20_000 },
      );
      await spawned.output(/Password for the sync user/);
      const r = await signalAndWait(spawned, signal);
      spawned.child.stdin?.destroy();
      // Through `script` the terminal carries stdout and stderr as one stream.
      measured.push(`at a prompt, ${signal}: exit ${String(r.code)} after ${r.exitMs} ms`);
      assert.equal(r.timedOut, false, `never a hang: ${describeRun(r)}`);
      assert.equal(r.code, CODES[signal], describeRun(r));
      assert.match(r.stdout, signal === 'SIGTERM' ? /Terminated \(SIGTERM\) at a prompt/ : /Interrupted at a prompt/);
      assert.equal(
        logLines(matrix.logFile, offset)
          .filter((l) => l.event === 'end')
          .at(-1)?.exitCode,
        CODES[signal],
      );
      assert.deepEqual(await slapdState(matrix.server), before);
    });

    test(`${signal} while waiting for a password on stdin (\`-j -\`, a pipe that stays open)`, async () => {
      const offset = fileSize(matrix.logFile);
      const run = args(matrix.server.host, matrix.server.port, matrix.server.adminDn, ['-b', BASE, '--isDestination']);
      run[run.indexOf('--bindPasswordFile') + 1] = '-';
      const spawned = spawnCli(run, { stdin: 'open', timeoutMs: 20_000 });
      await until('reading stdin', () => readsStdin(spawned));
      const r = await signalAndWait(spawned, signal);
      spawned.child.stdin?.destroy();
      assertStopped(r, signal, 'reading stdin', offset, /while reading a password from stdin/);
    });

    test(`${signal} while connecting (the server's accept queue is full)`, async () => {
      const listener = await startFullBacklogListener();
      const offset = fileSize(matrix.logFile);
      try {
        // The listener's own connections that fill its queue wait too: the CLI's is one more.
        const filling = connectingTo(listener.port);
        const spawned = spawnCli(
          args('127.0.0.1', listener.port, matrix.server.adminDn, [
            '-b',
            BASE,
            '--isDestination',
            '--connectTimeout',
            '20s',
          ]),
          { timeoutMs: 30_000 },
        );
        await until('connecting', () => connectingTo(listener.port) > filling);
        const r = await signalAndWait(spawned, signal);
        assertStopped(
          r,
          signal,
          'connecting',
          offset,
          new RegExp(`while connecting to 127\\.0\\.0\\.1:${listener.port}`),
        );
      } finally {
        await listener.close();
      }
    });

    test(`${signal} during a search a listener never answers`, async () => {
      const silent = await startSilentListener();
      const offset = fileSize(matrix.logFile);
      try {
        const spawned = spawnCli(
          args('127.0.0.1', silent.port, matrix.server.adminDn, [
            '-b',
            BASE,
            '--isDestination',
            '--operationTimeout',
            '30s',
          ]),
          { timeoutMs: 40_000 },
        );
        await until('the root DSE search', () => silent.received() > 0);
        const r = await signalAndWait(spawned, signal);
        assertStopped(
          r,
          signal,
          'a search never answered',
          offset,
          /during the search of the root DSE on 127\.0\.0\.1:\d+/,
        );
      } finally {
        await silent.close();
      }
    });
  }
});

/** A run against `port` (a proxy in front of the server) that gets `signal` when write `at` reaches the proxy. */
async function signalAtWrite(
  run: string[],
  signal: keyof typeof CODES,
  at: number,
  decision: WriteDecision,
  target: { host: string; port: number },
): Promise<{ r: RunCliResult & { exitMs: number }; forwarded: number }> {
  let spawned: Spawned | undefined;
  let sent: Promise<RunCliResult & { exitMs: number }> | undefined;
  let forwarded = 0;
  const proxy = await startLdapProxy(target, {
    onWrite(request) {
      if (request.index === at) {
        sent = signalAndWait(spawned!, signal);
        if (decision === 'drop') return 'drop';
      }
      forwarded += 1;
      return 'forward';
    },
  });
  try {
    const portAt = run.indexOf('-p') + 1;
    const proxied = [...run];
    proxied[portAt] = String(proxy.port);
    spawned = spawnCli(proxied, { timeoutMs: 40_000 });
    const result = await spawned.result;
    assert.ok(sent !== undefined, `the run reached write ${at}: ${describeRun(result)}`);
    return { r: await sent, forwarded };
  } finally {
    await proxy.close();
  }
}

describe('matrix: signals during the writes on slapd; a re-run finishes the job', () => {
  const run = (): string[] =>
    args('127.0.0.1', matrix.server.port, matrix.server.adminDn, [
      '-b',
      BASE,
      '--isSource',
      '--isDestination',
      '--accesslogDirectory',
      matrix.server.accesslogDirectory,
      '--json',
    ]);

  test('SIGTERM during a write the server never answers: 143 within a second; the re-run converges', async () => {
    const fresh = await startSlapd();
    try {
      const freshRun = args('127.0.0.1', fresh.port, fresh.adminDn, [
        '-b',
        BASE,
        '--isSource',
        '--isDestination',
        '--accesslogDirectory',
        fresh.accesslogDirectory,
        '--json',
      ]);
      const offset = fileSize(matrix.logFile);
      const { r, forwarded } = await signalAtWrite(freshRun, 'SIGTERM', 2, 'drop', {
        host: fresh.host,
        port: fresh.port,
      });
      assertStopped(
        r,
        'SIGTERM',
        'a write never answered',
        offset,
        /during the (add|modify) of .*: 127\.0\.0\.1:\d+ did not answer it in time, so it may or may not have been made/,
      );
      assert.equal(forwarded, 1, 'only the first write reached the server');
      assert.ok(
        await readEntry(fresh.url, { dn: fresh.adminDn, password: fresh.adminPassword }, SYNC_DN),
        'the first write (the account) was made',
      );
      const rerun = await runCli(freshRun);
      assert.equal(rerun.code, 0, describeRun(rerun));
      const third = await runCli(freshRun);
      assert.equal((JSON.parse(third.stdout) as { changed: boolean }).changed, false, describeRun(third));
      assert.equal(await canBind(fresh.url, SYNC_DN, SENTINEL_SYNC), true);
    } finally {
      await fresh.stop();
    }
  });

  test('SIGINT between two writes (the first answered at once): 130, nothing after it; the re-run finishes', async () => {
    const before = await slapdState(matrix.server);
    const offset = fileSize(matrix.logFile);
    const { r } = await signalAtWrite(run(), 'SIGINT', 1, 'forward', {
      host: matrix.server.host,
      port: matrix.server.port,
    });
    assertStopped(r, 'SIGINT', 'between writes', offset, BETWEEN_WRITES);
    const writes = logLines(matrix.logFile, offset).filter((l) => l.event === 'write');
    assert.equal(
      writes.length,
      /before all changes were made/.test(r.stderr) ? 1 : 0,
      'the write in flight is logged as made only when it was answered in time; none after it',
    );
    assert.notDeepEqual(await slapdState(matrix.server), before);
    const rerun = await runCli(run());
    assert.equal(rerun.code, 0, describeRun(rerun));
    assert.equal((await accessRulesFor(matrix.server, 'cn=Sync User')).length, 1);
    const third = await runCli(run());
    assert.equal((JSON.parse(third.stdout) as { changed: boolean }).changed, false, describeRun(third));
  });
});

describe('matrix: signals during the writes on 389 DS; a re-run finishes the job', () => {
  let ds: Ds389 | undefined;
  before(async () => {
    ds = await startDs389();
  });
  after(async () => {
    await ds?.stop();
  });
  const run = (): string[] =>
    args('127.0.0.1', ds!.port, ds!.adminDn, ['-b', BASE, '--isSource', '--isDestination', '--json']);
  const acis = async (): Promise<string[]> =>
    ((await readEntry(ds!.url, { dn: ds!.adminDn, password: ds!.adminPassword }, BASE, ['aci']))?.aci ?? []).filter(
      (a) => a.includes('prepare-endpoint-server'),
    );

  test('SIGINT during a write 389 DS never gets an answer for, then SIGTERM between writes: 130, 143; the re-run converges', async () => {
    let offset = fileSize(matrix.logFile);
    const held = await signalAtWrite(run(), 'SIGINT', 2, 'drop', { host: ds!.host, port: ds!.port });
    assertStopped(
      held.r,
      'SIGINT',
      '389 DS: a write never answered',
      offset,
      /during the (add|modify) of .* may or may not have been made/,
    );
    assert.deepEqual(await acis(), [], 'the held write never reached the server');

    offset = fileSize(matrix.logFile);
    const between = await signalAtWrite(run(), 'SIGTERM', 1, 'forward', { host: ds!.host, port: ds!.port });
    assertStopped(between.r, 'SIGTERM', '389 DS: between writes', offset, BETWEEN_WRITES);

    const rerun = await runCli(run());
    assert.equal(rerun.code, 0, describeRun(rerun));
    assert.ok((await acis()).length >= 2, 'source and destination ACIs');
    assert.equal(await canBind(ds!.url, SYNC_DN, SENTINEL_SYNC), true);
    const third = await runCli(run());
    assert.equal((JSON.parse(third.stdout) as { changed: boolean }).changed, false, describeRun(third));
  });

  test('no sentinel password anywhere; the times measured', (t) => {
    for (const line of measured) t.diagnostic(line);
    assertNoSecretsAnywhere([matrix.logFile], matrix.repoLogOffset, 14);
  });
});
