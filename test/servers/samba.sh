#!/usr/bin/env bash
# A throw-away Samba Active Directory domain controller for the integration tests.
#
#   samba.sh up DATADIR               provision (first time) and start
#   samba.sh down DATADIR [--purge]   stop; --purge also deletes DATADIR
#
# Realm EXAMPLE.COM, NetBIOS domain EXAMPLE, naming context DC=example,DC=com,
# administrator CN=Administrator,CN=Users,DC=example,DC=com. Only the "ldap"
# service runs (no smbd, kdc, dns, winbind), bound to loopback only
# (interfaces = lo, bind interfaces only): 127.0.0.1 and [::1].
#
# LIMITATIONS: Samba's AD LDAP server has no port option: it always listens on
# 389 (LDAP), 636 (LDAPS with a self-signed certificate whose CA Samba writes to
# DATADIR/private/tls/ca.pem), 3268 and 3269. So this must run as root, and only
# one such DC can run per network namespace.
#
# smb.conf gets `ldap server require strong auth = no` (AD refuses simple binds
# over plain LDAP otherwise), and keeps pid, logs and sockets in DATADIR.
# The server process is found again by the PID in DATADIR/run/samba.pid, checked
# to be /usr/sbin/samba holding DATADIR/private/sam.ldb open (samba rewrites its
# command line): never by name.
#
# Environment (optional):
#   SAMBA_ADMIN_PASSWORD  (default Secret123!; AD complexity rules apply)
#   SAMBA_START_TIMEOUT   seconds to wait for an LDAP answer (default 60)
#   SAMBA_STOP_TIMEOUT    seconds to wait after SIGTERM before SIGKILL (default 30)
#
# Requires: apt-get install --no-install-recommends samba samba-ad-dc samba-ad-provision ldap-utils
set -euo pipefail
PROG=$(basename "$0")
PATH="$PATH:/usr/sbin:/sbin"

usage() {
    echo "usage: $PROG up DATADIR" >&2
    echo "       $PROG down DATADIR [--purge]" >&2
    exit 2
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# PID of the samba serving DATADIR $1, or nothing.
samba_pid() {
    local d=$1 p fd
    [ -s "$d/run/samba.pid" ] || return 1
    p=$(tr -dc 0-9 < "$d/run/samba.pid")
    [ -n "$p" ] && [ -r "/proc/$p/exe" ] || return 1
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = /usr/sbin/samba ] || return 1
    for fd in "/proc/$p/fd/"*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "$d/private/sam.ldb" ] && { echo "$p"; return 0; }
    done
    return 1
}

cmd_up() {
    [ $# -eq 1 ] || usage
    [ "$(id -u)" = 0 ] || { echo "$PROG: must run as root (Samba's LDAP port is fixed at 389)" >&2; exit 2; }
    command -v samba-tool >/dev/null || { echo "$PROG: samba-tool missing: apt-get install samba samba-ad-dc samba-ad-provision" >&2; exit 2; }
    mkdir -p "$1"
    local d pw timeout conf t0 p bg deadline
    d=$(cd "$1" && pwd -P)
    pw=${SAMBA_ADMIN_PASSWORD:-Secret123!}
    timeout=${SAMBA_START_TIMEOUT:-60}
    conf="$d/etc/smb.conf"
    t0=$(date +%s.%N)
    if p=$(samba_pid "$d"); then echo "samba already running from $d (pid $p)"; return 0; fi
    if (exec 3<>/dev/tcp/127.0.0.1/389) 2>/dev/null; then
        echo "$PROG: 127.0.0.1:389 is in use (another DC or LDAP server): only one Samba DC can run" >&2; exit 1
    fi

    if [ ! -f "$conf" ]; then
        [ -z "$(ls -A "$d")" ] || { echo "$PROG: $d is not empty and holds no smb.conf" >&2; exit 1; }
        if ! samba-tool domain provision --targetdir="$d" --realm=EXAMPLE.COM --domain=EXAMPLE \
            --adminpass="$pw" --server-role=dc --dns-backend=NONE --host-name=testdc \
            --host-ip=127.0.0.1 --option="interfaces=lo" --option="bind interfaces only=yes" \
            --option="server services=ldap" >"$d/provision.log" 2>&1; then
            echo "$PROG: provisioning failed:" >&2; tail -20 "$d/provision.log" >&2; exit 1
        fi
        mkdir -p "$d/run" "$d/log" "$d/cache"
        # Options given to provision are not all written to smb.conf: patch it.
        sed -i -e "s#^\tlog file = .*#\tlog file = $d/log/samba.log\n\tpid directory = $d/run\n\tncalrpc dir = $d/run/ncalrpc\n\twinbindd socket directory = $d/run/winbindd\n\tntp signd socket directory = $d/run/ntp_signd#" \
               -e "s#^\tserver services = ldap#\tserver services = ldap\n\tldap server require strong auth = no#" "$conf"
        grep -q "pid directory = $d/run" "$conf" && grep -q "require strong auth = no" "$conf" \
            || { echo "$PROG: could not patch $conf" >&2; exit 1; }
        echo "samba provisioned in $(elapsed "$t0") s"
    fi

    rm -f "$d/run/samba.pid"
    setsid samba -s "$conf" -l "$d/log" -M single -F --no-process-group </dev/null >>"$d/log/samba.out" 2>&1 &
    bg=$!
    deadline=$(( $(date +%s) + timeout ))
    until ldapsearch -x -H ldap://127.0.0.1:389 -s base -b "" -LLL "(objectClass=*)" dnsHostName >/dev/null 2>&1; do
        kill -0 "$bg" 2>/dev/null || { echo "$PROG: samba exited:" >&2; tail -15 "$d/log/samba.out" >&2; exit 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "$PROG: no LDAP answer after ${timeout}s" >&2; kill -TERM "$bg" 2>/dev/null || true; exit 1; }
        sleep 0.1
    done
    p=$(samba_pid "$d") || { echo "$PROG: samba answers but $d/run/samba.pid does not name it" >&2; exit 1; }
    echo "samba AD DC up in $(elapsed "$t0") s: pid $p, ldap://127.0.0.1:389, ldaps://127.0.0.1:636 (CA $d/private/tls/ca.pem)"
}

cmd_down() {
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    [ $# -eq 1 ] || [ "$2" = "--purge" ] || usage
    [ -d "$1" ] || { echo "no such directory: $1 (nothing to stop)"; return 0; }
    local d p t0 deadline
    d=$(cd "$1" && pwd -P)
    if p=$(samba_pid "$d"); then
        t0=$(date +%s.%N)
        kill -TERM "$p"
        deadline=$(( $(date +%s) + ${SAMBA_STOP_TIMEOUT:-30} ))
        while kill -0 "$p" 2>/dev/null; do
            if [ "$(date +%s)" -ge "$deadline" ]; then kill -KILL "$p" 2>/dev/null || true; break; fi
            sleep 0.05
        done
        rm -f "$d/run/samba.pid"
        echo "samba (pid $p) stopped in $(elapsed "$t0") s"
    else
        echo "samba in $d is not running"
    fi
    if [ "${2:-}" = "--purge" ]; then
        case "$d" in /|/tmp|/root|/home|/etc|/usr|/var) echo "$PROG: refusing to purge $d" >&2; exit 1 ;; esac
        if [ ! -f "$d/etc/smb.conf" ] && [ -n "$(ls -A "$d")" ]; then
            echo "$PROG: refusing to purge $d: not a samba.sh data directory" >&2; exit 1
        fi
        rm -rf "$d"
        echo "removed $d"
    fi
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
