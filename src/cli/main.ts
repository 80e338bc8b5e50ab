/**
 * The CLI boundary: parse, resolve settings, wire prompts, console and log to the core, and turn the outcome
 * into the exit code. This is the one place where a run ends; `bin/` only sets `process.exitCode` from it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReporter } from '../core/ports.js';
import type { DirectoryStats } from '../model/directory.js';
import type { PrepareError } from '../model/errors.js';
import type { PlannedStep } from '../model/plan.js';
import type { RunLog } from './log.js';
import { guardedOutput, type ConsoleOutput } from './output.js';
import type { RunResult } from './result.js';
import type { ResolvedSettings } from './settings.js';

// Start-up is part of every run of a fleet loop: this module loads nothing but node builtins (and output.ts,
// which has no imports). `--version`
// answers from package.json alone; everything else (commander, chalk, pino, ldapts, prompts) is imported on
// the path that uses it, below.

export interface ProcessIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Subscribes to SIGINT (Ctrl-C) and SIGTERM for the length of the run; returns the unsubscribe function. */
  onInterrupt(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
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
      let received = false;
      const unsubscribe = (): void => {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigterm);
      };
      const on = (signal: 'SIGINT' | 'SIGTERM'): void => {
        if (received) {
          // A second signal while the run is ending: the signal's default action, at once.
          unsubscribe();
          process.kill(process.pid, signal);
          return;
        }
        received = true;
        handler(signal);
      };
      const onSigint = (): void => on('SIGINT');
      const onSigterm = (): void => on('SIGTERM');
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigterm);
      return unsubscribe;
    },
  };
}

