// --useSSL and --useStartTLS against real slapd and 389 DS servers that use certificates made at test time
// (test/servers/tls.ts): success with a PEM bundle and with a PKCS#12 trust store (the preparation really
// happens), --trustAll, and every TLS failure exiting 91 with a line that says which and what to do.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli, type RunCliResult } from '../helpers/cli.js';
import { readEntry } from '../helpers/directory.js';
import { describeRun, makeTempDir, secretFile, started } from '../helpers/fixture.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { makeTestCertificates, serverTls, type TestCertificates } from '../servers/tls.js';

const SUFFIX = 'dc=example,dc=com';

let certs: TestCertificates | undefined;
let tmp = '';
let slapd: Slapd | undefined; // TLS with the valid certificate
let slapdExpired: Slapd | undefined;
let slapdWrongHost: Slapd | undefined;
let slapdPlain: Slapd | undefined; // no TLS at all
let ds: Ds389 | undefined; // TLS with the valid certificate
let dsPlain: Ds389 | undefined; // no TLS at all
const outputs: RunCliResult[] = [];

interface Target {
  host: string;
  port: number;
  adminDn: string;
  adminPassword: string;
  url: string;
}

/** Common arguments: admin and sync passwords from files, --no-prompt, a private log, the destination role. */
function args(target: Target, port: number, extra: string[], opts: { host?: string; syncDn?: string } = {}): string[] {
  return [
    '-h',
    opts.host ?? target.host,
    '-p',
    String(port),
    '-D',
    target.adminDn,
    '--bindPasswordFile',
    secretFile(tmp, `admin-${port}.pw`, target.adminPassword),
    '--syncServerBindPasswordFile',
    secretFile(tmp, 'sync.pw', 'Sync-Secret-42'),
    ...(opts.syncDn === undefined ? [] : ['--syncServerBindDN', opts.syncDn]),
    '-b',
    SUFFIX,
    '--isDestination',
    '--no-prompt',
    '--logFile',
    path.join(tmp, 'run.log'),
    ...extra,
  ];
}

async function run(cliArgs: string[]): Promise<RunCliResult> {
  const r = await runCli(cliArgs, { timeoutMs: 60_000 });
  outputs.push(r);
  return r;
}

/** The error line: exactly one non-empty line on stderr. */
function errorLine(r: RunCliResult): string {
  const lines = r.stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, describeRun(r));
  return lines[0]!;
}

/** A usage error (89): "Error: ..." then "Hint: ...", joined into one string. */
function usageText(r: RunCliResult): string {
  const lines = r.stderr.split('\n').filter((line) => line.trim() !== '');
  assert.ok(lines.length >= 1 && lines.length <= 2, describeRun(r));
  assert.match(lines[0]!, /^Error: /, describeRun(r));
  return lines.join(' ');
}

async function assertFails91(cliArgs: string[], ...patterns: RegExp[]): Promise<string> {
  const r = await run(cliArgs);
  assert.equal(r.timedOut, false, describeRun(r));
  assert.equal(r.code, 91, describeRun(r));
  const line = errorLine(r);
  for (const pattern of patterns) assert.match(line, pattern, describeRun(r));
  return line;
}

async function assertPrepared(target: Target, cliArgs: string[], syncDn: string): Promise<RunCliResult> {
  assert.equal(
    await readEntry(target.url, { dn: target.adminDn, password: target.adminPassword }, syncDn),
    undefined,
    `${syncDn} is new`,
  );
  const r = await run(cliArgs);
  assert.equal(r.code, 0, describeRun(r));
  const entry = await readEntry(target.url, { dn: target.adminDn, password: target.adminPassword }, syncDn, ['cn']);
  assert.ok(entry, `${syncDn} exists after the run`);
  return r;
}

before(async () => {
  tmp = makeTempDir('pes-tls-test-');
  certs = await makeTestCertificates();
  const c = certs;
  // Started together: 389 DS creation dominates (a few seconds), the slapd instances take a fraction of that.
  [slapd, slapdExpired, slapdWrongHost, slapdPlain, ds, dsPlain] = await Promise.all([
    startSlapd({ tls: serverTls(c) }),
    startSlapd({ tls: serverTls(c, 'expired') }),
    startSlapd({ tls: serverTls(c, 'wrong-host') }),
    startSlapd(),
    startDs389({ tls: serverTls(c) }),
    startDs389(),
  ]);
});

