"""Mooring's local Stellar ledger: a small Horizon-compatible server for offline development and tests.

It keeps real ledger state (accounts, trustlines, signers, data, claimable balances), validates and
applies transactions like stellar-core, closes a ledger on a timer and answers with Horizon's JSON.
All XDR, hashing, strkeys and signature checks go through the Python stellar-sdk, an implementation
independent of Mooring's Rust code, so encoding mistakes there are caught here.

Run it with `python -m infra.ledger --help`; embed it with `serve(...)` or `Ledger`.
"""

from .ledger import STANDALONE_PASSPHRASE, Ledger
from .server import serve

__all__ = ["Ledger", "serve", "STANDALONE_PASSPHRASE"]
