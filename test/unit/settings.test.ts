import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { parseCommandLine } from '../../src/cli/options.js';
import { resolveSettings, type Environment, type ResolvedSettings } from '../../src/cli/settings.js';
import { Secret } from '../../src/model/secret.js';
import { PrepareError } from '../../src/model/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pes-settings-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
/** Writes a file in the test folder with the given mode (0600 unless told). */
function file(content: string | Buffer, mode = 0o600): string {
  fileCounter += 1;
  const path = join(dir, `f${fileCounter}`);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

const BIND_PW = file('admin-secret\n');
const SYNC_PW = file('sync-secret\n');
/** A complete unattended command line; tests add to it. */
const BASE = [
  '-D',
  'cn=Directory Manager',
  '-j',
  BIND_PW,
  '--syncServerBindPasswordFile',
  SYNC_PW,
  '-b',
  'dc=example,dc=com',
  '--isSource',
];

/** A source run as cn=x on dc=x, the admin password given by `admin` (none: from elsewhere); `extra` last. */
function asX(admin: string[], extra: string[] = []): string[] {
  return ['-D', 'cn=x', ...admin, '--syncServerBindPasswordFile', SYNC_PW, '-b', 'dc=x', '--isSource', ...extra];
}

function environment(env: Record<string, string | undefined> = {}, stdinIsTTY = false, stdin = ''): Environment {
  return { env, stdinIsTTY, readStdin: () => stdin };
}

function resolve(args: readonly string[], env: Environment = environment()): ResolvedSettings {
  const parsed = parseCommandLine(args, '0.0.0', { out: () => undefined, err: () => undefined });
  if (parsed.kind !== 'run') throw new Error(`unexpected ${parsed.kind}`);
  return resolveSettings(parsed.options, parsed.explicit, env);
}

function rejected(args: readonly string[], env: Environment = environment()): PrepareError {
  try {
    resolve(args, env);
  } catch (error) {
    assert.ok(error instanceof PrepareError, `expected a PrepareError, got ${String(error)}`);
    assert.equal(error.resultCode, 89);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(args)} to be rejected`);
}

describe('resolveSettings: defaults and ports', () => {
  test('defaults: localhost, port 389, no TLS, 10s/30s timeouts in ms', () => {
    const { settings, warnings, canPrompt, color, logFile } = resolve(BASE);
    assert.equal(settings.host, 'localhost');
    assert.equal(settings.port, 389);
    assert.equal(settings.security, 'none');
    assert.deepEqual(settings.trust, { kind: 'system' });
    assert.equal(settings.connectTimeoutMs, 10_000);
    assert.equal(settings.operationTimeoutMs, 30_000);
    assert.equal(settings.bindDn, 'cn=Directory Manager');
    assert.equal(settings.bindPassword?.reveal(), 'admin-secret');
    assert.equal(settings.syncPassword?.reveal(), 'sync-secret');
    assert.equal(settings.syncUserDn, undefined);
    assert.deepEqual(settings.baseDns, ['dc=example,dc=com']);
    assert.deepEqual(settings.roles, { source: true, destination: false });
    assert.equal(settings.changelogMaxAgeSeconds, undefined);
    assert.equal(settings.serverType, 'auto');
    assert.equal(settings.resetSyncPassword, false);
    assert.equal(settings.remove, false);
    assert.deepEqual(warnings, []);
    assert.equal(canPrompt, false);
    assert.equal(color, true);
    assert.equal(logFile, undefined);
  });

  test('port 636 with --useSSL, explicit port wins', () => {
    const ssl = resolve([...BASE, '--useSSL']).settings;
    assert.equal(ssl.port, 636);
    assert.equal(ssl.security, 'ssl');
    assert.equal(resolve([...BASE, '--useSSL', '-p', '1636']).settings.port, 1636);
    const tls = resolve([...BASE, '--useStartTLS']).settings;
    assert.equal(tls.port, 389);
    assert.equal(tls.security, 'starttls');
  });

  test('explicit timeouts are converted to milliseconds', () => {
    const { settings } = resolve([...BASE, '--connectTimeout', '5s', '--operationTimeout', '2 minutes']);
    assert.equal(settings.connectTimeoutMs, 5000);
    assert.equal(settings.operationTimeoutMs, 120_000);
  });

  for (const bad of ['0', '70000', 'abc', '  ', '-1', '65536']) {
    test(`port '${bad}' is rejected`, () => {
      const error = rejected([...BASE, '-p', bad]);
      assert.match(error.message, /--port/);
    });
  }

  test('ports 1 and 65535 are accepted', () => {
    assert.equal(resolve([...BASE, '-p', '1']).settings.port, 1);
    assert.equal(resolve([...BASE, '-p', '65535']).settings.port, 65535);
  });
});

describe('resolveSettings: conflicts and required options', () => {
  const cases: ReadonlyArray<readonly [string, string[], string, string]> = [
    ['--useSSL with --useStartTLS', ['--useSSL', '--useStartTLS'], 'useSSL', 'useStartTLS'],
    ['--bindPassword with --bindPasswordFile', ['-w', 'pw'], 'bindPassword', 'bindPasswordFile'],
    ['--trustAll with --trustStorePath', ['-X', '-P', BIND_PW], 'trustAll', 'trustStorePath'],
    [
      '--syncServerBindPassword with its file',
      ['--syncServerBindPassword', 'pw'],
      'syncServerBindPassword',
      'syncServerBindPasswordFile',
    ],
  ];
  for (const [title, extra, a, b] of cases) {
    test(`${title} -> 89`, () => {
      const error = rejected([...BASE, ...extra]);
      assert.equal(error.message, `--${a} and --${b} cannot be used together`);
    });
  }

  test('neither --isSource nor --isDestination -> 89', () => {
    const error = rejected(BASE.filter((a) => a !== '--isSource'));
    assert.match(error.message, /Neither --isSource nor --isDestination/);
  });

  test('--isDestination alone is a valid role', () => {
    const { settings } = resolve([...BASE.filter((a) => a !== '--isSource'), '--isDestination']);
    assert.deepEqual(settings.roles, { source: false, destination: true });
  });

  test('no --baseDN -> 89', () => {
    const error = rejected([
      '-D',
      'cn=Directory Manager',
      '-j',
      BIND_PW,
      '--syncServerBindPasswordFile',
      SYNC_PW,
      '--isSource',
    ]);
    assert.match(error.message, /No --baseDN/);
  });

  test('the same base twice, differing only in case and spacing -> 89', () => {
    const error = rejected([...BASE, '-b', 'DC=Example, DC=COM']);
    assert.match(error.message, /given twice/);
  });

  test('several distinct bases are kept in order, as typed', () => {
    const { settings } = resolve([...BASE, '-b', 'ou=Other,DC=Example,dc=com']);
    assert.deepEqual(settings.baseDns, ['dc=example,dc=com', 'ou=Other,DC=Example,dc=com']);
  });

  for (const [option, args] of [
    ['--bindDN', ['-D', 'cn=a,,dc=b']],
    ['--syncServerBindDN', ['--syncServerBindDN', 'cn="quoted",dc=example,dc=com']],
    ['--baseDN', ['-b', 'dc=example;dc=com']],
  ] as const) {
    test(`an invalid DN in ${option} -> 89 naming ${option}`, () => {
      const error = rejected([...BASE, ...args]);
      assert.ok(error.message.startsWith(`Invalid DN for ${option} '`), error.message);
    });
  }

  test('valid --syncServerBindDN is kept as typed', () => {
    const { settings } = resolve([...BASE, '--syncServerBindDN', 'cn=Sync\\, User,dc=example,dc=com']);
    assert.equal(settings.syncUserDn, 'cn=Sync\\, User,dc=example,dc=com');
  });
});

