// Fault matrix, input (real slapd): special files where a file is expected (a device, a FIFO with no writer,
// a folder, a socket, a sparse giant, a hostile PKCS#12), and input that would change meaning silently (a NUL
// byte, a control character, a byte order mark, text that is not UTF-8 in a password; a URL or host:port as
// --hostname; timeouts beyond Node's timers; two passwords on stdin; a properties file value outside its
// choices or range). Each is exit 89 at once with one line on stderr, and nothing is written to the server;
// a BOM is stripped with a warning, and the password without it is what the server gets.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { canBind } from '../helpers/directory.js';
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
  type SpawnOptions,
  useSlapdMatrix,
} from '../helpers/matrix.js';
import { slapdState } from '../helpers/slapd-state.js';

const BASE = 'dc=example,dc=com';
const matrix = useSlapdMatrix('pes-matrix-input-');
let fifo = '';
let socketPath = '';
let socketServer: net.Server | undefined;

const common = matrix.serverArgs;

/** `args` with the value after `option` replaced (or the option and value appended). */
function withOption(args: string[], option: string, value: string): string[] {
  const copy = [...args];
  const at = copy.indexOf(option);
  if (at === -1) copy.push(option, value);
  else copy[at + 1] = value;
  return copy;
}

/** Exit 89 by itself (never a hang), one line on stderr matching `pattern`, nothing on stdout or the server. */
async function refused(args: string[], pattern: RegExp, opts: SpawnOptions = {}): Promise<string> {
  const before = await slapdState(matrix.server);
  const offset = fileSize(matrix.logFile);
  const r = await runCli(args, { timeoutMs: 20_000, ...opts });
  assert.equal(r.timedOut, false, `never a hang: ${describeRun(r)}`);
  assert.equal(r.code, 89, describeRun(r));
  assert.equal(r.stdout, '', 'nothing on stdout');
  const line = oneLine(r.stderr, r);
  assert.match(line, pattern, describeRun(r));
  assert.deepEqual(await slapdState(matrix.server), before, 'the server is unchanged');
  assert.ok(
    logLines(matrix.logFile, offset).some((l) => l.event === 'usage-error' && l.exitCode === 89),
    'the log says so',
  );
  return line;
}

/** A DER element: tag, length (short or long form), content. */
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

/** The DER elements inside `content`, whole (header included). */
function derChildren(content: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < content.length;) {
    const end = at + derHeaderLength(content.subarray(at)) + derLength(content.subarray(at));
    out.push(content.subarray(at, end));
    at = end;
  }
  return out;
}

function derHeaderLength(element: Buffer): number {
  return element[1]! < 0x80 ? 2 : 2 + (element[1]! & 0x7f);
}

function derLength(element: Buffer): number {
  if (element[1]! < 0x80) return element[1]!;
  let length = 0;
  for (let i = 0; i < (element[1]! & 0x7f); i++) length = length * 256 + element[2 + i]!;
  return length;
}

function derContent(element: Buffer): Buffer {
  return element.subarray(derHeaderLength(element), derHeaderLength(element) + derLength(element));
}

/** A PKCS#12 file (made by openssl) whose MAC asks for `iterations` key derivation rounds. */
function pkcs12WithMacIterations(dir: string, iterations: bigint): string {
  const key = path.join(dir, 'ca.key');
  const cert = path.join(dir, 'ca.pem');
  const p12 = path.join(dir, 'store.p12');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=matrix test CA',
    ],
    { stdio: 'ignore' },
  );
  execFileSync('openssl', ['pkcs12', '-export', '-nokeys', '-in', cert, '-out', p12, '-passout', 'pass:store-secret'], {
    stdio: 'ignore',
  });
  const [version, authSafe, macData] = derChildren(derContent(readFileSync(p12)));
  const [digestInfo, salt] = derChildren(derContent(macData!));
  let hex = iterations.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  const patched = der(
    0x30,
    Buffer.concat([
      version!,
      authSafe!,
      der(0x30, Buffer.concat([digestInfo!, salt!, der(0x02, Buffer.from(hex, 'hex'))])),
    ]),
  );
  const out = path.join(dir, 'hostile.p12');
  writeFileSync(out, patched);
  return out;
}

before(async () => {
  fifo = path.join(matrix.tmp, 'no-writer.fifo');
  execFileSync('mkfifo', [fifo]);
  socketPath = path.join(matrix.tmp, 'listening.sock');
  socketServer = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve) => socketServer!.listen(socketPath, resolve));
});

