#!/usr/bin/env bash
# Throw-away 389 Directory Server instances for the integration tests.
#
#   389ds.sh up PORT DATADIR          create (first time) and start
#   389ds.sh down DATADIR [--purge]   stop; --purge also deletes DATADIR
#
# Every file of the instance lives in DATADIR (a private lib389 PREFIX with
# systemd and SELinux switched off); the server listens on 127.0.0.1:PORT only
# (no TLS port) and runs as the invoking user (root in CI). The only file ever
# created elsewhere is the POSIX semaphore /dev/shm/sem.slapd-<instance>.stats
# that ns-slapd itself creates and removes; the instance name is derived from
# the port (pes<PORT>) so concurrent instances never share it.
#
# A restart is "down DATADIR" followed by "up PORT DATADIR": when DATADIR
# already holds an instance, "up" just starts it again (data kept).
#
# Seeded data (at creation):
#   dc=example,dc=com      backend userroot, suffix entry
#   ou=People,dc=example,dc=com
#   dc=example,dc=org      backend orgroot, suffix entry
#
# Environment (optional):
#   DS_DM_PASSWORD      Directory Manager password (default Secret123!, >= 8 chars)
#   DS_DB_LIB           mdb | bdb (default mdb: faster to create and to stop)
#   DS_DYNAMIC_PLUGINS  1 => nsslapd-dynamic-plugins: on in cn=config after creation
#   DS_DB_NOSYNC        1 => nsslapd-db-durable-transaction: off (read at creation): no
#                       durable commit per write, for tests that load thousands of entries
#   DS_START_TIMEOUT    seconds to wait for an LDAP answer (default 60)
#   DS_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#
# TLS (optional, opt-in, read at creation only; all four or none):
#   DS_TLS_CERT         server certificate (PEM)
#   DS_TLS_KEY          its private key (PEM, unencrypted)
#   DS_TLS_CA           the CA certificate that issued it (PEM)
#   DS_TLS_PORT         LDAPS port (nsslapd-securePort), on 127.0.0.1 only
# The key and certificate go into the instance's NSS database (CONF/cert9.db,
# made by dscreate, unlocked by CONF/pin.txt) with pk12util as "Server-Cert"
# (the nickname cn=RSA,cn=encryption,cn=config names), the CA with certutil
# (trust CT,,), and cn=config gets nsslapd-security: on, nsslapd-securePort and
# nsslapd-securelistenhost: 127.0.0.1 (edited in dse.ldif before the first
# start, so no restart is needed). StartTLS then works on PORT too. Without
# them the instance has no TLS (StartTLS is refused). Needs certutil and
# pk12util (libnss3-tools, a dependency of python3-lib389) and openssl.
#
# Needs: 389-ds-base python3-lib389 ldap-utils (dscreate, ns-slapd, ldapsearch, ldapmodify).
set -euo pipefail

PROG=${0##*/}
UP_ARGS="PORT DATADIR"
NEED_PACKAGES="389-ds-base python3-lib389 ldap-utils"
# shellcheck source=test/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SYS_INF=/usr/share/dirsrv/inf/defaults.inf
SYS_TEMPLATE=/usr/share/dirsrv/data/template-dse.ldif
MARKER=.pes-389ds          # marks a DATADIR made by this script (holds the instance name)

# ---------------------------------------------------------------- helpers

# set_paths DIR: the instance layout inside DIR (INST must be set)
set_paths() {
    CONF="$D/etc/dirsrv/slapd-$INST"
    PIDFILE="$D/run/slapd-$INST.pid"
    ERRLOG="$D/log/errors"
}

# our_pid: print the pidfile's PID if that process is alive and is the
# ns-slapd serving this DATADIR's config (checked via /proc/PID/cmdline).
our_pid() {
    local p cmd
    p=$(pidfile_pid "$PIDFILE") || return 1
    cmd=$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null) || return 1
    # expected argv: ns-slapd -D <CONF> -i <PIDFILE>
    case "$(printf '%s\n' "$cmd" | sed -n 1p)" in ns-slapd | */ns-slapd) ;; *) return 1 ;; esac
    [ "$(printf '%s\n' "$cmd" | sed -n 2p)" = "-D" ] || return 1
    [ "$(printf '%s\n' "$cmd" | sed -n 3p)" = "$CONF" ] || return 1
    echo "$p"
}

# --------------------------------------------------------------------- up