describe('resolveSettings: durations', () => {
  for (const [text, seconds] of [
    ['2d', 172800],
    ['8h', 28800],
    ['1w', 604800],
    ['2 d', 172800],
    ['30 minutes', 1800],
  ] as const) {
    test(`--changelogMaximumAge '${text}' -> ${seconds} s`, () => {
      assert.equal(resolve([...BASE, '--changelogMaximumAge', text]).settings.changelogMaxAgeSeconds, seconds);
    });
  }

  test("--changelogMaximumAge 'abc' -> 89", () => {
    const error = rejected([...BASE, '--changelogMaximumAge', 'abc']);
    assert.match(error.message, /^Invalid --changelogMaximumAge: invalid duration 'abc'/);
  });

  test("--connectTimeout 'abc' -> 89", () => {
    assert.match(rejected([...BASE, '--connectTimeout', 'abc']).message, /--connectTimeout/);
  });
});

describe('resolveSettings: passwords', () => {
  function withBindFile(path: string, env: Environment = environment()): ResolvedSettings {
    return resolve(
      [
        '-D',
        'cn=Directory Manager',
        '-j',
        path,
        '--syncServerBindPasswordFile',
        SYNC_PW,
        '-b',
        'dc=example,dc=com',
        '--isSource',
      ],
      env,
    );
  }

  test('only the first line of a password file counts', () => {
    assert.equal(withBindFile(file('first\nsecond\n')).settings.bindPassword?.reveal(), 'first');
  });

  test('a trailing newline is stripped, and so is CRLF', () => {
    assert.equal(withBindFile(file('pw\n')).settings.bindPassword?.reveal(), 'pw');
    assert.equal(withBindFile(file('pw\r\n')).settings.bindPassword?.reveal(), 'pw');
    assert.equal(withBindFile(file('pw')).settings.bindPassword?.reveal(), 'pw');
  });

  test('inner and edge spaces are part of the password', () => {
    assert.equal(withBindFile(file(' p w \n')).settings.bindPassword?.reveal(), ' p w ');
  });

  test('a missing password file -> 89', () => {
    const error = rejected(asX(['-j', join(dir, 'nope')]));
    assert.match(error.message, /Cannot read --bindPasswordFile .*it does not exist/);
  });

  test('an empty password file (or one whose first line is empty) -> 89', () => {
    for (const content of ['', '\n', '\nsecond\n']) {
      const error = rejected(asX(['-j', file(content)]));
      assert.match(error.message, /--bindPasswordFile .* is empty/);
    }
  });

  test('a world-readable password file gives a warning, a 0600 one does not', () => {
    const loose = file('pw\n', 0o644);
    const { warnings, settings } = withBindFile(loose);
    assert.equal(settings.bindPassword?.reveal(), 'pw');
    assert.deepEqual(warnings, [`--bindPasswordFile '${loose}' can be read by other users: chmod 600 it`]);
    assert.deepEqual(withBindFile(file('pw\n', 0o600)).warnings, []);
  });

  test('- reads the password file from stdin', () => {
    const { settings } = withBindFile('-', environment({}, false, 'from-stdin\n'));
    assert.equal(settings.bindPassword?.reveal(), 'from-stdin');
  });

  test('PES_BIND_PASSWORD / PES_SYNC_PASSWORD are used when no file is given', () => {
    const { settings, warnings } = resolve(
      ['-D', 'cn=x', '-b', 'dc=x', '--isSource'],
      environment({ PES_BIND_PASSWORD: 'env-admin', PES_SYNC_PASSWORD: 'env-sync' }),
    );
    assert.equal(settings.bindPassword?.reveal(), 'env-admin');
    assert.equal(settings.syncPassword?.reveal(), 'env-sync');
    assert.deepEqual(warnings, []);
  });

  test('a password file beats the environment', () => {
    const { settings } = resolve(BASE, environment({ PES_BIND_PASSWORD: 'env-admin', PES_SYNC_PASSWORD: 'env-sync' }));
    assert.equal(settings.bindPassword?.reveal(), 'admin-secret');
    assert.equal(settings.syncPassword?.reveal(), 'sync-secret');
  });

  test('an empty environment variable is ignored', () => {
    const error = rejected(
      ['-D', 'cn=x', '-b', 'dc=x', '--isSource'],
      environment({ PES_BIND_PASSWORD: '', PES_SYNC_PASSWORD: '' }),
    );
    assert.match(error.message, /--bindPasswordFile \(or PES_BIND_PASSWORD\)/);
  });

  test('--bindPassword on the command line warns, without showing the password', () => {
    const { settings, warnings } = resolve(asX(['-w', 'Hunter2!']));
    assert.equal(settings.bindPassword?.reveal(), 'Hunter2!');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /--bindPassword on the command line is visible to other local users/);
    assert.ok(!warnings.join('\n').includes('Hunter2!'));
  });

  test('no TTY and missing passwords -> 89 naming every missing option', () => {
    const error = rejected(['-b', 'dc=x', '--isSource']);
    assert.equal(
      error.message,
      'Missing --bindDN, --bindPasswordFile (or PES_BIND_PASSWORD), --syncServerBindPasswordFile (or PES_SYNC_PASSWORD); cannot prompt because stdin is not a terminal',
    );
  });

  test('no TTY and only the sync password missing -> 89 naming only it', () => {
    const error = rejected(['-D', 'cn=x', '-j', BIND_PW, '-b', 'dc=x', '--isSource']);
    assert.equal(
      error.message,
      'Missing --syncServerBindPasswordFile (or PES_SYNC_PASSWORD); cannot prompt because stdin is not a terminal',
    );
  });

  test('a TTY with --no-prompt still rejects missing passwords, and says why', () => {
    const error = rejected(['-b', 'dc=x', '--isSource', '--no-prompt'], environment({}, true));
    assert.match(error.message, /cannot prompt because --no-prompt is set$/);
  });

  test('a TTY without --no-prompt allows missing passwords (canPrompt)', () => {
    const resolved = resolve(['-b', 'dc=x', '--isSource'], environment({}, true));
    assert.equal(resolved.canPrompt, true);
    assert.equal(resolved.settings.bindDn, undefined);
    assert.equal(resolved.settings.bindPassword, undefined);
    assert.equal(resolved.settings.syncPassword, undefined);
  });
});

