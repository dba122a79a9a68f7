"""SEP-6 on the DEPLOYED local stack (issue 14), as a wallet does it with the Python
stellar-sdk (SEP-10 login, payments) and plain HTTP: the programmatic deposit through the KYC
loop (SEP-12) to the demo bank and the ledger, the withdrawal whose destination the wallet
gives with PATCH, paid out once at the demo bank, a deposit-exchange at a firm SEP-38 quote,
and the deprecated 403 answers older wallets expect (`non_interactive_customer_info_needed`, and
`customer_info_status` denied for a customer the operator refused).

Scheduled workers are invoked directly rather than awaited (see payments.py).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from stellar_sdk import Keypair

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from payments import NO_PROXY, Pipeline  # noqa: E402
from sep24_wallet import DEMO_KYC, TransferServer  # noqa: E402

TIMEOUT = 30
METHOD = "bank_transfer"


class Sep6Wallet:
    """The SEP-6 and SEP-12 calls of a wallet, at the servers the anchor's stellar.toml names."""

    def __init__(self, anchor):
        self.anchor = anchor
        self.server = TransferServer(anchor.home_domain)
        self.url = self.server.toml["TRANSFER_SERVER"]
        self.kyc_url = self.server.toml["KYC_SERVER"]

    def login(self, keypair: Keypair) -> str:
        return self.server.login(keypair)

    def get(self, token: str | None, path: str, **params) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{self.url}{path}", params=params, headers=headers, timeout=TIMEOUT, proxies=NO_PROXY)

    def transaction(self, token: str, transaction_id: str) -> dict:
        answer = self.get(token, "/transaction", id=transaction_id)
        assert answer.status_code == 200, answer.text
        return answer.json()["transaction"]

    def patch(self, token: str, transaction_id: str, fields: dict) -> requests.Response:
        return requests.patch(f"{self.url}/transactions/{transaction_id}", json={"transaction": fields},
                              headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT, proxies=NO_PROXY)

    def complete_kyc(self, token: str, transaction_id: str | None = None) -> None:
        """SEP-12 as SEP-6 6.8 describes it: the fields asked for, then the email code (which
        the reference anchor "sends" to its log)."""
        headers = {"Authorization": f"Bearer {token}"}
        scope = {"transaction_id": transaction_id, "type": "default"} if transaction_id else {}
        needed = requests.get(f"{self.kyc_url}/customer", params=scope, headers=headers, timeout=TIMEOUT,
                              proxies=NO_PROXY)
        assert needed.status_code == 200, needed.text
        assert needed.json()["status"] == "NEEDS_INFO", needed.text
        put = requests.put(f"{self.kyc_url}/customer", json={**DEMO_KYC, **scope}, headers=headers,
                           timeout=TIMEOUT, proxies=NO_PROXY)
        assert put.status_code == 202, put.text
        customer_id = put.json()["id"]
        match = self.anchor.wait_for_log(
            rf"verification code for email_address of customer {customer_id}: (\d{{6}})"
        )
        verified = requests.put(f"{self.kyc_url}/customer/verification",
                                json={"id": customer_id, "email_address_verification": match.group(1)},
                                headers=headers, timeout=TIMEOUT, proxies=NO_PROXY)
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "ACCEPTED", verified.text


@pytest.fixture(scope="module")
def wallet(anchor):
    return Sep6Wallet(anchor)


def test_stellar_toml_and_info_advertise_sep6(wallet, anchor):
    assert wallet.url == f"{anchor.base_url}/sep6"
    info = wallet.get(None, "/info")
    assert info.status_code == 200, info.text
    assert info.headers["access-control-allow-origin"] == "*"
    body = info.json()
    code = anchor.asset_code
    for direction in ("deposit", "withdraw", "deposit-exchange", "withdraw-exchange"):
        entry = body[direction][code]
        assert entry["enabled"] is True and entry["authentication_required"] is True, (direction, entry)
        assert entry["funding_methods"] == [METHOD], (direction, entry)
    assert body["deposit"][code]["min_amount"] == 1 and body["deposit"][code]["fee_fixed"] == 1
    for endpoint in ("fee", "transaction", "transactions"):
        assert body[endpoint]["enabled"] is True and body[endpoint]["authentication_required"] is True
    # Every other endpoint needs a token.
    refused = wallet.get(None, "/deposit", asset_code=code, account=Keypair.random().public_key)
    assert (refused.status_code, refused.json()) == (403, {"type": "authentication_required"})


