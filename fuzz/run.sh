#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz_targets/*.rs) with libFuzzer, on the stable
# toolchain alone: no nightly, no cargo-fuzz. The coverage instrumentation cargo-fuzz would add
# is passed here as stable rustc flags (sancov), and libfuzzer-sys links libFuzzer itself.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 10 s, every target)
#
# The build and what runs find live in $MOORING_FUZZ_DIR (default ~/.cache/mooring-fuzz),
# outside the clone, so that CI's fresh clones build incrementally on a machine that ran it
# before (cold: ~4 min of build on two idle cores). Seeds are read from corpus/<target>/ (in
# the repo); inputs found along the way go to $MOORING_FUZZ_DIR/corpus/<target>/ (never
# committed). A crash stops the run with its input in $MOORING_FUZZ_DIR/artifacts/<target>/:
# fix it in the shared crate, keep the input as a unit test of the module that owns the
# parser, and copy it into corpus/<target>/.
# Reproduce one input:  $MOORING_FUZZ_DIR/<triple>/release/<target> <file>
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-10}
shift || true
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(ls fuzz_targets | sed -n 's/\.rs$//p' | sort)
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
# What `cargo fuzz build -s none` passes (coverage counters, comparisons traced for the
# mutator, `cfg(fuzzing)`); all stable codegen options. `--target` keeps build scripts and
# proc macros uninstrumented.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
out=${MOORING_FUZZ_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mooring-fuzz}
mkdir -p "$out"
export CARGO_TARGET_DIR="$out"
build_start=$(date +%s)
cargo build --quiet --release --locked --target "$triple" --bins
echo "fuzz targets built in $(( $(date +%s) - build_start )) s"

status=0
for target in "${targets[@]}"; do
  found="$out/corpus/$target"
  artifacts="$out/artifacts/$target/"
  mkdir -p "$found" "$artifacts"
  log="$out/fuzz-$target.log"
  if "$out/$triple/release/$target" "$found" "corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "$target: ${runs:-?} runs in ${seconds} s, $cov, no crash"
  else
    status=1
    echo "$target: CRASH (input in $artifacts); the end of its log:"
    tail -40 "$log"
  fi
done
exit "$status"
