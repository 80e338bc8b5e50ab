// Shared by the fault-matrix tests (test/integration/matrix-*.test.ts): sentinel passwords, a CLI spawner
// that keeps the child (for signals), and checks every run's output for the sentinels as it ends.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { cliPath, repoRoot, type RunCliResult } from './cli.js';
import { startSlapd, type Slapd } from '../servers/openldap.js';
import { connectionArgs, describeRun, fileSize, makeTempDir, secretFile, type CliConnection } from './fixture.js';

export { describeRun, fileSize, logLines, secretFile, type LogLine } from './fixture.js';

/** Every password of the matrix: none may ever appear in anything the tool prints or writes. */
export const SENTINEL_ADMIN = `Sentinel-Admin-${randomUUID()}`;
export const SENTINEL_SYNC = `Sentinel-Sync-${randomUUID()}`;
export const SENTINEL_OTHER = `Sentinel-Other-${randomUUID()}`;
export const SENTINELS: readonly string[] = [SENTINEL_ADMIN, SENTINEL_SYNC, SENTINEL_OTHER];

// The throw-away servers take their admin password from these (read when a server starts).
process.env.SLAPD_ADMIN_PASSWORD = SENTINEL_ADMIN;
process.env.DS_DM_PASSWORD = SENTINEL_ADMIN;

/** The default log in the tool folder: matrix runs all pass --logFile, so nothing may land there. */
export const REPO_LOG = path.join(repoRoot, 'logs', 'prepare-endpoint-server.log');

export interface SpawnOptions {
  /** Text for stdin, then closed; 'closed' (default) closes it at once; 'open' leaves the pipe open. */
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  uid?: number;
  gid?: number;
  /** Run through `script` so the CLI gets a terminal (stdin and stdout are a pty). */
  tty?: boolean;
  /** A file opened as the child's stdin instead of a pipe (such as /dev/zero). */
  stdinFrom?: string;
  /** Close the read end of the child's stdout after this many bytes, as `| head -c N` does (0: at once). */
  closeStdoutAfter?: number;
  /** Close the read end of the child's stderr at once (a reader that went away). */
  closeStderr?: boolean;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly result: Promise<RunCliResult & { ms: number }>;
  /** Resolves when stdout+stderr contain `pattern`. */
  output(pattern: RegExp): Promise<void>;
}

/** A matrix file's private folder: its run log, the admin and sync sentinel passwords in files. */
export interface MatrixFiles {
  tmp: string;
  logFile: string;
  adminFile: string;
  syncFile: string;
  /** Where the tool folder's log ends before the file's runs: the closing check reads only what follows. */
  repoLogOffset: number;
}

/** `logName` is relative to the new folder (a subfolder is created by the tool, not here). */
export function makeMatrixFiles(prefix: string, logName = 'run.log'): MatrixFiles {
  const tmp = makeTempDir(prefix);
  return {
    tmp,
    logFile: path.join(tmp, logName),
    adminFile: secretFile(tmp, 'admin.pw', SENTINEL_ADMIN),
    syncFile: secretFile(tmp, 'sync.pw', SENTINEL_SYNC),
    repoLogOffset: fileSize(REPO_LOG),
  };
}

export function removeMatrixFiles(tmp: string): void {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
}

/** The server a run connects to: -h, -p and -D. */
export interface MatrixServer {
  host: string;
  port: number;
  adminDn: string;
}

/** A matrix file's files, made before its tests and removed after them. */
export interface MatrixRun extends MatrixFiles {
  /** connectionArgs for `server` with these files (each replaceable by `overrides`), then `extra`. */
  args(server: MatrixServer, extra: readonly string[], overrides?: Partial<CliConnection>): string[];
}

function matrixRun(): MatrixRun {
  const run: MatrixRun = {
    tmp: '',
    logFile: '',
    adminFile: '',
    syncFile: '',
    repoLogOffset: 0,
    args: (server, extra, overrides = {}) =>
      connectionArgs(
        {
          host: server.host,
          port: server.port,
          bindDn: server.adminDn,
          adminPasswordFile: run.adminFile,
          syncPasswordFile: run.syncFile,
          logFile: run.logFile,
          ...overrides,
        },
        extra,
      ),
  };
  return run;
}

