"""The SEP-12 wallet suite (tests/e2e/test_sep12_wallet.py) run against the DEPLOYED stack: the
sep12-kyc Lambda in the local AWS, customers in DynamoDB. The `anchor` fixture of this folder's
conftest makes the same tests talk to the front door. One more check reads DynamoDB directly."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_sep12_wallet import *  # noqa: E402,F401,F403 - the suite, collected again here
from test_sep12_wallet import Wallet, login  # noqa: E402
from stellar_sdk import Keypair  # noqa: E402


def test_customers_are_written_to_the_deployed_dynamodb_table(stack, anchor):
    keypair = Keypair.random()
    wallet = Wallet(anchor, login(anchor, keypair), keypair.public_key)
    customer_id = wallet.put_id(data={"first_name": "Grace", "last_name": "Hopper"})
    table = stack.aws.physical_ids(stack.settings.stack)["CustomersTable"]
    item = stack.aws.boto("dynamodb").get_item(TableName=table, Key={"id": {"S": customer_id}}, ConsistentRead=True)
    assert "Item" in item, "the customer is in the CustomersTable of the deployed stack"
    assert "Grace" in item["Item"]["doc"]["S"]
