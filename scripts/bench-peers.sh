#!/usr/bin/env bash
# The side-by-side benchmark of BENCHMARKS.md ("Broadcast against the peers"):
# the same N PostToConnection calls to one local HTTPS stand-in for the
# management API (a separate process with a fixed latency per call) through
# lambdaws Broadcast (direct and over the SDK client), the AWS JS SDK v3
# Promise.all pattern and a sequential boto3 loop, each in its own process.
# Prints a Markdown table. Needs tools/node_modules (scripts/deps.sh) and
# Debian's python3-boto3, installed here when missing (only this benchmark
# uses it).
#
#   scripts/bench-peers.sh [peerbench flags]   default: -n 1000,10000 -latency 0,10ms
#   BEFORE=<commit> scripts/bench-peers.sh ...  also runs lambdaws as of <commit>
#                                               (built from `git archive`), side by side
set -euo pipefail
cd "$(dirname "$0")/.."

if ! /usr/bin/python3 -c 'import boto3' >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-boto3
fi

before=()
if [ -n "${BEFORE:-}" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  git archive "$BEFORE" | tar -x -C "$tmp"
  (cd "$tmp" && go build -o "$tmp/peerbench-before" ./internal/peerbench)
  before=(-before "$tmp/peerbench-before")
  echo "# before: $(git log -1 --format='%h %s' "$BEFORE" | cut -c1-100)"
fi

echo "# $(date -u +%FT%TZ), $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go run ./internal/peerbench "${before[@]}" "$@"
