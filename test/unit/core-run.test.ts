// The core's run (prepareEndpoint, what the CLI calls) in process, against an in-memory 389 DS behind the
// directory port: what it writes, a write someone else made meanwhile, a write the server refuses, a dry run
// and a verification that fails. Each test looks at the fake server's entries, not at what the run says.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dnEquals } from '../../src/formats/dn.js';
import type { Change } from '../../src/model/entries.js';
import { run, settings, SYNC_PASSWORD } from '../helpers/core-run.js';
import { BASE, ds389, RETRO_CHANGELOG, SYNC_DN } from '../helpers/fake-servers.js';

const BOTH = { roles: { source: true, destination: true } } as const;
const isAciWrite = (change: Change, dn: string, acl: string): boolean =>
  change.kind === 'modify' &&
  dnEquals(change.dn, dn) &&
  change.modifications.some((m) => m.attribute === 'aci' && m.values.some((v) => v.includes(acl)));

/** The ACIs this tool adds to the base DN for both roles, by the names they carry. */
function ourAcis(server: ReturnType<typeof ds389>): string[] {
  return server
    .values(BASE, 'aci')
    .map((aci) => /acl "([^"]+)"/.exec(aci)?.[1] ?? aci)
    .sort();
}

/** The server a clean run (nothing in its way) leaves behind, to compare interrupted and raced runs with. */
async function cleanState(): Promise<ReturnType<ReturnType<typeof ds389>['snapshot']>> {
  const server = ds389();
  const result = await run(server, settings(BOTH));
  assert.equal(result.error, undefined);
  return server.snapshot();
}

