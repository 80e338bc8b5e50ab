/**
 * One DN, one spelling. RFC 4514 lets a DN be written many ways (case, spaces around `=` and `,`, hex escapes
 * such as `cn=Sync\20User`); the run compares DNs in normalized form, and writes one spelling of each: the one
 * the server returns for an entry that exists, or for a new entry the RDN as given (escapes kept, spaces RFC
 * 4514 ignores dropped) under its parent as the server spells it. So the account, its ACIs and access rules name
 * the same spelling, and a re-run in another spelling finds them all unchanged.
 */
import type { Directory } from '../model/directory.js';
import { dnSpelling, firstRdn, firstRdnSpelling, normalizeDn, parentDn } from '../formats/dn.js';
import { isConnectionFailure, PrepareError } from '../model/errors.js';
import { equalityFilter } from '../formats/filter.js';
import type { Entry } from '../model/entries.js';
import type { ServerProfile } from '../servers/profile.js';
import type { Observation, PrepareTarget } from '../model/plan.js';
import { observe } from './observe.js';

/** The target with the spelling of each DN settled, and the observation to plan from. */
export async function settleSpellings(
  admin: Directory,
  profile: ServerProfile,
  target: PrepareTarget,
  observed: Observation,
  rootDse: Entry | undefined,
): Promise<{ target: PrepareTarget; observed: Observation }> {
  const baseDns = target.baseDns.map((base) => serverSpelling(observed.entry(base)) ?? dnSpelling(base));
  const account = observed.entry(target.syncUserDn);
  let syncUserDn = serverSpelling(account);
  let observeAgain = false;
  if (syncUserDn === undefined && account === undefined && profile.distinguishesDnSpellings === true) {
    syncUserDn = await findByRdn(admin, target.syncUserDn, observed);
    observeAgain = syncUserDn !== undefined;
  }
  syncUserDn ??= spellingUnderParent(target.syncUserDn, observed);
  const settled: PrepareTarget = { ...target, baseDns, syncUserDn };
  return { target: settled, observed: observeAgain ? await observe(admin, profile, settled, rootDse) : observed };
}

/** The DN the server returned for an entry, when there is one our parser reads. */
function serverSpelling(entry: Entry | undefined): string | undefined {
  if (entry === undefined) return undefined;
  try {
    return dnSpelling(entry.dn);
  } catch {
    return undefined;
  }
}

/** A new entry's DN: its RDN as given, under its parent as the server spells it. */
function spellingUnderParent(dn: string, observed: Observation): string {
  const parent = parentDn(dn);
  const parentSpelling = parent === undefined || parent === '' ? undefined : serverSpelling(observed.entry(parent));
  return parentSpelling === undefined ? dnSpelling(dn) : `${firstRdnSpelling(dn)},${parentSpelling}`;
}

/** At most this many entries answer the lookup of an RDN under one parent. */
const RDN_LOOKUP_LIMIT = 10;

/**
 * For servers that tell spellings apart (389 DS): the entry under the sync user's parent whose RDN is the sync
 * user's by RFC 4514, found by its naming attribute values (which are the same whatever the DN's escapes).
 */
async function findByRdn(admin: Directory, dn: string, observed: Observation): Promise<string | undefined> {
  const parent = parentDn(dn);
  const parentEntry = parent === undefined || parent === '' ? undefined : observed.entry(parent);
  if (parentEntry === undefined) return undefined;
  const rdn = firstRdn(dn);
  const [only] = rdn;
  const filter =
    rdn.length === 1 && only !== undefined
      ? equalityFilter(only.type, only.value)
      : `(&${rdn.map((ava) => equalityFilter(ava.type, ava.value)).join('')})`;
  let found: Entry[];
  try {
    // Entries whose RDN has the same values: one, or a few spellings at most; the bound stops a flood.
    found = await admin.search(parentEntry.dn, 'one', filter, ['1.1'], { sizeLimit: RDN_LOOKUP_LIMIT });
  } catch (error) {
    // A refused lookup finds nothing; a connection that is gone is no answer at all, and stops the run.
    if (error instanceof PrepareError && !isConnectionFailure(error)) return undefined;
    throw error;
  }
  const wanted = normalizeDn(dn);
  return found
    .map((entry) => serverSpelling(entry))
    .find((spelling) => spelling !== undefined && sameDn(spelling, wanted));
}

function sameDn(spelling: string, normalized: string): boolean {
  try {
    return normalizeDn(spelling) === normalized;
  } catch {
    return false;
  }
}

/** True when entries lie below `dn` (a one-level search stopped at the first). */
export async function hasChildren(admin: Directory, dn: string): Promise<boolean> {
  return (await admin.search(dn, 'one', '(objectClass=*)', ['1.1'], { sizeLimit: 1 })).length > 0;
}
