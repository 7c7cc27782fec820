#!/usr/bin/env bash
# Installs what the integration tests need, when it is missing:
#   - Debian packages: pushpin (GRIP proxy), chromium (browser check of the chat
#     page), python3-boto3 (boto3 for Python functions, which Lambda's runtime
#     provides), and nodejs + npm when there is no node;
#   - npm packages from tools/package-lock.json (dynalite, a DynamoDB API server)
#     and integration/testdata/cdkapp/package-lock.json (the AWS CDK, for the
#     CDK app the integration tests synthesize), again whenever a lock file is
#     newer than what npm last installed from it.
# The tests start and stop these programs themselves (see internal/testenv).
# Each install prints one line; its own output only if it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# quietly WHAT CMD...: says "installing WHAT", runs CMD with its output in a
# temporary file, and prints that output only if CMD fails.
quietly() {
  local what=$1 log status=0
  shift
  echo "deps: installing $what"
  log=$(mktemp)
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    echo "deps: installing $what failed (exit status $status)" >&2
  fi
  rm -f "$log"
  return "$status"
}

missing=()
for pkg in pushpin chromium python3-boto3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  quietly "the package lists (apt-get update)" $sudo apt-get update -qq
  quietly "${missing[*]} (apt-get)" env DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for dir in tools integration/testdata/cdkapp; do
  # npm writes node_modules/.package-lock.json last: without it, or older
  # than the lock file, the install is missing, partial or stale.
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    quietly "$dir/node_modules (npm ci)" npm ci --prefix "$dir" --no-audit --no-fund
  fi
done

# The modules of the integration tests' fixture functions that have their own
# (aws-sdk-go v1 is a 35 MB download), so that lambdaws local's build of them
# within a test needs no network.
for mod in integration/testdata/*/go.mod; do
  dir=$(dirname "$mod")
  (cd "$dir" && go mod download -json >/dev/null 2>&1) ||
    (cd "$dir" && quietly "the Go modules of $dir" go mod download)
done
