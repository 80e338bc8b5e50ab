#!/usr/bin/env bash
# Throw-away OpenLDAP slapd instances for the integration tests.
#
#   slapd.sh up PORT DATADIR          create (first time) and start
#   slapd.sh down DATADIR [--purge]   stop; --purge also deletes DATADIR
#
# Everything lives in DATADIR: the cn=config tree (DATADIR/slapd.d, built
# offline with slapadd -n0), the data (DATADIR/data), the pid/args files and
# the LDAPI socket (DATADIR/run). The server listens on ldap://127.0.0.1:PORT/
# and on ldapi://DATADIR/run/ldapi only, runs in the foreground (-d) detached
# with setsid, as the invoking user (root in CI), and logs to DATADIR/slapd.log.
# The Debian package's own /etc/ldap/slapd.d is neither used nor touched.
#
# A restart is "down DATADIR" followed by "up PORT DATADIR": when DATADIR
# already holds a config made by this script, "up" just starts it again
# (data and config changes made over LDAP are kept).
#
# Layout (at creation):
#   cn=module{0},cn=config   loads back_mdb only (Debian builds it as a module);
#                            accesslog and other overlays are for the tool
#                            under test to load over LDAP
#   cn=schema                core, cosine, nis, inetorgperson
#   {-1}frontend             root (LDAPI peercred) manage; root DSE and
#                            cn=Subschema readable by all
#   {0}config                rootdn cn=admin,cn=config; olcAccess
#                              {0}to * by dn.exact="<root>" manage
#                                 by dn.exact="cn=admin,dc=example,dc=com" manage by * break
#   {1}mdb                   dc=example,dc=com in DATADIR/data,
#                            rootdn cn=admin,dc=example,dc=com; olcAccess
#                              {0}to * by dn.exact="<root>" manage by * break
#                              {1}to * by dn.exact="cn=limited,dc=example,dc=com" write by * break
#                              {2}to attrs=userPassword by self write by anonymous auth by * none
#                              {3}to * by * read
#   DATADIR/accesslog        empty directory (mode 700) for an accesslog database:
#                            slapd cannot create a database directory itself
# Seeded entries:
#   dc=example,dc=com
#   ou=People,dc=example,dc=com
#   cn=limited,dc=example,dc=com   organizationalRole + simpleSecurityObject;
#                                  may write the data tree, has no rights on cn=config
# Credentials (all with the same password):
#   cn=admin,dc=example,dc=com     rootdn of the data DB and "manage" on cn=config
#   cn=admin,cn=config             rootdn of the config DB
#   cn=limited,dc=example,dc=com   see above
#   root via LDAPI (SASL EXTERNAL) manage on everything
#
# Environment (optional):
#   SLAPD_ADMIN_PASSWORD  password of the three accounts (default Secret123!)
#   SLAPD_DEBUG           slapd -d level, output in DATADIR/slapd.log (default none:
#                         only errors such as "bind(...) failed ... Address already
#                         in use"; 0 is silent even on errors; stats logs every
#                         connection and operation)
#   SLAPD_START_TIMEOUT   seconds to wait for an LDAP answer (default 30)
#   SLAPD_STOP_TIMEOUT    seconds to wait after SIGTERM before SIGKILL (default 30)
#   SLAPD_DB_NOSYNC       1 => olcDbNoSync: TRUE on the data database (read at creation): no fsync
#                         per write, for tests that load thousands of entries
#   SLAPD_EMPTY_DB        1 => no seeded entries at all (read at creation): for a syncrepl
#                         consumer that replicates the whole tree from a provider
#   SLAPD_STOCK           1 => cn=config exactly as Debian's package makes it, from
#                         /usr/share/slapd/slapd.init.ldif (read at creation): cn=config
#                         manageable only by root over ldapi (SASL EXTERNAL); the data
#                         admin cn=admin,dc=example,dc=com is the root DN of the data but
#                         has no rights on cn=config; root may only read the data; no
#                         cn=admin,cn=config password, no cn=limited; seeded: the suffix
#                         entry only. TLS (below) is added to cn=config as for the others.
#
# TLS (optional, opt-in, read at creation only; all four or none):
#   SLAPD_TLS_CERT        server certificate (PEM)
#   SLAPD_TLS_KEY         its private key (PEM, unencrypted)
#   SLAPD_TLS_CA          CA certificate(s) (PEM)
#   SLAPD_TLS_PORT        port of an extra ldaps://127.0.0.1:PORT/ listener
# The three files are copied into DATADIR/tls and set as olcTLSCertificateFile,
# olcTLSCertificateKeyFile and olcTLSCACertificateFile in cn=config, so StartTLS
# works on the ldap:// port too. Without them slapd has no TLS at all (StartTLS
# is refused). The LDAPS port is kept in DATADIR/tls/port for later "up"s.
#
# Needs: slapd ldap-utils (slapd, slapadd, slappasswd, ldapsearch).
set -euo pipefail

