/** Plain data shapes shared by every layer; nothing here talks to a server. */

/** An entry as read from a server: attribute names lower-cased, every value a string. */
export interface Entry {
  readonly dn: string;
  readonly attributes: ReadonlyMap<string, readonly string[]>;
}

export interface Modification {
  readonly operation: 'add' | 'delete' | 'replace';
  readonly attribute: string;
  readonly values: readonly string[];
}

/** One write, as the plan wants it and as `--dry-run` prints it. */
export type Change =
  | { readonly kind: 'add'; readonly dn: string; readonly attributes: Readonly<Record<string, readonly string[]>> }
  | { readonly kind: 'modify'; readonly dn: string; readonly modifications: readonly Modification[] }
  | { readonly kind: 'delete'; readonly dn: string };

/** Attributes whose values are secrets: never logged, never printed. */
export const SECRET_ATTRIBUTES: ReadonlySet<string> = new Set(['userpassword', 'unicodepwd', 'ds-cfg-password']);

export function isSecretAttribute(name: string): boolean {
  return SECRET_ATTRIBUTES.has(name.toLowerCase());
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
