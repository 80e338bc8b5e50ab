/**
 * One preparation of one server: connect, detect, observe, plan, apply, verify. This module is the order of
 * those steps and the decisions between them; the steps themselves live in connections.ts, observe.ts,
 * plan.ts (pure), apply.ts and verify.ts. Everything the run says goes through the reporter; every failure
 * is a PrepareError carrying the exit code. Nothing here touches `process`.
 */
import type { AccountPolicyState, Directory, DirectoryConnector, DirectoryStats } from '../model/directory.js';
import { dnEquals, dnSpelling, isWithin } from '../formats/dn.js';
import { accountStateProblem, PrepareError, ResultCode } from '../model/errors.js';
import type { Change, Entry } from '../model/entries.js';
import { detectServer, ROOT_DSE_ATTRIBUTES, type Detection, type ServerFamily } from '../servers/detect.js';
import { ONE_PHASE, type PlanPart, type ServerProfile } from '../servers/profile.js';
import type { ExistingAccountFacts, Observation, PlannedStep, PrepareTarget, SyncAccountFacts } from '../model/plan.js';
import { profileFor, SUPPORTED_FAMILIES } from '../servers/registry.js';
import { type ApplyContext } from './apply.js';
import {
  connectionOptions,
  openConnection,
  retestSyncAccess,
  testSyncAccess,
  type OpenDirectory,
  type SyncSession,
} from './connections.js';
import { formatCompact, parseDuration } from '../formats/duration.js';
import { hasChildren, settleSpellings } from './names.js';
import { TwoIdentityDirectory } from './identities.js';
import { observe, verifyBaseDns } from './observe.js';
import {
  isMarkedAccount,
  planRemoval,
  planSyncUser,
  refuseAdministrators,
  resetsPassword,
  type SyncUserFacts,
} from './plan.js';
import { applySettled, type SettleOptions } from './settle.js';
import type { Prompter, RunReporter } from './ports.js';
import { DEFAULT_ADMIN_DN, DEFAULT_CHANGELOG_MAX_AGE_SECONDS, type Settings } from './settings.js';
import { Secret } from '../model/secret.js';
import { confirmRemoval, verifySyncUser, type Verdict } from './verify.js';

export interface RunDependencies {
  readonly reporter: RunReporter;
  /** Absent when the run may not prompt (`--no-prompt`, or no terminal). */
  readonly prompter: Prompter | undefined;
  /** Aborted on Ctrl-C or SIGTERM (the reason names the signal): the run stops at once, before its next write. */
  readonly signal: AbortSignal;
  /** LDAP operations of every connection of the run, counted as they happen (a failed run reports them too). */
  readonly stats: DirectoryStats;
  /** Opens each connection of the run: src/ldap's adapter in the CLI, an in-memory directory in tests. */
  readonly connect: DirectoryConnector;
  /**
   * Once the server is prepared and verified (in a dry run: planned), with the admin connection still open:
   * core/topology.ts reads replication there and returns steps of its own (conflict entries removed).
   */
  readonly afterPreparation?: (prepared: PreparedServer) => Promise<readonly PlannedStep[]>;
}

/** What afterPreparation gets: the server as the run left it. */
export interface PreparedServer {
  readonly admin: Directory;
  readonly profile: ServerProfile;
  readonly target: PrepareTarget;
  readonly dryRun: boolean;
  readonly warn: (message: string) => void;
}

export interface RunOutcome {
  readonly server: { readonly address: string; readonly family: ServerFamily; readonly vendor: string };
  readonly syncUserDn: string;
  readonly steps: readonly PlannedStep[];
  readonly warnings: readonly string[];
  /** True when anything was written (never in a dry run). */
  readonly changed: boolean;
  /** Every change of the plan, in order: what was written, or in a dry run what would be. */
  readonly changes: readonly Change[];
  readonly changeNumbers: { readonly first: string; readonly last: string } | undefined;
  /** The final check's verdict; undefined in a dry run (no check). */
  readonly verified?: boolean;
}

