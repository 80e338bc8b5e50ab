// Throw-away 389 Directory Server for node:test integration tests, driven by
// test/servers/389ds.sh. Typical use:
//
//   let ds: Ds389;
//   before(async () => { ds = await startDs389(); });
//   after(async () => { await ds?.stop(); });
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/cli.js';
import type { ServerTls } from './tls.js';

const execFileP = promisify(execFile);

export const ds389Script: string = path.join(repoRoot, 'test', 'servers', '389ds.sh');

export interface Ds389Options {
  /** nsslapd-dynamic-plugins: on (plugin enable/disable takes effect without restart). */
  dynamicPlugins?: boolean;
  /**
   * Opt-in TLS: the certificate and key go into the instance's NSS database, the CA is trusted, and LDAPS
   * listens on a second port (127.0.0.1); StartTLS then works on `port` too. Set at creation, kept on restart.
   */
  tls?: ServerTls;
}

export interface Ds389 {
  host: '127.0.0.1';
  port: number;
  url: string;
  dataDir: string;
  adminDn: 'cn=Directory Manager';
  adminPassword: string;
  /** With `tls`: the LDAPS port and URL. */
  ldapsPort?: number;
  ldapsUrl?: string;
  /** Stop and start again (data kept); resolves once LDAP answers. */
  restart(): Promise<void>;
  /** Stop the server and delete its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const UP_TIMEOUT_MS = 120_000;
const DOWN_TIMEOUT_MS = 90_000;

/** Instances not yet stopped: purged synchronously if the process exits without stop(). */
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dir of live) {
      try {
        execFileSync('bash', [ds389Script, 'down', dir, '--purge'], { stdio: 'ignore', timeout: DOWN_TIMEOUT_MS });
      } catch {
        // best effort
      }
    }
    live.clear();
  });
}

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

interface ExecError extends Error {
  code?: number | string;
  stdout?: string;
  stderr?: string;
}

async function runScript(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [ds389Script, ...args], {
      env,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 4 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as ExecError;
    const detail = [err.stdout, err.stderr].filter((s) => s && s.trim() !== '').join('\n').trim();
    throw new Error(`389ds.sh ${args.join(' ')} failed (${String(err.code ?? err.message)}):\n${detail}`, { cause: e });
  }
}

export async function startDs389(opts: Ds389Options = {}): Promise<Ds389> {
  installExitHook();
  const adminPassword = process.env.DS_DM_PASSWORD ?? 'Secret123!';
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DS_DM_PASSWORD: adminPassword,
    DS_DYNAMIC_PLUGINS: opts.dynamicPlugins ? '1' : '0',
  };
  for (const name of ['DS_TLS_CERT', 'DS_TLS_KEY', 'DS_TLS_CA', 'DS_TLS_PORT']) delete baseEnv[name];

  // The port can be taken between freePort() and the server's bind: retry a few times.
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    let ldapsPort: number | undefined;
    if (opts.tls !== undefined) {
      do ldapsPort = await freePort();
      while (ldapsPort === port);
    }
    const env: NodeJS.ProcessEnv = opts.tls === undefined || ldapsPort === undefined ? baseEnv : {
      ...baseEnv,
      DS_TLS_CERT: opts.tls.cert,
      DS_TLS_KEY: opts.tls.key,
      DS_TLS_CA: opts.tls.ca,
      DS_TLS_PORT: String(ldapsPort),
    };
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `pes-389ds-${port}-`));
    live.add(dataDir);
    try {
      await runScript(['up', String(port), dataDir], env, UP_TIMEOUT_MS);
    } catch (e) {
      lastError = e;
      await runScript(['down', dataDir, '--purge'], env, DOWN_TIMEOUT_MS).catch(() =>
        rm(dataDir, { recursive: true, force: true }),
      );
      live.delete(dataDir);
      if (e instanceof Error && /already listens|Address already in use|Can't bind/i.test(e.message)) continue;
      throw e;
    }

    let stopped = false;
    const ds: Ds389 = {
      host: '127.0.0.1',
      port,
      url: `ldap://127.0.0.1:${port}`,
      dataDir,
      adminDn: 'cn=Directory Manager',
      adminPassword,
      ...(ldapsPort === undefined ? {} : { ldapsPort, ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}` }),
      async restart() {
        if (stopped) throw new Error(`389 DS on port ${port} was stopped; cannot restart it`);
        await runScript(['down', dataDir], env, DOWN_TIMEOUT_MS);
        await runScript(['up', String(port), dataDir], env, UP_TIMEOUT_MS);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await runScript(['down', dataDir, '--purge'], env, DOWN_TIMEOUT_MS);
        live.delete(dataDir);
      },
    };
    return ds;
  }
  throw lastError instanceof Error ? lastError : new Error('could not start 389 DS');
}
