#!/usr/bin/env bash
# What an administrator writes instead of prepare-endpoint-server: PingDirectory prepared as a sync source
# with OpenLDAP's ldapsearch and ldapmodify, idempotently (a re-run writes nothing). It performs the LDAP
# operations of the tool's plan (same entries read, same changes), in six commands on a fresh server:
#   1 root DSE (is it PingDirectory)          4 the changelog backend (enabled, maximum age)
#   2 base entry (exists)                     5 ldapmodify: every change in one LDIF
#   3 sync user (root DN user, privileges)    6 as the sync user: root DSE change numbers
# It checks less than the tool: no password test before, no default-root-privilege analysis (cn=Root DNs),
# no '-privilege' values.
#
# Environment: LDAP_URL, BIND_DN, BIND_PW_FILE, SYNC_PW_FILE (files without a trailing newline), BASE_DN,
# MAX_AGE (default '2 d', PingDirectory's spelling).
set -euo pipefail
: "${LDAP_URL:?}" "${BIND_DN:?}" "${BIND_PW_FILE:?}" "${SYNC_PW_FILE:?}" "${BASE_DN:?}"
MAX_AGE=${MAX_AGE:-2 d}
SYNC_DN='cn=Sync User,cn=Root DNs,cn=config'
BACKEND='ds-cfg-backend-id=changelog,cn=Backends,cn=config'
PRIVILEGES=(bypass-read-acl config-read unindexed-search)
ADMIN=(-x -H "$LDAP_URL" -D "$BIND_DN" -y "$BIND_PW_FILE" -o ldif-wrap=no)
READ=(-LLL -s base)

rootdse=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b '' vendorName)                                    # 1
grep -qi '^vendorName: Ping Identity' <<<"$rootdse" || { echo 'not PingDirectory' >&2; exit 53; }
ldapsearch "${ADMIN[@]}" "${READ[@]}" -b "$BASE_DN" 1.1 >/dev/null                                     # 2 (exits 32 if missing)
user=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b "$SYNC_DN" ds-privilege-name 2>/dev/null) || [ $? -eq 32 ] # 3
backend=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b "$BACKEND" ds-cfg-enabled ds-cfg-changelog-maximum-age) # 4

ldif=''
if [ -z "$user" ]; then
    ldif+="dn: $SYNC_DN
changetype: add
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: inetOrgPerson
objectClass: ds-cfg-user
objectClass: ds-cfg-root-dn-user
cn: Sync User
sn: User
givenName: Sync
description: Account used by the synchronization server (created by prepare-endpoint-server)
userPassword: $(cat "$SYNC_PW_FILE")
ds-cfg-inherit-default-root-privileges: false
$(printf 'ds-privilege-name: %s\n' "${PRIVILEGES[@]}")

"
else
    missing=()
    for p in "${PRIVILEGES[@]}"; do grep -qix "ds-privilege-name: $p" <<<"$user" || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        ldif+="dn: $SYNC_DN
changetype: modify
add: ds-privilege-name
$(printf 'ds-privilege-name: %s\n' "${missing[@]}")
-

"
    fi
fi
mods=''
grep -qix 'ds-cfg-enabled: true' <<<"$backend" || mods+=$'replace: ds-cfg-enabled\nds-cfg-enabled: true\n-\n'
grep -qix "ds-cfg-changelog-maximum-age: $MAX_AGE" <<<"$backend" || mods+=$'replace: ds-cfg-changelog-maximum-age\nds-cfg-changelog-maximum-age: '"$MAX_AGE"$'\n-\n'
[ -z "$mods" ] || ldif+="dn: $BACKEND
changetype: modify
$mods
"
[ -z "$ldif" ] || ldapmodify "${ADMIN[@]}" >/dev/null <<<"$ldif"                                     # 5

numbers=$(ldapsearch -x -H "$LDAP_URL" -D "$SYNC_DN" -y "$SYNC_PW_FILE" -LLL -s base -b '' firstChangeNumber lastChangeNumber lastPurgedChangeNumber) # 6
grep -qi '^lastChangeNumber:' <<<"$numbers" || { echo 'the sync user cannot read the change numbers' >&2; exit 1; }
echo 'prepared: the sync user reads the change numbers'
