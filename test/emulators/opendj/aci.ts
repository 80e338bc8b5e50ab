/**
 * The part of the OpenDJ lineage's access control (the "DSEE-compatible access control handler") the emulator
 * enforces: ACIs from the global configuration and from `aci` values of entries, with `target`, `targetscope`,
 * `targetattr` (`=` and `!=`), `targetcontrol`, allow and deny, the rights, and `userdn` bind rules (a DN, `anyone`,
 * `all`, `self`, alternatives with `||`, rules joined by `and`/`or`). An ACI using anything else (`targetfilter`,
 * `groupdn`, `ip`, ...) is kept but never matches: it grants nothing and denies nothing. See README.md.
 */
import { LdapFailure, normalize, parentOf, RESULT, within } from '../shared/entries.js';

export interface Aci {
  readonly text: string;
  /** Normalized DN of the target; undefined: the entry holding the ACI (or everything, for a global ACI). */
  readonly target: string | undefined;
  readonly scope: 'base' | 'onelevel' | 'subtree' | 'subordinate';
  readonly attributes: { readonly names: ReadonlySet<string>; readonly negate: boolean } | undefined;
  readonly controls: readonly string[] | undefined;
  readonly allow: boolean;
  readonly rights: ReadonlySet<string>;
  /** Alternatives of conjunctions of users (`a and b or c`). */
  readonly users: readonly (readonly string[])[];
  /** False for an ACI using a keyword the emulator does not evaluate. */
  readonly understood: boolean;
}

const ALL_RIGHTS = ['read', 'search', 'compare', 'write', 'selfwrite', 'add', 'delete', 'import', 'export'];
const KNOWN_RIGHTS = new Set([...ALL_RIGHTS, 'all', 'proxy']);

/** Parses one ACI; throws 21 (invalid attribute syntax) for text the server would reject. */
export function parseAci(text: string): Aci {
  const fail = (why: string): never => {
    throw new LdapFailure(RESULT.invalidAttributeSyntax, `The ACI '${text}' is not valid: ${why}`);
  };
  let rest = text.trim();
  let target: string | undefined;
  let scope: Aci['scope'] = 'subtree';
  let attributes: Aci['attributes'];
  let controls: string[] | undefined;
  let understood = true;
  for (;;) {
    const part = /^\(\s*([a-z]+)\s*(!?=)\s*"([^"]*)"\s*\)\s*/i.exec(rest);
    if (part === null) break;
    rest = rest.slice(part[0].length);
    const [, keyword = '', operator = '=', value = ''] = part;
    switch (keyword.toLowerCase()) {
      case 'target': {
        if (operator !== '=' || !/^ldap:\/\/\//i.test(value)) {
          understood = false;
          break;
        }
        target = normalize(value.replace(/^ldap:\/\/\//i, ''));
        break;
      }
      case 'targetscope':
        if (!['base', 'onelevel', 'subtree', 'subordinate'].includes(value.toLowerCase()))
          fail(`unknown targetscope '${value}'`);
        scope = value.toLowerCase() as Aci['scope'];
        break;
      case 'targetattr':
        attributes = {
          names: new Set(value.split('||').map((name) => name.trim().toLowerCase())),
          negate: operator === '!=',
        };
        break;
      case 'targetcontrol':
        controls = value.split('||').map((oid) => oid.trim().toLowerCase());
        break;
      default:
        understood = false;
    }
  }
  const body = /^\(\s*version\s+3\.0\s*;\s*acl\s+"[^"]*"\s*;\s*(allow|deny)\s*\(([^)]*)\)\s*(.*?)\s*;\s*\)\s*$/i.exec(
    rest,
  );
  if (body === null) return fail('expected (version 3.0; acl "name"; allow|deny (rights) bind rule;)');
  const [, permission = 'allow', rightsText = '', bindRule = ''] = body;
  const rights = new Set<string>();
  for (const right of rightsText.split(',').map((r) => r.trim().toLowerCase())) {
    if (!KNOWN_RIGHTS.has(right)) fail(`unknown right '${right}'`);
    for (const expanded of right === 'all' ? ALL_RIGHTS : [right]) rights.add(expanded);
  }
  const users: string[][] = [];
  for (const alternative of bindRule.split(/\s+or\s+/i)) {
    const conjunction: string[] = [];
    for (const rule of alternative.replace(/^\(|\)$/g, '').split(/\s+and\s+/i)) {
      const userdn = /^\(?\s*userdn\s*=\s*"([^"]*)"\s*\)?$/i.exec(rule.trim());
      if (userdn === null) {
        understood = false;
        continue;
      }
      const names = (userdn[1] ?? '').split('||').map((url) =>
        url
          .trim()
          .replace(/^ldap:\/\/\//i, '')
          .trim(),
      );
      // `a || b` in one userdn: either DN; kept as one token the matcher splits.
      conjunction.push(
        names
          .map((name) =>
            ['anyone', 'all', 'self'].includes(name.toLowerCase()) ? name.toLowerCase() : normalize(name),
          )
          .join('||'),
      );
    }
    users.push(conjunction);
  }
  return {
    text,
    target,
    scope,
    attributes,
    ...(controls === undefined ? { controls: undefined } : { controls }),
    allow: permission.toLowerCase() === 'allow',
    rights,
    users,
    understood,
  };
}

