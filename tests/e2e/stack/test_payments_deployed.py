"""Money movement on the DEPLOYED local stack (issue 6): the payment functions of template.yaml
running in the local AWS (schedules, SQS event source mappings with partial batch responses,
DynamoDB), paying on the local ledger and at the demo bank.

Scheduled functions are invoked directly rather than awaited (see payments.py); queue consumers
run from their SQS mappings, and are also invoked directly with the same messages where a test
delivers every message twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from stellar_sdk import Keypair, TransactionEnvelope

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from payments import NO_PROXY, Pipeline  # noqa: E402
from sep24_wallet import DEMO_KYC, TransferServer, browser_steps, deposit_instructions  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def wallet(anchor):
    return TransferServer(anchor.home_domain)


@pytest.fixture(scope="module")
def template(pipeline, wallet, anchor):
    """A deposit the deployed SEP-24 API opened (its item is the pattern of the deposits the
    volume tests write straight into the table)."""
    keypair = Keypair.random()
    token = wallet.login(keypair)
    opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer,
                                account=keypair.public_key, amount="10")
    assert opened.status_code == 200, opened.text
    item = pipeline.item(opened.json()["id"])
    return {"doc": json.loads(item["doc"]["S"]), "user": item["user"]}


def browser_available():
    from browser import available

    reason = available()
    if reason:
        pytest.skip(reason)


def test_deposit_end_to_end_through_the_pages_the_bank_the_poller_and_the_submitter(pipeline, wallet, anchor):
    browser_available()
    from browser import browse

    user = pipeline.user(trusts=True)
    token = wallet.login(user)
    opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer, account=user.public_key)
    assert opened.status_code == 200, opened.text
    tid = opened.json()["id"]
    browse(browser_steps(opened.json()["url"], "deposit", "100", DEMO_KYC))
    shown = wallet.wait_while_incomplete(token, tid, timeout=30, interval=0.3)
    assert shown["status"] == "pending_user_transfer_start"
    reference = deposit_instructions(shown["more_info_url"])["organization.reference"]

    # The user's bank transfer arrives at the demo bank (the operator's command).
    received = subprocess.run(
        [sys.executable, "-m", "infra.demo_bank", "receive", "--reference", reference, "--amount", "100",
         "--url", pipeline.bank],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )
    assert received.returncode == 0, received.stderr
    before = pipeline.balance(user.public_key)
    assert before == 0

    report = pipeline.invoke("DepositPollerFunction")
    assert report["received"] >= 1 or pipeline.transaction(tid)["status"] != "pending_user_transfer_start", report
    done = pipeline.wait_status(tid, "completed", timeout=90)

    amount_out = Decimal(done["amount_out"])
    assert Decimal(done["amount_in"]) == 100
    assert amount_out == Decimal(100) - Decimal("1") - Decimal("0.5")  # fee_fixed 1 + 0.5 %
    assert pipeline.balance(user.public_key) == before + amount_out
    assert done["stellar_transaction_id"] and done["completed_at"]
    on_ledger = requests.get(f"{pipeline.horizon}/transactions/{done['stellar_transaction_id']}", timeout=10,
                             proxies=NO_PROXY).json()
    assert on_ledger["successful"] is True
    assert [Decimal(p["amount"]) for p in pipeline.payments_to(user.public_key)] == [amount_out]
    # The wallet sees it too.
    assert wallet.transaction(token, tid)["status"] == "completed"
    # after_deposit ran once, from the submitter that completed it.
    deadline = time.monotonic() + 15
    while not pipeline.log_lines("StellarSubmitterFunction", "after_deposit", tid) and time.monotonic() < deadline:
        time.sleep(0.5)
    # More runs change nothing.
    pipeline.invoke("DepositPollerFunction")
    assert pipeline.deliver("StellarSubmitterFunction", [tid]) == []
    assert len(pipeline.log_lines("StellarSubmitterFunction", "after_deposit", tid)) == 1
    assert pipeline.balance(user.public_key) == before + amount_out


def test_a_deposit_bound_to_a_sep38_quote_is_paid_the_quotes_amount_or_held(pipeline, wallet, anchor):
    """The quote's rate stands through the money path: 100.50 USD quoted for the demo dollar
    arrive at the bank and the user is paid exactly the quote's buy_amount; funds that are not
    the quote's sell_amount are held for the operator and nothing is paid."""
    browser_available()
    from browser import browse

    asset = f"stellar:{anchor.asset_code}:{anchor.asset_issuer}"
    quote_url = f"{anchor.base_url}/sep38/quote"
    paid_user, held_user = pipeline.user(trusts=True), pipeline.user(trusts=True)
    outcomes = {}
    for user, sent in [(paid_user, "100.5"), (held_user, "100")]:
        token = wallet.login(user)
        quote = requests.post(
            quote_url, json={"sell_asset": "iso4217:USD", "buy_asset": asset, "sell_amount": "100.50",
                             "context": "sep24"},
            headers={"Authorization": f"Bearer {token}"}, timeout=10, proxies=NO_PROXY,
        )
        assert quote.status_code == 201, quote.text
        quote = quote.json()
        opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer,
                                    account=user.public_key, quote_id=quote["id"])
        assert opened.status_code == 200, opened.text
        tid = opened.json()["id"]
        # The pages never ask the amount of a quoted deposit: KYC only.
        browse(browser_steps(opened.json()["url"], "deposit", None, DEMO_KYC))
        shown = wallet.wait_while_incomplete(token, tid, timeout=30, interval=0.3)
        assert shown["status"] == "pending_user_transfer_start", shown
        reference = deposit_instructions(shown["more_info_url"])["organization.reference"]
        pipeline.receive(reference, sent)
        outcomes[tid] = (user, quote)

    pipeline.invoke("DepositPollerFunction")
    (paid_tid, (_, quote)), (held_tid, _) = outcomes.items()
    done = pipeline.wait_status(paid_tid, "completed", timeout=90)
    assert Decimal(done["amount_in"]) == Decimal(quote["sell_amount"])
    assert Decimal(done["amount_out"]) == Decimal(quote["buy_amount"])
    assert pipeline.balance(paid_user.public_key) == Decimal(quote["buy_amount"])

    held = pipeline.wait_status(held_tid, "on_hold", timeout=30)
    assert "the quote is for 100.5" in held["status_message"], held
    assert pipeline.payments_to(held_user.public_key) == []


