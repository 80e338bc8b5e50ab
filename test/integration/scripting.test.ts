// Unattended use: --json (one object on stdout, checked against the RunResult schema), --dry-run (LDIF with
// masked passwords, and the server byte-for-byte unchanged), the password sources (file, `-` for stdin, the
// PES_* environment variables, the flag) and --propertiesFilePath. One slapd (fast) does most of it; one
// 389 DS (dynamic plugins on) shows a dry run there and the change numbers in the JSON of a real source run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunResult } from '../../src/cli/result.js';
import { repoRoot, runCli, type RunCliOptions, type RunCliResult } from '../helpers/cli.js';
import { describeRun, makeTempDir, withoutAdminUnderBaseWarning } from '../helpers/fixture.js';
import { canBind, ds389Dumps, dumpEntries, readEntry, withClient, type Bind, type Dump } from '../helpers/directory.js';
import { startDs389, type Ds389 } from '../servers/ds389.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';

const BASE = 'dc=example,dc=com';
const SYNC_DN = `cn=Sync User,${BASE}`;
const SYNC_PASSWORD = `Sync-Scripting-${randomUUID()}`;
const PLUGIN_DN = 'cn=Retro Changelog Plugin,cn=plugins,cn=config';
const STATUSES = new Set(['created', 'updated', 'unchanged', 'skipped', 'warning']);
const TOOL_VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

let tmp = '';
let logFile = '';
let slapd: Slapd | undefined;
let ds: Ds389 | undefined;

function file(name: string, content: string, mode = 0o600): string {
  const target = path.join(tmp, name);
  writeFileSync(target, content, { mode });
  chmodSync(target, mode);
  return target;
}

function ldap(): Slapd {
  assert.ok(slapd, 'slapd was not started');
  return slapd;
}

function dirsrv(): Ds389 {
  assert.ok(ds, '389 DS was not started');
  return ds;
}

const slapdAdmin = (): Bind => ({ dn: ldap().adminDn, password: ldap().adminPassword });
const dsAdmin = (): Bind => ({ dn: dirsrv().adminDn, password: dirsrv().adminPassword });

function run(args: string[], opts: RunCliOptions = {}): Promise<RunCliResult> {
  return runCli(args, { timeoutMs: 60_000, ...opts });
}

/** -h/-p/-b/--logFile/--no-prompt against slapd; credentials and roles are up to the caller. */
function slapdConnection(): string[] {
  return ['-h', ldap().host, '-p', String(ldap().port), '-b', BASE, '--no-prompt', '--logFile', logFile];
}

/** A destination run on slapd with both passwords from files. */
function slapdDestination(extra: string[] = []): string[] {
  return [
    ...slapdConnection(),
    '-D',
    ldap().adminDn,
    '--bindPasswordFile',
    path.join(tmp, 'slapd-admin.pw'),
    '--syncServerBindPasswordFile',
    path.join(tmp, 'sync.pw'),
    '--isDestination',
    ...extra,
  ];
}

// ---------------------------------------------------------------------------------------------------------
// The schema checker: every key of RunResult (the mapped types make the compiler insist on all of them),
// nothing more, each with its type.

type Check = (value: unknown, where: string) => void;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const str: Check = (v, w) => assert.equal(typeof v, 'string', `${w} is a string: ${JSON.stringify(v)}`);
const bool: Check = (v, w) => assert.equal(typeof v, 'boolean', `${w} is a boolean: ${JSON.stringify(v)}`);
const int: Check = (v, w) => assert.ok(Number.isInteger(v), `${w} is an integer: ${JSON.stringify(v)}`);
const count: Check = (v, w) =>
  assert.ok(Number.isInteger(v) && (v as number) >= 0, `${w} is a count: ${JSON.stringify(v)}`);
const nullable =
  (check: Check): Check =>
  (v, w) => {
    if (v !== null) check(v, w);
  };
function shape<T>(checks: { [K in keyof T]-?: Check }): Check {
  return (v, w) => {
    assert.ok(isObject(v), `${w} is an object: ${JSON.stringify(v)}`);
    assert.deepEqual(Object.keys(v).sort(), Object.keys(checks).sort(), `${w} has exactly the documented keys`);
    for (const [key, check] of Object.entries<Check>(checks)) check(v[key], `${w}.${key}`);
  };
}
const list =
  (check: Check): Check =>
  (v, w) => {
    assert.ok(Array.isArray(v), `${w} is an array: ${JSON.stringify(v)}`);
    v.forEach((item, index) => check(item, `${w}[${index}]`));
  };