export async function prepareEndpoint(settings: Settings, deps: RunDependencies): Promise<RunOutcome> {
  // Every connection of the run watches the signal: Ctrl-C or SIGTERM drops an operation in flight.
  const connection = { ...connectionOptions(settings), signal: deps.signal };
  const open: OpenDirectory = () => deps.connect(connection, deps.stats);
  // The connection test is the detection read: one root DSE round trip, not two.
  const { directory: opened, rootDse } = await openConnection(open, connection, deps.reporter);
  // With --useSASLExternal, cn=config is the EXTERNAL identity's and the rest the bind DN's (identities.ts).
  const admin = settings.useSaslExternal === true ? new TwoIdentityDirectory(opened, open) : opened;
  const run = new Preparation(settings, deps, admin, open);
  try {
    return await run.prepare(rootDse);
  } finally {
    await run.close();
  }
}

/** The server the run settled on: what detection read, and the profile of its family. */
interface IdentifiedServer {
  readonly rootDse: Entry | undefined;
  readonly detection: Detection;
  readonly family: ServerFamily;
  readonly profile: ServerProfile;
}

/**
 * One run's state between its steps: the admin connection, the sync user's (from the access test, kept for
 * the final verification: one connection less), and what the run found out so far. prepare() is the order.
 */
class Preparation {
  private readonly warnings: string[] = [];
  private syncSession: SyncSession | undefined;
  /** Set by the admin bind (which a locked-down root DSE makes happen before detection). */
  private adminDn: string | undefined;

  public constructor(
    private readonly settings: Settings,
    private readonly deps: RunDependencies,
    private readonly admin: Directory,
    private readonly open: OpenDirectory,
  ) {}

  public readonly warn = (message: string): void => {
    this.warnings.push(message);
    this.deps.reporter.warning(message);
  };

  public async close(): Promise<void> {
    await this.syncSession?.directory.close();
    await this.admin.close();
  }

  public async prepare(firstRootDse: Entry | undefined): Promise<RunOutcome> {
    const { settings } = this;
    // Removal needs no sync password: the account is deleted, not used.
    const syncPassword = settings.remove
      ? undefined
      : (settings.syncPassword ??
        new Secret(
          await ask(
            this.deps,
            (p) => p.newSecret('Password for the sync user:'),
            '--syncServerBindPasswordFile (or PES_SYNC_PASSWORD)',
          ),
        ));
    if (settings.security === 'none' && !isLoopbackHost(settings.host)) {
      this.warn(
        `Passwords are sent to ${this.admin.address} over plain LDAP, readable on the network: add --useStartTLS (or --useSSL with the LDAPS port)`,
      );
    }
    const server = await this.identify(firstRootDse);
    const givenSyncUserDn = settings.syncUserDn ?? server.profile.defaultSyncUserDn(settings.baseDns);
    // DNs go to the server as written, less what RFC 4514 lets a parser ignore and with naming OIDs as names
    // (`2.5.4.3=` is `cn=`: 389 DS reads no entry by an OID-typed DN).
    const spelledSyncUserDn = dnSpelling(givenSyncUserDn);
    // The admin's bind and the access test use two connections: both go out at once when nothing must be asked
    // first (a prompt would mix with the access test's line). The access test's failure still comes first.
    const adminBinding =
      this.adminDn !== undefined || (settings.bindDn !== undefined && settings.bindPassword !== undefined)
        ? this.bindAdmin()
        : undefined;
    adminBinding?.catch(() => undefined);
    this.syncSession =
      syncPassword === undefined
        ? undefined
        : await testSyncAccess(this.open, spelledSyncUserDn, syncPassword, this.deps.reporter);
    const bindDn = await (adminBinding ?? this.bindAdmin());

    const { target, observed } = await this.observeTarget(
      server,
      { ...targetFor(settings, spelledSyncUserDn), adminConnection: adminConnection(settings, bindDn) },
      givenSyncUserDn,
      bindDn,
    );
    await this.recheckSpelling(target.syncUserDn, givenSyncUserDn, syncPassword, observed);
    for (const message of server.profile.vetTarget?.(target, observed, this.accountFacts()) ?? []) this.warn(message);
    // The age is asked once the server's current one is known (so the prompt can offer to keep it), and only
    // once the sync user and base DNs were found acceptable.
    const asked =
      settings.roles.source &&
      !settings.remove &&
      settings.changelogMaxAgeSeconds === undefined &&
      this.deps.prompter !== undefined
        ? {
            ...target,
            ...(await askChangelogMaxAge(
              this.deps.prompter,
              server.profile.currentChangelogMaxAge?.(target, observed),
            )),
          }
        : target;
    const planner = this.planner(server, asked, syncPassword);
    return settings.dryRun
      ? this.dryRun(server, planner, observed, syncPassword)
      : this.applyAndVerify(server, planner, observed, syncPassword);
  }

