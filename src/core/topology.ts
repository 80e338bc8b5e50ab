/**
 * Replicated endpoints. A run on one server reads the replication it takes part in (the profile's
 * TopologyReading), prints it, and warns once about every other server it was not asked to prepare. With
 * `--replica`, one run prepares the named servers of one topology together: the replicated data (the sync user
 * and its rights under the base DNs) is written on one writable server only, the run waits (bounded) until
 * each replica shows it, then prepares each server's own settings there (a read-only consumer gets no writes),
 * removes replication conflict copies of what this tool made, and compares across the servers what a sync
 * engine's failover depends on.
 */
import { isWithin } from '../formats/dn.js';
import type { Directory } from '../model/directory.js';
import { isSecretAttribute, valuesOf, type Change, type Entry } from '../model/entries.js';
import { isInterruption, PrepareError, ResultCode } from '../model/errors.js';
import type { PlannedStep, PrepareTarget } from '../model/plan.js';
import { Secret } from '../model/secret.js';
import { changed, skipped } from '../model/steps.js';
import type {
  FailoverFacts,
  ReplicaRole,
  ServerTopology,
  TopologyEntries,
  TopologyReading,
  TopologySearch,
} from '../model/topology.js';
import { detectServer, ROOT_DSE_ATTRIBUTES } from '../servers/detect.js';
import type { ServerProfile } from '../servers/profile.js';
import { profileFor } from '../servers/registry.js';
import { connectionOptions } from './connections.js';
import { isMarkedAccount } from './plan.js';
import type { Prompter } from './ports.js';
import { isLoopbackHost, prepareEndpoint, type PreparedServer, type RunDependencies, type RunOutcome } from './run.js';
import {
  DEFAULT_ADMIN_DN,
  DEFAULT_CHANGELOG_MAX_AGE_SECONDS,
  DEFAULT_REPLICATION_TIMEOUT_MS,
  type ReplicaEndpoint,
  type Settings,
} from './settings.js';

/** One server of the run, for the console and `--json`'s `servers`. */
export interface ServerReport {
  readonly host: string;
  readonly port: number;
  /** Its role in replication; null when it replicates none of the base DNs. */
  readonly role: ReplicaRole | null;
  /** False for a read-only consumer (it gets no writes) and for a server the run did not reach. */
  readonly prepared: boolean;
  readonly steps: readonly PlannedStep[];
  /** The change numbers this server's change log shows (each server numbers its own: see the README). */
  readonly changeNumbers: { readonly first: string; readonly last: string } | null;
  readonly verified: boolean | null;
}

export interface TopologyOutcome extends RunOutcome {
  readonly servers: readonly ServerReport[];
}

/** The run: one server (and what it says of its replicas), or with `--replica` a whole topology. */
export async function prepareTopology(settings: Settings, deps: RunDependencies): Promise<TopologyOutcome> {
  const replicas = settings.replicas ?? [];
  if (replicas.length === 0) return prepareOne(settings, deps);
  return new TopologyRun(settings, deps).prepare();
}

// ------------------------------------------------------------------ one server

async function prepareOne(settings: Settings, deps: RunDependencies): Promise<TopologyOutcome> {
  let role: ReplicaRole | undefined;
  const outcome = await prepareEndpoint(settings, {
    ...deps,
    afterPreparation: async (prepared) => {
      const reading = prepared.profile.topology;
      if (reading === undefined) return [];
      const { topology } = await readTopology(prepared.admin, reading, prepared.target);
      role = topology.role;
      const self = { host: settings.host, port: settings.port };
      describeTopology(deps, self, topology, [self]);
      warnAboutUnprepared(settings, [self], [topology], prepared.warn);
      const step = await settleConflicts(prepared, addressOf(self), deps);
      return step === undefined ? [] : [step];
    },
  });
  return {
    ...outcome,
    servers: [
      {
        host: settings.host,
        port: settings.port,
        role: role ?? null,
        prepared: !settings.dryRun,
        steps: outcome.steps,
        changeNumbers: outcome.changeNumbers ?? null,
        verified: outcome.verified ?? null,
      },
    ],
  };
}

// ------------------------------------------------------------------ reading

/** The profile's searches as the admin; a refused or empty search is no entries (the reading says what it lacks). */
export async function readTopology(
  admin: Directory,
  reading: TopologyReading,
  target: PrepareTarget,
): Promise<{ topology: ServerTopology; failover: FailoverFacts }> {
  const found = await runSearches(admin, reading.searches(target));
  return { topology: reading.topology(target, found), failover: reading.failoverFacts(target, found) };
}

