#!/usr/bin/env bash
# The project's test command (npm test): unit tests plus integration tests
# against real, throw-away LDAP servers on 127.0.0.1.
#
#   1. makes sure the server binaries are installed (apt-get as root; otherwise
#      prints the command and exits 1)
#   2. npm ci if node_modules is missing, npm run build
#   3. node --test over dist/test/unit/ and dist/test/integration/, one file at a time
#   4. prints "N passed, N failed"; exits non-zero if the build failed, the
#      runner failed, any test failed, or no test ran at all.
#
# Extra arguments are passed to node --test (e.g. --test-name-pattern=restart).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd -P)

# samba samba-ad-dc samba-ad-provision: the Samba AD DC of test/servers/samba.sh (provisioning needs all three)
APT_PKGS="389-ds-base python3-lib389 ldap-utils slapd samba samba-ad-dc samba-ad-provision"
APT_LINE="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $APT_PKGS"

need_bins() {
    local b missing=()
    for b in dscreate ns-slapd ldapsearch ldapmodify slapd samba samba-tool; do
        # ns-slapd and slapd live in /usr/sbin, which a non-root PATH may lack
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=("$b")
    done
    printf '%s\n' "${missing[@]}"
}

missing=$(need_bins)
if [ -n "$missing" ]; then
    echo "test/run.sh: missing server binaries: $(echo $missing)" >&2
    if [ "$(id -u)" -eq 0 ]; then
        echo "test/run.sh: installing: $APT_LINE" >&2
        if ! bash -c "$APT_LINE"; then
            echo "test/run.sh: package installation failed" >&2
            exit 1
        fi
        missing=$(need_bins)
        if [ -n "$missing" ]; then
            echo "test/run.sh: still missing after installation: $(echo $missing)" >&2
            exit 1
        fi
    else
        echo "Install them with:" >&2
        echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $APT_PKGS" >&2
        exit 1
    fi
fi
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
export PATH

if [ ! -d node_modules ]; then
    echo "test/run.sh: node_modules missing, running npm ci" >&2
    npm ci || { echo "test/run.sh: npm ci failed" >&2; exit 1; }
fi

build_ok=1
if ! npm run build; then
    build_ok=0
    echo "test/run.sh: BUILD FAILED (tests still run on whatever was emitted; the run fails)" >&2
fi

dirs=()
for d in dist/test/unit dist/test/integration; do
    [ -d "$d" ] && dirs+=("$d/")
done

LOG=$(mktemp "${TMPDIR:-/tmp}/pes-test.XXXXXX")
trap 'rm -f "$LOG"' EXIT

t0=$(date +%s)
runner_rc=0
if [ ${#dirs[@]} -gt 0 ]; then
    # NO_COLOR: keeps the CLI's and the spec reporter's output plain in logs
    NO_COLOR=1 node --test --test-concurrency=1 --test-reporter=spec "$@" "${dirs[@]}" 2>&1 | tee "$LOG"
    runner_rc=${PIPESTATUS[0]}
else
    echo "test/run.sh: no compiled test directories (dist/test/unit, dist/test/integration)" >&2
fi
elapsed=$(( $(date +%s) - t0 ))

# The runner's own summary ("ℹ pass 4", or "# pass 4" with the tap reporter).
summary() {
    sed -e 's/\x1b\[[0-9;]*m//g' "$LOG" |
        awk -v k="$1" '($1 == "ℹ" || $1 == "#") && $2 == k && $3 ~ /^[0-9]+$/ { v = $3 } END { print v + 0 }'
}
tests=$(summary tests)
passed=$(summary pass)
failed=$(summary fail)
cancelled=$(summary cancelled)
failed=$(( failed + cancelled ))

echo
echo "$passed passed, $failed failed"
status=0
if [ "$build_ok" != 1 ]; then
    echo "test/run.sh: FAILED: the build (tsc) reported errors" >&2; status=1
fi
if [ "$runner_rc" != 0 ]; then
    echo "test/run.sh: FAILED: node --test exited with status $runner_rc" >&2; status=1
fi
if [ "$failed" -gt 0 ]; then
    echo "test/run.sh: FAILED: $failed test(s) failed" >&2; status=1
fi
if [ "$tests" -eq 0 ]; then
    echo "test/run.sh: FAILED: no tests ran" >&2; status=1
fi
echo "test/run.sh: tests took ${elapsed}s" >&2
exit $status
