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
  readonly steps: readonly {
    readonly id: string;
    readonly title: string;
    readonly status: string;
    readonly detail: string | null;
  }[];
  readonly warnings: readonly string[];
  readonly changeNumbers: { readonly first: string; readonly last: string } | null;
  /**
   * The final check passed (the sync user can do what its role needs; after --remove, the account is gone);
   * false when it did not (the run still exits 0: the writes are made, the warnings say what is missing);
   * null when no check ran (a dry run, or a run that failed first).
   */
  readonly verified: boolean | null;
  /**
   * One object per server the run prepared or read (with --replica, every server of the topology; else the one):
   * its role in replication, its steps, and its own change numbers (each server numbers its change log itself).
   */
  readonly servers: readonly ServerResult[];
  /** The planned changes as LDIF, in a dry run. */
  readonly ldif: string | null;
  readonly ldap: { readonly reads: number; readonly writes: number };
  readonly exitCode: number;
  readonly error: { readonly exitCode: number; readonly message: string; readonly hint: string | null } | null;
}

export interface ServerResult {
  readonly host: string;
  readonly port: number;
  readonly role: string | null;
  readonly prepared: boolean;
  readonly steps: RunResult['steps'];
  readonly changeNumbers: { readonly first: string; readonly last: string } | null;
  readonly verified: boolean | null;
}

/** What the core reports of one server (core/topology.ts's ServerReport), as the CLI receives it. */
export interface ServerFacts extends Omit<ServerResult, 'steps'> {
  readonly steps: readonly PlannedStep[];
}

export function stepSummary(step: PlannedStep): RunResult['steps'][number] {
  return { id: step.id, title: step.title, status: step.status, detail: step.detail ?? null };
}

/** What a run got to before it ended: everything the `--json` object says. */
export interface RunFacts {
  readonly version: string;
  readonly runId: string;
  /** Undefined when the options could not be read (a usage error): the object then says nothing of a run. */
  readonly run?: {
    readonly roles: RunResult['roles'];
    readonly remove: boolean;
    readonly dryRun: boolean;
    readonly server: RunResult['server'];
    readonly syncUserDn: string | null;
    readonly changed: boolean;
    readonly steps: readonly PlannedStep[];
    readonly changeNumbers: RunResult['changeNumbers'];
    readonly verified: boolean | null;
    /** Absent when the run failed before any server was done. */
    readonly servers?: readonly ServerFacts[];
    readonly ldif: string | null;
    readonly ldap: RunResult['ldap'];
  };
  /** Every warning of the run, as on stderr. */
  readonly warnings: readonly string[];
  /** Undefined on success. */
  readonly error?: { readonly resultCode: number; readonly message: string; readonly hint?: string | undefined };
}

/** The one `--json` object of a run, whatever way it ended. */
export function buildResult(facts: RunFacts): RunResult {
  const { run, error } = facts;
  const exitCode = error?.resultCode ?? 0;
  const head = { tool: 'prepare-endpoint-server' as const, version: facts.version, runId: facts.runId };
  const noServer = { host: null, port: null, type: null, productName: null, vendor: null };
  const rest = {
    syncUserDn: run?.syncUserDn ?? null,
    changed: run?.changed ?? false,
    steps: (run?.steps ?? []).map(stepSummary),
    // The list itself, not a copy: a problem said while the run ends (a log write failing) is in the JSON too.
    warnings: facts.warnings,
    changeNumbers: run?.changeNumbers ?? null,
    verified: run?.verified ?? null,
    servers: (run?.servers ?? []).map((server) => ({ ...server, steps: server.steps.map(stepSummary) })),
    ldif: run?.ldif ?? null,
    // Reads and writes only: the round trips are the log's (and the bench's), not part of this object's schema.
    ldap: run === undefined ? { reads: 0, writes: 0 } : { reads: run.ldap.reads, writes: run.ldap.writes },
    exitCode,
    error: error === undefined ? null : { exitCode, message: error.message, hint: error.hint ?? null },
  };
  // Key order is part of the bytes a script may compare: a usage error's object has always named the server first.
  if (run === undefined) {
    return {
      ...head,
      server: noServer,
      roles: { source: false, destination: false },
      remove: false,
      dryRun: false,
      ...rest,
    };
  }
  return { ...head, roles: run.roles, remove: run.remove, dryRun: run.dryRun, server: run.server, ...rest };
}
