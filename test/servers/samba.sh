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
UP_ARGS="DATADIR"
# shellcheck source=test/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# PID of the samba serving DATADIR $1, or nothing.
samba_pid() {
    local d=$1 p fd
    p=$(pidfile_pid "$d/run/samba.pid") || return 1
    [ -r "/proc/$p/exe" ] || return 1
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
    enter_datadir "$1"
    local d=$D pw timeout conf t0 p bg deadline
    pw=${SAMBA_ADMIN_PASSWORD:-Secret123!}
    timeout=${SAMBA_START_TIMEOUT:-60}
    conf="$d/etc/smb.conf"
    t0=$(now)
    if p=$(samba_pid "$d"); then echo "samba already running from $d (pid $p)"; return 0; fi
    if port_open 389; then
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
        echo "samba provisioned in $(since "$t0" 1) s"
    fi

    rm -f "$d/run/samba.pid"
    setsid samba -s "$conf" -l "$d/log" -M single -F --no-process-group </dev/null >>"$d/log/samba.out" 2>&1 &
    bg=$!
    deadline=$(( $(date +%s) + timeout ))
    until ldap_answers ldap://127.0.0.1:389 dnsHostName; do
        kill -0 "$bg" 2>/dev/null || { echo "$PROG: samba exited:" >&2; tail -15 "$d/log/samba.out" >&2; exit 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "$PROG: no LDAP answer after ${timeout}s" >&2; kill -TERM "$bg" 2>/dev/null || true; exit 1; }
        sleep 0.1
    done
    p=$(samba_pid "$d") || { echo "$PROG: samba answers but $d/run/samba.pid does not name it" >&2; exit 1; }
    echo "samba AD DC up in $(since "$t0" 1) s: pid $p, ldap://127.0.0.1:389, ldaps://127.0.0.1:636 (CA $d/private/tls/ca.pem)"
}

cmd_down() {
    parse_down_args samba "$@" || return 0
    local p t0
    if p=$(samba_pid "$D"); then
        t0=$(now)
        stop_pid "$p" "${SAMBA_STOP_TIMEOUT:-30}" samba
        rm -f "$D/run/samba.pid"
        echo "samba (pid $p) stopped in $(since "$t0" 1) s"
    else
        echo "samba in $D is not running"
    fi
    if [ "$PURGE" = 1 ]; then
        if [ ! -f "$D/etc/smb.conf" ] && [ -n "$(ls -A "$D")" ]; then
            die "refusing to purge $D: not a samba.sh data directory"
        fi
        purge_datadir
    fi
}

dispatch "$@"
