/**
 * The CLI boundary: parse, resolve settings, wire prompts, console and log to the core, and turn the outcome
 * into the exit code. This is the one place where a run ends; `bin/` only sets `process.exitCode` from it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReporter } from '../core/ports.js';
import { isPrepareError, ResultCode } from '../ldap/errors.js';
import { changedAttributes } from '../ldap/types.js';
import { openRunLog, type RunLog } from './log.js';
import { parseCommandLine } from './options.js';
import { InterruptedError, terminalPrompter } from './prompts.js';
import { Renderer } from './render.js';
import { resolveSettings, type ResolvedSettings } from './settings.js';

export interface ProcessIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Subscribes to Ctrl-C for the length of the run; returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
}

/** The folder the tool is installed in (dist/src/cli/main.js is three levels below it). */
const TOOL_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_LOG_FILE = resolve(TOOL_ROOT, 'logs', 'prepare-endpoint-server.log');

/** The real process, as main() sees it. */
export function processIo(): ProcessIo {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

function toolVersion(): string {
  const manifest = JSON.parse(readFileSync(resolve(TOOL_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? '0.0.0';
}

export async function main(args: readonly string[], io: ProcessIo): Promise<number> {
  const out = (text: string): void => void io.stdout.write(text);
  const err = (text: string): void => void io.stderr.write(text);
  const startedAt = Date.now();
  const runId = randomUUID();

  let resolved: ResolvedSettings;
  let log: RunLog | undefined;
  let requestedLogFile: string | undefined;
  try {
    const parsed = parseCommandLine(args, toolVersion(), { out, err });
    if (parsed.kind === 'exit') return parsed.code;
    const logFileOption = parsed.options['logFile'];
    if (typeof logFileOption === 'string') requestedLogFile = resolve(logFileOption);
    resolved = resolveSettings(parsed.options, parsed.explicit, {
      env: io.env,
      stdinIsTTY: io.stdin.isTTY === true,
      readStdin: () => readFileSync(0, 'utf8'),
    });
  } catch (error) {
    // Usage errors are logged too, to --logFile when it could be read from the command line.
    const failure = await openRunLog(requestedLogFile ?? DEFAULT_LOG_FILE, runId);
    if (isPrepareError(error)) {
      failure.log.error({ event: 'usage-error', exitCode: error.resultCode }, error.message);
      err(`Error: ${error.message}${error.hint === undefined ? '' : `\nHint: ${error.hint}`}\n`);
      return error.resultCode;
    }
    throw error;
  }

  const { settings } = resolved;
  const color = resolved.color && (io.stdout as NodeJS.WriteStream).isTTY === true;
  const screen = new Renderer({ line: (text) => out(`${text}\n`) }, color);
  const problems = new Renderer({ line: (text) => err(`${text}\n`) }, color && (io.stderr as NodeJS.WriteStream).isTTY === true);
  const opened = await openRunLog(resolve(resolved.logFile ?? DEFAULT_LOG_FILE), runId);
  log = opened.log;
  if (opened.problem !== undefined) problems.warning(opened.problem);
  log.info({
    event: 'start',
    host: settings.host,
    port: settings.port,
    security: settings.security,
    trust: settings.trust.kind,
    baseDns: settings.baseDns,
    roles: settings.roles,
    syncUserDn: settings.syncUserDn ?? null,
    bindDn: settings.bindDn ?? null,
    serverType: settings.serverType,
    changelogMaxAgeSeconds: settings.changelogMaxAgeSeconds ?? null,
    prompting: resolved.canPrompt,
  }, 'run started');
  for (const message of resolved.warnings) {
    problems.warning(message);
    log.warn({ event: 'warning' }, message);
  }

  const runLog = log;
  const reporter: RunReporter = {
    check(title, outcome, detail) {
      screen.check(title, outcome, detail);
      runLog.info({ event: 'check', outcome, ...(detail === undefined ? {} : { detail }) }, title);
    },
    info(message) {
      screen.info(message);
      runLog.info({ event: 'info' }, message);
    },
    step(step) {
      screen.step(step);
      runLog.info({ event: 'step', id: step.id, status: step.status, detail: step.detail ?? null }, step.title);
    },
    warning(message) {
      problems.warning(message);
      runLog.warn({ event: 'warning' }, message);
    },
    wrote(change) {
      runLog.info({ event: 'write', kind: change.kind, dn: change.dn, attributes: changedAttributes(change) }, `${change.kind} ${change.dn}`);
    },
  };

  const abort = new AbortController();
  const unsubscribe = io.onInterrupt(() => abort.abort());
  try {
    if (settings.remove) {
      const { PrepareError } = await import('../ldap/errors.js');
      throw new PrepareError(ResultCode.UNWILLING_TO_PERFORM, '--remove is not available in this version', 'remove the sync user and the ACIs named "prepare-endpoint-server: ..." by hand');
    }
    const { prepareEndpoint } = await import('../core/run.js');
    const outcome = await prepareEndpoint(settings, {
      reporter,
      prompter: resolved.canPrompt ? terminalPrompter(io.stderr) : undefined,
      signal: abort.signal,
    });
    screen.summary(outcome.steps, outcome.warnings.length, outcome.changed);
    log.info({ event: 'end', exitCode: 0, changed: outcome.changed, reads: outcome.stats.reads, writes: outcome.stats.writes, durationMs: Date.now() - startedAt }, 'run finished');
    return ResultCode.SUCCESS;
  } catch (error) {
    if (error instanceof InterruptedError || (isPrepareError(error) && error.resultCode === ResultCode.INTERRUPTED)) {
      problems.error('Interrupted', 'run the same command again to finish: it picks up where this run stopped');
      log.warn({ event: 'end', exitCode: ResultCode.INTERRUPTED, durationMs: Date.now() - startedAt }, 'interrupted');
      return ResultCode.INTERRUPTED;
    }
    if (isPrepareError(error)) {
      problems.error(error.message, error.hint);
      if (error.details !== undefined) err(`${error.details}\n`);
      log.error({ event: 'end', exitCode: error.resultCode, durationMs: Date.now() - startedAt, hint: error.hint ?? null }, error.message);
      return error.resultCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    problems.error(`Unexpected failure: ${message}`, 'please report it with the log file');
    log.error({ event: 'end', exitCode: 1, stack: error instanceof Error ? error.stack ?? null : null }, 'unexpected failure');
    return 1;
  } finally {
    unsubscribe();
  }
}
