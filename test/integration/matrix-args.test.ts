// Fault matrix, arguments: every bad input is exit 89 with one line on stderr and nothing written to a real
// slapd; DNs with escaped characters, UTF-8 and multi-valued RDNs work end to end. Sentinel passwords are
// checked in every run's output (helpers/matrix.ts) and at the end in every log.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dnEquals } from '../../src/formats/dn.js';
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
  SENTINEL_ADMIN,
  SENTINEL_OTHER,
  SENTINEL_SYNC,
  cliRunnableByNobody,
  NOBODY,
  NOBODY_UNREACHABLE,
  useSlapdMatrix,
} from '../helpers/matrix.js';
import { accessRulesFor, addEntries, slapdState } from '../helpers/slapd-state.js';

const BASE = 'dc=example,dc=com';
const matrix = useSlapdMatrix('pes-matrix-args-', path.join('logs', 'run.log'));

const common = matrix.serverArgs;

/** Runs the CLI, expects a usage error: exit 89, one line on stderr matching `pattern`, nothing on stdout or the server. */
async function usageError(args: string[], pattern: RegExp): Promise<string> {
  const before = await slapdState(matrix.server);
  const offset = fileSize(matrix.logFile);
  const r = await runCli(args);
  assert.equal(r.code, 89, describeRun(r));
  assert.equal(r.stdout, '', 'a usage error says nothing on stdout');
  const line = oneLine(r.stderr.replace(/^Hint: .*$/m, ''), r);
  assert.match(line, pattern, describeRun(r));
  assert.deepEqual(await slapdState(matrix.server), before, 'the server is unchanged');
  const end = logLines(matrix.logFile, offset);
  assert.ok(
    end.some((l) => l.event === 'usage-error' && l.exitCode === 89),
    JSON.stringify(end),
  );
  return line;
}

