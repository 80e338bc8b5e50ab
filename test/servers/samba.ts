// A throw-away Samba AD domain controller for node:test integration tests, driven by test/servers/samba.sh.
//
//   let dc: SambaDc;
//   before(async () => { dc = await startSamba(); });
//   after(async () => { await dc?.stop(); });
//
// Samba's AD LDAP ports are fixed (389, 636): the DC needs root, and only one can run at a time, so every AD
// test lives in one file sharing one DC. `sambaSkipReason()` says why the tests cannot run (not root).
// Two test runs on one machine (a CI run and a developer's) take turns: startSamba() waits for a machine-wide
// lock that its process holds until stop() or its own end.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/cli.js';
import { forgetAtExit, makeDataDir, purgeAtExit, runServerScript } from './harness.js';

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

/** The data directory of the DC now running (ports 389/636 allow only one). */
let running: string | undefined;

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

/** The lock that serializes Samba DCs across processes (not /tmp/samba-ad.lock, which a developer may hold around a whole run). */
const MACHINE_LOCK = '/tmp/pes-samba-ad.lock';
/** How long a second run waits for the first DC to go: a whole AD test file takes about two minutes. */
const LOCK_WAIT_SECONDS = 900;

/**
 * Takes the machine-wide lock: flock(1) holds it while its child `cat` reads this process's stdin pipe, so the
 * lock goes when it is released, and also when this process dies (the pipe closes, cat ends).
 */
async function takeMachineLock(): Promise<ChildProcess> {
  const holder = spawn(
    'flock',
    ['-w', String(LOCK_WAIT_SECONDS), MACHINE_LOCK, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('error', reject);
    holder.once('exit', (code) =>
      reject(new Error(`no Samba DC lock (${MACHINE_LOCK}) within ${LOCK_WAIT_SECONDS}s: exit ${code}`)),
    );
  });
  // The lock must not keep a test process alive on its own (a file that forgot stop() still ends).
  holder.unref();
  for (const stream of [holder.stdin, holder.stdout]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  return holder;
}

function releaseMachineLock(holder: ChildProcess): void {
  holder.stdin?.end();
  if (holder.pid !== undefined && holder.exitCode === null) holder.kill('SIGTERM');
}

export async function startSamba(): Promise<SambaDc> {
  if (running !== undefined) throw new Error(`a Samba DC is already running from ${running}: only one can run`);
  const lock = await takeMachineLock();
  const adminPassword = process.env.SAMBA_ADMIN_PASSWORD ?? 'Secret123!';
  const env: NodeJS.ProcessEnv = { ...process.env, SAMBA_ADMIN_PASSWORD: adminPassword };
  const dataDir = await makeDataDir('pes-samba-', { realpath: true });
  running = dataDir;
  purgeAtExit(sambaScript, dataDir, DOWN_TIMEOUT_MS);
  try {
    await runServerScript(sambaScript, ['up', dataDir], env, UP_TIMEOUT_MS);
  } catch (e) {
    await runServerScript(sambaScript, ['down', dataDir, '--purge'], env, DOWN_TIMEOUT_MS).catch(() =>
      rm(dataDir, { recursive: true, force: true }),
    );
    forgetAtExit(dataDir);
    running = undefined;
    releaseMachineLock(lock);
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
      const { stdout } = await execFileP(
        '/usr/bin/python3',
        ['-c', SDDL_SCRIPT, path.join(dataDir, 'etc', 'smb.conf'), path.join(dataDir, 'private', 'sam.ldb'), dn],
        { timeout: 60_000 },
      );
      return stdout.trim();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await runServerScript(sambaScript, ['down', dataDir, '--purge'], env, DOWN_TIMEOUT_MS);
      } finally {
        forgetAtExit(dataDir);
        running = undefined;
        releaseMachineLock(lock);
      }
    },
  };
}
