#!/usr/bin/env bash
# Installs what the integration tests need, when it is missing:
#   - Debian packages: pushpin (GRIP proxy), chromium (browser check of the chat
#     page), and nodejs + npm when there is no node;
#   - npm packages from tools/package-lock.json (dynalite, a DynamoDB API server)
#     and integration/testdata/cdkapp/package-lock.json (the AWS CDK, for the
#     CDK app the integration tests synthesize), again whenever a lock file is
#     newer than its node_modules.
# The tests start and stop these programs themselves (see internal/testenv).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in pushpin chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for dir in tools integration/testdata/cdkapp; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund
  fi
done

# The modules of the integration tests' fixture functions that have their own
# (aws-sdk-go v1 is a 35 MB download), so that lambdaws local's build of them
# within a test needs no network.
for mod in integration/testdata/*/go.mod; do
  (cd "$(dirname "$mod")" && go mod download)
done
