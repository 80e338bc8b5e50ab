/**
 * ACIs in the Netscape syntax shared by 389 DS, Red Hat DS and Sun/Oracle DSEE. The tool names every ACI it
 * adds `prepare-endpoint-server: ...` so a re-run finds it again and an operator knows where it came from.
 */
import { formatDn, normalizeDn, parseDn, quotableDn } from '../formats/dn.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import type { Change } from '../model/entries.js';
import type { PlannedStep } from '../model/plan.js';
import { changed, unchanged } from '../model/steps.js';

export const ACI_NAME_PREFIX = 'prepare-endpoint-server: ';

export interface AciSpec {
  /** Name after the prefix, such as `sync source read`. */
  readonly name: string;
  /** A `target` DN (global ACIs of the OpenDJ lineage, which live in the configuration, not on an entry); `''` is the root DSE. */
  readonly target?: string;
  /** A `targetscope` (`base`, `onelevel`, `subtree`, `subordinate`). */
  readonly targetScope?: string;
  /** A `targetcontrol` OID: the ACI governs the use of that request control (OpenDJ lineage). */
  readonly targetControl?: string;
  /** The `targetattr` value (`*`, `aci`, `a || b`); absent: no targetattr part. */
  readonly targetAttributes?: string;
  /** Write `targetattr!=`: every attribute but those named. */
  readonly excludeTargetAttributes?: boolean;
  /**
   * A `targattrfilters` (389 DS): the ACI applies to added or deleted values of an attribute that match a
   * filter, such as `add=objectClass:(objectClass=cosTemplate)`.
   */
  readonly targetAttrFilters?: string;
  /** A `targetfilter`: the ACI applies to entries matching it (checked on the entry added, deleted or moved). */
  readonly targetFilter?: string;
  /** The ACI binds only when the user acts on its own entry (`userdn="ldap:///self"` as well). */
  readonly ownEntryOnly?: boolean;
  /** Deny ACIs win over every allow, whoever wrote it: they are how a right is kept away for good. */
  readonly permission?: 'allow' | 'deny';
  readonly rights: readonly string[];
  readonly userDn: string;
}

/**
 * The userdn is written with `"` hex-escaped (quotableDn), so no DN can close the quoted value early. A DN with
 * `|`, `?`, `;` or `*` cannot be named at all: 389 DS reads `||` as a second user, `?` as the start of an LDAP
 * URL's scope and filter, `*` as a wildcard (`cn=*,ou=People,...` would grant every account there), rejects any
 * `;` (even escaped) as an ACI syntax error, and does not decode hex escapes of these when matching; so such
 * a DN is refused before any write.
 */
export function aciUserDn(dn: string): string {
  if (/[|?;*]/.test(formatDn(parseDn(dn)))) {
    throw new PrepareError(
      ResultCode.PARAM_ERROR,
      `The sync user DN '${dn}' contains '|', '?', ';' or '*', which an ACI's userdn cannot name`,
      'choose a --syncServerBindDN without | ? ; and *',
    );
  }
  return quotableDn(dn);
}

export function renderAci(spec: AciSpec): string {
  const attributes =
    spec.targetAttributes === undefined
      ? ''
      : `(targetattr${spec.excludeTargetAttributes === true ? '!=' : '='}"${spec.targetAttributes}")`;
  const filter = spec.targetFilter === undefined ? '' : `(targetfilter="${spec.targetFilter}")`;
  const valueFilters = spec.targetAttrFilters === undefined ? '' : `(targattrfilters="${spec.targetAttrFilters}")`;
  const target =
    spec.target === undefined ? '' : `(target="ldap:///${spec.target === '' ? '' : quotableDn(spec.target)}")`;
  const scope = spec.targetScope === undefined ? '' : `(targetscope="${spec.targetScope}")`;
  const control = spec.targetControl === undefined ? '' : `(targetcontrol="${spec.targetControl}")`;
  const user = `userdn="ldap:///${aciUserDn(spec.userDn)}"`;
  // The user's own DN comes first: aciUserDns() reads the first userdn.
  const bindRule = spec.ownEntryOnly === true ? `(${user} and userdn="ldap:///self");)` : `${user};)`;
  return (
    `${target}${scope}${control}${attributes}${filter}${valueFilters}(version 3.0; acl "${ACI_NAME_PREFIX}${spec.name}"; ` +
    `${spec.permission ?? 'allow'} (${spec.rights.join(',')}) ${bindRule}`
  );
}

