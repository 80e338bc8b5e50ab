/**
 * Builders for PlannedStep, so a profile says what a step is (unchanged, a change, something for the operator)
 * and never spells the empty lists by hand.
 */
import type { Change } from './entries.js';
import type { PlannedStep } from './plan.js';

/** What names a step: its stable id and the title the console shows. */
export interface StepHead {
  readonly id: string;
  readonly title: string;
}

/** What a step may say besides its detail. */
export interface StepNotes {
  /** For the operator: restart needed, rights that could not be granted, a value kept. */
  readonly warnings?: readonly string[];
  /** Said before the step's writes are sent (see PlannedStep.cautions). */
  readonly cautions?: readonly string[];
}

function step(
  head: StepHead,
  status: PlannedStep['status'],
  detail: string | undefined,
  changes: readonly Change[],
  notes: StepNotes,
): PlannedStep {
  return {
    id: head.id,
    title: head.title,
    status,
    ...(detail === undefined ? {} : { detail }),
    changes,
    warnings: notes.warnings ?? [],
    ...(notes.cautions === undefined ? {} : { cautions: notes.cautions }),
  };
}

/** The server is already as the run wants it. */
export function unchanged(head: StepHead, detail?: string, notes: StepNotes = {}): PlannedStep {
  return step(head, 'unchanged', detail, [], notes);
}

/** Writes that make something new (`created`) or change what is there (`updated`). */
export function changed(
  head: StepHead,
  status: 'created' | 'updated',
  detail: string | undefined,
  changes: readonly Change[],
  notes: StepNotes = {},
): PlannedStep {
  return step(head, status, detail, changes, notes);
}

/** Something the run cannot or will not do itself: the warnings say what the operator should do. */
export function manual(
  head: StepHead,
  detail: string | undefined,
  warnings: readonly string[],
  changes: readonly Change[] = [],
): PlannedStep {
  return step(head, 'warning', detail, changes, { warnings });
}

/**
 * Nothing to write: `unchanged`, or `warning` when the operator must still do or know something (the server is as
 * the run wants it, except for what the warnings say).
 */
export function unchangedUnlessWarned(
  head: StepHead,
  detail: string | undefined,
  warnings: readonly string[],
): PlannedStep {
  return step(head, warnings.length > 0 ? 'warning' : 'unchanged', detail, [], { warnings });
}

/** A step that does not apply to this server or run. */
export function skipped(head: StepHead, detail?: string, notes: StepNotes = {}): PlannedStep {
  return step(head, 'skipped', detail, [], notes);
}