async function runSearches(admin: Directory, searches: readonly TopologySearch[]): Promise<TopologyEntries> {
  const found = new Map<string, readonly Entry[]>();
  for (const search of searches) {
    try {
      const options = search.controls === undefined ? {} : { controls: search.controls };
      found.set(search.key, await admin.search(search.base, search.scope, search.filter, search.attributes, options));
    } catch (error) {
      if (isInterruption(error) || !(error instanceof PrepareError) || !READ_REFUSALS.has(error.resultCode))
        throw error;
      found.set(search.key, []);
    }
  }
  return found;
}

/** A configuration entry that is absent, hidden or not readable by this admin: the reading has less to go on. */
const READ_REFUSALS: ReadonlySet<number> = new Set([
  ResultCode.NO_SUCH_OBJECT,
  ResultCode.INSUFFICIENT_ACCESS,
  ResultCode.UNWILLING_TO_PERFORM,
]);

interface Address {
  readonly host: string;
  readonly port: number;
}

function addressOf(server: Address): string {
  return `${server.host}:${server.port}`;
}

/** Loopback spellings name one machine (the test servers and a one-machine topology). */
function sameAddress(a: Address, b: Address): boolean {
  if (a.port !== b.port) return false;
  const ha = a.host.toLowerCase();
  const hb = b.host.toLowerCase();
  return ha === hb || (isLoopbackHost(ha) && isLoopbackHost(hb));
}

/** `Replication of host:port: supplier`, then each other server it names and whether this run prepares it. */
function describeTopology(
  deps: RunDependencies,
  self: Address,
  topology: ServerTopology,
  named: readonly Address[],
): void {
  const { reporter } = deps;
  if (topology.role === undefined) return;
  reporter.info(`Replication of ${addressOf(self)}: ${roleName(topology.role)}`);
  for (const note of topology.notes) reporter.info(`  ${note}`);
  for (const peer of topology.peers) {
    const inRun = named.some((n) => sameAddress(n, peer));
    reporter.info(
      `  other server ${addressOf(peer)}${peer.role === undefined ? '' : ` (${roleName(peer.role)})`}, from ${peer.via}: ${inRun ? 'prepared in this run' : 'NOT prepared in this run'}`,
    );
  }
}

function roleName(role: ReplicaRole): string {
  return role === 'consumer' ? 'read-only consumer' : role;
}

/** Once per run: every server the topology names that the run does not prepare, and the command that does. */
function warnAboutUnprepared(
  settings: Settings,
  named: readonly Address[],
  topologies: readonly ServerTopology[],
  warn: (message: string) => void,
): void {
  const missing: Address[] = [];
  for (const peer of topologies.flatMap((t) => t.peers)) {
    if (named.some((n) => sameAddress(n, peer)) || missing.some((m) => sameAddress(m, peer))) continue;
    missing.push(peer);
  }
  if (missing.length === 0) return;
  const list = missing.map(addressOf);
  const commands = missing.map((m) => `-h ${m.host} -p ${m.port}`).join(', ');
  warn(
    `${addressOf(named[0] ?? settings)} replicates with ${list.join(', ')}, which this run did not prepare: the replicated ` +
      `sync user and its rights reach ${missing.length === 1 ? 'it' : 'them'}, but not the per-server settings (change log, ` +
      `its rights and limits) a sync engine needs to fail over; prepare the topology in one run by adding ` +
      `${list.map((a) => `--replica ${a}`).join(' ')} to this command (or run it again with ${commands})`,
  );
}

// ------------------------------------------------------------------ conflicts

/**
 * Replication conflict entries under the base DNs: the copies this tool made (they carry its mark) are deleted
 * and said; others' are reported, never touched. In a dry run nothing is deleted.
 */
