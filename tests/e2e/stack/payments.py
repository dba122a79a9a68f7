"""Helpers of the money-movement tests on the deployed local stack (test_payments_deployed.py)
and of the pipeline benchmark (tests/bench/pipeline.py): the deployed payment functions, the
transactions in DynamoDB, the local ledger, the demo bank, the functions' CloudWatch logs.

The scheduled functions (deposit-poller, trustline-recheck, payment-watcher, payout-poller)
run every minute in the emulator as in AWS; the tests do not wait for the schedule but invoke
them directly (`aws lambda invoke`), as an operator may: every worker is safe to run twice at
once. The queue consumers (stellar-submitter, withdrawal-processor) run from their SQS event
source mappings, and the tests also invoke them directly with SQS events to deliver messages
twice.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from decimal import Decimal

import requests
from stellar_sdk import Asset, Keypair, Server, TransactionBuilder
from stellar_sdk.memo import HashMemo, IdMemo, TextMemo

NO_PROXY = {"http": None, "https": None}


class Pipeline:
    def __init__(self, stack):
        self.stack = stack
        self.aws = stack.aws
        self.ids = stack.aws.physical_ids(stack.settings.stack)
        self.lambdas = stack.aws.boto("lambda")
        self.dynamodb = stack.aws.boto("dynamodb")
        self.logs = stack.aws.boto("logs")
        self.horizon = stack.horizon_url
        self.bank = stack.settings.bank_url
        self.passphrase = stack.settings.network_passphrase
        self.asset = Asset(stack.settings.asset_code, stack.keys.issuer.public_key)
        self.server = Server(self.horizon)

    # --- functions ---------------------------------------------------------------------------

    def invoke(self, logical_id: str, payload: dict | None = None) -> dict:
        answer = self.lambdas.invoke(
            FunctionName=self.ids[logical_id],
            InvocationType="RequestResponse",
            Payload=json.dumps(payload or {"source": "mooring.tests"}).encode(),
        )
        body = answer["Payload"].read()
        if answer.get("FunctionError"):
            raise AssertionError(f"{logical_id} failed: {body[:2000]!r}")
        return json.loads(body or b"null")

    @contextlib.contextmanager
    def schedule_paused(self, logical_id: str):
        """The function's every-minute schedule rule disabled for the duration."""
        events = self.aws.boto("events")
        rule = self.ids[f"{logical_id}EveryMinute"]
        events.disable_rule(Name=rule)
        try:
            yield
        finally:
            events.enable_rule(Name=rule)

    def deliver(self, logical_id: str, transaction_ids: list[str], kind: str = "deposit") -> list[str]:
        """Invokes a queue consumer directly with an SQS event of these transactions (batches of
        10, as the mapping does); returns the ids it reported failed."""
        failed = []
        for start in range(0, len(transaction_ids), 10):
            records = [
                {
                    "messageId": str(uuid.uuid4()),
                    "receiptHandle": "direct",
                    "body": json.dumps({"transaction_id": tid, "kind": kind}),
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "awsRegion": "us-east-1",
                }
                for tid in transaction_ids[start : start + 10]
            ]
            answer = self.invoke(logical_id, {"Records": records})
            failed += [f["itemIdentifier"] for f in answer.get("batchItemFailures", [])]
        return failed

    # --- transactions ------------------------------------------------------------------------

    @property
    def transactions_table(self) -> str:
        return self.ids["TransactionsTable"]

    def item(self, transaction_id: str) -> dict | None:
        got = self.dynamodb.get_item(
            TableName=self.transactions_table, Key={"id": {"S": transaction_id}}, ConsistentRead=True
        )
        return got.get("Item")

    def transaction(self, transaction_id: str) -> dict:
        item = self.item(transaction_id)
        assert item is not None, f"no transaction {transaction_id}"
        return json.loads(item["doc"]["S"])

    def wait_status(self, transaction_id: str, statuses: set[str] | str, timeout: float = 60) -> dict:
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        deadline = time.monotonic() + timeout
        while True:
            doc = self.transaction(transaction_id)
            if doc["status"] in wanted:
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"{transaction_id} is {doc['status']} (message {doc.get('status_message')!r}), not {wanted}")
            time.sleep(0.25)

    def wait_all(self, transaction_ids: list[str], status: str, timeout: float) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        pending = set(transaction_ids)
        done: dict[str, dict] = {}
        while pending:
            for tid in list(pending):
                doc = self.transaction(tid)
                if doc["status"] == status:
                    done[tid] = doc
                    pending.discard(tid)
            if not pending:
                break
            if time.monotonic() > deadline:
                sample = {tid: self.transaction(tid)["status"] for tid in list(pending)[:5]}
                raise AssertionError(f"{len(pending)} of {len(transaction_ids)} not {status}: {sample}")
            time.sleep(0.5)
        return done

    def put_deposit(self, template: dict, to: str, claimable_balance_supported: bool = False) -> str:
        """A deposit waiting for its bank transfer (pending_user_transfer_start), written as the
        deployed functions write transactions (shared/mooring/src/store/dynamodb/codec.rs): a copy of
        a deposit the SEP-24 API opened, with a new id (so a new bank reference) and destination."""
        doc = json.loads(json.dumps(template["doc"]))
        tid = str(uuid.uuid4())
        doc.update(id=tid, status="pending_user_transfer_start", version=0, to=to,
                   claimable_balance_supported=claimable_balance_supported)
        for key in ("instructions", "amount_in", "amount_out", "fee_details", "stellar_transaction_id",
                    "external_transaction_id", "completed_at", "status_message", "envelope_xdr", "envelope_hash"):
            doc.pop(key, None)
        doc["submission"] = template["doc"].get("submission", "not_submitted")
        millis = int(time.time() * 1000)
        item = {
            "id": {"S": tid},
            "version": {"N": "0"},
            "status": {"S": "pending_user_transfer_start"},
            "user": template["user"],
            "kind_status": {"S": "deposit#pending_user_transfer_start"},
            "started": {"S": f"{millis:015d}#{tid}"},
            "doc": {"S": json.dumps(doc)},
        }
        self.dynamodb.put_item(TableName=self.transactions_table, Item=item,
                               ConditionExpression="attribute_not_exists(id)")
        return tid

    # --- the demo bank -----------------------------------------------------------------------

    @staticmethod
    def reference(transaction_id: str) -> str:
        hexdigits = "".join(c for c in transaction_id if c in "0123456789abcdefABCDEF")[:8]
        return f"MOOR-{hexdigits.upper()}"

    def receive(self, reference: str, amount: str) -> dict:
        answer = requests.post(f"{self.bank}/transfers", json={"reference": reference, "amount": amount},
                               timeout=10, proxies=NO_PROXY)
        answer.raise_for_status()
        return answer.json()

    def payouts(self, reference: str) -> list[dict]:
        answer = requests.get(f"{self.bank}/payouts", params={"reference": reference}, timeout=10, proxies=NO_PROXY)
        answer.raise_for_status()
        return answer.json()["payouts"]

    # --- the ledger --------------------------------------------------------------------------

    def friendbot(self, account: str) -> None:
        requests.get(f"{self.horizon}/friendbot", params={"addr": account}, timeout=60, proxies=NO_PROXY).raise_for_status()

    def account(self, account: str) -> dict | None:
        answer = requests.get(f"{self.horizon}/accounts/{account}", timeout=10, proxies=NO_PROXY)
        return answer.json() if answer.status_code == 200 else None

    def balance(self, account: str) -> Decimal | None:
        record = self.account(account)
        if record is None:
            return None
        for b in record["balances"]:
            if b.get("asset_code") == self.asset.code and b.get("asset_issuer") == self.asset.issuer:
                return Decimal(b["balance"])
        return None

    def submit(self, source: Keypair, add, memo=None) -> dict:
        account = self.server.load_account(source.public_key)
        builder = TransactionBuilder(account, self.passphrase, base_fee=100).set_timeout(60)
        add(builder)
        if memo is not None:
            builder.add_memo(memo)
        envelope = builder.build()
        envelope.sign(source)
        return self.server.submit_transaction(envelope)

    def trust(self, keypair: Keypair) -> None:
        self.submit(keypair, lambda b: b.append_change_trust_op(self.asset))

    def user(self, trusts: bool = True, usdc: str | None = None) -> Keypair:
        """A funded account on the ledger, trusting the asset (and holding `usdc` of it)."""
        keypair = Keypair.random()
        self.friendbot(keypair.public_key)
        if trusts:
            self.trust(keypair)
        if usdc:
            issuer = self.stack.keys.issuer
            self.submit(issuer, lambda b: b.append_payment_op(keypair.public_key, self.asset, usdc))
        return keypair

    def pay_anchor(self, keypair: Keypair, amount: str, account: str, memo_type: str, memo: str) -> dict:
        if memo_type == "hash":
            memo_object = HashMemo(base64.b64decode(memo))
        elif memo_type == "id":
            memo_object = IdMemo(int(memo))
        else:
            memo_object = TextMemo(memo)
        return self.submit(keypair, lambda b: b.append_payment_op(account, self.asset, amount), memo=memo_object)

    def payments_to(self, account: str) -> list[dict]:
        """Every payment of the asset to `account` on the ledger."""
        found, cursor = [], None
        while True:
            params = {"limit": 200, "order": "asc"}
            if cursor:
                params["cursor"] = cursor
            page = requests.get(f"{self.horizon}/accounts/{account}/payments", params=params, timeout=10,
                                proxies=NO_PROXY).json()["_embedded"]["records"]
            found += [p for p in page if p.get("type") == "payment" and p.get("to") == account
                      and p.get("asset_code") == self.asset.code]
            if len(page) < 200:
                return found
            cursor = page[-1]["paging_token"]

    def faults(self, **faults) -> dict:
        answer = requests.post(f"{self.horizon}/_test/faults", json=faults, timeout=10, proxies=NO_PROXY)
        answer.raise_for_status()
        return answer.json()

    # --- logs --------------------------------------------------------------------------------

    def log_lines(self, logical_id: str, *needles: str) -> list[str]:
        """The lines of a function's CloudWatch log holding every needle."""
        group = f"/aws/lambda/{self.ids[logical_id]}"
        lines, token = [], None
        while True:
            kwargs = {"logGroupName": group}
            if token:
                kwargs["nextToken"] = token
            try:
                page = self.logs.filter_log_events(**kwargs)
            except self.logs.exceptions.ResourceNotFoundException:
                return []
            lines += [e["message"] for e in page.get("events", []) if all(n in e["message"] for n in needles)]
            token = page.get("nextToken")
            if not token or not page.get("events"):
                return lines