  /** Detection from the root DSE (read again after the admin bind when it answers nobody anonymous), and the profile. */
  private async identify(firstRootDse: Entry | undefined): Promise<IdentifiedServer> {
    const {
      settings,
      deps: { reporter },
    } = this;
    let rootDse = firstRootDse;
    // A locked-down root DSE answers nobody anonymous: then detection waits for the admin bind.
    if (rootDse === undefined || rootDse.attributes.size === 0) {
      await this.bindAdmin();
      rootDse = await this.admin.read('', ROOT_DSE_ATTRIBUTES);
    }
    const detection = detectServer(rootDse);
    const family = settings.serverType === 'auto' ? detection.family : settings.serverType;
    const profile = profileFor(family, rootDse);
    reporter.detected({ family, productName: profile?.productName ?? family, vendor: detection.vendor });
    reporter.info(
      `Server type: ${profile?.productName ?? family} (${detection.vendor})${settings.serverType === 'auto' ? '' : ', from --serverType'}`,
    );
    if (profile === undefined) {
      throw new PrepareError(
        ResultCode.UNWILLING_TO_PERFORM,
        `Servers of type '${family}' (${detection.vendor}) are not supported by this version`,
        `supported types: ${SUPPORTED_FAMILIES.join(', ')}; if detection is wrong, pass --serverType`,
      );
    }
    if (settings.remove && profile.planRemoval === undefined) {
      throw new PrepareError(
        ResultCode.UNWILLING_TO_PERFORM,
        `--remove is not available for ${profile.productName} yet`,
        'remove the sync user and the rights named "prepare-endpoint-server" by hand',
      );
    }
    warnAboutIgnoredOptions(settings, family, this.warn);
    requireEncryption(profile, settings);
    return { rootDse, detection, family, profile };
  }

  /** Binds the admin connection once (asking for the DN and password it was not given); returns the DN. */
  private async bindAdmin(): Promise<string> {
    if (this.adminDn !== undefined) return this.adminDn;
    const { settings, deps } = this;
    if (settings.useSaslExternal === true) {
      const externalIdentity = (await this.admin.bindExternal()) ?? '';
      await refuseUnmappedCertificate(this.admin, settings, externalIdentity);
      deps.reporter.info(
        `Bound with SASL EXTERNAL as '${externalIdentity || 'the identity of the connection'}'${settings.bindDn === undefined ? '' : ` (it configures cn=config; '${settings.bindDn}' writes the entries)`}`,
      );
      if (settings.bindDn === undefined) {
        this.adminDn = externalIdentity;
        return externalIdentity;
      }
    }
    const bindDn =
      settings.bindDn ?? (await ask(deps, (p) => p.text('Administrator bind DN:', DEFAULT_ADMIN_DN), '--bindDN'));
    const bindPassword =
      settings.bindPassword ??
      new Secret(
        await ask(deps, (p) => p.secret(`Password for '${bindDn}':`), '--bindPasswordFile (or PES_BIND_PASSWORD)'),
      );
    await this.admin.bind(bindDn, bindPassword.reveal());
    this.adminDn = bindDn;
    return bindDn;
  }

