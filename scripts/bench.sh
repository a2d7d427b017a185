#!/bin/sh
# Benchmarks of the img service (`make bench`): per-operation times on a
# 4000x3000 photo, the core resize against vipsthumbnail, sharp and Pillow,
# throughput, memory and wrk. Takes about 4 minutes on 2 cores.
#   scripts/bench.sh [BUILD_DIR]
# Writes BUILD_DIR/bench/results.md (printed at the end) and the raw JSON
# beside it. Installs nothing: a missing tool is named and its part skipped.
#   hyperfine, wrk, python3-pil: apt-get install hyperfine wrk python3-pil
#   sharp:                       (cd bench && npm ci)
# Environment: BENCH_RUNS (5), BENCH_AVIF_RUNS (5), BENCH_CORE_RUNS (20),
# BENCH_JOBS (200), BENCH_CLIENTS (4), BENCH_WRK_SECONDS (10).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
out=$build/bench
runs=${BENCH_RUNS:-5}
avif_runs=${BENCH_AVIF_RUNS:-5}
core_runs=${BENCH_CORE_RUNS:-20}
jobs=${BENCH_JOBS:-200}
clients=${BENCH_CLIENTS:-4}
wrk_seconds=${BENCH_WRK_SECONDS:-10}

dune=/usr/share/backgrounds/mate/nature/Dune.jpg
elephants=/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg

tmp=$(mktemp -d "${TMPDIR:-/tmp}/img-bench.XXXXXX")
cleanup() {
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

have() { command -v "$1" >/dev/null 2>&1; }
skip() {
  echo "skipped: $*" >&2
  echo "$*" >>"$out/skipped.txt"
}

for tool in python3 vips vipsthumbnail; do
  if ! have "$tool"; then
    echo "bench: $tool is missing (apt-get install python3 libvips-tools)" >&2
    exit 1
  fi
done
for f in "$dune" "$elephants"; do
  if [ ! -r "$f" ]; then
    echo "bench: $f is missing (apt-get install mate-backgrounds)" >&2
    exit 1
  fi
done
for b in "$build/img-rest/img-rest" "$build/img-engine/img-engine"; do
  if [ ! -x "$b" ]; then
    echo "bench: $b is missing: build first (make build)" >&2
    exit 1
  fi
done

mkdir -p "$out"
rm -f "$out"/*.json "$out/skipped.txt" "$out/results.md"
bench="python3 $root/bench/bench.py"

# The inputs: a 4000x3000 crop of a 5640x3172 photo, and a copy of it with
# three filled rectangles painted in (the second image of diff).
echo "== making the 4000x3000 test photos" >&2
photo=$tmp/photo.jpg
photo2=$tmp/photo2.jpg
vips thumbnail "$elephants" "${photo}[Q=90]" 4000 --height 3000 --crop centre
vips copy "$photo" "$tmp/edit.v"
vips draw_rect "$tmp/edit.v" "255 0 0" 400 300 300 200 --fill
vips draw_rect "$tmp/edit.v" "0 200 0" 2000 1500 250 250 --fill
vips draw_rect "$tmp/edit.v" "0 0 255" 3200 2400 400 300 --fill
vips copy "$tmp/edit.v" "${photo2}[Q=90]"
rm -f "$tmp/edit.v"

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
$bench machine "$out/machine.json" --build-type "${build_type:-?}"

# -- part 2: the core resize in other implementations ---------------------------
echo "== core resize: vipsthumbnail (hyperfine), sharp, Pillow" >&2
i=0
for img in "$dune" "$photo"; do
  if have hyperfine; then
    hyperfine -N --style none --warmup 3 --runs "$core_runs" \
      --export-json "$out/hyperfine-$i.json" \
      "vipsthumbnail $img --size 256x -o $tmp/vt-$i.jpg[Q=75]" \
      "vips --version" >/dev/null
  fi
  i=$((i + 1))
done
have hyperfine || skip "vipsthumbnail timing (hyperfine missing: apt-get install hyperfine)"

if have node && [ -d "$root/bench/node_modules/sharp" ]; then
  if ! (cd "$root/bench" && node sharp-resize.mjs "$core_runs" "$tmp" "$dune" "$photo") \
      >"$out/sharp.json"; then
    rm -f "$out/sharp.json"
    skip "sharp (it failed to run; see above)"
  fi
else
  skip "sharp (not installed: cd bench && npm ci)"
fi

pillow_python=""
for py in /usr/bin/python3 python3; do
  if have "$py" && "$py" -c 'import PIL' 2>/dev/null; then
    pillow_python=$py
    break
  fi
done
if [ -n "$pillow_python" ]; then
  "$pillow_python" "$root/bench/bench.py" pillow "$core_runs" "$tmp" "$dune" "$photo" \
    >"$out/pillow.json"
else
  skip "Pillow (apt-get install python3-pil)"
fi

# -- parts 1, 2 (service side) and 3: the real service ---------------------------
echo "== the service: img-rest + img-engine on free 127.0.0.1 ports" >&2
have wrk || skip "wrk (apt-get install wrk)"
$bench service --rest "$build/img-rest/img-rest" --engine "$build/img-engine/img-engine" \
  --docs "$root/docs" --photo "$photo" --photo2 "$photo2" --dune "$dune" \
  --runs "$runs" --avif-runs "$avif_runs" --core-runs "$core_runs" \
  --jobs "$jobs" --clients "$clients" --wrk-seconds "$wrk_seconds" \
  --out "$out/service.json"

$bench report "$out" --wrk-seconds "$wrk_seconds" \
  "$dune=Dune.jpg 1680x1050" "$photo=photo 4000x3000" >"$out/results.md"
echo >&2
cat "$out/results.md"
echo "(written to $out/results.md; raw numbers in $out/*.json)" >&2
