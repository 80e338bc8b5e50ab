// Runs the real CLI (bin/prepare-endpoint-server) in a child process for tests.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root. Compiled, this file is dist/test/helpers/cli.js, so the
 * root is three levels up; we still walk up to the package.json naming this
 * project so that running the .ts source directly (two levels) works too.
 */
export const repoRoot: string = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
        if (name === 'prepare-endpoint-server') return dir;
      } catch {
        // unreadable package.json: keep looking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.resolve(start, '..', '..', '..');
}

export const cliPath: string = path.join(repoRoot, 'bin', 'prepare-endpoint-server');

export interface RunCliOptions {
  /**
   * Text written to the child's stdin, which is then closed. 'closed' (the
   * default) closes stdin at once; 'inherit-none' gives the child no stdin at
   * all (/dev/null).
   */
  /** Text for stdin, or 'closed' / 'inherit-none' (spelled out for the reader: any string is text). */
  stdin?: string;
  /** Extra environment variables (on top of process.env and NO_COLOR=1). */
  env?: Record<string, string>;
  /** Kill the child (SIGKILL) after this many ms; default 60000. */
  timeoutMs?: number;
  /** Working directory; default the repository root. */
  cwd?: string;
  /** Another build of the CLI to run (an earlier version, see previous-version.ts); default this one. */
  cli?: string;
}

export interface RunCliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export async function runCli(args: string[], opts: RunCliOptions = {}): Promise<RunCliResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const stdinMode = opts.stdin ?? 'closed';
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
  // A colour-forcing variable inherited from the test runner would win over NO_COLOR in some libraries.
  if (opts.env?.FORCE_COLOR === undefined) delete env.FORCE_COLOR;

  return new Promise<RunCliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [opts.cli ?? cliPath, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env,
      stdio: [stdinMode === 'inherit-none' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;

    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));

    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);

    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });

    if (child.stdin) {
      // The child may exit before reading everything: ignore EPIPE.
      child.stdin.on('error', () => undefined);
      if (stdinMode !== 'closed' && stdinMode !== 'inherit-none') child.stdin.end(stdinMode);
      else child.stdin.end();
    }
  });
}
