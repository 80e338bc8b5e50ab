/** Console output in the style of Ping's tool: `Testing connection to host:port ..... Done`. */
import { Chalk, type ChalkInstance } from 'chalk';
import type { PlannedStep, StepStatus } from '../model/plan.js';
import { cut, escapeControls, LINE_MAX_CHARS } from '../formats/server-text.js';

const LINE_WIDTH = 72;

/**
 * A piece of a line, whatever it holds (DNs and messages may carry a server's words): control characters
 * shown escaped, so nothing a server sends can move the cursor, clear the screen or forge a line; a flood cut.
 */
function plain(text: string): string {
  return escapeControls(cut(text, LINE_MAX_CHARS));
}

/** A block of lines (the dry run's LDIF): newlines kept, every other control character escaped. */
function block(text: string): string {
  return escapeControls(text, { keepNewlines: true });
}

export interface Console {
  line(text: string): void;
}

export class Renderer {
  private readonly style: ChalkInstance;

  public constructor(
    private readonly out: Console,
    color: boolean,
  ) {
    this.style = new Chalk({ level: color ? 1 : 0 });
  }

  public check(title: string, outcome: string, detail?: string): void {
    const word =
      outcome === 'Done' || outcome === 'Empty'
        ? this.style.green(outcome)
        : outcome === 'Denied'
          ? this.style.yellow(outcome)
          : this.style.red(outcome);
    this.out.line(`${dotted(plain(title))} ${word}${detail === undefined ? '' : ` (${plain(detail)})`}`);
  }

  public info(message: string): void {
    this.out.line(plain(message));
  }

  /** Several lines as they are (the dry run's LDIF), every control character but the newline escaped. */
  public block(text: string): void {
    this.out.line(block(text));
  }

  public step(step: PlannedStep, dryRun = false): void {
    if (dryRun) {
      // Nothing was done: say what would be.
      const word =
        step.status === 'created'
          ? 'Would create'
          : step.status === 'updated'
            ? 'Would update'
            : this.status(step.status);
      this.out.line(
        `${dotted(plain(step.title))} ${word}${step.detail === undefined ? '' : this.style.dim(` (${plain(step.detail)})`)}`,
      );
      return;
    }
    if (step.id === 'sync-user' && step.status === 'created') {
      // Ping prints exactly this line when it creates the account.
      this.out.line(`Created '${plain(step.title).replace(/^Sync user '(.*)'$/, '$1')}'`);
      return;
    }
    this.out.line(
      `${dotted(plain(step.title))} ${this.status(step.status)}${step.detail === undefined ? '' : this.style.dim(` (${plain(step.detail)})`)}`,
    );
  }

  public warning(message: string): void {
    this.out.line(`${this.style.yellow('Warning:')} ${plain(message)}`);
  }

  public error(message: string, hint?: string): void {
    this.out.line(`${this.style.red('Error:')} ${plain(message)}${hint === undefined ? '' : `: ${plain(hint)}`}`);
  }

  public summary(
    steps: readonly PlannedStep[],
    warnings: number,
    changed: boolean,
    mode: 'prepare' | 'remove' | 'dry-run' = 'prepare',
    verified?: boolean,
  ): void {
    const counts = new Map<StepStatus, number>();
    for (const step of steps) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
    const parts = (['created', 'updated', 'unchanged', 'skipped', 'warning'] as const)
      .filter((status) => (counts.get(status) ?? 0) > 0)
      .map((status) => `${counts.get(status)} ${status === 'warning' ? 'to check' : status}`);
    const pending = steps.some((step) => step.changes.length > 0);
    const tail =
      mode === 'dry-run'
        ? ' (dry run: nothing was written)'
        : verified === false
          ? `: NOT verified, ${mode === 'remove' ? 'the account is still there' : 'the sync user cannot do all its role needs'} (see the warnings)`
          : changed || pending
            ? ''
            : mode === 'remove'
              ? ': nothing to remove'
              : ': nothing to change, the server was already prepared';
    this.out.line(
      `Summary: ${parts.join(', ')}${warnings > 0 ? `; ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}${tail}`,
    );
  }

  private status(status: StepStatus): string {
    const word = status.charAt(0).toUpperCase() + status.slice(1);
    switch (status) {
      case 'created':
      case 'updated':
        return this.style.green(word);
      case 'warning':
        return this.style.yellow(word);
      default:
        return word;
    }
  }
}

function dotted(title: string): string {
  const dots = Math.max(5, LINE_WIDTH - title.length - 2);
  return `${title} ${'.'.repeat(dots)}`;
}