export interface AccessQuestion {
  /** Normalized DN of the bound user (undefined: anonymous). */
  readonly user: string | undefined;
  /** Normalized DN of the entry the operation is about ('' for the root DSE). */
  readonly entry: string;
  readonly right: string;
  /** The attribute, for attribute rights; undefined asks about the entry. */
  readonly attribute?: string;
  /** A request control OID: only ACIs with targetcontrol answer. */
  readonly control?: string;
}

/** Whether `aci`, held at `holder` (undefined: global), applies to the question and matches its user. */
function applies(aci: Aci, holder: string | undefined, question: AccessQuestion): boolean {
  if (!aci.understood || !aci.rights.has(question.right)) return false;
  const base = aci.target ?? holder;
  if (base !== undefined) {
    if (holder !== undefined && !within(base, holder)) return false;
    const inScope =
      aci.scope === 'base'
        ? question.entry === base
        : aci.scope === 'onelevel'
          ? parentOf(question.entry) === base && question.entry !== ''
          : aci.scope === 'subordinate'
            ? question.entry !== base && within(question.entry, base)
            : within(question.entry, base);
    if (!inScope) return false;
  }
  if (question.control !== undefined) {
    if (
      aci.controls === undefined ||
      !(aci.controls.includes(question.control.toLowerCase()) || aci.controls.includes('*'))
    )
      return false;
  } else if (aci.controls !== undefined) {
    return false;
  }
  if (question.attribute !== undefined) {
    if (aci.attributes === undefined) return false;
    const name = question.attribute.toLowerCase();
    const named =
      aci.attributes.names.has(name) ||
      (aci.attributes.names.has('*') && !OPERATIONAL_FOR_STAR(name)) ||
      (aci.attributes.names.has('+') && OPERATIONAL_FOR_STAR(name));
    if (named === aci.attributes.negate) return false;
  }
  return aci.users.some(
    (conjunction) =>
      conjunction.length > 0 &&
      conjunction.every((token) => token.split('||').some((user) => userMatches(user, question))),
  );
}

function userMatches(user: string, question: AccessQuestion): boolean {
  if (user === 'anyone') return true;
  if (user === 'all') return question.user !== undefined;
  if (user === 'self') return question.user !== undefined && question.user === question.entry;
  return question.user === user;
}

/** Deny wins over allow; nothing matching is a denial. */
export function decide(acis: readonly { aci: Aci; holder: string | undefined }[], question: AccessQuestion): boolean {
  const matching = acis.filter(({ aci, holder }) => applies(aci, holder, question));
  if (matching.some(({ aci }) => !aci.allow)) return false;
  return matching.some(({ aci }) => aci.allow);
}

/** Operational attributes, which `*` does not name and `+` does. */
let operationalNames: ReadonlySet<string> = new Set();
export function setOperationalAttributes(names: Iterable<string>): void {
  operationalNames = new Set([...names].map((name) => name.toLowerCase()));
}
function OPERATIONAL_FOR_STAR(name: string): boolean {
  return operationalNames.has(name);
}
