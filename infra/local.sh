#!/usr/bin/env bash
# Runs the whole anchor locally on http://localhost:8000 (README command one).
#
# Serves every function in-process through `mooring-local` with a development configuration kept
# in .local/anchor.env (created on first run: a fresh signing key and JWT secret). Override any
# setting in the environment, e.g. HORIZON_URL=... or MOORING_PORT=8100. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${MOORING_PORT:-8000}"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
cargo build --quiet -p local-gateway
gateway=target/debug/mooring-local

mkdir -p .local
env_file=.local/anchor.env
if [ ! -f "$env_file" ]; then
  {
    echo "# Local development settings for Mooring, created by infra/local.sh. Secrets: keep private."
    "$gateway" keygen
    echo "JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } > "$env_file"
  chmod 600 "$env_file"
fi
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a

export HOME_DOMAIN="${HOME_DOMAIN:-localhost:$port}"
export PUBLIC_URL="${PUBLIC_URL:-http://localhost:$port}"
export NETWORK_PASSPHRASE="${NETWORK_PASSPHRASE:-Test SDF Network ; September 2015}"
export ORG_NAME="${ORG_NAME:-Mooring local anchor}"
# Wallets on this machine may attest a client_domain served over plain http from localhost.
export SEP10_CLIENT_DOMAIN_ALLOW_INSECURE="${SEP10_CLIENT_DOMAIN_ALLOW_INSECURE:-true}"
export MOORING_LOCAL_ADDR="127.0.0.1:$port"
export RUST_LOG="${RUST_LOG:-info}"

horizon="${HORIZON_URL:-the SDF Horizon of the network}"
cat <<INFO
Mooring is starting on http://localhost:$port
  home domain      $HOME_DOMAIN
  stellar.toml     $PUBLIC_URL/.well-known/stellar.toml
  SEP-10 endpoint  $PUBLIC_URL/auth
  signing key      $SIGNING_KEY
  network          $NETWORK_PASSPHRASE
  Horizon          $horizon
Settings: $env_file (delete it for new keys). Ctrl-C stops the anchor.
INFO
exec "$gateway"
