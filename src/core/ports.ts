/** What the core needs from the outside world, so the CLI can provide it and tests can fake it. */
import type { Change } from '../model/entries.js';
import type { PlannedStep } from '../model/plan.js';

export interface Prompter {
  /** Free text with a default that Enter accepts; `validate` returns an error message or undefined. */
  text(message: string, defaultValue: string, validate?: (value: string) => string | undefined): Promise<string>;
  secret(message: string): Promise<string>;
  /** A new password, asked twice until both answers match. */
  newSecret(message: string): Promise<string>;
}

/** The run as it happens: the CLI renders it and logs it. */
export interface RunReporter {
  /**
   * A check in Ping's style: `Testing connection to host:port ..... Done`. `Empty`: the entry checked does not
   * exist yet on a correctly prepared server, and access was verified another way.
   */
  check(title: string, outcome: 'Done' | 'Empty' | 'Denied' | 'Missing' | 'Failed', detail?: string): void;
  info(message: string): void;
  /** The server type the run settled on (detected or forced). */
  detected(server: { readonly family: string; readonly productName: string; readonly vendor: string }): void;
  step(step: PlannedStep): void;
  warning(message: string): void;
  /** After each successful write (the log records DN and attribute names, never values). */
  wrote(change: Change): void;
}

/**
 * The directory port, what the core asks of a connection and the factory RunDependencies.connect, lives in
 * model/directory.ts, where src/ldap's adapter can name it too (the ldap layer may not import the core).
 */
export type { Directory, DirectoryConnector } from '../model/directory.js';
