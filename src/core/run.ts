/**
 * One preparation of one server: connect, detect, observe, plan, apply, verify. This module is the order of
 * those steps and the decisions between them; the steps themselves live in connections.ts, observe.ts,
 * plan.ts (pure), apply.ts and verify.ts. Everything the run says goes through the reporter; every failure
 * is a PrepareError carrying the exit code. Nothing here touches `process`.
 */
import type { DirectoryStats } from '../ldap/directory.js';
import { dnSpelling, isWithin } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import type { Change } from '../model/entries.js';
import { detectServer, ROOT_DSE_ATTRIBUTES, type ServerFamily } from '../servers/detect.js';
import type { ServerProfile } from '../servers/profile.js';
import type { Observation, PlannedStep, PrepareTarget } from '../model/plan.js';
import { profileFor, SUPPORTED_FAMILIES } from '../servers/registry.js';
import { type ApplyContext } from './apply.js';
import { connectionOptions, openConnection, retestSyncAccess, testSyncAccess, type SyncSession } from './connections.js';
import { formatCompact, parseDuration } from '../formats/duration.js';
import { hasChildren, settleSpellings } from './names.js';
import { observe, verifyBaseDns } from './observe.js';
import { isMarkedAccount, planPreparation, planRemoval, planSyncUser, refuseAdministrators, type RemovalFacts } from './plan.js';
import { applySettled } from './settle.js';
import type { Prompter, RunReporter } from './ports.js';
import { DEFAULT_ADMIN_DN, DEFAULT_CHANGELOG_MAX_AGE_SECONDS, type Settings } from './settings.js';
import { Secret } from '../model/secret.js';
import { confirmRemoval, verifySyncUser } from './verify.js';

