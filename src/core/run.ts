/**
 * One preparation of one server: connect, detect, plan, apply, verify. Everything the run says goes through
 * the reporter; every failure is a PrepareError carrying the exit code. Nothing here touches `process`.
 */
import { connect, type ConnectionOptions, type Directory, type DirectoryStats } from '../ldap/directory.js';
import { normalizeDn, parentDn } from '../ldap/dn.js';
import { PrepareError, ResultCode } from '../ldap/errors.js';
import { renderLdif } from '../ldap/ldif.js';
import { firstValue, isSecretAttribute, valuesOf, type Change, type Entry, type LdapControl } from '../ldap/types.js';
import { detectServer, ROOT_DSE_ATTRIBUTES, type ServerFamily } from '../servers/detect.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, SearchRequest, ServerProfile } from '../servers/profile.js';
import { profileFor, SUPPORTED_FAMILIES } from '../servers/registry.js';
import { formatCompact, parseDuration } from './duration.js';
import { planPreparation, planRemoval, planSyncUser } from './plan.js';
import type { Prompter, RunReporter } from './ports.js';
import { DEFAULT_ADMIN_DN, DEFAULT_CHANGELOG_MAX_AGE_SECONDS, Secret, type Settings } from './settings.js';

export interface RunDependencies {
  readonly reporter: RunReporter;
  /** Absent when the run may not prompt (`--no-prompt`, or no terminal). */
  readonly prompter: Prompter | undefined;
  /** Aborted on Ctrl-C: the run stops before its next write. */
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
}

