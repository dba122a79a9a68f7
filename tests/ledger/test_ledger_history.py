"""Reading history: paging through payments and transactions with cursors, record formats,
friendbot, fee stats, claimable balance listings, ledgers and the root document."""

from __future__ import annotations

import base64
import hashlib
import queue
import threading

import pytest
import requests
from stellar_sdk import Asset, Claimant, Keypair
from stellar_sdk import xdr as X
from stellar_sdk.exceptions import BadRequestError, NotFoundError


def toid(ledger: int, tx: int = 0, op: int = 0) -> int:
    return (ledger << 32) | (tx << 12) | op


@pytest.fixture(scope="module")
def busy(chain):
    """A receiver paid 25 times by two senders, five payments per transaction, with memos."""
    a, b, receiver = chain.fund(), chain.fund(), chain.fund()
    hashes = []
    for i in range(5):
        sender = a if i % 2 == 0 else b
        builder = chain.builder(sender).add_text_memo(f"batch {i}")
        for j in range(5):
            builder.append_payment_op(receiver.public_key, Asset.native(), str(i * 5 + j + 1))
        hashes.append(chain.submit(builder, sender)["hash"])
    return receiver, hashes


def collect(call_builder, pages: int) -> list[list[dict]]:
    out = [call_builder.call()["_embedded"]["records"]]
    for _ in range(pages - 1):
        out.append(call_builder.next()["_embedded"]["records"])
    return out


def test_payments_page_by_page(server, busy):
    receiver, hashes = busy
    asc = collect(server.payments().for_account(receiver.public_key).limit(10).order(desc=False), 4)
    assert [len(p) for p in asc] == [10, 10, 6, 0]  # friendbot's create_account + 25 payments
    records = [r for p in asc for r in p]
    assert records[0]["type"] == "create_account" and records[0]["account"] == receiver.public_key
    payments = records[1:]
    assert [r["amount"] for r in payments] == [f"{n}.0000000" for n in range(1, 26)]
    tokens = [int(r["paging_token"]) for r in records]
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)
    assert all(r["id"] == r["paging_token"] for r in records)
    # operation ids are Horizon's TOIDs: (ledger << 32) | (tx index << 12) | op index (1-based)
    first_of_batch = payments[0]
    ledger = server.transactions().transaction(first_of_batch["transaction_hash"]).call()["ledger"]
    assert int(first_of_batch["id"]) >> 32 == ledger and int(first_of_batch["id"]) & 0xFFF == 1
    assert [int(r["id"]) & 0xFFF for r in payments[:5]] == [1, 2, 3, 4, 5]

    desc = collect(server.payments().for_account(receiver.public_key).limit(10).order(desc=True), 4)
    assert [len(p) for p in desc] == [10, 10, 6, 0]
    assert [r["id"] for p in desc for r in p] == [r["id"] for r in reversed(records)]


def test_payments_cursor_and_join(server, url, busy):
    receiver, hashes = busy
    page = server.payments().for_account(receiver.public_key).cursor("now").call()
    assert page["_embedded"]["records"] == []
    page = (
        server.payments()
        .for_account(receiver.public_key)
        .limit(3)
        .order(desc=True)
        .join("transactions")
        .call()
    )
    recs = page["_embedded"]["records"]
    assert [r["amount"] for r in recs] == ["25.0000000", "24.0000000", "23.0000000"]
    assert all(
        r["transaction"]["memo"] == "batch 4" and r["transaction"]["memo_type"] == "text" for r in recs
    )
    assert recs[0]["transaction"]["hash"] == hashes[4]
    assert recs[0]["_links"]["transaction"]["href"] == f"{url}/transactions/{hashes[4]}"
    # an explicit cursor continues after that record
    after = (
        server.payments()
        .for_account(receiver.public_key)
        .cursor(recs[-1]["paging_token"])
        .order(desc=True)
        .limit(2)
        .call()
    )
    assert [r["amount"] for r in after["_embedded"]["records"]] == ["22.0000000", "21.0000000"]
    r = requests.get(f"{url}/payments", params={"cursor": "x"})
    assert r.status_code == 400 and r.json()["extras"]["invalid_field"] == "cursor"
    r = requests.get(f"{url}/payments", params={"limit": "201"})
    assert r.status_code == 400 and r.json()["extras"]["invalid_field"] == "limit"


