"""Status callbacks on the DEPLOYED local stack (issue 16): a wallet's callback server receives
every status change of a SEP-6 deposit, from `pending_user_transfer_start` to `completed`, and
its SEP-12 customer's status changes, each signed with the anchor's SIGNING_KEY (digest 5.6); and
a SEP-24 wallet's `callback` URL receives the end of the interactive flow, once.

Nothing in the API or the workers sends these: the tables' streams carry each write to the
callback dispatcher, which queues the callback; the callback sender posts it and retries a
failure after a backoff. The wallet's server refuses the first callback (503): it arrives again.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from payments import NO_PROXY  # noqa: E402
from sending_anchor import CallbackServer, signature_is_valid  # noqa: E402
from sep24_wallet import DEMO_KYC, TransferServer, browser_steps  # noqa: E402

TIMEOUT = 30


def wait(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)
    return found


def test_a_wallet_hears_every_status_change_of_a_deposit_and_of_its_customer_signed(pipeline, anchor):
    server = CallbackServer(fail_first=1)
    try:
        wallet = TransferServer(anchor.home_domain)
        transfer_url = wallet.toml["TRANSFER_SERVER"]
        kyc_url = wallet.toml["KYC_SERVER"]
        signing_key = wallet.toml["SIGNING_KEY"]
        user = pipeline.user(trusts=True)
        token = wallet.login(user)
        headers = {"Authorization": f"Bearer {token}"}

        opened = requests.get(f"{transfer_url}/deposit", headers=headers, timeout=TIMEOUT, proxies=NO_PROXY,
                              params={"asset_code": anchor.asset_code, "account": user.public_key,
                                      "funding_method": "bank_transfer", "amount": "100",
                                      "on_change_callback": f"{server.url}/tx"})
        assert opened.status_code == 200, opened.text
        tid = opened.json()["id"]

        # SEP-12: the customer, its callback URL, then the emailed code that completes it.
        put = requests.put(f"{kyc_url}/customer", json={**DEMO_KYC, "transaction_id": tid, "type": "default"},
                           headers=headers, timeout=TIMEOUT, proxies=NO_PROXY)
        assert put.status_code == 202, put.text
        customer_id = put.json()["id"]
        registered = requests.put(f"{kyc_url}/customer/callback", json={"id": customer_id, "url": f"{server.url}/kyc"},
                                  headers=headers, timeout=TIMEOUT, proxies=NO_PROXY)
        assert registered.status_code == 200, registered.text
        code = anchor.wait_for_log(rf"verification code for email_address of customer {customer_id}: (\d{{6}})")
        verified = requests.put(f"{kyc_url}/customer/verification",
                                json={"id": customer_id, "email_address_verification": code.group(1)},
                                headers=headers, timeout=TIMEOUT, proxies=NO_PROXY)
        assert verified.status_code == 200 and verified.json()["status"] == "ACCEPTED", verified.text

        ready = pipeline.wait_status(tid, "pending_user_transfer_start", timeout=30)
        pipeline.receive(pipeline.reference(tid), "100")
        pipeline.invoke("DepositPollerFunction")
        pipeline.wait_status(tid, "completed", timeout=90)
        assert ready

        # Every status the deposit passed through, each once it changed. The refused callback
        # comes again after its backoff, so it may arrive after later ones: each carries its
        # updated_at.
        passed = {"pending_customer_info_update", "pending_user_transfer_start", "pending_anchor", "completed"}
        statuses = wait(lambda: passed <= set(server.statuses(tid)) and server.statuses(tid),
                        f"callbacks for {passed}", timeout=180)
        history = [entry["status"] for entry in pipeline.transaction(tid).get("history", [])]
        assert set(history) <= set(statuses) | {"pending_customer_info_update"}, (history, statuses)
        assert server.refused == 1, "the first callback was refused, and delivered again"
        for callback in server.for_transaction(tid):
            assert callback.path == "/tx"
            assert signature_is_valid(signing_key, callback), callback
            assert callback.transaction["id"] == tid and callback.transaction["kind"] == "deposit"

        kyc = wait(lambda: [c for c in server.at("/kyc") if json.loads(c.body).get("status") == "ACCEPTED"],
                   "the customer's ACCEPTED callback")
        assert signature_is_valid(signing_key, kyc[0]), kyc[0]
        assert json.loads(kyc[0].body)["id"] == customer_id
    finally:
        server.close()


def test_the_end_of_an_interactive_flow_is_posted_once_to_the_wallets_callback_url(pipeline, anchor):
    """The pages store the flow's `callback` URL with the write that ends the flow; the callback
    sender posts it (the pages hold no signing key)."""
    from browser import available, browse

    reason = available()
    if reason:
        pytest.skip(reason)
    server = CallbackServer()
    try:
        wallet = TransferServer(anchor.home_domain)
        user = pipeline.user(trusts=True)
        token = wallet.login(user)
        opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer, account=user.public_key)
        assert opened.status_code == 200, opened.text
        tid = opened.json()["id"]
        link = f"{opened.json()['url']}&callback={quote(f'{server.url}/flow', safe='')}"
        browse(browser_steps(link, "deposit", "100", DEMO_KYC))
        assert wallet.wait_while_incomplete(token, tid, timeout=30, interval=0.3)["status"] == \
            "pending_user_transfer_start"

        posted = wait(lambda: server.at("/flow"), "the flow's callback")
        time.sleep(3)  # a second post would have come by now
        assert len(server.at("/flow")) == 1, server.at("/flow")
        assert signature_is_valid(wallet.toml["SIGNING_KEY"], posted[0]), posted[0]
        assert posted[0].transaction["id"] == tid
        assert posted[0].transaction["status"] == "pending_user_transfer_start"
    finally:
        server.close()