/** The name of an ACI (`acl "..."`, or `aci "..."` as some defaults spell it), if it has one. */
export function aciName(aci: string): string | undefined {
  return /\bac[il]\s+"([^"]*)"/i.exec(aci)?.[1];
}

/** The DNs an ACI's `userdn` names, without the `ldap:///` prefix. */
export function aciUserDns(aci: string): string[] {
  const match = /\buserdn\s*=\s*"([^"]*)"/i.exec(aci);
  if (match?.[1] === undefined) return [];
  return match[1].split('||').map((part) => part.trim().replace(/^ldap:\/\/\//i, ''));
}

function sameDn(a: string, b: string): boolean {
  try {
    return normalizeDn(a) === normalizeDn(b);
  } catch {
    return false;
  }
}

/** True when `aci` is one this tool wrote under `spec`'s name for `spec`'s user. */
export function isOurAci(aci: string, spec: AciSpec): boolean {
  const name = aciName(aci);
  if (name === undefined || name.toLowerCase() !== (ACI_NAME_PREFIX + spec.name).toLowerCase()) return false;
  // The DN parser decodes the \22 that aciUserDn() writes, so the DNs compare as they are.
  return aciUserDns(aci).some((dn) => sameDn(dn, spec.userDn));
}

/**
 * Plans ACIs on one entry in one modify (so a set of allow and deny ACIs is never half there): add the missing
 * ones, replace ours whose text differs (an older version, or edited by hand), and never touch anybody else's.
 * (Exact duplicates cannot exist: attribute values are a set.)
 */
export function planAcis(
  id: string,
  title: string,
  entryDn: string,
  existing: readonly string[],
  specs: readonly AciSpec[],
): PlannedStep {
  const deletes: string[] = [];
  const adds: string[] = [];
  let anyOurs = false;
  for (const spec of specs) {
    const wanted = renderAci(spec);
    const ours = existing.filter((aci) => isOurAci(aci, spec));
    anyOurs ||= ours.length > 0;
    for (const aci of ours) if (aci !== wanted && !deletes.includes(aci)) deletes.push(aci);
    if (!ours.includes(wanted)) adds.push(wanted);
  }
  const names = specs.map((spec) => `"${ACI_NAME_PREFIX}${spec.name}"`).join(', ');
  const plural = specs.length === 1 ? 'ACI' : 'ACIs';
  if (deletes.length === 0 && adds.length === 0) {
    return unchanged({ id, title }, `${plural} ${names} present`);
  }
  const change: Change = {
    kind: 'modify',
    dn: entryDn,
    modifications: [
      ...(deletes.length > 0 ? [{ operation: 'delete' as const, attribute: 'aci', values: deletes }] : []),
      ...(adds.length > 0 ? [{ operation: 'add' as const, attribute: 'aci', values: adds }] : []),
    ],
  };
  return changed(
    { id, title },
    anyOurs ? 'updated' : 'created',
    anyOurs ? `${plural} ${names} rewritten` : `${plural} ${names} added`,
    [change],
  );
}

/** planAcis for a single ACI. */
export function planAci(
  id: string,
  title: string,
  entryDn: string,
  existing: readonly string[],
  spec: AciSpec,
): PlannedStep {
  return planAcis(id, title, entryDn, existing, [spec]);
}

/** `--remove`: delete every ACI of ours (any text) for `specs`' names and user on one entry. */
export function planAciRemoval(
  id: string,
  title: string,
  entryDn: string,
  existing: readonly string[],
  specs: readonly AciSpec[],
): PlannedStep {
  const ours = existing.filter((aci) => specs.some((spec) => isOurAci(aci, spec)));
  if (ours.length === 0) {
    return unchanged({ id, title }, 'no ACI of this tool for the sync user');
  }
  return changed({ id, title }, 'updated', `${ours.length} ACI${ours.length === 1 ? '' : 's'} removed`, [
    { kind: 'modify', dn: entryDn, modifications: [{ operation: 'delete', attribute: 'aci', values: ours }] },
  ]);
}