export interface RunDependencies {
  readonly reporter: RunReporter;
  /** Absent when the run may not prompt (`--no-prompt`, or no terminal). */
  readonly prompter: Prompter | undefined;
  /** Aborted on Ctrl-C or SIGTERM (the reason names the signal): the run stops at once, before its next write. */
  readonly signal: AbortSignal;
  /** LDAP operations of every connection of the run, counted as they happen (a failed run reports them too). */
  readonly stats: DirectoryStats;
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
  const { reporter, stats } = deps;
  // Every connection of the run watches the signal: Ctrl-C or SIGTERM drops an operation in flight.
  const connection = { ...connectionOptions(settings), signal: deps.signal };
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    reporter.warning(message);
  };

  // The connection test is the detection read: one root DSE round trip, not two.
  const { directory: admin, rootDse: firstRootDse } = await openConnection(connection, reporter, stats);
  // The sync user's connection from the access test, kept for the final verification (one connection less).
  let syncSession: SyncSession | undefined;
  try {
    let rootDse = firstRootDse;
    // Removal needs no sync password: the account is deleted, not used.
    const syncPassword = settings.remove
      ? undefined
      : settings.syncPassword ?? new Secret(await ask(deps, (p) =>
        p.newSecret('Password for the sync user:'), '--syncServerBindPasswordFile (or PES_SYNC_PASSWORD)'));

    if (settings.security === 'none' && !isLoopbackHost(settings.host)) {
      warn(`Passwords are sent to ${admin.address} over plain LDAP, readable on the network: add --useStartTLS (or --useSSL with the LDAPS port)`);
    }

    // A locked-down root DSE answers nobody anonymous: then detection waits for the admin bind.
    let adminDn: string | undefined;
    const bindAdmin = async (): Promise<string> => {
      if (adminDn !== undefined) return adminDn;
      const bindDn = settings.bindDn ?? (await ask(deps, (p) =>
        p.text('Administrator bind DN:', DEFAULT_ADMIN_DN), '--bindDN'));
      const bindPassword = settings.bindPassword ?? new Secret(await ask(deps, (p) =>
        p.secret(`Password for '${bindDn}':`), '--bindPasswordFile (or PES_BIND_PASSWORD)'));
      await admin.bind(bindDn, bindPassword.reveal());
      adminDn = bindDn;
      return bindDn;
    };
    if (rootDse === undefined || rootDse.attributes.size === 0) {
      await bindAdmin();
      rootDse = await admin.read('', ROOT_DSE_ATTRIBUTES);
    }

    const detection = detectServer(rootDse);
    const family = settings.serverType === 'auto' ? detection.family : settings.serverType;
    const profile = profileFor(family, rootDse);
    reporter.detected({ family, productName: profile?.productName ?? family, vendor: detection.vendor });
    reporter.info(`Server type: ${profile?.productName ?? family} (${detection.vendor})${settings.serverType === 'auto' ? '' : ', from --serverType'}`);
    if (profile === undefined) {
      throw new PrepareError(
        ResultCode.UNWILLING_TO_PERFORM,
        `Servers of type '${family}' (${detection.vendor}) are not supported by this version`,
        `supported types: ${SUPPORTED_FAMILIES.join(', ')}; if detection is wrong, pass --serverType`,
      );
    }
    if (settings.remove && profile.planRemoval === undefined) {
      throw new PrepareError(ResultCode.UNWILLING_TO_PERFORM, `--remove is not available for ${profile.productName} yet`,
        'remove the sync user and the rights named "prepare-endpoint-server" by hand');
    }
    warnAboutIgnoredOptions(settings, family, warn);
    requireEncryption(profile, settings);

    const givenSyncUserDn = settings.syncUserDn ?? profile.defaultSyncUserDn(settings.baseDns);
    // DNs go to the server as written, less what RFC 4514 lets a parser ignore and with naming OIDs as names
    // (`2.5.4.3=` is `cn=`: 389 DS reads no entry by an OID-typed DN).
    const spelledSyncUserDn = dnSpelling(givenSyncUserDn);
    syncSession = syncPassword === undefined ? undefined : await testSyncAccess(connection, spelledSyncUserDn, syncPassword, reporter, stats);

    const bindDn = await bindAdmin();

    let target: PrepareTarget = {
      baseDns: settings.baseDns.map(dnSpelling),
      // Removal looks for what either role may have added.
      roles: settings.remove ? { source: true, destination: true } : settings.roles,
      ...(settings.remove ? { removing: true } : {}),
      ...(settings.dryRun ? { dryRun: true } : {}),
      syncUserDn: spelledSyncUserDn,
      changelogMaxAgeSeconds: settings.changelogMaxAgeSeconds ?? DEFAULT_CHANGELOG_MAX_AGE_SECONDS,
      keepCurrentChangelogMaxAge: settings.changelogMaxAgeSeconds === undefined,
      inheritDefaultRootPrivileges: settings.inheritDefaultRootPrivileges,
      ...(settings.accesslogDirectory === undefined ? {} : { accesslogDirectory: settings.accesslogDirectory }),
      ...(settings.adAdministratorsGroup === true ? { adAdministratorsGroup: true } : {}),
      ...(settings.changelogDeletedEntryAttributes === undefined ? {} : { deletedEntryAttributes: settings.changelogDeletedEntryAttributes }),
    };
    let observed = await observe(admin, profile, target, rootDse);
    verifyBaseDns(settings.baseDns, observed, reporter);
    // From here on every DN is written in one spelling: the server's for entries that exist (see names.ts).
    ({ target, observed } = await settleSpellings(admin, profile, target, observed, rootDse));
    const syncUserDn = target.syncUserDn;
    refuseAdministrators(profile, target, observed, bindDn, givenSyncUserDn);

    // The access test ran before the observation: an account that exists now may have been created meanwhile
    // by another run (with this run's password), or binds only under the server's spelling. Test it again.
    const recheckAccess = async (seen: Observation): Promise<void> => {
      if (syncSession === undefined || syncSession.bound || syncPassword === undefined || seen.entry(syncUserDn) === undefined) return;
      syncSession = await retestSyncAccess(syncSession, syncUserDn, syncPassword);
    };
    const boundAsGiven = syncSession?.bound === true;
    await recheckAccess(observed);
    if (!boundAsGiven && syncSession?.bound === true && dnSpelling(givenSyncUserDn).toLowerCase() !== syncUserDn.toLowerCase()) {
      // 389 DS binds `cn=Sync\20User` only so, not as `cn=Sync User`: the sync server must use the server's spelling.
      warn(`The server binds the sync user only as '${syncUserDn}', not as '${givenSyncUserDn}': configure the sync server with '${syncUserDn}'`);
    }
    const syncFacts = (): { password: string; canBind: boolean; resetPassword: boolean } =>
      ({ password: syncPassword?.reveal() ?? '', canBind: syncSession?.bound ?? false, resetPassword: settings.resetSyncPassword });
    const bindDiagnostic = syncSession?.bindDiagnostic;
    const accountFacts = { canBind: syncSession?.bound ?? false, resetPassword: settings.resetSyncPassword, removing: settings.remove, ...(bindDiagnostic === undefined ? {} : { bindDiagnostic }) };
    for (const message of profile.vetTarget?.(target, observed, accountFacts) ?? []) warn(message);
    // The age is asked once the server's current one is known (so the prompt can offer to keep it), and only
    // once the sync user and base DNs were found acceptable.
    if (settings.roles.source && !settings.remove && settings.changelogMaxAgeSeconds === undefined && deps.prompter !== undefined) {
      target = { ...target, ...(await askChangelogMaxAge(deps.prompter, profile.currentChangelogMaxAge?.(target, observed))) };
    }
    const removalFacts = async (seen: Observation): Promise<RemovalFacts> => {
      const account = seen.entry(syncUserDn);
      return { hasChildren: account !== undefined && isMarkedAccount(account) ? await hasChildren(admin, syncUserDn) : undefined };
    };
    // Profiles whose rights name the account by a server-assigned id (AD's objectSid) plan in two phases: the
    // sync user and prerequisites first, then, observed again after those writes, the rights and change log.
    const twoPhase = !settings.remove && profile.plansAccessAfterSyncUser === true;
    const planRest = (seen: Observation): PlannedStep[] => [
      ...profile.planAccess(target, seen),
      ...(target.roles.source ? profile.planChangelog(target, seen) : []),
    ];
    const planAccount = (seen: Observation): PlannedStep[] =>
      [planSyncUser(profile, target, seen, syncFacts()), ...(profile.planPrerequisites?.(target, seen) ?? [])];
    // The whole plan from one observation, once the account exists (the later rounds of applySettled).
    const planWhole = async (seen: Observation): Promise<PlannedStep[]> => settings.remove
      ? planRemoval(profile, target, seen, settings.disableChangelog, await removalFacts(seen))
      : [...planAccount(seen), ...planRest(seen)];
    const firstPhase = settings.remove
      ? await planWhole(observed)
      : twoPhase ? planAccount(observed) : planPreparation(profile, target, observed, syncFacts());

    if (settings.dryRun) {
      if (syncPassword !== undefined) {
        reporter.info("Dry run: the sync user's password was tested with one bind (a wrong one counts towards the account's lockout), nothing else was sent as it");
      }
      const plan = twoPhase ? [...firstPhase, ...planRest(observed)] : firstPhase;
      for (const step of plan) {
        reporter.step(step);
        for (const message of [...(step.changes.length > 0 ? step.cautions ?? [] : []), ...step.warnings]) warn(message);
      }
      const changes = plan.flatMap((step) => step.changes);
      return { server: { address: admin.address, family, vendor: detection.vendor }, syncUserDn, steps: plan, warnings, changed: false, changes, changeNumbers: undefined };
    }

    const applying: ApplyContext = { admin, connection, stats, reporter, signal: deps.signal, warn };
    const observeAgain = async (): Promise<Observation> => {
      observed = await observe(admin, profile, target, rootDse);
      await recheckAccess(observed);
      return observed;
    };
    const settling = { afterWrites: profile.settlesAfterWrites === true, replan: async () => planWhole(await observeAgain()) };
    // The first phase of a two-phase plan is settled on its own: the rights are planned from what it leaves.
    let plan = await applySettled(firstPhase, applying,
      twoPhase ? { afterWrites: false, replan: async () => planAccount(await observeAgain()) } : settling);
    if (twoPhase) {
      if (firstPhase.some((step) => step.changes.length > 0)) await observeAgain();
      plan = [...plan, ...await applySettled(planRest(observed), applying, settling)];
    }
    const changes = plan.flatMap((step) => step.changes);

    const accountDeleted = plan.some((step) => step.id === 'sync-user' && step.changes.some((change) => change.kind === 'delete'));
    // A kept account (not this tool's to delete) leaves nothing to confirm after --remove.
    const { changeNumbers, verified } = settings.remove
      ? accountDeleted ? await confirmRemoval(admin, syncUserDn, reporter, warn) : { changeNumbers: undefined, verified: undefined }
      : await verifySyncUser(connection, profile, target, observed, plan, syncPassword ?? new Secret(''), reporter, warn, stats, syncSession, admin);
    if (!settings.remove) warnAboutAdminUnderDestination(settings, adminDn, warn);
    return {
      server: { address: admin.address, family, vendor: detection.vendor },
      syncUserDn,
      steps: plan,
      warnings,
      changed: changes.length > 0,
      changes,
      changeNumbers,
      verified,
    };
  } finally {
    await syncSession?.directory.close();
    await admin.close();
  }
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
  const name = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name) ||
    name === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(name) || /^::ffff:127(\.\d{1,3}){3}$/.test(name);
}