describe('matrix: arguments (exit 89, nothing written)', () => {
  for (const [option, bad] of [
    ['--bindDN', 'cn=admin,,dc=example,dc=com'],
    ['--syncServerBindDN', 'cn=Sync User;dc=example'],
    ['--baseDN', 'dc=example,dc=com,'],
  ] as const) {
    test(`invalid DN syntax in ${option}`, async () => {
      const args = common(['--isDestination']);
      if (option === '--bindDN') args[args.indexOf('-D') + 1] = bad;
      const line = await usageError(
        [...args, '-b', option === '--baseDN' ? bad : BASE, ...(option === '--syncServerBindDN' ? [option, bad] : [])],
        new RegExp(`Invalid DN for ${option}`),
      );
      assert.ok(line.includes(bad), line);
    });
  }

  for (const port of ['0', '70000', 'abc']) {
    test(`port ${port}`, async () => {
      const args = common(['--isDestination', '-b', BASE]);
      args[args.indexOf('-p') + 1] = port;
      await usageError(args, /port/i);
    });
  }

  test('--changelogDeletedEntryAttribute that is not an attribute name', async () => {
    const line = await usageError(
      common(['--isSource', '-b', BASE, '--changelogDeletedEntryAttribute', 'cn\nolcAccess: to * by * write']),
      /Invalid --changelogDeletedEntryAttribute/,
    );
    assert.ok(!line.includes('\n'));
  });

  test('unknown option', async () => {
    await usageError(common(['--isDestination', '-b', BASE, '--frobnicate']), /unknown option.*--frobnicate/i);
  });

  test('conflicting options: --useSSL with --useStartTLS, and a password given twice', async () => {
    await usageError(
      common(['--isDestination', '-b', BASE, '--useSSL', '--useStartTLS']),
      /useSSL.*useStartTLS.*together/,
    );
    await usageError(
      common(['--isDestination', '-b', BASE, '--bindPassword', SENTINEL_OTHER]),
      /bindPassword.*bindPasswordFile.*together/,
    );
  });

  test('neither role given', async () => {
    await usageError(common(['-b', BASE]), /Neither --isSource nor --isDestination/);
  });

  test('missing base DN', async () => {
    await usageError(common(['--isDestination']), /No --baseDN/);
  });

  test('password file: missing, a folder, empty', async () => {
    await usageError(
      common(['--isDestination', '-b', BASE], { adminFile: path.join(matrix.tmp, 'nope.pw') }),
      /bindPasswordFile.*does not exist/,
    );
    await usageError(
      common(['--isDestination', '-b', BASE], { syncFile: matrix.tmp }),
      /syncServerBindPasswordFile.*a folder, not a regular file/,
    );
    const empty = path.join(matrix.tmp, 'empty.pw');
    writeFileSync(empty, '', { mode: 0o600 });
    await usageError(common(['--isDestination', '-b', BASE], { adminFile: empty }), /bindPasswordFile.*empty/);
  });

  test('password file the user may not read (run as nobody, file mode 000)', async (t) => {
    // Root reads any file: the permission case is only real for another user.
    if (!cliRunnableByNobody()) {
      t.skip(NOBODY_UNREACHABLE);
      return;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pes-matrix-nobody-'));
    try {
      chmodSync(dir, 0o755);
      const locked = secretFile(dir, 'locked.pw', SENTINEL_ADMIN, 0o000);
      const nobodyLog = path.join(dir, 'run.log');
      const args = common(['--isDestination', '-b', BASE], { adminFile: locked });
      args[args.indexOf('--logFile') + 1] = nobodyLog;
      args[args.indexOf('--syncServerBindPasswordFile')] = '--syncServerBindPassword';
      args[args.indexOf('--syncServerBindPassword') + 1] = 'x';
      const before = await slapdState(matrix.server);
      const r = await runCli(args, NOBODY);
      assert.equal(r.code, 89, describeRun(r));
      assert.match(r.stderr, /Cannot read --bindPasswordFile .*cannot be read/, describeRun(r));
      assert.deepEqual(await slapdState(matrix.server), before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad duration in --changelogMaximumAge, --operationTimeout and --connectTimeout', async () => {
    await usageError(common(['--isSource', '-b', BASE, '--changelogMaximumAge', '2x']), /changelogMaximumAge/);
    await usageError(common(['--isDestination', '-b', BASE, '--operationTimeout', 'soon']), /operationTimeout/);
    await usageError(common(['--isDestination', '-b', BASE, '--connectTimeout', '-5s']), /connectTimeout/);
  });
});

describe('matrix: DNs with escaped characters, UTF-8 and multi-valued RDNs, end to end', () => {
  const cases: readonly { name: string; dn: string; rdn: Readonly<Record<string, string>> }[] = [
    { name: 'escaped comma', dn: `cn=Sync\\, User,ou=People,${BASE}`, rdn: { cn: 'Sync, User' } },
    { name: 'UTF-8 value', dn: `cn=Sÿnc Üser ✓ 同步,ou=People,${BASE}`, rdn: { cn: 'Sÿnc Üser ✓ 同步' } },
    {
      name: 'multi-valued RDN with hostile characters',
      dn: `cn=Sync+uid=s\\#1 \\"q\\" \\+ \\; (x)* || ??,ou=People,${BASE}`,
      rdn: { cn: 'Sync', uid: 's#1 "q" + ; (x)* || ??' },
    },
  ];
  for (const c of cases) {
    test(`sync user ${c.name}: created, granted, binds; a re-run changes nothing`, async () => {
      const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', c.dn, '--json']));
      assert.equal(r.code, 0, describeRun(r));
      const json = JSON.parse(r.stdout) as { syncUserDn: string; changed: boolean };
      assert.equal(json.syncUserDn, c.dn);
      const entry = await readEntry(
        matrix.server.url,
        { dn: matrix.server.adminDn, password: matrix.server.adminPassword },
        c.dn,
        ['cn', 'uid', 'objectClass'],
      );
      assert.ok(entry, `${c.dn} exists`);
      for (const [attribute, value] of Object.entries(c.rdn))
        assert.ok(entry[attribute]?.includes(value), `${attribute}: ${JSON.stringify(entry)}`);
      assert.equal(
        await canBind(matrix.server.url, c.dn, SENTINEL_SYNC),
        true,
        'the sync user binds with its password',
      );
      // The rule names exactly this user: the server itself finds the DN in it (as slapd normalizes it).
      const rules = (await accessRulesFor(matrix.server, 'dn.exact=')).filter((rule) =>
        rule.includes('write by * break'),
      );
      assert.ok(rules.length >= 1, JSON.stringify(rules));
      // ...and it works: the sync user may write, which only the tool's rule allows.
      await withClient(matrix.server.url, { dn: c.dn, password: SENTINEL_SYNC }, async (client) => {
        await client.modify(`ou=People,${BASE}`, [
          new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [c.name] }) }),
        ]);
      });
      const again = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', c.dn, '--json']));
      assert.equal(again.code, 0, describeRun(again));
      assert.equal((JSON.parse(again.stdout) as { changed: boolean }).changed, false, 'the second run writes nothing');
    });
  }

  test('base DN with an escaped comma and UTF-8: verified and granted', async () => {
    const base = `ou=Sales\\, EMEA Zürich,${BASE}`;
    await addEntries(matrix.server, [
      { dn: base, attributes: { objectClass: ['organizationalUnit'], ou: ['Sales, EMEA Zürich'] } },
    ]);
    const r = await runCli(common(['--isDestination', '-b', base, '--json']));
    assert.equal(r.code, 0, describeRun(r));
    const json = JSON.parse(r.stdout) as { syncUserDn: string };
    // The same DN, in the spelling the server returns for the base (slapd writes the comma `\2C`).
    assert.ok(dnEquals(json.syncUserDn, `cn=Sync User,${base}`), json.syncUserDn);
    assert.equal(await canBind(matrix.server.url, json.syncUserDn, SENTINEL_SYNC), true);
    const again = await runCli(common(['--isDestination', '-b', base, '--json']));
    assert.equal((JSON.parse(again.stdout) as { changed: boolean }).changed, false, describeRun(again));
  });
});

