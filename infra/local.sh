#!/usr/bin/env bash
# README command one: the whole anchor on this machine, offline.
#
#   - a local AWS (ministack) running the real template.yaml: the functions built for this
#     machine, deployed with the ordinary CloudFormation package/deploy commands;
#   - the front door on http://localhost:8000 serving the HTTP API at the root;
#   - the local Stellar ledger (a Horizon-compatible server) on 127.0.0.1:8001, with the anchor's
#     issuer and distribution accounts funded and the demo asset issued;
#   - the demo bank of the reference rail on 127.0.0.1:8002 (infra/demo_bank): a deposit's funds
#     "arrive" with `.venv/bin/python -m infra.demo_bank receive --reference MOOR-... --amount 100`.
#
# Keys, logs and state live in .local/stack (delete it to start afresh). Ports: MOORING_PORT,
# MOORING_AWS_PORT, MOORING_LEDGER_PORT, MOORING_BANK_PORT. To use the real testnet instead of the local ledger:
#   HORIZON_URL=https://horizon-testnet.stellar.org \
#   NETWORK_PASSPHRASE="Test SDF Network ; September 2015" bash infra/local.sh
# NETWORK_PASSPHRASE without HORIZON_URL runs the LOCAL ledger under that passphrase (its state
# in .local/stack/ledger-<hash>, beside the default network's). WEB_AUTH_DOMAIN sets the
# web_auth_domain of SEP-10 challenges (template parameter WebAuthDomain; default the front
# door's host:port). For the official TypeScript wallet SDK, which allows http only on testnet
# and compares web_auth_domain with the host without its port (README, "Wallet developers"):
#   NETWORK_PASSPHRASE="Test SDF Network ; September 2015" WEB_AUTH_DOMAIN=localhost bash infra/local.sh
# MOORING_SIGNING_KEY=seed keeps the SEP-10 key as a seed in Secrets Manager (SIGNING_SEED of
# anchor.env) instead of a KMS key of the local AWS (the default, as in production); the
# benchmark (tests/bench/lambda.sh) measures logins with it.
# Re-running updates the stack in place; Ctrl-C stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 (3.11+) is required" >&2; exit 1; }
bash infra/venv.sh .venv infra/requirements.txt
exec .venv/bin/python -m infra.local_stack up "$@"
