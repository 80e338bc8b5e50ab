/**
 * The run log: pino JSON lines, written synchronously so a crash loses nothing, one run id on every line.
 * Only DNs and attribute names are logged; secrets are redacted by key and never built into messages.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export type RunLog = Pick<Logger, 'info' | 'warn' | 'error'>;

const SILENT: RunLog = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as RunLog;

/** Opens the log; when that is impossible it returns a silent log and the reason, because a log never fails a run. */
export async function openRunLog(path: string, runId: string): Promise<{ log: RunLog; problem?: string }> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
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
    const code = (error as NodeJS.ErrnoException).code;
    return { log: SILENT, problem: `cannot write the log file ${path}${code === undefined ? '' : ` (${code})`}; the run goes on without it` };
  }
}
