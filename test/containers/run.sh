#!/bin/bash
# The containers, really built and run (CTest: containers.compose).
#
#  1. makes or reuses the debian:12 base image (scripts/container-base.sh)
#     and the docs page's Swagger UI on the host (scripts/docs-deps.sh);
#  2. starts its own `podman system service` and builds the images with
#     `docker-compose build` against it;
#  3. default profile: `docker-compose up -d`, waits for /health and /ready,
#     runs the core end-to-end checks (test/e2e/test_core.py) against the
#     composed service, checks the images (no compiler or build folders,
#     a non-root user, the data volume owned by it, the health checks pass,
#     the docs page's assets served), then `docker-compose down -v`;
#  4. the `scale` profile (PostgreSQL, two img-rest replicas behind
#     HAProxy, three img-engines): every engine attached to a replica, the
#     same core checks through HAProxy, a job seen alike by both replicas,
#     then one replica stopped: its engines move to the other, work goes
#     on through HAProxy, and once started again it serves the same jobs;
#     then down again. IMG_CONTAINERS_SCALE=0 leaves this profile out.
# The compose project and the podman service are always stopped (the service
# by its pid). Exit 77 (skipped) when not root or a tool is missing.
#
#   test/containers/run.sh
#   IMG_CONTAINERS_SCALE=0 test/containers/run.sh     the default profile only
#   IMG_CONTAINERS_E2E="test_core test_operations" test/containers/run.sh
#   IMG_CONTAINERS_KEEP=1 ...    leave the last profile running (to look at it)
#   COMPOSE_FILE=docker-compose.yml:more.yml ...   with an override file
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
SKIP=77
e2e_modules=${IMG_CONTAINERS_E2E:-test_core}
t0=$(date +%s)

say() { printf '== [%4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (debootstrap, podman's store)"
  exit "$SKIP"
fi
for tool in podman docker-compose debootstrap runc curl python3 vipsheader; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is missing (scripts/install-deps.sh test installs it)"
    exit "$SKIP"
  fi
done
if [ ! -x /usr/lib/podman/netavark ] || [ ! -x /usr/lib/podman/aardvark-dns ]; then
  echo "SKIP: netavark and aardvark-dns are missing (scripts/install-deps.sh test installs them)"
  exit "$SKIP"
fi

cd "$here"
# shellcheck source=/dev/null # scripts/containers-lib.sh, checked on its own
. "$here/scripts/containers-lib.sh"
ctr_env "${IMG_CONTAINERS_DIR:-$here/build/containers}"

project="imgct$$"
work=$(mktemp -d /tmp/img-containers.XXXXXX)
compose() { docker-compose -p "$project" "$@"; }

# The end-to-end checks expect every job to run as submitted, as in the
# services the harness starts itself (result_cache 0; the cache has tests
# of its own): so do the composed replicas, through an override file.
cat >"$work/e2e-override.yml" <<'EOF'
# written by test/containers/run.sh
services:
  img-rest:
    environment:
      IMG_RESULT_CACHE: "0"
  rest1:
    environment:
      IMG_RESULT_CACHE: "0"
  rest2:
    environment:
      IMG_RESULT_CACHE: "0"
EOF
export COMPOSE_FILE="${COMPOSE_FILE:-docker-compose.yml}:$work/e2e-override.yml"

# project_down: the whole compose project gone, both profiles: containers,
# network, volumes. After `down`, whatever is left is removed by label (a
# container that its restart policy brought back while it was being removed).
project_down() {
  compose --profile scale down -v --remove-orphans -t 15 >>"$work/down.log" 2>&1 || true
  local label="label=com.docker.compose.project=$project" ids
  ids=$(podman ps -aq --filter "$label")
  # shellcheck disable=SC2086 # a list of ids
  [ -z "$ids" ] || podman rm -f -t 5 $ids >/dev/null 2>&1 || true
  ids=$(podman network ls -q --filter "$label")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || podman network rm -f $ids >/dev/null || true
  ids=$(podman volume ls -q --filter "$label")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || podman volume rm -f $ids >/dev/null || true
  if [ -n "$(podman ps -aq --filter "$label")$(podman volume ls -q --filter "$label")" ]; then
    echo "project $project: containers or volumes are left; see: podman ps -a; podman volume ls" >&2
    return 1
  fi
}

