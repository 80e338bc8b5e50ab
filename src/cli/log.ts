/**
 * The run log: pino JSON lines, written synchronously so a crash loses nothing, one run id on every line.
 * Only DNs and attribute names are logged; secrets are redacted by key and never built into messages.
 * A log never fails a run: a file that cannot be opened, or that stops taking writes (a full disk, an I/O
 * error), is reported once through `onProblem` and the run goes on without it.
 */
import { constants, mkdirSync, openSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { escapeControls, type SecretMask } from '../formats/server-text.js';

export type RunLog = Pick<Logger, 'info' | 'warn' | 'error'>;

/**
 * The log as the run writes to it: every string (messages and fields) cleaned by `clean` first, which masks
 * the run's passwords and escapes control characters (a server's words end up in messages and warnings).
 */
export function cleanedRunLog(log: RunLog, mask: SecretMask): RunLog {
  const clean = (text: string): string => escapeControls(mask.apply(text), { keepNewlines: true });
  const wrap =
    (level: 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: pino's overloads take no unknown[] spread
      (log[level] as (...a: unknown[]) => void)(...args.map((arg) => mask.deep(arg, clean)));
    };
  return { info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
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
export async function openRunLog(path: string, runId: string, options: OpenRunLogOptions = {}): Promise<OpenedRunLog> {
  const onProblem = options.onProblem ?? ((): void => undefined);
  const first = await openAt(path, runId, 0o750, onProblem);
  if (first.log !== undefined) return { log: first.log };
  const fallback = options.fallback;
  if (fallback !== undefined && fallback !== path) {
    const second = await openAt(fallback, runId, 0o700, onProblem);
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

async function openAt(
  path: string,
  runId: string,
  folderMode: number,
  onProblem: (message: string) => void,
): Promise<{ log?: RunLog; error?: unknown }> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: folderMode });
    // Non-blocking open: a named pipe with no reader fails at once (ENXIO) instead of waiting for one.
    // Character devices such as /dev/null are fine; /dev/full fails on the first write, below.
    const fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY,
      0o600,
    );
    const { default: pino } = await import('pino');
    const destination = pino.destination({ dest: fd, sync: true });
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      onProblem(problemText(path, error));
    };
    // sonic-boom reports a failed write (ENOSPC, EIO, EPIPE) as an 'error' event: without a listener it
    // would end the process.
    destination.on('error', fail);
    const logger = pino(
      {
        base: { runId, tool: 'prepare-endpoint-server' },
        timestamp: pino.stdTimeFunctions.isoTime,
        redact: {
          paths: [
            'password',
            '*.password',
            'bindPassword',
            'syncPassword',
            '*.bindPassword',
            '*.syncPassword',
            'userPassword',
            '*.userPassword',
          ],
          censor: '***',
        },
      },
      destination,
    );
    const guarded =
      (level: 'info' | 'warn' | 'error') =>
      (...args: unknown[]): void => {
        if (failed) return;
        try {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: pino's overloads take no unknown[] spread
          (logger[level] as (...a: unknown[]) => void)(...args);
        } catch (error) {
          fail(error);
        }
      };
    return { log: { info: guarded('info'), warn: guarded('warn'), error: guarded('error') } };
  } catch (error) {
    return { error };
  }
}