describe('matrix: secrets on the command line and in files', () => {
  test('a password on the command line works and prints a one-line warning', async () => {
    const args = common(['--isDestination', '-b', BASE, '--syncServerBindDN', `cn=Cmdline,ou=People,${BASE}`]);
    args.splice(args.indexOf('--syncServerBindPasswordFile'), 2, '--syncServerBindPassword', SENTINEL_OTHER);
    const r = await runCli(args);
    assert.equal(r.code, 0, describeRun(r));
    const warnings = r.stderr.split('\n').filter((line) => /visible to other local users/.test(line));
    assert.equal(warnings.length, 1, describeRun(r));
    assert.match(warnings[0]!, /syncServerBindPassword.*prefer --syncServerBindPasswordFile/);
  });

  test('a password file others can read: warning, run succeeds', async () => {
    const loose = secretFile(matrix.tmp, 'loose.pw', SENTINEL_SYNC, 0o644);
    const r = await runCli(common(['--isDestination', '-b', BASE], { syncFile: loose }));
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, /can be read by other users: chmod 600/, describeRun(r));
  });

  test('the log file is created private (0600), its new folder 0750', async () => {
    const dir = path.join(matrix.tmp, 'fresh');
    const fresh = path.join(dir, 'sub', 'run.log');
    const args = common(['--isDestination', '-b', BASE]);
    args[args.indexOf('--logFile') + 1] = fresh;
    const r = await runCli(args);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(statSync(fresh).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(fresh)).mode & 0o007, 0, 'the log folder is closed to others');
  });

  test("no sentinel password anywhere: every run's stdout and stderr, every log", () => {
    assertNoSecretsAnywhere([matrix.logFile], matrix.repoLogOffset, 20);
  });
});
