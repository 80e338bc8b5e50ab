// Per-file fixtures of the integration tests: a private temp directory, password files in it, the CLI's
// connection arguments, and the JSON-lines run log read back.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunCliResult } from './cli.js';

/** `value`, which a before() hook was to set: a clear failure instead of a TypeError when it did not. */
export function started<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} was not started`);
  return value;
}

/** The error `fn` throws, which must be a `kind`; fails the test when `fn` throws nothing. */
export function thrownBy<E extends Error>(kind: abstract new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof kind, String(error));
    return error;
  }
  assert.fail(`expected a ${kind.name}`);
}

/** A new private directory in the system temp directory; the caller removes it. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `value` and a newline in dir/name, mode 600 (chmod too: the umask must not widen or narrow it). */
export function secretFile(dir: string, name: string, value: string, mode = 0o600): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${value}\n`, { mode });
  chmodSync(file, mode);
  return file;
}

export function fileSize(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

/** A run's exit, signal and output, for assertion messages. */
export function describeRun(r: RunCliResult): string {
  return `exit ${String(r.code)}${r.signal === null ? '' : ` signal ${r.signal}`}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

export interface LogLine {
  runId?: string;
  event?: string;
  level?: number;
  exitCode?: number;
  msg?: string;
  dn?: string;
  [key: string]: unknown;
}

/** The run log's lines from byte `offset` on (none if the log does not exist yet). */
export function logLines(file: string, offset = 0): LogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file)
    .subarray(offset)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

/** The lines of the last run in the run log `file`: those with the runId of its last line. */
export function lastRunLines(file: string): LogLine[] {
  const all = logLines(file);
  const runId = all.at(-1)?.runId;
  assert.ok(runId, 'the run log has lines with a runId');
  return all.filter((line) => line.runId === runId);
}

export interface CliConnection {
  host: string;
  port: number | string;
  bindDn: string;
  adminPasswordFile: string;
  syncPasswordFile: string;
  logFile: string;
}

/** -h/-p/-D, the admin and sync password files, --no-prompt and --logFile; `extra` last. */
export function connectionArgs(c: CliConnection, extra: readonly string[] = []): string[] {
  return [
    '-h',
    c.host,
    '-p',
    String(c.port),
    '-D',
    c.bindDn,
    '--bindPasswordFile',
    c.adminPasswordFile,
    '--syncServerBindPasswordFile',
    c.syncPasswordFile,
    '--no-prompt',
    '--logFile',
    c.logFile,
    ...extra,
  ];
}

/**
 * stderr without the warnings every run against the harness's servers earns with their usual DNs (slapd's admin,
 * cn=admin,<base>, lives under the destination base DN; the default sync user lies inside the base DN), for
 * tests about other warnings.
 */
export function withoutAdminUnderBaseWarning(stderr: string): string {
  return stderr
    .split('\n')
    .filter(
      (line) =>
        !/^Warning: The admin bind DN .* is under the destination base DN /.test(line) &&
        !/^Warning: The sync user .* lies inside the synchronized base DN /.test(line),
    )
    .join('\n');
}