describe('resolveSettings: colour', () => {
  test('NO_COLOR non-empty -> color false; empty NO_COLOR -> true; --no-color -> false', () => {
    assert.equal(resolve(BASE, environment({ NO_COLOR: '1' })).color, false);
    assert.equal(resolve(BASE, environment({ NO_COLOR: '' })).color, true);
    assert.equal(resolve([...BASE, '--no-color']).color, false);
  });
});

describe('Secret', () => {
  test('never reveals itself via String, templates, JSON or util.inspect', () => {
    const secret = new Secret('p@ss-word');
    assert.equal(String(secret), '***');
    assert.equal(`${secret as unknown as string}`, '***'); // what a stray template string would print
    assert.equal(JSON.stringify(secret), '"***"');
    assert.equal(JSON.stringify({ secret }), '{"secret":"***"}');
    assert.equal(inspect(secret), 'Secret(***)');
    assert.equal(secret.reveal(), 'p@ss-word');
  });

  test('resolved settings printed whole show no password', () => {
    const { settings } = resolve(BASE);
    for (const text of [JSON.stringify(settings), inspect(settings, { depth: 10 }), String(settings.bindPassword)]) {
      assert.ok(!text.includes('admin-secret'), text);
      assert.ok(!text.includes('sync-secret'), text);
    }
    assert.ok(JSON.stringify(settings).includes('"bindPassword":"***"'));
  });
});

