#!/usr/bin/env bash
# results.sh - Benchmarks/RESULTS.md and Benchmarks/charts/*.svg from one compare run.
#
#   Benchmarks/compare-servers.sh                         # writes /tmp/loom-compare/<timestamp>
#   Benchmarks/uring/run.sh                               # optional: writes /tmp/loom-uring/<timestamp>
#   Benchmarks/results.sh /tmp/loom-compare/<ts> [--uring /tmp/loom-uring/<ts>]... [--label "smoke run"]
#   (--uring may be repeated: the runs are pooled block by block)
#
# The threading primitives are measured here, in the same sitting, unless --primitives DIR names a
# folder that already holds them: `swift package benchmark` in Benchmarks/ (package-benchmark,
# release; every Loom primitive beside its raw baseline) -> DIR/loom.txt, then
# Benchmarks/cpython_threading.py -> DIR/cpython.txt, back to back (about 2 minutes, plus the
# first build of the benchmark package). DIR defaults to COMPARE_DIR/primitives.
# Then Benchmarks/results.py draws the charts (SVG, by hand) and writes the page.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 COMPARE_DIR [--uring DIR]... [--primitives DIR] [--label TEXT]" >&2; exit 2; }
[ $# -ge 1 ] || usage
COMPARE=$1; shift
URING=(); PRIMS=""; LABEL=""
while [ $# -gt 0 ]; do
  case $1 in
    --uring) URING+=("${2:?}"); shift 2 ;;
    --primitives) PRIMS=${2:?}; shift 2 ;;
    --label) LABEL=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[ -f "$COMPARE/matrix/raw.txt" ] || { echo "results.sh: $COMPARE/matrix/raw.txt not found (a compare-servers.sh OUT folder?)" >&2; exit 1; }
for u in "${URING[@]}"; do
  [ -f "$u/matrix/raw.txt" ] || { echo "results.sh: $u/matrix/raw.txt not found (a uring/run.sh OUT folder?)" >&2; exit 1; }
done

if [ -z "$PRIMS" ]; then
  PRIMS="$COMPARE/primitives"
  mkdir -p "$PRIMS"
  echo "results.sh: measuring the threading primitives into $PRIMS" >&2
  (cd "$HERE" && timeout -k 10 1800 swift package --scratch-path .build-bench benchmark --no-progress) \
    > "$PRIMS/loom.txt" 2> "$PRIMS/loom.err" || { tail -20 "$PRIMS/loom.err" "$PRIMS/loom.txt"; exit 1; }
  timeout -k 10 600 python3 "$HERE/cpython_threading.py" > "$PRIMS/cpython.txt" || exit 1
fi
[ -f "$PRIMS/loom.txt" ] && [ -f "$PRIMS/cpython.txt" ] || { echo "results.sh: $PRIMS needs loom.txt and cpython.txt" >&2; exit 1; }

args=(page --compare "$COMPARE" --primitives "$PRIMS")
for u in "${URING[@]}"; do args+=(--uring "$u"); done
[ -n "$LABEL" ] && args+=(--label "$LABEL")
python3 "$HERE/results.py" "${args[@]}"
