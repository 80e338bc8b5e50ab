#!/usr/bin/env bash
# The project's test command (npm test): unit tests plus integration tests
# against real, throw-away LDAP servers on 127.0.0.1, on every supported Node.
#
#   1. makes sure the server binaries are installed (apt-get as root; otherwise
#      prints the command and exits 1)
#   2. npm ci if node_modules is missing, npm run build (once, with the machine's Node)
#   3. for each Node major in PES_TEST_NODES (default "20 22 24"): gets that Node
#      (the machine's own, or the npm registry's `node` package installed into
#      .cache/node/<major> by scripts/node-for.sh) and runs node --test with it,
#      one file at a time, one Node after the other (the Samba AD tests use the
#      fixed ports 389/636, so runs never overlap)
#   4. prints a line per Node, then "N passed, N failed" over all of them; exits
#      non-zero if the build failed, a Node could not be had, a runner failed,
#      any test failed on any Node, or no test ran at all.
#
# What runs on which Node (see the README, "Supported Node.js versions"): the whole
# suite on the first Node of the list; on the others the unit tests and the
# integration files whose behaviour depends on the runtime (TLS and PKCS#12, prompts
# and signals, sockets, files and permissions, the installed package). PES_TEST_SCOPE=full
# runs the whole suite on every Node.
#
# Extra arguments are passed to node --test (e.g. --test-name-pattern=restart).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd -P)

# samba samba-ad-dc samba-ad-provision: the Samba AD DC of test/servers/samba.sh (provisioning needs all three)
# ansible-core: ansible-playbook and ansible-doc for test/integration/ansible.test.ts (the bench's hand-written
# playbook also needs Debian's ansible and python3-ldap: bench/ansible.mjs installs those itself)
APT_PKGS="389-ds-base python3-lib389 ldap-utils slapd samba samba-ad-dc samba-ad-provision ansible-core"
APT_LINE="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $APT_PKGS"

need_bins() {
    local b missing=()
    for b in dscreate ns-slapd ldapsearch ldapmodify slapd samba samba-tool ansible-playbook ansible-doc; do
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

NODES=${PES_TEST_NODES:-20 22 24}
SCOPE=${PES_TEST_SCOPE:-runtime}
# Integration files whose behaviour depends on the runtime (node:tls, node:crypto for PKCS#12, readline and
# TTYs for prompts, signals, node:net, node:fs permissions, npm and the installed package); the others drive
# the same JavaScript against the servers' own behaviour.
RUNTIME_FILES="tls matrix-process matrix-args matrix-network scripting package"

all_files=(dist/test/unit/*.test.js dist/test/integration/*.test.js)
runtime_files=(dist/test/unit/*.test.js)
for name in $RUNTIME_FILES; do
    [ -f "dist/test/integration/$name.test.js" ] && runtime_files+=("dist/test/integration/$name.test.js")
done

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/pes-test.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT

# The runner's own summary ("ℹ pass 4", or "# pass 4" with the tap reporter).
summary() {
    sed -e 's/\x1b\[[0-9;]*m//g' "$1" |
        awk -v k="$2" '($1 == "ℹ" || $1 == "#") && $2 == k && $3 ~ /^[0-9]+$/ { v = $3 } END { print v + 0 }'
}

t_all=$(date +%s)
total_tests=0 total_passed=0 total_failed=0 total_skipped=0
status=0
per_node=()
first=1
for major in $NODES; do
    if ! node_bin=$(bash scripts/node-for.sh "$major"); then
        per_node+=("Node $major: not run (it could not be installed)")
        echo "test/run.sh: FAILED: Node $major could not be installed" >&2
        status=1
        continue
    fi
    node_version=$("$node_bin" --version)
    if [ "$first" = 1 ] || [ "$SCOPE" = full ]; then files=("${all_files[@]}"); scope="whole suite"; else files=("${runtime_files[@]}"); scope="unit + runtime-dependent integration"; fi
    first=0
    if [ ! -e "${files[0]}" ]; then
        echo "test/run.sh: no compiled tests (dist/test/unit, dist/test/integration)" >&2
        per_node+=("Node ${node_version#v}: no tests")
        status=1
        continue
    fi
    echo
    echo "== Node ${node_version#v} ($node_bin): $scope, ${#files[@]} files"
    log="$LOGDIR/node-$major.log"
    t0=$(date +%s)
    # NO_COLOR: keeps the CLI's and the spec reporter's output plain in logs. PATH: `node` and npm's
    # scripts in the tests run on this Node too. XDG_CACHE_HOME: the CLI's compile cache (Node 22+) starts
    # empty in this run's folder, not in the user's ~/.cache.
    PATH="$(dirname "$node_bin"):$PATH" XDG_CACHE_HOME="$LOGDIR/cache-$major" NO_COLOR=1 "$node_bin" --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}" 2>&1 | tee "$log"
    runner_rc=${PIPESTATUS[0]}
    elapsed=$(( $(date +%s) - t0 ))
    tests=$(summary "$log" tests)
    passed=$(summary "$log" pass)
    failed=$(( $(summary "$log" fail) + $(summary "$log" cancelled) ))
    skipped=$(summary "$log" skipped)
    per_node+=("Node ${node_version#v}: $passed passed, $failed failed, $skipped skipped in ${elapsed}s ($scope)")
    total_tests=$(( total_tests + tests )); total_passed=$(( total_passed + passed ))
    total_failed=$(( total_failed + failed )); total_skipped=$(( total_skipped + skipped ))
    if [ "$runner_rc" != 0 ]; then
        echo "test/run.sh: FAILED: node --test on Node ${node_version#v} exited with status $runner_rc" >&2; status=1
    fi
    if [ "$failed" -gt 0 ]; then
        echo "test/run.sh: FAILED: $failed test(s) failed on Node ${node_version#v}" >&2; status=1
    fi
    if [ "$tests" -eq 0 ]; then
        echo "test/run.sh: FAILED: no tests ran on Node ${node_version#v}" >&2; status=1
    fi
done
elapsed=$(( $(date +%s) - t_all ))

echo
printf '%s\n' "${per_node[@]}"
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
if [ "$build_ok" != 1 ]; then
    echo "test/run.sh: FAILED: the build (tsc) reported errors" >&2; status=1
fi
if [ "$total_tests" -eq 0 ]; then
    echo "test/run.sh: FAILED: no tests ran" >&2; status=1
fi
echo "test/run.sh: tests took ${elapsed}s on Node(s) $NODES" >&2
exit $status