cleanup() {
  local rc=$?
  if [ -n "${CTR_SERVICE_PID:-}" ] && [ "$project_up" = 1 ]; then
    if [ "${IMG_CONTAINERS_KEEP:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
      say "kept: project $project (podman with CONTAINERS_CONF=$CONTAINERS_CONF sees it)"
    else
      say "cleanup: project $project down"
      project_down || rc=1
    fi
  fi
  ctr_service_stop
  rm -rf "$work"
  say "done (exit $rc)"
  exit "$rc"
}
project_up=0
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_200 URL SECONDS: until URL answers 200
wait_200() {
  local url=$1 deadline=$(($(date +%s) + $2)) code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)
    [ "$code" = 200 ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "GET $url: last answer ${code:-none}, not 200 within $2 s" >&2
      return 1
    fi
    sleep 0.5
  done
}

show_logs() {
  compose --profile scale ps >&2 || true
  compose --profile scale logs --no-color --tail 40 >&2 || true
}

# cid SERVICE: the id of the service's (first) container
cid() {
  local id
  id=$(compose --profile scale ps -q "$1" | head -n 1)
  [ -n "$id" ] || fail "no container for service $1"
  echo "$id"
}

# volume_dir VOLUME: where the project's named volume is on this host
volume_dir() {
  podman volume inspect --format '{{.Mountpoint}}' "${project}_$1"
}

run_e2e() {
  local url=$1 data=$2
  say "end-to-end ($e2e_modules) against $url"
  # shellcheck disable=SC2086 # a list of module names
  (cd test/e2e && IMG_E2E_BASE_URL=$url IMG_E2E_DATA_DIR=$data PYTHONDONTWRITEBYTECODE=1 \
    python3 -m unittest $e2e_modules) || {
    show_logs
    fail "end-to-end checks against the containers"
  }
}

# check_service SERVICE: the running container of an image of ours has no
# compiler and no build folders, runs as a non-root user that owns its
# volume (if VOLUME_PATH is given), and its health check passes.
check_service() {
  local svc=$1 volume_path=${2:-} id facts found uid gid owner
  id=$(cid "$svc")
  # one exec: build tools or folders found, the user of the service's
  # process (PID 1, not only of `exec`), the volume's owner, a write to it
  facts=$(podman exec -e "V=$volume_path" "$id" sh -c '
    for t in gcc cc c++ cmake make ld; do command -v "$t" || true; done | tr "\n" " "
    for d in /src /build /usr/include/vips; do [ ! -e "$d" ] || printf "%s " "$d"; done
    echo
    awk "/^Uid:/ { u = \$2 } /^Gid:/ { g = \$2 } END { print u \" \" g }" /proc/1/status
    if [ -n "$V" ]; then
      stat -c %u:%g "$V"
      touch "$V/.img-write-test" && rm "$V/.img-write-test" && echo writable
    fi')
  found=$(sed -n 1p <<<"$facts")
  read -r uid gid <<<"$(sed -n 2p <<<"$facts")"
  [ -z "${found// /}" ] || fail "$svc: build tools or folders in the final image: $found"
  if [ -z "$uid" ] || [ "$uid" = 0 ]; then
    fail "$svc: runs as root (uid ${uid:-?})"
  fi
  if [ -n "$volume_path" ]; then
    owner=$(sed -n 3p <<<"$facts")
    [ "$owner" = "$uid:$gid" ] || fail "$svc: $volume_path is owned by $owner, the service runs as $uid:$gid"
    [ "$(sed -n 4p <<<"$facts")" = writable ] || fail "$svc: cannot write $volume_path"
  fi
  podman healthcheck run "$id" >/dev/null || fail "$svc: health check fails"
  say "$svc: no compiler, uid $uid:$gid${volume_path:+ owns $volume_path}, healthy"
}

# replica_get SERVICE PATH: GET on that img-rest replica itself (its port
# is not published), the body on stdout; fails unless 200
replica_get() {
  podman exec "$(cid "$1")" curl -fsS --max-time 40 "http://127.0.0.1:8080$2"
}

# json_field FIELD: that field of the JSON object on stdin ("" when absent)
json_field() {
  python3 -c 'import json, sys
try:
    print(json.load(sys.stdin).get(sys.argv[1], ""))
except ValueError:
    print("")' "$1"
}

# workers SERVICE: how many engines are attached to that replica (/ready)
workers() {
  local body
  # a stopped replica has none (podman's complaint about it is not news)
  body=$(podman exec "$(cid "$1")" curl -sS --max-time 5 http://127.0.0.1:8080/ready 2>/dev/null) ||
    body=""
  json_field workers <<<"$body" | sed 's/^$/0/'
}

# replica_states: HAProxy's view of the replicas, "rest1=UP(L7OK,0) rest2=..."
# with each one's last check and how often it went down (its stats as CSV:
# proxy, server, ...: status is field 18, chkdown 23, check_status 37)
replica_states() {
  podman exec "$(cid haproxy)" curl -fsS 'http://127.0.0.1:8404/stats;csv' |
    awk -F, '$1 == "img_rest" && $2 ~ /^rest[12]$/ { printf "%s=%s(%s,%s) ", $2, $18, $37, $23 }'
}

# wait_replicas_up SECONDS NAME...: until HAProxy sees all those replicas up
# at once (its health checks run every 2 s); says its view when it does not
wait_replicas_up() {
  local deadline=$(($(date +%s) + $1)) states name missing
  shift
  while :; do
    states=$(replica_states)
    missing=0
    for name in "$@"; do
      case " $states" in *" $name=UP("*) ;; *) missing=1 ;; esac
    done
    [ "$missing" = 0 ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "HAProxy sees: $states" >&2
      return 1
    fi
    sleep 1
  done
}

# wait_workers SECONDS N1 N2: until rest1 has N1 engines and rest2 N2 ("*": any)
# and the two together have 3
wait_workers() {
  local deadline=$(($(date +%s) + $1)) w1 w2
  while :; do
    w1=$(workers rest1)
    w2=$(workers rest2)
    if [ $((w1 + w2)) = 3 ] && { [ "$2" = "*" ] || [ "$w1" = "$2" ]; } &&
      { [ "$3" = "*" ] || [ "$w2" = "$3" ]; }; then
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "engines attached to rest1, rest2: $w1, $w2 (expected $2, $3 of 3)" >&2
      return 1
    fi
    sleep 1
  done
}

# submit URL: POSTs a resize job of a real photo, prints its id
submit() {
  local body id
  body=$(curl -sS --max-time 120 -F "file=@/usr/share/backgrounds/mate/nature/Dune.jpg" \
    -F width=64 "$1/resize") || fail "POST $1/resize: no answer"
  id=$(json_field id <<<"$body")
  [ -n "$id" ] || fail "POST $1/resize: $body"
  echo "$id"
}

# wait_complete SERVICE ID: until the job is complete as that replica sees it
wait_complete() {
  local deadline=$(($(date +%s) + 240)) status=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    status=$(replica_get "$1" "/resize/status/$2?wait=30" | json_field status) || status=""
    case $status in
      complete) return 0 ;;
      failed) break ;;
    esac
    sleep 1
  done
  fail "job $2 on $1: status '${status}', not complete"
}

