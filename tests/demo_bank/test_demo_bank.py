"""The demo bank: incoming transfers (a deposit's off-chain funds) and outgoing payouts
(withdrawals), over HTTP and from the `python -m infra.demo_bank` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from infra.demo_bank.server import serve  # noqa: E402

NO_PROXY = {"http": None, "https": None}


def post(bank, path: str, body) -> requests.Response:
    return requests.post(f"{bank.url}{path}", json=body, timeout=5, proxies=NO_PROXY)


def get(bank, path: str, **params) -> requests.Response:
    return requests.get(f"{bank.url}{path}", params=params, timeout=5, proxies=NO_PROXY)


def test_an_incoming_transfer_is_recorded_and_listed_by_reference(bank):
    created = post(bank, "/transfers", {"reference": "MOOR-1A2B3C4D", "amount": "100.00"})
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["reference"] == "MOOR-1A2B3C4D"
    assert record["amount"] == "100.00"
    assert record["currency"] == "USD"
    assert isinstance(record["id"], int)
    assert record["created_at"].endswith("Z")
    post(bank, "/transfers", {"reference": "MOOR-OTHER", "amount": 5, "currency": "EUR"})

    listed = get(bank, "/transfers", reference="MOOR-1A2B3C4D").json()["transfers"]
    assert listed == [record]
    assert [t["reference"] for t in get(bank, "/transfers").json()["transfers"]] == ["MOOR-1A2B3C4D", "MOOR-OTHER"]


def test_since_lists_only_newer_transfers_oldest_first(bank):
    ids = [post(bank, "/transfers", {"reference": f"R{i}", "amount": "1"}).json()["id"] for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    newer = get(bank, "/transfers", since=ids[1]).json()["transfers"]
    assert [t["id"] for t in newer] == ids[2:]
    assert [t["id"] for t in get(bank, "/transfers", since=ids[1], limit=2).json()["transfers"]] == ids[2:4]
    assert get(bank, "/transfers", since=ids[-1]).json()["transfers"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "1"},
        {"reference": "", "amount": "1"},
        {"reference": "x" * 65, "amount": "1"},
        {"reference": "line\nbreak", "amount": "1"},
        {"reference": "R", "amount": "-1"},
        {"reference": "R", "amount": "0"},
        {"reference": "R", "amount": "1.00000001"},
        {"reference": "R", "amount": "NaN"},
        {"reference": "R", "amount": "ten"},
        {"reference": "R", "amount": True},
        {"reference": "R"},
        {"reference": "R", "amount": "1", "currency": "usd"},
        ["not", "an", "object"],
    ],
)
def test_bad_transfers_are_refused_and_nothing_is_recorded(bank, body):
    response = post(bank, "/transfers", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]
    assert get(bank, "/transfers").json()["transfers"] == []


def test_a_body_that_is_not_json_is_refused(bank):
    response = requests.post(f"{bank.url}/transfers", data=b"{", timeout=5, proxies=NO_PROXY)
    assert response.status_code == 400
    assert get(bank, "/transfers").json()["transfers"] == []


@pytest.mark.parametrize("params", [{"since": "x"}, {"since": "-1"}, {"limit": "0"}, {"limit": "201"}])
def test_bad_listing_parameters_are_refused(bank, params):
    assert get(bank, "/transfers", **params).status_code == 400


def test_a_payout_is_made_once_per_reference(bank):
    body = {"reference": "tx-1", "amount": "98.50", "account": "****6789"}
    first = post(bank, "/payouts", body)
    assert first.status_code == 201, first.text
    assert first.json()["account"] == "****6789"
    again = post(bank, "/payouts", {**body, "amount": "98.5"})  # the same amount, written otherwise
    assert again.status_code == 200
    assert again.json() == first.json()
    other = post(bank, "/payouts", {**body, "amount": "99"})
    assert other.status_code == 409
    assert other.json()["payout"] == first.json()
    assert get(bank, "/payouts").json()["payouts"] == [first.json()]
    assert post(bank, "/payouts", {"reference": "tx-2", "amount": "1"}).status_code == 400  # no account
    assert get(bank, "/payouts", reference="tx-2").json()["payouts"] == []


def test_unknown_paths_are_404(bank):
    assert get(bank, "/nope").status_code == 404
    assert post(bank, "/nope", {}).status_code == 404


def test_the_book_survives_a_restart(tmp_path):
    state = str(tmp_path / "bank")
    first = serve(port=0, state_dir=state)
    record = post(first, "/transfers", {"reference": "KEEP", "amount": "7"}).json()
    first.stop()
    second = serve(port=0, state_dir=state)
    try:
        assert get(second, "/transfers").json()["transfers"] == [record]
        assert post(second, "/transfers", {"reference": "NEXT", "amount": "1"}).json()["id"] > record["id"]
    finally:
        second.stop()


def command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infra.demo_bank", *args],
        cwd=REPO, capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})},
    )


def test_the_receive_command_records_a_transfer_at_the_running_bank(bank):
    done = command("receive", "--reference", "MOOR-CAFEBABE", "--amount", "25.10", "--url", bank.url)
    assert done.returncode == 0, done.stderr
    assert '"reference": "MOOR-CAFEBABE"' in done.stdout
    [transfer] = get(bank, "/transfers").json()["transfers"]
    assert (transfer["reference"], transfer["amount"], transfer["currency"]) == ("MOOR-CAFEBABE", "25.10", "USD")
    # DEMO_BANK_URL is the default bank; the listing command shows what arrived.
    listed = command("transfers", "--reference", "MOOR-CAFEBABE", env={"DEMO_BANK_URL": bank.url})
    assert listed.returncode == 0 and "25.10" in listed.stdout


def test_the_receive_command_fails_on_bad_input_or_no_bank(bank, unused_port):
    refused = command("receive", "--reference", "R", "--amount", "-3", "--url", bank.url)
    assert refused.returncode == 1 and "amount" in refused.stdout
    assert get(bank, "/transfers").json()["transfers"] == []
    down = command("receive", "--reference", "R", "--amount", "3", "--url", f"http://127.0.0.1:{unused_port}")
    assert down.returncode == 1 and "cannot be reached" in down.stderr


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_account_is_listed_once(bank):
    created = post(bank, "/accounts/closed", {"account": " de89 3704 0044 0532 0130 00 "})
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["account"] == "DE89370400440532013000"
    assert record["closed_at"].endswith("Z")
    again = post(bank, "/accounts/closed", {"account": "DE89370400440532013000"})
    assert again.status_code == 200
    assert again.json() == record
    assert get(bank, "/accounts/closed").json() == {"accounts": [record]}
    for body in ({}, {"account": ""}, {"account": "x" * 65}, {"account": 12}, ["DE89"]):
        assert post(bank, "/accounts/closed", body).status_code == 400, body
    assert get(bank, "/accounts/closed").json() == {"accounts": [record]}
    assert get(bank, "/").json()["closed_accounts"] == "/accounts/closed"


def test_a_payout_to_a_closed_account_is_refused_and_recorded_nowhere(bank):
    post(bank, "/accounts/closed", {"account": "DE89370400440532013000"})
    body = {"reference": "tx-9", "amount": "10", "account": "de89 3704 0044 0532 0130 00"}
    refused = post(bank, "/payouts", body)
    assert refused.status_code == 422, refused.text
    assert refused.json() == {"error": "account DE89370400440532013000 is closed", "code": "account_closed"}
    assert get(bank, "/payouts", reference="tx-9").json()["payouts"] == []
    # The same reference, paid to a good account, goes through; then it is the same payout.
    paid = post(bank, "/payouts", {**body, "account": "GB29NWBK60161331926819"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["account"] == "GB29NWBK60161331926819"
    assert post(bank, "/payouts", {**body, "account": "GB29NWBK60161331926819"}).status_code == 200
    # A payout made before its account closed is still the same payout when asked again.
    post(bank, "/accounts/closed", {"account": "GB29 NWBK 6016 1331 9268 19"})
    again = post(bank, "/payouts", {**body, "account": "GB29NWBK60161331926819"})
    assert again.status_code == 200 and again.json() == paid.json()
    # The reference paid: another account is a conflict, a closed one too.
    assert post(bank, "/payouts", body).status_code == 409
    assert get(bank, "/payouts").json()["payouts"] == [paid.json()]


def test_closed_accounts_survive_a_restart(tmp_path):
    state = str(tmp_path / "bank")
    first = serve(port=0, state_dir=state)
    post(first, "/accounts/closed", {"account": "DE89370400440532013000"})
    first.stop()
    second = serve(port=0, state_dir=state)
    try:
        refused = post(second, "/payouts", {"reference": "r", "amount": "1", "account": "DE89370400440532013000"})
        assert refused.status_code == 422
    finally:
        second.stop()


def test_the_close_account_command_closes_an_account_at_the_running_bank(bank):
    done = command("close-account", "de89 3704 0044 0532 0130 00", "--url", bank.url)
    assert done.returncode == 0, done.stderr
    assert '"account": "DE89370400440532013000"' in done.stdout
    again = command("close-account", "DE89370400440532013000", env={"DEMO_BANK_URL": bank.url})
    assert again.returncode == 0, again.stderr
    assert [a["account"] for a in get(bank, "/accounts/closed").json()["accounts"]] == ["DE89370400440532013000"]
    listed = command("closed-accounts", "--url", bank.url)
    assert listed.returncode == 0 and "DE89370400440532013000" in listed.stdout
    refused = command("close-account", "", "--url", bank.url)
    assert refused.returncode == 1 and "account" in refused.stdout
