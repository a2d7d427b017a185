#!/bin/sh
# img-engine's container health check: the supervisor (PID 1) is alive and
# has its engine child running. While the supervisor restarts a crashed
# engine this fails for a moment; the health check's retries cover that.
# /proc only: the image has no ps.
[ "$(cat /proc/1/comm 2>/dev/null)" = img-engine ] || exit 1
for stat in /proc/[0-9]*/stat; do
  # "pid (comm) state ppid ..."; the engine child keeps the name img-engine
  read -r pid comm _ ppid _ 2>/dev/null <"$stat" || continue
  if [ "$ppid" = 1 ] && [ "$pid" != 1 ]; then
    case $comm in "(img-engine"*) exit 0 ;; esac
  fi
done
exit 1
