/**
 * The run log: pino JSON lines, written synchronously so a crash loses nothing, one run id on every line.
 * Only DNs and attribute names are logged; secrets are redacted by key and never built into messages.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';

export type RunLog = Pick<Logger, 'info' | 'warn' | 'error'>;

const SILENT: RunLog = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as RunLog;

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

/**
 * Opens the log at `path`; when that is impossible, at `fallback` if one is given (only for the default
 * path: a --logFile the user chose is never moved). When neither can be written it returns a silent log and
 * the reason, because a log never fails a run.
 */
export async function openRunLog(path: string, runId: string, fallback?: string): Promise<OpenedRunLog> {
  const first = await openAt(path, runId, 0o750);
  if (first.log !== undefined) return { log: first.log };
  if (fallback !== undefined && fallback !== path) {
    const second = await openAt(fallback, runId, 0o700);
    if (second.log !== undefined) return { log: second.log, movedTo: { file: fallback, reason: `${path} cannot be written${codeOf(first.error)}` } };
    return { log: SILENT, problem: `cannot write the log file ${path}${codeOf(first.error)} nor ${fallback}${codeOf(second.error)}; the run goes on without it` };
  }
  return { log: SILENT, problem: `cannot write the log file ${path}${codeOf(first.error)}; the run goes on without it` };
}

function codeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? '' : ` (${code})`;
}

async function openAt(path: string, runId: string, folderMode: number): Promise<{ log?: RunLog; error?: unknown }> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: folderMode });
    const { default: pino } = await import('pino');
    const destination = pino.destination({ dest: path, sync: true, append: true, mode: 0o600 });
    const log = pino(
      {
        base: { runId, tool: 'prepare-endpoint-server' },
        timestamp: pino.stdTimeFunctions.isoTime,
        redact: {
          paths: ['password', '*.password', 'bindPassword', 'syncPassword', '*.bindPassword', '*.syncPassword', 'userPassword', '*.userPassword'],
          censor: '***',
        },
      },
      destination,
    );
    return { log };
  } catch (error) {
    return { error };
  }
}
