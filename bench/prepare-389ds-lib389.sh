#!/usr/bin/env bash
# The peer a 389 DS administrator would use instead of prepare-endpoint-server: the 389 Project's own
# command-line tools, dsconf and dsidm (Debian's python3-lib389), preparing a fresh 389 Directory Server as a
# sync source in one run: the account, its password, the read ACI on the base DN, the Retro Changelog Plugin
# on and its maximum age. Four Python processes that each bind as the admin, and one ldapmodify:
#   1 dsconf plugin retro-changelog enable         4 dsidm account reset_password (the sync user)
#   2 dsconf plugin retro-changelog set --max-age  5 ldapmodify: the ACI on the base DN
#   3 dsidm user create (uid=<SYNC_UID>,ou=People,<base>, as dsidm makes accounts: a POSIX user)
# lib389's command line has no ACI command, and `dsidm account modify-by-dn` splits its argument on every
# ':', so it cannot write an ACI that names ldap:///...: the 389 DS documentation adds ACIs with ldapmodify.
# It checks nothing and is not idempotent (a second run fails at step 3): it is what a person types once.
# The ACI is the tool's, word for word, so both leave the same rights. Like the tool on a server without
# dynamic plugins, it leaves the change log to start at the next restart, and the cn=changelog ACI to then.
#
# Environment: LDAP_URL, BIND_DN, BIND_PW_FILE, SYNC_PW_FILE (files without a trailing newline), BASE_DN,
# SYNC_UID (default syncuser), MAX_AGE (default 2d). The sync password goes on dsidm's command line, which
# has no password-file option for it: fine on a throw-away bench server, not on a shared machine.
set -euo pipefail
: "${LDAP_URL:?}" "${BIND_DN:?}" "${BIND_PW_FILE:?}" "${SYNC_PW_FILE:?}" "${BASE_DN:?}"
SYNC_UID=${SYNC_UID:-syncuser}
MAX_AGE=${MAX_AGE:-2d}
SYNC_DN="uid=$SYNC_UID,ou=People,$BASE_DN"
ADMIN=(-D "$BIND_DN" -y "$BIND_PW_FILE")
ACI="(targetattr=\"*\")(version 3.0; acl \"prepare-endpoint-server: sync source read\"; allow (read,search,compare) userdn=\"ldap:///$SYNC_DN\";)"

dsconf "${ADMIN[@]}" "$LDAP_URL" plugin retro-changelog enable                          # 1
dsconf "${ADMIN[@]}" "$LDAP_URL" plugin retro-changelog set --max-age "$MAX_AGE"        # 2
dsidm "${ADMIN[@]}" -b "$BASE_DN" "$LDAP_URL" user create --uid "$SYNC_UID" --cn "Sync User" \
    --displayName "Sync User" --uidNumber 65000 --gidNumber 65000 --homeDirectory /nonexistent  # 3
dsidm "${ADMIN[@]}" -b "$BASE_DN" "$LDAP_URL" account reset_password "$SYNC_DN" "$(cat "$SYNC_PW_FILE")"  # 4
ldapmodify -x -H "$LDAP_URL" "${ADMIN[@]}" <<EOF                                                  # 5
dn: $BASE_DN
changetype: modify
add: aci
aci: $ACI
-
EOF
echo 'prepared: restart the server to start the Retro Changelog Plugin'
