#!/bin/sh
# Installs the Debian packages the build, the service and the tests need,
# only those missing; quiet when nothing is. Non-interactive and idempotent.
#   scripts/install-deps.sh [run|test|bench]
set -eu

RUN_PKGS="build-essential cmake pkg-config libzmq3-dev libczmq-dev libcivetweb-dev
libvips-dev libvips-tools libjansson-dev libsqlite3-dev libpq-dev libssl-dev zlib1g-dev
libcurl4-openssl-dev libxxhash-dev libcmocka-dev curl"
TEST_PKGS="python3 python3-zmq python3-jsonschema python3-yaml clang clang-format libclang-rt-14-dev
git chromium libjxl-testdata mate-backgrounds gdk-pixbuf-tests shellcheck postgresql prometheus
haproxy iproute2 podman buildah debootstrap docker-compose runc uidmap netavark aardvark-dns iptables"
BENCH_PKGS="python3 python3-pil hyperfine wrk linux-perf mate-backgrounds"

case "${1:-run}" in
  test) want="$RUN_PKGS $TEST_PKGS" ;;
  bench) want="$RUN_PKGS $BENCH_PKGS" ;;
  *) want=$RUN_PKGS ;;
esac

missing=""
for p in $want; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done
# Node.js (npm installs the docs page's Swagger UI) may come from Debian or
# elsewhere: only ask for it when absent.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "missing Debian packages:$missing" >&2
    echo "install them as root: apt-get install$missing" >&2
    exit 1
  fi
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
