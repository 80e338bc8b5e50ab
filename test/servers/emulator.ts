// Shared by the emulator starters (pingdirectory.ts, opendj.ts): spawn an emulator's main.js with an admin
// password file in a fresh temporary directory, wait for the port it announces on its first stdout line and for
// an answer on the root DSE, and stop it by its PID (SIGTERM, then SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { readEntry } from '../helpers/directory.js';
import { cleanupAtExit, forgetAtExit } from './harness.js';

/** What every emulator started here has: a port on 127.0.0.1 and an admin password; stop() is safe twice. */
export interface EmulatorProcess {
  host: '127.0.0.1';
  port: number;
  url: string;
  pid: number;
  adminPassword: string;
  /** Stop the process (SIGTERM, then SIGKILL) by its PID. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EmulatorLaunch {
  /** The built main.js of the emulator. */
  main: string;
  /** Its arguments after `--port 0 --admin-password-file FILE`. */
  args: string[];
  /** Prefix of the temporary directory that holds the password file. */
  tmpPrefix: string;
  /** Its name in the error thrown when it cannot be spawned. */
  name: string;
}

const UP_TIMEOUT_MS = 15_000;
const DOWN_TIMEOUT_MS = 5_000;

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`the emulator did not start within ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${String(code)}) before listening: ${err}`));
    });
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startEmulatorProcess(launch: EmulatorLaunch): Promise<EmulatorProcess> {
  const adminPassword = 'adminpw';
  const dir = await mkdtemp(path.join(os.tmpdir(), launch.tmpPrefix));
  const passwordFile = path.join(dir, 'admin.pw');
  await writeFile(passwordFile, `${adminPassword}\n`);
  await chmod(passwordFile, 0o600);

  const args = [launch.main, '--port', '0', '--admin-password-file', passwordFile, ...launch.args];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn the ${launch.name}`);
  const exitKey = `pid:${pid}`;
  // killed at exit if the test process ends without stop()
  cleanupAtExit(exitKey, () => process.kill(pid, 'SIGKILL'));
  let port: number;
  try {
    const announced = JSON.parse(await firstLine(child, UP_TIMEOUT_MS)) as { port?: unknown };
    if (typeof announced.port !== 'number') throw new Error('the emulator announced no port');
    port = announced.port;
    // Up means it answers LDAP: read the root DSE.
    const rootDse = await readEntry(`ldap://127.0.0.1:${port}`, undefined, '', ['vendorName']);
    if (rootDse === undefined) throw new Error('the emulator answered without a root DSE');
  } catch (error) {
    child.kill('SIGKILL');
    forgetAtExit(exitKey);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    url: `ldap://127.0.0.1:${port}`,
    pid,
    adminPassword,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      if (!(await exited(child, DOWN_TIMEOUT_MS))) {
        process.kill(pid, 'SIGKILL');
        await exited(child, DOWN_TIMEOUT_MS);
      }
      forgetAtExit(exitKey);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
