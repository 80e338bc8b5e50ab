# Shared by the throw-away server scripts (389ds.sh, slapd.sh, samba.sh and
# ../emulators/pingdirectory/emulator.sh); sourced, never run. The caller sets
# PROG before sourcing, and for `need`/`usage` also NEED_PACKAGES and UP_ARGS.
#
# Every process is found again by the PID in its pidfile, checked against
# /proc by the caller's own test, and stopped by that PID: never by name, so a
# test can never stop a server it did not start.

die() { echo "$PROG: ERROR: $*" >&2; exit 1; }

usage() {
    echo "usage: $PROG up $UP_ARGS" >&2
    echo "       $PROG down DATADIR [--purge]" >&2
    exit 2
}

# dispatch "$@": the scripts' common command line, `up ...` or `down ...`
dispatch() {
    [ $# -ge 1 ] || usage
    local cmd=$1
    shift
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        *) usage ;;
    esac
}

# ------------------------------------------------------------------ timing

now() { date +%s.%N; }

# since T0 [DECIMALS]: seconds elapsed since T0 (a `now` value)
since() { awk -v a="$1" -v b="$(now)" -v d="${2:-2}" 'BEGIN { printf "%.*f", d, b - a }'; }

# deadline_after SECONDS: the epoch second at which a wait of SECONDS (maybe
# fractional) from now ends, for comparing with `date +%s`
deadline_after() { awk -v n="$(now)" -v t="$1" 'BEGIN { printf "%.0f", n + t }'; }

# --------------------------------------------------------------- checks

# need CMD...: dies naming every missing command and the packages to install
need() {
    local c missing=()
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
    [ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (apt-get install --no-install-recommends $NEED_PACKAGES)"
}

# require_port NAME VALUE [OTHER]: dies unless VALUE is an unprivileged port
# (1024..65535) that differs from OTHER; NAME is how the user set it
require_port() {
    local name=$1 value=$2 other=${3:-}
    case "$value" in '' | *[!0-9]*) die "$name must be a number, got '$value'" ;; esac
    if [ -z "$other" ]; then
        [ "$value" -ge 1024 ] && [ "$value" -le 65535 ] || die "$name must be in 1024..65535, got $value"
    else
        [ "$value" -ge 1024 ] && [ "$value" -le 65535 ] && [ "$value" != "$other" ] \
            || die "$name must be in 1024..65535 and differ from PORT, got $value"
    fi
}

# read_tls_opt_in PREFIX: TLS is opt-in through PREFIX_TLS_CERT, _KEY, _CA and
# _PORT, all four or none. Sets TLS_PORT (empty: no TLS); dies on a partial or
# unreadable set. PORT must be set (the LDAPS port must differ from it).
read_tls_opt_in() {
    local port_var="${1}_TLS_PORT" cert_var="${1}_TLS_CERT" key_var="${1}_TLS_KEY" ca_var="${1}_TLS_CA" f
    TLS_PORT=${!port_var:-}
    if [ -n "$TLS_PORT" ] || [ -n "${!cert_var:-}${!key_var:-}${!ca_var:-}" ]; then
        require_port "$port_var" "$TLS_PORT" "$PORT"
        for f in "$cert_var" "$key_var" "$ca_var"; do
            [ -n "${!f:-}" ] && [ -r "${!f}" ] || die "$f must name a readable file when TLS is wanted"
        done
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ldap_answers URL ATTR: the server at URL answers a root DSE read
ldap_answers() {
    ldapsearch -x -H "$1" -o nettimeout=2 -l 2 -s base -b "" -LLL "(objectClass=*)" "$2" >/dev/null 2>&1
}

# ------------------------------------------------------------ processes

# pidfile_pid FILE: print the PID in FILE if a process with that PID exists.
# Whether it is ours is the caller's check (argv, executable or open files).
pidfile_pid() {
    local p
    [ -s "$1" ] || return 1
    p=$(head -n1 "$1" 2>/dev/null) || return 1
    case "$p" in '' | *[!0-9]*) return 1 ;; esac
    [ -r "/proc/$p/cmdline" ] || return 1
    echo "$p"
}

