/** The sync user as an ordinary directory entry (389 DS, OpenLDAP, generic LDAP servers). */
import { attributeTypeKey, firstRdn, formatDn, parseDn } from '../formats/dn.js';

export const SYNC_USER_DESCRIPTION = 'Account used by the synchronization server (created by prepare-endpoint-server)';

/** `cn=Sync User` under the first base DN: where Ping's documentation puts it on every non-Ping LDAP server. */
export function syncUserUnderBase(baseDns: readonly string[]): string {
  return formatDn([[{ type: 'cn', value: 'Sync User' }], ...parseDn(baseDns[0] ?? '')]);
}

/** An inetOrgPerson whose naming attributes come from the DN's first RDN (`cn=...`, `uid=...`, multi-valued too). */
export function personEntry(dn: string, password: string): Record<string, string[]> {
  const rdn = firstRdn(dn);
  const label = rdn[0]?.value ?? 'Sync User';
  const entry: Record<string, string[]> = {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    cn: [label],
    sn: [label],
  };
  // Attribute names are case-insensitive, and an OID names the same attribute: `CN=Sync User` and
  // `2.5.4.3=Sync User` must replace cn, not add a second one.
  for (const ava of rdn) entry[attributeTypeKey(ava.type)] = [ava.value];
  // The mark of an account this tool created (see isMarkedAccount in core/plan.ts), beside an RDN value of description.
  entry['description'] = [...(entry['description'] ?? []), SYNC_USER_DESCRIPTION];
  entry['userPassword'] = [password];
  return entry;
}
