#!/usr/bin/env bash
# Runs every check and test (README command two): formatting, clippy with warnings denied,
# the template lint, unit and handler tests, and the end-to-end tests in which the Python
# stellar-sdk (an independent Stellar implementation) drives the anchor.
# Installs what it needs into .venv on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Python tools (.venv: stellar-sdk, pytest, cfn-lint)"
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

step "end-to-end tests (Python stellar-sdk wallet against the running anchor)"
cargo build --quiet -p local-gateway
MOORING_LOCAL_BIN="$PWD/target/debug/mooring-local" .venv/bin/python -m pytest tests/e2e -q