after(async () => {
  await new Promise<void>((resolve) => (socketServer === undefined ? resolve() : socketServer.close(() => resolve())));
});

describe('matrix: special files are refused at once (exit 89), never read until killed', () => {
  const specials = (): { name: string; file: string; says: RegExp }[] => [
    { name: '/dev/zero', file: '/dev/zero', says: /character device, not a regular file/ },
    { name: 'a FIFO with no writer', file: fifo, says: /named pipe \(FIFO\), not a regular file/ },
    { name: 'a folder', file: matrix.tmp, says: /a folder, not a regular file/ },
    { name: 'a UNIX socket', file: socketPath, says: /not a regular file/ },
  ];

  test('as a password file: --bindPasswordFile, --syncServerBindPasswordFile, --trustStorePasswordFile', async () => {
    for (const { file, says } of specials()) {
      await refused(
        common(['--isDestination', '-b', BASE], { adminFile: file }),
        new RegExp(`Cannot read --bindPasswordFile '${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': .*${says.source}`),
      );
      await refused(
        common(['--isDestination', '-b', BASE], { syncFile: file }),
        new RegExp(`--syncServerBindPasswordFile .*${says.source}`),
      );
      await refused(
        common(['--isDestination', '-b', BASE, '--useSSL', '-P', '/etc/ssl/certs/ca-certificates.crt', '-U', file]),
        new RegExp(`--trustStorePasswordFile .*${says.source}`),
      );
    }
  });

  test('as the trust store and as the properties file', async () => {
    for (const { file, says } of specials()) {
      await refused(
        common(['--isDestination', '-b', BASE, '--useSSL', '-P', file]),
        new RegExp(`Cannot read --trustStorePath .*${says.source}`),
      );
      await refused(
        common(['--isDestination', '-b', BASE, '--propertiesFilePath', file]),
        new RegExp(`Cannot read --propertiesFilePath .*${says.source}`),
      );
    }
  });

  test('a sparse 1 GiB file: refused by its size before a byte is read', async () => {
    const giant = path.join(matrix.tmp, 'giant');
    writeFileSync(giant, '', { mode: 0o600 });
    truncateSync(giant, 1024 ** 3);
    await refused(
      common(['--isDestination', '-b', BASE], { adminFile: giant }),
      /--bindPasswordFile .*larger than 64 KiB/,
    );
    await refused(
      common(['--isDestination', '-b', BASE, '--useSSL', '-P', giant]),
      /--trustStorePath .*larger than 16 MiB/,
    );
    await refused(
      common(['--isDestination', '-b', BASE, '--propertiesFilePath', giant]),
      /--propertiesFilePath .*larger than 1 MiB/,
    );
  });

  test('`-` (stdin) fed from /dev/zero: refused after 64 KiB without a line break', async () => {
    await refused(
      common(['--isDestination', '-b', BASE], { adminFile: '-' }),
      /--bindPasswordFile '-' \(stdin\): .*more than 64 KiB without a line break/,
      { stdinFrom: '/dev/zero' },
    );
  });

  test('SSL_CERT_FILE=/dev/zero (the system CA bundle Node 20 reads itself): skipped, the run goes on to its real answer', async () => {
    for (const bundle of ['/dev/zero', fifo]) {
      const r = await runCli(common(['--isDestination', '-b', BASE, '--useStartTLS']), {
        env: { SSL_CERT_FILE: bundle },
        timeoutMs: 20_000,
      });
      assert.equal(r.timedOut, false, describeRun(r));
      // This slapd has no certificate: the StartTLS refusal is the run's real answer.
      assert.equal(r.code, 91, describeRun(r));
      assert.match(oneLine(r.stderr, r), /refused StartTLS/);
    }
  });

  test('a PKCS#12 trust store whose MAC asks for 2^40 key derivation rounds: refused, not computed for hours', async () => {
    const dir = path.join(matrix.tmp, 'p12');
    mkdirSync(dir);
    const hostile = pkcs12WithMacIterations(dir, 2n ** 40n);
    const passwordFile = secretFile(dir, 'store.pw', 'store-secret');
    await refused(
      common(['--isDestination', '-b', BASE, '--useSSL', '-P', hostile, '-U', passwordFile]),
      /--trustStorePath .* cannot be read: .*1099511627776 key derivation rounds/,
    );
  });
});

