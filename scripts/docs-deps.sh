#!/bin/bash
# Installs the docs page's and the tests' npm packages (Swagger UI, the
# OpenAPI linter, the browser driver) from docs/package-lock.json, once.
set -eu
cd "$(dirname "$0")/../docs"
[ -f package-lock.json ] || exit 0
if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: the docs page will have no Swagger UI (scripts/install-deps.sh test installs it)" >&2
  exit 0
fi
# --ignore-scripts: no install scripts run (one would report the install over the network)
SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
