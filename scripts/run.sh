#!/bin/sh
# Starts img-engine and img-rest on the given config until Ctrl-C.
#   scripts/run.sh BUILD_DIR CONFIG
#
# Each program runs under its own supervisor, which restarts the program's
# work after a crash: this script has nothing to do then. The script ends
# when one of the two supervisors exits — after a stop (Ctrl-C, or SIGTERM
# to either program or to this script) or a configuration error, which is
# not retried — and then stops the other. Exit status: that of the program
# which exited by itself, when it is not 0 (2: a configuration error; the
# other may still be starting when it is stopped, and then dies of the
# signal); otherwise 0 when both stopped cleanly, else the first non-zero
# status of the two.
set -eu
build=${1:-build}
config=${2:-config/img.conf}

"$build/img-engine/img-engine" -c "$config" &
engine=$!
"$build/img-rest/img-rest" -c "$config" &
rest=$!

running() { kill -0 "$1" 2>/dev/null; }

# Ctrl-C reaches both programs too (same process group); a TERM sent to
# this script alone is passed on. Either way both drain and exit.
stopping=0
stop() {
  stopping=1
  kill -TERM "$rest" "$engine" 2>/dev/null || true
}
trap stop INT TERM

# The URL, once img-rest answers (it prints its own log line too).
listen=$(sed -n 's/^[[:space:]]*http_listen[[:space:]]*=[[:space:]]*//p' "$config" | tail -n 1)
port=${IMG_HTTP_LISTEN:-${listen:-8080}}
port=${port##*:}
i=0
# (A Ctrl-C meanwhile also interrupts the sleep: not a reason to leave
# before the programs have stopped.)
while [ $i -lt 150 ] && [ "$stopping" = 0 ] && running "$rest" && running "$engine"; do
  if curl -fsS "http://localhost:$port/health" >/dev/null 2>&1; then
    echo "img service ready: http://localhost:$port/  (docs page; Ctrl-C stops both)"
    break
  fi
  sleep 0.2 || true
  i=$((i + 1))
done

# Until a supervisor exits. A trapped signal ends `wait` at once.
while running "$rest" && running "$engine"; do
  sleep 1 &
  nap=$!
  wait "$nap" || true
  kill "$nap" 2>/dev/null || true
done
cause=
if [ "$stopping" = 0 ]; then
  if running "$rest"; then
    cause=engine
    echo "img-engine exited by itself: stopping img-rest" >&2
  else
    cause=rest
    echo "img-rest exited by itself: stopping img-engine" >&2
  fi
  stop
fi

# reap PID: waits until PID has exited (a trapped signal ends `wait`
# early); its exit status in $status.
reap() {
  while :; do
    if wait "$1"; then status=0; else status=$?; fi
    running "$1" || return 0
  done
}
reap "$rest"
rest_status=$status
reap "$engine"
engine_status=$status
echo "img-rest and img-engine stopped (exit status $rest_status and $engine_status)"
if [ "$cause" = engine ] && [ "$engine_status" -ne 0 ]; then
  exit "$engine_status"
fi
if [ "$rest_status" -ne 0 ]; then
  exit "$rest_status"
fi
exit "$engine_status"
