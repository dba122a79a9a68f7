#!/usr/bin/env bash
# What Lambda bills, measured (README, "Performance"); a benchmark, never run by the tests.
#
#   bash tests/bench/lambda.sh                  # CPU per operation, peak RSS, cold starts
#   bash tests/bench/lambda.sh --rss 200000     # ... and RSS over 200,000 invocations per function
#   bash tests/bench/lambda.sh --only sep10-auth --operations 5000
#
# Builds the HTTP functions' release bootstraps (the deployed profile, for this machine) and
# the bench (tests/bench/lambda: a local Runtime API and HTTP API front, and the hello-world
# floor), then measures them against the local stack's DynamoDB and ledger: the running one
# if `bash infra/local.sh` is up, else one it starts for the run (log: target/bench/local-stack.log).
# The SEP-10 key must be a seed, as the login targets assume (a running stack with its key in
# KMS is refused): `MOORING_SIGNING_KEY=seed bash infra/local.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --quiet -p lambda-bench -p sep1-toml -p sep10-auth -p sep12-kyc \
    -p sep24-transfer -p sep24-interactive

env_file=.local/stack/functions/sep10-auth.env
port="${MOORING_PORT:-8000}"
if curl -sf -o /dev/null "http://localhost:$port/.well-known/stellar.toml"; then
    [ -f "$env_file" ] || { echo "$env_file is missing: restart the local stack" >&2; exit 1; }
else
    mkdir -p target/bench
    rm -rf .local/stack/functions
    MOORING_SIGNING_KEY=seed bash infra/local.sh > target/bench/local-stack.log 2>&1 &
    stack=$!
    trap 'kill -INT $stack 2>/dev/null; wait $stack 2>/dev/null || true' EXIT
    echo "starting the local stack (log: target/bench/local-stack.log) ..." >&2
    for _ in $(seq 1 1800); do
        [ -f "$env_file" ] && curl -sf -o /dev/null "http://localhost:$port/.well-known/stellar.toml" && break
        kill -0 $stack 2>/dev/null || { tail -20 target/bench/local-stack.log >&2; exit 1; }
        sleep 1
    done
fi

"${CARGO_TARGET_DIR:-target}/release/lambda-bench" --env-dir .local/stack/functions "$@"
