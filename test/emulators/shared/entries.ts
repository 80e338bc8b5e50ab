/**
 * What both emulators (../pingdirectory, ../opendj) hold the same way: result codes, DNs, stored entries, search
 * filters and attribute selection, operational timestamps and the changelog's LDIF of a change. The rules each
 * emulated server applies stay in its own state.ts.
 */
import type { Attribute, Filter, Modification } from '../pingdirectory/protocol.js';

export const RESULT = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  authMethodNotSupported: 7,
  unavailableCriticalExtension: 12,
  noSuchAttribute: 16,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  unwillingToPerform: 53,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  entryAlreadyExists: 68,
} as const;

export class LdapFailure extends Error {
  /**
   * `passwordPolicyError`: the draft-behera PasswordPolicyResponseValue error (0 passwordExpired, 1 accountLocked,
   * 2 changeAfterReset), sent in the response control when the request asked for it.
   */
  public constructor(
    public readonly code: number,
    message: string,
    public readonly matchedDn = '',
    public readonly passwordPolicyError?: number,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- DNs

/** RDNs of a DN, split on unescaped commas; enough DN syntax for the entries the emulators hold. */
function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const char = dn[i] ?? '';
    if (char === '\\' && i + 1 < dn.length) {
      current += char + (dn[i + 1] ?? '');
      i++;
    } else if (char === ',') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (dn.trim() !== '') parts.push(current);
  return parts;
}

export function normalize(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      if (eq <= 0) throw new LdapFailure(RESULT.invalidDnSyntax, `The DN '${dn}' is not valid`);
      return `${rdn.slice(0, eq).trim().toLowerCase()}=${rdn
        .slice(eq + 1)
        .trim()
        .toLowerCase()}`;
    })
    .join(',');
}

/** normalize(), or undefined for text that is not a DN. */
function safeNormalize(dn: string): string | undefined {
  try {
    return normalize(dn);
  } catch {
    return undefined;
  }
}

export function parentOf(normalizedDn: string): string {
  return splitDn(normalizedDn).slice(1).join(',');
}

export function within(normalizedDn: string, normalizedBase: string): boolean {
  if (normalizedBase === '') return true;
  return normalizedDn === normalizedBase || normalizedDn.endsWith(`,${normalizedBase}`);
}

// ---------------------------------------------------------------- entries

export interface StoredEntry {
  dn: string;
  /** Lower-cased attribute name to the name as written and its values. */
  attributes: Map<string, { name: string; values: string[] }>;
}

export interface SearchResultEntry {
  readonly dn: string;
  readonly attributes: Attribute[];
}

export function makeEntry(dn: string, attributes: Record<string, readonly string[]>): StoredEntry {
  const entry: StoredEntry = { dn, attributes: new Map() };
  for (const [name, list] of Object.entries(attributes))
    entry.attributes.set(name.toLowerCase(), { name, values: [...list] });
  return entry;
}

export function values(entry: StoredEntry | undefined, name: string): string[] {
  return entry?.attributes.get(name.toLowerCase())?.values ?? [];
}

/**
 * The account a simple bind names: the entry at that DN, else the root DN user (an entry right below
 * rootDnsDn) with the DN among its `ds-cfg-alternate-bind-dn` values. A DN that does not parse is invalid credentials.
 */
function findBindAccount(
  entries: ReadonlyMap<string, StoredEntry>,
  dn: string,
  rootDnsDn: string,
): StoredEntry | undefined {
  let key: string;
  try {
    key = normalize(dn);
  } catch {
    throw new LdapFailure(RESULT.invalidCredentials, 'Invalid credentials');
  }
  const direct = entries.get(key);
  if (direct !== undefined) return direct;
  for (const [entryKey, entry] of entries) {
    if (parentOf(entryKey) !== normalize(rootDnsDn)) continue;
    if (values(entry, 'ds-cfg-alternate-bind-dn').some((alternate) => safeNormalize(alternate) === key)) return entry;
  }
  return undefined;
}

/** The account a simple bind with a password authenticates as (findBindAccount); any other outcome is 49. */
export function authenticate(
  entries: ReadonlyMap<string, StoredEntry>,
  dn: string,
  password: string,
  rootDnsDn: string,
  passwordMatches: (stored: string, clear: string) => boolean,
): StoredEntry {
  const account = findBindAccount(entries, dn, rootDnsDn);
  if (account === undefined || !values(account, 'userPassword').some((stored) => passwordMatches(stored, password))) {
    throw new LdapFailure(RESULT.invalidCredentials, 'Invalid credentials');
  }
  return account;
}

export function generalizedTime(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.(\d{3})Z$/, '.$1Z');
}

/** createTimestamp/modifyTimestamp and creatorsName/modifiersName (RFC 4512 section 3.4), to the millisecond. */
export function stampWrite(entry: StoredEntry, who: string, when: Date, created: boolean): void {
  const time = generalizedTime(when);
  const names: [string, string][] = created
    ? [
        ['createTimestamp', time],
        ['creatorsName', who],
        ['modifyTimestamp', time],
        ['modifiersName', who],
      ]
    : [
        ['modifyTimestamp', time],
        ['modifiersName', who],
      ];
  for (const [name, value] of names) entry.attributes.set(name.toLowerCase(), { name, values: [value] });
}

