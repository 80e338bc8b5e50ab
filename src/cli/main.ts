/**
 * The CLI boundary: parse, resolve settings, wire prompts, console and log to the core, and turn the outcome
 * into the exit code. This is the one place where a run ends; `bin/` only sets `process.exitCode` from it.
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DirectoryStats } from '../model/directory.js';
import type { PrepareError } from '../model/errors.js';
import type { RunLog } from './log.js';
import type { Renderer } from './render.js';
import { guardedOutput, type ConsoleOutput } from './output.js';
import type { RunProgress } from './reporter.js';
import type { RunResult } from './result.js';
import type { ResolvedSettings } from './settings.js';
import type { SecretMask } from '../formats/server-text.js';
import type { Prompter } from '../core/ports.js';

// Start-up is part of every run of a fleet loop: this module loads nothing but node builtins (and output.ts,
// which has no imports). `--version`
// answers from package.json alone; everything else (commander, the log, ldapts, prompts) is imported on
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
  return (stream as Partial<NodeJS.WriteStream>).isTTY === true;
}

/**
 * True for a lone `-V`/`--version` (or `-H`/`--help`) in any spelling normalizeArgv accepts (`--VERSION`,
 * `--ver-sion`): what commander would answer without looking at anything else.
 */
function isLoneOption(args: readonly string[], short: string, long: string): boolean {
  const [arg] = args;
  if (args.length !== 1 || arg === undefined) return false;
  return (
    arg === `-${short}` ||
    (arg.startsWith('--') && !arg.includes('=') && arg.slice(2).replace(/-/g, '').toLowerCase() === long)
  );
}

/** Commander's --help text for a stdout that is not a terminal (80 columns), rendered by the bundle build. */
declare const PES_PIPE_HELP: string | undefined;

