#!/usr/bin/env bash
# The quota benchmark of BENCHMARKS.md ("Broadcast at the account's quota"):
# lambdaws Broadcast with pacing, the same without it (as before
# pacing) and the AWS JS SDK v3 Promise.all pattern, each in its own process,
# against one HTTPS stand-in enforcing a token bucket (429 when empty) with
# 10 ms per call; then 20,000 ids split over P = 4 and 8 lambdaws processes
# broadcasting at once (one pacer each, as P Lambda execution environments;
# Concurrency 128 each, and 32, which is enough for 2,000/P calls a second);
# then one broadcast of 1,000,000 streamed ids at 10,000 rps.
# Prints Markdown tables. Needs tools/node_modules (scripts/deps.sh).
#
#   scripts/bench-quota.sh            all three parts
#   scripts/bench-quota.sh [peerbench flags]   one run with these flags
set -euo pipefail
cd "$(dirname "$0")/.."

load() { echo "# $(date -u +%FT%TZ), $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
go build -o /tmp/peerbench-$$ ./internal/peerbench
trap 'rm -f /tmp/peerbench-$$' EXIT
if [ $# -gt 0 ]; then
  load; /tmp/peerbench-$$ "$@"; exit
fi
load
/tmp/peerbench-$$ -quota 2000/1000:20000,10000/5000:50000 -clients lambdaws,lambdaws-nopacing,js-sdk-v3 \
  -latency 10ms -concurrency 128
load
/tmp/peerbench-$$ -quota 2000/1000:20000 -clients lambdaws -procs 4,8 -latency 10ms -concurrency 128
/tmp/peerbench-$$ -quota 2000/1000:20000 -clients lambdaws -procs 8 -latency 10ms -concurrency 32
load
/tmp/peerbench-$$ -quota 10000/5000:1000000 -clients lambdaws -latency 10ms -concurrency 128
load