def test_cursor_now_then_new_payment(chain, server, busy):
    receiver, _ = busy
    first = server.payments().for_account(receiver.public_key).cursor("now")
    assert first.call()["_embedded"]["records"] == []
    sender = chain.fund()
    chain.submit(chain.builder(sender).append_payment_op(receiver.public_key, Asset.native(), "0.5"), sender)
    # following `next` from the "now" page finds what arrived since: how a payment watcher polls
    assert [r["amount"] for r in first.next()["_embedded"]["records"]] == ["0.5000000"]


def test_transactions_listing(server, busy):
    receiver, hashes = busy
    txs = server.transactions().for_account(receiver.public_key).limit(200).call()["_embedded"]["records"]
    listed = [t["hash"] for t in txs]
    assert listed[1:6] == hashes  # after friendbot's transaction
    tokens = [int(t["paging_token"]) for t in txs]
    assert tokens == sorted(tokens)
    assert all(
        t["paging_token"] == str(toid(t["ledger"], (int(t["paging_token"]) >> 12) & 0xFFFFF)) for t in txs
    )
    everything = server.transactions().order(desc=True).limit(5).call()["_embedded"]["records"]
    assert len(everything) == 5


def test_transaction_record(chain, server, url):
    a, b = chain.fund(), chain.fund()
    memo_hash = hashlib.sha256(b"invoice 7").digest()
    res = chain.submit(
        chain.builder(a).add_hash_memo(memo_hash).append_payment_op(b.public_key, Asset.native(), "1"), a
    )
    rec = server.transactions().transaction(res["hash"]).call()
    assert rec == res
    assert rec["memo_type"] == "hash" and rec["memo"] == base64.b64encode(memo_hash).decode()
    assert rec["id"] == rec["hash"] and rec["successful"] is True
    for key in ("source_account_sequence", "fee_charged", "max_fee", "paging_token"):
        assert isinstance(rec[key], str)
    assert rec["source_account"] == rec["fee_account"] == a.public_key
    assert (rec["fee_charged"], rec["max_fee"], rec["operation_count"]) == ("100", "100", 1)
    assert rec["created_at"].endswith("Z") and len(rec["created_at"]) == 20
    assert X.TransactionEnvelope.from_xdr(rec["envelope_xdr"]).v1.tx.seq_num.sequence_number.int64 == int(
        rec["source_account_sequence"]
    )
    result = X.TransactionResult.from_xdr(rec["result_xdr"])
    assert result.fee_charged.int64 == 100 and result.result.code == X.TransactionResultCode.txSUCCESS
    assert rec["_links"]["self"]["href"] == f"{url}/transactions/{rec['hash']}"
    id_memo = chain.submit(chain.builder(a).add_id_memo(2**64 - 1).append_bump_sequence_op(0), a)
    assert (id_memo["memo_type"], id_memo["memo"]) == ("id", "18446744073709551615")
    text = chain.submit(chain.builder(a).add_text_memo("héllo").append_bump_sequence_op(0), a)
    assert text["memo"] == "héllo" and text["memo_bytes"] == base64.b64encode("héllo".encode()).decode()
    none = chain.submit(chain.builder(a).append_bump_sequence_op(0), a)
    assert none["memo_type"] == "none" and "memo" not in none
    with pytest.raises(NotFoundError):
        server.transactions().transaction("00" * 32).call()