def test_deposit_end_to_end_through_the_kyc_loop_the_bank_and_the_ledger(pipeline, wallet, anchor):
    user = pipeline.user(trusts=True)
    token = wallet.login(user)
    opened = wallet.get(token, "/deposit", asset_code=anchor.asset_code, account=user.public_key,
                        funding_method=METHOD, amount="100")
    assert opened.status_code == 200, opened.text
    answer = opened.json()
    tid = answer["id"]
    assert "instructions" not in answer and answer["how"], answer
    waiting = wallet.transaction(token, tid)
    assert waiting["status"] == "pending_customer_info_update", waiting
    assert waiting["kind"] == "deposit" and waiting["to"] == user.public_key
    assert "instructions" not in waiting

    wallet.complete_kyc(token, tid)
    # The transaction moves on by itself once the customer is complete.
    ready = wallet.transaction(token, tid)
    assert ready["status"] == "pending_user_transfer_start", ready
    reference = ready["instructions"]["organization.reference"]["value"]
    assert reference == Pipeline.reference(tid)
    assert pipeline.transaction(tid)["status"] == "pending_user_transfer_start"

    pipeline.receive(reference, "100")
    pipeline.invoke("DepositPollerFunction")
    done = pipeline.wait_status(tid, "completed", timeout=90)
    amount_out = Decimal(done["amount_out"])
    assert amount_out == Decimal(100) - Decimal(1) - Decimal("0.5")  # fee_fixed 1 + 0.5 %
    assert pipeline.balance(user.public_key) == amount_out
    assert [Decimal(p["amount"]) for p in pipeline.payments_to(user.public_key)] == [amount_out]
    seen = wallet.transaction(token, tid)
    assert seen["status"] == "completed" and Decimal(seen["amount_out"]) == amount_out
    assert seen["stellar_transaction_id"] == done["stellar_transaction_id"]
    assert seen["fee_details"] == {"total": "1.5", "asset": f"stellar:{anchor.asset_code}:{anchor.asset_issuer}"}
    # Polled again: paid once.
    pipeline.invoke("DepositPollerFunction")
    assert pipeline.deliver("StellarSubmitterFunction", [tid]) == []
    assert pipeline.balance(user.public_key) == amount_out


def test_withdrawal_end_to_end_its_destination_given_by_patch_paid_out_once(pipeline, wallet, anchor):
    user = pipeline.user(trusts=True, usdc="100")
    token = wallet.login(user)
    wallet.complete_kyc(token)
    opened = wallet.get(token, "/withdraw", asset_code=anchor.asset_code, account=user.public_key,
                        funding_method=METHOD, amount="30")
    assert opened.status_code == 200, opened.text
    tid = opened.json()["id"]
    assert set(opened.json()) <= {"account_id", "memo_type", "memo", "id", "eta", "min_amount", "max_amount",
                                  "fee_fixed", "fee_percent", "extra_info"}
    asked = wallet.transaction(token, tid)
    assert asked["status"] == "pending_transaction_info_update", asked
    assert set(asked["required_info_updates"]) == {"dest"}

    # Only the fields asked for, and a valid account.
    assert wallet.patch(token, tid, {"dest": "DE89370400440532013000", "other": "x"}).status_code == 400
    assert wallet.patch(token, tid, {"dest": "??"}).status_code == 400
    assert wallet.transaction(token, tid)["status"] == "pending_transaction_info_update"
    patched = wallet.patch(token, tid, {"dest": "GB29 NWBK 6016 1331 9268 19"})
    assert patched.status_code == 200, patched.text
    shown = patched.json()["transaction"]
    assert shown["status"] == "pending_user_transfer_start", shown
    assert shown["to"] == "****6819" and shown["from"] == user.public_key
    assert shown["withdraw_anchor_account"] == anchor.distribution_account
    assert wallet.patch(token, tid, {"dest": "DE89370400440532013000"}).status_code == 400, "no update pending"

    pipeline.pay_anchor(user, shown["amount_in"], shown["withdraw_anchor_account"], shown["withdraw_memo_type"],
                        shown["withdraw_memo"])
    pipeline.invoke("PaymentWatcherFunction")
    done = pipeline.wait_status(tid, "completed", timeout=60)
    payouts = pipeline.payouts(tid)
    assert len(payouts) == 1
    assert payouts[0]["account"] == "GB29NWBK60161331926819"
    assert Decimal(payouts[0]["amount"]) == Decimal(done["amount_out"]) == Decimal(30) - Decimal("0.5") - Decimal("0.075")
    # Seen again, delivered again: paid once.
    pipeline.invoke("PaymentWatcherFunction")
    assert pipeline.deliver("WithdrawalProcessorFunction", [tid], kind="withdrawal") == []
    assert len(pipeline.payouts(tid)) == 1
    seen = wallet.transaction(token, tid)
    assert seen["status"] == "completed" and "GB29NWBK60161331926819" not in json.dumps(seen)