after(async () => {
  await Promise.all(
    [slapd, slapdExpired, slapdWrongHost, slapdPlain, ds, dsPlain].map(async (s) => {
      await s?.stop();
    }),
  );
  certs?.cleanup();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

for (const family of ['OpenLDAP', '389 DS'] as const) {
  describe(`${family}: TLS connections that work`, () => {
    const target = (): Target & { ldapsPort: number } => {
      const s = family === 'OpenLDAP' ? started(slapd, 'slapd') : started(ds, '389 DS');
      return { ...s, ldapsPort: started(s.ldapsPort, 'the LDAPS port') };
    };
    const tag = family === 'OpenLDAP' ? 'ol' : 'ds';

    test('--useSSL with a PEM bundle (another CA, then the issuer): exit 0, sync user created', async () => {
      const t = target();
      const syncDn = `cn=Sync ${tag} SSL PEM,${SUFFIX}`;
      await assertPrepared(
        t,
        args(t, t.ldapsPort, ['--useSSL', '--trustStorePath', started(certs, 'certs').bundlePem], { syncDn }),
        syncDn,
      );
    });

    test('--useStartTLS with a PKCS#12 trust store and --trustStorePasswordFile: exit 0, sync user created', async () => {
      const t = target();
      const c = started(certs, 'certs');
      const syncDn = `cn=Sync ${tag} StartTLS P12,${SUFFIX}`;
      await assertPrepared(
        t,
        args(
          t,
          t.port,
          ['--useStartTLS', '--trustStorePath', c.pkcs12, '--trustStorePasswordFile', c.pkcs12PasswordFile],
          { syncDn },
        ),
        syncDn,
      );
    });

    test('--useSSL with PKCS#12 and --useStartTLS with PEM, by host name (DNS:localhost): exit 0', async () => {
      const t = target();
      const c = started(certs, 'certs');
      const sslDn = `cn=Sync ${tag} SSL P12,${SUFFIX}`;
      await assertPrepared(
        t,
        args(t, t.ldapsPort, ['-Z', '-P', c.pkcs12, '-U', c.pkcs12PasswordFile], { syncDn: sslDn, host: 'localhost' }),
        sslDn,
      );
      const startTlsDn = `cn=Sync ${tag} StartTLS PEM,${SUFFIX}`;
      await assertPrepared(
        t,
        args(t, t.port, ['-q', '-P', c.caPem], { syncDn: startTlsDn, host: 'localhost' }),
        startTlsDn,
      );
    });

    test('--trustAll: exit 0 and a warning on stderr', async () => {
      const t = target();
      const syncDn = `cn=Sync ${tag} TrustAll,${SUFFIX}`;
      const r = await assertPrepared(t, args(t, t.ldapsPort, ['--useSSL', '--trustAll'], { syncDn }), syncDn);
      assert.match(r.stderr, /--trustAll accepts any server certificate/, describeRun(r));
      assert.doesNotMatch(r.stdout, /--trustAll accepts/, 'the warning is not on stdout');
    });

    test('system CAs by default: the test CA is not trusted, exit 91 naming --trustStorePath', async () => {
      const t = target();
      for (const mode of [
        ['--useSSL', t.ldapsPort],
        ['--useStartTLS', t.port],
      ] as const) {
        await assertFails91(args(t, mode[1], [mode[0]]), /unknown CA|self-signed/, /system CAs/, /--trustStorePath/);
      }
    });

    test('--useSSL against the plain LDAP port: exit 91, says it looks like a plain port', async () => {
      const t = target();
      await assertFails91(
        args(t, t.port, ['--useSSL', '-P', started(certs, 'certs').caPem]),
        /plain LDAP port/,
        /--useStartTLS/,
      );
    });

    test('StartTLS refused by a server without TLS: exit 91', async () => {
      const plain = family === 'OpenLDAP' ? started(slapdPlain, 'plain slapd') : started(dsPlain, 'plain 389 DS');
      await assertFails91(
        args(plain, plain.port, ['--useStartTLS', '-P', started(certs, 'certs').caPem]),
        /refused StartTLS/,
        /no TLS configured/,
        /--useSSL/,
      );
    });
  });
}

describe('OpenLDAP: certificate problems', () => {
  test('a trust store without the issuer: exit 91 naming the file', async () => {
    const t = started(slapd, 'slapd');
    const c = started(certs, 'certs');
    const line = await assertFails91(
      args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', c.otherCaPem]),
      /unknown CA/,
    );
    assert.ok(line.includes(c.otherCaPem), line);
  });

  test('an expired server certificate: exit 91 "has expired", over LDAPS and StartTLS', async () => {
    const t = started(slapdExpired, 'slapd (expired)');
    const ca = started(certs, 'certs').caPem;
    await assertFails91(
      args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', ca]),
      /has expired/,
      /renew the server certificate/,
    );
    await assertFails91(args(t, t.port, ['--useStartTLS', '-P', ca]), /has expired/);
  });

  test('a certificate for another host: exit 91, the IP address and the host name are both checked', async () => {
    const t = started(slapdWrongHost, 'slapd (wrong host)');
    const ca = started(certs, 'certs').caPem;
    await assertFails91(
      args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', ca]),
      /not for '127\.0\.0\.1'/,
      /wrong\.example/,
      /--hostname/,
    );
    // StartTLS over an IP connection: the IP must be checked too (Node alone would check "localhost").
    await assertFails91(args(t, t.port, ['--useStartTLS', '-P', ca]), /not for '127\.0\.0\.1'/);
    await assertFails91(
      args(t, t.port, ['--useStartTLS', '-P', ca], { host: 'localhost' }),
      /not for 'localhost'/,
      /wrong\.example/,
    );
  });
});

describe('trust store problems are usage errors (89) before any connection', () => {
  test('a wrong PKCS#12 password: exit 89, says the password is wrong, never prints it', async () => {
    const t = started(slapd, 'slapd');
    const c = started(certs, 'certs');
    const wrong = secretFile(tmp, 'wrong-p12.pw', 'Not-The-P12-Password');
    const r = await run(args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', c.pkcs12, '-U', wrong]));
    assert.equal(r.code, 89, describeRun(r));
    assert.match(usageText(r), /password for --trustStorePath .* is wrong/);
    const missing = await run(args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', c.pkcs12]));
    assert.equal(missing.code, 89, describeRun(missing));
    assert.match(usageText(missing), /protected by a password.*--trustStorePasswordFile/);
  });

  test('a PEM trust store whose CA lost a line in copying: exit 89 naming the file and the block, never connects', async () => {
    const t = started(slapd, 'slapd');
    const lines = readFileSync(started(certs, 'certs').caPem, 'utf8').trimEnd().split('\n');
    const damaged = path.join(tmp, 'damaged-ca.pem');
    // Drop one 64-character base64 line from the middle: still base64, no longer a certificate. node:tls would
    // skip such a block silently, and the run would end in a misleading "unknown CA" (91).
    writeFileSync(damaged, `${[...lines.slice(0, 3), ...lines.slice(4)].join('\n')}\n`);
    const syncDn = `cn=Sync damaged PEM,${SUFFIX}`;
    const r = await run(args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', damaged], { syncDn }));
    assert.equal(r.code, 89, describeRun(r));
    assert.match(
      usageText(r),
      new RegExp(
        `^Error: --trustStorePath '${damaged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' cannot be read: ` +
          'its PEM certificate 1 \\(line 1\\) is not an X\\.509 certificate',
      ),
    );
    assert.equal(
      await readEntry(t.url, { dn: t.adminDn, password: t.adminPassword }, syncDn),
      undefined,
      'the server was not touched',
    );
  });

  test('a JKS trust store made by keytool (--trustStoreFormat JKS): read directly, the run connects', async (ctx) => {
    const t = started(slapd, 'slapd');
    const c = started(certs, 'certs');
    const jks = path.join(tmp, 'truststore.jks');
    try {
      execFileSync(
        'keytool',
        [
          '-importcert',
          '-noprompt',
          '-alias',
          'pes',
          '-file',
          c.caPem,
          '-keystore',
          jks,
          '-storetype',
          'JKS',
          '-storepass',
          'changeit',
        ],
        { stdio: 'ignore' },
      );
    } catch {
      // CI needs no Java: the reader itself is tested on keytool's committed fixtures (test/unit/keystores.test.ts).
      ctx.skip('keytool is not installed');
      return;
    }
    const syncDn = `cn=JKS User,${SUFFIX}`;
    const pw = secretFile(tmp, 'jks.pw', 'changeit');
    const r = await run(
      args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', jks, '--trustStoreFormat', 'JKS', '-U', pw], {
        syncDn,
      }),
    );
    assert.equal(r.code, 0, describeRun(r));
    const wrong = await run(
      args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', jks, '--trustStorePassword', 'not-it'], {
        syncDn,
      }),
    );
    assert.equal(wrong.code, 89, describeRun(wrong));
    assert.match(usageText(wrong), /password for --trustStorePath .* is wrong/i);
  });

  test('a damaged JKS file: exit 89 saying so, with the keytool conversion', async () => {
    const t = started(slapd, 'slapd');
    const jks = path.join(tmp, 'damaged.jks');
    writeFileSync(jks, Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1]));
    const r = await run(args(t, started(t.ldapsPort, 'LDAPS port'), ['--useSSL', '-P', jks]));
    assert.equal(r.code, 89, describeRun(r));
    assert.match(usageText(r), /Java KeyStore \(JKS\) that cannot be read.*keytool -exportcert -rfc -keystore/);
  });

  test('no run printed a trust store or admin password', () => {
    const c = started(certs, 'certs');
    assert.ok(outputs.length > 20, `runs recorded: ${outputs.length}`);
    for (const secret of [
      c.pkcs12Password,
      'Not-The-P12-Password',
      'Sync-Secret-42',
      started(slapd, 'slapd').adminPassword,
    ]) {
      for (const r of outputs) {
        assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `a password leaked:\n${describeRun(r)}`);
      }
    }
  });
});
