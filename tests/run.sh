#!/usr/bin/env bash
# Runs every check and test (README command two): formatting, clippy with warnings denied,
# the template lint, unit and handler tests, the local ledger's tests, and the end-to-end tests
# in which the Python stellar-sdk (an independent Stellar implementation) drives the anchor,
# in-process and deployed in the local stack (template.yaml in ministack, on free ports).
# Installs what it needs into .venv on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Python tools (.venv: stellar-sdk, pytest, cfn-lint, ministack, AWS CLI)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt

step "Rust toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml

step "cargo test (unit and handler tests)"
cargo test --workspace --quiet

step "local ledger, local stack and end-to-end tests (a Python stellar-sdk wallet drives the anchor)"
cargo build --quiet -p local-gateway
MOORING_LOCAL_BIN="$PWD/target/debug/mooring-local" .venv/bin/python -m pytest tests/ledger tests/e2e -q