export async function prepareEndpoint(settings: Settings, deps: RunDependencies): Promise<RunOutcome> {
  const { reporter, stats } = deps;
  const connection = connectionOptions(settings);
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

    // A locked-down root DSE answers nobody anonymous: then detection waits for the admin bind.
    let adminBound = false;
    const bindAdmin = async (): Promise<void> => {
      if (adminBound) return;
      const bindDn = settings.bindDn ?? (await ask(deps, (p) =>
        p.text('Administrator bind DN:', DEFAULT_ADMIN_DN), '--bindDN'));
      const bindPassword = settings.bindPassword ?? new Secret(await ask(deps, (p) =>
        p.secret(`Password for '${bindDn}':`), '--bindPasswordFile (or PES_BIND_PASSWORD)'));
      await admin.bind(bindDn, bindPassword.reveal());
      adminBound = true;
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

    const syncUserDn = settings.syncUserDn ?? profile.defaultSyncUserDn(settings.baseDns);
    syncSession = syncPassword === undefined ? undefined : await testSyncAccess(connection, syncUserDn, syncPassword, reporter, stats);
    const canBind = syncSession?.bound ?? false;

    await bindAdmin();

    const maxAge = settings.roles.source && !settings.remove ? await changelogMaxAge(settings, deps) : DEFAULT_CHANGELOG_MAX_AGE_SECONDS;
    const target: PrepareTarget = {
      baseDns: settings.baseDns,
      // Removal looks for what either role may have added.
      roles: settings.remove ? { source: true, destination: true } : settings.roles,
      syncUserDn,
      changelogMaxAgeSeconds: maxAge,
      inheritDefaultRootPrivileges: settings.inheritDefaultRootPrivileges,
      ...(settings.accesslogDirectory === undefined ? {} : { accesslogDirectory: settings.accesslogDirectory }),
      ...(settings.adAdministratorsGroup === true ? { adAdministratorsGroup: true } : {}),
    };

    let observed = await observe(admin, profile, target, rootDse);
    verifyBaseDns(settings.baseDns, observed, reporter);

    const syncFacts = { password: syncPassword?.reveal() ?? '', canBind, resetPassword: settings.resetSyncPassword };
    // Profiles whose rights name the account by a server-assigned id (AD's objectSid) plan in two phases: the
    // sync user and prerequisites first, then, observed again after those writes, the rights and change log.
    const twoPhase = !settings.remove && profile.plansAccessAfterSyncUser === true;
    const planRest = (seen: Observation): PlannedStep[] => [
      ...profile.planAccess(target, seen),
      ...(target.roles.source ? profile.planChangelog(target, seen) : []),
    ];
    const firstPhase = settings.remove
      ? planRemoval(profile, target, observed, settings.disableChangelog)
      : twoPhase
        ? [planSyncUser(profile, target, observed, syncFacts), ...(profile.planPrerequisites?.(target, observed) ?? [])]
        : planPreparation(profile, target, observed, syncFacts);
    requireEncryptionForPasswords(profile, settings, firstPhase);

    if (settings.dryRun) {
      const plan = twoPhase ? [...firstPhase, ...planRest(observed)] : firstPhase;
      for (const step of plan) {
        reporter.step(step);
        for (const message of step.warnings) warn(message);
      }
      const changes = plan.flatMap((step) => step.changes);
      return { server: { address: admin.address, family, vendor: detection.vendor }, syncUserDn, steps: plan, warnings, changed: false, changes, changeNumbers: undefined };
    }

    await applyPlan(firstPhase);
    let plan = firstPhase;
    if (twoPhase) {
      if (firstPhase.some((step) => step.changes.length > 0)) observed = await observe(admin, profile, target, rootDse);
      const rest = planRest(observed);
      await applyPlan(rest);
      plan = [...firstPhase, ...rest];
    }
    const changes = plan.flatMap((step) => step.changes);

    /** Applies steps in order, each write reported as made; a refusal carries the LDIF of what is left. */
    async function applyPlan(steps: readonly PlannedStep[]): Promise<void> {
      const changes = steps.flatMap((step) => step.changes);
      let applied = 0;
      for (const step of steps) {
        for (const change of step.changes) {
          if (deps.signal.aborted) {
            throw new PrepareError(ResultCode.INTERRUPTED, 'Interrupted before all changes were made',
              'run the same command again: it finishes what is left');
          }
          try {
            await admin.apply(change);
            reporter.wrote(change);
          } catch (error) {
            // Another run (or person) may have made the same change since we read the server: that is success.
            if (!(await madeMeanwhile(admin, change, error, connection, stats))) {
              throw withRemainingChanges(error, changes.slice(applied));
            }
            reporter.info(`'${change.dn}' was changed meanwhile by someone else, as this run wanted: kept`);
          }
          applied += 1;
        }
        reporter.step(step);
        for (const message of step.warnings) warn(message);
      }
    }

    const changeNumbers = settings.remove
      ? await confirmRemoval(admin, syncUserDn, reporter, warn)
      : await verifySyncUser(connection, profile, target, observed, plan, syncPassword ?? new Secret(''), reporter, warn, stats, syncSession);
    return {
      server: { address: admin.address, family, vendor: detection.vendor },
      syncUserDn,
      steps: plan,
      warnings,
      changed: changes.length > 0,
      changes,
      changeNumbers,
    };
  } finally {
    await syncSession?.directory.close();
    await admin.close();
  }
}

/** Result codes a write gets when the server already is as the write wanted (a concurrent run got there first). */
const ALREADY_DONE_CODES: ReadonlySet<number> = new Set([
  ResultCode.NO_SUCH_OBJECT, // delete of an entry already gone
  16, // noSuchAttribute: delete of a value already gone
  20, // attributeOrValueExists: add of a value already there
  ResultCode.ENTRY_ALREADY_EXISTS,
]);

/**
 * After a write failed with one of ALREADY_DONE_CODES: reads the entry back and says whether it is now as the
 * write wanted. A racing add of an account only counts when the account accepts this run's password.
 */