describe('resolveSettings: --propertiesFilePath', () => {
  test('name=value lines are defaults (any spelling), explicit options win', () => {
    const props = file(
      [
        '# comment',
        '',
        'hostname = ds.example.com',
        'port=1389',
        'bind-dn=cn=Directory Manager',
        'bindPasswordFile=' + BIND_PW,
        'syncServerBindPasswordFile=' + SYNC_PW,
        'baseDN=dc=example,dc=com',
        'baseDN=dc=other,dc=com',
        'isSource=true',
        'changelogMaximumAge=1w',
      ].join('\n'),
      0o644,
    );
    const fromFile = resolve(['--propertiesFilePath', props]).settings;
    assert.equal(fromFile.host, 'ds.example.com');
    assert.equal(fromFile.port, 1389);
    assert.equal(fromFile.bindDn, 'cn=Directory Manager');
    assert.equal(fromFile.bindPassword?.reveal(), 'admin-secret');
    assert.deepEqual(fromFile.baseDns, ['dc=example,dc=com', 'dc=other,dc=com']);
    assert.deepEqual(fromFile.roles, { source: true, destination: false });
    assert.equal(fromFile.changelogMaxAgeSeconds, 604800);

    const overridden = resolve([
      '--propertiesFilePath',
      props,
      '-h',
      'cli.example.com',
      '-b',
      'dc=cli,dc=com',
    ]).settings;
    assert.equal(overridden.host, 'cli.example.com');
    assert.equal(overridden.port, 1389);
    assert.deepEqual(overridden.baseDns, ['dc=cli,dc=com']);
  });

  test('a secret in a group- or world-readable properties file -> 89', () => {
    for (const mode of [0o640, 0o604, 0o644]) {
      const props = file('bindPassword=leaked\n', mode);
      const error = rejected([...BASE.filter((a) => a !== '-j' && a !== BIND_PW), '--propertiesFilePath', props]);
      assert.match(error.message, /gives bindPassword in clear but other users can read the file/);
      assert.ok(!error.message.includes('leaked'));
    }
  });

  test('a secret in a 0600 properties file is accepted', () => {
    const props = file('bindPassword=from-props\nsyncServerBindPassword=sync-props\n', 0o600);
    const { settings } = resolve(['-D', 'cn=x', '-b', 'dc=x', '--isSource', '--propertiesFilePath', props]);
    assert.equal(settings.bindPassword?.reveal(), 'from-props');
    assert.equal(settings.syncPassword?.reveal(), 'sync-props');
  });

  test('an unknown name -> 89', () => {
    const props = file('frobnicate=1\n');
    assert.match(rejected([...BASE, '--propertiesFilePath', props]).message, /line 1: unknown option 'frobnicate'/);
  });

  test('propertiesFilePath inside the properties file -> 89', () => {
    const props = file('propertiesFilePath=/etc/other\n');
    assert.match(rejected([...BASE, '--propertiesFilePath', props]).message, /unknown option/);
  });

  test('a flag with a value other than true/false -> 89', () => {
    const props = file('isDestination=yes\n');
    assert.match(rejected([...BASE, '--propertiesFilePath', props]).message, /isDestination takes true or false/);
  });

  test('a missing properties file -> 89', () => {
    assert.match(
      rejected([...BASE, '--propertiesFilePath', join(dir, 'absent.properties')]).message,
      /Cannot read --propertiesFilePath/,
    );
  });

  test('noPrompt=true in a properties file turns prompting off', () => {
    const props = file('noPrompt=true\n');
    const error = rejected(['-b', 'dc=x', '--isSource', '--propertiesFilePath', props], environment({}, true));
    assert.match(error.message, /--no-prompt is set/);
  });

  test('a properties-file password does not conflict with an explicit password file', () => {
    const props = file('bindPassword=from-props\n', 0o600);
    const { settings } = resolve([...BASE, '--propertiesFilePath', props]);
    assert.equal(settings.bindPassword?.reveal(), 'admin-secret');
  });

  test('noColor=true in a properties file turns colour off', () => {
    const props = file('noColor=true\n');
    assert.equal(resolve([...BASE, '--propertiesFilePath', props]).color, false);
  });
});

