# shellcheck shell=sh
# containers-lib.sh — sourced (POSIX sh) by the scripts that build and run
# the images with podman on a machine without an image registry.
#
#   ctr_env DIR         podman settings of this project's own image store
#                       under DIR (images, volumes, networks), exported as
#                       CONTAINERS_STORAGE_CONF / CONTAINERS_CONF
#   ctr_service_start   starts `podman system service` on a socket of ours,
#                       exports DOCKER_HOST for docker-compose; CTR_SERVICE_PID
#   ctr_service_stop    stops that service (by its pid)
#
# Nothing here touches podman's system-wide store (/var/lib/containers) or
# the host's network configuration files.

# ctr_env DIR: writes DIR/storage.conf and DIR/containers.conf (once) and
# exports the variables podman reads them from. Run-time state goes under
# /run (cleared at boot, as podman expects), keyed by DIR.
ctr_env() {
  CTR_DIR=$1
  mkdir -p "$CTR_DIR"
  CTR_DIR=$(cd "$CTR_DIR" && pwd)
  ctr_key=$(printf '%s' "$CTR_DIR" | cksum | cut -d' ' -f1)
  CTR_RUN=${XDG_RUNTIME_DIR:-/run}/img-podman-$ctr_key
  mkdir -p "$CTR_RUN" "$CTR_DIR/networks"
  cat >"$CTR_DIR/storage.conf.new" <<EOF
# written by scripts/containers-lib.sh
[storage]
driver = "overlay"
graphroot = "$CTR_DIR/storage"
runroot = "$CTR_RUN/storage"
EOF
  # runc and cgroupfs: crun fails on this kind of host's hybrid cgroups, and
  # there is no systemd. Default ulimits that need no CAP_SYS_RESOURCE.
  # netavark + aardvark-dns: compose services find each other by name.
  cat >"$CTR_DIR/containers.conf.new" <<EOF
# written by scripts/containers-lib.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[network]
network_backend = "netavark"
network_config_dir = "$CTR_DIR/networks"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$CTR_RUN/libpod"
EOF
  for ctr_f in storage.conf containers.conf; do
    if cmp -s "$CTR_DIR/$ctr_f.new" "$CTR_DIR/$ctr_f"; then
      rm -f "$CTR_DIR/$ctr_f.new"
    else
      mv "$CTR_DIR/$ctr_f.new" "$CTR_DIR/$ctr_f"
    fi
  done
  export CONTAINERS_STORAGE_CONF="$CTR_DIR/storage.conf"
  export CONTAINERS_CONF="$CTR_DIR/containers.conf"
  CTR_SERVICE_PID=""
}

# ctr_service_start: a podman API service for docker-compose, on a socket
# under CTR_RUN; waits until it answers. Call ctr_env first.
ctr_service_start() {
  CTR_SOCKET="$CTR_RUN/podman-$$.sock"
  rm -f "$CTR_SOCKET"
  podman system service --time=0 "unix://$CTR_SOCKET" >"$CTR_DIR/service.log" 2>&1 &
  CTR_SERVICE_PID=$!
  export DOCKER_HOST="unix://$CTR_SOCKET"
  ctr_i=0
  while [ $ctr_i -lt 150 ]; do
    if [ -S "$CTR_SOCKET" ] &&
      curl -fsS --unix-socket "$CTR_SOCKET" http://podman/_ping >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$CTR_SERVICE_PID" 2>/dev/null; then
      echo "podman system service exited; its log:" >&2
      cat "$CTR_DIR/service.log" >&2
      CTR_SERVICE_PID=""
      return 1
    fi
    sleep 0.2
    ctr_i=$((ctr_i + 1))
  done
  echo "podman system service did not answer on $CTR_SOCKET" >&2
  return 1
}

# ctr_service_stop: stops the service ctr_service_start started (its pid
# only), waits for it, removes the socket.
ctr_service_stop() {
  if [ -n "${CTR_SERVICE_PID:-}" ]; then
    kill -TERM "$CTR_SERVICE_PID" 2>/dev/null || true
    wait "$CTR_SERVICE_PID" 2>/dev/null || true
    CTR_SERVICE_PID=""
  fi
  [ -z "${CTR_SOCKET:-}" ] || rm -f "$CTR_SOCKET"
}
