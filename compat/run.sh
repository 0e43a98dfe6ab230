#!/usr/bin/env bash
# Official-SDK compatibility: PortOne's own server SDKs, pinned, driven against FakePortOne on
# 127.0.0.1:0 by FakePortOne's portone_compat example (portone/fake/examples) (typed calls for every payment status,
# cancels, pre-registration, billing-key and instant payments, the documented errors, then
# Webhook.verify on every webhook the fake sent). Needs node >= 20 and python3 >= 3.9 with pip; the
# only network use is the package install (npm ci from the committed lockfile, pip from the
# pinned requirements).
set -euo pipefail
cd "$(dirname "$0")/.."

js=compat/portone-js
py=compat/portone-py

# The lockfile must name packages by registry version and integrity only.
if grep -E '"resolved": *"' "$js/package-lock.json" | grep -Eqv '"resolved": *"https://'; then
  echo "compat: $js/package-lock.json resolves a package outside the registry" >&2; exit 1
fi
if grep -Eq '"(git\+|file:|github:)' "$js/package-lock.json"; then
  echo "compat: $js/package-lock.json names a git or file dependency" >&2; exit 1
fi
missing=$(node -e '
  const lock = require(process.argv[1]);
  const bad = Object.entries(lock.packages).filter(([k, v]) => k && !v.integrity).map(([k]) => k);
  console.log(bad.join(" "));' "$PWD/$js/package-lock.json")
if [ -n "$missing" ]; then
  echo "compat: no integrity in $js/package-lock.json for: $missing" >&2; exit 1
fi

# Both installs at once (each is mostly waiting on its registry), and the harness build meanwhile.
(cd "$js" && npm ci --no-audit --no-fund --loglevel=error) &
npm_pid=$!
# Every dependency is pinned in the requirements file, so pip resolves nothing (--no-deps).
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
  --no-deps --upgrade --target "$py/.deps" -r "$py/requirements.txt" &
pip_pid=$!
# The same features as the workspace test run (`cargo test --workspace --all-features`), so
# after it nothing is rebuilt.
cargo build --quiet --workspace --all-features --bin hanpay --example portone_compat
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => console.log(JSON.parse(s).target_directory));')
export HANPAY_BIN="$target_dir/debug/hanpay"
harness="$target_dir/debug/examples/portone_compat"
wait "$npm_pid"
wait "$pip_pid"

status=0
"$harness" node "$js/run.mjs" || status=1
PYTHONPATH="$PWD/$py/.deps" "$harness" python3 "$py/run.py" || status=1
exit "$status"
