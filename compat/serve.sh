#!/usr/bin/env bash
# `hanpay serve` against a property-based API tester: schemathesis (pinned, in a venv under
# target/) reads /openapi.json from a running `hanpay serve` on the sandbox (SQLite in a temporary
# directory) and generates requests for every documented operation, checking that no answer is a
# server error (5xx) and that every answer matches the documented schema. Needs python3 >= 3.9
# with venv; the only network use is the pip install. Usage: compat/serve.sh [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-40}"

target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
venv="$target_dir/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5" "hypothesis==6.170.17"
fi
# The same features as the workspace test run, so that nothing is rebuilt after it.
cargo build --quiet --workspace --all-features --bin hanpay
bin="$target_dir/debug/hanpay"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Waits (up to 30 s) until FILE contains TEXT.
wait_for() {
  for _ in $(seq 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "compat/serve.sh: timed out waiting for '$2' in $1" >&2
  cat "$1" >&2 || true
  return 1
}

"$bin" sandbox --toss-addr 127.0.0.1:0 --portone-addr 127.0.0.1:0 >"$work/sandbox.txt" 2>&1 &
pids+=($!)
wait_for "$work/sandbox.txt" "Ctrl-C stops"
# The sandbox prints the variables an application sets (`export NAME=value`).
eval "$(sed -n 's/^  export \([A-Z_]*=[^ ]*\).*/export \1/p' "$work/sandbox.txt")"
export HANPAY_DATABASE_URL="sqlite://$work/hanpay.db"
export HANPAY_API_KEYS="compat-serve-key-0123456789abcdef"
RUST_LOG=warn "$bin" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>"$work/serve.txt" &
pids+=($!)
wait_for "$work/serve.txt" "listening on"
base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.txt")

# From the temporary directory: schemathesis keeps its example database in the current one.
cd "$work"
"$venv/bin/st" run "$base/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --header "Authorization: Bearer $HANPAY_API_KEYS" \
  --max-examples "$examples" \
  --seed 13 \
  --workers 1 \
  --no-color
