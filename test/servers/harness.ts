// Shared by the throw-away server helpers (ds389.ts, openldap.ts, samba.ts, emulator.ts): free ports,
// the shell scripts' runner, cleanup of servers a test process leaves behind, and the start-with-port-retry
// loop of the scripts that take `up PORT DATADIR` / `down DATADIR [--purge]` (389ds.sh, slapd.sh).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ServerTls } from './tls.js';

const execFileP = promisify(execFile);

/** A port that was free on 127.0.0.1 a moment ago (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not get a free port'));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true if 127.0.0.1:port accepts a TCP connection (within 2 s). */
export function acceptsConnection(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Synchronous cleanups of servers not yet stopped, keyed by data directory or PID: run if the test process
 * exits without stop() (after a crash or a failed before()), since nothing asynchronous runs at exit.
 */
const exitCleanups = new Map<string, () => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cleanup of exitCleanups.values()) {
      try {
        cleanup();
      } catch {
        // best effort
      }
    }
    exitCleanups.clear();
  });
}

/** Runs `cleanup` at process exit unless forgetAtExit(key) comes first. */
export function cleanupAtExit(key: string, cleanup: () => void): void {
  installExitHook();
  exitCleanups.set(key, cleanup);
}

export function forgetAtExit(key: string): void {
  exitCleanups.delete(key);
}

/** At process exit, `script down dataDir --purge` unless forgetAtExit(dataDir) comes first. */
export function purgeAtExit(script: string, dataDir: string, downTimeoutMs: number): void {
  cleanupAtExit(dataDir, () => {
    execFileSync('bash', [script, 'down', dataDir, '--purge'], { stdio: 'ignore', timeout: downTimeoutMs });
  });
}

interface ExecError extends Error {
  code?: number | string;
  stdout?: string;
  stderr?: string;
}

/** `bash script ...args`; resolves to its stdout, or rejects with its stdout and stderr in the message. */
export async function runServerScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [script, ...args], {
      env,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 4 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as ExecError;
    const detail = [err.stdout, err.stderr]
      .filter((s) => s && s.trim() !== '')
      .join('\n')
      .trim();
    throw new Error(
      `${path.basename(script)} ${args.join(' ')} failed (${String(err.code ?? err.message)}):\n${detail}`,
      { cause: e },
    );
  }
}

/** A private directory for a server's data, from mkdtemp in the system temp directory. */
export async function makeDataDir(prefix: string, opts: { realpath?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return opts.realpath === true ? realpath(dir) : dir;
}

/** A script of the `up PORT DATADIR` / `down DATADIR [--purge]` kind, and how to drive it. */
export interface PortScriptSpec {
  script: string;
  /** For messages: "389 DS", "slapd". */
  name: string;
  /** Prefix of its TLS variables: PREFIX_TLS_CERT, _KEY, _CA and _PORT. */
  envPrefix: string;
  /** Data directory name prefix; the port is appended. */
  dataDirPrefix: string;
  /** Resolve the data directory's symlinks (when paths derived from it must match the script's pwd -P). */
  realpathDataDir?: boolean;
  /** The script's error when the port was taken between freePort() and the server's bind. */
  portInUse: RegExp;
  upTimeoutMs: number;
  downTimeoutMs: number;
}

export interface PortScriptServer {
  port: number;
  dataDir: string;
  /** With TLS: the LDAPS port. */
  ldapsPort?: number;
  /** Stop and start again (data kept); resolves once LDAP answers. */
  restart(): Promise<void>;
  /** Stop the server and delete its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `spec.script` on a free port in a new data directory. `baseEnv` is the scripts' environment; with
 * `tls`, a second free port for LDAPS and the PREFIX_TLS_* variables are added (and never inherited otherwise).
 */
export async function startPortScript(
  spec: PortScriptSpec,
  baseEnv: NodeJS.ProcessEnv,
  tls?: ServerTls,
): Promise<PortScriptServer> {
  const tlsNames = ['CERT', 'KEY', 'CA', 'PORT'].map((n) => `${spec.envPrefix}_TLS_${n}`);
  const plainEnv: NodeJS.ProcessEnv = { ...baseEnv };
  for (const name of tlsNames) delete plainEnv[name];
  const run = (args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> =>
    runServerScript(spec.script, args, env, timeoutMs);

  // The port can be taken between freePort() and the server's bind: retry a few times.
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    let ldapsPort: number | undefined;
    if (tls !== undefined) {
      do ldapsPort = await freePort();
      while (ldapsPort === port);
    }
    const env: NodeJS.ProcessEnv =
      tls === undefined || ldapsPort === undefined
        ? plainEnv
        : {
            ...plainEnv,
            [`${spec.envPrefix}_TLS_CERT`]: tls.cert,
            [`${spec.envPrefix}_TLS_KEY`]: tls.key,
            [`${spec.envPrefix}_TLS_CA`]: tls.ca,
            [`${spec.envPrefix}_TLS_PORT`]: String(ldapsPort),
          };
    const dataDir = await makeDataDir(`${spec.dataDirPrefix}-${port}-`, { realpath: spec.realpathDataDir === true });
    purgeAtExit(spec.script, dataDir, spec.downTimeoutMs);
    try {
      await run(['up', String(port), dataDir], env, spec.upTimeoutMs);
    } catch (e) {
      lastError = e;
      await run(['down', dataDir, '--purge'], env, spec.downTimeoutMs).catch(() =>
        rm(dataDir, { recursive: true, force: true }),
      );
      forgetAtExit(dataDir);
      if (e instanceof Error && spec.portInUse.test(e.message)) continue;
      throw e;
    }

    let stopped = false;
    return {
      port,
      dataDir,
      ...(ldapsPort === undefined ? {} : { ldapsPort }),
      async restart() {
        if (stopped) throw new Error(`${spec.name} on port ${port} was stopped; cannot restart it`);
        await run(['down', dataDir], env, spec.downTimeoutMs);
        await run(['up', String(port), dataDir], env, spec.upTimeoutMs);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await run(['down', dataDir, '--purge'], env, spec.downTimeoutMs);
        forgetAtExit(dataDir);
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error(`could not start ${spec.name}`);
}
