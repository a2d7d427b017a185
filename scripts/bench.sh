#!/bin/sh
# `make bench`: the service's resize throughput side by side with raw libvips,
# a plain Node server with sharp and a plain Python server with Pillow, in one
# run with interleaved rounds; plus CPU per job, latencies and memory.
#   scripts/bench.sh [BUILD_DIR]          (make bench runs: scripts/bench.sh build)
# Takes about 8 minutes on 2 cores with the defaults (10 when the machine is
# busy with other work). Needs the service built
# (make build) and what `scripts/install-deps.sh bench` installs.
#
# Builds bench/loadgen and bench/raw_vips (bench/CMakeLists.txt, a project of
# their own) into BUILD_DIR/bench-tools, installs sharp into bench/node_modules
# with `npm ci` from bench/package-lock.json, makes the test images with `vips`
# into BUILD_DIR/bench-inputs (kept for the next run), then bench/bench.py runs
# everything. The report is printed and written to bench/RESULTS.md and
# BUILD_DIR/bench/results.md; the raw JSON of every run is in BUILD_DIR/bench/.
#
# Knobs (environment variables):
#   BENCH_ROUNDS=3        interleaved rounds (each runs every system once)
#   BENCH_SECONDS=6       measured seconds of each run
#   BENCH_WARMUP=2        warm-up seconds before each HTTP run (raw libvips: 1)
#   BENCH_CLIENTS=4,8     client counts of the HTTP runs
#   BENCH_MEM_UPLOADS=300 uploads of the 5 MB photo before img-rest's RSS is read:
#                         the rounds' W1 runs, topped up if they made fewer, ...
#   BENCH_MEM_SECONDS=90  ... but the top-up starts no upload after this long
#   BENCH_RESULTS=bench/RESULTS.md   where the report goes ("" = build folder only)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
out=$build/bench
tools=$build/bench-tools
inputs=$build/bench-inputs
rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-6}
warmup=${BENCH_WARMUP:-2}
clients=${BENCH_CLIENTS:-4,8}
mem_uploads=${BENCH_MEM_UPLOADS:-300}
mem_seconds=${BENCH_MEM_SECONDS:-90}
results=${BENCH_RESULTS-$root/bench/RESULTS.md}

elephants=/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg

have() { command -v "$1" >/dev/null 2>&1; }

for tool in python3 vips vipsheader cmake pkg-config; do
  if ! have "$tool"; then
    echo "bench: $tool is missing (scripts/install-deps.sh bench)" >&2
    exit 1
  fi
done
if [ ! -r "$elephants" ]; then
  echo "bench: $elephants is missing (apt-get install mate-backgrounds)" >&2
  exit 1
fi
for b in "$build/img-rest/img-rest" "$build/img-engine/img-engine"; do
  if [ ! -x "$b" ]; then
    echo "bench: $b is missing: build first (make build)" >&2
    exit 1
  fi
done

# The command, as the report names it.
command="make bench"
for knob in BENCH_ROUNDS BENCH_SECONDS BENCH_WARMUP BENCH_CLIENTS BENCH_MEM_UPLOADS \
  BENCH_MEM_SECONDS; do
  value=$(printenv "$knob" || true)
  if [ -n "$value" ]; then
    command="$knob=$value $command"
  fi
done

echo "== building bench/loadgen, bench/raw_vips and bench/bare_receiver into $tools" >&2
cmake -S "$root/bench" -B "$tools" -DCMAKE_BUILD_TYPE=Release -DCMAKE_RULE_MESSAGES=OFF >/dev/null
cmake --build "$tools" -- --no-print-directory -s

node=""
if have node && have npm; then
  echo "== installing sharp into bench/node_modules (npm ci)" >&2
  if (cd "$root/bench" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
    node=$(command -v node)
  else
    echo "bench: npm ci failed: the sharp server is skipped" >&2
  fi
else
  echo "bench: node or npm is missing: the sharp server is skipped" >&2
fi

pillow_python=""
for py in /usr/bin/python3 python3; do
  if have "$py" && "$py" -c 'import PIL' 2>/dev/null; then
    pillow_python=$(command -v "$py")
    break
  fi
done
[ -n "$pillow_python" ] || echo "bench: no python3 with PIL (apt-get install python3-pil): Pillow is skipped" >&2

# The inputs, made once (the 100 MP ones take a while):
#   w1.jpg   4000x3000 centre crop, q90 (about 5 MB)
#   w2.jpg   640x480 centre crop, q90
#   big.jpg  11544x8658 (99.9 MP), q90
#   big.png  w1 enlarged 2.886x with nearest neighbour to 11544x8658: blocks of
#            equal pixels keep the PNG under the 50 MB upload limit
mkdir -p "$inputs" "$out"
if [ ! -s "$inputs/w1.jpg" ]; then
  echo "== making $inputs/w1.jpg" >&2
  vips thumbnail "$elephants" "$inputs/tmp-w1.jpg[Q=90]" 4000 --height 3000 --crop centre
  mv "$inputs/tmp-w1.jpg" "$inputs/w1.jpg"
fi
if [ ! -s "$inputs/w2.jpg" ]; then
  echo "== making $inputs/w2.jpg" >&2
  vips thumbnail "$elephants" "$inputs/tmp-w2.jpg[Q=90]" 640 --height 480 --crop centre
  mv "$inputs/tmp-w2.jpg" "$inputs/w2.jpg"
fi
if [ ! -s "$inputs/big.jpg" ]; then
  echo "== making $inputs/big.jpg" >&2
  vips thumbnail "$elephants" "$inputs/tmp-big.jpg[Q=90]" 11544 --height 8658 \
    --crop centre --size both
  mv "$inputs/tmp-big.jpg" "$inputs/big.jpg"
fi
if [ ! -s "$inputs/big.png" ]; then
  echo "== making $inputs/big.png" >&2
  vips resize "$inputs/w1.jpg" "$inputs/tmp-big.v" 2.886 --kernel nearest
  vips pngsave "$inputs/tmp-big.v" "$inputs/tmp-big.png" --compression 1 --filter all
  mv "$inputs/tmp-big.png" "$inputs/big.png"
  rm -f "$inputs/tmp-big.v"
fi

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)

echo "== $rounds interleaved rounds of ${warmup}+${seconds} s runs; clients $clients" >&2
python3 "$root/bench/bench.py" run \
  --root "$root" --rest "$build/img-rest/img-rest" --engine "$build/img-engine/img-engine" \
  --tools "$tools" --out "$out" --results "$results" \
  --w1 "$inputs/w1.jpg" --w2 "$inputs/w2.jpg" \
  --big-jpeg "$inputs/big.jpg" --big-png "$inputs/big.png" \
  --rounds "$rounds" --duration "$seconds" --warmup "$warmup" --clients "$clients" \
  --mem-uploads "$mem_uploads" --mem-seconds "$mem_seconds" --node "$node" --pillow-python "$pillow_python" \
  --build-type "${build_type:-?}" --command "$command"
if [ -n "$results" ]; then
  echo "(written to $results and $out/results.md; raw JSON in $out/)" >&2
else
  echo "(written to $out/results.md; raw JSON in $out/)" >&2
fi
