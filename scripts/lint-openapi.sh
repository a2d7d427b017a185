#!/bin/sh
# Lints the OpenAPI document img-rest serves, with Redocly's recommended
# ruleset (docs/redocly.yaml): builds it with `img-rest --print-openapi` from
# docs/openapi.base.json and the operation catalogue (a temporary config whose
# docs_dir is docs/, no IMG_* variable of the caller's environment), then
# lints it. Fails on any error or warning. Installs the docs tools from
# docs/package-lock.json first when they are missing.
#   scripts/lint-openapi.sh [path/to/img-rest]
# The binary: the argument, else $IMG_REST_BIN, else build/img-rest/img-rest.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
bin=${1:-${IMG_REST_BIN:-$root/build/img-rest/img-rest}}
if [ ! -x "$bin" ]; then
  echo "lint-openapi: no img-rest binary at $bin (build it, or pass its path)" >&2
  exit 2
fi

# No telemetry or update checks: the lint must work without internet.
export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export SCARF_ANALYTICS=false

if [ ! -x docs/node_modules/.bin/redocly ]; then
  npm ci --prefix docs --no-audit --no-fund --ignore-scripts
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'docs_dir = %s/docs\n' "$root" >"$tmp/img.conf"
# the document of the default configuration: drop the caller's IMG_* settings
unset_img=$(env | sed -n 's/^\(IMG_[A-Za-z0-9_]*\)=.*/-u \1/p' | tr '\n' ' ')
# shellcheck disable=SC2086 # one word per -u option
env $unset_img "$bin" --print-openapi -c "$tmp/img.conf" >"$tmp/openapi.json"

npx --prefix docs --no-install redocly lint "$tmp/openapi.json" \
  --config docs/redocly.yaml --format stylish 2>&1 | tee "$tmp/lint.txt"
# redocly fails on errors only (set -e and the pipe would hide it: check both)
if grep -Eq '^ +[0-9]+:[0-9]+ +(error|warning) ' "$tmp/lint.txt" ||
  ! grep -q 'Your API description is valid' "$tmp/lint.txt"; then
  echo "lint-openapi: the document has errors or warnings" >&2
  exit 1
fi
