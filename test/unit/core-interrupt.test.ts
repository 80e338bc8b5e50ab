// Ctrl-C and SIGTERM during the core's run, in process against an in-memory 389 DS: between two writes and
// during one (answered in the grace, or dropped with the write lost or made). The run ends with 130/143, and
// whatever it left, a second run finishes: the server ends as a run that was never stopped leaves it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AbortDuringWrite } from '../helpers/fake-directory.js';
import { run, settings } from '../helpers/core-run.js';
import { ds389 } from '../helpers/fake-servers.js';

const BOTH = settings({ roles: { source: true, destination: true } });

async function cleanRun(): Promise<{ snapshot: ReturnType<ReturnType<typeof ds389>['snapshot']>; writes: number }> {
  const server = ds389();
  const result = await run(server, BOTH);
  assert.equal(result.error, undefined);
  // The plan's writes; the verification's probe entry (added and deleted as the sync user) comes after them.
  return {
    snapshot: server.snapshot(),
    writes: server.writes.filter((change) => !change.dn.startsWith('cn=prepare-endpoint-server probe ')).length,
  };
}

describe('core run interrupted', async () => {
  const clean = await cleanRun();

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    for (let after = 1; after < clean.writes; after += 2) {
      test(`${signal} between write ${after} and ${after + 1}: exit ${code}, the next write never sent, a re-run finishes`, async () => {
        const server = ds389();
        const interrupt = new AbortController();
        const stopped = await run(server, BOTH, {
          signal: interrupt.signal,
          onWrote: () => {
            if (server.writes.length === after) interrupt.abort(signal);
          },
        });
        assert.equal(stopped.error?.resultCode, code);
        assert.equal(
          stopped.error?.message,
          `${signal === 'SIGINT' ? 'Interrupted' : 'Terminated (SIGTERM)'} before all changes were made`,
        );
        assert.equal(server.attempted.length, after, 'no write sent after the signal');
        assert.equal(server.openConnections, 0, 'every connection closed');

        const rerun = await run(server, BOTH);
        assert.equal(rerun.error, undefined, rerun.error?.message);
        assert.equal(rerun.outcome?.verified, true);
        assert.deepEqual(server.snapshot(), clean.snapshot);
      });
    }
  }

  const modes: readonly AbortDuringWrite[] = ['answered', 'dropped-lost', 'dropped-made'];
  for (const mode of modes) {
    for (const during of [0, 2, clean.writes - 1]) {
      test(`SIGTERM during write ${during + 1} (${mode}): exit 143, a re-run finishes`, async () => {
        const server = ds389();
        const interrupt = new AbortController();
        server.abortDuringWrite = mode;
        server.beforeWrite = (_change, index) => {
          if (index === during) interrupt.abort('SIGTERM');
        };
        const stopped = await run(server, BOTH, { signal: interrupt.signal });
        assert.equal(stopped.error?.resultCode, 143);
        if (mode === 'answered') {
          // The server answered within the grace: the write is made and reported, the next one (or after the
          // last, the verification's bind) never sent.
          assert.equal(
            stopped.error?.message,
            during === clean.writes - 1
              ? "Terminated (SIGTERM) before the bind of 'cn=Sync User,dc=example,dc=com' on 127.0.0.1:389"
              : 'Terminated (SIGTERM) before all changes were made',
          );
          assert.equal(stopped.transcript.wrote.length, during + 1);
        } else {
          assert.match(
            stopped.error?.message ?? '',
            /^Terminated \(SIGTERM\) during the (add|modify|delete) of .*: 127\.0\.0\.1:389 did not answer it in time, so it may or may not have been made$/,
          );
          assert.equal(stopped.transcript.wrote.length, during, 'the dropped write is not reported as made');
        }
        assert.equal(server.attempted.length, during + 1, 'no write sent after the signal');
        assert.equal(server.writes.length, mode === 'dropped-lost' ? during : during + 1);

        const rerun = await run(server, BOTH);
        assert.equal(rerun.error, undefined, rerun.error?.message);
        assert.equal(rerun.outcome?.verified, true);
        assert.deepEqual(server.snapshot(), clean.snapshot);
        assert.equal((await run(server, BOTH)).outcome?.changed, false);
      });
    }
  }

  test('a signal while the run reads (before any write): 130, the read dropped, nothing written', async () => {
    const server = ds389();
    const interrupt = new AbortController();
    // The reads of an observation go out together: those asked for before the signal are in flight with the
    // one it drops; none may be sent after it.
    let askedBeforeSignal = -1;
    server.beforeRead = (_base, index) => {
      if (index !== 4) return;
      askedBeforeSignal = server.readsRequested;
      interrupt.abort('SIGINT');
    };
    const stopped = await run(server, BOTH, { signal: interrupt.signal });
    assert.equal(stopped.error?.resultCode, 130);
    assert.match(stopped.error?.message ?? '', /^Interrupted during the search of .* on 127\.0\.0\.1:389$/);
    assert.ok(askedBeforeSignal >= 5, 'the signal came during a read');
    assert.ok(server.readsTaken <= askedBeforeSignal, 'no read sent after the signal');
    assert.deepEqual(server.attempted, []);
    assert.equal(server.openConnections, 0);
  });
});
