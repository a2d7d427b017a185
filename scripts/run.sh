#!/bin/sh
# Starts img-engine and img-rest on the given config and stops both on Ctrl-C.
#   scripts/run.sh BUILD_DIR CONFIG
set -eu
build=${1:-build}
config=${2:-config/img.conf}

"$build/img-engine/img-engine" -c "$config" &
engine=$!
"$build/img-rest/img-rest" -c "$config" &
rest=$!

# Ctrl-C reaches both programs too (same process group); a TERM sent to
# this script alone is passed on. Either way both drain and exit.
stop() {
  kill -TERM "$rest" "$engine" 2>/dev/null || true
}
trap stop INT TERM

# The URL, once img-rest answers (it prints its own log line too).
listen=$(sed -n 's/^[[:space:]]*http_listen[[:space:]]*=[[:space:]]*//p' "$config" | tail -n 1)
port=${IMG_HTTP_LISTEN:-${listen:-8080}}
port=${port##*:}
i=0
while [ $i -lt 50 ]; do
  if curl -fsS "http://localhost:$port/health" >/dev/null 2>&1; then
    echo "img service ready: http://localhost:$port/  (docs page; Ctrl-C stops both)"
    break
  fi
  if ! kill -0 "$rest" 2>/dev/null; then
    echo "img-rest did not start" >&2
    kill -TERM "$engine" 2>/dev/null || true
    exit 1
  fi
  sleep 0.2
  i=$((i + 1))
done
# a trapped signal ends `wait` early: wait again until each has exited
while kill -0 "$rest" 2>/dev/null; do wait "$rest" || true; done
kill -TERM "$engine" 2>/dev/null || true
while kill -0 "$engine" 2>/dev/null; do wait "$engine" || true; done
echo "img-rest and img-engine stopped"