const checkResult: Check = shape<RunResult>({
  tool: (v, w) => assert.equal(v, 'prepare-endpoint-server', w),
  version: (v, w) => assert.equal(v, TOOL_VERSION, w),
  runId: (v, w) => assert.match(String(v), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, w),
  server: shape<RunResult['server']>({
    host: nullable(str),
    port: nullable((v, w) =>
      assert.ok(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535, `${w}: ${String(v)}`),
    ),
    type: nullable(str),
    productName: nullable(str),
    vendor: nullable(str),
  }),
  roles: shape<RunResult['roles']>({ source: bool, destination: bool }),
  remove: bool,
  dryRun: bool,
  syncUserDn: nullable(str),
  changed: bool,
  steps: list(
    shape<RunResult['steps'][number]>({
      id: (v, w) => {
        str(v, w);
        assert.notEqual(v, '', w);
      },
      title: str,
      status: (v, w) => assert.ok(STATUSES.has(String(v)), `${w} is one of ${[...STATUSES].join(', ')}: ${String(v)}`),
      detail: nullable(str),
    }),
  ),
  warnings: list(str),
  verified: nullable(bool),
  changeNumbers: nullable(shape<NonNullable<RunResult['changeNumbers']>>({ first: str, last: str })),
  servers: list(
    shape<RunResult['servers'][number]>({
      host: str,
      port: int,
      role: nullable(str),
      prepared: bool,
      steps: list((v, w) => assert.ok(isObject(v), w)),
      changeNumbers: nullable(shape<NonNullable<RunResult['changeNumbers']>>({ first: str, last: str })),
      verified: nullable(bool),
    }),
  ),
  ldif: nullable(str),
  ldap: shape<RunResult['ldap']>({ reads: count, writes: count }),
  exitCode: int,
  error: nullable(
    shape<NonNullable<RunResult['error']>>({
      exitCode: int,
      message: (v, w) => {
        str(v, w);
        assert.notEqual(v, '', w);
      },
      hint: nullable(str),
    }),
  ),
});