PROG=${0##*/}
UP_ARGS="PORT DATADIR"
NEED_PACKAGES="slapd ldap-utils"
# shellcheck source=test/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MARKER=.pes-slapd          # marks a DATADIR made by this script
SUFFIX=dc=example,dc=com
ADMIN_DN="cn=admin,$SUFFIX"
LIMITED_DN="cn=limited,$SUFFIX"
SCHEMA_DIR=/etc/ldap/schema
MODULE_DIR=/usr/lib/ldap

# ---------------------------------------------------------------- helpers

# set_paths: the instance layout inside $D
set_paths() {
    CONFDIR="$D/slapd.d"
    PIDFILE="$D/run/slapd.pid"
    SOCK="$D/run/ldapi"
    LOG="$D/slapd.log"
}

ldapi_url() { printf 'ldapi://%s' "$(printf '%s' "$SOCK" | sed 's#/#%2F#g')"; }

# our_pid: print the pidfile's PID if that process is alive and is the slapd
# serving this DATADIR's config (argv checked via /proc/PID/cmdline).
our_pid() {
    local p argv0 prev="" arg found=0
    p=$(pidfile_pid "$PIDFILE") || return 1
    # expected argv: slapd -d LEVEL -h URLS -F <CONFDIR>
    argv0=$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | sed -n 1p) || return 1
    case "$argv0" in slapd | */slapd) ;; *) return 1 ;; esac
    while IFS= read -r -d '' arg; do
        if [ "$prev" = "-F" ] && [ "$arg" = "$CONFDIR" ]; then found=1; break; fi
        prev=$arg
    done < "/proc/$p/cmdline"
    [ $found = 1 ] || return 1
    echo "$p"
}

# --------------------------------------------------------------------- up

create_instance() {
    local s hash root_ext pwtmp rc=0
    for s in core cosine nis inetorgperson; do
        [ -r "$SCHEMA_DIR/$s.ldif" ] || die "$SCHEMA_DIR/$s.ldif not found (is slapd installed?)"
    done
    [ -e "$MODULE_DIR/back_mdb.so" ] || [ -e "$MODULE_DIR/back_mdb.la" ] \
        || die "$MODULE_DIR/back_mdb.so not found (is slapd installed?)"
    case "$PW" in '' | *$'\n'*) die "SLAPD_ADMIN_PASSWORD must be non-empty and have no newline" ;; esac

    mkdir -p "$CONFDIR" "$D/data" "$D/accesslog" "$D/run"
    chmod 700 "$CONFDIR" "$D/data" "$D/accesslog"

    local nosync_ldif=""
    [ "${SLAPD_DB_NOSYNC:-0}" != 1 ] || nosync_ldif="olcDbNoSync: TRUE"

    local tls_ldif=""
    if [ -n "$TLS_PORT" ]; then
        mkdir -p "$D/tls"
        chmod 700 "$D/tls"
        cp -- "$SLAPD_TLS_CERT" "$D/tls/server.pem"
        cp -- "$SLAPD_TLS_KEY" "$D/tls/server.key"
        cp -- "$SLAPD_TLS_CA" "$D/tls/ca.pem"
        chmod 600 "$D/tls/server.key"
        echo "$TLS_PORT" > "$D/tls/port"
        tls_ldif="olcTLSCertificateFile: $D/tls/server.pem
