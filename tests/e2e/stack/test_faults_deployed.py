"""A worker killed mid-invocation on the DEPLOYED local stack (issue 17, faults): the Stellar
submitter's bootstrap process is killed (SIGKILL, as a Lambda sandbox dies) after its payment
landed on the ledger and before it recorded the outcome; the redelivered message finishes the
deposit from the stored envelope, which is looked up by its hash and never rebuilt, so the user
is paid once and the balances match the deposit's amounts.

The window: the local ledger's `submit_hold_next` fault lets the transaction land and holds its
answer for 20 s (infra/ledger/README.md). The bootstrap is found as ministack starts it: a child
of this stack's ministack process whose environment names the function.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from payments import NO_PROXY  # noqa: E402
from sep24_wallet import TransferServer  # noqa: E402


def bootstraps_of(function_name: str, parent: int) -> list[int]:
    """The running bootstrap processes of a function: children of `parent` (ministack) whose
    environment has AWS_LAMBDA_FUNCTION_NAME = `function_name`."""
    wanted = f"AWS_LAMBDA_FUNCTION_NAME={function_name}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Field 4 of /proc/<pid>/stat, after the parenthesised command name.
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
        if ppid == parent and wanted in environ:
            found.append(int(entry.name))
    return found


def ministack_pid(stack) -> int:
    return dict(stack.aws.processes.children)["ministack"].pid


def landed(horizon: str, tx_hash: str) -> bool:
    answer = requests.get(f"{horizon}/transactions/{tx_hash}", timeout=10, proxies=NO_PROXY)
    return answer.status_code == 200


def test_a_submitter_killed_after_submitting_and_before_recording_pays_the_deposit_once(pipeline, anchor, stack):
    wallet = TransferServer(anchor.home_domain)
    user = pipeline.user(trusts=True)
    token = wallet.login(user)
    opened = wallet.interactive(token, "deposit", anchor.asset_code, anchor.asset_issuer,
                                account=user.public_key, amount="25")
    assert opened.status_code == 200, opened.text
    item = pipeline.item(opened.json()["id"])
    template = {"doc": json.loads(item["doc"]["S"]), "user": item["user"]}
    tid = pipeline.put_deposit(template, to=user.public_key)
    pipeline.receive(pipeline.reference(tid), "25")

    # The next submission lands and its answer is held; the poller queues the payment and the
    # SQS mapping hands it to the submitter.
    pipeline.faults(submit_hold_next=1)
    pipeline.invoke("DepositPollerFunction")

    envelope_hash = None
    deadline = time.monotonic() + 60
    while envelope_hash is None or not landed(pipeline.horizon, envelope_hash):
        assert time.monotonic() < deadline, f"the payment never landed: {pipeline.transaction(tid)}"
        time.sleep(0.2)
        envelope_hash = pipeline.transaction(tid).get("envelope_hash")

    # Landed, not yet recorded: the submitter's process dies now.
    function = pipeline.ids["StellarSubmitterFunction"]
    killed = bootstraps_of(function, ministack_pid(stack))
    assert killed, "no bootstrap of the submitter is running"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    stranded = pipeline.transaction(tid)
    assert stranded["status"] == "pending_stellar", stranded
    assert stranded["envelope_hash"] == envelope_hash

    # SQS would deliver the message again once its visibility timeout ends; deliver it now.
    assert pipeline.deliver("StellarSubmitterFunction", [tid]) == []
    done = pipeline.wait_status(tid, "completed", timeout=60)
    # And again, as a late redelivery would: nothing more is paid.
    assert pipeline.deliver("StellarSubmitterFunction", [tid]) == []

    # Paid once, by the envelope stored before the kill; the amounts reconcile to the stroop.
    assert done["stellar_transaction_id"] == envelope_hash
    amount_in, amount_out = Decimal(done["amount_in"]), Decimal(done["amount_out"])
    fee = Decimal(done["fee_details"]["total"])
    assert amount_in == Decimal("25") and amount_out + fee == amount_in
    payments = pipeline.payments_to(user.public_key)
    assert [(Decimal(p["amount"]), p["transaction_hash"], p["from"]) for p in payments] == [
        (amount_out, envelope_hash, anchor.distribution_account)
    ]
    assert pipeline.balance(user.public_key) == amount_out