  /**
   * The first observation, with the base DNs checked and every DN's spelling settled (the server's for entries
   * that exist, see names.ts), and the sync user found to be no administrator.
   */
  private async observeTarget(
    server: IdentifiedServer,
    asGiven: PrepareTarget,
    givenSyncUserDn: string,
    bindDn: string,
  ): Promise<{ target: PrepareTarget; observed: Observation }> {
    const { profile, rootDse } = server;
    const first = await observe(this.admin, profile, asGiven, rootDse);
    verifyBaseDns(this.settings.baseDns, first, this.deps.reporter);
    const settled = await settleSpellings(this.admin, profile, asGiven, first, rootDse);
    refuseAdministrators(profile, settled.target, settled.observed, bindDn, givenSyncUserDn);
    return settled;
  }

  /**
   * The access test ran before the observation: an account that exists now may have been created meanwhile
   * by another run (with this run's password), or binds only under the server's spelling. Test it again.
   */
  private async recheckAccess(syncUserDn: string, syncPassword: Secret | undefined, seen: Observation): Promise<void> {
    const session = this.syncSession;
    if (session === undefined || session.bound || syncPassword === undefined || seen.entry(syncUserDn) === undefined)
      return;
    this.syncSession = await retestSyncAccess(session, syncUserDn, syncPassword);
  }

  /** The access test again, and a warning when the account binds only under the server's spelling of its DN. */
  private async recheckSpelling(
    syncUserDn: string,
    givenSyncUserDn: string,
    syncPassword: Secret | undefined,
    observed: Observation,
  ): Promise<void> {
    const boundAsGiven = this.syncSession?.bound === true;
    await this.recheckAccess(syncUserDn, syncPassword, observed);
    if (
      !boundAsGiven &&
      this.syncSession?.bound === true &&
      dnSpelling(givenSyncUserDn).toLowerCase() !== syncUserDn.toLowerCase()
    ) {
      // 389 DS binds `cn=Sync\20User` only so, not as `cn=Sync User`: the sync server must use the server's spelling.
      this.warn(
        `The server binds the sync user only as '${syncUserDn}', not as '${givenSyncUserDn}': configure the sync server with '${syncUserDn}'`,
      );
    }
  }

  private accountFacts(): ExistingAccountFacts {
    const bindDiagnostic = this.syncSession?.bindDiagnostic;
    return {
      canBind: this.syncSession?.bound ?? false,
      resetPassword: this.settings.resetSyncPassword,
      removing: this.settings.remove,
      ...(bindDiagnostic === undefined ? {} : { bindDiagnostic }),
    };
  }

  /** What the sync user step is planned from: read when planned, as a later access test may have bound. */
  private syncFacts(syncPassword: Secret | undefined, observedState?: AccountPolicyState): SyncUserFacts {
    // What the bind told wins; the entry's own attributes add what a bind keeps quiet about.
    const told = this.syncSession?.accountState;
    const accountState = told === undefined && observedState === undefined ? undefined : { ...observedState, ...told };
    return {
      password: syncPassword?.reveal() ?? '',
      canBind: this.syncSession?.bound ?? false,
      resetPassword: this.settings.resetSyncPassword,
      ...(accountState === undefined ? {} : { accountState }),
    };
  }

  /** What the password policy step plans from: the account as the sync user step leaves it. */
  private accountPolicyFacts(
    target: PrepareTarget,
    seen: Observation,
    syncPassword: Secret | undefined,
    observedState: AccountPolicyState | undefined,
  ): SyncAccountFacts {
    const existing = seen.entry(target.syncUserDn);
    const facts = this.syncFacts(syncPassword, observedState);
    return {
      created: existing === undefined,
      passwordReset: resetsPassword(existing, facts),
      ...(facts.accountState === undefined ? {} : { state: facts.accountState }),
    };
  }

