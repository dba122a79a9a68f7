"""The ends of a transaction's life on the DEPLOYED local stack (issue 16): a deposit left unpaid
is ended `expired` by the expiry sweeper at the deadline its wallet was shown
(`user_action_required_by`), and the wallet sees why.

The sweeper runs every minute; the test invokes it directly, as the other worker tests do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sep24_wallet import TransferServer  # noqa: E402


def test_a_deposit_left_unpaid_expires_at_its_deadline(pipeline, anchor):
    wallet = TransferServer(anchor.home_domain)
    user = pipeline.user(trusts=True)
    token = wallet.login(user)
    opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer,
                                account=user.public_key, amount="10")
    assert opened.status_code == 200, opened.text
    item = pipeline.item(opened.json()["id"])
    template = {"doc": json.loads(item["doc"]["S"]), "user": item["user"]}
    # A deposit waiting for its bank transfer, as the form leaves it, whose deadline has passed.
    tid = pipeline.put_deposit(template, to=user.public_key)
    waiting = pipeline.item(tid)
    doc = json.loads(waiting["doc"]["S"])
    doc["user_action_required_by"] = "2020-01-01T00:00:00.000Z"
    waiting["doc"] = {"S": json.dumps(doc)}
    pipeline.dynamodb.put_item(TableName=pipeline.transactions_table, Item=waiting)
    shown = wallet.transaction(token, tid)
    assert shown["status"] == "pending_user_transfer_start", shown
    assert shown["user_action_required_by"] == "2020-01-01T00:00:00.000Z", shown

    pipeline.invoke("ExpirySweeperFunction")
    ended = pipeline.wait_status(tid, "expired", timeout=30)
    assert ended["history"][-1]["from"] == "pending_user_transfer_start", ended["history"]
    seen = wallet.transaction(token, tid)
    assert seen["status"] == "expired" and seen.get("message"), seen  # SEP-24 `message`: why
    assert seen.get("user_action_required_by") is None, seen
    # Swept again: nothing more happens to it.
    pipeline.invoke("ExpirySweeperFunction")
    assert pipeline.transaction(tid)["version"] == ended["version"]