async function settleConflicts(
  prepared: Pick<PreparedServer, 'admin' | 'profile' | 'target' | 'dryRun' | 'warn'>,
  address: string,
  deps: RunDependencies,
): Promise<PlannedStep | undefined> {
  const reading = prepared.profile.topology;
  if (reading?.conflictSearches === undefined || reading.conflicts === undefined) return undefined;
  const found = await runSearches(prepared.admin, reading.conflictSearches(prepared.target));
  const entries = reading.conflicts(prepared.target, found);
  const head = { id: `conflicts:${address}`, title: `Replication conflict entries on ${address}` };
  const isOurs = (entry: Entry): boolean =>
    isMarkedAccount(entry) || reading.isOwnConflict?.(prepared.target, entry) === true;
  const ours = entries.filter(isOurs);
  const others = entries.filter((entry) => !isOurs(entry));
  for (const entry of others) {
    prepared.warn(
      `${address} holds the replication conflict entry '${entry.dn}' (${valuesOf(entry, 'nsds5ReplConflict')[0] ?? 'conflict'}), which this tool did not make: resolve it by hand`,
    );
  }
  if (ours.length === 0) {
    if (entries.length === 0) deps.reporter.info(`No replication conflict entry under the base DNs on ${address}`);
    return undefined;
  }
  const deletes: Change[] = ours.map((entry) => ({ kind: 'delete', dn: entry.dn }));
  const detail = `${prepared.dryRun ? 'would remove' : 'removed'} ${ours.length} conflict cop${ours.length === 1 ? 'y' : 'ies'} of what this tool made (the sync user, its password policy): ${ours.map((e) => `'${e.dn}'`).join(', ')}`;
  if (!prepared.dryRun) {
    for (const change of deletes) {
      try {
        await prepared.admin.apply(change);
        deps.reporter.wrote(change);
      } catch (error) {
        // Deleted meanwhile: the other server's delete of the same copy replicated first.
        if (!(error instanceof PrepareError) || error.resultCode !== ResultCode.NO_SUCH_OBJECT) throw error;
      }
    }
  }
  const step = changed(head, 'updated', detail, deletes);
  deps.reporter.step(step);
  return step;
}

// ------------------------------------------------------------------ a topology

/** One server of a --replica run once surveyed: its connection, profile and replication. */
interface Surveyed {
  readonly endpoint: ReplicaEndpoint;
  readonly admin: Directory;
  readonly profile: ServerProfile;
  readonly target: PrepareTarget;
  readonly topology: ServerTopology;
}

class TopologyRun {
  private readonly warnings: string[] = [];
  private readonly opened: Directory[] = [];

  public constructor(
    private readonly settings: Settings,
    private readonly deps: RunDependencies,
  ) {}

  private readonly warn = (message: string): void => {
    this.warnings.push(message);
    this.deps.reporter.warning(message);
  };

  public async prepare(): Promise<TopologyOutcome> {
    try {
      return await this.run();
    } finally {
      await Promise.all(this.opened.map((d) => d.close().catch(() => undefined)));
    }
  }