  /** The run's plan, phase by phase (see ServerProfile.phases); --remove is one phase of its own. */
  private planner(server: IdentifiedServer, target: PrepareTarget, syncPassword: Secret | undefined): Planner {
    const { profile } = server;
    const { settings } = this;
    if (settings.remove) {
      const removal = async (seen: Observation): Promise<PlannedStep[]> => {
        const account = seen.entry(target.syncUserDn);
        const children =
          account !== undefined && isMarkedAccount(account)
            ? await hasChildren(this.admin, target.syncUserDn)
            : undefined;
        return planRemoval(profile, target, seen, settings.disableChangelog, { hasChildren: children });
      };
      return { target, phases: [removal], whole: removal };
    }
    const observedState = (seen: Observation): AccountPolicyState | undefined =>
      profile.observedAccountState?.(target, seen);
    const planPart = (part: PlanPart, seen: Observation): PlannedStep[] => {
      switch (part) {
        case 'sync-user':
          return [planSyncUser(profile, target, seen, this.syncFacts(syncPassword, observedState(seen)))];
        case 'password-policy':
          return (
            profile.planPasswordPolicy?.(
              target,
              seen,
              this.accountPolicyFacts(target, seen, syncPassword, observedState(seen)),
            ) ?? []
          );
        case 'prerequisites':
          return profile.planPrerequisites?.(target, seen) ?? [];
        case 'access':
          return profile.planAccess(target, seen);
        case 'changelog':
          return target.roles.source ? profile.planChangelog(target, seen) : [];
      }
    };
    const phases = profile.phases ?? ONE_PHASE;
    const planParts =
      (parts: readonly PlanPart[]) =>
      (seen: Observation): Promise<PlannedStep[]> =>
        Promise.resolve(parts.flatMap((part) => planPart(part, seen)));
    return { target, phases: phases.map(planParts), whole: planParts(phases.flat()) };
  }

  /** Every phase planned from the one observation and reported, nothing written. */
  private async dryRun(
    server: IdentifiedServer,
    planner: Planner,
    observed: Observation,
    syncPassword: Secret | undefined,
  ): Promise<RunOutcome> {
    const { reporter } = this.deps;
    if (syncPassword !== undefined) {
      reporter.info(
        "Dry run: the sync user's password was tested with one bind (a wrong one counts towards the account's lockout), nothing else was sent as it",
      );
    }
    const plan: PlannedStep[] = [];
    for (const phase of planner.phases) plan.push(...(await phase(observed)));
    // The bind above is the dry run's verification: an account stuck in its password policy is said, not planned past.
    const stuck = accountStateProblem({
      ...server.profile.observedAccountState?.(planner.target, observed),
      ...this.syncSession?.accountState,
    });
    if (stuck !== undefined) {
      this.warn(
        `The sync user cannot work as it is: ${stuck}; ${
          server.profile.planPasswordPolicy === undefined
            ? 'exempt it from the password policy by hand and clear its state as an administrator'
            : 'a run without --dry-run exempts it from the password policy and clears its state as the admin'
        }`,
      );
    }
    for (const step of plan) {
      reporter.step(step);
      for (const message of [...(step.changes.length > 0 ? (step.cautions ?? []) : []), ...step.warnings])
        this.warn(message);
    }
    // The topology is read first: a run that fails there prints its one error line and no advice.
    await this.afterPreparation(server, planner.target, plan);
    if (!this.settings.remove) warnAboutSyncUserInsideBase(planner.target, this.warn);
    return this.outcome(
      server,
      planner.target.syncUserDn,
      plan,
      { changeNumbers: undefined, verified: undefined },
      false,
    );
  }

  /** The afterPreparation hook, its steps added to the run's. */
  private async afterPreparation(server: IdentifiedServer, target: PrepareTarget, plan: PlannedStep[]): Promise<void> {
    const hook = this.deps.afterPreparation;
    if (hook === undefined) return;
    plan.push(
      ...(await hook({
        admin: this.admin,
        profile: server.profile,
        target,
        dryRun: this.settings.dryRun,
        warn: this.warn,
      })),
    );
  }