/**
 * One modification applied to `entry` (the copy a modify builds): replace; add, where a value already there (in
 * any case) is 20; delete of the attribute or of values, where a value not there is 16. `incoming` is what to
 * store (the values, or encoded passwords); `sameValue` says which stored value a delete names.
 */
export function applyModification(
  entry: StoredEntry,
  { operation, attribute }: Modification,
  incoming: string[],
  sameValue: (stored: string, named: string) => boolean,
): void {
  const lower = attribute.name.toLowerCase();
  const existing = entry.attributes.get(lower);
  if (operation === 'replace') {
    if (incoming.length === 0) entry.attributes.delete(lower);
    else entry.attributes.set(lower, { name: attribute.name, values: incoming });
  } else if (operation === 'add') {
    const have = existing?.values ?? [];
    const duplicate = attribute.values.find((value) => have.some((v) => v.toLowerCase() === value.toLowerCase()));
    if (duplicate !== undefined)
      throw new LdapFailure(RESULT.attributeOrValueExists, `'${attribute.name}' already has the value '${duplicate}'`);
    entry.attributes.set(lower, { name: existing?.name ?? attribute.name, values: [...have, ...incoming] });
  } else {
    if (existing === undefined) throw new LdapFailure(RESULT.noSuchAttribute, `'${attribute.name}' is not present`);
    if (attribute.values.length === 0) {
      entry.attributes.delete(lower);
      return;
    }
    const remaining = existing.values.filter((v) => !attribute.values.some((value) => sameValue(v, value)));
    if (remaining.length !== existing.values.length - attribute.values.length) {
      throw new LdapFailure(RESULT.noSuchAttribute, `'${attribute.name}' does not have every value to delete`);
    }
    if (remaining.length === 0) entry.attributes.delete(lower);
    else existing.values = remaining;
  }
}

/** The requested attributes of an entry: user attributes for none or `*`, operational ones by name or `+`. */
export function select(
  entry: StoredEntry,
  requested: readonly string[],
  isOperational: (lowerName: string) => boolean,
): SearchResultEntry {
  const wanted = requested.map((name) => name.toLowerCase()).filter((name) => name !== '1.1');
  const allUser = wanted.length === 0 || wanted.includes('*');
  const allOperational = wanted.includes('+');
  const attributes: Attribute[] = [];
  for (const [lower, attribute] of entry.attributes) {
    const operational = isOperational(lower);
    if (wanted.includes(lower) || (operational ? allOperational : allUser)) {
      attributes.push({ name: attribute.name, values: [...attribute.values] });
    }
  }
  return { dn: entry.dn, attributes };
}

export function matches(entry: StoredEntry, filter: Filter): boolean {
  const has = (name: string): string[] => values(entry, name);
  switch (filter.kind) {
    case 'and':
      return filter.filters.every((inner) => matches(entry, inner));
    case 'or':
      return filter.filters.some((inner) => matches(entry, inner));
    case 'not':
      return !matches(entry, filter.filter);
    case 'present':
      return filter.attribute.toLowerCase() === 'objectclass' || has(filter.attribute).length > 0;
    case 'equal':
    case 'approx':
      return has(filter.attribute).some((value) => value.toLowerCase() === filter.value.toLowerCase());
    case 'greaterOrEqual':
    case 'lessOrEqual':
      return has(filter.attribute).some((value) => {
        const numeric = /^-?\d+$/.test(value) && /^-?\d+$/.test(filter.value);
        const order = numeric
          ? Number(value) - Number(filter.value)
          : value.toLowerCase().localeCompare(filter.value.toLowerCase());
        return filter.kind === 'greaterOrEqual' ? order >= 0 : order <= 0;
      });
    case 'substrings':
      // RFC 4511 4.5.1.7.2: initial, any parts and final match in order, without overlapping.
      return has(filter.attribute).some((value) => {
        const text = value.toLowerCase();
        let position = 0;
        if (filter.initial !== undefined) {
          if (!text.startsWith(filter.initial.toLowerCase())) return false;
          position = filter.initial.length;
        }
        for (const part of filter.any) {
          const found = text.indexOf(part.toLowerCase(), position);
          if (found < 0) return false;
          position = found + part.length;
        }
        return (
          filter.final === undefined ||
          (text.length - filter.final.length >= position && text.endsWith(filter.final.toLowerCase()))
        );
      });
    case 'unsupported':
      return false;
  }
}

// ---------------------------------------------------------------- changelog LDIF (passwords never written)

export function ldifOfAttributes(attributes: readonly Attribute[]): string {
  return attributes
    .flatMap((attribute) =>
      attribute.values.map(
        (value) => `${attribute.name}: ${attribute.name.toLowerCase() === 'userpassword' ? '{redacted}' : value}`,
      ),
    )
    .join('\n');
}

export function ldifOfModifications(modifications: readonly Modification[]): string {
  return modifications
    .map(({ operation, attribute }) =>
      [
        `${operation}: ${attribute.name}`,
        ...attribute.values.map(
          (value) => `${attribute.name}: ${attribute.name.toLowerCase() === 'userpassword' ? '{redacted}' : value}`,
        ),
        '-',
      ].join('\n'),
    )
    .join('\n');
}
