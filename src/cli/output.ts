/**
 * stdout and stderr as a run writes to them. Output never stops or changes a preparation: when a stream
 * fails (EPIPE because the reader went away, as in `| head -c 20`; EIO on a lost terminal; ENOSPC on a full
 * disk), later writes to it are dropped, and the failure is said once on the other stream if it still works.
 * The exit code stays that of the run.
 */
export type StreamName = 'stdout' | 'stderr';

export interface ConsoleOutput {
  out(text: string): void;
  err(text: string): void;
  /** True once the stream has failed: nothing more is written to it. */
  broken(name: StreamName): boolean;
  /** Told once per failed stream, with the sentence that was (or could not be) printed. */
  onProblem(listener: (message: string) => void): void;
  /** With --json stdout carries the JSON object alone: a failed stderr is then not reported on stdout. */
  stdoutIsData(value: boolean): void;
}

export function guardedOutput(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): ConsoleOutput {
  const streams: Record<StreamName, NodeJS.WritableStream> = { stdout, stderr };
  const failed = new Set<StreamName>();
  const problems: string[] = [];
  let listener: ((message: string) => void) | undefined;
  let dataOnStdout = false;

  const fail = (name: StreamName, error: unknown): void => {
    if (failed.has(name)) return;
    failed.add(name);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const message = `cannot write to ${name}${code === undefined ? '' : ` (${code})`}: the rest of its output is dropped; the run goes on`;
    problems.push(message);
    listener?.(message);
    if (name === 'stdout') write('stderr', `Warning: ${message}\n`);
    else if (!dataOnStdout) write('stdout', `Warning: ${message}\n`);
  };

  const write = (name: StreamName, text: string): void => {
    if (failed.has(name)) return;
    try {
      streams[name].write(text, (error) => {
        if (error !== null && error !== undefined) fail(name, error);
      });
    } catch (error) {
      fail(name, error);
    }
  };

  // A failed write is also emitted as 'error'; without a listener it would end the process with a stack.
  // The listeners stay: an error can be emitted after the run has returned.
  stdout.on('error', (error: unknown) => fail('stdout', error));
  if (stderr !== stdout) stderr.on('error', (error: unknown) => fail('stderr', error));

  return {
    out: (text) => write('stdout', text),
    err: (text) => write('stderr', text),
    broken: (name) => failed.has(name),
    stdoutIsData(value) {
      dataOnStdout = value;
    },
    onProblem(next) {
      listener = next;
      for (const message of problems) next(message);
    },
  };
}
