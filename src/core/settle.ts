/**
 * Applying a plan while other runs may change the same server. A write that collides with another run's is
 * forgiven only when a fresh observation shows the server already as this run wants it (or plans what is
 * left); and for families where two runs can both succeed and leave a duplicate behind (slapd numbers each
 * overlay entry it is given), the run observes again after its writes and applies what is still needed, until
 * a plan made from the server's state has nothing left to write.
 */
import { PrepareError, ResultCode } from '../model/errors.js';
import type { PlannedStep } from '../model/plan.js';
import type { Change } from '../model/entries.js';
import { applyPlan, ObservationOutdated, type ApplyContext, type ApplyProgress } from './apply.js';
import type { RunReporter } from './ports.js';

export interface SettleOptions {
  /** Observe again after any write, even when every write succeeded (ServerProfile.settlesAfterWrites). */
  readonly afterWrites: boolean;
  /** The whole plan again, from a fresh observation of the server. */
  readonly replan: () => Promise<PlannedStep[]>;
}

/** Plans made from fresh observations before the run gives up on a server that keeps changing. */
const MAX_REPLANS = 6;

/**
 * Result codes of a write that met another run's: noSuchAttribute, attributeOrValueExists, noSuchObject,
 * entryAlreadyExists, other (slapd's "namingContext already served by a preceding database"), and
 * operationsError (389 DS answers two simultaneous adds of one cn=config entry so). A fresh plan decides: the
 * same write failing again from it is no race, and is thrown.
 */
const CONFLICT_CODES: ReadonlySet<number> = new Set([
  ResultCode.NO_SUCH_ATTRIBUTE,
  ResultCode.ATTRIBUTE_OR_VALUE_EXISTS,
  ResultCode.NO_SUCH_OBJECT,
  ResultCode.ENTRY_ALREADY_EXISTS,
  ResultCode.OTHER,
  ResultCode.OPERATIONS_ERROR,
]);

/** Applies `plan`, then settles the server as described above; returns the steps with what settling added. */
export async function applySettled(
  plan: readonly PlannedStep[],
  context: ApplyContext,
  options: SettleOptions,
): Promise<PlannedStep[]> {
  let steps: PlannedStep[] = [];
  let round: readonly PlannedStep[] = plan;
  let wrote = false;
  let lastFailed: Change | undefined;
  for (let replans = 0; ; replans++) {
    const { applied, conflict, failed } = await applyUnlessConflict(round, context);
    steps = merged(steps, applied);
    wrote ||= applied.some((step) => step.changes.length > 0);
    if (conflict === undefined && !(options.afterWrites && wrote)) break;
    // The same write failing again from a fresh plan is no race: the server refuses it.
    if (conflict !== undefined && failed !== undefined && lastFailed !== undefined && sameWrite(failed, lastFailed))
      throw conflict;
    lastFailed = failed;
    if (replans === MAX_REPLANS) {
      if (conflict !== undefined) throw conflict;
      context.warn(
        `The server still changed after ${MAX_REPLANS} rounds of checks (other runs at the same time?): run this command again once they are done`,
      );
      break;
    }
    // By id: a step whose writes another run made first is reported (and applied) as a new, unchanged step object.
    const appliedIds = new Set(applied.map((step) => step.id));
    const unsettled = new Set(round.filter((step) => !appliedIds.has(step.id)).map((step) => step.id));
    // Runs that met on one entry would meet again if they read it again at once: a short random pause parts them.
    if (conflict !== undefined) await pause(10 + Math.floor(Math.random() * 40 * (replans + 1)));
    const fresh = await options.replan();
    // A step a conflict stopped before it ran takes its state from the fresh plan: nothing left to write means
    // another run did it, and it is reported as the server now has it.
    for (const step of fresh) {
      if (!unsettled.has(step.id) || step.changes.length > 0) continue;
      context.reporter.step(step);
      for (const message of step.warnings) context.warn(message);
      steps = merged(steps, [step]);
    }
    round = fresh.filter((step) => step.changes.length > 0);
    if (round.length === 0) break;
    const writes = round.reduce((count, step) => count + step.changes.length, 0);
    context.reporter.info(
      `The server changed while this run wrote (another run at the same time?): ${writes} more write${writes === 1 ? '' : 's'} to finish`,
    );
  }
  return steps;
}

/**
 * Applies the steps; a write that collided with another run's stops them and is returned (to plan again), any
 * other failure is thrown. `applied` are the steps whose writes were all made (and reported).
 */
async function applyUnlessConflict(
  steps: readonly PlannedStep[],
  context: ApplyContext,
): Promise<{ applied: PlannedStep[]; conflict?: PrepareError; failed?: Change }> {
  const applied: PlannedStep[] = [];
  const progress: ApplyProgress = {};
  const outer = context.reporter;
  const reporter: RunReporter = {
    check: (title, outcome, detail) => outer.check(title, outcome, detail),
    info: (message) => outer.info(message),
    detected: (server) => outer.detected(server),
    step: (step) => {
      applied.push(step);
      outer.step(step);
    },
    warning: (message) => outer.warning(message),
    wrote: (change) => outer.wrote(change),
  };
  try {
    await applyPlan(steps, { ...context, reporter }, progress);
    return { applied };
  } catch (error) {
    // An AD descriptor that changed since it was read is the same kind of meeting, found before the write.
    if (
      error instanceof ObservationOutdated ||
      (error instanceof PrepareError && CONFLICT_CODES.has(error.resultCode))
    ) {
      return { applied, conflict: error, ...(progress.failed === undefined ? {} : { failed: progress.failed }) };
    }
    throw error;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sameWrite(a: Change, b: Change): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The run's steps with a later round's folded into the step of the same id (or added after them). */
function merged(steps: readonly PlannedStep[], later: readonly PlannedStep[]): PlannedStep[] {
  const result = [...steps];
  for (const step of later) {
    const index = result.findIndex((s) => s.id === step.id);
    const earlier = index < 0 ? undefined : result[index];
    if (earlier === undefined) {
      result.push(step);
      continue;
    }
    result[index] = {
      ...earlier,
      status: earlier.changes.length > 0 ? earlier.status : step.status,
      detail: [earlier.detail, step.detail].filter((d) => d !== undefined).join('; then '),
      changes: [...earlier.changes, ...step.changes],
      warnings: [...earlier.warnings, ...step.warnings],
    };
  }
  return result;
}