def test_withdrawal_end_to_end_from_the_users_payment_to_the_bank_payout(pipeline, wallet, anchor):
    browser_available()
    from browser import browse

    user = pipeline.user(trusts=True, usdc="100")
    token = wallet.login(user)
    opened = wallet.interactive(token, "withdraw", anchor.asset_code, anchor.asset_issuer, account=user.public_key)
    assert opened.status_code == 200, opened.text
    tid = opened.json()["id"]
    typed = "GB29 NWBK 6016 1331 9268 19"  # as a person types an IBAN
    whole = typed.replace(" ", "")
    browse(browser_steps(opened.json()["url"], "withdraw", "30", DEMO_KYC, bank_account=typed))
    shown = wallet.wait_while_incomplete(token, tid, timeout=30, interval=0.3)
    assert shown["status"] == "pending_user_transfer_start"
    assert shown["to"] == "****6819", "the wallet sees the account masked"

    pipeline.pay_anchor(user, shown["amount_in"], shown["withdraw_anchor_account"],
                        shown["withdraw_memo_type"], shown["withdraw_memo"])
    report = pipeline.invoke("PaymentWatcherFunction")
    assert report["matched"] >= 1 or pipeline.transaction(tid)["status"] != "pending_user_transfer_start", report
    done = pipeline.wait_status(tid, "completed", timeout=60)
    assert Decimal(done["amount_in"]) == Decimal(shown["amount_in"])
    assert done["stellar_transaction_id"]
    payouts = pipeline.payouts(tid)
    assert len(payouts) == 1
    assert Decimal(payouts[0]["amount"]) == Decimal(done["amount_out"])
    # The bank paid the whole account typed in the form, not the masked `to`.
    assert payouts[0]["account"] == whole
    assert (done["to"], done["payout_account"]) == ("****6819", whole)
    assert done["external_transaction_id"] == str(payouts[0]["id"])
    seen_by_wallet = wallet.transaction(token, tid)
    assert seen_by_wallet["status"] == "completed" and seen_by_wallet["to"] == "****6819"
    assert whole not in json.dumps(seen_by_wallet), "the whole account is never shown to the wallet"
    # Seen again by the watcher, delivered again to the processor: nothing happens twice.
    pipeline.invoke("PaymentWatcherFunction")
    assert pipeline.deliver("WithdrawalProcessorFunction", [tid], kind="withdrawal") == []
    pipeline.invoke("PayoutPollerFunction")
    assert len(pipeline.payouts(tid)) == 1
    assert len(pipeline.log_lines("WithdrawalProcessorFunction", "process_withdrawal", tid)) == 1
    assert pipeline.transaction(tid)["status"] == "completed"


