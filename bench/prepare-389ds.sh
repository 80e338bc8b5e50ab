#!/usr/bin/env bash
# What an administrator writes instead of prepare-endpoint-server: a 389 Directory Server prepared as a sync
# source with OpenLDAP's ldapsearch and ldapmodify, idempotently (a re-run writes nothing). It performs the
# LDAP operations of the tool's plan (same entries read, same changes, same ACI text, so the two can take
# turns on one server), in seven commands on a fresh server:
#   1 root DSE (is it a 389 DS, is the change log running)   5 Retro Changelog Plugin entry
#   2 base entry and its ACIs                                 6 ldapmodify: every change in one LDIF
#   3 sync user entry                                         7 as the sync user: root DSE change numbers
#   4 cn=config (nsslapd-dynamic-plugins)                     (+ cn=changelog ACIs once the change log runs)
# It checks less than the tool (no password test before, no root DSE ACI analysis, no detailed messages).
#
# Environment: LDAP_URL, BIND_DN, BIND_PW_FILE, SYNC_PW_FILE (files without a trailing newline), BASE_DN,
# MAX_AGE (default 2d).
set -euo pipefail
: "${LDAP_URL:?}" "${BIND_DN:?}" "${BIND_PW_FILE:?}" "${SYNC_PW_FILE:?}" "${BASE_DN:?}"
MAX_AGE=${MAX_AGE:-2d}
SYNC_DN="cn=Sync User,$BASE_DN"
PLUGIN='cn=Retro Changelog Plugin,cn=plugins,cn=config'
ADMIN=(-x -H "$LDAP_URL" -D "$BIND_DN" -y "$BIND_PW_FILE" -o ldif-wrap=no)
READ=(-LLL -s base)
aci() { printf '(targetattr="*")(version 3.0; acl "prepare-endpoint-server: %s"; allow (read,search,compare) userdn="ldap:///%s";)' "$1" "$SYNC_DN"; }
SOURCE_ACI=$(aci 'sync source read')
CHANGELOG_ACI=$(aci 'sync changelog read')

rootdse=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b '' vendorVersion changelog)                       # 1
grep -qi '^vendorVersion: 389-Directory' <<<"$rootdse" || { echo 'not a 389 Directory Server' >&2; exit 53; }
base=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b "$BASE_DN" aci)                                         # 2 (exits 32 if missing)
user=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b "$SYNC_DN" 1.1 2>/dev/null) || [ $? -eq 32 ]                        # 3
config=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b cn=config nsslapd-dynamic-plugins)                    # 4
plugin=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b "$PLUGIN" nsslapd-pluginEnabled nsslapd-changelogmaxage) # 5
changelog=''
if grep -qi '^changelog: cn=changelog' <<<"$rootdse"; then
    changelog=$(ldapsearch "${ADMIN[@]}" "${READ[@]}" -b cn=changelog aci)                              # (+)
fi

ldif=''
if [ -z "$user" ]; then
    ldif+="dn: $SYNC_DN
changetype: add
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: inetOrgPerson
cn: Sync User
sn: Sync User
description: Account used by the synchronization server (created by prepare-endpoint-server)
userPassword: $(cat "$SYNC_PW_FILE")

"
fi
if ! grep -qxF "aci: $SOURCE_ACI" <<<"$base"; then
    ldif+="dn: $BASE_DN
changetype: modify
add: aci
aci: $SOURCE_ACI
-

"
fi
mods=''
grep -qix 'nsslapd-pluginEnabled: on' <<<"$plugin" || mods+=$'replace: nsslapd-pluginEnabled\nnsslapd-pluginEnabled: on\n-\n'
grep -qix "nsslapd-changelogmaxage: $MAX_AGE" <<<"$plugin" || mods+=$'replace: nsslapd-changelogmaxage\nnsslapd-changelogmaxage: '"$MAX_AGE"$'\n-\n'
[ -z "$mods" ] || ldif+="dn: $PLUGIN
changetype: modify
$mods
"
if [ -n "$changelog" ] && ! grep -qxF "aci: $CHANGELOG_ACI" <<<"$changelog"; then
    ldif+="dn: cn=changelog
changetype: modify
add: aci
aci: $CHANGELOG_ACI
-

"
fi
[ -z "$ldif" ] || ldapmodify "${ADMIN[@]}" >/dev/null <<<"$ldif"                                   # 6

numbers=$(ldapsearch -x -H "$LDAP_URL" -D "$SYNC_DN" -y "$SYNC_PW_FILE" -LLL -s base -b '' firstChangeNumber lastChangeNumber) # 7
if grep -qi '^lastChangeNumber:' <<<"$numbers"; then
    echo 'prepared: the sync user reads the change numbers'
else
    grep -qix 'nsslapd-dynamic-plugins: on' <<<"$config" || echo 'prepared: restart the server to start the Retro Changelog Plugin, then run this again'
fi