olcTLSCertificateKeyFile: $D/tls/server.key
olcTLSCACertificateFile: $D/tls/ca.pem
olcTLSVerifyClient: never"
    fi

    # hash via a file (-T), so the clear-text password is never in an argv
    pwtmp=$(mktemp "$D/.pw.XXXXXX")
    printf '%s' "$PW" > "$pwtmp"
    hash=$(slappasswd -h '{SSHA}' -T "$pwtmp") || rc=$?
    rm -f "$pwtmp"
    [ $rc -eq 0 ] && [ -n "$hash" ] || die "slappasswd failed"
    root_ext="gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth"

    (
        umask 077
        cat > "$D/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $PIDFILE
olcArgsFile: $D/run/slapd.args
olcLogLevel: none${tls_ldif:+
$tls_ldif}

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $MODULE_DIR
olcModuleLoad: {0}back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$SCHEMA_DIR/core.ldif

include: file://$SCHEMA_DIR/cosine.ldif

include: file://$SCHEMA_DIR/nis.ldif

include: file://$SCHEMA_DIR/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500
olcAccess: {0}to * by dn.exact="$root_ext" manage by * break
olcAccess: {1}to dn.base="" by * read
olcAccess: {2}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=admin,cn=config
olcRootPW: $hash
olcAccess: {0}to * by dn.exact="$root_ext" manage by dn.exact="$ADMIN_DN" manage by * break

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcDbDirectory: $D/data
olcDbMaxSize: 1073741824
olcRootDN: $ADMIN_DN
olcRootPW: $hash
olcDbIndex: objectClass eq
olcDbIndex: entryCSN,entryUUID eq
olcLastMod: TRUE${nosync_ldif:+
$nosync_ldif}
olcAccess: {0}to * by dn.exact="$root_ext" manage by * break
olcAccess: {1}to * by dn.exact="$LIMITED_DN" write by * break
olcAccess: {2}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {3}to * by * read
EOF
        cat > "$D/seed.ldif" <<EOF
dn: $SUFFIX
objectClass: top
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: ou=People,$SUFFIX
objectClass: top
objectClass: organizationalUnit
ou: People

dn: $LIMITED_DN
objectClass: top
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: limited
description: limited admin: may write $SUFFIX, no rights on cn=config
userPassword: $hash
EOF
    )
    if [ "${SLAPD_STOCK:-0}" = 1 ]; then
        stock_config
    fi
    if ! slapadd -n0 -F "$CONFDIR" -l "$D/config.ldif" > "$D/slapadd.log" 2>&1; then
        echo "$PROG: ERROR: slapadd -n0 failed; $D/slapadd.log:" >&2
        tail -n 25 "$D/slapadd.log" >&2
        exit 1
    fi
    if [ "${SLAPD_EMPTY_DB:-0}" = 1 ]; then
        : > "$D/seed.ldif"
    elif ! slapadd -n1 -F "$CONFDIR" -l "$D/seed.ldif" >> "$D/slapadd.log" 2>&1; then
        echo "$PROG: ERROR: slapadd -n1 failed; $D/slapadd.log:" >&2
        tail -n 25 "$D/slapadd.log" >&2
        exit 1
    fi
    rm -f "$D/config.ldif" "$D/seed.ldif"   # they hold password hashes
    [ -d "$CONFDIR/cn=config" ] || die "slapadd did not create $CONFDIR/cn=config (see $D/slapadd.log)"
}

# stock_config: replace config.ldif and seed.ldif by Debian's own slapd.init.ldif
# (paths moved into $D, the TLS settings appended to cn=config) and the suffix entry.
stock_config() {
    local init=/usr/share/slapd/slapd.init.ldif
    [ -r "$init" ] || die "$init not found (is slapd installed?)"
    (
        umask 077
        sed -e "s#@SUFFIX@#$SUFFIX#g" -e "s#@PASSWORD@#$hash#g" -e "s#/var/lib/ldap#$D/data#" \
            -e "s#/var/run/slapd/slapd.pid#$PIDFILE#" -e "s#/var/run/slapd/slapd.args#$D/run/slapd.args#" "$init" \
            | TLS_LDIF="$tls_ldif" awk '{ print } /^olcToolThreads:/ && ENVIRON["TLS_LDIF"] != "" { print ENVIRON["TLS_LDIF"] }' \
            > "$D/config.ldif"
        printf 'dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n' \
            "$SUFFIX" > "$D/seed.ldif"
    )
}

start_instance() {
    local pid="" bgpid bgrc deadline loglines
    loglines=0; [ ! -f "$LOG" ] || loglines=$(wc -l < "$LOG")
    # the pidfile and socket of a dead slapd (checked by the caller) would be
    # misleading / make the bind of the new socket fail
    rm -f "$PIDFILE" "$SOCK"
    # -d keeps slapd in the foreground (no fork) even at level 0; setsid + &
    # detach it from the caller's session. No -u/-g: it runs as the caller.
    local urls="ldap://127.0.0.1:$PORT/ $(ldapi_url)"
    [ -z "$LDAPS_PORT" ] || urls="$urls ldaps://127.0.0.1:$LDAPS_PORT/"
    setsid slapd -d "$DEBUG" -h "$urls" -F "$CONFDIR" \
        </dev/null >>"$LOG" 2>&1 &
    bgpid=$!
    deadline=$(deadline_after "$START_TIMEOUT")
    while :; do
        [ -n "$pid" ] || pid=$(our_pid || true)
        if [ -n "$pid" ] && ldap_answers "ldap://127.0.0.1:$PORT/" namingContexts; then
            break
        fi
        if [ -n "$bgpid" ] && ! kill -0 "$bgpid" 2>/dev/null; then
            bgrc=0
            wait "$bgpid" || bgrc=$?
            bgpid=""
            # rc 0 would be setsid having forked (it does so only as a process
            # group leader): slapd may still be coming up, keep polling
            if [ $bgrc -ne 0 ]; then
                start_failed "slapd exited during start-up (rc $bgrc)" "$LOG" "$loglines"
            fi
        fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            start_failed "slapd (pid $pid) exited during start-up" "$LOG" "$loglines"
        fi
        fail_start_after "$deadline" "$LOG" "$loglines" "$pid"
        sleep 0.05
    done
    PID=$pid
}

