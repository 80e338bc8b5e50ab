// An earlier release of this tool, built from the repository's own git history, so tests can prove that a
// server it prepared is converged by one run of the current version (what an operator upgrading does).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './cli.js';

const execFileP = promisify(execFile);

/** 0.1.0 as it stood before the least-privilege changes: targetattr="*" destination ACI, broad AD ACE. */
export const LEAST_PRIVILEGE_BASELINE = 'cf4d89eab2c71449cb98903a19d69a4a04732c53';

export interface PreviousVersion {
  /** The built CLI's entry point, for RunCliOptions.cli. */
  readonly cli: string;
  remove(): void;
}

/** Why the earlier version cannot be built here (a shallow clone without that commit), or undefined. */
export async function previousVersionSkipReason(commit = LEAST_PRIVILEGE_BASELINE): Promise<string | undefined> {
  try {
    await execFileP('git', ['-C', repoRoot, 'cat-file', '-e', `${commit}^{commit}`]);
    return undefined;
  } catch {
    return `commit ${commit.slice(0, 12)} is not in this clone's history (shallow clone?)`;
  }
}

/**
 * Exports `commit`'s bin/ and src/ into a temporary folder and compiles them with this checkout's TypeScript.
 * It builds and runs against this checkout's node_modules: what the earlier release needs and the tool no longer
 * does (chalk, pino) stays in package.json's devDependencies for this.
 */
export async function buildPreviousVersion(commit = LEAST_PRIVILEGE_BASELINE): Promise<PreviousVersion> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pes-previous-'));
  try {
    const archive = path.join(dir, 'source.tar');
    await execFileP('git', [
      '-C',
      repoRoot,
      'archive',
      '--format=tar',
      '-o',
      archive,
      commit,
      'bin',
      'src',
      'package.json',
      'tsconfig.json',
    ]);
    await execFileP('tar', ['-xf', archive, '-C', dir]);
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    await execFileP(
      process.execPath,
      [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')],
      { cwd: dir },
    );
    const cli = path.join(dir, 'bin', 'prepare-endpoint-server');
    if (!existsSync(path.join(dir, 'dist', 'src', 'cli', 'main.js')))
      throw new Error(`the build of ${commit} produced no dist/src/cli/main.js`);
    return { cli, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