# stop_pid PID TIMEOUT WHAT: SIGTERM, then SIGKILL if PID still runs after
# TIMEOUT seconds; dies if even that leaves it alive after 5 more seconds.
# Sets STOP_KILLED=1 when SIGKILL was needed (a killed server cleans nothing).
stop_pid() {
    local pid=$1 timeout=$2 what=$3 deadline i
    STOP_KILLED=0
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(( $(date +%s) + timeout ))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "$PROG: $what pid $pid still running after ${timeout}s, sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            STOP_KILLED=1
            for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            break
        fi
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then die "$what pid $pid would not die"; fi
}

# start_failed WHY LOG FROM_LINE [PID]: a server did not come up: says WHY with
# the end of what it logged after line FROM_LINE of LOG, stops PID, exits 1
start_failed() {
    local why=$1 log=$2 from=$3 pid=${4:-}
    echo "$PROG: ERROR: $why; end of $log:" >&2
    tail -n +"$((from + 1))" "$log" 2>/dev/null | tail -n 20 >&2 || true
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    exit 1
}

# fail_start_after DEADLINE LOG FROM [PID]: start_failed (no LDAP answer on
# $PORT within $START_TIMEOUT) once the clock has passed DEADLINE
fail_start_after() {
    [ "$(date +%s)" -ge "$1" ] || return 0
    start_failed "no LDAP answer on 127.0.0.1:$PORT after ${START_TIMEOUT}s" "$2" "$3" "${4:-}"
}

# parse_up_args PORT DATADIR: the arguments of `up`; sets PORT once it is a valid port
parse_up_args() {
    [ $# -eq 2 ] || usage
    PORT=$1
    require_port PORT "$PORT"
}

# ------------------------------------------------------------ data dirs

# enter_datadir DIR: create DIR if needed and set D to its physical path
# (symlinks resolved: the scripts compare it with paths the servers report)
enter_datadir() {
    mkdir -p -- "$1" || die "cannot create $1"
    D=$(cd -- "$1" && pwd -P)
}

# parse_down_args WHAT DATADIR [--purge]: sets D and PURGE (0/1); returns 1,
# after saying so, when DATADIR does not exist (nothing to stop or purge)
parse_down_args() {
    local what=$1
    shift
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    PURGE=0
    if [ $# -eq 2 ]; then
        [ "$2" = "--purge" ] || usage
        PURGE=1
    fi
    if [ ! -e "$1" ]; then
        echo "$what: $1 does not exist, nothing to stop"
        return 1
    fi
    [ -d "$1" ] || die "$1 is not a directory"
    D=$(cd -- "$1" && pwd -P)
}

# refuse_foreign_datadir: for `down` when $D has no marker of this script: an
# empty directory is fine (nothing to stop), anything else is not ours
refuse_foreign_datadir() {
    [ -n "$(ls -A "$D")" ] || return 0
    [ "$PURGE" = 0 ] || die "refusing to purge $D: it is not a data directory made by $PROG"
    die "$D holds no instance made by $PROG"
}

# purge_datadir: rm -rf $D, which must look like a throw-away directory (the
# caller has checked it is ours): never a system directory, never $HOME
purge_datadir() {
    case "$D" in
        / | /tmp | /var/tmp | /root | /home | /etc | /etc/* | /usr | /usr/* | /var | /var/lib | /opt | /srv | /boot | /dev | /dev/* | /proc | /proc/* | /sys | /sys/*)
            die "refusing to purge $D" ;;
    esac
    # at least two path components (e.g. /tmp/x)
    case "$D" in /*/*) ;; *) die "refusing to purge $D" ;; esac
    [ "$D" != "$(cd ~ 2>/dev/null && pwd -P)" ] || die "refusing to purge the home directory $D"
    [ "$D" != "$(pwd -P)" ] || cd /
    rm -rf -- "$D"
    echo "removed $D"
}

# write_private FILE: stdin to FILE, readable by the owner only (it may hold a password)
write_private() { ( umask 077; cat > "$1" ); }

# report_up WHAT ALREADY CREATED T_CREATE T0: the one line `up` prints
report_up() {
    local what=$1 already=$2 created=$3 t_create=$4 t0=$5
    if [ "$already" = 1 ]; then
        echo "$what already running: pid $PID, ldap://127.0.0.1:$PORT, data $D"
    elif [ "$created" = 1 ]; then
        echo "$what created (${t_create}s) and started in $(since "$t0")s: pid $PID, ldap://127.0.0.1:$PORT, data $D"
    else
        echo "$what started in $(since "$t0")s: pid $PID, ldap://127.0.0.1:$PORT, data $D"
    fi
}
