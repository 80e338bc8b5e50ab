/**
 * Observation: everything the plan looks at, read from the server before any write, plus the check that the
 * base DNs exist. Reads only; the Observation it returns is what the pure planner in plan.ts works from.
 */
import type { Directory } from '../model/directory.js';
import { normalizeDn, parentDn } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import type { Entry, LdapControl } from '../model/entries.js';
import type { ServerProfile } from '../servers/profile.js';
import type { Observation, PrepareTarget, ReadRequest, SearchRequest } from '../model/plan.js';
import type { RunReporter } from './ports.js';

/** Reads everything the plan looks at on the admin connection, the requests pipelined (see MAX_IN_FLIGHT). */
export async function observe(
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
    const controls = new Map<string, LdapControl>(
      [...(known?.controls ?? []), ...(request.controls ?? [])].map((c) => [c.oid, c]),
    );
    requests.set(key, {
      dn: request.dn,
      attributes: [...attributes],
      ...(controls.size > 0 ? { controls: [...controls.values()] } : {}),
    });
  };
  for (const base of target.baseDns) want({ dn: base, attributes: profile.baseDnAttributes });
  // description carries the mark of an account this tool created (see isMarkedAccount).
  want({ dn: target.syncUserDn, attributes: ['objectClass', 'description'] });
  const parent = parentDn(target.syncUserDn);
  if (parent !== undefined && parent !== '') want({ dn: parent, attributes: ['objectClass'] });
  for (const request of profile.reads(target)) want(request);

  const keys = [...requests.keys()];
  const searches = profile.searches?.(target) ?? [];
  const [entries, searchResults] = await Promise.all([
    inFlight(
      [...requests.values()].map((request) => () => {
        const attributes = request.attributes.length > 0 ? request.attributes : ['objectClass'];
        return request.controls === undefined
          ? admin.read(request.dn, attributes)
          : admin.read(request.dn, attributes, { controls: request.controls });
      }),
      MAX_IN_FLIGHT,
    ),
    inFlight(
      searches.map((search) => () => searchOrNothing(admin, search)),
      MAX_IN_FLIGHT,
    ),
  ]);
  const byDn = new Map(keys.map((key, index) => [key, entries[index]]));
  // An entry is found again by the DN the server returned too (the run writes that spelling from here on).
  for (const found of entries) {
    if (found === undefined) continue;
    const key = normalizedOrUndefined(found.dn);
    if (key !== undefined && !byDn.has(key)) byDn.set(key, found);
  }
  const bySearch = new Map(searches.map((search, index) => [search.key, searchResults[index] ?? []]));
  const observation: Observation = {
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
  // Entries a setting names (the group in 389's passwordAdminDN, the DNs an AD account records) are known only
  // now; each is read once.
  const followUps = (profile.followUpReads?.(target, observation) ?? []).filter(
    (request) => !byDn.has(normalizeDn(request.dn)),
  );
  const followed = await inFlight(
    followUps.map((request) => () => readOrNothing(admin, request)),
    MAX_IN_FLIGHT,
  );
  followUps.forEach((request, index) => byDn.set(normalizeDn(request.dn), followed[index]));
  return observation;
}

function normalizedOrUndefined(dn: string): string | undefined {
  try {
    return normalizeDn(dn);
  } catch {
    return undefined;
  }
}

/**
 * Requests pipelined on one connection: the reads of an observation do not depend on each other, so they go
 * out together and cost one round trip. They leave in one TCP segment (the adapter holds the requests made in
 * one turn of the event loop), which is what 389 DS needs to answer them at once: requests that arrive while
 * it works on another wait for its next poll, 100 ms or more (see BENCHMARKS.md). The bound only keeps a
 * profile with very many reads from flooding a server.
 */
const MAX_IN_FLIGHT = 32;

/** Runs the tasks with at most `limit` of them in flight; the results keep the tasks' order. */
async function inFlight<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let task = tasks[next]; task !== undefined; task = tasks[next]) {
      const index = next;
      next += 1;
      results[index] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** A setting may name an entry the admin may not read (or a DN the server rejects): the profile says what to do then. */
async function readOrNothing(admin: Directory, request: ReadRequest): Promise<Entry | undefined> {
  try {
    const attributes = request.attributes.length > 0 ? request.attributes : ['objectClass'];
    return request.controls === undefined
      ? await admin.read(request.dn, attributes)
      : await admin.read(request.dn, attributes, { controls: request.controls });
  } catch (error) {
    if (
      error instanceof PrepareError &&
      (error.resultCode === ResultCode.INSUFFICIENT_ACCESS || error.resultCode === ResultCode.INVALID_DN_SYNTAX)
    )
      return undefined;
    throw error;
  }
}

/** A search the admin may not run (no rights on cn=config, say) finds nothing; the profile decides what that means. */
async function searchOrNothing(admin: Directory, search: SearchRequest): Promise<Entry[]> {
  try {
    return search.controls === undefined
      ? await admin.search(search.base, search.scope, search.filter, search.attributes)
      : await admin.search(search.base, search.scope, search.filter, search.attributes, { controls: search.controls });
  } catch (error) {
    if (error instanceof PrepareError && error.resultCode === ResultCode.INSUFFICIENT_ACCESS) return [];
    throw error;
  }
}

/** Every base DN must exist before planning: a typo would otherwise put the sync user's rights nowhere. */
export function verifyBaseDns(baseDns: readonly string[], observed: Observation, reporter: RunReporter): void {
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
