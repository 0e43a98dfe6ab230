#!/usr/bin/env bash
# Builds every fuzz target once, then runs each for SECONDS (default 20) in one process, starting
# from the committed seeds in fuzz/corpus/<target>. New inputs go to a scratch corpus
# (fuzz/target/corpus/<target>, not committed); a crash stops the script with a non-zero exit
# and leaves the input in fuzz/artifacts/<target>/. Needs a nightly toolchain and cargo-fuzz.
#
#   fuzz/run.sh            # 20 s per target (what .ci/run does)
#   fuzz/run.sh 600        # ten minutes per target
#   FUZZ_TARGETS="money toss_webhook" fuzz/run.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzzing needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
cargo +nightly fuzz build

for target in $targets; do
  scratch="fuzz/target/corpus/$target"
  mkdir -p "$scratch"
  echo "== fuzz $target (${seconds}s)"
  log="fuzz/target/$target.log"
  if ! cargo +nightly fuzz run "$target" "$scratch" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target crashed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  echo "$target: ${execs:-?} execs in ${seconds}s"
done