describe('resolveSettings: --trustStorePath', () => {
  // Two self-signed certificates (openssl req -x509, EC P-256, CN=A and CN=B): every PEM block of a trust
  // store must be a certificate.
  const CERT_A = [
    '-----BEGIN CERTIFICATE-----',
    'MIIBbzCCARWgAwIBAgIUZHWhrjMREgMw3ixbod3n+NzlfLYwCgYIKoZIzj0EAwIw',
    'DDEKMAgGA1UEAwwBQTAgFw0yNjEyMDMwOTI1MzNaGA8yMTI2MTEwOTA5MjUzM1ow',
    'DDEKMAgGA1UEAwwBQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABElhrx6Uq3jF',
    'S6lyp/5f72FDPYhj+mrBn117ikVN/U+qUO4pnfG4UvBunHXGBZc6Bc6CkN2j3ffk',
    'gPl/Novga3CjUzBRMB0GA1UdDgQWBBQtGsiDRFiTKORhkVpz6bvMb+V6NjAfBgNV',
    'HSMEGDAWgBQtGsiDRFiTKORhkVpz6bvMb+V6NjAPBgNVHRMBAf8EBTADAQH/MAoG',
    'CCqGSM49BAMCA0gAMEUCIQCkWZY0Kcsw+yIEfoGq/THJtYm96WOvxFqP3ya968ci',
    '4QIgDME0ay2zjfIsPWcNP03sYSb6WavJo+AYcG3zHBxWNkk=',
    '-----END CERTIFICATE-----',
  ].join('\n');
  const CERT_B = [
    '-----BEGIN CERTIFICATE-----',
    'MIIBbzCCARWgAwIBAgIULqp0HmZyTbwgMFqshQoLdEqaEIEwCgYIKoZIzj0EAwIw',
    'DDEKMAgGA1UEAwwBQjAgFw0yNjEyMDMwOTI1MzNaGA8yMTI2MTEwOTA5MjUzM1ow',
    'DDEKMAgGA1UEAwwBQjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLQ2SOjwinfB',
    'dUCvE8l4LElIVqJHw9OLOep5wludnZ/2H8v6M2ULIM2offpYAHxy82ZRyblHJesO',
    'KjzuDwpD5/2jUzBRMB0GA1UdDgQWBBTbi+W4dGul1c5gR3Y3IRHS1hke0DAfBgNV',
    'HSMEGDAWgBTbi+W4dGul1c5gR3Y3IRHS1hke0DAPBgNVHRMBAf8EBTADAQH/MAoG',
    'CCqGSM49BAMCA0gAMEUCIQDAYavNxsHTYa/AYbUN2s9ydZFjhgttGAlYFXvNe969',
    'SgIgJqXE1Iv7b3KtGhwpuoPkaKDSLFf0bK6kQDOYPpovZd8=',
    '-----END CERTIFICATE-----',
  ].join('\n');

  test('a PEM bundle gives certificates trust, one buffer per certificate', () => {
    const pem = file(`subject=CN=A\n${CERT_A}\nsubject=CN=B\n${CERT_B}\n`, 0o644);
    const { settings, warnings } = resolve([...BASE, '--useSSL', '-P', pem]);
    assert.equal(settings.trust.kind, 'certificates');
    if (settings.trust.kind !== 'certificates') throw new Error('unreachable');
    assert.equal(settings.trust.source, pem);
    assert.deepEqual(
      settings.trust.ca.map((b) => b.toString('utf8')),
      [CERT_A, CERT_B],
    );
    assert.deepEqual(warnings, []);
  });

  test('a JKS file -> 89 with a keytool hint', () => {
    const jks = file(Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 1, 2, 3]));
    const error = rejected([...BASE, '--useSSL', '-P', jks]);
    assert.match(error.message, /is a Java KeyStore \(JKS\)/);
    assert.match(error.hint ?? '', /keytool -exportcert -rfc -keystore/);
  });

  test('a non-PEM file -> 89', () => {
    const der = file(Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]));
    const error = rejected([...BASE, '--useSSL', '-P', der]);
    assert.match(error.message, /holds no PEM certificate/);
  });

  test('a missing trust store -> 89', () => {
    assert.match(rejected([...BASE, '--useSSL', '-P', join(dir, 'none.pem')]).message, /Cannot read --trustStorePath/);
  });

  test('--trustAll gives "all" trust and a warning; without TLS a second warning', () => {
    const tls = resolve([...BASE, '--useSSL', '-X']);
    assert.deepEqual(tls.settings.trust, { kind: 'all' });
    assert.equal(tls.warnings.length, 1);
    assert.match(tls.warnings[0]!, /--trustAll accepts any server certificate/);
    const plain = resolve([...BASE, '-X']);
    assert.equal(plain.warnings.length, 2);
    assert.equal(plain.warnings[1], '--trustAll has no effect without --useSSL or --useStartTLS');
  });
});

