/**
 * Applying the plan: the writes in order, each reported as made. A write that fails because the server is
 * already as it wanted (another run got there first) counts as done; any other failure stops the run, and a
 * refusal for lack of rights carries the LDIF of what is left, for an administrator to apply by hand.
 */
import { interruption, isInterruption, PrepareError, ResultCode } from '../model/errors.js';
import { renderLdif } from '../formats/ldif.js';
import { isSecretAttribute, valuesOf, type Change } from '../model/entries.js';
import type { PlannedStep } from '../model/plan.js';
import type { Directory } from '../model/directory.js';
import type { OpenDirectory } from './connections.js';
import type { RunReporter } from './ports.js';

/** What applying needs of the run: the admin connection to write on, and how to open another to test a password. */
export interface ApplyContext {
  readonly admin: Directory;
  readonly open: OpenDirectory;
  readonly reporter: RunReporter;
  /** Checked before each write: Ctrl-C or SIGTERM stops the run before the next write (see WRITE_GRACE_MS for the one in flight). */
  readonly signal: AbortSignal;
  readonly warn: (message: string) => void;
  /** How the run reached the server: named by the ldappasswd command printed instead of a password. */
  readonly adminConnection?: { readonly url: string; readonly startTls: boolean; readonly adminDn: string };
  /** What to do when the admin may not make a change, when the run knows better than "bind as another admin". */
  readonly insufficientAccessHint?: string;
}

/**
 * A write whose `unlessChanged` precondition failed: the entry changed since it was observed. The run reads
 * again and plans again rather than overwrite what the other writer did.
 */
export class ObservationOutdated extends PrepareError {
  public constructor(public readonly dn: string) {
    super(
      ResultCode.BUSY,
      `'${dn}' kept changing while this run was writing it (another run or person is changing it too)`,
      'run the same command again once the other change is done',
    );
  }
}

/** Where applyPlan stopped: the change whose write failed. */
export interface ApplyProgress {
  failed?: Change;
}

/** Applies steps in order, each write reported as made; a refusal carries the LDIF of what is left. */
export async function applyPlan(
  steps: readonly PlannedStep[],
  context: ApplyContext,
  progress: ApplyProgress = {},
): Promise<void> {
  const { admin, open, reporter, signal, warn } = context;
  const changes = steps.flatMap((step) => step.changes);
  let applied = 0;
  for (const step of steps) {
    const kept: Change[] = [];
    // A caution is read before the write it is about: the server may not survive that write.
    if (step.changes.length > 0) for (const message of step.cautions ?? []) warn(message);
    for (const change of step.changes) {
      if (signal.aborted) throw interruption(signal.reason, 'before all changes were made');
      if (
        change.kind === 'modify' &&
        change.unlessChanged !== undefined &&
        !(await stillAsRead(admin, change.dn, change.unlessChanged))
      ) {
        // Not a failed write (progress.failed stays unset): the same write planned again from a fresh read is fine.
        throw new ObservationOutdated(change.dn);
      }
      try {
        await admin.apply(change);
        reporter.wrote(change);
      } catch (error) {
        // Another run (or person) may have made the same change since we read the server: that is success.
        if (!(await madeMeanwhile(admin, change, error, open))) {
          progress.failed = change;
          throw withRemainingChanges(error, changes.slice(applied), context);
        }
        reporter.info(`'${change.dn}' was changed meanwhile by someone else, as this run wanted: kept`);
        kept.push(change);
      }
      applied += 1;
    }
    const reported = asWritten(step, kept);
    reporter.step(reported);
    for (const message of step.warnings) warn(message);
  }
}

/**
 * The step as this run made it: a write another run made first (kept) is no write of this run, and a step all of
 * whose writes were kept says `unchanged`, never Created.
 */
function asWritten(step: PlannedStep, kept: readonly Change[]): PlannedStep {
  if (kept.length === 0) return step;
  const written = step.changes.filter((change) => !kept.includes(change));
  const note = 'made meanwhile by another writer (a concurrent run, or replication), as this run wanted: kept';
  return {
    ...step,
    ...(written.length === 0 ? { status: 'unchanged' as const } : {}),
    detail: step.detail === undefined ? note : `${step.detail}; ${note}`,
    changes: written,
  };
}

/** The precondition of a modify: `attribute` still has exactly the values observed. */
async function stillAsRead(
  admin: Directory,
  dn: string,
  expected: NonNullable<Extract<Change, { kind: 'modify' }>['unlessChanged']>,
): Promise<boolean> {
  const entry =
    expected.controls === undefined
      ? await admin.read(dn, [expected.attribute])
      : await admin.read(dn, [expected.attribute], { controls: expected.controls });
  const now = valuesOf(entry, expected.attribute);
  return now.length === expected.values.length && expected.values.every((value) => now.includes(value));
}