/** The matrix files of a test file that starts its servers itself: makeMatrixFiles in before(), removed in after(). */
export function useMatrixFiles(prefix: string, logName?: string): MatrixRun {
  const run = matrixRun();
  before(() => {
    Object.assign(run, makeMatrixFiles(prefix, logName));
  });
  after(() => {
    removeMatrixFiles(run.tmp);
  });
  return run;
}

/** Files of a run against the matrix's slapd, each in place of the matrix's own. */
export interface SlapdRunFiles {
  bindDn?: string;
  adminFile?: string;
  syncFile?: string;
  logFile?: string;
}

export interface SlapdMatrix extends MatrixRun {
  readonly server: Slapd;
  /** `args` against `server`, with the matrix's files unless `opts` names others. */
  readonly serverArgs: (extra: readonly string[], opts?: SlapdRunFiles) => string[];
}

/** The matrix files and a throw-away slapd (`server`), made in before() and stopped and removed in after(). */
export function useSlapdMatrix(prefix: string, logName?: string): SlapdMatrix {
  const run: SlapdMatrix & { server: Slapd } = Object.assign(matrixRun(), {
    server: undefined as unknown as Slapd,
    serverArgs: (extra: readonly string[], opts: SlapdRunFiles = {}): string[] =>
      run.args(run.server, extra, {
        bindDn: opts.bindDn ?? run.server.adminDn,
        adminPasswordFile: opts.adminFile ?? run.adminFile,
        syncPasswordFile: opts.syncFile ?? run.syncFile,
        logFile: opts.logFile ?? run.logFile,
      }),
  });
  before(async () => {
    Object.assign(run, makeMatrixFiles(prefix, logName));
    run.server = await startSlapd();
  });
  after(async () => {
    await (run.server as Slapd | undefined)?.stop();
    removeMatrixFiles(run.tmp);
  });
  return run;
}

/** Every run of the matrix, for the closing secrets check of each file. */
export const recorded: RunCliResult[] = [];

export function assertNoSentinel(text: string, where: string): void {
  for (const secret of SENTINELS) assert.ok(!text.includes(secret), `a sentinel password is in ${where}`);
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function spawnCli(args: string[], opts: SpawnOptions = {}): Spawned {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
  if (opts.env?.FORCE_COLOR === undefined) delete env.FORCE_COLOR;
  // The servers' admin password is in our environment for the server scripts: the CLI must not see it.
  delete env.SLAPD_ADMIN_PASSWORD;
  delete env.DS_DM_PASSWORD;
  const command =
    opts.tty === true
      ? { file: 'script', args: ['-qefc', [process.execPath, cliPath, ...args].map(shellQuote).join(' '), '/dev/null'] }
      : { file: process.execPath, args: [cliPath, ...args] };
  const started = Date.now();
  const stdinFd = opts.stdinFrom === undefined ? undefined : openSync(opts.stdinFrom, 'r');
  const child = spawn(command.file, command.args, {
    cwd: repoRoot,
    env,
    stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'],
    ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    ...(opts.gid === undefined ? {} : { gid: opts.gid }),
  });
  if (stdinFd !== undefined) closeSync(stdinFd);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    const text = Buffer.concat([...out, ...err]).toString('utf8');
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  let stdoutBytes = 0;
  child.stdout!.on('data', (b: Buffer) => {
    const limit = opts.closeStdoutAfter;
    if (limit !== undefined) {
      if (stdoutBytes >= limit) return;
      out.push(b.subarray(0, limit - stdoutBytes));
      stdoutBytes += b.length;
      if (stdoutBytes >= limit) child.stdout!.destroy();
    } else {
      out.push(b);
    }
    check();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err.push(b);
    check();
  });
  if (opts.closeStdoutAfter === 0) child.stdout!.destroy();
  if (opts.closeStderr === true) child.stderr!.destroy();
  child.stdin?.on('error', () => undefined);
  const stdin = opts.stdin ?? 'closed';
  if (child.stdin !== null) {
    if (stdin === 'closed') child.stdin.end();
    else if (stdin !== 'open') child.stdin.end(stdin);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 60_000);
  const result = new Promise<RunCliResult & { ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r = {
        code,
        signal,
        timedOut,
        ms: Date.now() - started,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      recorded.push(r);
      // Every row: no sentinel in what the run printed.
      assertNoSentinel(r.stdout, `stdout of: ${args.join(' ')}`);
      assertNoSentinel(r.stderr, `stderr of: ${args.join(' ')}`);
      resolve(r);
    });
  });
  return {
    child,
    result,
    output: (pattern) =>
      new Promise<void>((resolve) => {
        waiters.push({ pattern, resolve });
        check();
      }),
  };
}

