#!/usr/bin/env bash
# The PingDirectory EMULATOR (not the real product) for shell users such as the demo and benchmarks, with
# the same interface as test/servers/389ds.sh:
#
#   emulator.sh up PORT DATADIR [--proxy]   start on 127.0.0.1:PORT; PID file and log in DATADIR
#   emulator.sh down DATADIR [--purge]      stop it by its PID; --purge also deletes DATADIR
#
# Needs the build (npx tsc -p tsconfig.json). Admin: cn=Directory Manager, password $PING_EMULATOR_ADMIN_PASSWORD
# (default adminpw). The emulator keeps its data in memory only: a restart starts from the seed again.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd -P)
MAIN="$ROOT/dist/test/emulators/pingdirectory/main.js"
# shellcheck source=test/servers/lib.sh
. "$ROOT/test/servers/lib.sh"

our_pid() {
    local p
    p=$(pidfile_pid "$1/emulator.pid") || return 1
    # only a node process running this emulator's main.js is ours
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "emulators/pingdirectory/main.js" || return 1
    echo "$p"
}

case "${1:-}" in
up)
    [ $# -ge 3 ] || die "usage: $PROG up PORT DATADIR [--proxy]"
    PORT=$2 D=$3
    PROXY=()
    case "${4:-}" in '') ;; --proxy) PROXY=(--proxy) ;; *) die "unknown option '$4'" ;; esac
    [ -f "$MAIN" ] || die "$MAIN is missing: build first (npx tsc -p tsconfig.json)"
    mkdir -p "$D"
    our_pid "$D" >/dev/null && die "an emulator already runs for $D"
    # Emptied here, not by the redirection below (made by the background child, perhaps after the loop's
    # first look): a restart would otherwise take the last run's line for this one's.
    : >"$D/emulator.out"
    node "$MAIN" --port "$PORT" --pid-file "$D/emulator.pid" "${PROXY[@]}" >"$D/emulator.out" 2>"$D/emulator.log" &
    for _ in $(seq 1 100); do
        if [ -s "$D/emulator.out" ]; then cat "$D/emulator.out"; exit 0; fi
        kill -0 $! 2>/dev/null || die "the emulator exited: $(cat "$D/emulator.log")"
        sleep 0.1
    done
    die "the emulator did not start within 10 s"
    ;;
down)
    [ $# -ge 2 ] || die "usage: $PROG down DATADIR [--purge]"
    [ -d "$2" ] || exit 0
    D=$(cd -- "$2" && pwd -P)
    if p=$(our_pid "$D"); then stop_pid "$p" 5 "the emulator"; fi
    if [ "${3:-}" = "--purge" ]; then purge_datadir >/dev/null; fi
    exit 0
    ;;
*)
    die "usage: $PROG up PORT DATADIR [--proxy] | down DATADIR [--purge]"
    ;;
esac
