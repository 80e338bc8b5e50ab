/**
 * Driving the core's run in process: settings as the CLI would resolve them, a reporter that records what the
 * run says, and a run of prepareEndpoint against a FakeDirectoryServer.
 */
import { prepareEndpoint, type RunOutcome } from '../../src/core/run.js';
import type { Prompter, RunReporter } from '../../src/core/ports.js';
import type { Settings } from '../../src/core/settings.js';
import type { Change } from '../../src/model/entries.js';
import type { DirectoryStats } from '../../src/model/directory.js';
import { PrepareError } from '../../src/model/errors.js';
import type { PlannedStep } from '../../src/model/plan.js';
import { Secret } from '../../src/model/secret.js';
import type { FakeDirectoryServer } from './fake-directory.js';

export const ADMIN_DN = 'cn=Directory Manager';
export const ADMIN_PASSWORD = 'admin-secret';
export const SYNC_PASSWORD = 'sync-Secret-1';

/** A run's settings with --no-prompt defaults: plain LDAP to localhost, both passwords given. */
export function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    host: '127.0.0.1',
    port: 389,
    security: 'none',
    trust: { kind: 'system' },
    connectTimeoutMs: 1000,
    operationTimeoutMs: 1000,
    bindDn: ADMIN_DN,
    bindPassword: new Secret(ADMIN_PASSWORD),
    syncUserDn: undefined,
    syncPassword: new Secret(SYNC_PASSWORD),
    baseDns: ['dc=example,dc=com'],
    roles: { source: true, destination: false },
    changelogMaxAgeSeconds: undefined,
    serverType: 'auto',
    resetSyncPassword: false,
    inheritDefaultRootPrivileges: false,
    accesslogDirectory: undefined,
    remove: false,
    disableChangelog: false,
    dryRun: false,
    ...overrides,
  };
}

/** Everything a run said, in order. */
export interface Transcript {
  readonly lines: string[];
  readonly checks: string[];
  readonly steps: PlannedStep[];
  readonly warnings: string[];
  readonly wrote: Change[];
}

export function recordingReporter(onWrote?: (change: Change) => void): {
  reporter: RunReporter;
  transcript: Transcript;
} {
  const transcript: Transcript = { lines: [], checks: [], steps: [], warnings: [], wrote: [] };
  const reporter: RunReporter = {
    check(title, outcome, detail) {
      transcript.checks.push(`${title}: ${outcome}${detail === undefined ? '' : ` (${detail})`}`);
      transcript.lines.push(`check ${title}: ${outcome}`);
    },
    info(message) {
      transcript.lines.push(`info ${message}`);
    },
    detected(server) {
      transcript.lines.push(`detected ${server.family}`);
    },
    step(step) {
      transcript.steps.push(step);
      transcript.lines.push(`step ${step.id}: ${step.status}`);
    },
    warning(message) {
      transcript.warnings.push(message);
      transcript.lines.push(`warning ${message}`);
    },
    wrote(change) {
      transcript.wrote.push(change);
      onWrote?.(change);
    },
  };
  return { reporter, transcript };
}

export interface RunResult {
  readonly outcome?: RunOutcome;
  readonly error?: PrepareError;
  readonly transcript: Transcript;
  readonly stats: DirectoryStats;
}

/** One run of the core against `server`, as the CLI makes it; a PrepareError is returned, anything else thrown. */
export async function run(
  server: FakeDirectoryServer,
  given: Settings,
  options: { signal?: AbortSignal; onWrote?: (change: Change) => void; prompter?: Prompter } = {},
): Promise<RunResult> {
  const { reporter, transcript } = recordingReporter(options.onWrote);
  const stats: DirectoryStats = { reads: 0, writes: 0 };
  try {
    const outcome = await prepareEndpoint(given, {
      reporter,
      prompter: options.prompter,
      signal: options.signal ?? new AbortController().signal,
      stats,
      connect: server.connect,
    });
    return { outcome, transcript, stats };
  } catch (error) {
    if (!(error instanceof PrepareError)) throw error;
    return { error, transcript, stats };
  }
}
