#!/usr/bin/env bash
# npm run demo: the tool end to end against a throw-away local 389 Directory Server.
#
# Installs what is missing (Debian packages when run as root, npm packages), builds the tool, starts a
# private 389 DS on 127.0.0.1 in a temporary folder, prepares it as a sync source and destination,
# restarts it as the tool asks, runs the tool again (nothing left to change, change log verified), shows
# what the server now holds, and stops and deletes the server. Nothing outside the temporary folder is kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd -P)
PKGS="389-ds-base python3-lib389 ldap-utils"
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac

if ! command -v dscreate >/dev/null || ! command -v ns-slapd >/dev/null || ! command -v ldapsearch >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "== Installing $PKGS"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
    else
        echo "Install the 389 Directory Server first:" >&2
        echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PKGS" >&2
        exit 1
    fi
fi
[ -d node_modules ] || { echo "== npm ci"; npm ci --no-audit --no-fund >/dev/null; }
echo "== Building"
npm run --silent build

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pes-demo.XXXXXX")
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
DS="$WORK/ds"
cleanup() { bash "$ROOT/test/servers/389ds.sh" down "$DS" --purge >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== Starting a throw-away 389 Directory Server on 127.0.0.1:$PORT (data in $DS)"
bash "$ROOT/test/servers/389ds.sh" up "$PORT" "$DS" >/dev/null
umask 077
printf '%s' 'Secret123!' > "$WORK/admin.pw"   # no newline: ldapsearch -y reads the whole file
printf 'Demo-Sync-%s' "$RANDOM$RANDOM" > "$WORK/sync.pw"
URL="ldap://127.0.0.1:$PORT"
DM=(-x -H "$URL" -D "cn=Directory Manager" -y "$WORK/admin.pw")
SYNC_DN="cn=Sync User,dc=example,dc=com"
run_tool() {
    echo
    echo "\$ prepare-endpoint-server -h 127.0.0.1 -p $PORT -D 'cn=Directory Manager' -j admin.pw \\"
    echo "    --syncServerBindPasswordFile sync.pw -b dc=example,dc=com --isSource --isDestination --changelogMaximumAge 2d --no-prompt"
    "$ROOT/bin/prepare-endpoint-server" -h 127.0.0.1 -p "$PORT" -D "cn=Directory Manager" -j "$WORK/admin.pw" \
        --syncServerBindPasswordFile "$WORK/sync.pw" -b dc=example,dc=com --isSource --isDestination \
        --changelogMaximumAge 2d --no-prompt --logFile "$WORK/run.log" 2>&1
}

echo "== First run: creates the sync user, grants it ACIs, enables the Retro Changelog Plugin"
run_tool
echo
echo "== Restarting the server, as the tool asked (389 DS starts the plugin at startup)"
bash "$ROOT/test/servers/389ds.sh" down "$DS" >/dev/null
bash "$ROOT/test/servers/389ds.sh" up "$PORT" "$DS" >/dev/null
echo "== Second run: finishes the job (change log ACI) and verifies"
run_tool
echo
echo "== Third run: nothing left to change"
run_tool

echo
echo "== What the server holds now (read back with ldapsearch)"
ldapsearch "${DM[@]}" -LLL -o ldif-wrap=no -b dc=example,dc=com -s base aci | grep -i 'prepare-endpoint-server' || true
ldapsearch "${DM[@]}" -LLL -o ldif-wrap=no -b 'cn=Retro Changelog Plugin,cn=plugins,cn=config' -s base nsslapd-pluginEnabled nsslapd-changelogmaxage
echo "== A change made now, read from cn=changelog as the sync user"
ldapmodify "${DM[@]}" >/dev/null <<LDIF
dn: uid=demo,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
uid: demo
cn: Demo Person
sn: Person
LDIF
ldapsearch -x -H "$URL" -D "$SYNC_DN" -y "$WORK/sync.pw" -LLL -o ldif-wrap=no -b cn=changelog '(targetDn=uid=demo,ou=People,dc=example,dc=com)' changeNumber changeType targetDn
ldapsearch -x -H "$URL" -D "$SYNC_DN" -y "$WORK/sync.pw" -LLL -s base -b '' firstchangenumber lastchangenumber
echo "== Run log (JSON lines, no secrets): $(wc -l < "$WORK/run.log") lines; the last one:"
tail -n 1 "$WORK/run.log"
echo
echo "== Done: stopping and deleting the throw-away server"
