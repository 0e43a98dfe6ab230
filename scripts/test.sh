#!/usr/bin/env bash
# The README's test command: makes sure a PostgreSQL server can be started for the tests
# (installs the server binaries with apt-get when none are found and HANPAY_TEST_DATABASE_URL
# is unset) and that chromium and chromedriver are there for the browser tests (apt-get
# when missing), then runs every test of the workspace with every feature, and the model test
# again on SQLite and PostgreSQL. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg_binaries() {
  local bindir
  bindir=$(pg_config --bindir 2>/dev/null || true)
  if [[ -n "$bindir" && -x "$bindir/initdb" && -x "$bindir/pg_ctl" ]]; then return 0; fi
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if [[ -z "${HANPAY_TEST_DATABASE_URL:-}" ]] && ! have_pg_binaries; then
  echo "== PostgreSQL server binaries not found: installing them (apt-get install postgresql)"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  if ! command -v apt-get >/dev/null; then
    echo "no apt-get: install PostgreSQL's server (initdb, pg_ctl) or set HANPAY_TEST_DATABASE_URL" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  have_pg_binaries || { echo "PostgreSQL was installed but initdb is still not found" >&2; exit 1; }
fi

# The browser tests (cli/tests/browser.rs) drive headless Chromium through chromedriver; they
# skip, loudly, only when no chromedriver is found. fonts-nanum renders the Korean labels in
# their screenshots.
if [[ -z "${HANPAY_CHROMEDRIVER:-}" ]] && ! command -v chromedriver >/dev/null; then
  echo "== chromedriver not found: installing chromium, chromium-driver and a Korean font (apt-get)"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  if command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver fonts-nanum >/dev/null
  else
    echo "no apt-get: install chromium and chromedriver (or set HANPAY_CHROMEDRIVER) to run the browser tests" >&2
  fi
fi

cargo test --workspace --all-features "$@"

# The model test on the durable stores too (the run above used the memory store): random
# lifecycles of every registered PG, 300 payments per PG, on SQLite and on PostgreSQL.
for backend in sqlite postgres; do
  echo "== model test on $backend"
  HANPAY_MODEL_BACKEND=$backend cargo test -p hanpay --all-features --test convergence -- model
done