describe('matrix: input that would change meaning silently (exit 89 before connecting)', () => {
  test('a NUL byte in a password file, a control character in PES_SYNC_PASSWORD or an option, a Latin-1 or UTF-16 file', async () => {
    const nul = path.join(matrix.tmp, 'nul.pw');
    writeFileSync(nul, Buffer.concat([Buffer.from(SENTINEL_SYNC), Buffer.from([0]), Buffer.from('tail\n')]), {
      mode: 0o600,
    });
    await refused(
      common(['--isDestination', '-b', BASE], { syncFile: nul }),
      /password from --syncServerBindPasswordFile .* contains a NUL byte/,
    );

    const env = common(['--isDestination', '-b', BASE]).filter(
      (_, i, all) => all[i] !== '--syncServerBindPasswordFile' && all[i - 1] !== '--syncServerBindPasswordFile',
    );
    for (const [value, says] of [
      [`${SENTINEL_SYNC}\n`, /line feed \(LF\)/],
      [`${SENTINEL_SYNC}\r`, /carriage return \(CR\)/],
      [`a\u001bb${SENTINEL_SYNC}`, /escape \(ESC\)/],
    ] as const) {
      await refused(env, new RegExp(`password from PES_SYNC_PASSWORD contains .*${says.source}`), {
        env: { PES_SYNC_PASSWORD: value },
      });
    }
    await refused(
      [...env, '--syncServerBindPassword', `${SENTINEL_OTHER}\u0007`],
      /password from --syncServerBindPassword contains the control character U\+0007/,
    );

    const latin1 = path.join(matrix.tmp, 'latin1.pw');
    writeFileSync(latin1, Buffer.from('caf\xe9-secret\n', 'latin1'), { mode: 0o600 });
    await refused(
      common(['--isDestination', '-b', BASE], { syncFile: latin1 }),
      /--syncServerBindPasswordFile .* is not valid UTF-8 text/,
    );
    const utf16 = path.join(matrix.tmp, 'utf16.pw');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('secret\n', 'utf16le')]), {
      mode: 0o600,
    });
    await refused(
      common(['--isDestination', '-b', BASE], { syncFile: utf16 }),
      /--syncServerBindPasswordFile .* is UTF-16 text/,
    );
  });

  test('a password file starting with a UTF-8 BOM: stripped with one warning; the sync user binds with the password without it', async () => {
    const bom = path.join(matrix.tmp, 'bom.pw');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${SENTINEL_SYNC}\r\n`)]), {
      mode: 0o600,
    });
    const dn = `cn=Bom User,ou=People,${BASE}`;
    const r = await runCli(common(['--isDestination', '-b', BASE, '--syncServerBindDN', dn], { syncFile: bom }));
    assert.equal(r.code, 0, describeRun(r));
    const warnings = r.stderr.split('\n').filter((line) => line.includes('byte order mark'));
    assert.equal(warnings.length, 1, describeRun(r));
    assert.match(
      warnings[0]!,
      /^Warning: --syncServerBindPasswordFile '.*bom\.pw' starts with a UTF-8 byte order mark \(BOM\).*ignored$/,
    );
    assert.equal(
      await canBind(matrix.server.url, dn, SENTINEL_SYNC),
      true,
      'the server got the password without the BOM',
    );
    assert.equal(await canBind(matrix.server.url, dn, `\ufeff${SENTINEL_SYNC}`), false);
  });

  test('--hostname with a port, a URL or brackets: a usage error naming --port / --useSSL', async () => {
    const cases: [string, RegExp][] = [
      [
        `127.0.0.1:${matrix.server.port}`,
        new RegExp(`the port goes in --port: use --hostname 127\\.0\\.0\\.1 --port ${matrix.server.port}`),
      ],
      [
        `ldap://127.0.0.1:${matrix.server.port}`,
        new RegExp(`it is a URL.*use --hostname 127\\.0\\.0\\.1 --port ${matrix.server.port}$`),
      ],
      ['ldaps://ds1.example.com:636/', /it is a URL.*use --hostname ds1\.example\.com --port 636 --useSSL$/],
      ['LDAP://localhost', /it is a URL.*use --hostname localhost$/],
      [`[::1]:${matrix.server.port}`, new RegExp(`without brackets.*use --hostname ::1 --port ${matrix.server.port}$`)],
      ['[::1]', /without brackets.*use --hostname ::1$/],
      ['localhost:', /the port goes in --port: use --hostname localhost/],
      ['300.1.2.3', /not a valid IPv4 address/],
      ['ds1..example.com', /not a host name/],
    ];
    for (const [host, says] of cases) {
      await refused(
        withOption(common(['--isDestination', '-b', BASE]), '-h', host),
        new RegExp(`Invalid --hostname '${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': .*${says.source}`),
      );
    }
    // The same from a properties file, which names the file and line.
    const props = path.join(matrix.tmp, 'host.properties');
    writeFileSync(props, `# a URL where a host belongs\nhostname=ldap://127.0.0.1:${matrix.server.port}\n`);
    const args = common(['--isDestination', '-b', BASE, '--propertiesFilePath', props]);
    args.splice(args.indexOf('-h'), 2);
    await refused(args, /Invalid --hostname 'ldap:\/\/127\.0\.0\.1:\d+' \(in .*host\.properties line 2\): it is a URL/);
  });

  test('timeouts longer than Node timers allow (about 24.8 days): 89 with the maximum; 24d works against the server', async () => {
    for (const [option, value] of [
      ['--operationTimeout', '30d'],
      ['--operationTimeout', '4w'],
      ['--connectTimeout', '25 days'],
      ['--operationTimeout', '2147484s'],
    ]) {
      await refused(
        common(['--isDestination', '-b', BASE, option!, value!]),
        new RegExp(`Invalid ${option}: '${value}' is longer than .*Node\\.js timers.*use at most 24d`),
      );
    }
    const props = path.join(matrix.tmp, 'timeout.properties');
    writeFileSync(props, 'operationTimeout=30d\n');
    await refused(
      common(['--isDestination', '-b', BASE, '--propertiesFilePath', props]),
      /Invalid --operationTimeout \(in .*timeout\.properties line 1\): '30d'/,
    );
    const ok = await runCli(
      common(['--isDestination', '-b', BASE, '--operationTimeout', '24d', '--connectTimeout', '24d']),
    );
    assert.equal(ok.code, 0, `a healthy run with the longest timeouts: ${describeRun(ok)}`);
  });

  test('two passwords from stdin (`-j -` with `--syncServerBindPasswordFile -`, or -U -): 89 naming both', async () => {
    await refused(
      common(['--isDestination', '-b', BASE], { adminFile: '-', syncFile: '-' }),
      /stdin can supply only one password, but --bindPasswordFile and --syncServerBindPasswordFile are both '-'/,
      { stdin: `${SENTINEL_OTHER}\n${SENTINEL_SYNC}\n` },
    );
    await refused(
      common(['--isDestination', '-b', BASE, '--useSSL', '-P', '/etc/ssl/certs/ca-certificates.crt', '-U', '-'], {
        adminFile: '-',
      }),
      /stdin can supply only one password, but --bindPasswordFile and --trustStorePasswordFile are both '-'/,
      { stdin: 'x\ny\n' },
    );
    // One `-` still works, from a pipe.
    const one = await runCli(common(['--isDestination', '-b', BASE], { syncFile: '-' }), {
      stdin: `${SENTINEL_SYNC}\n`,
    });
    assert.equal(one.code, 0, describeRun(one));
  });

  test('a properties file: every choice and range checked as on the command line, with file and line', async () => {
    const cases: [string, RegExp][] = [
      ['serverType=bogus', /Invalid --serverType 'bogus' \(in .* line 2\): use one of auto, pingdirectory/],
      ['serverType=OpenLDAP', /Invalid --serverType 'OpenLDAP' \(in .* line 2\)/],
      ['port=0', /Invalid --port '0' \(in .* line 2\): use a number from 1 to 65535/],
      ['port=389x', /Invalid --port '389x' \(in .* line 2\)/],
      ['changelogMaximumAge=2x', /Invalid --changelogMaximumAge \(in .* line 2\)/],
      ['accesslogDirectory=', /--accesslogDirectory is empty \(in .* line 2\)/],
    ];
    for (const [line, says] of cases) {
      const props = path.join(matrix.tmp, 'choices.properties');
      writeFileSync(props, `# defaults\n${line}\n`);
      const args = common(['--isSource', '-b', BASE, '--propertiesFilePath', props]);
      // An explicit option wins over the file: leave --port to the file for its rows.
      if (line.startsWith('port=')) args.splice(args.indexOf('-p'), 2);
      await refused(args, says);
    }
    const latin1 = path.join(matrix.tmp, 'latin1.properties');
    writeFileSync(latin1, Buffer.from('syncServerBindDN=cn=Z\xfcrich Sync,dc=example,dc=com\n', 'latin1'));
    await refused(
      common(['--isDestination', '-b', BASE, '--propertiesFilePath', latin1]),
      /--propertiesFilePath '.*' is not valid UTF-8 text/,
    );
  });

  test('no sentinel password anywhere', () => {
    assertNoSecretsAnywhere([matrix.logFile], matrix.repoLogOffset, 40);
  });
});
