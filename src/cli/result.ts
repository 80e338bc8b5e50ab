/**
 * The `--json` result: one object on stdout describing the run, whether it succeeded or not. The schema is
 * documented in the README ("Scripting"); tests parse it. No secret ever reaches it: steps carry DNs and
 * attribute names, and LDIF values of password attributes are masked.
 */
import type { PlannedStep } from '../model/plan.js';

export interface RunResult {
  readonly tool: 'prepare-endpoint-server';
  readonly version: string;
  readonly runId: string;
  readonly server: {
    readonly host: string | null;
    readonly port: number | null;
    readonly type: string | null;
    readonly productName: string | null;
    readonly vendor: string | null;
  };
  readonly roles: { readonly source: boolean; readonly destination: boolean };
  readonly remove: boolean;
  readonly dryRun: boolean;
  readonly syncUserDn: string | null;
  /** True when the run wrote anything. */
  readonly changed: boolean;
  readonly steps: readonly { readonly id: string; readonly title: string; readonly status: string; readonly detail: string | null }[];
  readonly warnings: readonly string[];
  readonly changeNumbers: { readonly first: string; readonly last: string } | null;
  /**
   * The final check passed (the sync user can do what its role needs; after --remove, the account is gone);
   * false when it did not (the run still exits 0: the writes are made, the warnings say what is missing);
   * null when no check ran (a dry run, or a run that failed first).
   */
  readonly verified: boolean | null;
  /** The planned changes as LDIF, in a dry run. */
  readonly ldif: string | null;
  readonly ldap: { readonly reads: number; readonly writes: number };
  readonly exitCode: number;
  readonly error: { readonly exitCode: number; readonly message: string; readonly hint: string | null } | null;
}

export function stepSummary(step: PlannedStep): RunResult['steps'][number] {
  return { id: step.id, title: step.title, status: step.status, detail: step.detail ?? null };
}
