/**
 * The run log: pino JSON lines, written synchronously so a crash loses nothing, one run id on every line.
 * Only DNs and attribute names are logged; secrets are redacted by key and never built into messages.
 * A log never fails a run: a file that cannot be opened, or that stops taking writes (a full disk, an I/O
 * error), is reported once through `onProblem` and the run goes on without it.
 */
import { constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export type RunLog = Pick<Logger, 'info' | 'warn' | 'error'>;

const SILENT: RunLog = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as RunLog;

function problemText(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return `cannot write the log file ${path}${code === undefined ? '' : ` (${code})`}; the run goes on without it`;
}

/**
 * Opens the log; when that is impossible it returns a silent log and the reason. `onProblem` is told, once,
 * when a later write fails; from then on the log is silent.
 */
export async function openRunLog(path: string, runId: string, onProblem: (message: string) => void = () => undefined): Promise<{ log: RunLog; problem?: string }> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    // Non-blocking open: a named pipe with no reader fails at once (ENXIO) instead of waiting for one.
    // Character devices such as /dev/null are fine; /dev/full fails on the first write, below.
    const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY, 0o600);
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
          paths: ['password', '*.password', 'bindPassword', 'syncPassword', '*.bindPassword', '*.syncPassword', 'userPassword', '*.userPassword'],
          censor: '***',
        },
      },
      destination,
    );
    const guarded = (level: 'info' | 'warn' | 'error') => (...args: unknown[]): void => {
      if (failed) return;
      try {
        (logger[level] as (...a: unknown[]) => void)(...args);
      } catch (error) {
        fail(error);
      }
    };
    const log = { info: guarded('info'), warn: guarded('warn'), error: guarded('error') } as unknown as RunLog;
    return { log };
  } catch (error) {
    return { log: SILENT, problem: problemText(path, error) };
  }
}
