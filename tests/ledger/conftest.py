"""Fixtures for the local ledger's tests.

The ledger runs as a real subprocess (`python -m infra.ledger`) on a free port with a temporary
state directory and a short close interval; the tests talk to it with the Python stellar-sdk's
`Server` and `TransactionBuilder`, as a Horizon client would.
"""

from __future__ import annotations

import pytest
from ledger_harness import Chain, LedgerProcess
from stellar_sdk import Server


@pytest.fixture(scope="session")
def ledger(tmp_path_factory):
    proc = LedgerProcess(tmp_path_factory.mktemp("ledger-state")).start()
    yield proc
    assert proc.stop() == 0, "".join(proc.stderr)


@pytest.fixture(scope="session")
def url(ledger) -> str:
    return ledger.url


@pytest.fixture(scope="session")
def server(url) -> Server:
    return Server(horizon_url=url)


@pytest.fixture(scope="session")
def chain(url, server) -> Chain:
    return Chain(url, server)
