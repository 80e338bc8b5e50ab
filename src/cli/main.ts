/**
 * The CLI boundary: parse, resolve settings, wire prompts, console and log to the core, and turn the outcome
 * into the exit code. This is the one place where a run ends; `bin/` only sets `process.exitCode` from it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReporter } from '../core/ports.js';
import type { DirectoryStats } from '../ldap/directory.js';
import type { PrepareError } from '../ldap/errors.js';
import type { PlannedStep } from '../servers/profile.js';
import type { RunLog } from './log.js';
import type { RunResult } from './result.js';
import type { ResolvedSettings } from './settings.js';

// Start-up is part of every run of a fleet loop: this module loads nothing but node builtins. `--version`
// answers from package.json alone; everything else (commander, chalk, pino, ldapts, prompts) is imported on
// the path that uses it, below.

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
  const out = (text: string): void => void io.stdout.write(text);
  const err = (text: string): void => void io.stderr.write(text);
  const startedAt = Date.now();
  const version = toolVersion();
  // What commander prints for --version and (into a pipe) for --help, without loading commander.
  if (isLoneOption(args, 'V', 'version')) {
    out(`${version}\n`);
    return 0;
  }
  if (typeof PES_PIPE_HELP === 'string' && process.stdout.isTTY !== true && isLoneOption(args, 'H', 'help')) {
    out(PES_PIPE_HELP);
    return 0;
  }
  // --help needs commander and the option table only; settings, the log and the run come after parsing.
  const [{ normalizeArgv, parseCommandLine }, { isPrepareError }, { randomUUID }] = await Promise.all([
    import('./options.js'),
    import('../ldap/errors.js'),
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
    if (typeof logFileOption === 'string') requestedLogFile = resolve(logFileOption);
    const { resolveSettings, wantsJson } = await import('./settings.js');
    jsonRequested ||= wantsJson(parsed.options, parsed.explicit);
    resolved = resolveSettings(parsed.options, parsed.explicit, {
      env: io.env,
      stdinIsTTY: io.stdin.isTTY === true,
      readStdin: () => readFileSync(0, 'utf8'),
    });
  } catch (error) {
    if (!isPrepareError(error)) throw error;
    const { openRunLog, userStateLogFile } = await import('./log.js');
    // Usage errors are logged too, to --logFile when it could be read from the command line.
    const { log } = await openRunLog(requestedLogFile ?? DEFAULT_LOG_FILE, runId, requestedLogFile === undefined ? userStateLogFile(io.env) : undefined);
    log.error({ event: 'usage-error', exitCode: error.resultCode }, error.message);
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
    import('../ldap/ldif.js'),
    import('../ldap/types.js'),
    import('./result.js'),
    import('../ldap/errors.js'),
  ]);
  // With --json, stdout carries the JSON object alone: everything a person reads goes to stderr.
  const humanStream = resolved.json ? io.stderr : io.stdout;
  const screen = new Renderer({ line: (text) => humanStream.write(`${text}\n`) }, resolved.color && isTerminal(humanStream));
  const problems = new Renderer({ line: (text) => err(`${text}\n`) }, resolved.color && isTerminal(io.stderr));
  // The default log folder (in the tool folder) is not writable by a user running a root-owned global install:
  // then the log goes to the user's XDG state folder, and the run says so, once. A --logFile is never moved.
  const opened = await openRunLog(resolve(resolved.logFile ?? DEFAULT_LOG_FILE), runId,
    resolved.logFile === undefined ? userStateLogFile(io.env) : undefined);
  const log: RunLog = opened.log;
  if (opened.problem !== undefined) problems.warning(opened.problem);
  if (opened.movedTo !== undefined) problems.info(`Log: this run is logged to ${opened.movedTo.file}, because ${opened.movedTo.reason}`);
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

  const warnings: string[] = [];
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
  const abort = new AbortController();
  const unsubscribe = io.onInterrupt(() => abort.abort());
  let exitCode: number;
  let result: RunResult;
  try {
    const { prepareEndpoint } = await import('../core/run.js');
    const outcome = await prepareEndpoint(settings, {
      reporter,
      prompter: resolved.canPrompt ? terminalPrompter(io.stderr) : undefined,
      signal: abort.signal,
      stats,
    });
    const ldif = settings.dryRun ? renderLdif(outcome.changes) : null;
    if (ldif !== null) {
      screen.info(outcome.changes.length === 0 ? 'Dry run: nothing would change.' : `Dry run: these changes would be made (passwords masked):\n\n${ldif}\n`);
    }
    screen.summary(outcome.steps, outcome.warnings.length, outcome.changed, settings.dryRun ? 'dry-run' : settings.remove ? 'remove' : 'prepare');
    exitCode = ResultCode.SUCCESS;
    result = {
      ...base, server, syncUserDn: outcome.syncUserDn, changed: outcome.changed, steps: outcome.steps.map(stepSummary),
      warnings, changeNumbers: outcome.changeNumbers ?? null, ldif, ldap: { ...stats }, exitCode, error: null,
    };
    log.info({ event: 'end', exitCode, changed: outcome.changed, reads: stats.reads, writes: stats.writes, durationMs: Date.now() - startedAt }, 'run finished');
  } catch (error) {
    const failure = await asFailure(error);
    exitCode = failure.resultCode;
    problems.error(failure.message, failure.hint);
    if (failure.details !== undefined) err(`${failure.details}\n`);
    result = {
      ...base, server, syncUserDn: settings.syncUserDn ?? null, changed: stats.writes > 0, steps: steps.map(stepSummary),
      warnings, changeNumbers: null, ldif: null, ldap: { ...stats }, exitCode,
      error: { exitCode, message: failure.message, hint: failure.hint ?? null },
    };
    log.error({
      event: 'end', exitCode, reads: stats.reads, writes: stats.writes, durationMs: Date.now() - startedAt, hint: failure.hint ?? null,
      ...(exitCode === 1 && error instanceof Error ? { stack: error.stack ?? null } : {}),
    }, failure.message);
  } finally {
    unsubscribe();
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

/** Every way a run can fail, as one PrepareError: interrupts are 130, anything unexpected is 1. */
async function asFailure(error: unknown): Promise<PrepareError> {
  const [{ InterruptedError }, { isPrepareError, PrepareError, ResultCode }] = await Promise.all([import('./prompts.js'), import('../ldap/errors.js')]);
  if (error instanceof InterruptedError) {
    return new PrepareError(ResultCode.INTERRUPTED, 'Interrupted', 'run the same command again to finish: it picks up where this run stopped');
  }
  if (isPrepareError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PrepareError(1, `Unexpected failure: ${message}`, 'please report it with the log file', { cause: error });
}

function failureResult(version: string, runId: string, error: PrepareError): RunResult {
  return {
    tool: 'prepare-endpoint-server', version, runId,
    server: { host: null, port: null, type: null, productName: null, vendor: null },
    roles: { source: false, destination: false }, remove: false, dryRun: false, syncUserDn: null, changed: false,
    steps: [], warnings: [], changeNumbers: null, ldif: null, ldap: { reads: 0, writes: 0 }, exitCode: error.resultCode,
    error: { exitCode: error.resultCode, message: error.message, hint: error.hint ?? null },
  };
}
