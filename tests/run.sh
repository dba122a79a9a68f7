#!/usr/bin/env bash
# Runs every check and test (README command two): formatting, clippy with warnings denied,
# the template lint, unit and handler tests, a short run of every fuzz target (fuzz/run.sh), the
# local ledger's tests, and the end-to-end tests
# in which the Python stellar-sdk (an independent Stellar implementation) drives the anchor,
# in-process and deployed in the local stack (template.yaml in ministack, on free ports).
# Installs what it needs on first run: Python tools into .venv, Debian's chromium and
# playwright-core (tests/browser) for the tests of the interactive pages in a real browser, and
# the official TypeScript wallet SDK (tests/wallet-sdk) that drives a local stack in one test.
set -euo pipefail
cd "$(dirname "$0")/.."

run_start=$(date +%s)
# Each step's heading shows the seconds since the start: where the run's time goes.
step() { printf '\n==> %s  [%ss]\n' "$*" "$(( $(date +%s) - run_start ))"; }

step "Python tools (.venv: stellar-sdk, pytest, cfn-lint, ministack, AWS CLI)"
bash infra/venv.sh .venv tests/requirements.txt

step "Browser for the interactive-page tests (Debian's chromium, driven by playwright-core)"
# Debian's chromium at /usr/bin/chromium (nothing downloads a browser of its own), installed with
# apt when missing: as root, or through sudo; the package lists are refreshed only if the install
# fails without. playwright-core is pinned in tests/browser/package-lock.json; `npm ci` runs again
# only when that lock changed since the last install.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
if [ ! -x /usr/bin/chromium ]; then
  apt_log=$(mktemp)
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$apt_log" 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$apt_log" 2>&1 || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$apt_log" 2>&1 \
      || { echo "cannot install chromium (apt-get install chromium):" >&2; tail -20 "$apt_log" >&2; exit 1; }
  fi
  rm -f "$apt_log"
fi
command -v node >/dev/null || { echo "node (20+) and npm are required for the browser tests" >&2; exit 1; }
lock_sum=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
installed_sum=tests/browser/node_modules/.mooring-lock-sha256
if [ ! -d tests/browser/node_modules/playwright-core ] || [ "$(cat "$installed_sum" 2>/dev/null)" != "$lock_sum" ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" >"$installed_sum"
fi

step "The official TypeScript wallet SDK (tests/wallet-sdk), which drives the anchor in one test"
# @stellar/typescript-wallet-sdk is pinned in tests/wallet-sdk/package-lock.json; `npm ci` runs
# again only when that lock changed since the last install.
lock_sum=$(sha256sum tests/wallet-sdk/package-lock.json | cut -d' ' -f1)
installed_sum=tests/wallet-sdk/node_modules/.mooring-lock-sha256
if [ ! -d tests/wallet-sdk/node_modules/@stellar/typescript-wallet-sdk ] || [ "$(cat "$installed_sum" 2>/dev/null)" != "$lock_sum" ]; then
  (cd tests/wallet-sdk && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" >"$installed_sum"
fi

step "Rust toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --quiet --features mooring/dynamodb,mooring/sqs,mooring/testing -- -D warnings

step "cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml

step "sam validate --lint (the SAM CLI of README \"Deploying to AWS\", offline)"
# The SAM CLI pins a boto3 that the AWS CLI of .venv cannot share: it has a venv of its own.
bash infra/venv.sh .venv-sam tests/sam-requirements.txt
SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template-file template.yaml
SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --region us-east-1 --template-file template.yaml

step "AWS emulator for the adapter tests (ministack; the tables and queues of template.yaml)"
# A clean environment as in infra/local_stack/aws.py, a free loopback port, state in a temp dir;
# stopped when the tests are done or the script exits early.
aws_state=$(mktemp -d)
aws_port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
aws_endpoint="http://127.0.0.1:$aws_port"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" LANG=C.UTF-8 BIND_HOST=127.0.0.1 GATEWAY_PORT="$aws_port" \
  AWS_ENDPOINT_URL="$aws_endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_DEFAULT_REGION=us-east-1 STATE_DIR="$aws_state" LOG_LEVEL=WARNING \
  .venv/bin/ministack >"$aws_state/ministack.log" 2>&1 &
ministack_pid=$!
stop_ministack() {
  if [ -n "${ministack_pid:-}" ]; then
    kill "$ministack_pid" 2>/dev/null || true
    wait "$ministack_pid" 2>/dev/null || true
    ministack_pid=
  fi
  rm -rf "$aws_state"
}
trap stop_ministack EXIT
for attempt in $(seq 1 120); do
  if curl -fs -o /dev/null "$aws_endpoint/_ministack/health"; then break; fi
  if [ "$attempt" = 120 ] || ! kill -0 "$ministack_pid" 2>/dev/null; then
    echo "ministack did not start:" >&2; cat "$aws_state/ministack.log" >&2; exit 1
  fi
  sleep 0.5
done
# Prints `export MOORING_TEST_...=...` lines (the endpoint and each table's name).
table_env=$(.venv/bin/python -m infra.local_stack.tables --endpoint "$aws_endpoint" --prefix mooring-test)
eval "$table_env"

step "cargo test (unit and handler tests; the DynamoDB adapter against the emulator)"
cargo test --workspace --features mooring/dynamodb,mooring/sqs,mooring/testing --quiet

step "cargo test: the SEP-24 deposit on the minimal example integration (the seam in shared/integrations)"
# The README's command, from the workspace root: the workspace's feature resolution, so that only
# the crates the feature touches build again.
cargo test --features sep24-interactive/example-minimal --test minimal_integration --quiet
stop_ministack

step "fuzzing: a short run of every fuzz target (fuzz/run.sh; stable toolchain, libFuzzer)"
# ${FUZZ_SECONDS:-5} s per target; a crash fails the run and names its input.
bash fuzz/run.sh "${FUZZ_SECONDS:-5}"

step "local ledger, local stack and end-to-end tests (a Python stellar-sdk wallet drives the anchor)"
# Every binary once, in the workspace's feature resolution: the local stack's functions,
# mooring-local, mooring-admin and `cargo lambda watch` reuse this build (the example a test runs
# reuses the test build: examples resolve with the dev-dependencies). A `-p` build would resolve
# features for that package alone and compile the shared crates again.
cargo build --quiet --workspace --bins
MOORING_LOCAL_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/mooring-local" .venv/bin/python -m pytest tests/ledger tests/demo_bank tests/e2e -q --durations=12
