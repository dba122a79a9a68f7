"""Transaction-level checks: signatures and thresholds, fee-bumps, sequence numbers, time bounds,
fees, envelope versions and malformed envelopes."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
import requests
from ledger_harness import PASSPHRASE
from stellar_sdk import Account, Asset, Keypair, SignedPayloadSigner, StrKey, TransactionBuilder
from stellar_sdk import xdr as X
from stellar_sdk.exceptions import BadRequestError, NotFoundError
from stellar_sdk.signer_key import SignerKey


def pay(chain, src, dest, amount="1"):
    return chain.builder(src).append_payment_op(dest.public_key, Asset.native(), amount)


def test_missing_or_wrong_signature_is_bad_auth(chain, server):
    a, b = chain.fund(), chain.fund()
    seq = chain.account(a)["sequence"]
    assert chain.fails(pay(chain, a, b)) == {"transaction": "tx_bad_auth"}
    assert chain.fails(pay(chain, a, b), b) == {"transaction": "tx_bad_auth"}
    # refused before any ledger: no fee, no sequence number used
    assert chain.account(a)["sequence"] == seq
    assert chain.balance(a) == "10000.0000000"


def test_second_signer_and_medium_threshold(chain):
    a, b, dest = chain.fund(), chain.fund(), chain.fund()
    chain.submit(
        chain.builder(a)
        .append_ed25519_public_key_signer(b.public_key, 1)
        .append_set_options_op(med_threshold=2),
        a,
    )
    # a alone still meets the (zero) low threshold of the transaction, not the payment's medium one
    codes = chain.fails(pay(chain, a, dest), a)
    assert codes == {"transaction": "tx_failed", "operations": ["op_bad_auth"]}
    res = chain.submit(pay(chain, a, dest), a, b)
    assert res["successful"] is True and len(res["signatures"]) == 2
    # raising the high threshold beyond reach locks out threshold changes
    # the high threshold is still 0, so a's signature is enough and b's would be one too many
    assert chain.fails(chain.builder(a).append_set_options_op(high_threshold=3), a, b) == {
        "transaction": "tx_bad_auth_extra"
    }
    chain.submit(chain.builder(a).append_set_options_op(high_threshold=3), a)
    codes = chain.fails(chain.builder(a).append_set_options_op(low_threshold=0), a, b)
    assert codes == {"transaction": "tx_failed", "operations": ["op_bad_auth"]}


def test_master_weight_zero(chain):
    a, b, dest = chain.fund(), chain.fund(), chain.fund()
    chain.submit(
        chain.builder(a)
        .append_ed25519_public_key_signer(b.public_key, 1)
        .append_set_options_op(master_weight=0),
        a,
    )
    assert chain.account(a)["signers"] == [
        {"weight": 1, "key": b.public_key, "type": "ed25519_public_key"},
        {"weight": 0, "key": a.public_key, "type": "ed25519_public_key"},
    ]
    assert chain.fails(pay(chain, a, dest), a) == {"transaction": "tx_bad_auth"}
    assert chain.submit(pay(chain, a, dest), b)["successful"] is True


def test_queued_transactions_of_one_account(chain, url, server):
    # Several transactions of one account may wait for the same ledger, in sequence order.
    a, b = chain.fund(), chain.fund()
    seq = int(chain.account(a)["sequence"])
    envs = []
    for i in range(3):
        env = (
            TransactionBuilder(Account(a.public_key, seq + i), PASSPHRASE, base_fee=100)
            .append_payment_op(b.public_key, Asset.native(), "1")
            .set_timeout(300)
            .build()
        )
        env.sign(a)
        envs.append(env)
        r = requests.post(f"{url}/transactions_async", data={"tx": env.to_xdr()})
        assert r.status_code == 201, r.text
    assert server.submit_transaction(envs[-1])["successful"] is True
    assert chain.account(a)["sequence"] == str(seq + 3)
    assert chain.balance(b) == "10003.0000000"
    # a gap in the queue is still a bad sequence number
    gap = (
        TransactionBuilder(Account(a.public_key, seq + 4), PASSPHRASE, base_fee=100)
        .append_payment_op(b.public_key, Asset.native(), "1")
        .set_timeout(300)
        .build()
    )
    gap.sign(a)
    r = requests.post(f"{url}/transactions_async", data={"tx": gap.to_xdr()})
    assert r.status_code == 400 and r.json()["tx_status"] == "ERROR"
    assert (
        X.TransactionResult.from_xdr(r.json()["error_result_xdr"]).result.code
        == X.TransactionResultCode.txBAD_SEQ
    )


def test_unneeded_signature_is_bad_auth_extra(chain):
    a, b, stranger = chain.fund(), chain.fund(), Keypair.random()
    assert chain.fails(pay(chain, a, b), a, stranger) == {"transaction": "tx_bad_auth_extra"}


def test_hash_x_and_pre_auth_signers(chain, server):
    a, b = chain.fund(), chain.fund()
    preimage = b"open sesame"
    chain.submit(chain.builder(a).append_hashx_signer(hashlib.sha256(preimage).digest(), 1), a)
    env = pay(chain, a, b).set_timeout(300).build()
    env.sign_hashx(preimage)
    assert server.submit_transaction(env)["successful"] is True

    # a pre-authorized transaction needs no signature and removes its signer when applied
    acc = chain.account(a)
    seq = int(acc["sequence"])
    pre = (
        TransactionBuilder(Account(a.public_key, seq + 1), PASSPHRASE, base_fee=100)
        .append_payment_op(b.public_key, Asset.native(), "2")
        .add_time_bounds(0, 0)
        .build()
    )
    chain.submit(chain.builder(a).append_pre_auth_tx_signer(pre.hash(), 1), a)
    signer = StrKey.encode_pre_auth_tx(pre.hash())
    assert {"weight": 1, "key": signer, "type": "preauth_tx"} in chain.account(a)["signers"]
    assert server.submit_transaction(pre)["successful"] is True
    assert signer not in [s["key"] for s in chain.account(a)["signers"]]


def test_fee_bump(chain, server):
    src, payer, dest = chain.fund(), chain.fund(), chain.fund()
    inner = pay(chain, src, dest, "5").set_timeout(300).build()
    inner.sign(src)
    fb = TransactionBuilder.build_fee_bump_transaction(payer.public_key, 150, inner, PASSPHRASE)
    fb.sign(payer)
    res = server.submit_transaction(fb)
    assert res["successful"] is True
    assert res["hash"] == fb.hash_hex()
    assert (res["fee_account"], res["source_account"]) == (payer.public_key, src.public_key)
    assert (res["fee_charged"], res["max_fee"]) == ("200", "300")  # (1 op + 1) x 100, bid 2 x 150
    assert res["inner_transaction"] == {
        "hash": inner.hash_hex(),
        "signatures": [base64.b64encode(inner.signatures[0].signature).decode()],
        "max_fee": "100",
    }
    assert res["fee_bump_transaction"]["hash"] == fb.hash_hex()
    assert chain.balance(payer) == "9999.9999800"
    assert chain.balance(src) == "9995.0000000"  # the payment, but no fee
    # Horizon finds a fee-bump by its inner hash too
    by_inner = server.transactions().transaction(inner.hash_hex()).call()
    assert by_inner["hash"] == inner.hash_hex() and by_inner["ledger"] == res["ledger"]
    result = X.TransactionResult.from_xdr(res["result_xdr"])
    assert result.result.code == X.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS


def test_fee_bump_failures(chain):
    src, payer, dest = chain.fund(), chain.fund(), chain.fund()
    inner = pay(chain, src, dest).set_timeout(300).build()
    inner.sign(src)
    low = TransactionBuilder.build_fee_bump_transaction(payer.public_key, 100, inner, PASSPHRASE)
    low.transaction.fee = 199  # a fee-bump of one operation must bid at least (1 + 1) x 100
    low.sign(payer)
    r = requests.post(f"{chain.url}/transactions", data={"tx": low.to_xdr()})
    assert r.json()["extras"]["result_codes"] == {"transaction": "tx_insufficient_fee"}
    unsigned = TransactionBuilder.build_fee_bump_transaction(payer.public_key, 200, inner, PASSPHRASE)
    r = requests.post(f"{chain.url}/transactions", data={"tx": unsigned.to_xdr()})
    assert r.json()["extras"]["result_codes"] == {"transaction": "tx_bad_auth"}
    stale = (
        TransactionBuilder(Account(src.public_key, 0), PASSPHRASE, base_fee=100)
        .append_payment_op(dest.public_key, Asset.native(), "1")
        .set_timeout(300)
        .build()
    )
    stale.sign(src)
    fb = TransactionBuilder.build_fee_bump_transaction(payer.public_key, 200, stale, PASSPHRASE)
    fb.sign(payer)
    r = requests.post(f"{chain.url}/transactions", data={"tx": fb.to_xdr()})
    assert r.status_code == 400
    assert r.json()["extras"]["result_codes"] == {
        "transaction": "tx_fee_bump_inner_failed",
        "inner_transaction": "tx_bad_seq",
    }


def test_bad_sequence(chain, server):
    a, b = chain.fund(), chain.fund()
    seq = int(chain.account(a)["sequence"])
    for wrong in (seq, seq + 2):
        env = (
            TransactionBuilder(Account(a.public_key, wrong - 1), PASSPHRASE, base_fee=100)
            .append_payment_op(b.public_key, Asset.native(), "1")
            .set_timeout(300)
            .build()
        )
        env.sign(a)
        with pytest.raises(BadRequestError) as e:
            server.submit_transaction(env)
        assert e.value.extras["result_codes"] == {"transaction": "tx_bad_seq"}
        assert e.value.result_xdr == "AAAAAAAAAGT////7AAAAAA=="  # fee 100, txBAD_SEQ, as Horizon shows it
        # rejected transactions never reach a ledger
        with pytest.raises(NotFoundError):
            server.transactions().transaction(env.hash_hex()).call()


def test_time_bounds(chain, server):
    a, b = chain.fund(), chain.fund()
    now = int(time.time())
    late = pay(chain, a, b).add_time_bounds(0, now - 10)
    assert chain.fails(late, a, timeout=None) == {"transaction": "tx_too_late"}
    early = pay(chain, a, b).add_time_bounds(now + 3600, 0)
    assert chain.fails(early, a, timeout=None) == {"transaction": "tx_too_early"}
    res = chain.submit(pay(chain, a, b).add_time_bounds(now - 10, now + 300), a, timeout=None)
    assert res["valid_after"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 10))
    assert res["valid_before"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 300))
    assert res["preconditions"] == {"timebounds": {"min_time": str(now - 10), "max_time": str(now + 300)}}


def test_fee_and_balance_and_account_checks(chain, server):
    a, b = chain.fund(), chain.fund()
    assert chain.fails(chain.builder(a, fee=99).append_payment_op(b.public_key, Asset.native(), "1"), a) == {
        "transaction": "tx_insufficient_fee"
    }
    two_ops = (
        chain.builder(a, fee=50)  # 100 in total for two operations: below 2 x 100
        .append_payment_op(b.public_key, Asset.native(), "1")
        .append_payment_op(b.public_key, Asset.native(), "1")
    )
    assert chain.fails(two_ops, a) == {"transaction": "tx_insufficient_fee"}
    # an account holding exactly its reserve cannot pay any fee
    broke = Keypair.random()
    chain.submit(chain.builder(a).append_create_account_op(broke.public_key, "1"), a)
    assert chain.fails(pay(chain, broke, b, "0.0000001"), broke) == {"transaction": "tx_insufficient_balance"}
    ghost = Keypair.random()
    env = (
        TransactionBuilder(Account(ghost.public_key, 1), PASSPHRASE, base_fee=100)
        .append_payment_op(b.public_key, Asset.native(), "1")
        .set_timeout(300)
        .build()
    )
    env.sign(ghost)
    r = requests.post(f"{chain.url}/transactions", data={"tx": env.to_xdr()})
    assert r.json()["extras"]["result_codes"] == {"transaction": "tx_no_source_account"}
    empty = TransactionBuilder(server.load_account(a), PASSPHRASE, base_fee=100).set_timeout(300).build()
    empty.sign(a)
    r = requests.post(f"{chain.url}/transactions", data={"tx": empty.to_xdr()})
    assert r.json()["extras"]["result_codes"] == {"transaction": "tx_missing_operation"}


def test_v0_envelope(chain, server):
    a, b = chain.fund(), chain.fund()
    env = (
        chain.builder(a, v1=False)
        .append_payment_op(b.public_key, Asset.native(), "3")
        .set_timeout(300)
        .build()
    )
    env.sign(a)
    assert X.TransactionEnvelope.from_xdr(env.to_xdr()).type == X.EnvelopeType.ENVELOPE_TYPE_TX_V0
    res = server.submit_transaction(env)
    assert res["successful"] is True and res["hash"] == env.hash_hex()
    assert chain.balance(b) == "10003.0000000"


def test_malformed_and_non_canonical_envelopes(chain):
    r = requests.post(f"{chain.url}/transactions", data={"tx": "not base64!"})
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert (body["type"], body["title"]) == (
        "https://stellar.org/horizon-errors/transaction_malformed",
        "Transaction Malformed",
    )
    assert body["extras"]["envelope_xdr"] == "not base64!"
    # a text memo "abc" is padded with one zero byte; any other padding is not canonical XDR
    a, b = chain.fund(), chain.fund()
    env = pay(chain, a, b).add_text_memo("abc").set_timeout(300).build()
    env.sign(a)
    raw = bytearray(base64.b64decode(env.to_xdr()))
    i = raw.find(b"abc\x00")
    raw[i + 3] = 1
    r = requests.post(f"{chain.url}/transactions", data={"tx": base64.b64encode(raw).decode()})
    assert r.status_code == 400 and r.json()["type"].endswith("/transaction_malformed")
    # JSON bodies are accepted too
    r = requests.post(f"{chain.url}/transactions", json={"tx": env.to_xdr()})
    assert r.status_code == 200 and r.json()["memo"] == "abc"


def test_v2_preconditions(chain, server):
    """Extra signers (a signed payload here), min_seq_num and min_seq_ledger_gap."""
    a, b, witness = chain.fund(), chain.fund(), Keypair.random()
    signer = SignedPayloadSigner(witness.public_key, b"invoice-42")
    builder = pay(chain, a, b).add_extra_signer(signer)
    assert chain.fails(builder, a) == {"transaction": "tx_bad_auth"}
    env = pay(chain, a, b).add_extra_signer(signer).set_timeout(300).build()
    env.sign(a)
    env.sign_extra_signers_payload(witness)
    res = server.submit_transaction(env)
    assert res["preconditions"]["extra_signers"] == [
        SignerKey.ed25519_signed_payload(signer).encoded_signer_key
    ]
    # min_seq_num relaxes the sequence check: any account sequence in [min, tx seq) will do
    seq = int(chain.account(a)["sequence"])
    jump = (
        TransactionBuilder(Account(a.public_key, seq + 9), PASSPHRASE, base_fee=100)
        .append_payment_op(b.public_key, Asset.native(), "1")
        .set_min_sequence_number(seq)
        .set_timeout(300)
        .build()
    )
    jump.sign(a)
    assert server.submit_transaction(jump)["source_account_sequence"] == str(seq + 10)
    assert chain.account(a)["sequence"] == str(seq + 10)
    # a ledger gap of 1000 since the last sequence bump is far off
    assert chain.fails(pay(chain, a, b).set_min_sequence_ledger_gap(1000), a) == {
        "transaction": "tx_bad_minseq_age_or_gap"
    }
