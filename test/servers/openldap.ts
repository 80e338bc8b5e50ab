// Throw-away OpenLDAP slapd for node:test integration tests, driven by
// test/servers/slapd.sh. Typical use:
//
//   let slapd: Slapd;
//   before(async () => { slapd = await startSlapd(); });
//   after(async () => { await slapd?.stop(); });
//
// Accounts (all with adminPassword):
//   adminDn        cn=admin,dc=example,dc=com   rootdn of dc=example,dc=com and
//                                               "manage" on cn=config
//   configAdminDn  cn=admin,cn=config           rootdn of cn=config
//   limitedDn      cn=limited,dc=example,dc=com may write dc=example,dc=com,
//                                               no rights on cn=config
// olcAccess of olcDatabase={1}mdb,cn=config at creation (third-party rules that
// tests can check are left intact):
//   {0}to * by dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" manage by * break
//      (uid/gid of the user running the tests)
//   {1}to * by dn.exact="cn=limited,dc=example,dc=com" write by * break
//   {2}to attrs=userPassword by self write by anonymous auth by * none
//   {3}to * by * read
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/cli.js';
import { freePort } from './ds389.js';
import type { ServerTls } from './tls.js';

const execFileP = promisify(execFile);

export const slapdScript: string = path.join(repoRoot, 'test', 'servers', 'slapd.sh');

export interface Slapd {
  host: '127.0.0.1';
  port: number;
  url: string;
  dataDir: string;
  adminDn: 'cn=admin,dc=example,dc=com';
  /** Password of adminDn, configAdminDn and limitedDn. */
  adminPassword: string;
  configAdminDn: 'cn=admin,cn=config';
  limitedDn: 'cn=limited,dc=example,dc=com';
  /** Existing empty directory (mode 700) for an accesslog database (slapd cannot create one). */
  accesslogDirectory: string;
  /** ldapi:// URL of the server's socket; root gets "manage" everywhere through SASL EXTERNAL. */
  ldapiUrl: string;
  /** With `tls`: the LDAPS port (127.0.0.1) and URL; StartTLS then works on `port` too. */
  ldapsPort?: number;
  ldapsUrl?: string;
  /** Stop and start again (data and cn=config kept); resolves once LDAP answers. */
  restart(): Promise<void>;
  /** Stop the server and delete its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const UP_TIMEOUT_MS = 60_000;
const DOWN_TIMEOUT_MS = 60_000;

/** Instances not yet stopped: purged synchronously if the process exits without stop(). */
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dir of live) {
      try {
        execFileSync('bash', [slapdScript, 'down', dir, '--purge'], { stdio: 'ignore', timeout: DOWN_TIMEOUT_MS });
      } catch {
        // best effort
      }
    }
    live.clear();
  });
}

interface ExecError extends Error {
  code?: number | string;
  stdout?: string;
  stderr?: string;
}

async function runScript(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [slapdScript, ...args], {
      env,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 4 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as ExecError;
    const detail = [err.stdout, err.stderr].filter((s) => s && s.trim() !== '').join('\n').trim();
    throw new Error(`slapd.sh ${args.join(' ')} failed (${String(err.code ?? err.message)}):\n${detail}`, { cause: e });
  }
}

/** ldapi URL as slapd.sh builds it: the socket path with every '/' as %2F. */
function ldapiUrlFor(dataDir: string): string {
  return `ldapi://${encodeURIComponent(path.join(dataDir, 'run', 'ldapi'))}`;
}

export interface SlapdOptions {
  /** Opt-in TLS: certificate, key and CA for olcTLS*, an ldaps:// listener on a second port, StartTLS on the first. */
  tls?: ServerTls;
}

export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  installExitHook();
  const adminPassword = process.env.SLAPD_ADMIN_PASSWORD ?? 'Secret123!';
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, SLAPD_ADMIN_PASSWORD: adminPassword };
  for (const name of ['SLAPD_TLS_CERT', 'SLAPD_TLS_KEY', 'SLAPD_TLS_CA', 'SLAPD_TLS_PORT']) delete baseEnv[name];

  // The port can be taken between freePort() and slapd's bind: retry a few times.
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
      SLAPD_TLS_CERT: opts.tls.cert,
      SLAPD_TLS_KEY: opts.tls.key,
      SLAPD_TLS_CA: opts.tls.ca,
      SLAPD_TLS_PORT: String(ldapsPort),
    };
    // realpath: the script resolves DATADIR with pwd -P, and the ldapi URL is derived from it
    const dataDir = await realpath(await mkdtemp(path.join(os.tmpdir(), `pes-slapd-${port}-`)));
    live.add(dataDir);
    try {
      await runScript(['up', String(port), dataDir], env, UP_TIMEOUT_MS);
    } catch (e) {
      lastError = e;
      await runScript(['down', dataDir, '--purge'], env, DOWN_TIMEOUT_MS).catch(() =>
        rm(dataDir, { recursive: true, force: true }),
      );
      live.delete(dataDir);
      if (e instanceof Error && /already listens|Address already in use/i.test(e.message)) continue;
      throw e;
    }

    let stopped = false;
    const slapd: Slapd = {
      host: '127.0.0.1',
      port,
      url: `ldap://127.0.0.1:${port}`,
      dataDir,
      adminDn: 'cn=admin,dc=example,dc=com',
      adminPassword,
      configAdminDn: 'cn=admin,cn=config',
      limitedDn: 'cn=limited,dc=example,dc=com',
      accesslogDirectory: path.join(dataDir, 'accesslog'),
      ldapiUrl: ldapiUrlFor(dataDir),
      ...(ldapsPort === undefined ? {} : { ldapsPort, ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}` }),
      async restart() {
        if (stopped) throw new Error(`slapd on port ${port} was stopped; cannot restart it`);
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
    return slapd;
  }
  throw lastError instanceof Error ? lastError : new Error('could not start slapd');
}