  private async run(): Promise<TopologyOutcome> {
    const { deps } = this;
    const settings = await this.withCredentials();
    const endpoints: ReplicaEndpoint[] = [
      {
        host: settings.host,
        port: settings.port,
        ...(settings.accesslogDirectory === undefined ? {} : { accesslogDirectory: settings.accesslogDirectory }),
      },
      ...(settings.replicas ?? []),
    ];
    // Every server is reached, and its replication read, before anything is written anywhere.
    const surveyed: Surveyed[] = [];
    for (const endpoint of endpoints) surveyed.push(await this.survey(settings, endpoint));
    for (const server of surveyed) describeTopology(deps, server.endpoint, server.topology, endpoints);
    warnAboutUnprepared(
      settings,
      endpoints,
      surveyed.map((s) => s.topology),
      this.warn,
    );
    const families = new Set(surveyed.map((s) => s.profile.family));
    if (families.size > 1) {
      throw new PrepareError(
        ResultCode.PARAM_ERROR,
        `The servers named are not of one family (${surveyed.map((s) => `${addressOf(s.endpoint)}: ${s.profile.productName}`).join(', ')})`,
        'name the servers of one replicated topology with --replica',
      );
    }
    const alone = surveyed.filter((s) => s.topology.role === undefined && s.profile.topology !== undefined);
    if (alone.length > 0) {
      throw new PrepareError(
        ResultCode.PARAM_ERROR,
        `${alone.map((s) => addressOf(s.endpoint)).join(', ')} replicate${alone.length === 1 ? 's' : ''} none of the base DNs: --replica names servers of one replicated topology; nothing was written`,
        'prepare a server that does not replicate in a run of its own (without --replica)',
      );
    }
    const writable = surveyed.find((s) => s.topology.role !== 'consumer');
    if (writable === undefined) {
      throw new PrepareError(
        ResultCode.UNWILLING_TO_PERFORM,
        'Every server named is a read-only consumer: the replicated data must be written on a supplier; nothing was written',
        'name a writable server of the topology with --hostname or --replica',
      );
    }
    const order = [writable, ...surveyed.filter((s) => s !== writable)];

    const reports: ServerReport[] = [];
    const outcomes: RunOutcome[] = [];
    deps.reporter.info(
      `Preparing ${addressOf(writable.endpoint)}: the replicated data (sync user, its rights under the base DNs) and its own settings`,
    );
    const first = await prepareEndpoint(this.serverSettings(settings, writable.endpoint), {
      ...deps,
      afterPreparation: undefined,
    });
    outcomes.push(first);
    reports.push(report(writable, first, true));
    const password = settings.syncPassword ?? new Secret('');
    for (const server of settings.dryRun ? [] : order.slice(1)) {
      await waitForReplicatedData(first, writable, server, settings, password, this.deps, this.replicationTimeoutMs());
      if (server.topology.role === 'consumer') {
        const step = skipped(
          { id: `consumer:${addressOf(server.endpoint)}`, title: `Read-only consumer ${addressOf(server.endpoint)}` },
          'the replicated data arrived; a read-only consumer gets no writes',
        );
        deps.reporter.step(step);
        reports.push({ ...report(server, undefined, false), steps: [step] });
        continue;
      }
      deps.reporter.info(`Preparing ${addressOf(server.endpoint)}: the replicated data arrived; its own settings now`);
      const outcome = await prepareEndpoint(
        { ...this.serverSettings(settings, server.endpoint), writeProvenOn: addressOf(writable.endpoint) },
        {
          ...deps,
          // Credentials are resolved; a per-server prompt (the change log age) would differ between servers.
          prompter: undefined,
          afterPreparation: undefined,
        },
      );
      outcomes.push(outcome);
      reports.push(report(server, outcome, true));
    }

    if (settings.dryRun) {
      for (const server of order.slice(1)) {
        deps.reporter.info(
          `Dry run: ${addressOf(server.endpoint)} would get the replicated data from ${addressOf(writable.endpoint)}, then ${server.topology.role === 'consumer' ? 'no writes (a read-only consumer)' : 'its own settings'}`,
        );
        reports.push(report(server, undefined, false));
      }
    }
    // Conflict entries and failover readiness, on every server, once every write is made.
    const extraSteps: PlannedStep[] = [];
    for (const server of order) {
      const step = await settleConflicts(
        {
          admin: server.admin,
          profile: server.profile,
          target: server.target,
          dryRun: settings.dryRun,
          warn: this.warn,
        },
        addressOf(server.endpoint),
        deps,
      );
      if (step !== undefined) extraSteps.push(step);
    }
    const ready = settings.dryRun || settings.remove ? true : await this.compareFailover(order);
    // One message said by several servers' runs (a family's note) counts once.
    for (const message of outcomes.flatMap((o) => o.warnings)) {
      if (!this.warnings.includes(message)) this.warnings.push(message);
    }

    const steps = [
      ...reports.flatMap((r, index) =>
        r.steps.map((step) => (index === 0 ? step : { ...step, title: `${step.title} (${addressOf(r)})` })),
      ),
      ...extraSteps,
    ];
    const verifiedEach = reports.map((r) => r.verified);
    const verified = settings.dryRun ? undefined : ready && verifiedEach.every((v) => v !== false);
    return {
      ...first,
      steps,
      warnings: this.warnings,
      changed: outcomes.some((o) => o.changed) || extraSteps.some((s) => s.changes.length > 0),
      changes: [...outcomes.flatMap((o) => o.changes), ...extraSteps.flatMap((s) => s.changes)],
      ...(verified === undefined ? {} : { verified }),
      servers: reports,
    };
  }

  private replicationTimeoutMs(): number {
    return this.settings.replicationTimeoutMs ?? DEFAULT_REPLICATION_TIMEOUT_MS;
  }

  /** The admin's and the sync user's credentials, asked once for every server (same credentials everywhere). */
  private async withCredentials(): Promise<Settings> {
    const { settings } = this;
    const prompter = this.deps.prompter;
    const ask = async (question: (p: Prompter) => Promise<string>, option: string): Promise<string> => {
      if (prompter === undefined) {
        throw new PrepareError(ResultCode.PARAM_ERROR, 'A value is missing and prompting is off', `pass ${option}`);
      }
      return question(prompter);
    };
    const syncPassword = settings.remove
      ? settings.syncPassword
      : (settings.syncPassword ??
        new Secret(
          await ask(
            (p) => p.newSecret('Password for the sync user:'),
            '--syncServerBindPasswordFile (or PES_SYNC_PASSWORD)',
          ),
        ));
    const bindDn =
      settings.bindDn ?? (await ask((p) => p.text('Administrator bind DN:', DEFAULT_ADMIN_DN), '--bindDN'));
    const bindPassword =
      settings.bindPassword ??
      new Secret(await ask((p) => p.secret(`Password for '${bindDn}':`), '--bindPasswordFile (or PES_BIND_PASSWORD)'));
    return { ...settings, bindDn, bindPassword, ...(syncPassword === undefined ? {} : { syncPassword }) };
  }