check_image_user() {
  local user
  user=$(podman image inspect --format '{{.Config.User}}' "$1")
  case "$user" in
    "" | root | 0 | 0:*) fail "image $1 runs as root (USER '${user}')" ;;
  esac
}

say "docs page assets on the host (scripts/docs-deps.sh)"
scripts/docs-deps.sh
[ -f docs/node_modules/swagger-ui-dist/swagger-ui-bundle.js ] ||
  fail "docs/node_modules/swagger-ui-dist is missing (npm; scripts/docs-deps.sh)"

say "base image (scripts/container-base.sh)"
scripts/container-base.sh

say "podman API service"
ctr_service_start
say "podman service pid $CTR_SERVICE_PID on $DOCKER_HOST"

# ---- default profile --------------------------------------------------------

say "docker-compose build (img-rest, img-engine)"
compose build img-rest img-engine >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log" >&2
  fail "docker-compose build"
}
for image in img-rest img-engine; do
  check_image_user "$image:latest"
done
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '/img-(rest|engine):' | sed 's/^/   /'

port=$(free_port)
say "docker-compose up -d (img-rest on port $port)"
project_up=1
IMG_PORT=$port compose up -d >"$work/up.log" 2>&1 || {
  cat "$work/up.log" >&2
  show_logs
  fail "docker-compose up"
}
base="http://127.0.0.1:$port"
if ! wait_200 "$base/health" 120 || ! wait_200 "$base/ready" 120; then
  show_logs
  fail "the composed service did not become ready"
fi
say "ready: $base"

check_service img-rest /data
check_service img-engine /data
curl -fsS -o /dev/null "$base/" || fail "GET / (docs page)"
curl -fsS -o /dev/null "$base/static/swagger-ui/swagger-ui-bundle.js" || fail "Swagger UI not served"
curl -fsS -o /dev/null "$base/openapi.json" || fail "GET /openapi.json"
curl -fsS "$base/app" | grep -q '<script type="module"' || fail "the web app (/app) not served"
curl -fsS -o /dev/null "$base/app/js/main.js" || fail "the web app's modules not served"
say "docs page, Swagger UI, openapi.json and the web app served"

run_e2e "$base" "$(volume_dir img-data)"

say "docker-compose down -v"
compose down -v -t 15 >"$work/down.log" 2>&1 || {
  cat "$work/down.log" >&2
  fail "docker-compose down"
}
project_up=0
if [ -n "$(podman ps -aq --filter "label=com.docker.compose.project=$project")" ] ||
  podman volume exists "${project}_img-data"; then
  fail "containers or the volume ${project}_img-data left after down -v"
