// What a run may change on the throw-away slapd, read as its admins, for "nothing was written" checks.
import type { Slapd } from '../servers/openldap.js';
import { readEntry, searchDns, withClient } from './directory.js';

export const MDB_DN = 'olcDatabase={1}mdb,cn=config';

export async function slapdState(s: Slapd): Promise<unknown> {
  const admin = { dn: s.adminDn, password: s.adminPassword };
  const config = { dn: s.configAdminDn, password: s.adminPassword };
  return {
    entries: (await searchDns(s.url, admin, 'dc=example,dc=com', '(objectClass=*)')).sort(),
    access: (await readEntry(s.url, config, MDB_DN, ['olcAccess']))?.olcaccess ?? [],
    config: (await searchDns(s.url, config, 'cn=config', '(objectClass=*)')).sort(),
    modules: (await readEntry(s.url, config, 'cn=module{0},cn=config', ['olcModuleLoad']))?.olcmoduleload ?? [],
  };
}

/** The olcAccess values of the data database that mention `needle` (a DN as the tool writes it). */
export async function accessRulesFor(s: Slapd, needle: string): Promise<string[]> {
  const values =
    (await readEntry(s.url, { dn: s.configAdminDn, password: s.adminPassword }, MDB_DN, ['olcAccess']))?.olcaccess ??
    [];
  return values.filter((v) => v.includes(needle));
}

/** Adds entries as the data admin (for fixtures such as a non-person entry or a base with escaped characters). */
export async function addEntries(
  s: Slapd,
  entries: { dn: string; attributes: Record<string, string[]> }[],
): Promise<void> {
  await withClient(s.url, { dn: s.adminDn, password: s.adminPassword }, async (c) => {
    for (const entry of entries) await c.add(entry.dn, entry.attributes);
  });
}
