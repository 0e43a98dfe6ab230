#!/usr/bin/env bash
# `hanpay serve` from Python, on the sandbox (SQLite in a temporary directory):
# 1. events out: a card payment confirmed through the REST API reaches a Python receiver that
#    verifies it with the official `standardwebhooks` package (compat/serve_receiver.py);
# 2. a property-based API tester: schemathesis reads /openapi.json and generates requests for every
#    documented operation, checking that no answer is a server error (5xx) and that every answer
#    matches the documented schema; every event it causes must verify too.
# Both pinned, in a venv under target/. Needs python3 >= 3.9 with venv; the only network use is
# the pip install. Usage: compat/serve.sh [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-40}"

target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
venv="$target_dir/schemathesis-venv"
if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5" \
    "hypothesis==6.170.17" "standardwebhooks==1.0.0"
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

"$bin" sandbox --addr 127.0.0.1:0 >"$work/sandbox.txt" 2>&1 &
pids+=($!)
wait_for "$work/sandbox.txt" "Ctrl-C stops"
# The sandbox prints the variables an application sets (`export NAME=value`).
eval "$(sed -n 's/^  export \([A-Z_]*=[^ ]*\).*/export \1/p' "$work/sandbox.txt")"
export HANPAY_DATABASE_URL="sqlite://$work/hanpay.db"
export HANPAY_API_KEYS="compat-serve-key-0123456789abcdef"
# The application's event endpoint, in Python.
export HANPAY_EVENTS_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"$venv/bin/python" compat/serve_receiver.py "$HANPAY_EVENTS_SECRET" "$work/receiver.port" \
  "$work/events.log" &
pids+=($!)
wait_for "$work/receiver.port" "[0-9]"
export HANPAY_EVENTS_URL="http://127.0.0.1:$(cat "$work/receiver.port")/events"
RUST_LOG=warn "$bin" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>"$work/serve.txt" &
pids+=($!)
wait_for "$work/serve.txt" "listening on"
base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.txt")

# 1. A card payment: the customer authenticates at the fake Toss, the platform confirms through
# the REST API, and the payment.paid event reaches the Python receiver, verified.
session=$(curl -sf -XPOST "$TOSS_API_BASE_URL/__fake/sessions" -H 'content-type: application/json' \
  -d '{"orderId":"compat-order-0001","amount":58000,"method":"card"}')
payment_key=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["paymentKey"])' <<<"$session")
curl -sf -XPOST "$base/v1/payments/confirm" -H "Authorization: Bearer $HANPAY_API_KEYS" \
  -H 'content-type: application/json' -H 'Idempotency-Key: compat-confirm-1' \
  -d "{\"payment_key\":\"$payment_key\",\"order_id\":\"compat-order-0001\",\"amount\":58000}" >/dev/null
wait_for "$work/events.log" "ok payment.paid evt_"
echo "standardwebhooks (Python) verified: $(head -1 "$work/events.log")"

# 2. From the temporary directory: schemathesis keeps its example database in the current one.
cd "$work"
"$venv/bin/st" run "$base/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --header "Authorization: Bearer $HANPAY_API_KEYS" \
  --max-examples "$examples" \
  --seed 13 \
  --workers 1 \
  --no-color

if grep -q FAILED "$work/events.log"; then
  echo "compat/serve.sh: an event did not verify with standardwebhooks:" >&2
  grep FAILED "$work/events.log" >&2
  exit 1
fi
echo "events verified by standardwebhooks (Python): $(grep -c '^ok ' "$work/events.log")"
