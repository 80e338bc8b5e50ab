// Active Directory's two-phase run (ServerProfile.phases) in process, against an in-memory domain seeded with
// descriptors read from a real Samba AD DC: the account first, then, observed again, the ACEs naming the
// objectSid the server gave it. A dry run plans both phases from the one observation and writes nothing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dnEquals } from '../../src/formats/dn.js';
import { REPLICATING_DIRECTORY_CHANGES } from '../../src/servers/activedirectory.js';
import {
  AceType,
  decodeSecurityDescriptor,
  findAce,
  type SecurityDescriptor,
} from '../../src/servers/ad/security-descriptor.js';
import { ADMIN_PASSWORD, run, settings, SYNC_PASSWORD } from '../helpers/core-run.js';
import { AD_ADMIN_DN, AD_BASE, AD_SYNC_DN, AD_SYNC_SID, activeDirectory } from '../helpers/fake-servers.js';
import { Secret } from '../../src/model/secret.js';

const SOURCE = settings({
  security: 'ssl',
  port: 636,
  bindDn: AD_ADMIN_DN,
  bindPassword: new Secret(ADMIN_PASSWORD),
  baseDns: [AD_BASE],
  roles: { source: true, destination: false },
});

function descriptor(server: ReturnType<typeof activeDirectory>, dn: string): SecurityDescriptor {
  const value = server.values(dn, 'nTSecurityDescriptor')[0];
  assert.ok(value !== undefined, `${dn} has a descriptor`);
  return decodeSecurityDescriptor(Buffer.from(value, 'base64'));
}

const grantsReplication = (sd: SecurityDescriptor): boolean =>
  findAce(sd.dacl, {
    type: AceType.ACCESS_ALLOWED_OBJECT,
    flags: 0,
    mask: 0x100,
    sid: AD_SYNC_SID,
    objectType: REPLICATING_DIRECTORY_CHANGES,
  }) !== undefined;

describe('core run: Active Directory in two phases', () => {
  test('the account is written first; the ACEs, planned after observing it again, name the objectSid the server gave it', async () => {
    const server = activeDirectory();
    assert.equal(grantsReplication(descriptor(server, AD_BASE)), false);
    const result = await run(server, SOURCE);
    assert.equal(result.error, undefined, result.error?.message);

    const addIndex = server.writes.findIndex((c) => c.kind === 'add' && dnEquals(c.dn, AD_SYNC_DN));
    const aceIndex = server.writes.findIndex((c) => c.kind === 'modify' && dnEquals(c.dn, AD_BASE));
    assert.ok(addIndex >= 0 && aceIndex > addIndex, 'the account before its rights');
    assert.equal(server.passwordOf(AD_SYNC_DN), SYNC_PASSWORD);
    assert.ok(
      grantsReplication(descriptor(server, AD_BASE)),
      'the domain root grants the new objectSid the replication right',
    );
    // Planned in the second phase, not found missing by the check after the writes (settlesAfterWrites).
    assert.deepEqual(
      result.transcript.lines.filter((line) => line.includes('more write')),
      [],
    );
    assert.deepEqual(
      result.transcript.steps.slice(0, 1).map((s) => [s.id, s.status]),
      [['sync-user', 'created']],
    );
    assert.equal(result.outcome?.verified, true, "the sync user's DirSync finds its own entry");
    assert.ok(
      result.transcript.checks.some(
        (c) => c.startsWith(`Verifying '${AD_SYNC_DN}' can run DirSync`) && c.includes(': Done'),
      ),
    );

    const made = server.writes.length;
    const again = await run(server, SOURCE);
    assert.equal(again.error, undefined, again.error?.message);
    assert.equal(again.outcome?.changed, false);
    assert.equal(server.writes.length, made, 'a second run writes nothing');
  });

  test('a dry run plans both phases from the one observation, the ACEs for an objectSid not known yet, and writes nothing', async () => {
    const server = activeDirectory();
    const before = server.snapshot();
    const dry = await run(server, settings({ ...SOURCE, dryRun: true }));
    assert.equal(dry.error, undefined, dry.error?.message);
    assert.deepEqual(server.attempted, []);
    assert.deepEqual(server.snapshot(), before);
    const ids = dry.transcript.steps.map((s) => s.id);
    assert.equal(ids[0], 'sync-user');
    const aces = dry.transcript.steps.find((s) => s.id === `ace:${AD_BASE}`);
    assert.match(aces?.detail ?? '', /known once it is created/);
  });

  test('stopped between the phases: a re-run finishes the rights from the account the first run left', async () => {
    const server = activeDirectory();
    const interrupt = new AbortController();
    const stopped = await run(server, SOURCE, {
      signal: interrupt.signal,
      onWrote: (change) => {
        if (change.kind === 'add') interrupt.abort('SIGINT');
      },
    });
    assert.equal(stopped.error?.resultCode, 130);
    assert.ok(server.exists(AD_SYNC_DN));
    assert.equal(grantsReplication(descriptor(server, AD_BASE)), false, 'no rights yet');
    const rerun = await run(server, SOURCE);
    assert.equal(rerun.error, undefined, rerun.error?.message);
    assert.ok(grantsReplication(descriptor(server, AD_BASE)));
    assert.equal(rerun.outcome?.verified, true);
  });
});