export async function runCli(args: string[], opts: SpawnOptions = {}): Promise<RunCliResult & { ms: number }> {
  return spawnCli(args, opts).result;
}

/** stderr is exactly one non-empty line (no stack trace, no repeated message); returns it. */
export function oneLine(text: string, r: RunCliResult): string {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, describeRun(r));
  return lines[0]!;
}

/** The closing check of a matrix file: no sentinel in any run's output, in the given logs, or the tool folder's log. */
export function assertNoSecretsAnywhere(files: readonly string[], repoLogOffset: number, minimumRuns: number): void {
  assert.ok(recorded.length >= minimumRuns, `all runs were recorded: ${recorded.length}`);
  recorded.forEach((r, i) => {
    assertNoSentinel(r.stdout, `stdout of run ${i}`);
    assertNoSentinel(r.stderr, `stderr of run ${i}`);
  });
  for (const file of files) {
    if (existsSync(file)) assertNoSentinel(readFileSync(file, 'utf8'), file);
  }
  if (existsSync(REPO_LOG)) assertNoSentinel(readFileSync(REPO_LOG).subarray(repoLogOffset).toString('utf8'), REPO_LOG);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The unprivileged account the permission rows run the CLI as (root reads and writes anything). */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/**
 * Whether `nobody` can run the CLI where this checkout lies: a clone inside a private folder (mktemp -d is
 * 0700) cannot be reached by another user, and the permission rows then say so instead of failing.
 */
export function cliRunnableByNobody(): boolean {
  const probe = spawnSync(process.execPath, [cliPath, '--version'], { ...NOBODY, stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0;
}

export const NOBODY_UNREACHABLE =
  'the checkout is not readable by nobody (a parent folder is private), so this permission case cannot run here';

/**
 * The process running the CLI under `pid` (itself, or a descendant such as the node process `script` starts
 * for a terminal run): signals for a tty run must reach node, not `script`.
 */
export function cliProcess(pid: number): number | undefined {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    try {
      if (readFileSync(`/proc/${next}/cmdline`, 'utf8').split('\0').includes(cliPath)) return next;
    } catch {
      // gone meanwhile
    }
    queue.push(...(children.get(next) ?? []));
  }
  return undefined;
}

/**
 * Resolves once `ready()` holds, checked every 20 ms: a state the CLI shows from outside, so that a signal is
 * sent at that point of the run whatever the machine's load (never after a guessed sleep). Fails after
 * `deadlineMs`, naming `what`.
 */
export async function until(what: string, ready: () => boolean, deadlineMs = 30_000): Promise<void> {
  const giveUp = Date.now() + deadlineMs;
  while (!ready()) {
    if (Date.now() > giveUp) assert.fail(`the CLI never got to: ${what}`);
    await sleep(20);
  }
}

/**
 * True once the CLI of `spawned` reads its stdin: fd 0 is in one of its epoll sets (Node watches it only once a
 * read starts, after main() installed its signal handlers).
 */
export function readsStdin(spawned: Spawned): boolean {
  const pid = cliProcess(spawned.child.pid!);
  if (pid === undefined) return false;
  try {
    return readdirSync(`/proc/${pid}/fdinfo`).some((fd) => {
      try {
        return /^tfd:\s+0\s/m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** TCP connections to 127.0.0.1:`port` still waiting for the server's SYN-ACK (SYN_SENT), on this machine. */
export function connectingTo(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const [, , remote, state] = line.trim().split(/\s+/);
      return remote?.endsWith(hex) === true && state === '02';
    }).length;
}

/** Sends `signal` to the CLI process of `spawned` and resolves with its result and the time it took to exit. */
export async function signalAndWait(
  spawned: Spawned,
  signal: NodeJS.Signals,
): Promise<RunCliResult & { ms: number; exitMs: number }> {
  const pid = cliProcess(spawned.child.pid!);
  assert.ok(pid !== undefined, 'the CLI process is running');
  const sentAt = Date.now();
  process.kill(pid, signal);
  const r = await spawned.result;
  return { ...r, exitMs: Date.now() - sentAt };
}