create_instance() {
    local run_user run_group
    run_user=$(id -un)
    run_group=$(id -gn)
    [ -r "$SYS_INF" ] || die "$SYS_INF not found (is 389-ds-base installed?)"
    [ -r "$SYS_TEMPLATE" ] || die "$SYS_TEMPLATE not found (is 389-ds-base installed?)"
    [ ${#DM_PW} -ge 8 ] || die "DS_DM_PASSWORD must have at least 8 characters"
    case "$DM_PW" in *$'\n'* | *"'"*) die "DS_DM_PASSWORD must not contain newlines or single quotes" ;; esac

    mkdir -p "$D/share/dirsrv/inf" "$D/share/dirsrv/data" "$D/etc/dirsrv" "$D/tmp" "$D/inst" "$D/run" "$D/log"

    # lib389 honours $PREFIX: it reads $PREFIX/share/dirsrv/inf/defaults.inf and
    # finds instances as $PREFIX/etc/dirsrv/slapd-*/dse.ldif. Move every path
    # into DATADIR; with_systemd = 0 makes lib389 run ns-slapd itself.
    sed -e "s#^with_systemd = .*#with_systemd = 0#" \
        -e "s#^with_selinux = .*#with_selinux = no#" \
        -e "s#^data_dir = .*#data_dir = $D/share#" \
        -e "s#^tmp_dir = .*#tmp_dir = $D/tmp#" \
        -e "s#^local_state_dir = .*#local_state_dir = $D#" \
        -e "s#^run_dir = .*#run_dir = $D/run#" \
        -e "s#^inst_dir = .*#inst_dir = $D/inst#" \
        -e "s#^tmpfiles_d = .*#tmpfiles_d = $D/tmpfiles.d#" \
        -e "s#^pid_file = .*#pid_file = $D/run/slapd-{instance_name}.pid#" \
        -e "s#^ldapi = .*#ldapi = $D/run/slapd-{instance_name}.socket#" \
        -e "s#^db_home_dir = .*#db_home_dir = $D/db#" \
        -e "s#= /etc/dirsrv/slapd-{instance_name}#= $D/etc/dirsrv/slapd-{instance_name}#" \
        -e "s#= /run/lock/dirsrv/slapd-{instance_name}#= $D/lock/slapd-{instance_name}#" \
        -e "s#= /var/log/dirsrv/slapd-{instance_name}#= $D/log#" \
        -e "s#= /var/lib/dirsrv/slapd-{instance_name}#= $D#" \
        "$SYS_INF" > "$D/share/dirsrv/inf/defaults.inf"

    # cn=config template: listen on loopback only, from the very first start
    # (dscreate starts the server internally while creating it).
    awk 'BEGIN { done = 0 }
         !done && $0 == "" { print "nsslapd-listenhost: 127.0.0.1"; done = 1 }
         { print }' "$SYS_TEMPLATE" > "$D/share/dirsrv/data/template-dse.ldif"
    grep -qx 'nsslapd-listenhost: 127.0.0.1' "$D/share/dirsrv/data/template-dse.ldif" \
        || die "could not add nsslapd-listenhost to template-dse.ldif"

    local inf="$D/instance.inf"
    (
        umask 077
        cat > "$inf" <<EOF
[general]
config_version = 2
full_machine_name = localhost
selinux = False
systemd = False
start = False
strict_host_checking = False

[slapd]
instance_name = $INST
port = $PORT
secure_port = 0
self_sign_cert = False
root_dn = cn=Directory Manager
root_password = $DM_PW
user = $run_user
group = $run_group
db_lib = $DB_LIB

[backend-userroot]
suffix = dc=example,dc=com
create_suffix_entry = True
sample_entries = no

[backend-orgroot]
suffix = dc=example,dc=org
create_suffix_entry = True
sample_entries = no
EOF
    )
    local rc=0
    (cd "$D" && PREFIX="$D" dscreate -v from-file "$inf") > "$D/dscreate.log" 2>&1 || rc=$?
    rm -f "$inf"   # it holds the clear-text password
    if [ $rc -ne 0 ]; then
        echo "$PROG: ERROR: dscreate failed (rc $rc); last lines of $D/dscreate.log:" >&2
        tail -n 25 "$D/dscreate.log" >&2
        exit 1
    fi
    [ -f "$CONF/dse.ldif" ] || die "dscreate did not create $CONF/dse.ldif (see $D/dscreate.log)"
}

# configure_tls: import DS_TLS_* into the (stopped) instance's NSS database and
# switch LDAPS on in dse.ldif.
configure_tls() {
    local p12 p12pw rc=0 out
    [ -r "$CONF/pwdfile.txt" ] || die "no NSS password file $CONF/pwdfile.txt (dscreate layout changed?)"
    p12=$(mktemp "$D/tmp/server.XXXXXX.p12")
    p12pw=$(mktemp "$D/tmp/p12pw.XXXXXX")
    openssl rand -hex 16 > "$p12pw"
    if ! out=$(openssl pkcs12 -export -in "$DS_TLS_CERT" -inkey "$DS_TLS_KEY" -name Server-Cert \
            -out "$p12" -passout "file:$p12pw" 2>&1); then
        rm -f "$p12" "$p12pw"; echo "$out" >&2; die "openssl pkcs12 -export of DS_TLS_CERT/DS_TLS_KEY failed"
    fi
    out=$(pk12util -i "$p12" -d "$CONF" -k "$CONF/pwdfile.txt" -w "$p12pw" 2>&1) || rc=$?
    rm -f "$p12" "$p12pw"
    [ $rc -eq 0 ] || { echo "$out" >&2; die "pk12util could not import the server certificate"; }
    if ! out=$(certutil -A -d "$CONF" -f "$CONF/pwdfile.txt" -n "PES Test CA" -t "CT,," -a -i "$DS_TLS_CA" 2>&1); then
        echo "$out" >&2; die "certutil could not import DS_TLS_CA"
    fi
    # cn=config is the dse.ldif entry holding nsslapd-securePort
    awk -v port="$TLS_PORT" '
        /^nsslapd-securePort: / { print "nsslapd-securePort: " port; print "nsslapd-security: on";
                                  print "nsslapd-securelistenhost: 127.0.0.1"; done = 1; next }
        /^nsslapd-security: / || /^nsslapd-securelistenhost: / { next }
        { print }
        END { if (!done) exit 3 }' "$CONF/dse.ldif" > "$CONF/dse.ldif.tls" \
        || { rm -f "$CONF/dse.ldif.tls"; die "no nsslapd-securePort in $CONF/dse.ldif"; }
    chmod 600 "$CONF/dse.ldif.tls"
    mv -f "$CONF/dse.ldif.tls" "$CONF/dse.ldif"
}

seed_instance() {
    local url="ldap://127.0.0.1:$PORT" out
    if ! out=$(ldapadd -x -H "$url" -D "cn=Directory Manager" -y "$PWFILE" 2>&1 <<'EOF'
dn: ou=People,dc=example,dc=com
objectClass: top
objectClass: organizationalUnit
ou: People
EOF
    ); then
        echo "$out" >&2; die "could not add ou=People,dc=example,dc=com"
    fi
    if [ "${DS_DYNAMIC_PLUGINS:-0}" = 1 ]; then
        if ! out=$(ldapmodify -x -H "$url" -D "cn=Directory Manager" -y "$PWFILE" 2>&1 <<'EOF'
dn: cn=config
changetype: modify
replace: nsslapd-dynamic-plugins
nsslapd-dynamic-plugins: on
EOF
        ); then
            echo "$out" >&2; die "could not set nsslapd-dynamic-plugins: on"
        fi
    fi
}

start_instance() {
    local errlines pid="" deadline
    errlines=$(wc -l < "$ERRLOG" 2>/dev/null || echo 0)
    # ns-slapd never removes its pidfile; a stale one would be read right after
    # start (the new one appears only once it listens). We know it is not ours
    # and alive (checked by the caller).
    rm -f "$PIDFILE"
    # a stale LDAPI socket would make ns-slapd's bind of the new one fail
    rm -f "$D/run/slapd-$INST.socket"
    # ns-slapd daemonises: the parent returns at once.
    ns-slapd -D "$CONF" -i "$PIDFILE" >>"$D/ns-slapd.out" 2>&1 || true
    deadline=$(deadline_after "$START_TIMEOUT")
    while :; do
        [ -n "$pid" ] || pid=$(our_pid || true)
        if [ -n "$pid" ] && ldap_answers "ldap://127.0.0.1:$PORT" vendorVersion; then
            break
        fi
        # the whole end of the errors log (from line 0): the lines before this start give context
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            start_failed "ns-slapd (pid $pid) exited during start-up" "$ERRLOG" 0
        fi
        if [ -z "$pid" ] && tail -n +"$((errlines + 1))" "$ERRLOG" 2>/dev/null | grep -q 'EMERG\|slapd stopped'; then
            start_failed "ns-slapd failed to start" "$ERRLOG" 0
        fi
        fail_start_after "$deadline" "$ERRLOG" 0 "$pid"
        sleep 0.1
    done
    PID=$pid
}

cmd_up() {
    parse_up_args "$@"
    need dscreate ns-slapd ldapsearch ldapmodify ldapadd
    enter_datadir "$2"
    case "$D" in *[[:space:]#]*) die "DATADIR must not contain spaces or '#': $D" ;; esac

    DM_PW=${DS_DM_PASSWORD:-Secret123!}
    DB_LIB=${DS_DB_LIB:-mdb}
    case "$DB_LIB" in mdb | bdb) ;; *) die "DS_DB_LIB must be mdb or bdb, got '$DB_LIB'" ;; esac
    START_TIMEOUT=${DS_START_TIMEOUT:-60}
    read_tls_opt_in DS
    [ -z "$TLS_PORT" ] || need certutil pk12util openssl

    local t0 created=0 already=0 t_create=""
    t0=$(now)
    if [ -f "$D/$MARKER" ]; then
        INST=$(cat "$D/$MARKER")
        [ -n "$INST" ] || die "$D/$MARKER is empty"
        set_paths
        [ -f "$CONF/dse.ldif" ] || die "$D holds an incomplete instance (no $CONF/dse.ldif); purge it: $PROG down $D --purge"
        local cfgport
        cfgport=$(sed -n 's/^nsslapd-port: //p' "$CONF/dse.ldif" | head -n1)
        [ "$cfgport" = "$PORT" ] || die "instance in $D is configured for port $cfgport, not $PORT"
    else
        [ -z "$(ls -A "$D")" ] || die "$D is not empty and holds no instance made by $PROG"
        INST="pes$PORT"
        set_paths
    fi

    if p=$(our_pid); then
        PID=$p
        already=1
    else
        port_open "$PORT" && die "something already listens on 127.0.0.1:$PORT"
        PWFILE=$(mktemp "${TMPDIR:-/tmp}/pes-dmpw.XXXXXX")
        trap 'rm -f "$PWFILE"' EXIT
        printf '%s' "$DM_PW" > "$PWFILE"
        if [ ! -f "$D/$MARKER" ]; then
            [ -z "$TLS_PORT" ] || ! port_open "$TLS_PORT" || die "something already listens on 127.0.0.1:$TLS_PORT"
            echo "$INST" > "$D/$MARKER"
            create_instance
            [ -z "$TLS_PORT" ] || configure_tls
            if [ "${DS_DB_NOSYNC:-0}" = 1 ]; then
                sed -i 's/^nsslapd-db-durable-transaction: on$/nsslapd-db-durable-transaction: off/' "$CONF/dse.ldif"
            fi
            created=1
            t_create=$(since "$t0")
        fi
        start_instance
        if [ $created = 1 ]; then
            seed_instance
        fi
    fi

    local ldaps_port=""
    if grep -qx 'nsslapd-security: on' "$CONF/dse.ldif"; then
        ldaps_port=$(sed -n 's/^nsslapd-securePort: //p' "$CONF/dse.ldif" | head -n1)
    fi
    write_private "$D/connection.env" <<EOF
LDAP_URL=ldap://127.0.0.1:$PORT
LDAP_HOST=127.0.0.1
LDAP_PORT=$PORT
LDAP_BIND_DN='cn=Directory Manager'
LDAP_BIND_PW='$DM_PW'
LDAP_SUFFIXES='dc=example,dc=com dc=example,dc=org'
LDAPI_URL=ldapi://$(printf '%s' "$D/run/slapd-$INST.socket" | sed 's#/#%2f#g')
DS_INSTANCE=$INST
DS_PID=$PID
DS_PIDFILE=$PIDFILE
DS_DB_LIB=$DB_LIB${ldaps_port:+
LDAPS_URL=ldaps://127.0.0.1:$ldaps_port
LDAPS_PORT=$ldaps_port}
EOF
    report_up "389 DS $INST" "$already" "$created" "$t_create" "$t0"
}

# ------------------------------------------------------------------- down

cmd_down() {
    parse_down_args "389 DS" "$@" || return 0
    local stop_timeout=${DS_STOP_TIMEOUT:-30}

    if [ -f "$D/$MARKER" ]; then
        INST=$(cat "$D/$MARKER")
        set_paths
        local pid t0
        if pid=$(our_pid); then
            t0=$(now)
            stop_pid "$pid" "$stop_timeout" ns-slapd
            # a killed ns-slapd leaves its semaphore behind
            [ "$STOP_KILLED" = 0 ] || rm -f "/dev/shm/sem.slapd-$INST.stats"
            rm -f "$PIDFILE"
            echo "389 DS $INST (pid $pid) stopped in $(since "$t0")s"
        else
            rm -f "$PIDFILE"   # stale, if any
            echo "389 DS $INST in $D is not running"
        fi
    else
        refuse_foreign_datadir
    fi

    [ "$PURGE" = 0 ] || purge_datadir
}

# ------------------------------------------------------------------- main

dispatch "$@"
