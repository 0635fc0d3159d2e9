#!/usr/bin/env bash
# Builds the libFuzzer targets (-sanitize=fuzzer,address; linked with lld, as gold fails on them) and runs each for a bounded time,
# starting from its seed corpus in Fuzz/Corpus/<target>/. Fails when a target crashes (a broken
# property, a sanitizer report, a leak, a timeout); the crashing input is kept in $FUZZ_OUT.
#
#   Fuzz/run.sh            # 30 s per target
#   Fuzz/run.sh 3600       # an hour per target; new inputs go to $FUZZ_OUT/corpus-<target>
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${1:-30}
OUT=${FUZZ_OUT:-/tmp/loom-fuzz}
TARGETS=${FUZZ_TARGETS:-"SocketAddressFuzz BufferedReaderFuzz UppercaseFuzz EventLoopReadFuzz ProxyHeaderFuzz ChatLineFuzz"}
mkdir -p "$OUT"

echo "== fuzz: building ($TARGETS)"
swift build --scratch-path .build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld \
  > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; echo "fuzz: the build failed" >&2; exit 2; }
BIN=$(swift build --scratch-path .build -Xswiftc -sanitize=fuzzer,address --show-bin-path)

status=0
for target in $TARGETS; do
  work="$OUT/corpus-$target"
  mkdir -p "$work" "$OUT/crashes-$target"
  # Fresh inputs go to $work; the repository's seeds are read, never written.
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=1" "$BIN/$target" "$work" "Corpus/$target" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=60 -rss_limit_mb=4096 \
    -artifact_prefix="$OUT/crashes-$target/" -print_final_stats=1 > "$OUT/$target.log" 2>&1
  rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$OUT/$target.log" | awk '{print $2}')
  if [ "$rc" -ne 0 ]; then
    status=1
    grep -E 'fuzz invariant broken|ERROR: |SUMMARY' "$OUT/$target.log" | head -5
    echo "fuzz: $target CRASHED after ${runs:-?} executions; inputs in $OUT/crashes-$target/" >&2
  else
    echo "fuzz: $target ok, ${runs:-?} executions in ${SECONDS_PER_TARGET} s"
  fi
done
exit "$status"