  private serverSettings(settings: Settings, endpoint: ReplicaEndpoint): Settings {
    return {
      ...settings,
      host: endpoint.host,
      port: endpoint.port,
      accesslogDirectory: endpoint.accesslogDirectory ?? settings.accesslogDirectory,
      replicas: [],
    };
  }

  /** Connect, bind as the admin, detect, read replication: nothing is written. */
  private async survey(settings: Settings, endpoint: ReplicaEndpoint): Promise<Surveyed> {
    const { deps } = this;
    const address = addressOf(endpoint);
    const options = { ...connectionOptions(settings), host: endpoint.host, port: endpoint.port, signal: deps.signal };
    let admin: Directory;
    try {
      admin = await deps.connect(options, deps.stats);
      this.opened.push(admin);
      await admin.bind(settings.bindDn ?? DEFAULT_ADMIN_DN, (settings.bindPassword ?? new Secret('')).reveal());
    } catch (error) {
      deps.reporter.check(`Reading replication of ${address}`, 'Failed');
      throw error instanceof PrepareError
        ? new PrepareError(error.resultCode, `${address}: ${error.message}`, error.hint ?? 'check --replica', {
            cause: error,
          })
        : error;
    }
    const rootDse = await admin.read('', ROOT_DSE_ATTRIBUTES);
    const detection = detectServer(rootDse);
    const family = settings.serverType === 'auto' ? detection.family : settings.serverType;
    const profile = profileFor(family, rootDse);
    if (profile === undefined) {
      throw new PrepareError(
        ResultCode.UNWILLING_TO_PERFORM,
        `${address}: servers of type '${family}' (${detection.vendor}) are not supported by this version`,
        'pass --serverType if detection is wrong',
      );
    }
    const target: PrepareTarget = {
      baseDns: settings.baseDns,
      roles: settings.roles,
      syncUserDn: settings.syncUserDn ?? profile.defaultSyncUserDn(settings.baseDns),
      changelogMaxAgeSeconds: settings.changelogMaxAgeSeconds ?? DEFAULT_CHANGELOG_MAX_AGE_SECONDS,
      inheritDefaultRootPrivileges: settings.inheritDefaultRootPrivileges,
    };
    const topology: ServerTopology =
      profile.topology === undefined
        ? {
            role: 'supplier',
            peers: [],
            notes: [`${profile.productName}: replication is not read by this version; taken as writable`],
          }
        : (await readTopology(admin, profile.topology, target)).topology;
    deps.reporter.check(`Reading replication of ${address}`, 'Done');
    return { endpoint, admin, profile, target, topology };
  }

  /** Every failover fact equal on every server that has a change log reading; a mismatch names server and value. */
  private async compareFailover(servers: readonly Surveyed[]): Promise<boolean> {
    const facts: { server: Surveyed; facts: FailoverFacts }[] = [];
    for (const server of servers) {
      if (server.profile.topology === undefined || server.topology.role === 'consumer') continue;
      facts.push({
        server,
        facts: (await readTopology(server.admin, server.profile.topology, server.target)).failover,
      });
    }
    const reference = facts[0];
    if (reference === undefined || facts.length < 2) return true;
    const mismatches: string[] = [];
    for (const name of Object.keys(reference.facts)) {
      const values = facts.map((f) => f.facts[name] ?? '(none)');
      if (values.every((v) => v === values[0])) continue;
      mismatches.push(
        `${name}: ${facts.map((f, i) => `${addressOf(f.server.endpoint)} has '${values[i] ?? ''}'`).join(', ')}`,
      );
    }
    const title = 'Failover readiness (settings equal on every server)';
    if (mismatches.length === 0) {
      this.deps.reporter.check(title, 'Done');
      return true;
    }
    this.deps.reporter.check(title, 'Failed');
    for (const mismatch of mismatches) {
      this.warn(
        `NOT verified for failover: ${mismatch}; a sync engine that fails over between them would read differently: make them equal (run this command with the same options for every server)`,
      );
    }
    return false;
  }
}

