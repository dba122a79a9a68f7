"""`python -m infra.local_stack up [--port 8000]`: README command one.

`python -m infra.local_stack env`: the shell exports that point AWS clients (mooring-admin, the
AWS CLI) at a running local stack: `eval "$(.venv/bin/python -m infra.local_stack env)"`."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import threading
import time
from pathlib import Path

from .aws import client_settings
from .lambda_logs import LambdaLogTail
from .stack import LOCAL_PASSPHRASE, LocalStack, Settings

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local_stack")
    parser.add_argument("command", choices=["up", "env"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("MOORING_PORT", 8000)))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("MOORING_AWS_PORT", 4570)))
    parser.add_argument("--ledger-port", type=int, default=int(os.environ.get("MOORING_LEDGER_PORT", 8001)))
    parser.add_argument("--bank-port", type=int, default=int(os.environ.get("MOORING_BANK_PORT", 8002)))
    parser.add_argument("--watch-port", type=int, default=int(os.environ.get("MOORING_WATCH_PORT", 9000)))
    parser.add_argument("--work-dir", type=Path, default=REPO / ".local" / "stack")
    args = parser.parse_args()
    if args.command == "env":
        print_client_env(args.aws_port)
        return

    horizon_url = os.environ.get("HORIZON_URL") or None
    passphrase = os.environ.get("NETWORK_PASSPHRASE") or LOCAL_PASSPHRASE
    if horizon_url and not os.environ.get("NETWORK_PASSPHRASE"):
        raise SystemExit("HORIZON_URL is set: set NETWORK_PASSPHRASE to that network's passphrase too")
    signing_key = os.environ.get("MOORING_SIGNING_KEY", "kms").strip() or "kms"
    if signing_key not in ("kms", "seed"):
        raise SystemExit(f"MOORING_SIGNING_KEY={signing_key!r}: give kms (the default) or seed")
    settings = Settings(
        repo=REPO,
        work_dir=args.work_dir,
        port=args.port,
        aws_port=args.aws_port,
        ledger_port=args.ledger_port,
        bank_port=args.bank_port,
        watch_port=args.watch_port,
        horizon_url=horizon_url,
        network_passphrase=passphrase,
        web_auth_domain=os.environ.get("WEB_AUTH_DOMAIN", "").strip(),
        log_level=os.environ.get("RUST_LOG", "info"),
        signing_in_kms=signing_key == "kms",
    )
    started = time.monotonic()
    stack = LocalStack(settings)
    stop = threading.Event()
    # Ctrl-C (SIGINT), kill (SIGTERM) and a closed terminal (SIGHUP) all stop everything; SIGINT
    # is set explicitly because a shell's background job starts with it ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, lambda *_: stop.set())
    try:
        stack.up()
        k = stack.keys
        wallet_hint = f".venv/bin/python tests/e2e/sep24_wallet.py {settings.home_domain}"
        print(
            f"""
Mooring is running ({time.monotonic() - started:.0f} s to start).
  home domain       {settings.home_domain}
  stellar.toml      {settings.public_url}/.well-known/stellar.toml
  SEP-10 endpoint   {settings.public_url}/auth (web_auth_domain {settings.web_auth_domain or settings.home_domain})
  signing key       {k.signing.public_key} ({f'KMS key alias/{settings.stack}-signing' if settings.signing_in_kms else 'SIGNING_SEED of anchor.env, in Secrets Manager'})
  network           {passphrase}
  Horizon           {stack.horizon_url}{'' if horizon_url else ' (local ledger; friendbot at /friendbot?addr=G...)'}
  asset             {settings.asset_code}:{k.issuer.public_key}
  distribution      {k.distribution.public_key}
  channels          {settings.channel_count} accounts derived from CHANNEL_SEED in anchor.env, paying deposits{'' if not horizon_url else ' (fund them: python -m infra.local_stack.channels <CHANNEL_SEED> ' + str(settings.channel_count) + ' lists them)'}
  SEP-6             {settings.public_url}/sep6 (programmatic deposit/withdraw; try it: curl {settings.public_url}/sep6/info)
  SEP-24            {settings.public_url}/sep24 (deposit/withdraw interactive; try it: {wallet_hint})
  SEP-31            {settings.public_url}/sep31 (receiving anchor; any SEP-10 account is a sending anchor here; try it: curl {settings.public_url}/sep31/info)
  SEP-38            {settings.public_url}/sep38 (quotes: {settings.asset_code} for iso4217:USD and back; try
                    curl '{settings.public_url}/sep38/price?sell_asset=iso4217:USD&buy_asset=stellar:{settings.asset_code}:{k.issuer.public_key}&sell_amount=100&context=sep24')
  demo bank         {settings.bank_url} (the reference rail's bank account: incoming transfers, payouts)
  local AWS         {stack.aws.endpoint} (AWS_ENDPOINT_URL; credentials test/test, us-east-1)
  keys and logs     {settings.work_dir}
  cargo lambda      cargo-lambda.env and cargo-lambda.toml in {settings.work_dir} serve any function on
                    http://localhost:{settings.watch_port} against this stack (README, "Running single functions")
A deposit's funds arrive at the bank when its user pays with the reference of the instructions page:
  curl -X POST {settings.bank_url}/transfers -H 'Content-Type: application/json' \\
       -d '{{"reference": "MOOR-XXXXXXXX", "amount": "100.00", "currency": "USD"}}'
  (or: .venv/bin/python -m infra.demo_bank receive --reference MOOR-XXXXXXXX --amount 100.00)
The deposit poller (every minute) then sees it and the Stellar submitter pays it on the ledger;
a withdrawal is paid out at the bank once the payment watcher (every minute) sees the user's payment,
and a SEP-31 payment goes to the outgoing-payments worker once it sees the sending anchor's.
Verification codes of the reference KYC, warnings and errors of the functions appear below.
Ctrl-C stops everything.""",
            flush=True,
        )
        LambdaLogTail(stack.aws, say=lambda line: print(line, flush=True)).start()
        while not stop.wait(1):
            dead = stack.processes.check_alive()
            if dead:
                print(f"{dead} stopped unexpectedly:\n{stack.processes.tail(dead)}")
                break
    finally:
        print("stopping ...", flush=True)
        stack.down()


def print_client_env(aws_port: int) -> None:
    settings = client_settings(f"http://127.0.0.1:{aws_port}")
    settings["MOORING_STACK"] = Settings.stack
    for name, value in settings.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
