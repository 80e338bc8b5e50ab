// Fault matrix, directory (real slapd): wrong admin password, an admin without rights on cn=config, missing
// base and parent, a sync user with another password, a sync user DN naming a non-person entry, and an
// access rule of the tool removed by hand. Each failure exits with its code, says one line, writes nothing.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { canBind, readEntry, withClient } from '../helpers/directory.js';
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
import { accessRulesFor, MDB_DN, slapdState } from '../helpers/slapd-state.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const matrix = useSlapdMatrix('pes-matrix-dir-');
let wrongFile = '';
let otherFile = '';

const common = matrix.serverArgs;

/** The run fails with `code` and a first stderr line matching `pattern`; the server and the log show no write. */
async function failsCleanly(
  args: string[],
  code: number,
  pattern: RegExp,
  opts: { details?: boolean } = {},
): Promise<string> {
  const before = await slapdState(matrix.server);
  const offset = fileSize(matrix.logFile);
  const r = await runCli(args);
  assert.equal(r.code, code, describeRun(r));
  const line = opts.details === true ? r.stderr.split('\n')[0]! : oneLine(r.stderr, r);
  assert.match(line, pattern, describeRun(r));
  assert.deepEqual(await slapdState(matrix.server), before, 'the server is unchanged');
  const lines = logLines(matrix.logFile, offset);
  assert.deepEqual(
    lines.filter((l) => l.event === 'write'),
    [],
    'no write in the log',
  );
  assert.equal(
    lines.filter((l) => l.event === 'end').at(-1)?.exitCode,
    code,
    'the log has the end line with the exit code',
  );
  return line;
}

before(() => {
  wrongFile = secretFile(matrix.tmp, 'wrong.pw', SENTINEL_OTHER);
  otherFile = secretFile(matrix.tmp, 'other.pw', SENTINEL_OTHER);
});

describe('matrix: directory (pristine slapd)', () => {
  test('wrong admin password: exit 49, nothing written', async () => {
    const line = await failsCleanly(
      common(['--isDestination', '-b', BASE], { adminFile: wrongFile }),
      49,
      /rejected the password/,
    );
    assert.ok(line.includes(matrix.server.adminDn), line);
  });

  test('an admin without rights on cn=config: exit 50, nothing written, the LDIF to apply by hand', async () => {
    await failsCleanly(
      common(['--isDestination', '-b', BASE], { bindDn: matrix.server.limitedDn }),
      50,
      /may not read cn=config/,
      { details: true },
    );
  });

  test('base DN missing: exit 32, nothing written', async () => {
    await failsCleanly(
      common(['--isDestination', '-b', 'ou=Missing,dc=example,dc=com']),
      32,
      /ou=Missing,dc=example,dc=com/,
    );
  });

  test('parent of the sync user missing: exit 32, nothing written', async () => {
    await failsCleanly(
      common(['--isDestination', '-b', BASE, '--syncServerBindDN', `cn=Sync,ou=Nowhere,${BASE}`]),
      32,
      /parent entry 'ou=Nowhere/,
    );
  });

  test('sync user DN naming an entry that is not a person: exit 65, nothing written (also with --resetSyncServerBindPassword)', async () => {
    const people = `ou=People,${BASE}`;
    await failsCleanly(common(['--isDestination', '-b', BASE, '--syncServerBindDN', people]), 65, /not an account/);
    await failsCleanly(
      common(['--isDestination', '-b', BASE, '--syncServerBindDN', people, '--resetSyncServerBindPassword']),
      65,
      /not an account/,
    );
    await failsCleanly(common(['--isDestination', '-b', BASE, '--syncServerBindDN', BASE]), 65, /not an account/);
  });
});