/** stdout is exactly one line of JSON and nothing else; the object fits the schema and agrees with the exit code. */
function jsonOf(r: RunCliResult): RunResult {
  assert.ok(r.stdout.endsWith('\n'), `stdout ends with a newline:\n${describeRun(r)}`);
  const lines = r.stdout.split('\n');
  assert.equal(lines.length, 2, `exactly one line on stdout:\n${describeRun(r)}`);
  let parsed: unknown;
  assert.doesNotThrow(
    () => {
      parsed = JSON.parse(lines[0] ?? '');
    },
    `JSON.parse accepts stdout:\n${describeRun(r)}`,
  );
  checkResult(parsed, 'result');
  const result = parsed as RunResult;
  assert.equal(result.exitCode, r.code, 'exitCode is the process exit code');
  if (r.code === 0) assert.equal(result.error, null, 'no error on success');
  else assert.equal(result.error?.exitCode, r.code, 'error.exitCode is the process exit code');
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Dumps for "byte-for-byte unchanged": every attribute, user and operational, of every entry.

async function slapdState(): Promise<{ data: Dump; config: Dump; accesslogFiles: string[] }> {
  const s = ldap();
  return {
    data: await dumpEntries(s.url, slapdAdmin(), BASE, 'sub'),
    config: await dumpEntries(s.url, slapdAdmin(), 'cn=config', 'sub'),
    accesslogFiles: readdirSync(s.accesslogDirectory).sort(),
  };
}

async function ds389State(): Promise<Dump[]> {
  return ds389Dumps(dirsrv().url, dsAdmin(), BASE);
}

before(async () => {
  tmp = makeTempDir('pes-scripting-');
  logFile = path.join(tmp, 'run.log');
  file('sync.pw', `${SYNC_PASSWORD}\n`);
  slapd = await startSlapd();
  file('slapd-admin.pw', `${slapd.adminPassword}\n`);
});

after(async () => {
  try {
    await slapd?.stop();
    await ds?.stop();
  } finally {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  }
});

describe('--dry-run on a fresh slapd', () => {
  const sourceArgs = (): string[] =>
    slapdDestination(['--isSource', '--changelogMaximumAge', '3d', '--accesslogDirectory', ldap().accesslogDirectory]);

  test('the dumps are stable (the comparison below means something)', async () => {
    assert.deepEqual(await slapdState(), await slapdState());
    assert.ok(Object.keys((await slapdState()).config).length > 5, 'cn=config has entries');
  });

  test('exit 0, LDIF with the sync user add (password masked), steps it would take; nothing written', async () => {
    const before = await slapdState();
    const r = await run([...sourceArgs(), '--dry-run']);
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(r.stdout.includes(`dn: ${SYNC_DN}\nchangetype: add\n`), describeRun(r));
    assert.match(r.stdout, /^userPassword: \*{8}$/m, describeRun(r));
    assert.ok(r.stdout.includes('add: olcAccess'), 'the access rule is in the LDIF');
    assert.match(
      r.stdout,
      /^dn: olcDatabase=\{\d+\}mdb,cn=config\nchangetype: add$/m,
      'the accesslog database is in the LDIF',
    );
    assert.match(r.stdout, /^dn: olcOverlay=accesslog,olcDatabase=\{1\}mdb,cn=config$/m, 'the overlay is in the LDIF');
    assert.match(r.stdout, /Would create/, describeRun(r));
    assert.match(r.stdout, /dry run: nothing was written/i, describeRun(r));
    for (const text of [r.stdout, r.stderr])
      assert.ok(!text.includes(SYNC_PASSWORD), 'the sync password is never printed');
    assert.ok(!readFileSync(logFile, 'utf8').includes(SYNC_PASSWORD), 'nor logged');
    assert.deepEqual(await slapdState(), before, 'data, all of cn=config and the accesslog folder are unchanged');
    assert.equal(await readEntry(ldap().url, slapdAdmin(), SYNC_DN), undefined);
  });

  test('--dry-run --json: one object with dryRun true, changed false, no write, the LDIF masked', async () => {
    const before = await slapdState();
    const r = await run([...sourceArgs(), '--dry-run', '--json']);
    assert.equal(r.code, 0, describeRun(r));
    const result = jsonOf(r);
    assert.equal(result.dryRun, true);
    assert.equal(result.changed, false);
    assert.equal(result.ldap.writes, 0);
    assert.ok(result.ldap.reads > 0, 'it did read');
    assert.equal(typeof result.ldif, 'string');
    assert.ok(result.ldif?.includes(`dn: ${SYNC_DN}\nchangetype: add\n`), result.ldif ?? '');
    assert.match(result.ldif ?? '', /^userPassword: \*{8}$/m);
    assert.ok(!r.stdout.includes(SYNC_PASSWORD) && !r.stderr.includes(SYNC_PASSWORD), 'no password anywhere');
    assert.deepEqual(result.roles, { source: true, destination: true });
    assert.ok(
      result.steps.some((s) => s.id === 'sync-user' && s.status === 'created'),
      JSON.stringify(result.steps),
    );
    assert.match(r.stderr, /Testing connection to/, 'the human lines went to stderr');
    assert.deepEqual(await slapdState(), before);
  });
});

describe('--json on slapd', () => {
  test('first run: exactly one JSON line on stdout, schema complete, changed true, human lines on stderr', async () => {
    const r = await run(slapdDestination(['--json']));
    assert.equal(r.code, 0, describeRun(r));
    const result = jsonOf(r);
    assert.equal(result.changed, true);
    assert.ok(result.ldap.writes > 0, JSON.stringify(result.ldap));
    assert.ok(result.ldap.reads > 0, JSON.stringify(result.ldap));
    assert.equal(result.dryRun, false);
    assert.equal(result.remove, false);
    assert.equal(result.ldif, null);
    assert.deepEqual(result.roles, { source: false, destination: true });
    assert.equal(result.syncUserDn, SYNC_DN);
    assert.deepEqual(result.server, { ...result.server, host: '127.0.0.1', port: ldap().port, type: 'openldap' });
    assert.equal(typeof result.server.vendor, 'string');
    assert.equal(typeof result.server.productName, 'string');
    const user = result.steps.find((s) => s.id === 'sync-user');
    assert.equal(user?.status, 'created', JSON.stringify(result.steps));
    assert.ok(
      result.steps.some((s) => s.id.startsWith('olcaccess:') && s.status === 'created'),
      JSON.stringify(result.steps),
    );
    assert.match(r.stderr, /Testing connection to 127\.0\.0\.1:\d+ \.+ Done/, describeRun(r));
    assert.match(r.stderr, /Summary:/, describeRun(r));
    assert.doesNotMatch(r.stdout, /Testing connection|Summary:|Created '/);
    assert.equal(await canBind(ldap().url, SYNC_DN, SYNC_PASSWORD), true);
  });

  test('re-run: changed false, ldap.writes 0, every step unchanged', async () => {
    const r = await run(slapdDestination(['--json']));
    assert.equal(r.code, 0, describeRun(r));
    const result = jsonOf(r);
    assert.equal(result.changed, false);
    assert.equal(result.ldap.writes, 0);
    assert.ok(result.steps.length > 0);
    for (const step of result.steps) assert.equal(step.status, 'unchanged', JSON.stringify(step));
  });

  test('wrong admin password: exit 49, error.exitCode 49 with a message, nothing written', async () => {
    const wrong = file('wrong.pw', 'not-the-password\n');
    const args = slapdDestination(['--json']).map((a) => (a.endsWith('slapd-admin.pw') ? wrong : a));
    const r = await run(args);
    assert.equal(r.code, 49, describeRun(r));
    const result = jsonOf(r);
    assert.equal(result.error?.exitCode, 49);
    assert.match(result.error?.message ?? '', /\S/);
    assert.equal(result.changed, false);
    assert.equal(result.ldap.writes, 0);
    assert.match(r.stderr, /Error:/, 'the human error is on stderr');
    assert.doesNotMatch(r.stdout, /Error:/);
  });

  test('usage error (-p 0): exit 89 with a JSON error object, nothing else on stdout', async () => {
    const r = await run([
      '-h',
      '127.0.0.1',
      '-p',
      '0',
      '-b',
      BASE,
      '--isDestination',
      '--no-prompt',
      '--logFile',
      logFile,
      '--json',
    ]);
    assert.equal(r.code, 89, describeRun(r));
    const result = jsonOf(r);
    assert.equal(result.error?.exitCode, 89);
    assert.match(result.error?.message ?? '', /port/i);
    assert.equal(result.changed, false);
    assert.deepEqual(result.ldap, { reads: 0, writes: 0 });
    assert.match(r.stderr, /Error: .*port/i);
  });

  test('json=true from --propertiesFilePath: a usage error found after reading the file still answers in JSON', async () => {
    const props = file('json.properties', `json=true\nport=0\nbaseDN=${BASE}\nisDestination=true\n`, 0o644);
    const r = await run(['--propertiesFilePath', props, '--no-prompt', '--logFile', logFile]);
    assert.equal(r.code, 89, describeRun(r));
    jsonOf(r);
  });

  test('usage error from an unknown option: exit 89, still one JSON object', async () => {
    const r = await run(['--noSuchOption', '-b', BASE, '--json']);
    assert.equal(r.code, 89, describeRun(r));
    jsonOf(r);
  });
});

describe('password sources (slapd, sync user already there)', () => {
  const noPasswords = (): string[] => [...slapdConnection(), '-D', ldap().adminDn, '--isDestination'];

  test('-j - reads the admin password from stdin', async () => {
    const r = await run([...noPasswords(), '-j', '-', '--syncServerBindPasswordFile', path.join(tmp, 'sync.pw')], {
      stdin: `${ldap().adminPassword}\n`,
      env: { PES_BIND_PASSWORD: 'wrong-admin' },
    });
    assert.equal(r.code, 0, `stdin beats PES_BIND_PASSWORD: ${describeRun(r)}`);
    assert.equal(withoutAdminUnderBaseWarning(r.stderr), '', 'no other warning');
  });

  test('a password file: first line only, CRLF and trailing newline stripped', async () => {
    const crlf = file('crlf.pw', `${ldap().adminPassword}\r\nsecond line\r\n`);
    const r = await run([...noPasswords(), '-j', crlf, '--syncServerBindPasswordFile', path.join(tmp, 'sync.pw')]);
    assert.equal(r.code, 0, describeRun(r));
    const noNewline = file('bare.pw', ldap().adminPassword);
    const bare = await run([
      ...noPasswords(),
      '-j',
      noNewline,
      '--syncServerBindPasswordFile',
      path.join(tmp, 'sync.pw'),
    ]);
    assert.equal(bare.code, 0, describeRun(bare));
  });

  test('--syncServerBindPasswordFile - reads the sync password from stdin (a wrong one is exit 49)', async () => {
    const args = [...noPasswords(), '-j', path.join(tmp, 'slapd-admin.pw'), '--syncServerBindPasswordFile', '-'];
    const ok = await run(args, { stdin: `${SYNC_PASSWORD}\n` });
    assert.equal(ok.code, 0, describeRun(ok));
    const wrong = await run(args, { stdin: 'wrong-sync-password\n' });
    assert.equal(wrong.code, 49, `stdin was really read: ${describeRun(wrong)}`);
  });

  test('PES_BIND_PASSWORD and PES_SYNC_PASSWORD, no file', async () => {
    const r = await run(noPasswords(), {
      env: { PES_BIND_PASSWORD: ldap().adminPassword, PES_SYNC_PASSWORD: SYNC_PASSWORD },
    });
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(withoutAdminUnderBaseWarning(r.stderr), '', 'no other warning for the environment');
    const wrongSync = await run(noPasswords(), {
      env: { PES_BIND_PASSWORD: ldap().adminPassword, PES_SYNC_PASSWORD: 'wrong' },
    });
    assert.equal(wrongSync.code, 49, `PES_SYNC_PASSWORD is what is used: ${describeRun(wrongSync)}`);
  });

  test('a file beats the environment variable (wrong env value, right file)', async () => {
    const r = await run(
      [
        ...noPasswords(),
        '-j',
        path.join(tmp, 'slapd-admin.pw'),
        '--syncServerBindPasswordFile',
        path.join(tmp, 'sync.pw'),
      ],
      { env: { PES_BIND_PASSWORD: 'wrong-admin', PES_SYNC_PASSWORD: 'wrong-sync' } },
    );
    assert.equal(r.code, 0, describeRun(r));
  });

  test('--bindPassword on the command line works and warns on stderr, without echoing the password', async () => {
    const password = ldap().adminPassword;
    const r = await run([
      ...noPasswords(),
      '--bindPassword',
      password,
      '--syncServerBindPasswordFile',
      path.join(tmp, 'sync.pw'),
      '--json',
    ]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stderr, /--bindPassword on the command line is visible to other local users/, describeRun(r));
    const result = jsonOf(r);
    assert.ok(
      result.warnings.some((w) => /--bindPassword/.test(w)),
      'the warning is in the JSON too',
    );
    for (const text of [r.stdout, r.stderr, readFileSync(logFile, 'utf8')])
      assert.ok(!text.includes(password), 'password not echoed nor logged');
  });

  test('a group- or world-readable password file works but warns', async () => {
    for (const mode of [0o640, 0o604]) {
      const loose = file(`loose-${mode.toString(8)}.pw`, `${ldap().adminPassword}\n`, mode);
      const r = await run([...noPasswords(), '-j', loose, '--syncServerBindPasswordFile', path.join(tmp, 'sync.pw')]);
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stderr, /can be read by other users/, `mode ${mode.toString(8)}: ${describeRun(r)}`);
      assert.ok(r.stderr.includes(loose), 'the warning names the file');
    }
  });
});

describe('--propertiesFilePath', () => {
  function properties(port: number): string {
    return file(
      `tool-${port}.properties`,
      [
        '# defaults for prepare-endpoint-server',
        'hostname=127.0.0.1',
        `port=${port}`,
        `baseDN=${BASE}`,
        'isSource=true',
        `accesslogDirectory=${ldap().accesslogDirectory}`,
        'changelogMaximumAge=3d',
        `bindDN=${ldap().adminDn}`,
        `bindPasswordFile=${path.join(tmp, 'slapd-admin.pw')}`,
        `syncServerBindPasswordFile=${path.join(tmp, 'sync.pw')}`,
        'noPrompt=true',
        `logFile=${logFile}`,
        '',
      ].join('\n'),
      0o644,
    );
  }

  test('host, baseDN, isSource, bindDN come from the file; an explicit -p wins over its wrong port', async () => {
    const wrongPort = ldap().port === 1 ? 2 : 1;
    const props = properties(wrongPort);
    const r = await run(['--propertiesFilePath', props, '-p', String(ldap().port), '--json']);
    assert.equal(r.code, 0, describeRun(r));
    const result = jsonOf(r);
    assert.equal(result.server.port, ldap().port);
    assert.equal(result.server.host, '127.0.0.1');
    assert.deepEqual(result.roles, { source: true, destination: false });
    assert.ok(
      result.steps.some((s) => s.id === 'accesslog:database'),
      `the source steps ran: ${JSON.stringify(result.steps)}`,
    );
    const db = await withClient(ldap().url, slapdAdmin(), (c) =>
      c.search('cn=config', { scope: 'one', filter: '(olcSuffix=cn=accesslog)', attributes: ['olcSuffix'] }),
    );
    assert.equal(db.searchEntries.length, 1, 'the cn=accesslog database was created');
  });

  test("without -p the file's port is used (a closed port: exit 91)", async () => {
    const wrongPort = ldap().port === 1 ? 2 : 1;
    const r = await run(['--propertiesFilePath', properties(wrongPort), '--connectTimeout', '3s', '--json']);
    assert.equal(r.code, 91, describeRun(r));
    const result = jsonOf(r);
    assert.equal(result.server.port, wrongPort);
  });
});

describe('389 DS (dynamic plugins on)', () => {
  before(async () => {
    ds = await startDs389({ dynamicPlugins: true });
    file('ds-admin.pw', `${ds.adminPassword}\n`);
  });

  const dsArgs = (extra: string[] = []): string[] => [
    '-h',
    dirsrv().host,
    '-p',
    String(dirsrv().port),
    '-D',
    dirsrv().adminDn,
    '--bindPasswordFile',
    path.join(tmp, 'ds-admin.pw'),
    '--syncServerBindPasswordFile',
    path.join(tmp, 'sync.pw'),
    '--no-prompt',
    '--logFile',
    logFile,
    '-b',
    BASE,
    '--isSource',
    '--isDestination',
    '--changelogMaximumAge',
    '3d',
    ...extra,
  ];

  test('--dry-run on a fresh server: exit 0, LDIF masked, base tree, cn=config, plugin and root DSE unchanged', async () => {
    const before = await ds389State();
    assert.deepEqual(await ds389State(), before, 'the dumps are stable');
    const r = await run(dsArgs(['--dry-run']));
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(r.stdout.includes(`dn: ${SYNC_DN}\nchangetype: add\n`), describeRun(r));
    assert.match(r.stdout, /^userPassword: \*{8}$/m);
    assert.ok(!r.stdout.includes(SYNC_PASSWORD) && !r.stderr.includes(SYNC_PASSWORD));
    assert.match(
      r.stdout,
      new RegExp(
        `^dn: ${PLUGIN_DN}\nchangetype: modify\nreplace: nsslapd-pluginEnabled\nnsslapd-pluginEnabled: on\n-`,
        'mi',
      ),
    );
    assert.match(r.stdout, /acl "prepare-endpoint-server: sync source read"/);
    assert.match(r.stdout, /acl "prepare-endpoint-server: sync destination write"/);
    assert.deepEqual(await ds389State(), before, 'nothing changed');
  });

  test('--dry-run --json, then a real --json run: changed, and the change numbers are in the result', async () => {
    const before = await ds389State();
    const dry = await run(dsArgs(['--dry-run', '--json']));
    assert.equal(dry.code, 0, describeRun(dry));
    const planned = jsonOf(dry);
    assert.equal(planned.dryRun, true);
    assert.equal(planned.changed, false);
    assert.equal(planned.ldap.writes, 0);
    assert.match(planned.ldif ?? '', /^userPassword: \*{8}$/m);
    assert.equal(planned.server.type, '389ds');
    assert.deepEqual(await ds389State(), before);

    const r = await run(dsArgs(['--json']));
    assert.equal(r.code, 0, describeRun(r));
    assert.notDeepEqual(await ds389State(), before, 'a real run does show in the dumps');
    const result = jsonOf(r);
    assert.equal(result.changed, true);
    assert.ok(result.ldap.writes > 0);
    assert.ok(result.changeNumbers !== null, `change numbers reported: ${describeRun(r)}`);
    assert.match(result.changeNumbers.first, /^\d+$/);
    assert.match(result.changeNumbers.last, /^\d+$/);
    assert.equal(await canBind(dirsrv().url, SYNC_DN, SYNC_PASSWORD), true);

    const again = jsonOf(await run(dsArgs(['--json'])));
    assert.equal(again.changed, false);
    assert.equal(again.ldap.writes, 0);
  });
});