def test_friendbot(url, server):
    kp = Keypair.random()
    r = requests.get(f"{url}/friendbot", params={"addr": kp.public_key})
    assert r.status_code == 200 and r.json()["successful"] is True
    assert server.load_account(kp).raw_data["balances"][0]["balance"] == "10000.0000000"
    op = server.operations().for_transaction(r.json()["hash"]).call()["_embedded"]["records"][0]
    assert (op["type"], op["account"], op["starting_balance"]) == (
        "create_account",
        kp.public_key,
        "10000.0000000",
    )
    again = requests.post(f"{url}/friendbot", params={"addr": kp.public_key})
    assert again.status_code == 400
    assert again.json()["extras"]["result_codes"] == {
        "transaction": "tx_failed",
        "operations": ["op_already_exists"],
    }
    bad = requests.get(f"{url}/friendbot", params={"addr": "GNOTANACCOUNT"})
    assert bad.status_code == 400 and bad.json()["type"] == "https://stellar.org/horizon-errors/bad_request"


def test_fee_stats(server):
    stats = server.fee_stats().call()
    assert stats["last_ledger_base_fee"] == "100"
    assert int(stats["last_ledger"]) >= 2
    float(stats["ledger_capacity_usage"])
    keys = ["max", "min", "mode", "p10", "p20", "p30", "p40", "p50", "p60", "p70", "p80", "p90", "p95", "p99"]
    for dist in ("fee_charged", "max_fee"):
        assert list(stats[dist]) == keys
        assert all(int(v) >= 100 for v in stats[dist].values())
    assert server.fetch_base_fee() == 100


def test_claimable_balances_listing(chain, server, url):
    a, b, c = chain.fund(), chain.fund(), chain.fund()
    usd = Asset("USD", a.public_key)
    env = (
        chain.builder(a)
        .append_create_claimable_balance_op(Asset.native(), "1", [Claimant(b.public_key)])
        .append_create_claimable_balance_op(usd, "2", [Claimant(b.public_key), Claimant(c.public_key)])
        .set_timeout(300)
        .build()
    )
    env.sign(a)
    server.submit_transaction(env)
    ids = [env.transaction.get_claimable_balance_id(i) for i in range(2)]
    for_b = server.claimable_balances().for_claimant(b.public_key).call()["_embedded"]["records"]
    assert sorted(r["id"] for r in for_b) == sorted(ids)
    for_c = server.claimable_balances().for_claimant(c.public_key).call()["_embedded"]["records"]
    assert [(r["id"], r["asset"], r["amount"]) for r in for_c] == [
        (ids[1], f"USD:{a.public_key}", "2.0000000")
    ]
    assert for_c[0]["paging_token"] == f"{for_c[0]['last_modified_ledger']}-{ids[1]}"
    by_asset = server.claimable_balances().for_asset(usd).call()["_embedded"]["records"]
    assert [r["id"] for r in by_asset] == [ids[1]]
    by_sponsor = server.claimable_balances().for_sponsor(a.public_key).call()["_embedded"]["records"]
    assert len(by_sponsor) == 2
    page1 = server.claimable_balances().for_claimant(b.public_key).limit(1)
    first, second = page1.call()["_embedded"]["records"], page1.next()["_embedded"]["records"]
    assert len(first) == len(second) == 1 and first[0]["id"] != second[0]["id"]
    assert chain.account(a)["num_sponsoring"] == 3  # one reserve per claimant


def test_account_not_found_and_cors(url):
    r = requests.get(f"{url}/accounts/{Keypair.random().public_key}")
    assert r.status_code == 404
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.json() == {
        "type": "https://stellar.org/horizon-errors/not_found",
        "title": "Resource Missing",
        "status": 404,
        "detail": "The resource at the url requested was not found.  This usually occurs for one of two reasons:  "
        "The url requested is not valid, or no data in our database could be found with the parameters provided.",
    }
    r = requests.get(f"{url}/accounts/nonsense")
    assert r.status_code == 400 and r.json()["extras"]["invalid_field"] == "account_id"


