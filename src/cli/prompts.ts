/**
 * Prompts on the terminal, with @inquirer/prompts loaded only when a question is really asked (a scripted
 * run never pays for it). Questions go to stderr so stdout stays clean for output a script reads.
 */
import type { Prompter } from '../core/ports.js';

export class InterruptedError extends Error {
  public override readonly name = 'InterruptedError';
}

export function terminalPrompter(output: NodeJS.WritableStream): Prompter {
  const context = { output, clearPromptOnDone: false };
  const guard = async <T>(ask: () => Promise<T>): Promise<T> => {
    try {
      return await ask();
    } catch (error) {
      // Ctrl-C (and a terminal that goes away) end the prompt with ExitPromptError.
      if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
        throw new InterruptedError('Interrupted at a prompt');
      }
      throw error;
    }
  };
  return {
    async text(message, defaultValue, validate) {
      const { input } = await import('@inquirer/prompts');
      return guard(() =>
        input({ message, default: defaultValue, validate: (value: string) => validate?.(value) ?? true }, context),
      );
    },
    async secret(message) {
      const { password } = await import('@inquirer/prompts');
      return guard(() => password({ message, mask: '*', validate: (v: string) => (v === '' ? 'the password may not be empty' : true) }, context));
    },
    async newSecret(message) {
      const { password } = await import('@inquirer/prompts');
      for (;;) {
        const first = await guard(() => password({ message, mask: '*', validate: (v: string) => (v === '' ? 'the password may not be empty' : true) }, context));
        const second = await guard(() => password({ message: 'Confirm the password:', mask: '*' }, context));
        if (first === second) return first;
        output.write('The passwords do not match; try again.\n');
      }
    },
  };
}
