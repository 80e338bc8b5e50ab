/**
 * Prompts on the terminal, with @inquirer/prompts loaded only when a question is really asked (a scripted
 * run never pays for it). Questions go to stderr so stdout stays clean for output a script reads.
 */
import type { Prompter } from '../core/ports.js';
import { interruption } from '../model/errors.js';

export interface PromptOptions {
  /** Aborted on SIGINT or SIGTERM from outside (kill): the open prompt ends at once. */
  readonly signal: AbortSignal;
  /** False for NO_COLOR, TERM=dumb, --no-color: the prompts are plain text too. */
  readonly color: boolean;
}

const identity = (text: string): string => text;

/** Inquirer's theme without a single escape sequence. */
const PLAIN_THEME = {
  prefix: { idle: '?', done: '>' },
  style: {
    answer: identity,
    message: identity,
    error: (text: string) => `> ${text}`,
    defaultAnswer: (text: string) => `(${text})`,
    help: identity,
    highlight: identity,
    key: (text: string) => `<${text}>`,
    maskedText: '[input is masked]',
  },
};

export function terminalPrompter(output: NodeJS.WritableStream, options: PromptOptions): Prompter {
  const context = { output, clearPromptOnDone: false, signal: options.signal };
  const theme = options.color ? {} : { theme: PLAIN_THEME };
  const guard = async <T>(ask: () => Promise<T>): Promise<T> => {
    try {
      return await ask();
    } catch (error) {
      // Ctrl-C typed at the prompt (and a terminal that goes away) end it with ExitPromptError; a signal
      // from outside aborts it (AbortPromptError) with the signal's name as the reason.
      if (error instanceof Error && error.name === 'AbortPromptError')
        throw interruption(options.signal.reason, 'at a prompt');
      if (error instanceof Error && error.name === 'ExitPromptError') throw interruption('SIGINT', 'at a prompt');
      throw error;
    }
  };
  /** A password, never empty, echoed as `*`. */
  const askPassword = async (message: string): Promise<string> => {
    const { password } = await import('@inquirer/prompts');
    return guard(() =>
      password(
        { message, mask: '*', validate: (v: string) => (v === '' ? 'the password may not be empty' : true), ...theme },
        context,
      ),
    );
  };
  return {
    async text(message, defaultValue, validate) {
      const { input } = await import('@inquirer/prompts');
      return guard(() =>
        input(
          { message, default: defaultValue, validate: (value: string) => validate?.(value) ?? true, ...theme },
          context,
        ),
      );
    },
    secret(message) {
      return askPassword(message);
    },
    async newSecret(message) {
      const { password } = await import('@inquirer/prompts');
      for (;;) {
        const first = await askPassword(message);
        const second = await guard(() => password({ message: 'Confirm the password:', mask: '*', ...theme }, context));
        if (first === second) return first;
        output.write('The passwords do not match; try again.\n');
      }
    },
  };
}