  /** Applies the phases in order, each planned from what the one before left, then checks the result. */
  private async applyAndVerify(
    server: IdentifiedServer,
    planner: Planner,
    firstObservation: Observation,
    syncPassword: Secret | undefined,
  ): Promise<RunOutcome> {
    const { settings, deps } = this;
    const { profile, rootDse } = server;
    const { target } = planner;
    let observed = firstObservation;
    const observeAgain = async (): Promise<Observation> => {
      observed = await observe(this.admin, profile, target, rootDse);
      await this.recheckAccess(target.syncUserDn, syncPassword, observed);
      return observed;
    };
    const applying: ApplyContext = {
      admin: this.admin,
      open: this.open,
      reporter: deps.reporter,
      signal: deps.signal,
      warn: this.warn,
      ...(target.adminConnection === undefined ? {} : { adminConnection: target.adminConnection }),
      ...externalOnlyHint(settings, profile, target, firstObservation),
    };
    // The last phase settles the whole plan; an earlier one is settled on its own, so the next is planned from what it leaves.
    const lastSettling: SettleOptions = {
      afterWrites: profile.settlesAfterWrites === true,
      replan: async () => planner.whole(await observeAgain()),
    };
    const plan: PlannedStep[] = [];
    for (const [index, phase] of planner.phases.entries()) {
      const last = index === planner.phases.length - 1;
      const planned = await phase(observed);
      plan.push(
        ...(await applySettled(
          planned,
          applying,
          last ? lastSettling : { afterWrites: false, replan: async () => phase(await observeAgain()) },
        )),
      );
      if (!last && planned.some((step) => step.changes.length > 0)) await observeAgain();
    }

    const accountDeleted = plan.some(
      (step) => step.id === 'sync-user' && step.changes.some((change) => change.kind === 'delete'),
    );
    // A kept account (not this tool's to delete) leaves nothing to confirm after --remove.
    const verdict = settings.remove
      ? accountDeleted
        ? await confirmRemoval(this.admin, target.syncUserDn, deps.reporter, this.warn)
        : { changeNumbers: undefined, verified: undefined }
      : await verifySyncUser(
          this.open,
          profile,
          target,
          observed,
          plan,
          syncPassword ?? new Secret(''),
          deps.reporter,
          this.warn,
          this.syncSession,
          this.admin,
        );
    // The topology is read first: a run that fails there prints its one error line and no advice.
    await this.afterPreparation(server, target, plan);
    if (!settings.remove) {
      warnAboutAdminUnderDestination(settings, this.adminDn, this.warn);
      warnAboutSyncUserInsideBase(target, this.warn);
    }
    return this.outcome(server, target.syncUserDn, plan, verdict, true);
  }

  private outcome(
    server: IdentifiedServer,
    syncUserDn: string,
    plan: readonly PlannedStep[],
    verdict: Verdict | { readonly changeNumbers: undefined; readonly verified: undefined },
    written: boolean,
  ): RunOutcome {
    const changes = plan.flatMap((step) => step.changes);
    return {
      server: { address: this.admin.address, family: server.family, vendor: server.detection.vendor },
      syncUserDn,
      steps: plan,
      warnings: this.warnings,
      changed: written && changes.length > 0,
      changes,
      changeNumbers: verdict.changeNumbers,
      ...(written ? { verified: verdict.verified } : {}),
    };
  }
}

/** A plan in phases, each from an observation; `whole` is every phase from one observation (settling replans it). */
interface Planner {
  /** The target with every DN in its settled spelling and the change log age decided. */
  readonly target: PrepareTarget;
  readonly phases: readonly ((seen: Observation) => Promise<PlannedStep[]>)[];
  readonly whole: (seen: Observation) => Promise<PlannedStep[]>;
}