export async function main(args: readonly string[], io: ProcessIo): Promise<number> {
  // From the first moment: a signal stops the run with 130/143 (never the default death mid-write), and a
  // stdout or stderr that fails (a closed pipe) is a warning, never a crash.
  const interrupt = new AbortController();
  // Every operation in flight listens to it, and a run sends its reads together: more than Node's default of 10.
  setMaxListeners(0, interrupt.signal);
  const unsubscribe = io.onInterrupt((signal) => interrupt.abort(signal));
  const output = guardedOutput(io.stdout, io.stderr);
  try {
    return exitStatus(await runCommand(args, io, output, interrupt.signal));
  } catch (error) {
    // runCommand() turns every failure into a PrepareError; this is the net under it: one line, never a stack.
    const message = (error instanceof Error ? error.message : String(error))
      .split('\n', 1)[0]
      ?.slice(0, 300)
      // eslint-disable-next-line no-control-regex -- no control character reaches the terminal
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
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

async function runCommand(
  args: readonly string[],
  io: ProcessIo,
  output: ConsoleOutput,
  signal: AbortSignal,
): Promise<number> {
  const startedAt = Date.now();
  const version = toolVersion();
  const answer = fastAnswer(args, io, version);
  if (answer !== undefined) {
    output.out(answer);
    return 0;
  }
  const { randomUUID } = await import('node:crypto');
  const run: RunIdentity = { version, runId: randomUUID(), startedAt };
  const input = await readInput(args, io, output, signal, version);
  switch (input.kind) {
    case 'exit':
      return input.code;
    case 'usage-error':
      return reportUsageError(input, io, output, run);
    case 'settings':
      return prepare(input.resolved, io, output, signal, run);
  }
}

/** Who is running: the tool's version, this run's id (on every log line), when it started. */
interface RunIdentity {
  readonly version: string;
  readonly runId: string;
  readonly startedAt: number;
}

/**
 * What commander prints for --version and (into a pipe) for --help, without loading commander: a fleet loop
 * asking for the version pays for no more than this module. Undefined for every other command line.
 */
function fastAnswer(args: readonly string[], io: ProcessIo, version: string): string | undefined {
  if (isLoneOption(args, 'V', 'version')) return `${version}\n`;
  if (typeof PES_PIPE_HELP === 'string' && !isTerminal(io.stdout) && isLoneOption(args, 'H', 'help'))
    return PES_PIPE_HELP;
  return undefined;
}

/** The options read: settings to run with, commander's own answer (--help, a usage error it printed), or a usage error. */
type Input =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'settings'; readonly resolved: ResolvedSettings }
  | {
      readonly kind: 'usage-error';
      readonly error: PrepareError;
      readonly caught: unknown;
      /** Known before parsing could fail, so even a usage error answers in JSON and logs to --logFile when asked to. */
      readonly jsonRequested: boolean;
      readonly requestedLogFile: string | undefined;
    };

/** Parses the command line and resolves the settings, with the files they name and a password on stdin. */
async function readInput(
  args: readonly string[],
  io: ProcessIo,
  output: ConsoleOutput,
  signal: AbortSignal,
  version: string,
): Promise<Input> {
  // --help needs commander and the option table only; settings, the log and the run come after parsing.
  const [{ normalizeArgv, parseCommandLine }, { isPrepareError }] = await Promise.all([
    import('./options.js'),
    import('../model/errors.js'),
  ]);
  let jsonRequested = normalizeArgv(args).includes('--json');
  // Likewise the log file: a usage error commander itself reports (an unknown option) goes to --logFile too.
  let requestedLogFile = logFileInArgv(normalizeArgv(args));
  try {
    const parsed = parseCommandLine(args, version, {
      out: (text) => output.out(text),
      err: (text) => output.err(text),
    });
    if (parsed.kind === 'exit') return { kind: 'exit', code: parsed.code };
    const logFileOption = parsed.options['logFile'];
    if (typeof logFileOption === 'string' && logFileOption !== '') requestedLogFile = resolve(logFileOption);
    const [
      { resolveSettings, wantsJson, passwordFilesFromStdin },
      { PASSWORD_FILE_MAX_BYTES, readLine },
      { interruption },
    ] = await Promise.all([import('./settings.js'), import('./input.js'), import('../model/errors.js')]);
    jsonRequested ||= wantsJson(parsed.options, parsed.explicit);
    output.stdoutIsData(jsonRequested);
    // `-` as a password file: stdin's first line, read here because it may wait (a pipe, a terminal) and must
    // stay interruptible; two options on `-` are refused by resolveSettings before anything is read.
    let stdinLine: Buffer | Error = Buffer.alloc(0);
    if (passwordFilesFromStdin(parsed.options, parsed.explicit).length === 1) {
      stdinLine = await readLine(io.stdin, PASSWORD_FILE_MAX_BYTES, signal, () =>
        interruption(signal.reason, 'while reading a password from stdin'),
      ).catch((error: unknown) => (isPrepareError(error) ? Promise.reject(error) : (error as Error)));
    }
    const resolved = resolveSettings(parsed.options, parsed.explicit, {
      env: io.env,
      // a stream that is no terminal has no isTTY at all, whatever the type says
      stdinIsTTY: Boolean(io.stdin.isTTY),
      readStdin: () => {
        if (stdinLine instanceof Error) throw stdinLine;
        return stdinLine;
      },
    });
    if (signal.aborted) throw interruption(signal.reason, 'before connecting');
    return { kind: 'settings', resolved };
  } catch (caught) {
    // Anything thrown while reading the options and the files they name is about that input: one line, 89.
    const error = isPrepareError(caught) ? caught : await unexpectedInputError(caught);
    return { kind: 'usage-error', error, caught, jsonRequested, requestedLogFile };
  }
}

/** A usage error: logged (to --logFile when it could be read), one line on stderr, and the JSON object when asked for. */
async function reportUsageError(
  input: Extract<Input, { kind: 'usage-error' }>,
  io: ProcessIo,
  output: ConsoleOutput,
  run: RunIdentity,
): Promise<number> {
  const { error, caught, requestedLogFile } = input;
  const [{ openRunLog, userStateLogFile }, { isPrepareError }, { buildResult }] = await Promise.all([
    import('./log.js'),
    import('../model/errors.js'),
    import('./result.js'),
  ]);
  const { log } = await openRunLog(requestedLogFile ?? DEFAULT_LOG_FILE, run.runId, {
    ...(requestedLogFile === undefined ? { fallback: userStateLogFile(io.env) } : {}),
    onProblem: (message) => output.err(`Warning: ${message}\n`),
  });
  log.error(
    {
      event: 'usage-error',
      exitCode: error.resultCode,
      ...(isPrepareError(caught) || !(caught instanceof Error) ? {} : { stack: caught.stack ?? null }),
    },
    error.message,
  );
  // One line, as for every other failure: what failed, then what to do.
  output.err(`Error: ${error.message}${error.hint === undefined ? '' : `: ${error.hint}`}\n`);
  if (input.jsonRequested)
    output.out(`${JSON.stringify(buildResult({ version: run.version, runId: run.runId, warnings: [], error }))}\n`);
  return error.resultCode;
}

/** Where the run is told: the console (stdout, or stderr with --json), stderr for problems, the log, and its one warnings list. */
interface RunChannels {
  readonly screen: Renderer;
  readonly problems: Renderer;
  readonly log: RunLog;
  /** The run's one list of warnings: the options', the log's and the console's problems, and the core's. */
  readonly warnings: string[];
  /** The run's passwords, masked in everything it writes; a prompt's answer is added when given. */
  readonly mask: SecretMask;
}

/** Opens the log and sets up the console; from here on a failing log or console stream is a warning of the run. */
async function openChannels(
  resolved: ResolvedSettings,
  io: ProcessIo,
  output: ConsoleOutput,
  run: RunIdentity,
): Promise<RunChannels> {
  const { settings } = resolved;
  const err = (text: string): void => output.err(text);
  const [{ openRunLog, userStateLogFile, cleanedRunLog }, { Renderer }, { SecretMask }] = await Promise.all([
    import('./log.js'),
    import('./render.js'),
    import('../formats/server-text.js'),
  ]);
  const mask = new SecretMask((resolved.secrets ?? []).map((secret) => secret.reveal()));
  // With --json, stdout carries the JSON object alone: everything a person reads goes to stderr.
  output.stdoutIsData(resolved.json);
  const humanStream = resolved.json ? io.stderr : io.stdout;
  const human = resolved.json ? err : (text: string): void => output.out(text);
  // The renderers escape control characters in what they print; the mask takes out any password.
  const screen = new Renderer(
    { line: (text) => human(`${mask.apply(text)}\n`) },
    resolved.color && isTerminal(humanStream),
  );
  const problems = new Renderer(
    { line: (text) => err(`${mask.apply(text)}\n`) },
    resolved.color && isTerminal(io.stderr),
  );
  const warnings: string[] = [];
  // A log or console stream that fails later is a warning of the run (in --json too), said once.
  let reportProblem = (message: string): void => {
    warnings.push(message);
  };
  // The default log folder (in the tool folder) is not writable by a user running a root-owned global install:
  // then the log goes to the user's XDG state folder, and the run says so, once. A --logFile is never moved.
  const opened = await openRunLog(resolve(resolved.logFile ?? DEFAULT_LOG_FILE), run.runId, {
    ...(resolved.logFile === undefined ? { fallback: userStateLogFile(io.env) } : {}),
    onProblem: (message) => {
      problems.warning(message);
      reportProblem(message);
    },
  });
  const log: RunLog = cleanedRunLog(opened.log, mask);
  if (opened.problem !== undefined) {
    problems.warning(opened.problem);
    warnings.push(opened.problem);
  }
  if (opened.movedTo !== undefined)
    problems.info(`Log: this run is logged to ${opened.movedTo.file}, because ${opened.movedTo.reason}`);
  reportProblem = (message) => {
    warnings.push(message);
    log.warn({ event: 'warning' }, message);
  };
  output.onProblem((message) => reportProblem(message));
  log.info(
    {
      event: 'start',
      version: run.version,
      host: settings.host,
      port: settings.port,
      ...(settings.socketPath === undefined ? {} : { socketPath: settings.socketPath }),
      ...(settings.useSaslExternal === true ? { sasl: 'EXTERNAL' } : {}),
      ...(settings.clientCertificate === undefined ? {} : { clientCertificate: settings.clientCertificate.subject }),
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
    },
    'run started',
  );
  for (const message of resolved.warnings) {
    warnings.push(message);
    problems.warning(message);
    log.warn({ event: 'warning' }, message);
  }
  return { screen, problems, log, warnings, mask };
}

/** The run itself: the core wired to the console and the log, its outcome (or failure) told, its exit code. */
async function prepare(
  resolved: ResolvedSettings,
  io: ProcessIo,
  output: ConsoleOutput,
  signal: AbortSignal,
  run: RunIdentity,
): Promise<number> {
  const { settings } = resolved;
  const { screen, problems, log, warnings, mask } = await openChannels(resolved, io, output, run);
  const [{ terminalPrompter }, { renderLdif }, { buildResult }, { consoleReporter }, { escapeControls }] =
    await Promise.all([
      import('./prompts.js'),
      import('../formats/ldif.js'),
      import('./result.js'),
      import('./reporter.js'),
      import('../formats/server-text.js'),
    ]);
  const progress: RunProgress = {
    steps: [],
    // An ldapi run names its socket's URL, with no port.
    server: {
      host: settings.socketPath === undefined ? settings.host : `ldapi://${encodeURIComponent(settings.socketPath)}`,
      port: settings.socketPath === undefined ? settings.port : null,
      type: null,
      productName: null,
      vendor: null,
    },
  };
  const reporter = consoleReporter(screen, problems, log, settings.dryRun, warnings, progress);
  const stats: DirectoryStats = { reads: 0, writes: 0 };
  const asRun = { roles: settings.roles, remove: settings.remove, dryRun: settings.dryRun, ldap: stats };
  let result: RunResult;
  try {
    const [
      { prepareTopology },
      { connect, inspectServerCertificate },
      { trustAtTerminal },
      { connectionOptions },
      { displayLine },
    ] = await Promise.all([
      import('../core/topology.js'),
      import('../ldap/directory.js'),
      import('./trust-prompt.js'),
      import('../core/connections.js'),
      import('../formats/server-text.js'),
    ]);
    const prompter = resolved.canPrompt
      ? maskAnswers(terminalPrompter(io.stderr, { signal, color: resolved.color && isTerminal(io.stderr) }), mask)
      : undefined;
    // At a terminal, a server certificate nothing vouches for is shown and may be trusted for this run.
    const trust =
      prompter === undefined
        ? settings.trust
        : await trustAtTerminal(
            { ...connectionOptions(settings), signal },
            prompter,
            inspectServerCertificate,
            // The certificate's names are the server's words: each line masked, its control characters escaped.
            (text) =>
              io.stderr.write(
                `${text
                  .split('\n')
                  .map((line) => displayLine(line, mask))
                  .join('\n')}\n`,
              ),
          );
    const outcome = await prepareTopology(trust === settings.trust ? settings : { ...settings, trust }, {
      reporter,
      prompter,
      signal,
      stats,
      connect,
    });
    const ldif = settings.dryRun ? renderLdif(outcome.changes) : null;
    if (ldif !== null) {
      screen.block(
        outcome.changes.length === 0
          ? 'Dry run: nothing would change.'
          : `Dry run: these changes would be made (passwords masked):\n\n${ldif}\n`,
      );
    }
    screen.summary(
      outcome.steps,
      outcome.warnings.length,
      outcome.changed,
      settings.dryRun ? 'dry-run' : settings.remove ? 'remove' : 'prepare',
      outcome.verified,
    );
    result = buildResult({
      ...run,
      warnings,
      run: {
        ...asRun,
        server: progress.server,
        syncUserDn: outcome.syncUserDn,
        changed: outcome.changed,
        steps: outcome.steps,
        changeNumbers: outcome.changeNumbers ?? null,
        verified: outcome.verified ?? null,
        servers: outcome.servers,
        ldif,
      },
    });
    log.info(
      {
        event: 'end',
        exitCode: result.exitCode,
        changed: outcome.changed,
        reads: stats.reads,
        writes: stats.writes,
        roundTrips: stats.roundTrips ?? 0,
        durationMs: Date.now() - run.startedAt,
      },
      'run finished',
    );
  } catch (error) {
    const failure = await asFailure(error);
    problems.error(failure.message, failure.hint);
    if (failure.details !== undefined)
      output.err(`${escapeControls(mask.apply(failure.details), { keepNewlines: true })}\n`);
    result = buildResult({
      ...run,
      warnings,
      error: failure,
      run: {
        ...asRun,
        server: progress.server,
        syncUserDn: settings.syncUserDn ?? null,
        changed: stats.writes > 0,
        steps: progress.steps,
        changeNumbers: null,
        verified: null,
        ldif: null,
      },
    });
    log.error(
      {
        event: 'end',
        exitCode: result.exitCode,
        reads: stats.reads,
        writes: stats.writes,
        roundTrips: stats.roundTrips ?? 0,
        durationMs: Date.now() - run.startedAt,
        hint: failure.hint ?? null,
        ...(result.exitCode === 1 && error instanceof Error ? { stack: error.stack ?? null } : {}),
      },
      failure.message,
    );
  }
  // JSON escapes C0 controls itself; the mask also takes out passwords and escapes DEL and C1 controls.
  if (resolved.json)
    output.out(
      `${JSON.stringify(mask.deep(result, (text) => escapeControls(mask.apply(text), { keepNewlines: true })))}\n`,
    );
  return result.exitCode;
}

/** A prompter whose password answers join the run's mask as they are given. */
function maskAnswers(prompter: Prompter, mask: SecretMask): Prompter {
  return {
    text: (message, defaultValue, validate) => prompter.text(message, defaultValue, validate),
    secret: async (message) => {
      const answer = await prompter.secret(message);
      mask.add(answer);
      return answer;
    },
    newSecret: async (message) => {
      const answer = await prompter.newSecret(message);
      mask.add(answer);
      return answer;
    },
  };
}

/** The value of the last `--logFile` in normalized argv (before `--`), resolved; undefined when absent. */
function logFileInArgv(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (const [i, arg] of argv.entries()) {
    if (arg === '--') break;
    if (arg === '--logFile' && argv[i + 1] !== undefined) found = argv[i + 1];
    else if (arg.startsWith('--logFile=')) found = arg.slice('--logFile='.length);
  }
  return found === undefined || found === '' ? undefined : resolve(found);
}

/** Every way a run can fail, as one PrepareError: signals are 130/143 (already), anything unexpected is 1. */
async function asFailure(error: unknown): Promise<PrepareError> {
  const { isPrepareError, PrepareError, ResultCode } = await import('../model/errors.js');
  if (isPrepareError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PrepareError(
    ResultCode.UNEXPECTED,
    `Unexpected failure: ${message}`,
    'please report it with the log file',
    { cause: error },
  );
}

/** An error nobody foresaw while reading the options or a file they name: still bad input (89), one line. */
async function unexpectedInputError(error: unknown): Promise<PrepareError> {
  const { PrepareError, ResultCode } = await import('../model/errors.js');
  const message = error instanceof Error ? error.message : String(error);
  return new PrepareError(
    ResultCode.PARAM_ERROR,
    `Cannot use the options given: ${message.split('\n', 1)[0]}`,
    'check the options and the files they name (see --help); if they are right, report this with the log file',
    { cause: error },
  );
}
