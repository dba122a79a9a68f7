"""The SEP-24 wallet-and-browser suite (tests/e2e/test_sep24_wallet.py) run against the DEPLOYED
stack: the sep24-transfer and sep24-interactive Lambdas in the local AWS behind the front door,
transactions and customers in DynamoDB. One more check reads the transaction from DynamoDB, and
one drives the operator's wallet script end to end with the demo bank."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_sep24_wallet import *  # noqa: E402,F401,F403 - the suite, collected again here
from test_sep24_wallet import DEMO_KYC, Sep24, browse, fill, open_, submit  # noqa: E402

import requests  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def test_a_completed_deposit_is_in_the_deployed_transactions_table(stack, anchor, user):
    opened = user.open("deposit")
    browse([open_(opened["url"]), fill(amount="12"), submit(), fill(**DEMO_KYC), submit()])
    table = stack.aws.physical_ids(stack.settings.stack)["TransactionsTable"]
    item = stack.aws.boto("dynamodb").get_item(
        TableName=table, Key={"id": {"S": opened["id"]}}, ConsistentRead=True
    )
    assert "Item" in item, "the transaction is in the TransactionsTable of the deployed stack"
    assert "pending_user_transfer_start" in json.dumps(item["Item"])


def test_the_wallet_script_completes_a_deposit_and_the_demo_bank_receives_it(stack, anchor):
    """What the README tells an operator to run, with the browser step done by chromium."""
    done = subprocess.run(
        [sys.executable, str(REPO / "tests" / "e2e" / "sep24_wallet.py"), anchor.home_domain,
         "--browser", "--amount", "100", "--timeout", "60"],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"status": "pending_user_transfer_start"' in done.stdout
    command = next(line for line in done.stdout.splitlines() if "infra.demo_bank receive" in line)
    reference = command.split("--reference ")[1].split()[0]
    assert reference.startswith("MOOR-") and len(reference) == 13
    received = subprocess.run(
        [sys.executable, "-m", "infra.demo_bank", "receive", "--reference", reference, "--amount", "100",
         "--url", stack.settings.bank_url],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )
    assert received.returncode == 0, received.stderr
    transfers = requests.get(
        f"{stack.settings.bank_url}/transfers", params={"reference": reference}, timeout=10,
        proxies={"http": None, "https": None},
    ).json()["transfers"]
    assert [Decimal(t["amount"]) for t in transfers] == [Decimal(100)]


def test_the_wallet_script_completes_a_withdrawal(stack, anchor):
    done = subprocess.run(
        [sys.executable, str(REPO / "tests" / "e2e" / "sep24_wallet.py"), anchor.home_domain,
         "--withdraw", "--browser", "--amount", "30", "--timeout", "60"],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"withdraw_memo_type": "hash"' in done.stdout
    assert stack.keys.distribution.public_key in done.stdout