def test_a_missing_account_is_created_then_the_deposit_waits_for_the_trustline(pipeline, template):
    newcomer = Keypair.random()
    tid = pipeline.put_deposit(template, newcomer.public_key)
    pipeline.receive(pipeline.reference(tid), "20")
    pipeline.invoke("DepositPollerFunction")
    waiting = pipeline.wait_status(tid, "pending_trust", timeout=60)
    account = pipeline.account(newcomer.public_key)
    assert account is not None, "the submitter created the account"
    assert pipeline.balance(newcomer.public_key) is None
    native = next(Decimal(b["balance"]) for b in account["balances"] if b["asset_type"] == "native")
    assert native == Decimal("2.01")

    pipeline.trust(newcomer)
    pipeline.invoke("TrustlineRecheckFunction")
    done = pipeline.wait_status(tid, "completed", timeout=60)
    assert pipeline.balance(newcomer.public_key) == Decimal(done["amount_out"]) == Decimal(waiting["amount_out"])
    assert len(pipeline.payments_to(newcomer.public_key)) == 1


def test_an_account_without_the_trustline_waits_in_pending_trust(pipeline, template):
    user = pipeline.user(trusts=False)
    tid = pipeline.put_deposit(template, user.public_key)
    pipeline.receive(pipeline.reference(tid), "15")
    pipeline.invoke("DepositPollerFunction")
    pipeline.wait_status(tid, "pending_trust", timeout=60)
    # Nothing changes while the account does not trust the asset.
    pipeline.invoke("TrustlineRecheckFunction")
    assert pipeline.transaction(tid)["status"] == "pending_trust"
    pipeline.trust(user)
    pipeline.invoke("TrustlineRecheckFunction")
    done = pipeline.wait_status(tid, "completed", timeout=60)
    assert pipeline.balance(user.public_key) == Decimal(done["amount_out"])


def test_a_wallet_that_supports_claimable_balances_gets_one(pipeline, template):
    user = pipeline.user(trusts=False)
    tid = pipeline.put_deposit(template, user.public_key, claimable_balance_supported=True)
    pipeline.receive(pipeline.reference(tid), "25")
    pipeline.invoke("DepositPollerFunction")
    done = pipeline.wait_status(tid, "completed", timeout=60)
    assert done["claimable_balance_id"]
    balance = requests.get(f"{pipeline.horizon}/claimable_balances/{done['claimable_balance_id']}", timeout=10,
                           proxies=NO_PROXY).json()
    assert Decimal(balance["amount"]) == Decimal(done["amount_out"])
    assert [c["destination"] for c in balance["claimants"]] == [user.public_key]
    assert pipeline.balance(user.public_key) is None