function report(server: Surveyed, outcome: RunOutcome | undefined, prepared: boolean): ServerReport {
  return {
    host: server.endpoint.host,
    port: server.endpoint.port,
    role: server.topology.role ?? null,
    prepared,
    steps: outcome?.steps ?? [],
    changeNumbers: outcome?.changeNumbers ?? null,
    verified: outcome?.verified ?? null,
  };
}

// ------------------------------------------------------------------ waiting for replication

/** How often a replica is looked at while the run waits for the replicated data. */
const POLL_MS = 250;

/**
 * Waits until `replica` shows what the first server's run wrote under the base DNs (entries added, values
 * added or removed, entries deleted) and, unless removing, accepts the sync user's password. Never writes.
 */
async function waitForReplicatedData(
  first: RunOutcome,
  writable: Surveyed,
  replica: Surveyed,
  settings: Settings,
  password: Secret,
  deps: RunDependencies,
  timeoutMs: number,
): Promise<void> {
  const address = addressOf(replica.endpoint);
  const replicated = first.changes.filter((change) => settings.baseDns.some((base) => isWithin(change.dn, base)));
  const syncUserDn = first.syncUserDn;
  const deadline = Date.now() + timeoutMs;
  const probe = settings.remove
    ? undefined
    : await deps.connect(
        {
          ...connectionOptions(settings),
          host: replica.endpoint.host,
          port: replica.endpoint.port,
          signal: deps.signal,
        },
        deps.stats,
      );
  try {
    for (;;) {
      const missing = await firstMissing(replica.admin, replicated, probe, syncUserDn, password, settings.remove);
      if (missing === undefined) {
        deps.reporter.check(`Waiting for the replicated data on ${address}`, 'Done');
        return;
      }
      if (Date.now() >= deadline) {
        deps.reporter.check(`Waiting for the replicated data on ${address}`, 'Failed');
        throw new PrepareError(
          ResultCode.TIMEOUT,
          `The replicated data written on ${addressOf(writable.endpoint)} did not reach ${address} within ${Math.round(timeoutMs / 1000)}s (${missing}); nothing was written on ${address}`,
          `check replication from ${addressOf(writable.endpoint)} to ${address} (a paused or failing agreement?), then run this command again: what is already written is not written twice (or allow longer with --replicationTimeout)`,
        );
      }
      await pause(POLL_MS, deps.signal);
    }
  } finally {
    await probe?.close();
  }
}

/** What the replica does not show yet, in a few words; undefined when it shows everything. */
async function firstMissing(
  admin: Directory,
  replicated: readonly Change[],
  probe: Directory | undefined,
  syncUserDn: string,
  password: Secret,
  removing: boolean,
): Promise<string | undefined> {
  for (const change of replicated) {
    switch (change.kind) {
      case 'add':
        if ((await admin.read(change.dn, ['objectClass'])) === undefined) return `'${change.dn}' is not there yet`;
        break;
      case 'delete':
        if ((await admin.read(change.dn, ['objectClass'])) !== undefined) return `'${change.dn}' is still there`;
        break;
      case 'modify': {
        const visible = change.modifications.filter((m) => !isSecretAttribute(m.attribute));
        if (visible.length === 0) break;
        const entry = await admin.read(change.dn, [...new Set(visible.map((m) => m.attribute))]);
        if (entry === undefined) return `'${change.dn}' is not there yet`;
        for (const m of visible) {
          const now = valuesOf(entry, m.attribute).map(loose);
          const values = m.values.map(loose);
          const shown =
            m.operation === 'delete'
              ? m.values.length === 0
                ? now.length === 0
                : values.every((v) => !now.includes(v))
              : values.every((v) => now.includes(v));
          if (!shown) return `the ${m.attribute} change of '${change.dn}' is not there yet`;
        }
        break;
      }
    }
  }
  if (!removing && probe !== undefined) {
    try {
      await probe.bind(syncUserDn, password.reveal());
    } catch (error) {
      if (isInterruption(error) || !(error instanceof PrepareError)) throw error;
      return `the sync user '${syncUserDn}' does not bind with its password yet`;
    }
  }
  return undefined;
}

/** Servers may respell a value they store (an ACI's spaces, a DN's case): compared loosely. */
function loose(value: string): string {
  return value.replace(/\s+/g, ' ').trim().toLowerCase();
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
