// A throw-away Samba AD domain controller for node:test integration tests, driven by test/servers/samba.sh.
//
//   let dc: SambaDc;
//   before(async () => { dc = await startSamba(); });
//   after(async () => { await dc?.stop(); });
//
// Samba's AD LDAP ports are fixed (389, 636): the DC needs root, and only one can run at a time, so every AD
// test lives in one file sharing one DC. `sambaSkipReason()` says why the tests cannot run (not root).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/cli.js';

const execFileP = promisify(execFile);

export const sambaScript: string = path.join(repoRoot, 'test', 'servers', 'samba.sh');

export interface SambaDc {
  host: '127.0.0.1';
  /** Plain LDAP (simple binds allowed: `ldap server require strong auth = no`). */
  port: 389;
  /** LDAPS with the DC's self-signed certificate. */
  sslPort: 636;
  url: 'ldap://127.0.0.1:389';
  dataDir: string;
  baseDn: 'DC=example,DC=com';
  adminDn: 'CN=Administrator,CN=Users,DC=example,DC=com';
  adminPassword: string;
  /** The CA Samba generated for its LDAPS certificate. */
  caFile: string;
  /** The descriptor of `dn` in SDDL, read from the DC's database by Samba's own Python bindings (not our codec). */
  sddl(dn: string): Promise<string>;
  /** Stop the DC and delete its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const UP_TIMEOUT_MS = 120_000;
const DOWN_TIMEOUT_MS = 60_000;

/** Why the Samba tests cannot run here, or undefined when they can. */
export function sambaSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'Samba AD DC listens on the fixed ports 389/636: run the tests as root';
  return undefined;
}

let live: string | undefined;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    if (live === undefined) return;
    try {
      execFileSync('bash', [sambaScript, 'down', live, '--purge'], { stdio: 'ignore', timeout: DOWN_TIMEOUT_MS });
    } catch {
      // best effort
    }
  });
}

async function runScript(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [sambaScript, ...args], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as Error & { code?: number | string; stdout?: string; stderr?: string };
    const detail = [err.stdout, err.stderr].filter((s) => s && s.trim() !== '').join('\n').trim();
    throw new Error(`samba.sh ${args.join(' ')} failed (${String(err.code ?? err.message)}):\n${detail}`, { cause: e });
  }
}

const SDDL_SCRIPT = `
import sys, ldb
from samba.samdb import SamDB
from samba.auth import system_session
from samba.param import LoadParm
from samba.ndr import ndr_unpack
from samba.dcerpc import security
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=sys.argv[2], session_info=system_session(), lp=lp)
r = db.search(base=sys.argv[3], scope=ldb.SCOPE_BASE, attrs=['nTSecurityDescriptor'], controls=['show_deleted:1'])
print(ndr_unpack(security.descriptor, r[0]['nTSecurityDescriptor'][0]).as_sddl())
`;

export async function startSamba(): Promise<SambaDc> {
  installExitHook();
  if (live !== undefined) throw new Error(`a Samba DC is already running from ${live}: only one can run`);
  const adminPassword = process.env.SAMBA_ADMIN_PASSWORD ?? 'Secret123!';
  const env: NodeJS.ProcessEnv = { ...process.env, SAMBA_ADMIN_PASSWORD: adminPassword };
  const dataDir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'pes-samba-')));
  live = dataDir;
  try {
    await runScript(['up', dataDir], env, UP_TIMEOUT_MS);
  } catch (e) {
    await runScript(['down', dataDir, '--purge'], env, DOWN_TIMEOUT_MS).catch(() => rm(dataDir, { recursive: true, force: true }));
    live = undefined;
    throw e;
  }
  let stopped = false;
  return {
    host: '127.0.0.1',
    port: 389,
    sslPort: 636,
    url: 'ldap://127.0.0.1:389',
    dataDir,
    baseDn: 'DC=example,DC=com',
    adminDn: 'CN=Administrator,CN=Users,DC=example,DC=com',
    adminPassword,
    caFile: path.join(dataDir, 'private', 'tls', 'ca.pem'),
    async sddl(dn: string): Promise<string> {
      // Debian's samba bindings belong to the system Python, whatever `python3` is first on PATH.
      const { stdout } = await execFileP('/usr/bin/python3', ['-c', SDDL_SCRIPT, path.join(dataDir, 'etc', 'smb.conf'), path.join(dataDir, 'private', 'sam.ldb'), dn], { timeout: 60_000 });
      return stdout.trim();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await runScript(['down', dataDir, '--purge'], env, DOWN_TIMEOUT_MS);
      live = undefined;
    },
  };
}