def test_the_ledger_answering_504_after_applying_pays_once_and_completes(pipeline, template):
    user = pipeline.user(trusts=True)
    tid = pipeline.put_deposit(template, user.public_key)
    pipeline.receive(pipeline.reference(tid), "40")
    pipeline.faults(submit_timeout_next=1)
    pipeline.invoke("DepositPollerFunction")
    done = pipeline.wait_status(tid, "completed", timeout=90)
    assert [Decimal(p["amount"]) for p in pipeline.payments_to(user.public_key)] == [Decimal(done["amount_out"])]
    # The submission after the 504 was looked up by its hash, not sent again.
    assert pipeline.deliver("StellarSubmitterFunction", [tid]) == []
    assert len(pipeline.payments_to(user.public_key)) == 1


def test_the_distribution_account_is_a_kms_key_whose_signature_the_stellar_sdk_verifies(pipeline, template, anchor):
    """Issue 17: the local stack keeps the distribution account in (the emulator's) KMS, so the
    deposit's payment is signed by a KMS `Sign` over the hash our submitter computed; the ledger
    accepted it, and the Python stellar-sdk (code we did not write) verifies that signature."""
    distribution_key = anchor.stack.keys.distribution
    assert getattr(distribution_key, "key_id", "").startswith("arn:aws:kms:"), "the local stack keeps it in KMS"
    user = pipeline.user(trusts=True)
    tid = pipeline.put_deposit(template, user.public_key)
    pipeline.receive(pipeline.reference(tid), "30")
    pipeline.invoke("DepositPollerFunction")
    done = pipeline.wait_status(tid, "completed", timeout=90)
    on_ledger = requests.get(f"{pipeline.horizon}/transactions/{done['stellar_transaction_id']}", timeout=10,
                             proxies=NO_PROXY).json()
    assert on_ledger["successful"] is True
    envelope = TransactionEnvelope.from_xdr(on_ledger["envelope_xdr"], pipeline.passphrase)
    assert envelope.hash_hex() == done["stellar_transaction_id"]
    distribution = Keypair.from_public_key(anchor.distribution_account)
    signed = [s for s in envelope.signatures if s.signature_hint == distribution.signature_hint()]
    assert len(signed) == 1, "one signature by the distribution account"
    distribution.verify(envelope.hash(), signed[0].signature)  # raises BadSignatureError if wrong
    assert [Decimal(p["amount"]) for p in pipeline.payments_to(user.public_key)] == [Decimal(done["amount_out"])]


def test_200_deposits_two_pollers_at_once_every_message_twice_exactly_200_payments(pipeline, template):
    users = [pipeline.user(trusts=True) for _ in range(4)]
    ids = [pipeline.put_deposit(template, users[i % len(users)].public_key) for i in range(200)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda tid: pipeline.receive(pipeline.reference(tid), "10"), ids))

    # Two pollers at once (and the schedule may add a third).
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: pipeline.invoke("DepositPollerFunction"), range(2)))
    assert sum(r["queued"] for r in reports) <= 200, reports

    # Every message delivered a second time, straight to the submitter, while the SQS mapping
    # delivers the queued ones.
    stop = threading.Event()

    def deliver_again():
        for start in range(0, len(ids), 10):
            if stop.is_set():
                return
            pipeline.deliver("StellarSubmitterFunction", ids[start : start + 10])

    with ThreadPoolExecutor(2) as pool:
        twice = [pool.submit(deliver_again), pool.submit(deliver_again)]
        done = pipeline.wait_all(ids, "completed", timeout=240)
        stop.set()
        for future in twice:
            future.result()

    paid = {}
    for user in users:
        for payment in pipeline.payments_to(user.public_key):
            paid[payment["transaction_hash"]] = paid.get(payment["transaction_hash"], 0) + 1
    assert sum(paid.values()) == 200
    assert {d["stellar_transaction_id"] for d in done.values()} == set(paid)
    for user in users:
        mine = [d for d in done.values() if d["to"] == user.public_key]
        assert pipeline.balance(user.public_key) == sum(Decimal(d["amount_out"]) for d in mine)