cmd_up() {
    parse_up_args "$@"
    need slapd slapadd slappasswd ldapsearch setsid
    enter_datadir "$2"
    case "$D" in *[[:space:]\"\\]*) die "DATADIR must not contain spaces, quotes or backslashes: $D" ;; esac
    set_paths
    # sun_path holds 108 bytes including the terminating NUL
    [ ${#SOCK} -le 107 ] || die "LDAPI socket path too long (${#SOCK} > 107): $SOCK; use a shorter DATADIR"

    PW=${SLAPD_ADMIN_PASSWORD:-Secret123!}
    DEBUG=${SLAPD_DEBUG:-none}
    START_TIMEOUT=${SLAPD_START_TIMEOUT:-30}
    case "$START_TIMEOUT" in '' | *[!0-9]*) die "SLAPD_START_TIMEOUT must be whole seconds" ;; esac
    read_tls_opt_in SLAPD

    local t0 created=0 already=0 t_create=""
    t0=$(now)
    if [ -f "$D/$MARKER" ]; then
        [ -d "$CONFDIR/cn=config" ] || die "$D holds an incomplete instance (no $CONFDIR/cn=config); purge it: $PROG down $D --purge"
    else
        [ -z "$(ls -A "$D")" ] || die "$D is not empty and holds no instance made by $PROG"
    fi

    LDAPS_PORT=""
    [ ! -f "$D/tls/port" ] || LDAPS_PORT=$(cat "$D/tls/port")
    if p=$(our_pid); then
        PID=$p
        already=1
    else
        port_open "$PORT" && die "something already listens on 127.0.0.1:$PORT"
        if [ ! -f "$D/$MARKER" ]; then
            [ -z "$TLS_PORT" ] || ! port_open "$TLS_PORT" || die "something already listens on 127.0.0.1:$TLS_PORT"
            : > "$D/$MARKER"
            create_instance
            created=1
            t_create=$(since "$t0")
            LDAPS_PORT=$TLS_PORT
        fi
        [ -z "$LDAPS_PORT" ] || ! port_open "$LDAPS_PORT" || die "something already listens on 127.0.0.1:$LDAPS_PORT"
        start_instance
    fi

    write_private "$D/connection.env" <<EOF
LDAP_URL=ldap://127.0.0.1:$PORT
LDAP_HOST=127.0.0.1
LDAP_PORT=$PORT
LDAP_BIND_DN='$ADMIN_DN'
LDAP_BIND_PW='$(printf '%s' "$PW" | sed "s/'/'\\\\''/g")'
LDAP_CONFIG_BIND_DN='cn=admin,cn=config'
LDAP_LIMITED_DN='$LIMITED_DN'
LDAP_SUFFIXES='$SUFFIX'
LDAPI_URL=$(ldapi_url)
SLAPD_ACCESSLOG_DIR=$D/accesslog
SLAPD_PID=$PID
SLAPD_PIDFILE=$PIDFILE${LDAPS_PORT:+
LDAPS_URL=ldaps://127.0.0.1:$LDAPS_PORT
LDAPS_PORT=$LDAPS_PORT}
EOF
    report_up slapd "$already" "$created" "$t_create" "$t0"
}

# ------------------------------------------------------------------- down

cmd_down() {
    parse_down_args slapd "$@" || return 0
    set_paths
    local stop_timeout=${SLAPD_STOP_TIMEOUT:-30}
    case "$stop_timeout" in '' | *[!0-9]*) die "SLAPD_STOP_TIMEOUT must be whole seconds" ;; esac

    if [ -f "$D/$MARKER" ]; then
        local pid t0
        if pid=$(our_pid); then
            t0=$(now)
            stop_pid "$pid" "$stop_timeout" slapd
            rm -f "$PIDFILE" "$SOCK"
            echo "slapd (pid $pid) stopped in $(since "$t0")s"
        else
            rm -f "$PIDFILE"   # stale, if any
            echo "slapd in $D is not running"
        fi
    else
        refuse_foreign_datadir
    fi

    [ "$PURGE" = 0 ] || purge_datadir
}

# ------------------------------------------------------------------- main

dispatch "$@"
