// --replica's order in the core (src/core/topology.ts) against two in-memory 389 DS (test/helpers/fake-servers.ts),
// which do not replicate: every server is read before any write, a server outside the topology or a topology of
// read-only consumers is refused with nothing written, and a replica that never shows the data fails the run
// (85) naming it, with nothing added there. Replication itself is in integration/replicas.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DirectoryConnector } from '../../src/model/directory.js';
import { PrepareError } from '../../src/model/errors.js';
import { prepareTopology } from '../../src/core/topology.js';
import type { Settings } from '../../src/core/settings.js';
import type { FakeDirectoryServer } from '../helpers/fake-directory.js';
import { recordingReporter, settings } from '../helpers/core-run.js';
import { BASE, ds389, SYNC_DN } from '../helpers/fake-servers.js';

const REPLICA = 'cn=replica,cn=dc\\3Dexample\\2Cdc\\3Dcom,cn=mapping tree,cn=config';

/** A fake 389 DS holding a replica of the base DN with the given type and flags (3/1 supplier, 2/0 consumer). */
function replicated(type: '3' | '2', flags: '1' | '0'): FakeDirectoryServer {
  return ds389()
    .put('cn=mapping tree,cn=config', { objectClass: ['top', 'extensibleObject'] })
    .put('cn=dc\\3Dexample\\2Cdc\\3Dcom,cn=mapping tree,cn=config', { objectClass: ['top', 'nsMappingTree'] })
    .put(REPLICA, {
      objectClass: ['top', 'nsds5Replica'],
      nsDS5ReplicaRoot: [BASE],
      nsDS5ReplicaType: [type],
      nsDS5Flags: [flags],
      nsDS5ReplicaId: [type === '3' ? '1' : '65535'],
    });
}

async function runTopology(
  a: FakeDirectoryServer,
  b: FakeDirectoryServer,
  overrides: Partial<Settings> = {},
): Promise<PrepareError> {
  const connect: DirectoryConnector = (options, stats) =>
    options.port === 2389 ? b.connect(options, stats) : a.connect(options, stats);
  const { reporter } = recordingReporter();
  try {
    await prepareTopology(settings({ replicas: [{ host: '127.0.0.1', port: 2389 }], ...overrides }), {
      reporter,
      prompter: undefined,
      signal: new AbortController().signal,
      stats: { reads: 0, writes: 0 },
      connect,
    });
  } catch (error) {
    if (error instanceof PrepareError) return error;
    throw error;
  }
  assert.fail('the run should have failed');
}

describe('--replica in the core', () => {
  test('a replica that replicates none of the base DNs: 89 before any write, on either server', async () => {
    const a = replicated('3', '1');
    const b = ds389();
    const error = await runTopology(a, b);
    assert.equal(error.resultCode, 89);
    assert.match(error.message, /127\.0\.0\.1:2389 replicates none of the base DNs/);
    assert.deepEqual([a.writes.length, b.writes.length], [0, 0]);
  });

  test('only read-only consumers: 53, nothing written', async () => {
    const a = replicated('2', '0');
    const b = replicated('2', '0');
    const error = await runTopology(a, b);
    assert.equal(error.resultCode, 53);
    assert.deepEqual([a.writes.length, b.writes.length], [0, 0]);
  });

  test('a replica that never shows the data: 85 naming it, the account added on the writable server only', async () => {
    const a = replicated('3', '1');
    const b = replicated('3', '1');
    const error = await runTopology(a, b, { replicationTimeoutMs: 300 });
    assert.equal(error.resultCode, 85);
    assert.match(error.message, /did not reach 127\.0\.0\.1:2389 within/);
    assert.ok(a.exists(SYNC_DN), 'written on A');
    assert.equal(b.exists(SYNC_DN), false, 'never added on B');
    assert.deepEqual(b.writes, []);
  });
});
