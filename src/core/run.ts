/**
 * One preparation of one server: connect, detect, plan, apply, verify. Everything the run says goes through
 * the reporter; every failure is a PrepareError carrying the exit code. Nothing here touches `process`.
 */
import { connect, type ConnectionOptions, type Directory, type DirectoryStats } from '../ldap/directory.js';
import { normalizeDn, parentDn } from '../ldap/dn.js';
import { PrepareError, ResultCode } from '../ldap/errors.js';
import { renderLdif } from '../ldap/ldif.js';
import { firstValue, type Change, type Entry } from '../ldap/types.js';
import { detectServer, ROOT_DSE_ATTRIBUTES, type ServerFamily } from '../servers/detect.js';
import type { Observation, PlannedStep, PrepareTarget, ReadRequest, SearchRequest, ServerProfile } from '../servers/profile.js';
import { profileFor, SUPPORTED_FAMILIES } from '../servers/registry.js';
import { formatCompact, parseDuration } from './duration.js';
import { planPreparation, planRemoval } from './plan.js';
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

  const admin = await openConnection(connection, reporter, stats);
  try {
    let rootDse = await admin.read('', ROOT_DSE_ATTRIBUTES);
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
    const profile = profileFor(family);
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
    const canBind = syncPassword === undefined ? false : await testSyncAccess(connection, syncUserDn, syncPassword, reporter, stats);

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
    };

    const observed = await observe(admin, profile, target, rootDse);
    verifyBaseDns(settings.baseDns, observed, reporter);

    const plan = settings.remove
      ? planRemoval(profile, target, observed, settings.disableChangelog)
      : planPreparation(profile, target, observed, {
        password: syncPassword?.reveal() ?? '',
        canBind,
        resetPassword: settings.resetSyncPassword,
      });
    const changes = plan.flatMap((step) => step.changes);

    if (settings.dryRun) {
      for (const step of plan) {
        reporter.step(step);
        for (const message of step.warnings) warn(message);
      }
      return { server: { address: admin.address, family, vendor: detection.vendor }, syncUserDn, steps: plan, warnings, changed: false, changes, changeNumbers: undefined };
    }

    let applied = 0;
    for (const step of plan) {
      for (const change of step.changes) {
        if (deps.signal.aborted) {
          throw new PrepareError(ResultCode.INTERRUPTED, 'Interrupted before all changes were made',
            'run the same command again: it finishes what is left');
        }
        try {
          await admin.apply(change);
        } catch (error) {
          throw withRemainingChanges(error, changes.slice(applied));
        }
        applied += 1;
        reporter.wrote(change);
      }
      reporter.step(step);
      for (const message of step.warnings) warn(message);
    }

    const changeNumbers = settings.remove
      ? await confirmRemoval(admin, syncUserDn, reporter, warn)
      : await verifySyncUser(connection, profile, target, observed, plan, syncPassword ?? new Secret(''), reporter, warn, stats);
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
    await admin.close();
  }
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

async function openConnection(options: ConnectionOptions, reporter: RunReporter, stats: DirectoryStats): Promise<Directory> {
  const address = `${options.host}:${options.port}`;
  try {
    const directory = await connect(options, stats);
    // ldapts connects on the first operation; the root DSE read is that operation (and proves the server speaks LDAP).
    await directory.read('', ['objectClass']);
    reporter.check(`Testing connection to ${address}`, 'Done');
    return directory;
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

/** Binds as the sync user on a connection of its own. Denied is normal before the account exists. */
async function testSyncAccess(
  options: ConnectionOptions,
  dn: string,
  password: Secret,
  reporter: RunReporter,
  stats: DirectoryStats,
): Promise<boolean> {
  const directory = await connect(options, stats);
  try {
    await directory.bind(dn, password.reveal());
    reporter.check(`Testing '${dn}' access`, 'Done');
    return true;
  } catch (error) {
    if (error instanceof PrepareError && isDenial(error.resultCode)) {
      reporter.check(`Testing '${dn}' access`, 'Denied');
      return false;
    }
    throw error;
  } finally {
    await directory.close();
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
    requests.set(key, { dn: request.dn, attributes: [...attributes] });
  };
  for (const base of target.baseDns) want({ dn: base, attributes: profile.baseDnAttributes });
  want({ dn: target.syncUserDn, attributes: ['objectClass'] });
  const parent = parentDn(target.syncUserDn);
  if (parent !== undefined && parent !== '') want({ dn: parent, attributes: ['objectClass'] });
  for (const request of profile.reads(target)) want(request);

  const keys = [...requests.keys()];
  const searches = profile.searches?.(target) ?? [];
  const [entries, searchResults] = await Promise.all([
    Promise.all(keys.map((key) => {
      const request = requests.get(key)!;
      return admin.read(request.dn, request.attributes.length > 0 ? request.attributes : ['objectClass']);
    })),
    Promise.all(searches.map((search) => searchOrNothing(admin, search))),
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
): Promise<{ first: string; last: string } | undefined> {
  const directory = await connect(options, stats);
  try {
    await directory.bind(target.syncUserDn, password.reveal());
    if (!target.roles.source) {
      reporter.check(`Testing '${target.syncUserDn}' access`, 'Done');
      return undefined;
    }
    const changeSource = profile.changeSource?.(target);
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
    await directory.close();
  }
}

function warnAboutIgnoredOptions(settings: Settings, family: ServerFamily, warn: (message: string) => void): void {
  if (settings.inheritDefaultRootPrivileges && family !== 'pingdirectory' && family !== 'pingdirectoryproxy') {
    warn('--inheritDefaultRootPrivileges applies to PingDirectory only and was ignored');
  }
  if (settings.accesslogDirectory !== undefined && family !== 'openldap') {
    warn('--accesslogDirectory applies to OpenLDAP only and was ignored');
  }
}