function toolVersion(): string {
  const manifest = JSON.parse(readFileSync(resolve(TOOL_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? '0.0.0';
}

function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as NodeJS.WriteStream).isTTY === true;
}

/**
 * True for a lone `-V`/`--version` (or `-H`/`--help`) in any spelling normalizeArgv accepts (`--VERSION`,
 * `--ver-sion`): what commander would answer without looking at anything else.
 */
function isLoneOption(args: readonly string[], short: string, long: string): boolean {
  if (args.length !== 1) return false;
  const arg = args[0]!;
  return arg === `-${short}` || (arg.startsWith('--') && !arg.includes('=') && arg.slice(2).replace(/-/g, '').toLowerCase() === long);
}

/** Commander's --help text for a stdout that is not a terminal (80 columns), rendered by the bundle build. */
declare const PES_PIPE_HELP: string | undefined;

export async function main(args: readonly string[], io: ProcessIo): Promise<number> {
  // From the first moment: a signal stops the run with 130/143 (never the default death mid-write), and a
  // stdout or stderr that fails (a closed pipe) is a warning, never a crash.
  const interrupt = new AbortController();
  const unsubscribe = io.onInterrupt((signal) => interrupt.abort(signal));
  const output = guardedOutput(io.stdout, io.stderr);
  try {
    return exitStatus(await runCommand(args, io, output, interrupt.signal));
  } catch (error) {
    // runCommand() turns every failure into a PrepareError; this is the net under it: one line, never a stack.
    const message = (error instanceof Error ? error.message : String(error)).split('\n', 1)[0];
    output.err(`Error: Unexpected failure: ${message}: please report it\n`);
    return 1;
  } finally {
    unsubscribe();
  }
}

/**
 * The process exit status for a result code. A status is one byte: an LDAP code above 255 (some servers
 * send vendor codes such as 16654) would be seen modulo 256, and could read as success, so it becomes 80
 * (other); the message still carries the real code.
 */
export function exitStatus(code: number): number {
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : 80;
}

async function runCommand(args: readonly string[], io: ProcessIo, output: ConsoleOutput, signal: AbortSignal): Promise<number> {
  const out = (text: string): void => output.out(text);
  const err = (text: string): void => output.err(text);
  const startedAt = Date.now();
  const version = toolVersion();
  // What commander prints for --version and (into a pipe) for --help, without loading commander.
  if (isLoneOption(args, 'V', 'version')) {
    out(`${version}\n`);
    return 0;
  }
  if (typeof PES_PIPE_HELP === 'string' && !isTerminal(io.stdout) && isLoneOption(args, 'H', 'help')) {
    out(PES_PIPE_HELP);
    return 0;
  }
  // --help needs commander and the option table only; settings, the log and the run come after parsing.
  const [{ normalizeArgv, parseCommandLine }, { isPrepareError }, { randomUUID }] = await Promise.all([
    import('./options.js'),
    import('../model/errors.js'),
    import('node:crypto'),
  ]);
  const runId = randomUUID();
  const stats: DirectoryStats = { reads: 0, writes: 0 };
  // Known before parsing can fail, so even a usage error answers in JSON when asked to.
  let jsonRequested = normalizeArgv(args).includes('--json');
  // Likewise the log file: a usage error commander itself reports (an unknown option) goes to --logFile too.
  let requestedLogFile = logFileInArgv(normalizeArgv(args));

  let resolved: ResolvedSettings;
  try {
    const parsed = parseCommandLine(args, version, { out, err });
    if (parsed.kind === 'exit') return parsed.code;
    const logFileOption = parsed.options['logFile'];
    if (typeof logFileOption === 'string' && logFileOption !== '') requestedLogFile = resolve(logFileOption);
    const [{ resolveSettings, wantsJson, passwordFilesFromStdin }, { PASSWORD_FILE_MAX_BYTES, readLine }, { interruption }] = await Promise.all([
      import('./settings.js'),
      import('./input.js'),
      import('../model/errors.js'),
    ]);
    jsonRequested ||= wantsJson(parsed.options, parsed.explicit);
    output.stdoutIsData(jsonRequested);
    // `-` as a password file: stdin's first line, read here because it may wait (a pipe, a terminal) and must
    // stay interruptible; two options on `-` are refused by resolveSettings before anything is read.
    let stdinLine: Buffer | Error = Buffer.alloc(0);
    if (passwordFilesFromStdin(parsed.options, parsed.explicit).length === 1) {
      stdinLine = await readLine(io.stdin, PASSWORD_FILE_MAX_BYTES, signal, () => interruption(signal.reason, 'while reading a password from stdin'))
        .catch((error: unknown) => (isPrepareError(error) ? Promise.reject(error) : (error as Error)));
    }
    resolved = resolveSettings(parsed.options, parsed.explicit, {
      env: io.env,
      stdinIsTTY: io.stdin.isTTY === true,
      readStdin: () => {
        if (stdinLine instanceof Error) throw stdinLine;
        return stdinLine;
      },
    });
    if (signal.aborted) throw interruption(signal.reason, 'before connecting');
  } catch (caught) {
    // Anything thrown while reading the options and the files they name is about that input: one line, 89.
    const error = isPrepareError(caught) ? caught : await unexpectedInputError(caught);
    const { openRunLog, userStateLogFile } = await import('./log.js');
    // Usage errors are logged too, to --logFile when it could be read from the command line.
    const { log } = await openRunLog(requestedLogFile ?? DEFAULT_LOG_FILE, runId, {
      ...(requestedLogFile === undefined ? { fallback: userStateLogFile(io.env) } : {}),
      onProblem: (message) => err(`Warning: ${message}\n`),
    });
    log.error({
      event: 'usage-error', exitCode: error.resultCode,
      ...(isPrepareError(caught) || !(caught instanceof Error) ? {} : { stack: caught.stack ?? null }),
    }, error.message);
    // One line, as for every other failure: what failed, then what to do.
    err(`Error: ${error.message}${error.hint === undefined ? '' : `: ${error.hint}`}\n`);
    if (jsonRequested) {
      out(`${JSON.stringify(failureResult(version, runId, error))}\n`);
    }
    return error.resultCode;
  }

  const { settings } = resolved;
  const [{ openRunLog, userStateLogFile }, { Renderer }, { terminalPrompter }, { renderLdif }, { changedAttributes }, { stepSummary }, { ResultCode }] = await Promise.all([
    import('./log.js'),
    import('./render.js'),
    import('./prompts.js'),
    import('../formats/ldif.js'),
    import('../model/entries.js'),
    import('./result.js'),
    import('../model/errors.js'),
  ]);
  // With --json, stdout carries the JSON object alone: everything a person reads goes to stderr.
  output.stdoutIsData(resolved.json);
  const humanStream = resolved.json ? io.stderr : io.stdout;
  const human = resolved.json ? err : out;
  const screen = new Renderer({ line: (text) => human(`${text}\n`) }, resolved.color && isTerminal(humanStream));
  const problems = new Renderer({ line: (text) => err(`${text}\n`) }, resolved.color && isTerminal(io.stderr));
  const warnings: string[] = [];
  // A log or console stream that fails later is a warning of the run (in --json too), said once.
  let reportProblem = (message: string): void => {
    warnings.push(message);
  };
  // The default log folder (in the tool folder) is not writable by a user running a root-owned global install:
  // then the log goes to the user's XDG state folder, and the run says so, once. A --logFile is never moved.
  const opened = await openRunLog(resolve(resolved.logFile ?? DEFAULT_LOG_FILE), runId, {
    ...(resolved.logFile === undefined ? { fallback: userStateLogFile(io.env) } : {}),
    onProblem: (message) => {
      problems.warning(message);
      reportProblem(message);
    },
  });
  const log: RunLog = opened.log;
  if (opened.problem !== undefined) {
    problems.warning(opened.problem);
    warnings.push(opened.problem);
  }
  if (opened.movedTo !== undefined) problems.info(`Log: this run is logged to ${opened.movedTo.file}, because ${opened.movedTo.reason}`);
  reportProblem = (message) => {
    warnings.push(message);
    log.warn({ event: 'warning' }, message);
  };
  output.onProblem((message) => reportProblem(message));
  log.info({
    event: 'start',
    version,
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
    dryRun: settings.dryRun,
    remove: settings.remove,
    prompting: resolved.canPrompt,
  }, 'run started');

  const steps: PlannedStep[] = [];
  let server: RunResult['server'] = { host: settings.host, port: settings.port, type: null, productName: null, vendor: null };
  for (const message of resolved.warnings) {
    warnings.push(message);
    problems.warning(message);
    log.warn({ event: 'warning' }, message);
  }

  const reporter: RunReporter = {
    check(title, outcome, detail) {
      screen.check(title, outcome, detail);
      log.info({ event: 'check', outcome, ...(detail === undefined ? {} : { detail }) }, title);
    },
    info(message) {
      screen.info(message);
      log.info({ event: 'info' }, message);
    },
    detected(found) {
      server = { ...server, type: found.family, productName: found.productName, vendor: found.vendor };
      log.info({ event: 'detected', type: found.family, vendor: found.vendor }, found.productName);
    },
    step(step) {
      steps.push(step);
      screen.step(step, settings.dryRun);
      log.info({ event: 'step', id: step.id, status: step.status, detail: step.detail ?? null, dryRun: settings.dryRun }, step.title);
    },
    warning(message) {
      warnings.push(message);
      problems.warning(message);
      log.warn({ event: 'warning' }, message);
    },
    wrote(change) {
      log.info({ event: 'write', kind: change.kind, dn: change.dn, attributes: changedAttributes(change) }, `${change.kind} ${change.dn}`);
    },
  };

  const base = {
    tool: 'prepare-endpoint-server' as const,
    version,
    runId,
    roles: settings.roles,
    remove: settings.remove,
    dryRun: settings.dryRun,
  };
  let exitCode: number;
  let result: RunResult;
  try {
    const [{ prepareEndpoint }, { connect }] = await Promise.all([import('../core/run.js'), import('../ldap/directory.js')]);
    const outcome = await prepareEndpoint(settings, {
      reporter,
      prompter: resolved.canPrompt ? terminalPrompter(io.stderr, { signal, color: resolved.color && isTerminal(io.stderr) }) : undefined,
      signal,
      stats,
      connect,
    });
    const ldif = settings.dryRun ? renderLdif(outcome.changes) : null;
    if (ldif !== null) {
      screen.info(outcome.changes.length === 0 ? 'Dry run: nothing would change.' : `Dry run: these changes would be made (passwords masked):\n\n${ldif}\n`);
    }
    screen.summary(outcome.steps, outcome.warnings.length, outcome.changed, settings.dryRun ? 'dry-run' : settings.remove ? 'remove' : 'prepare', outcome.verified);
    exitCode = ResultCode.SUCCESS;
    result = {
      ...base, server, syncUserDn: outcome.syncUserDn, changed: outcome.changed, steps: outcome.steps.map(stepSummary),
      warnings, changeNumbers: outcome.changeNumbers ?? null, verified: outcome.verified ?? null, ldif, ldap: { ...stats }, exitCode, error: null,
    };
    log.info({ event: 'end', exitCode, changed: outcome.changed, reads: stats.reads, writes: stats.writes, durationMs: Date.now() - startedAt }, 'run finished');
  } catch (error) {
    const failure = await asFailure(error);
    exitCode = failure.resultCode;
    problems.error(failure.message, failure.hint);
    if (failure.details !== undefined) err(`${failure.details}\n`);
    result = {
      ...base, server, syncUserDn: settings.syncUserDn ?? null, changed: stats.writes > 0, steps: steps.map(stepSummary),
      warnings, changeNumbers: null, verified: null, ldif: null, ldap: { ...stats }, exitCode,
      error: { exitCode, message: failure.message, hint: failure.hint ?? null },
    };
    log.error({
      event: 'end', exitCode, reads: stats.reads, writes: stats.writes, durationMs: Date.now() - startedAt, hint: failure.hint ?? null,
      ...(exitCode === 1 && error instanceof Error ? { stack: error.stack ?? null } : {}),
    }, failure.message);
  }
  if (resolved.json) out(`${JSON.stringify(result)}\n`);
  return exitCode;
}

/** The value of the last `--logFile` in normalized argv (before `--`), resolved; undefined when absent. */
function logFileInArgv(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--logFile' && argv[i + 1] !== undefined) found = argv[i + 1];
    else if (arg.startsWith('--logFile=')) found = arg.slice('--logFile='.length);
  }
  return found === undefined || found === '' ? undefined : resolve(found);
}

