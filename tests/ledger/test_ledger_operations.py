"""Each supported operation against the local ledger: its effect when it succeeds, and the result
codes of its main failures, exactly as Horizon reports them."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
import requests
from stellar_sdk import (
    Asset,
    AuthorizationFlag,
    Claimant,
    ClaimPredicate,
    Keypair,
    MuxedAccount,
    StrKey,
    TrustLineEntryFlag,
)
from stellar_sdk import xdr as X
from stellar_sdk.exceptions import NotFoundError

MAX_LIMIT = "922337203685.4775807"


@pytest.fixture
def issued(chain):
    """An issuer, its asset USD and a holder trusting it with 1000 USD."""
    issuer, holder = chain.fund(), chain.fund()
    usd = Asset("USD", issuer.public_key)
    chain.submit(chain.builder(holder).append_change_trust_op(usd), holder)
    chain.submit(chain.builder(issuer).append_payment_op(holder.public_key, usd, "1000"), issuer)
    return issuer, holder, usd


# --- CreateAccount --------------------------------------------------------------------------


def test_create_account(chain, server):
    funder, new = chain.fund(), Keypair.random()
    res = chain.submit(chain.builder(funder).append_create_account_op(new.public_key, "25.5"), funder)
    acc = chain.account(new)
    assert acc["balances"] == [
        {
            "balance": "25.5000000",
            "buying_liabilities": "0.0000000",
            "selling_liabilities": "0.0000000",
            "asset_type": "native",
        }
    ]
    # a new account's sequence number is its ledger's number shifted left by 32 bits
    assert acc["sequence"] == str(res["ledger"] << 32)
    assert acc["last_modified_ledger"] == res["ledger"]
    assert chain.balance(funder) == "9974.4999900"  # 10000 - 25.5 - 100 stroops of fee


def test_create_account_failures(chain):
    funder, existing = chain.fund(), chain.fund()
    seq = int(chain.account(funder)["sequence"])
    assert (
        chain.op_fails(chain.builder(funder).append_create_account_op(existing.public_key, "5"), funder)
        == "op_already_exists"
    )
    new = Keypair.random().public_key
    assert (
        chain.op_fails(chain.builder(funder).append_create_account_op(new, "20000"), funder)
        == "op_underfunded"
    )
    assert (
        chain.op_fails(chain.builder(funder).append_create_account_op(new, "0.9999999"), funder)
        == "op_low_reserve"
    )
    # creating yourself is malformed: refused at submission, the sequence number is not used
    assert (
        chain.op_fails(chain.builder(funder).append_create_account_op(funder.public_key, "5"), funder)
        == "op_malformed"
    )
    assert chain.account(funder)["sequence"] == str(seq + 3)  # only the three failures above used one
    assert chain.balance(funder) == "9999.9999700"  # and paid a fee


# --- Payment --------------------------------------------------------------------------------


def test_native_payment_and_muxed_destination(chain, server):
    a, b = chain.fund(), chain.fund()
    muxed = MuxedAccount(b.public_key, 42)
    res = chain.submit(chain.builder(a).append_payment_op(muxed.account_muxed, Asset.native(), "1.25"), a)
    assert res["successful"] is True
    assert chain.balance(b) == "10001.2500000"
    assert chain.balance(a) == "9998.7499900"
    pay = server.payments().for_transaction(res["hash"]).call()["_embedded"]["records"][0]
    assert pay["type"] == "payment" and pay["type_i"] == 1
    assert (pay["from"], pay["to"], pay["amount"], pay["asset_type"]) == (
        a.public_key,
        b.public_key,
        "1.2500000",
        "native",
    )
    assert pay["to_muxed"] == muxed.account_muxed and pay["to_muxed_id"] == "42"
    assert "from_muxed" not in pay


def test_muxed_source(chain, server):
    a, b = chain.fund(), chain.fund()
    src = MuxedAccount(a.public_key, 7)
    res = chain.submit(chain.builder(src).append_payment_op(b.public_key, Asset.native(), "2"), a)
    assert res["source_account"] == a.public_key
    assert res["account_muxed"] == src.account_muxed and res["account_muxed_id"] == "7"
    pay = server.payments().for_transaction(res["hash"]).call()["_embedded"]["records"][0]
    assert pay["from_muxed"] == src.account_muxed and pay["from_muxed_id"] == "7"
    assert pay["source_account_muxed"] == src.account_muxed


def test_credit_payments_issue_transfer_burn(chain, issued):
    issuer, holder, usd = issued
    other = chain.fund()
    chain.submit(chain.builder(other).append_change_trust_op(usd, limit="500"), other)
    chain.submit(chain.builder(holder).append_payment_op(other.public_key, usd, "300"), holder)
    assert chain.balance(holder, usd) == "700.0000000"
    assert chain.balance(other, usd) == "300.0000000"
    # paying the issuer burns the asset
    chain.submit(chain.builder(other).append_payment_op(issuer.public_key, usd, "100"), other)
    assert chain.balance(other, usd) == "200.0000000"
    line = next(b for b in chain.account(other)["balances"] if b["asset_type"] != "native")
    assert line == {
        "balance": "200.0000000",
        "limit": "500.0000000",
        "buying_liabilities": "0.0000000",
        "selling_liabilities": "0.0000000",
        "last_modified_ledger": line["last_modified_ledger"],
        "is_authorized": True,
        "is_authorized_to_maintain_liabilities": True,
        "is_clawback_enabled": False,
        "asset_type": "credit_alphanum4",
        "asset_code": "USD",
        "asset_issuer": issuer.public_key,
    }
    assert chain.account(other)["balances"][-1]["asset_type"] == "native"  # native last, as Horizon


def test_payment_failures(chain, issued):
    issuer, holder, usd = issued
    plain = chain.fund()

    def pay(src, dest, asset, amount):
        return chain.op_fails(chain.builder(src).append_payment_op(dest, asset, amount), src)

    assert pay(plain, Keypair.random().public_key, Asset.native(), "1") == "op_no_destination"
    assert pay(issuer, plain.public_key, usd, "1") == "op_no_trust"
    assert pay(plain, holder.public_key, usd, "1") == "op_src_no_trust"
    assert pay(holder, issuer.public_key, usd, "1000.0000001") == "op_underfunded"
    assert pay(plain, holder.public_key, Asset.native(), "9999") == "op_underfunded"  # reserve stays
    # a trustline limit caps what can be received
    capped = chain.fund()
    chain.submit(chain.builder(capped).append_change_trust_op(usd, limit="10"), capped)
    assert pay(holder, capped.public_key, usd, "10.0000001") == "op_line_full"
    assert chain.balance(holder, usd) == "1000.0000000"  # nothing moved


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # AllowTrust: deprecated, still valid
def test_payment_not_authorized(chain):
    issuer, holder = chain.fund(), chain.fund()
    required_revocable = AuthorizationFlag.AUTHORIZATION_REQUIRED | AuthorizationFlag.AUTHORIZATION_REVOCABLE
    chain.submit(chain.builder(issuer).append_set_options_op(set_flags=required_revocable), issuer)
    eur = Asset("EUR", issuer.public_key)
    chain.submit(chain.builder(holder).append_change_trust_op(eur), holder)
    line = next(b for b in chain.account(holder)["balances"] if b["asset_type"] != "native")
    assert line["is_authorized"] is False
    assert (
        chain.op_fails(chain.builder(issuer).append_payment_op(holder.public_key, eur, "5"), issuer)
        == "op_not_authorized"
    )
    chain.submit(
        chain.builder(issuer).append_set_trust_line_flags_op(
            holder.public_key, eur, set_flags=TrustLineEntryFlag.AUTHORIZED_FLAG
        ),
        issuer,
    )
    chain.submit(chain.builder(issuer).append_payment_op(holder.public_key, eur, "5"), issuer)
    assert chain.balance(holder, eur) == "5.0000000"
    assert chain.account(issuer)["flags"] == {
        "auth_required": True,
        "auth_revocable": True,
        "auth_immutable": False,
        "auth_clawback_enabled": False,
    }
    # the (revocable) issuer revokes with AllowTrust: the holder can neither receive nor send
    chain.submit(chain.builder(issuer).append_allow_trust_op(holder.public_key, "EUR", False), issuer)
    assert chain.op_fails(chain.builder(issuer).append_payment_op(holder.public_key, eur, "1"), issuer) == (
        "op_not_authorized"
    )
    assert chain.op_fails(chain.builder(holder).append_payment_op(issuer.public_key, eur, "1"), holder) == (
        "op_src_not_authorized"
    )


def test_failed_transaction_is_atomic_but_pays_fee(chain, server):
    a, b = chain.fund(), chain.fund()
    seq = int(chain.account(a)["sequence"])
    builder = (
        chain.builder(a)
        .append_payment_op(b.public_key, Asset.native(), "100")
        .append_payment_op(Keypair.random().public_key, Asset.native(), "1")
    )
    env = builder.set_timeout(300).build()
    env.sign(a)
    r = requests.post(f"{chain.url}/transactions", data={"tx": env.to_xdr()})
    assert r.status_code == 400
    body = r.json()
    assert body["extras"]["result_codes"] == {
        "transaction": "tx_failed",
        "operations": ["op_success", "op_no_destination"],
    }
    assert body["extras"]["envelope_xdr"] == env.to_xdr()
    result = X.TransactionResult.from_xdr(body["extras"]["result_xdr"])
    assert result.fee_charged.int64 == 200
    assert chain.balance(b) == "10000.0000000"  # the first payment did not happen
    assert chain.balance(a) == "9999.9999800"  # but the fee was charged
    assert chain.account(a)["sequence"] == str(seq + 1)  # and the sequence number used
    rec = server.transactions().transaction(env.hash_hex()).call()
    assert rec["successful"] is False and rec["fee_charged"] == "200"
    # failed transactions are listed only with include_failed
    listed = server.transactions().for_account(a.public_key).call()["_embedded"]["records"]
    assert env.hash_hex() not in [t["hash"] for t in listed]
    listed = (
        server.transactions().for_account(a.public_key).include_failed(True).call()["_embedded"]["records"]
    )
    assert env.hash_hex() in [t["hash"] for t in listed]


# --- path payments --------------------------------------------------------------------------


def test_path_payments_same_asset(chain, server, issued):
    issuer, holder, usd = issued
    other = chain.fund()
    chain.submit(chain.builder(other).append_change_trust_op(usd), other)
    res = chain.submit(
        chain.builder(holder).append_path_payment_strict_send_op(other.public_key, usd, "10", usd, "9", []),
        holder,
    )
    rec = server.payments().for_transaction(res["hash"]).call()["_embedded"]["records"][0]
    assert rec["type"] == "path_payment_strict_send"
    assert (rec["amount"], rec["source_amount"], rec["destination_min"]) == (
        "10.0000000",
        "10.0000000",
        "9.0000000",
    )
    assert rec["source_asset_code"] == "USD" and rec["asset_code"] == "USD" and rec["path"] == []
    res = chain.submit(
        chain.builder(holder).append_path_payment_strict_receive_op(other.public_key, usd, "5", usd, "5", []),
        holder,
    )
    rec = server.payments().for_transaction(res["hash"]).call()["_embedded"]["records"][0]
    assert rec["type"] == "path_payment_strict_receive"
    assert (rec["amount"], rec["source_amount"], rec["source_max"]) == ("5.0000000", "5.0000000", "5.0000000")
    assert chain.balance(other, usd) == "15.0000000"
    # native to native works too
    chain.submit(
        chain.builder(holder).append_path_payment_strict_send_op(
            other.public_key, Asset.native(), "3", Asset.native(), "3", []
        ),
        holder,
    )
    assert chain.balance(other) == "10002.9999900"  # +3, less the trustline's fee


def test_path_payment_failures(chain, issued):
    issuer, holder, usd = issued
    b = chain.builder
    assert (
        chain.op_fails(
            b(holder).append_path_payment_strict_send_op(issuer.public_key, usd, "10", usd, "10.0000001", []),
            holder,
        )
        == "op_under_dest_min"
    )
    assert (
        chain.op_fails(
            b(holder).append_path_payment_strict_receive_op(
                issuer.public_key, usd, "9.9999999", usd, "10", []
            ),
            holder,
        )
        == "op_over_source_max"
    )
    # no order book: converting between assets always fails
    assert (
        chain.op_fails(
            b(holder).append_path_payment_strict_send_op(
                issuer.public_key, usd, "1", Asset.native(), "1", []
            ),
            holder,
        )
        == "op_too_few_offers"
    )
    assert (
        chain.op_fails(
            b(holder).append_path_payment_strict_receive_op(
                holder.public_key, Asset.native(), "5", usd, "1", []
            ),
            holder,
        )
        == "op_too_few_offers"
    )
    assert (
        chain.op_fails(
            b(holder).append_path_payment_strict_send_op(
                Keypair.random().public_key, Asset.native(), "1", Asset.native(), "1", []
            ),
            holder,
        )
        == "op_no_destination"
    )


# --- ChangeTrust ----------------------------------------------------------------------------


def test_change_trust_lifecycle(chain, issued):
    issuer, holder, usd = issued
    acc = chain.account(holder)
    assert acc["subentry_count"] == 1
    assert acc["balances"][0]["limit"] == MAX_LIMIT
    assert (
        chain.op_fails(chain.builder(holder).append_change_trust_op(usd, limit="999"), holder)
        == "op_invalid_limit"
    )
    chain.submit(chain.builder(holder).append_change_trust_op(usd, limit="1500"), holder)
    assert chain.account(holder)["balances"][0]["limit"] == "1500.0000000"
    # a line holding a balance cannot be removed
    assert (
        chain.op_fails(chain.builder(holder).append_change_trust_op(usd, limit="0"), holder)
        == "op_invalid_limit"
    )
    chain.submit(chain.builder(holder).append_payment_op(issuer.public_key, usd, "1000"), holder)
    chain.submit(chain.builder(holder).append_change_trust_op(usd, limit="0"), holder)
    acc = chain.account(holder)
    assert acc["subentry_count"] == 0 and len(acc["balances"]) == 1


def test_change_trust_failures(chain):
    issuer = chain.fund()
    poor = Keypair.random()
    # exactly the two base reserves plus two fees: nothing left for a trustline's reserve
    chain.submit(chain.builder(issuer).append_create_account_op(poor.public_key, "1.0000200"), issuer)
    usd = Asset("USD", issuer.public_key)
    assert chain.op_fails(chain.builder(poor).append_change_trust_op(usd), poor) == "op_low_reserve"
    ghost = Asset("GHO", Keypair.random().public_key)
    assert chain.op_fails(chain.builder(issuer).append_change_trust_op(ghost), issuer) == "op_no_issuer"
    # trusting your own asset is malformed
    assert chain.op_fails(chain.builder(issuer).append_change_trust_op(usd), issuer) == "op_malformed"


# --- ManageData, SetOptions, BumpSequence, AccountMerge -------------------------------------


def test_manage_data(chain):
    a = chain.fund()
    chain.submit(
        chain.builder(a)
        .append_manage_data_op("config.memo_required", b"1")
        .append_manage_data_op("k", b"\x00\xff"),
        a,
    )
    acc = chain.account(a)
    assert acc["data"] == {"config.memo_required": "MQ==", "k": base64.b64encode(b"\x00\xff").decode()}
    assert acc["subentry_count"] == 2
    r = requests.get(f"{chain.url}/accounts/{a.public_key}/data/k")
    assert r.json() == {"value": "AP8="}
    chain.submit(chain.builder(a).append_manage_data_op("k", None), a)
    assert chain.account(a)["data"] == {"config.memo_required": "MQ=="}
    assert chain.op_fails(chain.builder(a).append_manage_data_op("nope", None), a) == "op_data_name_not_found"


def test_set_options_signers_and_home_domain(chain):
    a, b = chain.fund(), chain.fund()
    preimage = b"mooring secret"
    hash_x = hashlib.sha256(preimage).digest()
    chain.submit(
        chain.builder(a)
        .append_set_options_op(
            home_domain="anchor.example", low_threshold=1, med_threshold=2, high_threshold=3
        )
        .append_ed25519_public_key_signer(b.public_key, 2)
        .append_hashx_signer(hash_x, 1),
        a,
    )
    acc = chain.account(a)
    assert acc["home_domain"] == "anchor.example"
    assert acc["thresholds"] == {"low_threshold": 1, "med_threshold": 2, "high_threshold": 3}
    assert acc["subentry_count"] == 2
    keys = {s["key"]: (s["weight"], s["type"]) for s in acc["signers"]}
    assert keys[b.public_key] == (2, "ed25519_public_key")
    assert keys[StrKey.encode_sha256_hash(hash_x)] == (1, "sha256_hash")
    assert acc["signers"][-1] == {"weight": 1, "key": a.public_key, "type": "ed25519_public_key"}
    # remove a signer (weight 0); b's signature (weight 2) plus a's (1) reach the high threshold
    chain.submit(chain.builder(a).append_hashx_signer(hash_x, 0), a, b)
    assert chain.account(a)["subentry_count"] == 1
    # adding yourself as a signer is malformed
    assert (
        chain.op_fails(chain.builder(b).append_ed25519_public_key_signer(b.public_key, 1), b)
        == "op_bad_signer"
    )


def test_bump_sequence(chain):
    a = chain.fund()
    target = int(chain.account(a)["sequence"]) + 1000
    chain.submit(chain.builder(a).append_bump_sequence_op(target), a)
    assert chain.account(a)["sequence"] == str(target)


def test_account_merge(chain, server, issued):
    issuer, holder, usd = issued
    a, into = chain.fund(), chain.fund()
    res = chain.submit(chain.builder(a).append_account_merge_op(into.public_key), a)
    with pytest.raises(NotFoundError):
        chain.account(a)
    assert chain.balance(into) == "19999.9999900"
    rec = server.payments().for_transaction(res["hash"]).call()["_embedded"]["records"][0]
    assert (rec["type"], rec["account"], rec["into"]) == ("account_merge", a.public_key, into.public_key)
    assert (
        chain.op_fails(chain.builder(holder).append_account_merge_op(into.public_key), holder)
        == "op_has_sub_entries"
    )
    assert (
        chain.op_fails(chain.builder(into).append_account_merge_op(Keypair.random().public_key), into)
        == "op_no_account"
    )


# --- claimable balances ---------------------------------------------------------------------


def test_claimable_balance_create_and_claim(chain, server, issued):
    issuer, holder, usd = issued
    claimant, stranger = chain.fund(), chain.fund()
    env = (
        chain.builder(holder)
        .append_create_claimable_balance_op(
            usd, "40", [Claimant(claimant.public_key), Claimant(holder.public_key)]
        )
        .set_timeout(300)
        .build()
    )
    env.sign(holder)
    res = server.submit_transaction(env)
    # the id is stellar-core's (hash of source, sequence number and operation index)
    bid = env.transaction.get_claimable_balance_id(0)
    result = X.TransactionResult.from_xdr(res["result_xdr"])
    created = result.result.results[0].tr.create_claimable_balance_result.balance_id
    assert created.to_xdr_bytes().hex() == bid and bid.startswith("00000000")
    cb = server.claimable_balances().claimable_balance(bid).call()
    assert (cb["asset"], cb["amount"], cb["sponsor"]) == (
        f"USD:{issuer.public_key}",
        "40.0000000",
        holder.public_key,
    )
    assert cb["claimants"][0] == {"destination": claimant.public_key, "predicate": {"unconditional": True}}
    assert chain.balance(holder, usd) == "960.0000000"
    assert chain.account(holder)["num_sponsoring"] == 2
    listed = server.claimable_balances().for_claimant(claimant.public_key).call()["_embedded"]["records"]
    assert [r["id"] for r in listed] == [bid]

    assert (
        chain.op_fails(chain.builder(stranger).append_claim_claimable_balance_op(bid), stranger)
        == "op_cannot_claim"
    )
    # the claimant needs a trustline first, with room for the amount
    assert (
        chain.op_fails(chain.builder(claimant).append_claim_claimable_balance_op(bid), claimant)
        == "op_no_trust"
    )
    chain.submit(chain.builder(claimant).append_change_trust_op(usd, limit="39"), claimant)
    assert (
        chain.op_fails(chain.builder(claimant).append_claim_claimable_balance_op(bid), claimant)
        == "op_line_full"
    )
    chain.submit(chain.builder(claimant).append_change_trust_op(usd), claimant)
    chain.submit(chain.builder(claimant).append_claim_claimable_balance_op(bid), claimant)
    assert chain.balance(claimant, usd) == "40.0000000"
    assert chain.account(holder)["num_sponsoring"] == 0
    with pytest.raises(NotFoundError):
        server.claimable_balances().claimable_balance(bid).call()
    assert (
        chain.op_fails(chain.builder(claimant).append_claim_claimable_balance_op(bid), claimant)
        == "op_does_not_exist"
    )


def test_claimable_balance_native_time_predicates(chain, server):
    a, b = chain.fund(), chain.fund()
    past = int(time.time()) - 3600
    env = (
        chain.builder(a)
        .append_create_claimable_balance_op(
            Asset.native(),
            "7",
            [
                Claimant(b.public_key, ClaimPredicate.predicate_before_absolute_time(past)),
                Claimant(
                    a.public_key,
                    ClaimPredicate.predicate_not(ClaimPredicate.predicate_before_absolute_time(past)),
                ),
            ],
        )
        .set_timeout(300)
        .build()
    )
    env.sign(a)
    server.submit_transaction(env)
    bid = env.transaction.get_claimable_balance_id(0)
    cb = server.claimable_balances().claimable_balance(bid).call()
    assert cb["claimants"][0]["predicate"]["abs_before_epoch"] == str(past)
    assert cb["claimants"][1]["predicate"] == {
        "not": {"abs_before": cb["claimants"][0]["predicate"]["abs_before"], "abs_before_epoch": str(past)}
    }
    assert chain.op_fails(chain.builder(b).append_claim_claimable_balance_op(bid), b) == "op_cannot_claim"
    before = chain.balance(a)
    chain.submit(chain.builder(a).append_claim_claimable_balance_op(bid), a)
    assert float(chain.balance(a)) == pytest.approx(float(before) + 7 - 0.00001)
