#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz, fuzzes
# each for FUZZ_SECONDS (default 30) starting from its committed corpus, then
# replays each committed corpus as a regression test. New inputs go to a
# temporary directory, never into test/fuzz/corpus; crash inputs are kept in
# build-fuzz/artifacts/<target>/. Exits non-zero if any target crashed.
#
#   FUZZ_SECONDS=300 scripts/fuzz.sh            # all targets
#   scripts/fuzz.sh fuzz_multipart              # some targets
#
# The committed corpora were grown by longer runs kept in a folder of their
# own, then merged (only inputs that add coverage):
#   build-fuzz/test/fuzz/T -merge=1 NEW_DIR test/fuzz/corpus/T LONG_RUN_DIR
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build-fuzz"
SECONDS_EACH=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_BUILD_JOBS:-2}
TARGETS=${*:-"fuzz_multipart fuzz_params fuzz_msg"}

CC=clang cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DIMG_FUZZ=ON -DIMG_SANITIZE=ON >/dev/null || exit 2
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $TARGETS || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/img-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM

failed=""
for t in $TARGETS; do
    exe=$(find "$BUILD" -type f -name "$t" -perm -u+x | head -n 1)
    corpus="$ROOT/test/fuzz/corpus/$t"
    dict="$ROOT/test/fuzz/$t.dict"
    artifacts="$BUILD/artifacts/$t"
    mkdir -p "$TMP/$t" "$artifacts" "$corpus"
    set -- -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/"
    [ -f "$dict" ] && set -- "$@" -dict="$dict"

    echo "== $t: fuzzing for ${SECONDS_EACH}s"
    # the first directory receives new units: a temporary one
    if ! "$exe" "$@" "$TMP/$t" "$corpus" >"$TMP/$t.log" 2>&1; then
        tail -n 60 "$TMP/$t.log"
        echo "== $t: CRASH (inputs in $artifacts)"
        failed="$failed $t"
        continue
    fi
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' "$TMP/$t.log"

    echo "== $t: replaying the committed corpus"
    if ! "$exe" -runs=0 -artifact_prefix="$artifacts/" "$corpus" >"$TMP/$t.replay.log" 2>&1; then
        tail -n 60 "$TMP/$t.replay.log"
        echo "== $t: REGRESSION"
        failed="$failed $t"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: failures in:$failed"
    exit 1
fi
echo "fuzz: all targets clean"
