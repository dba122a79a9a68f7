"""The ambiguous submission (Horizon answers 504 though the transaction lands), duplicate
resubmission, and state surviving a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
from ledger_harness import REPO_ROOT, Chain, LedgerProcess
from stellar_sdk import Asset, Server
from stellar_sdk.client.requests_client import RequestsClient
from stellar_sdk.exceptions import BadResponseError


def _payment(chain, a, b, amount):
    env = chain.builder(a).append_payment_op(b.public_key, Asset.native(), amount).set_timeout(300).build()
    env.sign(a)
    return env


def test_504_but_landed_and_resubmission_does_not_pay_twice(chain, server, url):
    a, b = chain.fund(), chain.fund()
    r = requests.post(f"{url}/_test/faults", json={"submit_timeout_next": 1})
    assert r.status_code == 200 and r.json()["submit_timeout_next"] == 1
    env = _payment(chain, a, b, "10")
    # a plain POST, so that no client retry hides the 504
    r = requests.post(f"{url}/transactions", data={"tx": env.to_xdr()})
    assert r.status_code == 504
    assert r.headers["Content-Type"].startswith("application/problem+json")
    problem = r.json()
    assert (problem["type"], problem["title"], problem["status"]) == (
        "https://stellar.org/horizon-errors/timeout",
        "Timeout",
        504,
    )
    # the transaction is in a ledger all the same
    rec = server.transactions().transaction(env.hash_hex()).call()
    assert rec["successful"] is True
    assert chain.balance(b) == "10010.0000000"
    seq = chain.account(a)["sequence"]
    # resubmitting the same envelope answers with the existing record and applies nothing
    again = server.submit_transaction(env)
    assert again["hash"] == env.hash_hex() and again["ledger"] == rec["ledger"]
    assert chain.balance(b) == "10010.0000000"
    assert chain.balance(a) == "9989.9999900"
    assert chain.account(a)["sequence"] == seq
    assert requests.get(f"{url}/_test/faults").json()["submit_timeout_next"] == 0


def test_sdk_retry_after_504_pays_once(chain, server, url):
    # The SDK's default client retries a POST answered 504; the retry finds the landed transaction.
    a, b = chain.fund(), chain.fund()
    requests.post(f"{url}/_test/faults", json={"submit_timeout_next": 1})
    rec = server.submit_transaction(_payment(chain, a, b, "2"))
    assert rec["successful"] is True
    assert chain.balance(b) == "10002.0000000"
    no_retry = Server(url, client=RequestsClient(num_retries=0))
    requests.post(f"{url}/_test/faults", json={"submit_timeout_next": 1})
    with pytest.raises(BadResponseError) as e:
        no_retry.submit_transaction(_payment(chain, a, b, "3"))
    assert e.value.status == 504 and e.value.type == "https://stellar.org/horizon-errors/timeout"
    assert chain.balance(b) == "10005.0000000"


def test_early_504_then_lands(chain, server, url):
    a, b = chain.fund(), chain.fund()
    requests.post(f"{url}/_test/faults", json={"submit_timeout_early_next": 1})
    env = _payment(chain, a, b, "3")
    r = requests.post(f"{url}/transactions", data={"tx": env.to_xdr()})
    assert r.status_code == 504 and r.headers["Content-Type"].startswith("application/problem+json")
    # resubmitting while it is queued joins it: one payment, answered when the ledger closes
    rec = server.submit_transaction(env)
    assert rec["successful"] is True
    assert chain.balance(b) == "10003.0000000"


def test_fault_file_and_restart_keep_state(tmp_path):
    fault_file = tmp_path / "faults.json"
    proc = LedgerProcess(tmp_path / "state", fault_file=fault_file).start()
    try:
        chain = Chain(proc.url, Server(proc.url))
        a, b = chain.fund(), chain.fund()
        fault_file.write_text(json.dumps({"submit_timeout_next": 1}))
        env = _payment(chain, a, b, "12.5")
        r = requests.post(f"{proc.url}/transactions", data={"tx": env.to_xdr()})
        assert r.status_code == 504
        assert not fault_file.exists()  # consumed
        assert chain.balance(b) == "10012.5000000"
        latest = chain.server.root().call()["history_latest_ledger"]
        paid_ledger = chain.server.transactions().transaction(env.hash_hex()).call()["ledger"]
    finally:
        assert proc.stop() == 0, "".join(proc.stderr)

    time.sleep(0.3)
    proc = LedgerProcess(tmp_path / "state").start()
    try:
        chain = Chain(proc.url, Server(proc.url))
        assert chain.balance(b) == "10012.5000000"
        assert chain.balance(a) == "9987.4999900"
        rec = chain.server.transactions().transaction(env.hash_hex()).call()
        assert rec["ledger"] == paid_ledger
        assert chain.server.root().call()["history_latest_ledger"] >= latest
        pays = chain.server.payments().for_account(b.public_key).call()["_embedded"]["records"]
        assert [p["type"] for p in pays] == ["create_account", "payment"]
        # and the ledger carries on: sequence numbers continue, new ledgers follow the old ones
        res = chain.submit(chain.builder(a).append_payment_op(b.public_key, Asset.native(), "1"), a)
        assert res["ledger"] > paid_ledger
        assert chain.balance(b) == "10013.5000000"
        # the resubmitted old envelope is still recognised after the restart
        assert chain.server.submit_transaction(env)["ledger"] == paid_ledger
    finally:
        assert proc.stop() == 0, "".join(proc.stderr)


def test_other_network_state_is_refused(tmp_path):
    proc = LedgerProcess(tmp_path / "state").start()
    proc.stop()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.ledger",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "state"),
            "--network-passphrase",
            "Test SDF Network ; September 2015",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode != 0 and "Standalone Network" in out.stderr