describe('resolveSettings: input that would change meaning silently', () => {
  const syncArgs = (path: string): string[] => [
    '-D',
    'cn=x',
    '-j',
    BIND_PW,
    '--syncServerBindPasswordFile',
    path,
    '-b',
    'dc=x',
    '--isSource',
  ];

  test('a NUL byte, a lone CR or another control character in a password file -> 89, the password never shown', () => {
    for (const [content, says] of [
      ['Hidden\u0000Word\n', /NUL byte/],
      ['Hidden\rWord\n', /carriage return/],
      ['Hidden\u0001Word\n', /U\+0001/],
      ['Hidden\u007fWord\n', /U\+007F/],
    ] as const) {
      const error = rejected(syncArgs(file(content)));
      assert.match(error.message, says);
      assert.ok(!`${error.message} ${error.hint ?? ''}`.includes('Hidden'), error.message);
    }
  });

  test('a tab is part of a password', () => {
    assert.equal(resolve(syncArgs(file('a\tb\n'))).settings.syncPassword?.reveal(), 'a\tb');
  });

  test('CR or LF in PES_SYNC_PASSWORD and U+FFFD (bytes that were not UTF-8) -> 89', () => {
    for (const value of ['pw\n', 'p\rw', 'caf\uFFFD']) {
      rejected(['-D', 'cn=x', '-j', BIND_PW, '-b', 'dc=x', '--isSource'], environment({ PES_SYNC_PASSWORD: value }));
    }
  });

  test('a UTF-8 BOM is stripped with a warning; UTF-16 and Latin-1 files -> 89', () => {
    const bom = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('pw\n')]));
    const { settings, warnings } = resolve(syncArgs(bom));
    assert.equal(settings.syncPassword?.reveal(), 'pw');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /byte order mark \(BOM\).*ignored/);
    assert.match(rejected(syncArgs(file(Buffer.from([0xff, 0xfe, 0x70, 0, 0x0a, 0])))).message, /UTF-16/);
    assert.match(rejected(syncArgs(file(Buffer.from('caf\xe9\n', 'latin1')))).message, /not valid UTF-8/);
  });

  test('only the first line is decoded: bytes after it do not matter', () => {
    assert.equal(
      resolve(
        syncArgs(file(Buffer.concat([Buffer.from('pw\n'), Buffer.from([0xff, 0x00])]))),
      ).settings.syncPassword?.reveal(),
      'pw',
    );
  });

  test('two password files on stdin -> 89 before reading it', () => {
    let read = false;
    const env: Environment = {
      env: {},
      stdinIsTTY: false,
      readStdin: () => {
        read = true;
        return 'x\n';
      },
    };
    const error = rejected(
      ['-D', 'cn=x', '-j', '-', '--syncServerBindPasswordFile', '-', '-b', 'dc=x', '--isSource'],
      env,
    );
    assert.match(error.message, /stdin can supply only one password/);
    assert.equal(read, false);
  });

  test('--hostname: names, IPv4 and IPv6 pass; host:port, URLs and brackets -> 89 naming --port', () => {
    for (const host of [
      'ds1.example.com',
      'localhost',
      '192.0.2.1',
      '::1',
      'fe80::1',
      'a_b.example',
      'ds1.example.com.',
    ]) {
      assert.equal(resolve(['-h', host, ...BASE]).settings.host, host);
    }
    for (const host of [
      'ds1:389',
      'ldap://ds1',
      'ldaps://ds1:636',
      '[::1]:389',
      '[::1]',
      'ds1/x',
      'bücher.de',
      '1.2.3.256',
      '-x',
      'a..b',
    ]) {
      const error = rejected(['-h', host, ...BASE]);
      assert.match(error.message, /^Invalid --hostname/);
    }
    assert.match(rejected(['-h', 'ds1:1389', ...BASE]).hint ?? '', /--hostname ds1 --port 1389/);
    assert.match(rejected(['-h', 'ldaps://ds1:1636', ...BASE]).hint ?? '', /--hostname ds1 --port 1636 --useSSL/);
  });

  test('timeouts beyond Node timers -> 89 naming 24d; 24d and 2147483s pass', () => {
    for (const value of ['25d', '4w', '2147484s', '100 weeks']) {
      assert.match(rejected([...BASE, '--operationTimeout', value]).hint ?? '', /at most 24d/);
      rejected([...BASE, '--connectTimeout', value]);
    }
    assert.equal(resolve([...BASE, '--operationTimeout', '24d']).settings.operationTimeoutMs, 24 * 86400 * 1000);
    assert.equal(resolve([...BASE, '--connectTimeout', '2147483s']).settings.connectTimeoutMs, 2147483000);
  });

  test('the change log age is not a timer: long ages pass', () => {
    assert.equal(resolve([...BASE, '--changelogMaximumAge', '52w']).settings.changelogMaxAgeSeconds, 52 * 604800);
  });

  test('every option with choices is checked in a properties file too; empty values -> 89', () => {
    assert.match(
      rejected([...BASE, '--propertiesFilePath', file('serverType=nope\n')]).message,
      /Invalid --serverType 'nope' \(in .* line 1\)/,
    );
    assert.equal(
      resolve([...BASE, '--propertiesFilePath', file('serverType=openldap\n')]).settings.serverType,
      'openldap',
    );
    assert.match(rejected([...BASE, '--propertiesFilePath', file('hostname=\n')]).message, /--hostname is empty/);
    assert.match(rejected([...BASE, '--logFile', '']).message, /--logFile is empty/);
  });

  test('a properties file with a BOM is read; one that is not UTF-8 -> 89', () => {
    const bom = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('hostname=ds.example.com\n')]));
    assert.equal(resolve([...BASE, '--propertiesFilePath', bom]).settings.host, 'ds.example.com');
    assert.match(
      rejected([...BASE, '--propertiesFilePath', file(Buffer.from('hostname=caf\xe9\n', 'latin1'))]).message,
      /not valid UTF-8/,
    );
  });

  test('a password from a private properties file: no "command line" warning; a control character in it -> 89', () => {
    const props = file('bindPassword=from-props\n', 0o600);
    const { warnings } = resolve(asX([], ['--propertiesFilePath', props]));
    assert.deepEqual(warnings, []);
    const bad = file('bindPassword=a\u0001b\n', 0o600);
    assert.match(rejected(asX([], ['--propertiesFilePath', bad])).message, /--bindPassword \(in .* line 1\) contains/);
  });

  test('special files -> 89 naming what they are', () => {
    assert.match(rejected(syncArgs('/dev/zero')).message, /character device, not a regular file/);
    assert.match(rejected(syncArgs(dir)).message, /a folder, not a regular file/);
    assert.match(rejected([...BASE, '--propertiesFilePath', '/dev/null']).message, /character device/);
  });
});