/** What the run is asked to achieve, from the settings (DNs as given, before the server's spellings are known). */
function targetFor(settings: Settings, syncUserDn: string): PrepareTarget {
  return {
    baseDns: settings.baseDns.map(dnSpelling),
    // Removal looks for what either role may have added.
    roles: settings.remove ? { source: true, destination: true } : settings.roles,
    ...(settings.remove ? { removing: true } : {}),
    ...(settings.dryRun ? { dryRun: true } : {}),
    syncUserDn,
    changelogMaxAgeSeconds: settings.changelogMaxAgeSeconds ?? DEFAULT_CHANGELOG_MAX_AGE_SECONDS,
    keepCurrentChangelogMaxAge: settings.changelogMaxAgeSeconds === undefined,
    inheritDefaultRootPrivileges: settings.inheritDefaultRootPrivileges,
    ...(settings.accesslogDirectory === undefined ? {} : { accesslogDirectory: settings.accesslogDirectory }),
    ...(settings.writeProvenOn === undefined ? {} : { writeProvenOn: settings.writeProvenOn }),
    ...(settings.adAdministratorsGroup === true ? { adAdministratorsGroup: true } : {}),
    ...(settings.changelogDeletedEntryAttributes === undefined
      ? {}
      : { deletedEntryAttributes: settings.changelogDeletedEntryAttributes }),
  };
}

/**
 * SASL EXTERNAL alone on a server where that identity may configure but not write the data (Debian's slapd:
 * root over ldapi only reads it): the fix is the second identity, the data's administrator, named here.
 */
function externalOnlyHint(
  settings: Settings,
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
): { insufficientAccessHint?: string } {
  if (settings.useSaslExternal !== true || settings.bindDn !== undefined) return {};
  const administrators = (profile.administratorDns?.(target, observed) ?? []).filter(
    (admin) => !isWithin(admin.dn, 'cn=config'),
  );
  const named = administrators.map((admin) => `'${admin.dn}' (${admin.what})`).join(' or ');
  return {
    insufficientAccessHint: `the SASL EXTERNAL identity may configure the server but not write its entries: run the same command with --bindDN ${named === '' ? "<the data's administrator>" : named} and --bindPasswordFile too (EXTERNAL then configures cn=config, the bind DN writes the entries)`,
  };
}

/**
 * slapd binds a client certificate no olcAuthzRegexp maps as the certificate's own subject, an identity with
 * no entry and no rights: refuse it as 389 DS does (49), naming the certificate, rather than fail later on
 * every read with a message about rights.
 */
async function refuseUnmappedCertificate(admin: Directory, settings: Settings, identity: string): Promise<void> {
  const certificate = settings.clientCertificate;
  if (certificate === undefined || identity === '' || !dnEquals(identity, certificate.subject)) return;
  if ((await admin.read(identity, ['objectClass'])) !== undefined) return;
  throw new PrepareError(
    ResultCode.INVALID_CREDENTIALS,
    `The server does not map the client certificate '${certificate.subject}' to an entry: it bound it as its own subject, which names no entry`,
    'map the certificate on the server (OpenLDAP: olcAuthzRegexp from its subject to the admin entry; 389 DS: certmap.conf), or check --certNickname',
  );
}

/** How the run reached the server, for commands a profile prints for someone to run by hand. */
function adminConnection(settings: Settings, adminDn: string): NonNullable<PrepareTarget['adminConnection']> {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const url =
    settings.socketPath !== undefined
      ? `ldapi://${encodeURIComponent(settings.socketPath)}`
      : `${settings.security === 'ssl' ? 'ldaps' : 'ldap'}://${host}:${settings.port}`;
  return { url, startTls: settings.security === 'starttls', adminDn };
}

/**
 * Active Directory takes a password (unicodePwd) only over an encrypted connection, and every run binds with
 * passwords: so nothing secret is sent until the connection is known to be encrypted. The check comes right
 * after detection (an anonymous root DSE read), before the first bind.
 */
function requireEncryption(profile: ServerProfile, settings: Settings): void {
  if (profile.passwordRequiresEncryption !== true || settings.security !== 'none') return;
  throw new PrepareError(
    ResultCode.CONFIDENTIALITY_REQUIRED,
    `${profile.productName} takes passwords only over an encrypted connection: nothing was sent (no bind, no write)`,
    'add --useSSL (LDAPS, port 636) or --useStartTLS, with --trustStorePath for the server CA (or --trustAll)',
  );
}

