#!/usr/bin/env bash
# Installs what the integration tests need, when it is missing:
#   - npm packages from tools/package-lock.json (dynalite, a DynamoDB API server);
#   - Debian packages: pushpin (GRIP proxy) and chromium (browser check of the chat page).
# The tests start and stop these programs themselves (see internal/testenv).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f tools/package-lock.json ] && [ ! -d tools/node_modules ]; then
  npm ci --prefix tools --no-audit --no-fund
fi

missing=()
for pkg in pushpin chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
