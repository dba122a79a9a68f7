"""SEP-31 on the DEPLOYED local stack (issue 15), driven by a sending anchor written with the Python
stellar-sdk (tests/e2e/sending_anchor.py): sender and receiver registered through SEP-12, a
payment POSTed, its memo paid on the local ledger, the receiver paid out exactly once at the demo
bank by the outgoing-payments worker; and the KYC loop, where the bank refuses the receiver's
account, the sending anchor fixes it through SEP-12 and the payout goes to the new account. A
callback server sees every status change after `pending_sender`, each with a valid signature.

The payment watcher (scheduled) is invoked directly rather than awaited (see payments.py); the
outgoing-payments worker runs from its SQS event source mapping.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from payments import NO_PROXY  # noqa: E402
from sending_anchor import CallbackServer, SendingAnchor, signature_is_valid  # noqa: E402

SENDER = {"first_name": "Grace", "last_name": "Hopper", "email_address": "grace@example.com"}
RECEIVER = {"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com",
            "bank_number": "37040044"}


@pytest.fixture(scope="module")
def callbacks():
    server = CallbackServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def sending(pipeline, anchor):
    # The sending anchor holds the asset it sends.
    return SendingAnchor(anchor.home_domain, pipeline.user(trusts=True, usdc="1000"))


def code_of(anchor):
    def code(customer_id: str) -> str:
        pattern = rf"verification code for email_address of customer {customer_id}: (\d{{6}})"
        return anchor.wait_for_log(pattern).group(1)

    return code


def payment(sending, anchor, sender_id, receiver_id, amount="50") -> dict:
    info = sending.info()["receive"][anchor.asset_code]
    body = {"amount": amount, "asset_code": anchor.asset_code, "asset_issuer": anchor.asset_issuer,
            "funding_method": info["funding_methods"][0], "sender_id": sender_id, "receiver_id": receiver_id}
    created = sending.post(body)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert set(answer) == {"id", "stellar_account_id", "stellar_memo_type", "stellar_memo"}, answer
    assert answer["stellar_account_id"] == anchor.distribution_account
    return answer


def pay(pipeline, sending, created: dict, amount="50") -> None:
    pipeline.pay_anchor(sending.keypair, amount, created["stellar_account_id"], created["stellar_memo_type"],
                        created["stellar_memo"])
    pipeline.invoke("PaymentWatcherFunction")


def assert_signed(sending, callbacks, transaction_id: str, path: str) -> None:
    seen = callbacks.for_transaction(transaction_id)
    assert seen, "no callback"
    for callback in seen:
        assert callback.path == path
        assert signature_is_valid(sending.signing_key, callback), callback


def test_stellar_toml_and_info_advertise_sep31(sending, anchor):
    assert sending.url == f"{anchor.base_url}/sep31"
    entry = sending.info()["receive"][anchor.asset_code]
    assert entry["funding_methods"], entry
    assert "sep31-sender" in entry["sep12"]["sender"]["types"], entry
    assert "sep31-receiver" in entry["sep12"]["receiver"]["types"], entry


def test_a_payment_is_paid_out_once_and_each_status_is_told_to_the_sending_anchor(
        pipeline, sending, anchor, callbacks):
    code = code_of(anchor)
    sender_id = sending.register(101, "sep31-sender", SENDER, code)
    # Without the sender, or with a receiver lacking KYC: the SEP-12 type to use, nothing stored.
    incomplete = sending.put_customer({"memo": "102", "type": "sep31-receiver", "first_name": "Ada"})
    for sender, receiver, kyc_type in [(None, incomplete, "sep31-sender"), (sender_id, incomplete, "sep31-receiver")]:
        body = {"amount": "50", "asset_code": anchor.asset_code, "funding_method":
                sending.info()["receive"][anchor.asset_code]["funding_methods"][0], "receiver_id": receiver}
        if sender:
            body["sender_id"] = sender
        refused = sending.post(body)
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"error": "customer_info_needed", "type": kyc_type}
    receiver_id = sending.register(102, "sep31-receiver", {**RECEIVER, "bank_account_number": "DE89370400440532013000"},
                                   code)
    assert receiver_id == incomplete

    created = payment(sending, anchor, sender_id, receiver_id)
    tid = created["id"]
    assert sending.transaction(tid)["status"] == "pending_sender"
    sending.set_callback(tid, f"{callbacks.url}/sep31-callbacks")
    pay(pipeline, sending, created)
    done = sending.wait_status(tid, "completed", timeout=90)
    payouts = pipeline.payouts(tid)
    assert len(payouts) == 1, payouts
    assert payouts[0]["account"] == "DE89370400440532013000"
    assert Decimal(payouts[0]["amount"]) == Decimal(done["amount_out"])
    assert done["amount_in"] == "50" and done["stellar_transaction_id"] and done["external_transaction_id"]
    assert callbacks.wait_for(tid, "completed") == ["pending_receiver", "completed"]
    assert_signed(sending, callbacks, tid, "/sep31-callbacks")

    # The payment seen again and the outgoing message delivered again: paid once.
    pipeline.invoke("PaymentWatcherFunction")
    assert pipeline.deliver("OutgoingPaymentsFunction", [tid], kind="receive") == []
    assert len(pipeline.payouts(tid)) == 1
    assert sending.transaction(tid)["status"] == "completed"
    assert callbacks.statuses(tid) == ["pending_receiver", "completed"]


def test_a_refused_receiver_account_is_fixed_through_sep12_and_paid_to_the_new_one(
        pipeline, sending, anchor, callbacks):
    code = code_of(anchor)
    closed = "NL91ABNA0417164300"  # used by no other test: the bank stays closed for it
    answer = requests.post(f"{pipeline.bank}/accounts/closed", json={"account": closed}, timeout=10,
                           proxies=NO_PROXY)
    assert answer.status_code in (200, 201), answer.text
    sender_id = sending.register(201, "sep31-sender", SENDER, code)
    receiver_id = sending.register(202, "sep31-receiver", {**RECEIVER, "bank_account_number": closed}, code)
    created = payment(sending, anchor, sender_id, receiver_id, amount="40")
    tid = created["id"]
    sending.set_callback(tid, f"{callbacks.url}/kyc-loop")
    pay(pipeline, sending, created, amount="40")

    waiting = sending.wait_status(tid, "pending_customer_info_update", timeout=90)
    assert pipeline.payouts(tid) == []
    assert waiting.get("required_info_message"), waiting
    # SEP-12 shows what the transaction needs: the refused field, marked REJECTED.
    for scope in (tid, None):
        needs = sending.customer(receiver_id, "sep31-receiver", scope)
        assert needs["status"] == "NEEDS_INFO", needs
        assert "bank_account_number" in needs["fields"], needs
        rejected = needs["provided_fields"]["bank_account_number"]
        assert rejected["status"] == "REJECTED" and rejected.get("error"), needs
    assert sending.customer(sender_id, "sep31-sender", tid)["status"] == "ACCEPTED"

    fixed = "DE44500105175407324931"
    assert sending.put_customer({"id": receiver_id, "type": "sep31-receiver", "bank_account_number": fixed}) == receiver_id
    done = sending.wait_status(tid, "completed", timeout=90)
    payouts = pipeline.payouts(tid)
    assert [(p["account"], Decimal(p["amount"])) for p in payouts] == [(fixed, Decimal(done["amount_out"]))]
    assert sending.customer(receiver_id, "sep31-receiver", tid)["status"] == "ACCEPTED"
    assert callbacks.wait_for(tid, "completed") == [
        "pending_receiver", "pending_customer_info_update", "pending_receiver", "completed"]
    assert_signed(sending, callbacks, tid, "/kyc-loop")
