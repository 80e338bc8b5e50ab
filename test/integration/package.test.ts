// The npm package as a user gets it: `npm pack` in a copy of the checkout that has no dist/ (the prepack
// script must build it), `npm install -g` of the tarball into a temporary prefix, then the installed command,
// run on the Node running this test (test/run.sh runs the suite on each supported Node), as root (the user who
// installed it) and as `nobody`, for whom the install is read-only: --version, --help and a real preparation
// of a throw-away slapd, checked on the server. It also checks where each run's log went and that the compile
// cache (Node 22+) works from a read-only install.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import * as module from 'node:module';
import * as path from 'node:path';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { repoRoot } from '../helpers/cli.js';
import { canBind } from '../helpers/directory.js';
import { logLines, makeTempDir, secretFile, type LogLine } from '../helpers/fixture.js';
import { NOBODY } from '../helpers/matrix.js';
import { accessRulesFor } from '../helpers/slapd-state.js';

const BASE = 'dc=example,dc=com';
const VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
/** The installed command finds `node` on PATH through its #!/usr/bin/env node line: the Node of this test. */
const PATH = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
const hasCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function describeRan(r: Ran): string {
  return `exit ${String(r.code)}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Runs a command to its end (killed after timeoutMs); stdin is closed. */
function run(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? '/',
      env: opts.env ?? { ...process.env, PATH, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
      ...(opts.gid === undefined ? {} : { gid: opts.gid }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Only the variables a login shell of that user would have, plus `extra`. */
function userEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH, HOME: home, LANG: 'C.UTF-8', NO_COLOR: '1', ...extra };
}

let tmp = '';
let prefix = '';
let installed = '';
let command = '';
let tarball = '';
let s: Slapd;

before(async () => {
  tmp = makeTempDir('pes-package-');
  // Reachable by nobody (mkdtemp makes it 0700); what is private lives in folders of its own below.
  chmodSync(tmp, 0o755);
  // The sources as a fresh clone has them: no dist/, no logs, no caches. node_modules is the checkout's.
  const checkout = path.join(tmp, 'checkout');
  for (const entry of [
    'package.json',
    'package-lock.json',
    'README.md',
    'LICENSE',
    'tsconfig.json',
    'bin',
    'src',
    'scripts',
    path.join('logs', '.gitignore'),
  ]) {
    cpSync(path.join(repoRoot, entry), path.join(checkout, entry), { recursive: true });
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(checkout, 'node_modules'));
  const packed = await run('npm', ['pack', '--pack-destination', tmp, '--loglevel=warn'], {
    cwd: checkout,
    timeoutMs: 180_000,
  });
  assert.equal(packed.code, 0, `npm pack: ${describeRan(packed)}`);
  const tarballs = readdirSync(tmp).filter((name) => name.endsWith('.tgz'));
  assert.deepEqual(tarballs, [`prepare-endpoint-server-${VERSION}.tgz`], describeRan(packed));
  tarball = path.join(tmp, tarballs[0]!);

  prefix = path.join(tmp, 'prefix');
  // --prefer-offline: the dependencies are in npm's cache after `npm ci`; the registry is asked only for what is not.
  const install = await run(
    'npm',
    ['install', '-g', tarball, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'],
    { cwd: tmp, timeoutMs: 180_000 },
  );
  assert.equal(install.code, 0, `npm install -g: ${describeRan(install)}`);
  installed = path.join(prefix, 'lib', 'node_modules', 'prepare-endpoint-server');
  command = path.join(prefix, 'bin', 'prepare-endpoint-server');
  s = await startSlapd();
});

after(async () => {
  await s?.stop();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

/** The arguments of a destination preparation of the throw-away slapd for sync user `syncDn`. */
function prepareArgs(syncDn: string, adminFile: string, syncFile: string, extra: string[] = []): string[] {
  return [
    '-h',
    s.host,
    '-p',
    String(s.port),
    '-D',
    s.adminDn,
    '--bindPasswordFile',
    adminFile,
    '--syncServerBindPasswordFile',
    syncFile,
    '--syncServerBindDN',
    syncDn,
    '-b',
    BASE,
    '--isDestination',
    '--no-prompt',
    ...extra,
  ];
}

/** The preparation was made on the server: the account binds and it has its olcAccess rule. */
async function assertPrepared(syncDn: string, password: string): Promise<void> {
  assert.equal(await canBind(s.url, syncDn, password), true, `${syncDn} binds with its password`);
  const rules = await accessRulesFor(s, syncDn);
  assert.equal(rules.length, 1, `one olcAccess rule names ${syncDn}: ${JSON.stringify(rules)}`);
  assert.match(rules[0]!, / write /);
}

function lastEnd(lines: LogLine[]): LogLine | undefined {
  return lines.filter((line) => line.event === 'end').at(-1);
}

describe('npm package: packed, installed globally into a temporary prefix, run from there', () => {
  test('the tarball holds the built command, the README and the licence, and nothing of the development tree', () => {
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const files = listing.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replace(/^package\//, ''));
    for (const wanted of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/prepare-endpoint-server',
      'dist/src/cli/main.js',
      'dist/src/cli/compile-cache.js',
    ]) {
      assert.ok(files.includes(wanted), `${wanted} is in the tarball: ${files.join(' ')}`);
    }
    assert.ok(
      files.some((file) => file.startsWith('dist/src/cli/chunks/')),
      'the bundle chunks are in the tarball',
    );
    for (const file of files) {
      assert.doesNotMatch(
        file,
        /^(src|test|scripts|bench|node_modules|\.cache|dist\/test)\/|^\.npmrc$|\.ts$|\.log$/,
        `${file} has no place in the package`,
      );
    }
  });

  test('installed with its runtime dependencies only: no TypeScript, esbuild, test tools or type packages', () => {
    const dependencies = path.join(installed, 'node_modules');
    const names = existsSync(dependencies) ? readdirSync(dependencies) : [];
    for (const dev of ['typescript', 'esbuild', 'fast-check', '@types', '@esbuild']) {
      assert.ok(!names.includes(dev), `${dev} is not installed with the package (${names.join(' ')})`);
    }
    assert.ok(existsSync(command), `${command} is linked by npm`);
  });

  test('as root (who installed it): --version, --help, and a real preparation logged in the tool folder', async () => {
    const home = path.join(tmp, 'root-home');
    mkdirSync(home, { mode: 0o700 });
    const version = await run(command, ['--version'], { env: userEnv(home) });
    assert.equal(version.code, 0, describeRan(version));
    assert.equal(version.stdout, `${VERSION}\n`);
    const help = await run(command, ['--help'], { env: userEnv(home) });
    assert.equal(help.code, 0, describeRan(help));
    assert.match(help.stdout, /^Usage: prepare-endpoint-server \[options\]/);
    assert.match(help.stdout, /--syncServerBindDN/);

    const secrets = path.join(tmp, 'root-secrets');
    mkdirSync(secrets, { mode: 0o700 });
    const syncDn = `cn=Packaged Root Sync,${BASE}`;
    const syncPassword = `Sync-${randomUUID()}`;
    const r = await run(
      command,
      prepareArgs(
        syncDn,
        secretFile(secrets, 'admin.pw', s.adminPassword),
        secretFile(secrets, 'sync.pw', syncPassword),
      ),
      { env: userEnv(home) },
    );
    assert.equal(r.code, 0, describeRan(r));
    assert.doesNotMatch(r.stderr, /^Log: /m, 'the tool folder is writable: nothing to say about the log');
    await assertPrepared(syncDn, syncPassword);

    const log = path.join(installed, 'logs', 'prepare-endpoint-server.log');
    assert.equal(lastEnd(logLines(log))?.exitCode, 0, `the run is logged in ${log}`);
    assert.equal(statSync(log).mode & 0o777, 0o600);
    const cache = path.join(home, '.cache', 'prepare-endpoint-server', 'compile-cache');
    assert.equal(
      existsSync(cache) && readdirSync(cache).length > 0,
      hasCompileCache,
      hasCompileCache
        ? `Node ${process.version} keeps its compile cache in ${cache}`
        : `Node ${process.version} has no compile cache: nothing in ${cache}`,
    );
  });

  test('as nobody, for whom the install is read-only: a real preparation, the log in the XDG state folder (said once), --logFile wins', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('only root can run a command as nobody');
      return;
    }
    if (spawnSync(process.execPath, ['-e', '0'], { ...NOBODY, stdio: 'ignore', timeout: 10_000 }).status !== 0) {
      t.skip(
        `nobody cannot run ${process.execPath} (it lies in a folder private to root, such as a checkout in a 0700 folder)`,
      );
      return;
    }
    const home = path.join(tmp, 'nobody-home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, NOBODY.uid, NOBODY.gid);
    const secrets = path.join(home, 'secrets');
    mkdirSync(secrets, { mode: 0o700 });
    const adminFile = secretFile(secrets, 'admin.pw', s.adminPassword);
    const syncPassword = `Sync-${randomUUID()}`;
    const syncFile = secretFile(secrets, 'sync.pw', syncPassword);
    for (const file of [secrets, adminFile, syncFile]) chownSync(file, NOBODY.uid, NOBODY.gid);
    const asNobody = (args: string[], env: NodeJS.ProcessEnv): Promise<Ran> =>
      run(command, args, { ...NOBODY, env, cwd: home });

    const version = await asNobody(['--version'], userEnv(home));
    assert.equal(version.code, 0, describeRan(version));
    assert.equal(version.stdout, `${VERSION}\n`);

    // Default log: the tool folder is root's, so the run logs to ~/.local/state/prepare-endpoint-server/ and says so once.
    const syncDn = `cn=Packaged Nobody Sync,${BASE}`;
    const r = await asNobody(prepareArgs(syncDn, adminFile, syncFile), userEnv(home));
    assert.equal(r.code, 0, describeRan(r));
    await assertPrepared(syncDn, syncPassword);
    const stateLog = path.join(home, '.local', 'state', 'prepare-endpoint-server', 'prepare-endpoint-server.log');
    const notices = `${r.stdout}${r.stderr}`.split('\n').filter((line) => line.includes(stateLog));
    assert.equal(notices.length, 1, `the run names its log once: ${describeRan(r)}`);
    assert.match(
      notices[0]!,
      /^Log: this run is logged to .*, because .*logs\/prepare-endpoint-server\.log cannot be written \(EACCES\)$/,
    );
    assert.doesNotMatch(r.stderr, /Warning: cannot write the log file/);
    assert.equal(lastEnd(logLines(stateLog))?.exitCode, 0);
    assert.equal(statSync(stateLog).uid, NOBODY.uid);
    assert.equal(statSync(stateLog).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(stateLog)).mode & 0o777, 0o700);
    // The compile cache works from a read-only install: it lives in the user's cache folder.
    const cache = path.join(home, '.cache', 'prepare-endpoint-server', 'compile-cache');
    assert.equal(
      existsSync(cache) && readdirSync(cache).length > 0,
      hasCompileCache,
      `compile cache in ${cache} on Node ${process.version}`,
    );

    // $XDG_STATE_HOME is honoured; a second run (nothing to change) logs there too.
    const xdg = path.join(home, 'state');
    const again = await asNobody(prepareArgs(syncDn, adminFile, syncFile), userEnv(home, { XDG_STATE_HOME: xdg }));
    assert.equal(again.code, 0, describeRan(again));
    const xdgLog = path.join(xdg, 'prepare-endpoint-server', 'prepare-endpoint-server.log');
    assert.match(
      again.stderr,
      new RegExp(`^Log: this run is logged to ${xdgLog.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, `, 'm'),
      describeRan(again),
    );
    assert.equal(lastEnd(logLines(xdgLog))?.exitCode, 0);

    // --logFile wins: no move, nothing said.
    const chosen = path.join(home, 'chosen.log');
    const explicit = await asNobody(prepareArgs(syncDn, adminFile, syncFile, ['--logFile', chosen]), userEnv(home));
    assert.equal(explicit.code, 0, describeRan(explicit));
    assert.doesNotMatch(explicit.stderr, /^Log: /m, describeRan(explicit));
    assert.equal(lastEnd(logLines(chosen))?.exitCode, 0);

    // No writable home and no writable temporary folder: no log and no compile cache, one warning, still prepared.
    const closed = path.join(tmp, 'closed');
    mkdirSync(closed, { mode: 0o755 });
    const homeless = await asNobody(
      prepareArgs(syncDn, adminFile, syncFile),
      userEnv('/nonexistent', { TMPDIR: closed }),
    );
    assert.equal(homeless.code, 0, describeRan(homeless));
    assert.match(
      homeless.stderr,
      /^Warning: cannot write the log file .*logs\/prepare-endpoint-server\.log \(EACCES\) nor \/nonexistent\/\.local\/state\/prepare-endpoint-server\/prepare-endpoint-server\.log \(EACCES\); the run goes on without it$/m,
      describeRan(homeless),
    );
    assert.deepEqual(readdirSync(closed), [], 'nothing written in the temporary folder');
  });
});
