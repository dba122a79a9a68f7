"""Cross-check of Mooring's outgoing Stellar transactions against the Python stellar-sdk.

`cargo run --example payment_vectors` prints transactions that
`mooring::stellar::payment` built and signed from fixed keys, with the parameters of each. Here
the stellar-sdk (an independent implementation) builds the same transactions from those
parameters alone; the envelopes must be byte for byte the same, with the same hash, the same
claimable balance ids, and signatures that verify with each signer's key.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from stellar_sdk import (
    Account,
    Asset,
    Claimant,
    Keypair,
    MuxedAccount,
    TransactionBuilder,
    TransactionEnvelope,
)
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.memo import HashMemo, IdMemo, NoneMemo, TextMemo

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vectors() -> dict:
    cargo = os.environ.get("CARGO", "cargo")
    out = subprocess.run(
        [cargo, "run", "-q", "--example", "payment_vectors"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return json.loads(out.stdout)


def _asset(s: str) -> Asset:
    if s == "native":
        return Asset.native()
    code, issuer = s.split(":")
    return Asset(code, issuer)


def _memo(memo_type: str, memo: str | None):
    if memo_type == "none":
        return NoneMemo()
    if memo_type == "id":
        return IdMemo(int(memo))
    if memo_type == "text":
        return TextMemo(memo)
    if memo_type == "hash":
        return HashMemo(base64.b64decode(memo))
    raise AssertionError(memo_type)


def _rebuild(v: dict, passphrase: str, keys: dict[str, Keypair]) -> TransactionEnvelope:
    source = Account(v["source"], int(v["sequence"]) - 1)
    builder = TransactionBuilder(source, passphrase, base_fee=v["fee_per_op"])
    builder.add_time_bounds(v["min_time"], v["max_time"])
    builder.add_memo(_memo(v["memo_type"], v["memo"]))
    op_source = v["operation_source"]
    for op in v["operations"]:
        if op["type"] == "payment":
            builder.append_payment_op(
                MuxedAccount.from_account(op["destination"]),
                _asset(op["asset"]),
                op["amount"],
                source=op_source,
            )
        elif op["type"] == "create_account":
            builder.append_create_account_op(op["destination"], op["starting_balance"], source=op_source)
        elif op["type"] == "claimable_balance":
            builder.append_create_claimable_balance_op(
                _asset(op["asset"]), op["amount"], [Claimant(op["claimant"])], source=op_source
            )
        else:
            raise AssertionError(op["type"])
    envelope = builder.build()
    for name in v["signers"]:
        envelope.sign(keys[name])
    return envelope


def test_vectors_cover_every_operation_and_memo(vectors):
    kinds = {op["type"] for v in vectors["vectors"] for op in v["operations"]}
    assert kinds == {"payment", "create_account", "claimable_balance"}
    memos = {v["memo_type"] for v in vectors["vectors"]}
    assert memos == {"none", "id", "text", "hash"}
    assert any(op.get("destination", "").startswith("M") for v in vectors["vectors"] for op in v["operations"])


def test_envelopes_hashes_and_balance_ids_match_the_stellar_sdk(vectors):
    passphrase = vectors["network_passphrase"]
    keys = {name: Keypair.from_secret(seed) for name, seed in vectors["keys"].items()}
    for v in vectors["vectors"]:
        ours = _rebuild(v, passphrase, keys)
        assert ours.to_xdr() == v["envelope_xdr"], v["name"]
        assert ours.hash_hex() == v["hash"], v["name"]
        for i, balance_id in enumerate(v["claimable_balance_ids"]):
            if balance_id is None:
                continue
            assert ours.transaction.get_claimable_balance_id(i) == balance_id, v["name"]


def test_signatures_verify_with_each_signer(vectors):
    passphrase = vectors["network_passphrase"]
    keys = {name: Keypair.from_secret(seed) for name, seed in vectors["keys"].items()}
    for v in vectors["vectors"]:
        envelope = TransactionEnvelope.from_xdr(v["envelope_xdr"], passphrase)
        tx_hash = envelope.hash()
        assert tx_hash.hex() == v["hash"]
        assert len(envelope.signatures) == len(v["signers"])
        for name, signature in zip(v["signers"], envelope.signatures):
            key = keys[name]
            assert signature.signature_hint == key.signature_hint(), v["name"]
            key.verify(tx_hash, signature.signature)  # raises if invalid
        # The transaction's source is the channel account, every operation's the distribution's.
        assert envelope.transaction.source.account_id == v["source"]
        assert envelope.transaction.fee == v["fee_per_op"] * len(v["operations"])
        assert envelope.transaction.sequence == int(v["sequence"])
        for op in envelope.transaction.operations:
            assert op.source.account_id == v["operation_source"]


def test_amounts_are_exact_stroops(vectors):
    by_name = {v["name"]: v for v in vectors["vectors"]}
    v = by_name["claimable_balances_hash_memo"]
    envelope = TransactionEnvelope.from_xdr(v["envelope_xdr"], vectors["network_passphrase"])
    raw = stellar_xdr.TransactionEnvelope.from_xdr(v["envelope_xdr"])
    ops = raw.v1.tx.operations
    assert ops[1].body.create_claimable_balance_op.amount.int64 == 2**63 - 1
    assert Decimal(envelope.transaction.operations[1].amount) == Decimal("922337203685.4775807")
