/**
 * The run log: JSON lines in pino's format (level, time, runId, tool, the fields, msg), written synchronously
 * so a crash loses nothing, one run id on every line. Written here in a few lines rather than by pino, whose
 * loading cost a run more start-up time than all of its LDAP (BENCHMARKS.md).
 * Only DNs and attribute names are logged; secrets are redacted by key and never built into messages.
 * A log never fails a run: a file that cannot be opened, or that stops taking writes (a full disk, an I/O
 * error), is reported once through `onProblem` and the run goes on without it.
 */
import { constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** One event: its fields (plain data) and its message. */
export interface RunLog {
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
}

/** pino's level numbers, which the lines keep. */
const LEVELS = { info: 30, warn: 40, error: 50 } as const;

/** Keys whose values never reach the log, at the top of an event or one level down. */
const SECRET_KEYS = new Set(['password', 'bindPassword', 'syncPassword', 'userPassword']);

function redacted(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEYS.has(key)) copy[key] = '***';
    else if (value !== null && typeof value === 'object' && !Array.isArray(value))
      copy[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([inner, v]) => [
          inner,
          SECRET_KEYS.has(inner) ? '***' : v,
        ]),
      );
    else copy[key] = value;
  }
  return copy;
}

/** Writes all of `text` to `fd`, waiting (up to a second in all) while a pipe that is full takes no more. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let offset = 0;
  let waits = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || waits >= 100) throw error;
      waits += 1;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

const SILENT: RunLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Where the log goes when the default one (logs/ in the tool folder) cannot be written, as for a root-owned
 * global install run by another user: the user's XDG state folder, `$XDG_STATE_HOME/prepare-endpoint-server/`
 * (`~/.local/state/prepare-endpoint-server/` when unset; a relative value is ignored, as the XDG base
 * directory specification says).
 */
export function userStateLogFile(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env['XDG_STATE_HOME'];
  const home = env['HOME'] !== undefined && isAbsolute(env['HOME']) ? env['HOME'] : homedir();
  const state = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.local', 'state');
  return join(state, 'prepare-endpoint-server', 'prepare-endpoint-server.log');
}

export interface OpenedRunLog {
  readonly log: RunLog;
  /** A warning for the console when no log can be written. */
  readonly problem?: string;
  /** Set when the log went to `fallback`: the file it is in, and why the first choice could not be used. */
  readonly movedTo?: { readonly file: string; readonly reason: string };
}

export interface OpenRunLogOptions {
  /** Where to log when `path` cannot be written (only for the default path: a --logFile is never moved). */
  readonly fallback?: string;
  /** Told once when a later write fails; from then on the log is silent. */
  readonly onProblem?: (message: string) => void;
}

/**
 * Opens the log at `path`; when that is impossible, at `fallback` if one is given. When neither can be written
 * it returns a silent log and the reason.
 */
export function openRunLog(path: string, runId: string, options: OpenRunLogOptions = {}): Promise<OpenedRunLog> {
  return Promise.resolve(openRunLogNow(path, runId, options));
}

function openRunLogNow(path: string, runId: string, options: OpenRunLogOptions): OpenedRunLog {
  const onProblem = options.onProblem ?? ((): void => undefined);
  const first = openAt(path, runId, 0o750, onProblem);
  if (first.log !== undefined) return { log: first.log };
  const fallback = options.fallback;
  if (fallback !== undefined && fallback !== path) {
    const second = openAt(fallback, runId, 0o700, onProblem);
    if (second.log !== undefined)
      return {
        log: second.log,
        movedTo: { file: fallback, reason: `${path} cannot be written${codeOf(first.error)}` },
      };
    return {
      log: SILENT,
      problem: `cannot write the log file ${path}${codeOf(first.error)} nor ${fallback}${codeOf(second.error)}; the run goes on without it`,
    };
  }
  return { log: SILENT, problem: problemText(path, first.error) };
}

function codeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? '' : ` (${code})`;
}

function problemText(path: string, error: unknown): string {
  return `cannot write the log file ${path}${codeOf(error)}; the run goes on without it`;
}

function openAt(
  path: string,
  runId: string,
  folderMode: number,
  onProblem: (message: string) => void,
): { log?: RunLog; error?: unknown } {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: folderMode });
    // Non-blocking open: a named pipe with no reader fails at once (ENXIO) instead of waiting for one.
    // Character devices such as /dev/null are fine; /dev/full fails on the first write, below.
    const fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY,
      0o600,
    );
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      onProblem(problemText(path, error));
    };
    const base = JSON.stringify({ runId, tool: 'prepare-endpoint-server' }).slice(1, -1);
    const guarded =
      (level: keyof typeof LEVELS) =>
      (fields: Readonly<Record<string, unknown>>, message: string): void => {
        if (failed) return;
        try {
          const rest = JSON.stringify({ ...redacted(fields), msg: message }).slice(1, -1);
          writeAll(fd, `{"level":${LEVELS[level]},"time":"${new Date().toISOString()}",${base},${rest}}\n`);
        } catch (error) {
          fail(error);
        }
      };
    return { log: { info: guarded('info'), warn: guarded('warn'), error: guarded('error') } };
  } catch (error) {
    return { error };
  }
}