describe('matrix: directory (the admin as the sync user; DN spellings)', () => {
  test("a root DN (olcRootDN) or the admin's own DN as the sync user: exit 89, nothing written, in any spelling", async () => {
    // cn=admin,dc=example,dc=com is the data database's root DN and has no entry: an entry made there would open it.
    await failsCleanly(
      common(['--isDestination', '-b', BASE, '--syncServerBindDN', 'CN=Admin, DC=Example,DC=com'], {
        bindDn: matrix.server.configAdminDn,
      }),
      89,
      /names the server's administrator \(olcRootDN of olcDatabase=\{1\}mdb,cn=config\)/,
    );
    await failsCleanly(
      common([
        '--isDestination',
        '-b',
        BASE,
        '--syncServerBindDN',
        'cn=admin,cn=config',
        '--resetSyncServerBindPassword',
      ]),
      89,
      /names the server's administrator \(olcRootDN of olcDatabase=\{0\}config,cn=config\)/,
    );
    await failsCleanly(
      common([
        '--isDestination',
        '-b',
        BASE,
        '--syncServerBindDN',
        'cn=\\61dmin,dc=example,dc=com',
        '--resetSyncServerBindPassword',
      ]),
      89,
      /names the admin's own account/,
    );
    await failsCleanly(
      common(
        [
          '--isDestination',
          '-b',
          BASE,
          '--syncServerBindDN',
          'CN=LIMITED , dc=example,dc=com',
          '--resetSyncServerBindPassword',
        ],
        { bindDn: matrix.server.limitedDn },
      ),
      89,
      /names the admin's own account/,
    );
    await failsCleanly(
      common(['--remove', '-b', BASE, '--syncServerBindDN', 'cn=admin,dc=example,dc=com']),
      89,
      /names the admin's own account/,
    );
    assert.equal(
      await readEntry(
        matrix.server.url,
        { dn: matrix.server.adminDn, password: matrix.server.adminPassword },
        'cn=admin,dc=example,dc=com',
      ),
      undefined,
      'no entry at the root DN',
    );
    assert.equal(await canBind(matrix.server.url, matrix.server.adminDn, matrix.server.adminPassword), true);
  });

  test('a sync user DN with a hex escape: the rule names it, the sync user writes; re-runs in other spellings write nothing', async () => {
    const hex = `cn=Sync\\20Hex,ou=People,${BASE}`;
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', hex]));
    assert.equal(r.code, 0, describeRun(r));
    await withClient(matrix.server.url, { dn: hex, password: SENTINEL_SYNC }, async (c) => {
      await c.modify(`ou=People,${BASE}`, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'description', values: ['written by the sync user'] }),
        }),
      ]);
    });
    for (const dn of [
      `cn=Sync Hex,ou=People,${BASE}`,
      'CN = sync\\20hex , OU=people,DC=EXAMPLE,DC=COM',
      `cn=\\53ync\\20\\48ex,ou=People,${BASE}`,
      `2.5.4.3=Sync   Hex,ou=People,${BASE}`,
    ]) {
      for (const base of [BASE, 'DC=Example, DC=COM', '0.9.2342.19200300.100.1.25=example,dc=com']) {
        const again = await runCli(common(['--isDestination', '-b', base, '--syncServerBindDN', dn, '--json']));
        assert.equal(again.code, 0, describeRun(again));
        assert.equal(
          (JSON.parse(again.stdout) as { ldap: { writes: number } }).ldap.writes,
          0,
          `${dn} under ${base}: ${describeRun(again)}`,
        );
      }
    }
    assert.equal((await accessRulesFor(matrix.server, 'Hex')).length, 1);
  });
});

describe('matrix: directory (prepared slapd)', () => {
  test('setup: a destination run prepares the server', async () => {
    const r = await runCli(common(['--isDestination', '-b', BASE]));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await canBind(matrix.server.url, SYNC_DN, SENTINEL_SYNC), true);
  });

  test('sync user exists with another password: exit 49, nothing written; --resetSyncServerBindPassword sets it', async () => {
    const hash = (
      await readEntry(
        matrix.server.url,
        { dn: matrix.server.adminDn, password: matrix.server.adminPassword },
        SYNC_DN,
        ['userPassword'],
      )
    )?.userpassword;
    await failsCleanly(
      common(['--isDestination', '-b', BASE], { syncFile: otherFile }),
      49,
      /exists but does not accept the password/,
    );
    assert.deepEqual(
      (
        await readEntry(
          matrix.server.url,
          { dn: matrix.server.adminDn, password: matrix.server.adminPassword },
          SYNC_DN,
          ['userPassword'],
        )
      )?.userpassword,
      hash,
    );
    const reset = await runCli(
      common(['--isDestination', '-b', BASE, '--resetSyncServerBindPassword'], { syncFile: otherFile }),
    );
    assert.equal(reset.code, 0, describeRun(reset));
    assert.equal(await canBind(matrix.server.url, SYNC_DN, SENTINEL_OTHER), true);
    assert.equal(await canBind(matrix.server.url, SYNC_DN, SENTINEL_SYNC), false);
    const back = await runCli(common(['--isDestination', '-b', BASE, '--resetSyncServerBindPassword']));
    assert.equal(back.code, 0, describeRun(back));
    assert.equal(await canBind(matrix.server.url, SYNC_DN, SENTINEL_SYNC), true);
  });

  test('the access rule removed by hand: a re-run restores it, and the next run changes nothing', async () => {
    const [rule] = await accessRulesFor(matrix.server, 'cn=Sync User');
    assert.ok(rule, 'the rule was added');
    await withClient(
      matrix.server.url,
      { dn: matrix.server.configAdminDn, password: matrix.server.adminPassword },
      async (c) => {
        await c.modify(MDB_DN, [
          new Change({ operation: 'delete', modification: new Attribute({ type: 'olcAccess', values: [rule] }) }),
        ]);
      },
    );
    assert.deepEqual(await accessRulesFor(matrix.server, 'cn=Sync User'), []);
    const r = await runCli(common(['--isDestination', '-b', BASE, '--json']));
    assert.equal(r.code, 0, describeRun(r));
    const json = JSON.parse(r.stdout) as { steps: { status: string }[] };
    assert.deepEqual(
      json.steps.map((step) => step.status),
      ['unchanged', 'unchanged', 'created', 'unchanged'],
      'the sync user, its password policy (no ppolicy overlay here), the access rule, its search limits',
    );
    assert.deepEqual(await accessRulesFor(matrix.server, 'cn=Sync User'), [rule]);
    const again = await runCli(common(['--isDestination', '-b', BASE, '--json']));
    assert.equal((JSON.parse(again.stdout) as { changed: boolean }).changed, false);
  });

  test('no sentinel password anywhere', () => {
    assertNoSecretsAnywhere([matrix.logFile], matrix.repoLogOffset, 12);
  });
});