/** Every way a run can fail, as one PrepareError: signals are 130/143 (already), anything unexpected is 1. */
async function asFailure(error: unknown): Promise<PrepareError> {
  const { isPrepareError, PrepareError } = await import('../model/errors.js');
  if (isPrepareError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PrepareError(1, `Unexpected failure: ${message}`, 'please report it with the log file', { cause: error });
}

/** An error nobody foresaw while reading the options or a file they name: still bad input (89), one line. */
async function unexpectedInputError(error: unknown): Promise<PrepareError> {
  const { PrepareError, ResultCode } = await import('../model/errors.js');
  const message = error instanceof Error ? error.message : String(error);
  return new PrepareError(ResultCode.PARAM_ERROR, `Cannot use the options given: ${message.split('\n', 1)[0]}`,
    'check the options and the files they name (see --help); if they are right, report this with the log file', { cause: error });
}

function failureResult(version: string, runId: string, error: PrepareError): RunResult {
  return {
    tool: 'prepare-endpoint-server', version, runId,
    server: { host: null, port: null, type: null, productName: null, vendor: null },
    roles: { source: false, destination: false }, remove: false, dryRun: false, syncUserDn: null, changed: false,
    steps: [], warnings: [], changeNumbers: null, verified: null, ldif: null, ldap: { reads: 0, writes: 0 }, exitCode: error.resultCode,
    error: { exitCode: error.resultCode, message: error.message, hint: error.hint ?? null },
  };
}