fi

# ---- profile scale ----------------------------------------------------------

if [ "${IMG_CONTAINERS_SCALE:-1}" = 0 ]; then
  say "profile scale: skipped (IMG_CONTAINERS_SCALE=0)"
  exit 0
fi

say "docker-compose --profile scale build"
compose --profile scale build db rest1 engine1 haproxy >"$work/build-scale.log" 2>&1 || {
  tail -n 60 "$work/build-scale.log" >&2
  fail "docker-compose --profile scale build"
}
for image in img-postgres img-haproxy; do
  check_image_user "$image:latest"
done

port=$(free_port)
say "docker-compose --profile scale up -d haproxy (HAProxy on port $port)"
project_up=1
IMG_SCALE_PORT=$port compose --profile scale up -d haproxy >"$work/up-scale.log" 2>&1 || {
  cat "$work/up-scale.log" >&2
  show_logs
  fail "docker-compose --profile scale up"
}
base="http://127.0.0.1:$port"
if ! wait_200 "$base/health" 180 || ! wait_200 "$base/ready" 180; then
  show_logs
  fail "the scale profile did not become ready through HAProxy"
fi
say "ready through HAProxy: $base"

# both replicas up behind HAProxy
if ! wait_replicas_up 60 rest1 rest2; then
  show_logs
  fail "HAProxy does not see both img-rest replicas up"
fi
say "HAProxy: rest1 and rest2 up"

for svc in rest1 rest2; do
  check_service "$svc" /data
  # said, not required: with a shared job store a replica without an engine
  # of its own still serves (the engines' lists start at different replicas)
  if ! podman exec "$(cid "$svc")" curl -fsS -o /dev/null http://127.0.0.1:8080/ready; then
    say "$svc: /ready is not 200 (no engine attached to it)"
  fi
done
for svc in engine1 engine2 engine3; do
  check_service "$svc" /data
done
check_service db /var/lib/postgresql/data
check_service haproxy

# every engine is attached to one replica (each list starts where the
# engine's name says)
wait_workers 120 "*" "*" || {
  show_logs
  fail "not every engine is attached to a replica"
}
say "engines attached: rest1 $(workers rest1), rest2 $(workers rest2)"

run_e2e "$base" "$(volume_dir scale-data)"

# one job store: a job submitted through HAProxy, alike on both replicas
job=$(submit "$base")
wait_complete rest1 "$job"
wait_complete rest2 "$job"
for svc in rest1 rest2; do
  bytes=$(replica_get "$svc" "/resize/$job" | wc -c)
  [ "$bytes" -gt 0 ] || fail "$svc: no result for job $job"
done
say "job $job: complete on rest1 and rest2, its result served by both"

# a replica goes away: its engines move to the other, HAProxy sends the
# work there, nothing submitted is lost; back, it serves the same jobs
say "stopping rest1"
compose --profile scale stop -t 15 rest1 >>"$work/down.log" 2>&1 || fail "docker-compose stop rest1"
wait_workers 120 "*" 3 || {
  show_logs
  fail "the engines did not move to rest2"
}
# HAProxy may have taken rest2 out too while rest1 went (seen once, on a
# loaded machine: both down, POST answered by HAProxy's 503; the cause was
# not kept): clients get that 503 until a check of rest2 passes again. The
# work goes through HAProxy once it sees rest2 up; its view is said.
wait_replicas_up 60 rest2 || {
  show_logs
  fail "HAProxy does not see rest2 up once rest1 stopped"
}
say "HAProxy sees (status, last check, times down): $(replica_states)"
jobs=""
for _ in 1 2 3; do
  jobs="$jobs $(submit "$base")"
done
for id in $jobs; do
  wait_complete rest2 "$id"
done
say "rest1 stopped: 3 engines on rest2, 3 jobs through HAProxy complete"
compose --profile scale start rest1 >>"$work/up-scale.log" 2>&1 || fail "docker-compose start rest1"
for id in $job $jobs; do
  wait_complete rest1 "$id"
done
say "rest1 back: it serves the same jobs"

say "docker-compose --profile scale down -v"
compose --profile scale down -v -t 15 >"$work/down.log" 2>&1 || {
  cat "$work/down.log" >&2
  fail "docker-compose --profile scale down"
}
project_up=0
if [ -n "$(podman ps -aq --filter "label=com.docker.compose.project=$project")" ] ||
  podman volume exists "${project}_scale-data"; then
  fail "containers or the volume ${project}_scale-data left after down -v"
fi
