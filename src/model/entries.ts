/** Plain data shapes shared by every layer; nothing here talks to a server. */

/**
 * An entry as read from a server: attribute names lower-cased, every value a string. Values of the binary
 * attributes in BINARY_ATTRIBUTES (Active Directory's nTSecurityDescriptor, objectSid, objectGUID) are base64 of
 * their bytes, since UTF-8 decoding would destroy them.
 */
export interface Entry {
  readonly dn: string;
  readonly attributes: ReadonlyMap<string, readonly string[]>;
}

export interface Modification {
  readonly operation: 'add' | 'delete' | 'replace';
  readonly attribute: string;
  /** Base64 of the bytes for the attributes in BINARY_ATTRIBUTES. */
  readonly values: readonly string[];
}

/**
 * A request control (RFC 4511 4.1.11). `value` is base64 of the control value's bytes (its BER encoding), as in
 * LDIF `control:` lines (RFC 2849), so a plan stays plain data and `--dry-run` prints what ldapmodify can apply.
 */
export interface LdapControl {
  readonly oid: string;
  readonly critical: boolean;
  readonly value?: string;
}

/**
 * Active Directory's DirSync control (LDAP_SERVER_DIRSYNC_OID): the profile names it to the operator, the LDAP
 * adapter sends it.
 */
export const DIRSYNC_OID = '1.2.840.113556.1.4.841';

/** One write, as the plan wants it and as `--dry-run` prints it. */
export type Change =
  | { readonly kind: 'add'; readonly dn: string; readonly attributes: Readonly<Record<string, readonly string[]>> }
  | {
      readonly kind: 'modify';
      readonly dn: string;
      readonly modifications: readonly Modification[];
      /** Sent with the modify (Active Directory: the SD flags control saying which part of a descriptor is written). */
      readonly controls?: readonly LdapControl[];
      /**
       * Made only if `attribute` still has exactly `values` just before the write (read with `controls`): for a
       * value rewritten whole from what was read (an AD security descriptor), so a concurrent writer's change
       * is never overwritten unseen.
       */
      readonly unlessChanged?: {
        readonly attribute: string;
        readonly values: readonly string[];
        readonly controls?: readonly LdapControl[];
      };
    }
  | { readonly kind: 'delete'; readonly dn: string };

/** Attributes whose values are secrets: never logged, never printed. */
export const SECRET_ATTRIBUTES: ReadonlySet<string> = new Set(['userpassword', 'unicodepwd', 'ds-cfg-password']);

export function isSecretAttribute(name: string): boolean {
  return SECRET_ATTRIBUTES.has(name.toLowerCase());
}

/**
 * Attributes whose values are bytes, not text: read as Buffers and kept as base64 strings in Entry and Change
 * values, written as the decoded bytes, printed as `name:: base64` in LDIF.
 */
export const BINARY_ATTRIBUTES: ReadonlySet<string> = new Set(['ntsecuritydescriptor', 'objectsid', 'objectguid']);

export function isBinaryAttribute(name: string): boolean {
  return BINARY_ATTRIBUTES.has(name.toLowerCase());
}

/** The bytes of the first value of a binary attribute (see BINARY_ATTRIBUTES). */
export function binaryValue(entry: Entry | undefined, name: string): Uint8Array | undefined {
  const value = firstValue(entry, name);
  return value === undefined ? undefined : new Uint8Array(Buffer.from(value, 'base64'));
}

/** Values of `name` in `entry`, matched case-insensitively (389 DS spells root DSE names its own way). */
export function valuesOf(entry: Entry | undefined, name: string): readonly string[] {
  return entry?.attributes.get(name.toLowerCase()) ?? [];
}

export function firstValue(entry: Entry | undefined, name: string): string | undefined {
  return valuesOf(entry, name)[0];
}

/** The attribute names a change touches, for the log (values are never logged). */
export function changedAttributes(change: Change): string[] {
  switch (change.kind) {
    case 'add':
      return Object.keys(change.attributes);
    case 'modify':
      return change.modifications.map((m) => m.attribute);
    case 'delete':
      return [];
  }
}
