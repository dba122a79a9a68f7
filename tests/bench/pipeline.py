"""Benchmark (not a test): N deposits through the deployed deposit pipeline (deposit-poller ->
SubmissionsQueue -> stellar-submitter -> the local ledger) with K channel accounts, printing
deposits completed per ledger for each K.

    .venv/bin/python tests/bench/pipeline.py [--deposits 100] [--channels 1 4 16] [--close-interval 1.0]

It starts its own local stack on free ports (template.yaml in the local AWS, the local ledger
closing a ledger every --close-interval seconds, the demo bank), funds max(K) channel accounts,
and for each K redeploys with ChannelCount=K, writes N deposits waiting for their bank transfer,
marks every transfer received, runs the poller once and waits until all are completed. A
deposit's ledger is the one its payment landed in; "per ledger" is N over the ledgers from the
first payment's to the last one's. The emulator adds ~50-100 ms per Lambda invocation, so the
numbers show how the channel pool scales, not AWS's absolute throughput. The submissions
queue's visibility timeout is shortened to 65 s for the run (see `main`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from stellar_sdk import Keypair

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests" / "e2e" / "stack"))

from infra.local_stack.processes import free_port  # noqa: E402
from infra.local_stack.stack import LocalStack, Settings  # noqa: E402
from payments import NO_PROXY, Pipeline  # noqa: E402
from sep24_wallet import TransferServer  # noqa: E402


def template_deposit(pipeline: Pipeline, stack: LocalStack) -> dict:
    wallet = TransferServer(stack.settings.home_domain)
    keypair = Keypair.random()
    token = wallet.login(keypair)
    opened = wallet.interactive(token, "deposit", stack.settings.asset_code, stack.keys.issuer.public_key,
                                account=keypair.public_key, amount="10")
    opened.raise_for_status()
    import json

    item = pipeline.item(opened.json()["id"])
    return {"doc": json.loads(item["doc"]["S"]), "user": item["user"]}


def run(pipeline: Pipeline, template: dict, users: list[Keypair], deposits: int) -> dict:
    ids = [pipeline.put_deposit(template, users[i % len(users)].public_key) for i in range(deposits)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda tid: pipeline.receive(pipeline.reference(tid), "10"), ids))
    started = time.monotonic()
    pipeline.invoke("DepositPollerFunction")
    done = pipeline.wait_all(ids, "completed", timeout=max(600, deposits * 10))
    elapsed = time.monotonic() - started
    hashes = {d["stellar_transaction_id"] for d in done.values()}
    ledgers = []
    for h in hashes:
        record = requests.get(f"{pipeline.horizon}/transactions/{h}", timeout=10, proxies=NO_PROXY).json()
        ledgers.append(int(record["ledger"]))
    span = max(ledgers) - min(ledgers) + 1
    return {"deposits": deposits, "seconds": elapsed, "ledgers": span, "per_ledger": deposits / span}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deposits", type=int, default=100)
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--close-interval", type=float, default=1.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mooring-bench-"))
    settings = Settings(
        repo=REPO, work_dir=work, port=free_port(), aws_port=free_port(), ledger_port=free_port(),
        bank_port=free_port(), close_interval=args.close_interval, stack="mooring-bench",
        channel_count=max(args.channels),
    )
    stack = LocalStack(settings)
    print(f"starting a local stack in {work} (ledger close every {args.close_interval} s) ...", flush=True)
    stack.up(say=lambda message: print(f"  {message}", flush=True))
    results = []
    try:
        pipeline = Pipeline(stack)
        template = template_deposit(pipeline, stack)
        users = [pipeline.user(trusts=True) for _ in range(8)]
        for channels in args.channels:
            settings.channel_count = channels
            stack.aws.deploy(REPO / "template.yaml", work / "build", work / "deploy", settings.stack, stack.parameters())
            pipeline = Pipeline(stack)
            # A message that found no free channel within the submitter's budget comes back after
            # the queue's visibility timeout (360 s in the template: 6 x the function's 60 s);
            # the benchmark shortens it to just over the function's timeout.
            stack.aws.boto("sqs").set_queue_attributes(
                QueueUrl=pipeline.ids["SubmissionsQueue"], Attributes={"VisibilityTimeout": "65"}
            )
            result = run(pipeline, template, users, args.deposits)
            result["channels"] = channels
            results.append(result)
            print(f"K={channels:>3}: {result['deposits']} deposits in {result['ledgers']} ledgers "
                  f"({result['seconds']:.1f} s): {result['per_ledger']:.2f} deposits completed per ledger", flush=True)
    finally:
        stack.down()
        shutil.rmtree(work, ignore_errors=True)
    print("\nchannels  deposits  ledgers  seconds  deposits/ledger")
    for r in results:
        print(f"{r['channels']:>8}  {r['deposits']:>8}  {r['ledgers']:>7}  {r['seconds']:>7.1f}  {r['per_ledger']:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