async function madeMeanwhile(
  admin: Directory,
  change: Change,
  error: unknown,
  connection: ConnectionOptions,
  stats: DirectoryStats,
): Promise<boolean> {
  if (!(error instanceof PrepareError) || !ALREADY_DONE_CODES.has(error.resultCode)) return false;
  switch (change.kind) {
    case 'delete':
      return (await admin.read(change.dn, ['objectClass'])) === undefined;
    case 'add': {
      if (error.resultCode !== ResultCode.ENTRY_ALREADY_EXISTS) return false;
      if ((await admin.read(change.dn, ['objectClass'])) === undefined) return false;
      const secret = Object.entries(change.attributes).find(([name]) => isSecretAttribute(name))?.[1][0];
      if (secret === undefined) return true;
      const probe = await connect(connection, stats);
      try {
        await probe.bind(change.dn, secret);
        return true;
      } catch {
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
 * Active Directory takes a password (unicodePwd) only over an encrypted connection: say so before any write,
 * rather than leave the server's own refusal halfway through.
 */
function requireEncryptionForPasswords(profile: ServerProfile, settings: Settings, plan: readonly PlannedStep[]): void {
  if (profile.passwordRequiresEncryption !== true || settings.security !== 'none') return;
  const attribute = profile.passwordAttribute.toLowerCase();
  const setsPassword = plan.some((step) => step.changes.some((change) =>
    (change.kind === 'add' && Object.keys(change.attributes).some((name) => name.toLowerCase() === attribute)) ||
    (change.kind === 'modify' && change.modifications.some((m) => m.attribute.toLowerCase() === attribute))));
  if (!setsPassword) return;
  throw new PrepareError(
    ResultCode.CONFIDENTIALITY_REQUIRED,
    `${profile.productName} sets the sync user's password (${profile.passwordAttribute}) only over an encrypted connection`,
    'add --useSSL (LDAPS, port 636) or --useStartTLS, with --trustStorePath for the server CA (or --trustAll)',
  );
}

/** After --remove the sync user's entry must be gone (read back as the admin). */
async function confirmRemoval(admin: Directory, dn: string, reporter: RunReporter, warn: (message: string) => void): Promise<undefined> {
  const title = `Verifying '${dn}' is gone`;
  if ((await admin.read(dn, ['objectClass'])) === undefined) {
    reporter.check(title, 'Done');
  } else {
    reporter.check(title, 'Failed');
    warn(`'${dn}' still exists after its removal: check the server's error log`);
  }
  return undefined;
}

/** When the admin may not make a change, the operator gets the LDIF of what is left to apply by hand. */
function withRemainingChanges(error: unknown, remaining: readonly Change[]): unknown {
  if (!(error instanceof PrepareError) || error.resultCode !== ResultCode.INSUFFICIENT_ACCESS || error.details !== undefined) {
    return error;
  }
  return new PrepareError(error.resultCode, error.message,
    'bind as an administrator with the rights, or have one apply the LDIF below (passwords masked: fill them in)',
    { cause: error, details: renderLdif(remaining) });
}

function connectionOptions(settings: Settings): ConnectionOptions {
  return {
    host: settings.host,
    port: settings.port,
    security: settings.security,
    trust: settings.trust,
    connectTimeoutMs: settings.connectTimeoutMs,
    operationTimeoutMs: settings.operationTimeoutMs,
  };
}

async function openConnection(
  options: ConnectionOptions,
  reporter: RunReporter,
  stats: DirectoryStats,
): Promise<{ directory: Directory; rootDse: Entry | undefined }> {
  const address = `${options.host}:${options.port}`;
  try {
    const directory = await connect(options, stats);
    // ldapts connects on the first operation; the root DSE read is that operation (and proves the server
    // speaks LDAP). It asks for what detection needs, so detection reads nothing more.
    const rootDse = await directory.read('', ROOT_DSE_ATTRIBUTES);
    reporter.check(`Testing connection to ${address}`, 'Done');
    return { directory, rootDse };
  } catch (error) {
    reporter.check(`Testing connection to ${address}`, 'Failed');
    throw error;
  }
}

async function ask(deps: RunDependencies, question: (prompter: Prompter) => Promise<string>, option: string): Promise<string> {
  if (deps.prompter === undefined) {
    throw new PrepareError(ResultCode.PARAM_ERROR, `A value is missing and prompting is off`, `pass ${option}`);
  }
  return question(deps.prompter);
}

/** The sync user's own connection: `bound` when the bind of the access test succeeded. */
interface SyncSession {
  readonly directory: Directory;
  readonly bound: boolean;
}

/**
 * Binds as the sync user on a connection of its own. Denied is normal before the account exists. The
 * connection stays open for verifySyncUser (the caller closes it); it is closed here only on a failure.
 */
async function testSyncAccess(
  options: ConnectionOptions,
  dn: string,
  password: Secret,
  reporter: RunReporter,
  stats: DirectoryStats,
): Promise<SyncSession> {
  const directory = await connect(options, stats);
  try {
    await directory.bind(dn, password.reveal());
    reporter.check(`Testing '${dn}' access`, 'Done');
    return { directory, bound: true };
  } catch (error) {
    if (error instanceof PrepareError && isDenial(error.resultCode)) {
      reporter.check(`Testing '${dn}' access`, 'Denied');
      return { directory, bound: false };
    }
    await directory.close();
    throw error;
  }
}

function isDenial(code: number): boolean {
  return code === ResultCode.INVALID_CREDENTIALS || code === ResultCode.NO_SUCH_OBJECT || code === ResultCode.INSUFFICIENT_ACCESS || code === 48 || code === 53;
}

async function changelogMaxAge(settings: Settings, deps: RunDependencies): Promise<number> {
  if (settings.changelogMaxAgeSeconds !== undefined) return settings.changelogMaxAgeSeconds;
  if (deps.prompter === undefined) return DEFAULT_CHANGELOG_MAX_AGE_SECONDS;
  const answer = await deps.prompter.text(
    'Maximum age of change log entries (such as 8h, 2d, 1w):',
    formatCompact(DEFAULT_CHANGELOG_MAX_AGE_SECONDS),
    (value) => {
      try {
        parseDuration(value);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
  );
  return parseDuration(answer);
}

/** Reads everything the plan looks at, all requests in flight at once on the admin connection. */
async function observe(
  admin: Directory,
  profile: ServerProfile,
  target: PrepareTarget,
  rootDse: Entry | undefined,
): Promise<Observation> {
  const requests = new Map<string, ReadRequest>();
  const want = (request: ReadRequest): void => {
    const key = normalizeDn(request.dn);
    const known = requests.get(key);
    const attributes = new Set([...(known?.attributes ?? []), ...request.attributes]);
    const controls = new Map<string, LdapControl>([...(known?.controls ?? []), ...(request.controls ?? [])].map((c) => [c.oid, c]));
    requests.set(key, { dn: request.dn, attributes: [...attributes], ...(controls.size > 0 ? { controls: [...controls.values()] } : {}) });
  };
  for (const base of target.baseDns) want({ dn: base, attributes: profile.baseDnAttributes });
  want({ dn: target.syncUserDn, attributes: ['objectClass'] });
  const parent = parentDn(target.syncUserDn);
  if (parent !== undefined && parent !== '') want({ dn: parent, attributes: ['objectClass'] });
  for (const request of profile.reads(target)) want(request);

  const keys = [...requests.keys()];
  const searches = profile.searches?.(target) ?? [];
  const [entries, searchResults] = await Promise.all([
    inFlight(keys.map((key) => () => {
      const request = requests.get(key)!;
      const attributes = request.attributes.length > 0 ? request.attributes : ['objectClass'];
      return request.controls === undefined ? admin.read(request.dn, attributes) : admin.read(request.dn, attributes, { controls: request.controls });
    }), MAX_IN_FLIGHT),
    inFlight(searches.map((search) => () => searchOrNothing(admin, search)), 1),
  ]);
  const byDn = new Map(keys.map((key, index) => [key, entries[index]]));
  const bySearch = new Map(searches.map((search, index) => [search.key, searchResults[index] ?? []]));
  return {
    rootDse,
    entry(dn: string): Entry | undefined {
      const key = normalizeDn(dn);
      if (!byDn.has(key)) throw new Error(`internal: '${dn}' was not read before planning`);
      return byDn.get(key);
    },
    found(key: string): readonly Entry[] {
      const result = bySearch.get(key);
      if (result === undefined) throw new Error(`internal: search '${key}' was not run before planning`);
      return result;
    },
  };
}

/**
 * Requests pipelined on one connection. 389 DS answers a third request in flight on one connection only at
 * its next poll, about 100 ms later (measured: 6 reads in flight take 100-400 ms, 2 at a time take 3 ms), so
 * the reads go out two at a time, and the searches (profiles other than 389 DS's) one at a time beside them.
 */
const MAX_IN_FLIGHT = 2;

/** Runs the tasks with at most `limit` of them in flight; the results keep the tasks' order. */
async function inFlight<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next;
      next += 1;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** A search the admin may not run (no rights on cn=config, say) finds nothing; the profile decides what that means. */
async function searchOrNothing(admin: Directory, search: SearchRequest): Promise<Entry[]> {
  try {
    return await admin.search(search.base, search.scope, search.filter, search.attributes);
  } catch (error) {
    if (error instanceof PrepareError && error.resultCode === ResultCode.INSUFFICIENT_ACCESS) return [];
    throw error;
  }
}

function verifyBaseDns(baseDns: readonly string[], observed: Observation, reporter: RunReporter): void {
  const missing: string[] = [];
  for (const base of baseDns) {
    const exists = observed.entry(base) !== undefined;
    reporter.check(`Verifying base DN '${base}'`, exists ? 'Done' : 'Missing');
    if (!exists) missing.push(base);
  }
  if (missing.length > 0) {
    throw new PrepareError(
      ResultCode.NO_SUCH_OBJECT,
      `Base DN ${missing.map((dn) => `'${dn}'`).join(', ')} does not exist (or the admin may not read it)`,
      'create the base entry first, or correct --baseDN',
    );
  }
}

/** Binds as the sync user after the changes and checks what a sync server will need of it. */
async function verifySyncUser(
  options: ConnectionOptions,
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  plan: readonly PlannedStep[],
  password: Secret,
  reporter: RunReporter,
  warn: (message: string) => void,
  stats: DirectoryStats,
  session?: SyncSession,
): Promise<{ first: string; last: string } | undefined> {
  // The access test's connection is reused; it binds again unless it is bound already and nothing was
  // written to the account since (a new password or new privileges take effect at the next bind).
  const directory = session?.directory ?? (await connect(options, stats));
  try {
    const syncUserKey = normalizeDn(target.syncUserDn);
    const accountChanged = plan.some((step) => step.changes.some((change) => normalizeDn(change.dn) === syncUserKey));
    if (session?.bound !== true || accountChanged) await directory.bind(target.syncUserDn, password.reveal());
    if (!target.roles.source) {
      reporter.check(`Testing '${target.syncUserDn}' access`, 'Done');
      return undefined;
    }
    const changeSource = profile.changeSource?.(target);
    if (changeSource?.dirSync !== undefined) {
      const title = `Verifying '${target.syncUserDn}' can run DirSync on '${changeSource.dn}'`;
      const seen = await dirSyncFinds(directory, changeSource.dn, changeSource.dirSync.filter, target.syncUserDn);
      if (seen.ok) {
        reporter.check(title, 'Done', seen.detail);
        warn(changeSource.note);
      } else {
        reporter.check(title, 'Denied', seen.detail);
        warn(`The sync user cannot run DirSync on '${changeSource.dn}' (${seen.detail}): ${profile.explainMissingChangeNumbers(target, observed, plan)}`);
      }
      return undefined;
    }
    if (changeSource !== undefined) {
      const title = `Verifying '${target.syncUserDn}' can read '${changeSource.dn}'`;
      if ((await directory.read(changeSource.dn, ['objectClass'])) !== undefined) {
        reporter.check(title, 'Done');
        warn(changeSource.note);
      } else {
        reporter.check(title, 'Denied');
        warn(`The sync user cannot read '${changeSource.dn}': ${profile.explainMissingChangeNumbers(target, observed, plan)}`);
      }
      return undefined;
    }
    const rootDse = await directory.read('', profile.changeNumberAttributes);
    const [firstName, lastName] = profile.changeNumberAttributes;
    const first = firstValue(rootDse, firstName ?? 'firstChangeNumber');
    const last = firstValue(rootDse, lastName ?? 'lastChangeNumber');
    if (first !== undefined && last !== undefined) {
      // Attributes past the first two (PingDirectory's lastPurgedChangeNumber) are reported when the server shows them.
      const more = profile.changeNumberAttributes.slice(2).flatMap((name) => {
        const value = firstValue(rootDse, name);
        return value === undefined ? [] : [`${name} ${value}`];
      });
      reporter.check(`Verifying '${target.syncUserDn}' can read the change numbers`, 'Done', [`first ${first}, last ${last}`, ...more].join(', '));
      return { first, last };
    }
    reporter.check(`Verifying '${target.syncUserDn}' can read the change numbers`, 'Denied');
    warn(`The sync user cannot read firstChangeNumber/lastChangeNumber in the root DSE: ${profile.explainMissingChangeNumbers(target, observed, plan)}`);
    return undefined;
  } catch (error) {
    if (error instanceof PrepareError && error.resultCode === ResultCode.INVALID_CREDENTIALS) {
      reporter.check(`Testing '${target.syncUserDn}' access`, 'Denied');
      warn(`The sync user cannot bind after preparation: check its account status (locked or expired?) on the server`);
      return undefined;
    }
    throw error;
  } finally {
    // A reused connection is closed by prepareEndpoint.
    if (session === undefined) await directory.close();
  }
}

/**
 * A DirSync search from the start (no cookie), round after round while the server has more, until an entry
 * with the DN wanted shows up: proof that the sync user holds the replication right and sees recent changes.
 */
async function dirSyncFinds(directory: Directory, base: string, filter: string, dn: string): Promise<{ ok: boolean; detail: string }> {
  const wanted = normalizeDn(dn);
  let cookie: string | undefined;
  try {
    for (let round = 1; round <= 50; round++) {
      const result = await directory.dirSync(base, filter, ['objectClass'], cookie === undefined ? {} : { cookie });
      if (result.entries.some((entry) => normalizeDn(entry.dn) === wanted)) {
        return { ok: true, detail: `the sync user's own entry came back as a change (round ${round})` };
      }
      if (!result.more) return { ok: false, detail: `DirSync answered, but without '${dn}'` };
      cookie = result.cookie;
    }
    return { ok: false, detail: `'${dn}' not seen after 50 DirSync rounds` };
  } catch (error) {
    if (error instanceof PrepareError && (error.resultCode === ResultCode.INSUFFICIENT_ACCESS || error.resultCode === ResultCode.UNWILLING_TO_PERFORM)) {
      return { ok: false, detail: `the server said: ${error.message}` };
    }
    throw error;
  }
}

function warnAboutIgnoredOptions(settings: Settings, family: ServerFamily, warn: (message: string) => void): void {
  if (settings.inheritDefaultRootPrivileges && family !== 'pingdirectory' && family !== 'pingdirectoryproxy') {
    warn('--inheritDefaultRootPrivileges applies to PingDirectory only and was ignored');
  }
  if (settings.accesslogDirectory !== undefined && family !== 'openldap') {
    warn('--accesslogDirectory applies to OpenLDAP only and was ignored');
  }
  if (settings.adAdministratorsGroup === true && family !== 'activedirectory') {
    warn('--adAdministratorsGroup applies to Active Directory only and was ignored');
  }
}