/** `localhost` and the loopback addresses: the only hosts a plain-LDAP password does not cross a network to. */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(name) ||
    name === '::1' ||
    /^(0{0,4}:){7}0{0,3}1$/.test(name) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(name)
  );
}

async function ask(
  deps: RunDependencies,
  question: (prompter: Prompter) => Promise<string>,
  option: string,
): Promise<string> {
  if (deps.prompter === undefined) {
    throw new PrepareError(ResultCode.PARAM_ERROR, `A value is missing and prompting is off`, `pass ${option}`);
  }
  return question(deps.prompter);
}

/** At a terminal: the maximum age, offering the server's current one (or the 2-day default) as the answer. */
async function askChangelogMaxAge(
  prompter: Prompter,
  current: number | undefined,
): Promise<Pick<PrepareTarget, 'changelogMaxAgeSeconds' | 'keepCurrentChangelogMaxAge'>> {
  const answer = await prompter.text(
    current === undefined
      ? 'Maximum age of change log entries (such as 8h, 2d, 1w):'
      : 'Maximum age of change log entries (such as 8h, 2d, 1w; Enter keeps the current one):',
    formatCompact(current ?? DEFAULT_CHANGELOG_MAX_AGE_SECONDS),
    (value) => {
      try {
        parseDuration(value);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
  );
  // An answer is the operator's choice, even when it is the value offered.
  return { changelogMaxAgeSeconds: parseDuration(answer), keepCurrentChangelogMaxAge: false };
}

/** Said once the run has prepared the server: a destination base DN that holds the admin is the sync user's to write. */
function warnAboutAdminUnderDestination(
  settings: Settings,
  adminDn: string | undefined,
  warn: (message: string) => void,
): void {
  if (!settings.roles.destination || adminDn === undefined) return;
  for (const base of settings.baseDns.filter((dn) => isWithin(adminDn, dn))) {
    warn(
      `The admin bind DN '${adminDn}' is under the destination base DN '${base}', where the sync user may write every ` +
        'entry: make each destination base DN the synchronized subtree, not a suffix that holds administrators',
    );
  }
}

/**
 * A sync user inside a synchronized base DN travels with the data: its entry, password and password policy are
 * copied to the other side, and a destination sync may change or delete it like any other entry there.
 */
function warnAboutSyncUserInsideBase(target: PrepareTarget, warn: (message: string) => void): void {
  const base = target.baseDns.find((dn) => isWithin(target.syncUserDn, dn));
  if (base === undefined) return;
  warn(
    `The sync user '${target.syncUserDn}' lies inside the synchronized base DN '${base}': a sync would copy its entry, ` +
      'password and password policy to the other side. Keep it out of the sync: give it a container of its own outside ' +
      "the base DNs (--syncServerBindDN), or exclude its DN and its password policy entry in the sync engine's configuration",
  );
}

function warnAboutIgnoredOptions(settings: Settings, family: ServerFamily, warn: (message: string) => void): void {
  if (settings.inheritDefaultRootPrivileges && family !== 'pingdirectory' && family !== 'pingdirectoryproxy') {
    warn('--inheritDefaultRootPrivileges applies to PingDirectory only and was ignored');
  }
  if (settings.accesslogDirectory !== undefined && family !== 'openldap') {
    warn('--accesslogDirectory applies to OpenLDAP only and was ignored');
  }
  if (
    (settings.changelogDeletedEntryAttributes?.length ?? 0) > 0 &&
    !['389ds', 'dsee', 'pingdirectory', 'pingds', 'opendj', 'oud', 'openldap'].includes(family)
  ) {
    warn(
      '--changelogDeletedEntryAttribute applies to 389 DS, DSEE, PingDirectory, PingDS/OpenDJ/OUD and OpenLDAP sources only and was ignored',
    );
  }
  if (settings.adAdministratorsGroup === true && family !== 'activedirectory') {
    warn('--adAdministratorsGroup applies to Active Directory only and was ignored');
  }
}
