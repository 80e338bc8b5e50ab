// Where the run log goes: the default file, the user's XDG state folder when the default cannot be written
// (a root-owned global install run by another user), and a warning, never a failure, when neither can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRunLog, userStateLogFile } from '../../src/cli/log.js';

test('the fallback log file: $XDG_STATE_HOME, else ~/.local/state; a relative $XDG_STATE_HOME is ignored', () => {
  assert.equal(
    userStateLogFile({ XDG_STATE_HOME: '/s', HOME: '/home/u' }),
    '/s/prepare-endpoint-server/prepare-endpoint-server.log',
  );
  assert.equal(
    userStateLogFile({ HOME: '/home/u' }),
    '/home/u/.local/state/prepare-endpoint-server/prepare-endpoint-server.log',
  );
  assert.equal(
    userStateLogFile({ XDG_STATE_HOME: 'state', HOME: '/home/u' }),
    '/home/u/.local/state/prepare-endpoint-server/prepare-endpoint-server.log',
  );
  assert.equal(
    userStateLogFile({}),
    join(homedir(), '.local', 'state', 'prepare-endpoint-server', 'prepare-endpoint-server.log'),
  );
});

test('openRunLog: the default when it can be written, else the fallback (said where), else a warning naming both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pes-log-'));
  try {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const unwritable = join(blocker, 'logs', 'run.log');
    const fallback = join(dir, 'state', 'prepare-endpoint-server', 'prepare-endpoint-server.log');

    const direct = await openRunLog(join(dir, 'logs', 'run.log'), 'run-1', { fallback });
    assert.equal(direct.movedTo, undefined);
    assert.equal(direct.problem, undefined);
    assert.equal(existsSync(fallback), false);

    const moved = await openRunLog(unwritable, 'run-2', { fallback });
    assert.deepEqual(moved.movedTo, { file: fallback, reason: `${unwritable} cannot be written (ENOTDIR)` });
    assert.equal(moved.problem, undefined);
    moved.log.info({ event: 'end' }, 'run finished');
    assert.match(readFileSync(fallback, 'utf8'), /"runId":"run-2".*"event":"end"/);
    assert.equal(statSync(fallback).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'state', 'prepare-endpoint-server')).mode & 0o777, 0o700);

    const neither = await openRunLog(unwritable, 'run-3', { fallback: join(blocker, 'state', 'x.log') });
    assert.equal(neither.movedTo, undefined);
    assert.equal(
      neither.problem,
      `cannot write the log file ${unwritable} (ENOTDIR) nor ${join(blocker, 'state', 'x.log')} (ENOTDIR); the run goes on without it`,
    );

    // A --logFile is never moved: no fallback is given for it.
    const chosen = await openRunLog(unwritable, 'run-4');
    assert.equal(chosen.problem, `cannot write the log file ${unwritable} (ENOTDIR); the run goes on without it`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