def test_a_watcher_restarted_mid_page_skips_nothing_and_pays_nothing_twice(pipeline, template, wallet, anchor):
    """Six withdrawals paid on the ledger. A first watcher run reads a page of four and dies
    before saving its cursor (simulated: the cursor is put back); the next runs read from the
    old cursor again in small pages: every payment is matched once, every payout made once."""
    user = pipeline.user(trusts=True, usdc="500")
    token = wallet.login(user)
    withdrawals = []
    for _ in range(6):
        opened = wallet.interactive(token, "withdraw", anchor.asset_code, anchor.asset_issuer,
                                    account=user.public_key, amount="20")
        assert opened.status_code == 200, opened.text
        withdrawals.append(opened.json()["id"])
    # The interactive pages are the browser's job; the test moves each withdrawal on to where
    # the pages leave it (pending_user_transfer_start with the anchor's account and a memo).
    shown = [_ready_withdrawal(pipeline, tid) for tid in withdrawals]

    state = pipeline.ids["WorkerStateTable"]
    cursor_key = {"key": {"S": f"cursor#payments:{anchor.distribution_account}"}}
    # No scheduled run in between: this test plays the watcher's runs itself.
    with pipeline.schedule_paused("PaymentWatcherFunction"):
        time.sleep(1)  # a scheduled run that just started ends
        before = pipeline.dynamodb.get_item(TableName=state, Key=cursor_key, ConsistentRead=True)["Item"]
        for doc in shown:
            pipeline.pay_anchor(user, doc["amount_in"], doc["receiving_account"], doc["receiving_memo_type"],
                                doc["receiving_memo"])

        first = pipeline.invoke("PaymentWatcherFunction", {"page_limit": 4, "max_pages": 1})
        assert first["records"] == 4, first
        # The run "dies" before its cursor save: the cursor is back where it was (same version
        # as saved, so the next save's condition holds).
        saved = pipeline.dynamodb.get_item(TableName=state, Key=cursor_key, ConsistentRead=True)["Item"]
        restored = dict(saved)
        restored["value"] = before["value"]
        pipeline.dynamodb.put_item(TableName=state, Item=restored)

        for _ in range(4):
            pipeline.invoke("PaymentWatcherFunction", {"page_limit": 3, "max_pages": 1})
    pipeline.invoke("PaymentWatcherFunction")
    pipeline.wait_all(withdrawals, "completed", timeout=60)
    for tid in withdrawals:
        assert len(pipeline.payouts(tid)) == 1, tid
        assert len(pipeline.log_lines("WithdrawalProcessorFunction", "process_withdrawal", tid)) == 1


def _ready_withdrawal(pipeline: Pipeline, tid: str) -> dict:
    """Moves an `incomplete` withdrawal opened with an amount to `pending_user_transfer_start`
    as the pages would (bank account given, KYC done): the anchor's account and a hash memo."""
    import base64
    import hashlib

    item = pipeline.item(tid)
    doc = json.loads(item["doc"]["S"])
    assert doc["status"] == "incomplete"
    memo = base64.b64encode(hashlib.sha256(tid.encode()).digest()).decode()
    account = pipeline.stack.keys.distribution.public_key
    doc.update(status="pending_user_transfer_start", version=doc["version"] + 1, to="****3000",
               payout_account="DE89370400440532013000",
               receiving_account=account, receiving_memo_type="hash", receiving_memo=memo)
    if not doc.get("amount_out"):
        doc["amount_out"] = str(Decimal(doc["amount_in"]) - Decimal("0.55"))
    item.update(
        version={"N": str(doc["version"])},
        status={"S": doc["status"]},
        kind_status={"S": "withdrawal#pending_user_transfer_start"},
        receiving_key={"S": f"{account}#hash#{memo}"},
        doc={"S": json.dumps(doc)},
    )
    pipeline.dynamodb.put_item(TableName=pipeline.transactions_table, Item=item)
    return doc