def test_root_and_ledgers(server, url, chain):
    root = server.root().call()
    assert root["network_passphrase"] == "Standalone Network ; February 2017"
    latest = root["history_latest_ledger"]
    assert latest >= 2 and root["core_latest_ledger"] == latest
    a = chain.fund()
    ledger_seq = chain.submit(chain.builder(a).append_bump_sequence_op(0), a)["ledger"]
    ledger = server.ledgers().ledger(ledger_seq).call()
    assert ledger["sequence"] == ledger_seq and ledger["successful_transaction_count"] >= 1
    # the header XDR is a real LedgerHeader whose SHA-256 is the ledger's hash
    raw = base64.b64decode(ledger["header_xdr"])
    header = X.LedgerHeader.from_xdr_bytes(raw)
    assert header.ledger_seq.uint32 == ledger_seq
    assert hashlib.sha256(raw).hexdigest() == ledger["hash"] == ledger["id"]
    prev = server.ledgers().ledger(ledger_seq - 1).call()
    assert ledger["prev_hash"] == prev["hash"]
    assert server.root().call()["history_latest_ledger"] > latest


def test_async_submission(chain, url, server):
    a, b = chain.fund(), chain.fund()
    env = chain.builder(a).append_payment_op(b.public_key, Asset.native(), "4").set_timeout(300).build()
    env.sign(a)
    r = requests.post(f"{url}/transactions_async", data={"tx": env.to_xdr()})
    assert r.status_code == 201 and r.json() == {"tx_status": "PENDING", "hash": env.hash_hex()}
    # the synchronous endpoint joins the queued transaction and answers when it lands
    rec = server.submit_transaction(env)
    assert rec["successful"] is True
    r = requests.post(f"{url}/transactions_async", data={"tx": env.to_xdr()})
    assert r.status_code == 409 and r.json()["tx_status"] == "DUPLICATE"
    with pytest.raises(BadRequestError):
        server.submit_transaction(
            chain.builder(a).append_payment_op(b.public_key, Asset.native(), "1").set_timeout(300).build()
        )


def test_ledger_scoped_and_failed_listings(chain, server, url):
    a, b = chain.fund(), chain.fund()
    ok = chain.submit(chain.builder(a).append_payment_op(b.public_key, Asset.native(), "6"), a)
    failed = (
        chain.builder(a)
        .append_payment_op(Keypair.random().public_key, Asset.native(), "1")
        .set_timeout(300)
        .build()
    )
    failed.sign(a)
    with pytest.raises(BadRequestError):
        server.submit_transaction(failed)
    in_ledger = server.payments().for_ledger(ok["ledger"]).call()["_embedded"]["records"]
    assert ok["hash"] in [p["transaction_hash"] for p in in_ledger]
    assert all(int(p["id"]) >> 32 == ok["ledger"] for p in in_ledger)
    mine = (
        server.payments().for_account(a.public_key).order(desc=True).limit(1).call()["_embedded"]["records"]
    )
    assert mine[0]["transaction_hash"] == ok["hash"]
    with_failed = (
        server.payments().for_account(a.public_key).order(desc=True).limit(1).include_failed(True).call()
    )["_embedded"]["records"]
    assert with_failed[0]["transaction_hash"] == failed.hash_hex()
    assert with_failed[0]["transaction_successful"] is False
    op = server.operations().operation(mine[0]["id"]).call()
    assert op["id"] == mine[0]["id"] and op["amount"] == "6.0000000"
    txs = server.transactions().for_ledger(ok["ledger"]).call()["_embedded"]["records"]
    assert ok["hash"] in [t["hash"] for t in txs]


def test_streaming_payments(chain, server):
    """The SDK's stream() (server-sent events) sees past payments, then new ones as they land."""
    a, b = chain.fund(), chain.fund()
    seen: queue.Queue = queue.Queue()

    def watch():
        try:
            for rec in server.payments().for_account(b.public_key).stream():
                seen.put(rec)
        except Exception:  # the stream ends with the ledger at the end of the session
            pass

    threading.Thread(target=watch, daemon=True).start()
    assert seen.get(timeout=10)["type"] == "create_account"
    chain.submit(chain.builder(a).append_payment_op(b.public_key, Asset.native(), "8"), a)
    rec = seen.get(timeout=10)
    assert (rec["type"], rec["amount"], rec["to"]) == ("payment", "8.0000000", b.public_key)
