/**
 * The run as the operator sees it: each event of the core's RunReporter goes to the console and the log, and
 * what the `--json` object needs of it (steps, the server detected, warnings) is kept.
 */
import type { RunReporter } from '../core/ports.js';
import { changedAttributes } from '../model/entries.js';
import type { PlannedStep } from '../model/plan.js';
import type { RunLog } from './log.js';
import type { Renderer } from './render.js';
import type { RunResult } from './result.js';

/** What the run said so far, for the result of a run that fails midway. */
export interface RunProgress {
  readonly steps: PlannedStep[];
  server: RunResult['server'];
}

export function consoleReporter(
  screen: Renderer,
  problems: Renderer,
  log: RunLog,
  dryRun: boolean,
  warnings: string[],
  progress: RunProgress,
): RunReporter {
  return {
    check(title, outcome, detail) {
      screen.check(title, outcome, detail);
      log.info({ event: 'check', outcome, ...(detail === undefined ? {} : { detail }) }, title);
    },
    info(message) {
      screen.info(message);
      log.info({ event: 'info' }, message);
    },
    detected(found) {
      progress.server = {
        ...progress.server,
        type: found.family,
        productName: found.productName,
        vendor: found.vendor,
      };
      log.info({ event: 'detected', type: found.family, vendor: found.vendor }, found.productName);
    },
    step(step) {
      progress.steps.push(step);
      screen.step(step, dryRun);
      log.info({ event: 'step', id: step.id, status: step.status, detail: step.detail ?? null, dryRun }, step.title);
    },
    warning(message) {
      warnings.push(message);
      problems.warning(message);
      log.warn({ event: 'warning' }, message);
    },
    wrote(change) {
      log.info(
        { event: 'write', kind: change.kind, dn: change.dn, attributes: changedAttributes(change) },
        `${change.kind} ${change.dn}`,
      );
    },
  };
}
