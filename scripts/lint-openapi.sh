#!/bin/sh
# Lints docs/openapi.json with Redocly's recommended ruleset (docs/redocly.yaml).
# Installs the docs tools from docs/package-lock.json first when they are
# missing. Exits non-zero on any lint error.
#   scripts/lint-openapi.sh
set -eu

cd "$(dirname "$0")/.."

# No telemetry or update checks: the lint must work without internet.
export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export SCARF_ANALYTICS=false

if [ ! -x docs/node_modules/.bin/redocly ]; then
  npm ci --prefix docs --no-audit --no-fund --ignore-scripts
fi

npx --prefix docs --no-install redocly lint docs/openapi.json \
  --config docs/redocly.yaml --format stylish