def test_deposit_exchange_at_a_firm_quote_pays_the_quotes_buy_amount(pipeline, wallet, anchor):
    user = pipeline.user(trusts=True)
    token = wallet.login(user)
    wallet.complete_kyc(token)
    asset = f"stellar:{anchor.asset_code}:{anchor.asset_issuer}"
    quote = requests.post(
        f"{anchor.base_url}/sep38/quote",
        json={"sell_asset": "iso4217:USD", "buy_asset": asset, "sell_amount": "100.50", "context": "sep6",
              "sell_delivery_method": METHOD},
        headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT, proxies=NO_PROXY,
    )
    assert quote.status_code == 201, quote.text
    quote = quote.json()
    params = dict(destination_asset=anchor.asset_code, source_asset="iso4217:USD", amount="100.50",
                  account=user.public_key, funding_method=METHOD)
    # Values that conflict with the quote are refused; without a quote too.
    assert wallet.get(token, "/deposit-exchange", **{**params, "amount": "99"}, quote_id=quote["id"]).status_code == 400
    assert wallet.get(token, "/deposit-exchange", **params).status_code == 400
    opened = wallet.get(token, "/deposit-exchange", **params, quote_id=quote["id"])
    assert opened.status_code == 200, opened.text
    tid = opened.json()["id"]
    reference = opened.json()["instructions"]["organization.reference"]["value"]
    shown = wallet.transaction(token, tid)
    assert shown["kind"] == "deposit-exchange" and shown["quote_id"] == quote["id"]
    assert (shown["amount_in"], shown["amount_in_asset"]) == (quote["sell_amount"], "iso4217:USD")
    assert (shown["amount_out"], shown["amount_out_asset"]) == (quote["buy_amount"], asset)
    assert shown["fee_details"]["total"] == quote["fee"]["total"]
    # One quote backs one transaction.
    assert wallet.get(token, "/deposit-exchange", **params, quote_id=quote["id"]).status_code == 400

    pipeline.receive(reference, quote["sell_amount"])
    pipeline.invoke("DepositPollerFunction")
    done = pipeline.wait_status(tid, "completed", timeout=90)
    assert Decimal(done["amount_out"]) == Decimal(quote["buy_amount"])
    assert pipeline.balance(user.public_key) == Decimal(quote["buy_amount"])
    listed = wallet.get(token, "/transactions", asset_code=anchor.asset_code, kind=["deposit-exchange", "withdrawal"])
    assert [t["id"] for t in listed.json()["transactions"]] == [tid]


def test_older_wallets_get_the_deprecated_403_and_nothing_is_stored(pipeline, wallet, anchor):
    user = Keypair.random()
    token = wallet.login(user)
    # No funding_method: an older wallet (or the validator), answered the deprecated way.
    answer = wallet.get(token, "/deposit", asset_code=anchor.asset_code, account=user.public_key)
    assert answer.status_code == 403, answer.text
    assert answer.json() == {"type": "non_interactive_customer_info_needed",
                             "fields": ["email_address", "first_name", "last_name"]}
    listed = wallet.get(token, "/transactions", asset_code=anchor.asset_code)
    assert listed.status_code == 200 and listed.json() == {"transactions": []}
    # Bad input is a 400 with an error, and stores nothing either.
    for params in [dict(asset_code="NOPE", account=user.public_key),
                   dict(asset_code=anchor.asset_code, account="GBAD", funding_method=METHOD),
                   dict(asset_code=anchor.asset_code, account=user.public_key, funding_method="cash"),
                   dict(asset_code=anchor.asset_code, account=user.public_key, funding_method=METHOD, amount="0.001")]:
        refused = wallet.get(token, "/deposit", **params)
        assert refused.status_code == 400 and refused.json()["error"], (params, refused.text)
    assert wallet.get(token, "/transactions", asset_code=anchor.asset_code).json() == {"transactions": []}

    # The operator refuses the customer (its status written in the customers table, as an
    # operator tool would): 403 customer_info_status denied, in both styles, nothing stored.
    headers = {"Authorization": f"Bearer {token}"}
    put = requests.put(f"{wallet.kyc_url}/customer", json={"first_name": "Eve"}, headers=headers,
                       timeout=TIMEOUT, proxies=NO_PROXY)
    assert put.status_code == 202, put.text
    table = pipeline.ids["CustomersTable"]
    item = pipeline.dynamodb.get_item(TableName=table, Key={"id": {"S": put.json()["id"]}},
                                      ConsistentRead=True)["Item"]
    doc = json.loads(item["doc"]["S"])
    doc["statuses"] = {"default": "REJECTED"}
    item["doc"] = {"S": json.dumps(doc)}
    pipeline.dynamodb.put_item(TableName=table, Item=item)
    for extra in ({}, {"funding_method": METHOD}):
        denied = wallet.get(token, "/deposit", asset_code=anchor.asset_code, account=user.public_key, **extra)
        assert denied.status_code == 403, denied.text
        assert denied.json() == {"type": "customer_info_status", "status": "denied"}, denied.text
    assert wallet.get(token, "/transactions", asset_code=anchor.asset_code).json() == {"transactions": []}