describe('--changelogDeletedEntryAttribute', () => {
  test('repeatable; absent gives none', () => {
    assert.equal(resolve(BASE).settings.changelogDeletedEntryAttributes, undefined);
    assert.deepEqual(
      resolve([
        ...BASE,
        '--changelogDeletedEntryAttribute',
        'employeeNumber',
        '--changelog-deleted-entry-attribute',
        '2.5.4.3',
      ]).settings.changelogDeletedEntryAttributes,
      ['employeeNumber', '2.5.4.3'],
    );
  });

  test('anything but an attribute name or OID is 89 (it would land in server configuration as it is)', () => {
    for (const bad of ['cn x', 'cn;binary', '(objectClass=*)', '-cn', 'mail\nolcAccess']) {
      const error = rejected([...BASE, '--changelogDeletedEntryAttribute', bad]);
      assert.match(error.message, /Invalid --changelogDeletedEntryAttribute/);
    }
    assert.match(
      rejected([...BASE, '--changelogDeletedEntryAttribute', '']).message,
      /--changelogDeletedEntryAttribute is empty/,
    );
  });
});

describe('resolveSettings: --replica and --replicationTimeout', () => {
  test('replicas with their per-server accesslog folder, and the timeout in ms (default 30s)', () => {
    const { settings } = resolve(
      asX(['-w', 'pw'], ['--replica', 'ds2:389', '--replica', 'ds3:1389,accesslogDirectory=/srv/log']),
    );
    assert.deepEqual(settings.replicas, [
      { host: 'ds2', port: 389 },
      { host: 'ds3', port: 1389, accesslogDirectory: '/srv/log' },
    ]);
    assert.equal(settings.replicationTimeoutMs, 30_000);
    assert.equal(
      resolve(asX(['-w', 'pw'], ['--replica', 'ds2:389', '--replicationTimeout', '2m'])).settings.replicationTimeoutMs,
      120_000,
    );
  });

  test('a replica naming the server itself is a usage error; --replicationTimeout alone is ignored with a warning', () => {
    rejected(asX(['-w', 'pw'], ['-h', 'ds1', '--replica', 'DS1:389']));
    const { settings, warnings } = resolve(asX(['-w', 'pw'], ['--replicationTimeout', '1m']));
    assert.equal(settings.replicas, undefined);
    assert.ok(
      warnings.includes('--replicationTimeout applies with --replica only and was ignored'),
      JSON.stringify(warnings),
    );
  });
});