async function ask(deps: RunDependencies, question: (prompter: Prompter) => Promise<string>, option: string): Promise<string> {
  if (deps.prompter === undefined) {
    throw new PrepareError(ResultCode.PARAM_ERROR, `A value is missing and prompting is off`, `pass ${option}`);
  }
  return question(deps.prompter);
}

/** At a terminal: the maximum age, offering the server's current one (or the 2-day default) as the answer. */
async function askChangelogMaxAge(prompter: Prompter, current: number | undefined): Promise<Pick<PrepareTarget, 'changelogMaxAgeSeconds' | 'keepCurrentChangelogMaxAge'>> {
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
function warnAboutAdminUnderDestination(settings: Settings, adminDn: string | undefined, warn: (message: string) => void): void {
  if (!settings.roles.destination || adminDn === undefined) return;
  for (const base of settings.baseDns.filter((dn) => isWithin(adminDn, dn))) {
    warn(`The admin bind DN '${adminDn}' is under the destination base DN '${base}', where the sync user may write every ` +
      'entry: make each destination base DN the synchronized subtree, not a suffix that holds administrators');
  }
}

function warnAboutIgnoredOptions(settings: Settings, family: ServerFamily, warn: (message: string) => void): void {
  if (settings.inheritDefaultRootPrivileges && family !== 'pingdirectory' && family !== 'pingdirectoryproxy') {
    warn('--inheritDefaultRootPrivileges applies to PingDirectory only and was ignored');
  }
  if (settings.accesslogDirectory !== undefined && family !== 'openldap') {
    warn('--accesslogDirectory applies to OpenLDAP only and was ignored');
  }
  if ((settings.changelogDeletedEntryAttributes?.length ?? 0) > 0 && !['389ds', 'dsee', 'pingdirectory', 'pingds', 'opendj', 'oud', 'openldap'].includes(family)) {
    warn('--changelogDeletedEntryAttribute applies to 389 DS, DSEE, PingDirectory, PingDS/OpenDJ/OUD and OpenLDAP sources only and was ignored');
  }
  if (settings.adAdministratorsGroup === true && family !== 'activedirectory') {
    warn('--adAdministratorsGroup applies to Active Directory only and was ignored');
  }
}