describe('core run against an in-memory 389 DS', () => {
  test('a first run makes the account, its ACIs and the change log, and verifies as the sync user; a second run writes nothing', async () => {
    const server = ds389();
    const first = await run(server, settings(BOTH));
    assert.equal(first.error, undefined, first.error?.message);
    assert.equal(server.passwordOf(SYNC_DN), SYNC_PASSWORD, 'the account binds with the password given');
    assert.deepEqual(ourAcis(server), [
      'prepare-endpoint-server: sync destination add',
      'prepare-endpoint-server: sync destination write',
      'prepare-endpoint-server: sync destination: no access control changes',
      'prepare-endpoint-server: sync destination: no entries carrying ACIs',
      'prepare-endpoint-server: sync destination: no entries carrying password policy pointers',
      'prepare-endpoint-server: sync destination: no password policies',
      'prepare-endpoint-server: sync destination: no password policy classes',
      'prepare-endpoint-server: sync destination: no password policy pointers',
      'prepare-endpoint-server: sync destination: not its own account',
      'prepare-endpoint-server: sync source read',
    ]);
    assert.equal(server.values(RETRO_CHANGELOG, 'nsslapd-pluginEnabled')[0], 'on');
    assert.ok(server.exists('cn=changelog'), 'the change log runs');
    assert.equal(first.outcome?.verified, true);
    assert.deepEqual(first.outcome?.changeNumbers, { first: '1', last: '1' });
    assert.equal(first.stats.writes, server.writes.length - 2, 'the probe entry added and deleted is not counted');
    assert.equal(server.openConnections, 0, 'every connection closed');

    const made = server.writes.length;
    const second = await run(server, settings(BOTH));
    assert.equal(second.outcome?.changed, false);
    assert.deepEqual(
      server.writes.slice(made).map((change) => change.kind),
      ['add', 'delete'],
      'nothing written the second time but the probe entry the verification adds and deletes as the sync user',
    );
    assert.deepEqual(
      second.transcript.steps.filter((s) => s.status !== 'unchanged' && s.status !== 'skipped').map((s) => s.id),
      [],
    );
    assert.equal(second.outcome?.verified, true);
  });

  test('the account created meanwhile by another run with the same password: the add that meets it counts as done', async () => {
    const server = ds389();
    server.beforeWrite = (change) => {
      if (change.kind !== 'add' || !dnEquals(change.dn, SYNC_DN) || server.exists(SYNC_DN)) return;
      server.writeAsSomeoneElse(change); // the other run's identical add, a moment earlier
    };
    const result = await run(server, settings(BOTH));
    assert.equal(result.error, undefined, result.error?.message);
    assert.ok(
      result.transcript.lines.includes(
        `info '${SYNC_DN}' was changed meanwhile by someone else, as this run wanted: kept`,
      ),
    );
    assert.equal(
      server.writes.filter((c) => c.kind === 'add' && dnEquals(c.dn, SYNC_DN)).length,
      1,
      'one add made, by the other run',
    );
    const account = result.outcome?.steps.find((s) => s.id === 'sync-user');
    assert.equal(account?.status, 'unchanged', 'the account another run made is kept, not Created');
    assert.deepEqual(account?.changes, []);
    assert.equal(result.outcome?.verified, true);
    assert.deepEqual(server.snapshot(), await cleanState());
  });

  test("an account created meanwhile with another password is not taken for this run's: planned again, the run stops (49) and grants it nothing", async () => {
    const server = ds389();
    server.beforeWrite = (change) => {
      if (change.kind !== 'add' || !dnEquals(change.dn, SYNC_DN) || server.exists(SYNC_DN)) return;
      server.writeAsSomeoneElse({ ...change, attributes: { ...change.attributes, userPassword: ["someone else's"] } });
    };
    const result = await run(server, settings(BOTH));
    assert.equal(result.error?.resultCode, 49, result.error?.message);
    assert.equal(result.error?.message, `The sync user '${SYNC_DN}' exists but does not accept the password given`);
    assert.equal(server.passwordOf(SYNC_DN), "someone else's");
    assert.deepEqual(ourAcis(server), [], 'no rights for an account this run cannot bind as');
  });

  test('one of four ACIs added meanwhile: the write that meets it is planned again from a fresh read, and the run converges', async () => {
    const server = ds389();
    const acl = 'sync destination: no access control changes';
    server.beforeWrite = (change) => {
      if (
        !isAciWrite(change, BASE, acl) ||
        server.values(BASE, 'aci').some((v) => v.includes(acl)) ||
        change.kind !== 'modify'
      )
        return;
      const theirs = change.modifications[0]!.values.find((v) => v.includes(acl))!;
      server.writeAsSomeoneElse({
        kind: 'modify',
        dn: BASE,
        modifications: [{ operation: 'add', attribute: 'aci', values: [theirs] }],
      });
    };
    const result = await run(server, settings(BOTH));
    assert.equal(result.error, undefined, result.error?.message);
    assert.ok(
      result.transcript.lines.some((line) =>
        /^info The server changed while this run wrote \(another run at the same time\?\): \d+ more writes? to finish$/.test(
          line,
        ),
      ),
      result.transcript.lines.join('\n'),
    );
    for (const name of ourAcis(server))
      assert.equal(ourAcis(server).filter((n) => n === name).length, 1, `${name} once`);
    assert.equal(ourAcis(server).length, 10);
    assert.equal(result.outcome?.verified, true);
    assert.deepEqual(server.snapshot(), await cleanState());
    assert.equal((await run(server, settings(BOTH))).outcome?.changed, false);
  });

  test('a write the admin may not make stops the run with 50 and the LDIF of what is left; a run with the rights finishes', async () => {
    const server = ds389();
    server.failWrite((change) => change.kind === 'modify' && change.dn === '', 50, 'Insufficient access');
    const result = await run(server, settings(BOTH));
    assert.equal(result.error?.resultCode, 50);
    assert.match(result.error?.message ?? '', /may not modify the root DSE/);
    assert.match(result.error?.details ?? '', /^dn:\s*$/m, 'the LDIF starts with the root DSE change');
    assert.doesNotMatch(result.error?.details ?? '', new RegExp(SYNC_PASSWORD), 'no password in the LDIF');
    assert.ok(server.exists(SYNC_DN), 'the writes before it are made');
    assert.equal(server.values('', 'aci').length, 0, 'the refused write is not');
    const again = await run(server, settings(BOTH));
    assert.equal(again.error, undefined);
    assert.deepEqual(server.snapshot(), await cleanState());
  });

  test('a dry run reads and plans, sends no write, and returns the changes a real run makes', async () => {
    const server = ds389();
    const before = server.snapshot();
    const dry = await run(server, settings({ ...BOTH, dryRun: true }));
    assert.equal(dry.error, undefined, dry.error?.message);
    assert.deepEqual(server.attempted, [], 'no write sent');
    assert.equal(dry.stats.writes, 0);
    assert.deepEqual(server.snapshot(), before);
    assert.equal(dry.outcome?.changed, false);
    assert.equal(dry.outcome?.verified, undefined);
    assert.ok(
      dry.transcript.lines.some((line) =>
        line.startsWith("info Dry run: the sync user's password was tested with one bind"),
      ),
    );

    const real = await run(server, settings(BOTH));
    assert.deepEqual(
      real.outcome?.changes.slice(0, dry.outcome?.changes.length),
      dry.outcome?.changes,
      'the real run makes what the dry run printed first',
    );
  });

  test('a sync user that cannot read the change numbers: the writes are made and the run reports itself unverified', async () => {
    const server = ds389();
    server.visible = (bound, dn, attribute) =>
      !(dn === '' && /changenumber$/.test(attribute) && bound !== undefined && dnEquals(bound, SYNC_DN));
    const result = await run(server, settings(BOTH));
    assert.equal(result.error, undefined, result.error?.message);
    assert.equal(result.outcome?.verified, false);
    assert.equal(result.outcome?.changeNumbers, undefined);
    assert.ok(result.transcript.checks.includes(`Verifying '${SYNC_DN}' can read the change numbers: Denied`));
    assert.ok(
      result.transcript.warnings.some((w) =>
        w.startsWith('The sync user cannot read firstChangeNumber/lastChangeNumber in the root DSE'),
      ),
    );
    assert.ok(server.exists(SYNC_DN) && server.exists('cn=changelog'), 'the preparation itself is made');
    assert.equal(
      server.values('', 'firstChangeNumber')[0],
      '1',
      'the numbers are there, the sync user only cannot see them',
    );
  });
});

describe('core run with SASL EXTERNAL (--useSASLExternal)', () => {
  test('alone: the connection identity prepares the server, no admin DN or password asked for', async () => {
    const server = ds389();
    server.externalIdentity = 'cn=Directory Manager';
    const result = await run(
      server,
      settings({ ...BOTH, bindDn: undefined, bindPassword: undefined, useSaslExternal: true }),
    );
    assert.equal(result.error, undefined, result.error?.message);
    assert.equal(server.passwordOf(SYNC_DN), SYNC_PASSWORD);
  });

  test('refused by the server: 48, nothing written', async () => {
    const server = ds389();
    const before = server.snapshot();
    const result = await run(
      server,
      settings({ ...BOTH, bindDn: undefined, bindPassword: undefined, useSaslExternal: true }),
    );
    assert.equal(result.error?.resultCode, 48, result.error?.message);
    assert.deepEqual(server.snapshot(), before);
  });
});
