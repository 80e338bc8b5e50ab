/** Console output in the style of Ping's tool: `Testing connection to host:port ..... Done`. */
import type { PlannedStep, StepStatus } from '../model/plan.js';

/**
 * The four styles the console uses, as the 16-colour ANSI codes (what chalk wrote at level 1, without loading
 * chalk and the terminal detection it brings: a run's start-up is shorter without them, BENCHMARKS.md). A style
 * is closed before a line break and opened again after it, so a cut or paged line keeps no colour.
 */
interface Styles {
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
}

function ansi(open: number, close: number): (text: string) => string {
  const start = `\u001B[${open}m`;
  const end = `\u001B[${close}m`;
  return (text) =>
    text === '' ? '' : `${start}${text.replace(/\r?\n/g, (newline) => `${end}${newline}${start}`)}${end}`;
}

const COLOURS: Styles = { green: ansi(32, 39), yellow: ansi(33, 39), red: ansi(31, 39), dim: ansi(2, 22) };
const PLAIN: Styles = { green: String, yellow: String, red: String, dim: String };

const LINE_WIDTH = 72;

export interface Console {
  line(text: string): void;
}

export class Renderer {
  private readonly style: Styles;

  public constructor(
    private readonly out: Console,
    color: boolean,
  ) {
    this.style = color ? COLOURS : PLAIN;
  }

  public check(title: string, outcome: string, detail?: string): void {
    const word =
      outcome === 'Done' || outcome === 'Empty'
        ? this.style.green(outcome)
        : outcome === 'Denied'
          ? this.style.yellow(outcome)
          : this.style.red(outcome);
    this.out.line(`${dotted(title)} ${word}${detail === undefined ? '' : ` (${detail})`}`);
  }

  public info(message: string): void {
    this.out.line(message);
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
        `${dotted(step.title)} ${word}${step.detail === undefined ? '' : this.style.dim(` (${step.detail})`)}`,
      );
      return;
    }
    if (step.id === 'sync-user' && step.status === 'created') {
      // Ping prints exactly this line when it creates the account.
      this.out.line(`Created '${step.title.replace(/^Sync user '(.*)'$/, '$1')}'`);
      return;
    }
    this.out.line(
      `${dotted(step.title)} ${this.status(step.status)}${step.detail === undefined ? '' : this.style.dim(` (${step.detail})`)}`,
    );
  }

  public warning(message: string): void {
    this.out.line(`${this.style.yellow('Warning:')} ${message}`);
  }

  public error(message: string, hint?: string): void {
    this.out.line(`${this.style.red('Error:')} ${message}${hint === undefined ? '' : `: ${hint}`}`);
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
