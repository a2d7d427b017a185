#!/bin/sh
# docker-compose on a machine with podman and no image registry (Debian 12,
# as root): installs the docs page's Swagger UI on the host
# (scripts/docs-deps.sh), makes the debian:12 base image
# (scripts/container-base.sh), starts a podman API service for the length of
# the command, runs docker-compose with the arguments given, and stops the
# service again. The containers keep running without it.
#   scripts/compose.sh up -d --build                       img-rest + img-engine
#   scripts/compose.sh --profile scale up -d --build haproxy   the scale profile
#   scripts/compose.sh ps | logs | down -v ...
# Images, volumes and networks live in podman's store under
# ${IMG_CONTAINERS_DIR:-build/containers}; to use `podman` on them directly:
#   . scripts/containers-lib.sh && ctr_env build/containers && podman ps
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/docs-deps.sh
scripts/container-base.sh >/dev/null
# shellcheck source=/dev/null # scripts/containers-lib.sh, checked on its own
. "$here/scripts/containers-lib.sh"
ctr_env "${IMG_CONTAINERS_DIR:-$here/build/containers}"
ctr_service_start
trap ctr_service_stop EXIT
trap 'exit 130' INT TERM
docker-compose "$@"
