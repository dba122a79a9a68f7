"""The operator's console, `mooring-admin`, on the DEPLOYED local stack (issue 16), run as the
README's operator's section runs it (`cargo run -q --bin mooring-admin -- ...`, pointed at the
local AWS by the exports of `python -m infra.local_stack env`): it finds the stack's tables and
queues from CloudFormation, lists and shows transactions with their history, refuses what no
worker takes, asks before it acts, and records who did what; an `on_hold` withdrawal it refunds
is paid back on the ledger once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from infra.local_stack.aws import client_settings  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def admin(stack):
    subprocess.run(["cargo", "build", "-q", "--bin", "mooring-admin"], cwd=REPO, check=True, timeout=900)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(client_settings(stack.aws.endpoint), MOORING_STACK=stack.settings.stack)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["cargo", "run", "-q", "--bin", "mooring-admin", "--", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    return run


def as_json(done: subprocess.CompletedProcess):
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


def test_it_lists_shows_asks_retries_and_expires_a_deposit(admin, pipeline, anchor):
    from sep24_wallet import TransferServer

    wallet = TransferServer(anchor.home_domain)
    user = pipeline.user(trusts=True)
    token = wallet.login(user)
    opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer,
                                account=user.public_key, amount="10")
    assert opened.status_code == 200, opened.text
    tid = opened.json()["id"]

    listed = as_json(admin("list", "--json", "--kind", "deposit", "--account", user.public_key))
    assert [t["id"] for t in listed["transactions"]] == [tid], listed
    table = admin("list", "--status", "incomplete", "--account", user.public_key)
    assert table.returncode == 0 and tid in table.stdout, table
    shown = as_json(admin("show", tid, "--json"))
    assert shown["status"] == "incomplete" and shown["kind"] == "deposit", shown

    # No worker takes an incomplete deposit: refused, nothing changed.
    retried = admin("retry", tid, "--yes", "--operator", "e2e")
    assert retried.returncode == 1 and "no worker" in retried.stderr, retried
    # No confirmation without a terminal and without --yes: nothing done.
    asked = admin("expire", tid)
    assert asked.returncode == 1, asked
    assert pipeline.transaction(tid)["status"] == "incomplete"

    expired = admin("expire", tid, "--yes", "--operator", "e2e", "--reason", "abandoned in the test")
    assert expired.returncode == 0, expired
    after = pipeline.transaction(tid)
    assert after["status"] == "expired", after
    last = after["history"][-1]
    assert last["by"] == "operator:e2e" and last["status"] == "expired", last
    assert "abandoned in the test" in last.get("note", ""), last
    assert wallet.transaction(token, tid)["status"] == "expired"
    again = admin("expire", tid, "--yes", "--operator", "e2e")
    assert again.returncode == 1, again


def test_a_paid_deposit_retried_is_paid_once(admin, pipeline, anchor):
    template = pipeline.transaction(pipeline.put_deposit(_template(pipeline, anchor), to=pipeline.user().public_key))
    tid = template["id"]
    pipeline.receive(pipeline.reference(tid), "10")
    pipeline.invoke("DepositPollerFunction")
    done = pipeline.wait_status(tid, "completed", timeout=90)
    retried = admin("retry", tid, "--yes", "--operator", "e2e")
    assert retried.returncode == 1, retried
    assert len(pipeline.payments_to(done["to"])) == 1


def test_dead_letter_queues_are_listed(admin):
    queues = as_json(admin("dlq", "list", "--json"))
    names = {q["name"] for q in queues["queues"]} if isinstance(queues, dict) else {q["name"] for q in queues}
    assert {"submissions", "withdrawals", "outgoing-payments", "callbacks"} <= names, queues


def _template(pipeline, anchor):
    from sep24_wallet import TransferServer

    wallet = TransferServer(anchor.home_domain)
    keypair = pipeline.user()
    token = wallet.login(keypair)
    opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer,
                                account=keypair.public_key, amount="10")
    assert opened.status_code == 200, opened.text
    item = pipeline.item(opened.json()["id"])
    return {"doc": json.loads(item["doc"]["S"]), "user": item["user"]}


def test_an_on_hold_withdrawal_is_refunded_once_and_the_ledger_shows_it(admin, pipeline, anchor):
    from test_sep6_deployed import METHOD, Sep6Wallet

    wallet = Sep6Wallet(anchor)
    user = pipeline.user(trusts=True, usdc="100")
    token = wallet.login(user)
    wallet.complete_kyc(token)
    opened = wallet.get(token, "/withdraw", asset_code=anchor.asset_code, account=user.public_key,
                        funding_method=METHOD, amount="30")
    assert opened.status_code == 200, opened.text
    tid = opened.json()["id"]
    patched = wallet.patch(token, tid, {"dest": "GB29 NWBK 6016 1331 9268 19"})
    assert patched.status_code == 200, patched.text
    shown = patched.json()["transaction"]
    # 20 % short: more than the 10 % the anchor accepts, so the payment is held for a person.
    paid = (Decimal(shown["amount_in"]) * Decimal("0.8")).quantize(Decimal("0.0000001"))
    pipeline.pay_anchor(user, str(paid), shown["withdraw_anchor_account"], shown["withdraw_memo_type"],
                        shown["withdraw_memo"])
    pipeline.invoke("PaymentWatcherFunction")
    pipeline.wait_status(tid, "on_hold", timeout=60)
    held = as_json(admin("incoming", "--json"))
    assert any(p.get("transaction_id") == tid for p in held["payments"]), held
    before = pipeline.balance(user.public_key)
    payments_before = len(pipeline.payments_to(user.public_key))

    refunded = admin("resolve", tid, "--refund", "--yes", "--operator", "e2e", "--reason", "paid 20 % short")
    assert refunded.returncode == 0, (refunded.stdout, refunded.stderr)
    done = pipeline.wait_status(tid, "refunded", timeout=120)
    assert Decimal(done["refunds"]["amount_refunded"]) == paid, done["refunds"]
    assert any(e["by"] == "operator:e2e" and "paid 20 % short" in (e.get("note") or "") for e in done["history"])
    back = pipeline.payments_to(user.public_key)[payments_before:]
    assert [Decimal(p["amount"]) for p in back] == [paid], back
    assert back[0]["from"] == anchor.distribution_account
    assert pipeline.balance(user.public_key) == before + paid
    seen = wallet.transaction(token, tid)
    assert seen["status"] == "refunded" and Decimal(seen["refunds"]["amount_refunded"]) == paid, seen

    # Asked again: refused, and nothing more is paid.
    again = admin("refund", tid, "--yes", "--operator", "e2e")
    assert again.returncode == 1, again
    pipeline.invoke("DepositPollerFunction")
    assert len(pipeline.payments_to(user.public_key)) == payments_before + 1
