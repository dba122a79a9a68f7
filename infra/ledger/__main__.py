"""`python -m infra.ledger`: run the local ledger until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .ledger import STANDALONE_PASSPHRASE
from .server import serve


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m infra.ledger", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001, help="0 picks a free port (printed when ready)")
    p.add_argument("--state-dir", default=".local/ledger", help="where the ledger is kept across restarts")
    p.add_argument("--close-interval", type=float, default=5.0, help="seconds between ledger closes")
    p.add_argument("--network-passphrase", default=STANDALONE_PASSPHRASE)
    p.add_argument(
        "--fault-file",
        help='test hook: a JSON file such as {"submit_timeout_next": 1}, read (and deleted) at the next '
        "submission, arming the same faults as POST /_test/faults",
    )
    p.add_argument("--verbose", action="store_true", help="log every HTTP request")
    args = p.parse_args(argv)
    if args.close_interval <= 0:
        p.error("--close-interval must be positive")

    running = serve(
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        network_passphrase=args.network_passphrase,
        close_interval=args.close_interval,
        fault_file=args.fault_file,
        verbose=args.verbose,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"ledger listening on {running.url}", flush=True)
    print(
        f"  network {args.network_passphrase!r}, root account {running.ledger.root.public_key}, "
        f"state {args.state_dir}",
        file=sys.stderr,
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
