"""`python -m infra.demo_bank`: the demo bank of the reference rail.

    python -m infra.demo_bank serve [--port 8002] [--state-dir .local/demo_bank]
    python -m infra.demo_bank receive --reference MOOR-1A2B3C4D --amount 100.00 [--currency USD]
    python -m infra.demo_bank transfers [--reference R]      # what arrived
    python -m infra.demo_bank payouts [--reference R]        # what was paid out
    python -m infra.demo_bank close-account DE89370400440532013000   # refuse payouts to it
    python -m infra.demo_bank closed-accounts                # the accounts closed

`receive` marks a deposit's funds received: it records an incoming transfer carrying the
reference the deposit's instructions page showed, at the running bank (DEMO_BANK_URL, or
http://127.0.0.1:$MOORING_BANK_PORT, 8002 by default). `close-account` closes an account at the
running bank: new payouts to it are refused (422), e.g. to try a SEP-31 receiver's bank details
being rejected.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

from .server import serve


def default_url() -> str:
    return os.environ.get("DEMO_BANK_URL") or f"http://127.0.0.1:{os.environ.get('MOORING_BANK_PORT', '8002')}"


def call(url: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url.rstrip("/") + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    # Loopback: never through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.demo_bank", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the bank until SIGINT or SIGTERM")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=int(os.environ.get("MOORING_BANK_PORT", 8002)), help="0: a free port")
    run.add_argument("--state-dir", default=".local/demo_bank")
    run.add_argument("--verbose", action="store_true", help="log every HTTP request")
    receive = commands.add_parser("receive", help="record an incoming transfer (a deposit's funds arrived)")
    receive.add_argument("--reference", required=True, help="the reference shown with the deposit instructions")
    receive.add_argument("--amount", required=True, help="e.g. 100.00")
    receive.add_argument("--currency", default="USD")
    receive.add_argument("--sender", help="who sent it (free text)")
    for name in ("transfers", "payouts"):
        listing = commands.add_parser(name, help=f"list the {name}")
        listing.add_argument("--reference")
    close = commands.add_parser("close-account", help="close an account: new payouts to it are refused")
    close.add_argument("account", help="the account number, e.g. an IBAN (spaces and case do not matter)")
    commands.add_parser("closed-accounts", help="list the closed accounts")
    for sub in commands.choices.values():
        if sub is not run:
            sub.add_argument("--url", default=default_url(), help="the running bank (default %(default)s)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        running = serve(args.host, args.port, args.state_dir, args.verbose)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        print(f"demo bank listening on {running.url}", flush=True)
        while not stop.wait(0.5):
            pass
        running.stop()
        return 0

    try:
        if args.command == "receive":
            body = {"reference": args.reference, "amount": args.amount, "currency": args.currency}
            if args.sender:
                body["sender"] = args.sender
            status, answer = call(args.url, "POST", "/transfers", body)
        elif args.command == "close-account":
            status, answer = call(args.url, "POST", "/accounts/closed", {"account": args.account})
        elif args.command == "closed-accounts":
            status, answer = call(args.url, "GET", "/accounts/closed")
        else:
            query = f"?{urllib.parse.urlencode({'reference': args.reference})}" if args.reference else ""
            status, answer = call(args.url, "GET", f"/{args.command}{query}")
    except (OSError, ValueError) as error:
        print(f"the demo bank at {args.url} cannot be reached: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=1))
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
