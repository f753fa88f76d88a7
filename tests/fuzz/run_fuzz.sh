#!/usr/bin/env bash
# Runs one libFuzzer target; used by ctest (tests/fuzz/CMakeLists.txt) and scripts/fuzz.
#
#   run_fuzz.sh replay BINARY FUZZ_DIR TARGET
#       runs every committed input of TARGET once: FUZZ_DIR/corpus/TARGET/* and
#       FUZZ_DIR/regressions/TARGET/*. Fails when any of them crashes, leaks or hits UB.
#   run_fuzz.sh run BINARY FUZZ_DIR TARGET SECONDS FINDINGS_DIR
#       fuzzes TARGET for SECONDS, starting from a scratch copy of its corpus (the committed seeds
#       are never written) plus its regressions, with FUZZ_DIR/TARGET.dict when there is one.
#       Prints one line: executions, coverage and the result. On a finding, the input is saved in
#       FINDINGS_DIR/TARGET/ (crash-*, leak-*, timeout-*, oom-*), libFuzzer's log beside it, and
#       the exit status is non-zero.
# Scratch files go to /dev/shm when it is writable (the spool target writes and fsyncs files) and
# are removed on exit.
set -euo pipefail

usage() {
  echo "usage: run_fuzz.sh replay BINARY FUZZ_DIR TARGET" >&2
  echo "       run_fuzz.sh run BINARY FUZZ_DIR TARGET SECONDS FINDINGS_DIR" >&2
  exit 2
}

(($# >= 4)) || usage
mode=$1 binary=$2 fuzz_dir=$3 target=$4
corpus="$fuzz_dir/corpus/$target"
regressions="$fuzz_dir/regressions/$target"
dict="$fuzz_dir/$target.dict"

# Stack traces for UBSan reports too (ASan prints them anyway).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
scratch="$(mktemp -d "${TMPDIR:-/tmp}/optischema-fuzz-$target.XXXXXX")"
trap 'rm -rf -- "$scratch"' EXIT
# The target's own scratch files (fuzz_support.h) go below it too, even when it aborts.
export TMPDIR="$scratch"

case "$mode" in
  replay)
    (($# == 4)) || usage
    inputs=()
    for dir in "$corpus" "$regressions"; do
      [[ -d "$dir" ]] || continue
      while IFS= read -r -d '' file; do inputs+=("$file"); done \
        < <(find "$dir" -type f -print0 | sort -z)
    done
    ((${#inputs[@]} > 0)) || { echo "fuzz $target: no committed inputs in $corpus" >&2; exit 1; }
    # Given files, libFuzzer runs each once and stops at the first failure.
    if ! "$binary" "${inputs[@]}" >"$scratch/log" 2>&1; then
      cat "$scratch/log" >&2
      echo "fuzz $target: a committed input fails (see above)" >&2
      exit 1
    fi
    echo "fuzz $target: ${#inputs[@]} committed inputs replay clean"
    ;;
  run)
    (($# == 6)) || usage
    seconds=$5 findings="$6/$target"
    mkdir -p "$scratch/corpus" "$findings"
    if [[ -d "$corpus" ]]; then cp -R "$corpus/." "$scratch/corpus/"; fi
    args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
      -artifact_prefix="$findings/")
    if [[ -f "$dict" ]]; then args+=(-dict="$dict"); fi
    dirs=("$scratch/corpus")
    if [[ -d "$regressions" ]]; then dirs+=("$regressions"); fi
    status=0
    "$binary" "${args[@]}" "${dirs[@]}" >"$scratch/log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/log" | tail -n 1)"
    coverage="$(grep -o 'cov: [0-9]*' "$scratch/log" | tail -n 1 || true)"
    if ((status != 0)); then
      cp "$scratch/log" "$findings/libfuzzer-$(date +%Y%m%dT%H%M%S).log"
      grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz invariant failed|.*runtime error)' "$scratch/log" \
        | head -n 5 >&2 || true
      echo "fuzz $target: FAILED after ${runs:-?} executions (exit $status);" \
        "input and log in $findings" >&2
      exit 1
    fi
    echo "fuzz $target: ${runs:-?} executions in ${seconds}s, ${coverage:-cov: ?}," \
      "$(find "$scratch/corpus" -type f | wc -l) corpus inputs, no finding"
    ;;
  *) usage ;;
esac