/** Result codes a write gets when the server already is as the write wanted (a concurrent run got there first). */
const ALREADY_DONE_CODES: ReadonlySet<number> = new Set([
  ResultCode.NO_SUCH_OBJECT, // delete of an entry already gone
  ResultCode.NO_SUCH_ATTRIBUTE, // delete of a value already gone
  ResultCode.ATTRIBUTE_OR_VALUE_EXISTS, // add of a value already there
  ResultCode.ENTRY_ALREADY_EXISTS,
]);

/**
 * After a write failed with one of ALREADY_DONE_CODES: reads the entry back and says whether it is now as the
 * write wanted. A racing add of an account only counts when the account accepts this run's password.
 */
async function madeMeanwhile(admin: Directory, change: Change, error: unknown, open: OpenDirectory): Promise<boolean> {
  if (!(error instanceof PrepareError) || !ALREADY_DONE_CODES.has(error.resultCode)) return false;
  switch (change.kind) {
    case 'delete':
      return (await admin.read(change.dn, ['objectClass'])) === undefined;
    case 'add': {
      if (error.resultCode !== ResultCode.ENTRY_ALREADY_EXISTS) return false;
      if ((await admin.read(change.dn, ['objectClass'])) === undefined) return false;
      const secret = Object.entries(change.attributes).find(([name]) => isSecretAttribute(name))?.[1][0];
      if (secret === undefined) return true;
      const probe = await open();
      try {
        await probe.bind(change.dn, secret);
        return true;
      } catch (probeError) {
        if (isInterruption(probeError)) throw probeError;
        return false;
      } finally {
        await probe.close();
      }
    }
    case 'modify': {
      // Secret values cannot be read back (servers hash them): such a write is never assumed done.
      if (change.modifications.some((m) => isSecretAttribute(m.attribute))) return false;
      const entry = await admin.read(change.dn, [...new Set(change.modifications.map((m) => m.attribute))]);
      if (entry === undefined) return false;
      return change.modifications.every((m) => {
        const now = valuesOf(entry, m.attribute);
        switch (m.operation) {
          case 'add':
            return m.values.every((value) => now.includes(value));
          case 'delete':
            return m.values.length === 0 ? now.length === 0 : m.values.every((value) => !now.includes(value));
          case 'replace':
            return now.length === m.values.length && m.values.every((value) => now.includes(value));
        }
      });
    }
  }
}

/**
 * When the admin may not make a change, the operator gets the LDIF of what is left to apply by hand. A password
 * is never printed, not even masked: its values are left out and the ldappasswd command that sets it is given.
 */
function withRemainingChanges(error: unknown, remaining: readonly Change[], context: ApplyContext): unknown {
  if (
    !(error instanceof PrepareError) ||
    error.resultCode !== ResultCode.INSUFFICIENT_ACCESS ||
    error.details !== undefined
  ) {
    return error;
  }
  const passwords = new Set<string>();
  const withoutSecrets = remaining.flatMap((change): Change[] => {
    if (change.kind === 'add') {
      const kept = Object.entries(change.attributes).filter(([name]) => !isSecretAttribute(name));
      if (kept.length < Object.keys(change.attributes).length) passwords.add(change.dn);
      return [{ ...change, attributes: Object.fromEntries(kept) }];
    }
    if (change.kind === 'modify') {
      const kept = change.modifications.filter((m) => !isSecretAttribute(m.attribute));
      if (kept.length < change.modifications.length) passwords.add(change.dn);
      return kept.length === 0 ? [] : [{ ...change, modifications: kept }];
    }
    return [change];
  });
  const connection = context.adminConnection;
  const server =
    connection === undefined
      ? ''
      : ` -H '${connection.url}'${connection.startTls ? ' -ZZ' : ''} -D '${connection.adminDn.replace(/'/g, "'\\''")}'`;
  const setPasswords = [...passwords].map(
    (dn) =>
      `# then its password (asked for, never printed): ldappasswd -x${server} -W -S '${dn.replace(/'/g, "'\\''")}'`,
  );
  return new PrepareError(
    error.resultCode,
    error.message,
    context.insufficientAccessHint ?? 'bind as an administrator with the rights, or have one apply the LDIF below',
    { cause: error, details: [renderLdif(withoutSecrets), ...setPasswords].join('\n\n') },
  );
}
