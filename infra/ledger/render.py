"""Horizon's JSON: records for transactions, operations, accounts, claimable balances, ledgers,
fee stats, HAL pages and problem documents, with Horizon's exact field names and formats
(amounts with 7 decimals, int64s as strings, RFC 3339 times).

Transaction and operation records are rendered once, when their ledger closes, and stored without
`_links`; links depend on the URL the client used and are added when a record is served.
"""

from __future__ import annotations

from urllib.parse import urlencode

from stellar_sdk import xdr as X

from . import codes
from .apply import Applied, Frame, InnerTx, op_source
from .state import (
    AUTH_CLAWBACK_ENABLED,
    AUTH_IMMUTABLE,
    AUTH_REQUIRED,
    AUTH_REVOCABLE,
    BASE_FEE,
    BASE_RESERVE,
    TL_AUTHORIZED,
    TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES,
    TL_CLAWBACK_ENABLED,
    Account,
    ClaimableBalance,
)
from .xdrutil import (
    account_id_str,
    amount_str,
    asset_fields,
    asset_issuer,
    asset_str,
    b64,
    iso_time,
    muxed_parts,
    predicate_json,
    signer_key_str,
    signer_type,
)

PROTOCOL_VERSION = 23
MAX_TX_SET_SIZE = 1000
HORIZON_VERSION = "mooring-local-ledger-1.0"
CORE_VERSION = "mooring-local-ledger (python stellar-sdk)"

PAYMENT_TYPES = frozenset(
    {
        X.OperationType.CREATE_ACCOUNT,
        X.OperationType.PAYMENT,
        X.OperationType.PATH_PAYMENT_STRICT_RECEIVE,
        X.OperationType.PATH_PAYMENT_STRICT_SEND,
        X.OperationType.ACCOUNT_MERGE,
    }
)
PAYMENT_TYPE_IS = frozenset(t.value for t in PAYMENT_TYPES)


def toid(ledger: int, tx_index: int = 0, op_index: int = 0) -> int:
    """Horizon's total order id: ledger, transaction and operation packed in 64 bits."""
    return (ledger << 32) | (tx_index << 12) | op_index


# --- problems -------------------------------------------------------------------------------

_ERR = "https://stellar.org/horizon-errors/"


def problem(kind: str, title: str, status: int, detail: str, extras: dict | None = None) -> dict:
    out = {"type": _ERR + kind, "title": title, "status": status, "detail": detail}
    if extras is not None:
        out["extras"] = extras
    return out


def not_found() -> dict:
    return problem(
        "not_found",
        "Resource Missing",
        404,
        "The resource at the url requested was not found.  This usually occurs for one of two reasons:  "
        "The url requested is not valid, or no data in our database could be found with the parameters provided.",
    )


def bad_request(field: str, reason: str) -> dict:
    return problem(
        "bad_request",
        "Bad Request",
        400,
        "The request you sent was invalid in some way.",
        {"invalid_field": field, "reason": reason},
    )


def timeout() -> dict:
    return problem(
        "timeout",
        "Timeout",
        504,
        "Your request timed out before completing.  Please try your request again. If you are submitting a "
        "transaction make sure you are sending exactly the same transaction (with the same sequence number).",
    )


def server_error() -> dict:
    return problem(
        "server_error",
        "Internal Server Error",
        500,
        "An error occurred while processing this request.  This is usually due to a bug within the server "
        "software.  Trying this request again may succeed if the bug is transient, otherwise please report this "
        "issue to the issue tracker at: https://github.com/stellar/go/issues. Please include this response in "
        "your issue.",
    )


def transaction_malformed(envelope: str) -> dict:
    return problem(
        "transaction_malformed",
        "Transaction Malformed",
        400,
        "Horizon could not decode the transaction envelope in this request. A transaction should be an XDR "
        "TransactionEnvelope struct encoded using base64.  The envelope read from this request is echoed in the "
        "`extras.envelope_xdr` field of this response for your convenience.",
        {"envelope_xdr": envelope},
    )


def transaction_failed(envelope_xdr: str, result: X.TransactionResult) -> dict:
    return problem(
        "transaction_failed",
        "Transaction Failed",
        400,
        "The transaction failed when submitted to the stellar network. The `extras.result_codes` field on this "
        "response contains further details.  Descriptions of each code can be found at: "
        "https://developers.stellar.org/docs/data/apis/horizon/api-reference/errors/http-status-codes/horizon-specific/transaction-failed",
        {
            "envelope_xdr": envelope_xdr,
            "result_codes": codes.result_codes(result),
            "result_xdr": result.to_xdr(),
        },
    )


# --- transactions ---------------------------------------------------------------------------


def _memo_fields(memo: X.Memo) -> dict:
    T = X.MemoType
    if memo.type == T.MEMO_TEXT:
        return {
            "memo_type": "text",
            "memo": memo.text.decode("utf-8", "replace"),
            "memo_bytes": b64(memo.text),
        }
    if memo.type == T.MEMO_ID:
        return {"memo_type": "id", "memo": str(memo.id.uint64)}
    if memo.type == T.MEMO_HASH:
        return {"memo_type": "hash", "memo": b64(memo.hash.hash)}
    if memo.type == T.MEMO_RETURN:
        return {"memo_type": "return", "memo": b64(memo.ret_hash.hash)}
    return {"memo_type": "none"}


def _precondition_fields(tx: InnerTx) -> dict:
    out: dict = {}
    pre: dict = {}
    tb = tx.time_bounds
    if tb is not None:
        lo, hi = tb.min_time.time_point.uint64, tb.max_time.time_point.uint64
        out["valid_after"] = iso_time(lo)
        pre["timebounds"] = {"min_time": str(lo)}
        if hi:
            out["valid_before"] = iso_time(hi)
            pre["timebounds"]["max_time"] = str(hi)
    v2 = tx.v2
    if v2 is not None:
        if v2.ledger_bounds is not None:
            lb = {"min_ledger": v2.ledger_bounds.min_ledger.uint32}
            if v2.ledger_bounds.max_ledger.uint32:
                lb["max_ledger"] = v2.ledger_bounds.max_ledger.uint32
            pre["ledgerbounds"] = lb
        if v2.min_seq_num is not None:
            pre["min_account_sequence"] = str(v2.min_seq_num.sequence_number.int64)
        if v2.min_seq_age.duration.uint64:
            pre["min_account_sequence_age"] = str(v2.min_seq_age.duration.uint64)
        if v2.min_seq_ledger_gap.uint32:
            pre["min_account_sequence_ledger_gap"] = v2.min_seq_ledger_gap.uint32
        if v2.extra_signers:
            pre["extra_signers"] = [signer_key_str(k) for k in v2.extra_signers]
    if pre:
        out["preconditions"] = pre
    return out


def _muxed(prefix: str, muxed: str | None, muxed_id: int | None) -> dict:
    if muxed is None:
        return {}
    return {f"{prefix}_muxed": muxed, f"{prefix}_muxed_id": str(muxed_id)}


def tx_record(frame: Frame, applied: Applied, ledger: int, close_time: int, tx_index: int) -> dict:
    inner = frame.inner
    pt = str(toid(ledger, tx_index))
    rec = {
        "id": frame.hash_hex,
        "paging_token": pt,
        "successful": applied.successful,
        "hash": frame.hash_hex,
        "ledger": ledger,
        "created_at": iso_time(close_time),
        "source_account": inner.source,
        **_muxed("account", inner.source_muxed, inner.source_muxed_id),
        "source_account_sequence": str(inner.seq),
        "fee_account": frame.fee_source,
        **_muxed("fee_account", frame.fee_source_muxed, frame.fee_source_muxed_id),
        "fee_charged": str(applied.fee_charged),
        "max_fee": str(frame.max_fee),
        "operation_count": len(inner.ops),
        "envelope_xdr": frame.envelope_xdr,
        "result_xdr": applied.result.to_xdr(),
        **_memo_fields(inner.tx.memo),
        "signatures": [b64(s.signature.signature) for s in frame.signatures],
        **_precondition_fields(inner),
    }
    if frame.fee_bump:
        rec["fee_bump_transaction"] = {"hash": frame.hash_hex, "signatures": rec["signatures"]}
        rec["inner_transaction"] = {
            "hash": inner.hash.hex(),
            "signatures": [b64(s.signature.signature) for s in inner.signatures],
            "max_fee": str(inner.fee),
        }
    return rec


def tx_as_inner(rec: dict) -> dict:
    """A fee-bump's record looked up by its inner hash, as Horizon shows it."""
    inner = rec["inner_transaction"]
    return {
        **rec,
        "id": inner["hash"],
        "hash": inner["hash"],
        "signatures": inner["signatures"],
        "max_fee": inner["max_fee"],
    }


def tx_links(base: str, rec: dict) -> dict:
    h, pt = rec["hash"], rec["paging_token"]
    return {
        "self": {"href": f"{base}/transactions/{h}"},
        "account": {"href": f"{base}/accounts/{rec['source_account']}"},
        "ledger": {"href": f"{base}/ledgers/{rec['ledger']}"},
        "operations": {
            "href": f"{base}/transactions/{h}/operations{{?cursor,limit,order}}",
            "templated": True,
        },
        "effects": {"href": f"{base}/transactions/{h}/effects{{?cursor,limit,order}}", "templated": True},
        "precedes": {"href": f"{base}/transactions?order=asc&cursor={pt}"},
        "succeeds": {"href": f"{base}/transactions?order=desc&cursor={pt}"},
        "transaction": {"href": f"{base}/transactions/{h}"},
    }


def with_tx_links(base: str, rec: dict) -> dict:
    return {"_links": tx_links(base, rec), **rec}


# --- operations -----------------------------------------------------------------------------

_ACCOUNT_FLAG_NAMES = [
    (AUTH_REQUIRED, "auth_required"),
    (AUTH_REVOCABLE, "auth_revocable"),
    (AUTH_IMMUTABLE, "auth_immutable"),
    (AUTH_CLAWBACK_ENABLED, "auth_clawback_enabled"),
]
_LINE_FLAG_NAMES = [
    (TL_AUTHORIZED, "authorized"),
    (TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES, "authorized_to_maintain_liabilities"),
    (TL_CLAWBACK_ENABLED, "clawback_enabled"),
]


def _flag_fields(prefix: str, value: int | None, names) -> dict:
    if not value:
        return {}
    bits = [(bit, name) for bit, name in names if value & bit]
    return {prefix: [b for b, _ in bits], prefix + "_s": [n for _, n in bits]}


def _path_fields(path) -> list[dict]:
    return [asset_fields(asset_str(a)) for a in path]


def op_participants(op: X.Operation, source: str) -> set[str]:
    t, b = op.body.type, op.body
    out = {source}
    if t == X.OperationType.CREATE_ACCOUNT:
        out.add(account_id_str(b.create_account_op.destination))
    elif t == X.OperationType.PAYMENT:
        out.add(muxed_parts(b.payment_op.destination)[0])
    elif t == X.OperationType.PATH_PAYMENT_STRICT_RECEIVE:
        out.add(muxed_parts(b.path_payment_strict_receive_op.destination)[0])
    elif t == X.OperationType.PATH_PAYMENT_STRICT_SEND:
        out.add(muxed_parts(b.path_payment_strict_send_op.destination)[0])
    elif t == X.OperationType.ACCOUNT_MERGE:
        out.add(muxed_parts(b.destination)[0])
    elif t == X.OperationType.CREATE_CLAIMABLE_BALANCE:
        out.update(account_id_str(c.v0.destination) for c in b.create_claimable_balance_op.claimants)
    elif t == X.OperationType.ALLOW_TRUST:
        out.add(account_id_str(b.allow_trust_op.trustor))
    elif t == X.OperationType.SET_TRUST_LINE_FLAGS:
        out.add(account_id_str(b.set_trust_line_flags_op.trustor))
    return out


def op_record(
    frame: Frame, index: int, applied: Applied, ledger: int, close_time: int, tx_index: int
) -> dict:
    inner = frame.inner
    op = inner.ops[index]
    det = applied.details[index] if index < len(applied.details) else {}
    src, src_m, src_mid = op_source(op, inner)
    t, b = op.body.type, op.body
    pt = str(toid(ledger, tx_index, index + 1))
    rec = {
        "id": pt,
        "paging_token": pt,
        "transaction_successful": applied.successful,
        "source_account": src,
        **_muxed("source_account", src_m, src_mid),
        "type": t.name.lower(),
        "type_i": t.value,
        "created_at": iso_time(close_time),
        "transaction_hash": frame.hash_hex,
    }
    OTy = X.OperationType
    if t == OTy.CREATE_ACCOUNT:
        o = b.create_account_op
        rec.update(
            starting_balance=amount_str(o.starting_balance.int64),
            funder=src,
            **_muxed("funder", src_m, src_mid),
            account=account_id_str(o.destination),
        )
    elif t in (OTy.PAYMENT, OTy.PATH_PAYMENT_STRICT_RECEIVE, OTy.PATH_PAYMENT_STRICT_SEND):
        o = b.payment_op or b.path_payment_strict_receive_op or b.path_payment_strict_send_op
        dest, dest_m, dest_mid = muxed_parts(o.destination)
        asset = o.asset if t == OTy.PAYMENT else o.dest_asset
        rec.update(asset_fields(asset_str(asset)))
        rec["from"] = src
        rec.update(_muxed("from", src_m, src_mid))
        rec["to"] = dest
        rec.update(_muxed("to", dest_m, dest_mid))
        if t == OTy.PAYMENT:
            rec["amount"] = amount_str(o.amount.int64)
        elif t == OTy.PATH_PAYMENT_STRICT_RECEIVE:
            rec.update(
                amount=amount_str(o.dest_amount.int64),
                path=_path_fields(o.path),
                source_amount=amount_str(det.get("source_amount", 0)),
                source_max=amount_str(o.send_max.int64),
                **asset_fields(asset_str(o.send_asset), "source_"),
            )
        else:
            rec.update(
                amount=amount_str(det.get("amount", 0)),
                path=_path_fields(o.path),
                source_amount=amount_str(o.send_amount.int64),
                destination_min=amount_str(o.dest_min.int64),
                **asset_fields(asset_str(o.send_asset), "source_"),
            )
    elif t == OTy.ACCOUNT_MERGE:
        dest, dest_m, dest_mid = muxed_parts(b.destination)
        rec.update(
            account=src, **_muxed("account", src_m, src_mid), into=dest, **_muxed("into", dest_m, dest_mid)
        )
    elif t == OTy.CHANGE_TRUST:
        o = b.change_trust_op
        asset = asset_str(o.line)
        rec.update(asset_fields(asset))
        rec.update(
            limit=amount_str(o.limit.int64),
            trustee=asset_issuer(asset),
            trustor=src,
            **_muxed("trustor", src_m, src_mid),
        )
    elif t == OTy.SET_OPTIONS:
        o = b.set_options_op
        if o.home_domain is not None:
            rec["home_domain"] = o.home_domain.string32.decode("ascii", "replace")
        if o.inflation_dest is not None:
            rec["inflation_dest"] = account_id_str(o.inflation_dest)
        if o.master_weight is not None:
            rec["master_key_weight"] = o.master_weight.uint32
        if o.signer is not None:
            rec["signer_key"] = signer_key_str(o.signer.key)
            rec["signer_weight"] = o.signer.weight.uint32
        rec.update(_flag_fields("set_flags", o.set_flags.uint32 if o.set_flags else 0, _ACCOUNT_FLAG_NAMES))
        rec.update(
            _flag_fields("clear_flags", o.clear_flags.uint32 if o.clear_flags else 0, _ACCOUNT_FLAG_NAMES)
        )
        for name, w in (
            ("low_threshold", o.low_threshold),
            ("med_threshold", o.med_threshold),
            ("high_threshold", o.high_threshold),
        ):
            if w is not None:
                rec[name] = w.uint32
    elif t == OTy.MANAGE_DATA:
        o = b.manage_data_op
        rec["name"] = o.data_name.string64.decode("ascii", "replace")
        rec["value"] = b64(o.data_value.data_value) if o.data_value is not None else ""
    elif t == OTy.BUMP_SEQUENCE:
        rec["bump_to"] = str(b.bump_sequence_op.bump_to.sequence_number.int64)
    elif t == OTy.CREATE_CLAIMABLE_BALANCE:
        o = b.create_claimable_balance_op
        rec.update(
            asset=asset_str(o.asset),
            amount=amount_str(o.amount.int64),
            claimants=[
                {"destination": account_id_str(c.v0.destination), "predicate": predicate_json(c.v0.predicate)}
                for c in o.claimants
            ],
        )
    elif t == OTy.CLAIM_CLAIMABLE_BALANCE:
        rec.update(
            balance_id=b.claim_claimable_balance_op.balance_id.to_xdr_bytes().hex(),
            claimant=src,
            **_muxed("claimant", src_m, src_mid),
        )
    elif t == OTy.ALLOW_TRUST:
        o = b.allow_trust_op
        raw = o.asset.asset_code4.asset_code4 if o.asset.asset_code4 else o.asset.asset_code12.asset_code12
        code = raw.rstrip(b"\0").decode("ascii", "replace")
        rec.update(asset_fields(f"{code}:{src}"))
        rec.update(
            trustee=src,
            **_muxed("trustee", src_m, src_mid),
            trustor=account_id_str(o.trustor),
            authorize=bool(o.authorize.uint32 & TL_AUTHORIZED),
            authorize_to_maintain_liabilities=bool(
                o.authorize.uint32 & TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES
            ),
        )
    elif t == OTy.SET_TRUST_LINE_FLAGS:
        o = b.set_trust_line_flags_op
        rec.update(asset_fields(asset_str(o.asset)))
        rec["trustor"] = account_id_str(o.trustor)
        rec.update(_flag_fields("set_flags", o.set_flags.uint32, _LINE_FLAG_NAMES))
        rec.update(_flag_fields("clear_flags", o.clear_flags.uint32, _LINE_FLAG_NAMES))
    return rec


def op_links(base: str, rec: dict) -> dict:
    i, pt = rec["id"], rec["paging_token"]
    return {
        "self": {"href": f"{base}/operations/{i}"},
        "transaction": {"href": f"{base}/transactions/{rec['transaction_hash']}"},
        "effects": {"href": f"{base}/operations/{i}/effects"},
        "succeeds": {"href": f"{base}/effects?order=desc&cursor={pt}"},
        "precedes": {"href": f"{base}/effects?order=asc&cursor={pt}"},
    }


def with_op_links(base: str, rec: dict, tx: dict | None = None) -> dict:
    out = {"_links": op_links(base, rec), **rec}
    if tx is not None:
        out["transaction"] = with_tx_links(base, tx)
    return out


# --- accounts -------------------------------------------------------------------------------


def account_json(base: str, acc: Account, close_times: dict[int, int]) -> dict:
    balances = []
    for asset, line in sorted(acc.trustlines.items()):
        balances.append(
            {
                "balance": amount_str(line.balance),
                "limit": amount_str(line.limit),
                "buying_liabilities": "0.0000000",
                "selling_liabilities": "0.0000000",
                "last_modified_ledger": line.last_modified_ledger,
                "is_authorized": bool(line.flags & TL_AUTHORIZED),
                "is_authorized_to_maintain_liabilities": bool(
                    line.flags & (TL_AUTHORIZED | TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES)
                ),
                "is_clawback_enabled": bool(line.flags & TL_CLAWBACK_ENABLED),
                **asset_fields(asset),
            }
        )
    balances.append(
        {
            "balance": amount_str(acc.balance),
            "buying_liabilities": "0.0000000",
            "selling_liabilities": "0.0000000",
            "asset_type": "native",
        }
    )
    signers = [{"weight": s["weight"], "key": s["key"], "type": signer_type(s["key"])} for s in acc.signers]
    signers.append({"weight": acc.thresholds[0], "key": acc.id, "type": "ed25519_public_key"})
    a = acc.id
    out = {
        "_links": {
            "self": {"href": f"{base}/accounts/{a}"},
            "transactions": {
                "href": f"{base}/accounts/{a}/transactions{{?cursor,limit,order}}",
                "templated": True,
            },
            "operations": {
                "href": f"{base}/accounts/{a}/operations{{?cursor,limit,order}}",
                "templated": True,
            },
            "payments": {"href": f"{base}/accounts/{a}/payments{{?cursor,limit,order}}", "templated": True},
            "effects": {"href": f"{base}/accounts/{a}/effects{{?cursor,limit,order}}", "templated": True},
            "offers": {"href": f"{base}/accounts/{a}/offers{{?cursor,limit,order}}", "templated": True},
            "trades": {"href": f"{base}/accounts/{a}/trades{{?cursor,limit,order}}", "templated": True},
            "data": {"href": f"{base}/accounts/{a}/data/{{key}}", "templated": True},
        },
        "id": a,
        "account_id": a,
        "sequence": str(acc.seq),
    }
    if acc.seq_ledger:
        out["sequence_ledger"] = acc.seq_ledger
        out["sequence_time"] = str(acc.seq_time)
    out["subentry_count"] = acc.num_sub_entries
    if acc.inflation_dest:
        out["inflation_destination"] = acc.inflation_dest
    if acc.home_domain:
        out["home_domain"] = acc.home_domain
    out.update(
        {
            "last_modified_ledger": acc.last_modified_ledger,
            "last_modified_time": iso_time(close_times.get(acc.last_modified_ledger, 0)) or None,
            "thresholds": {
                "low_threshold": acc.thresholds[1],
                "med_threshold": acc.thresholds[2],
                "high_threshold": acc.thresholds[3],
            },
            "flags": {
                "auth_required": bool(acc.flags & AUTH_REQUIRED),
                "auth_revocable": bool(acc.flags & AUTH_REVOCABLE),
                "auth_immutable": bool(acc.flags & AUTH_IMMUTABLE),
                "auth_clawback_enabled": bool(acc.flags & AUTH_CLAWBACK_ENABLED),
            },
            "balances": balances,
            "signers": signers,
            "data": dict(sorted(acc.data.items())),
            "num_sponsoring": acc.num_sponsoring,
            "num_sponsored": acc.num_sponsored,
            "paging_token": a,
        }
    )
    return out


def data_json(value_b64: str) -> dict:
    return {"value": value_b64}


# --- claimable balances ---------------------------------------------------------------------


def balance_paging_token(cb: ClaimableBalance) -> str:
    return f"{cb.last_modified_ledger}-{cb.id}"


def claimable_balance_json(base: str, cb: ClaimableBalance, close_times: dict[int, int]) -> dict:
    return {
        "_links": {
            "self": {"href": f"{base}/claimable_balances/{cb.id}"},
            "transactions": {
                "href": f"{base}/claimable_balances/{cb.id}/transactions{{?cursor,limit,order}}",
                "templated": True,
            },
            "operations": {
                "href": f"{base}/claimable_balances/{cb.id}/operations{{?cursor,limit,order}}",
                "templated": True,
            },
        },
        "id": cb.id,
        "asset": cb.asset,
        "amount": amount_str(cb.amount),
        "sponsor": cb.sponsor,
        "last_modified_ledger": cb.last_modified_ledger,
        "last_modified_time": iso_time(close_times.get(cb.last_modified_ledger, 0)) or None,
        "claimants": [
            {
                "destination": c["destination"],
                "predicate": predicate_json(X.ClaimPredicate.from_xdr(c["predicate"])),
            }
            for c in cb.claimants
        ],
        "flags": {"clawback_enabled": cb.clawback_enabled},
        "paging_token": balance_paging_token(cb),
    }


# --- ledgers, root, fee stats ---------------------------------------------------------------


def ledger_record(header: dict) -> dict:
    return {
        "id": header["hash"],
        "paging_token": str(toid(header["seq"])),
        "hash": header["hash"],
        **({"prev_hash": header["prev_hash"]} if header.get("prev_hash") else {}),
        "sequence": header["seq"],
        "successful_transaction_count": header.get("successful", 0),
        "failed_transaction_count": header.get("failed", 0),
        "operation_count": header.get("operations", 0),
        "tx_set_operation_count": header.get("tx_set_operations", 0),
        "closed_at": iso_time(header["close_time"]),
        "total_coins": amount_str(header["total_coins"]),
        "fee_pool": amount_str(header["fee_pool"]),
        "base_fee_in_stroops": BASE_FEE,
        "base_reserve_in_stroops": BASE_RESERVE,
        "max_tx_set_size": MAX_TX_SET_SIZE,
        "protocol_version": PROTOCOL_VERSION,
        "header_xdr": header.get("header_xdr", ""),
    }


def ledger_json(base: str, header: dict) -> dict:
    rec = ledger_record(header)
    s = rec["sequence"]
    links = {
        "self": {"href": f"{base}/ledgers/{s}"},
        "transactions": {
            "href": f"{base}/ledgers/{s}/transactions{{?cursor,limit,order}}",
            "templated": True,
        },
        "operations": {"href": f"{base}/ledgers/{s}/operations{{?cursor,limit,order}}", "templated": True},
        "payments": {"href": f"{base}/ledgers/{s}/payments{{?cursor,limit,order}}", "templated": True},
        "effects": {"href": f"{base}/ledgers/{s}/effects{{?cursor,limit,order}}", "templated": True},
    }
    return {"_links": links, **rec}


def root_json(base: str, header: dict, passphrase: str, elder: int) -> dict:
    def link(path, templated=False):
        return {"href": base + path, **({"templated": True} if templated else {})}

    return {
        "_links": {
            "account": link("/accounts/{account_id}", True),
            "accounts": link("/accounts{?signer,sponsor,asset,liquidity_pool,cursor,limit,order}", True),
            "account_transactions": link("/accounts/{account_id}/transactions{?cursor,limit,order}", True),
            "claimable_balances": link(
                "/claimable_balances{?asset,sponsor,claimant,cursor,limit,order}", True
            ),
            "assets": link("/assets{?asset_code,asset_issuer,cursor,limit,order}", True),
            "effects": link("/effects{?cursor,limit,order}", True),
            "fee_stats": link("/fee_stats"),
            "friendbot": link("/friendbot{?addr}", True),
            "ledger": link("/ledgers/{sequence}", True),
            "ledgers": link("/ledgers{?cursor,limit,order}", True),
            "liquidity_pools": link("/liquidity_pools{?reserves,account,cursor,limit,order}", True),
            "offer": link("/offers/{offer_id}", True),
            "offers": link("/offers{?selling,buying,seller,sponsor,cursor,limit,order}", True),
            "operation": link("/operations/{id}", True),
            "operations": link("/operations{?cursor,limit,order,include_failed}", True),
            "order_book": link(
                "/order_book{?selling_asset_type,selling_asset_code,selling_asset_issuer,buying_asset_type,buying_asset_code,buying_asset_issuer,limit}",
                True,
            ),
            "payments": link("/payments{?cursor,limit,order,include_failed}", True),
            "self": link("/"),
            "strict_receive_paths": link(
                "/paths/strict-receive{?source_assets,source_account,destination_account,destination_asset_type,destination_asset_issuer,destination_asset_code,destination_amount}",
                True,
            ),
            "strict_send_paths": link(
                "/paths/strict-send{?destination_account,destination_assets,source_asset_type,source_asset_issuer,source_asset_code,source_amount}",
                True,
            ),
            "trade_aggregations": link(
                "/trade_aggregations?base_asset_type={base_asset_type}&base_asset_code={base_asset_code}&base_asset_issuer={base_asset_issuer}&counter_asset_type={counter_asset_type}&counter_asset_code={counter_asset_code}&counter_asset_issuer={counter_asset_issuer}",
                True,
            ),
            "trades": link(
                "/trades?base_asset_type={base_asset_type}&base_asset_code={base_asset_code}&base_asset_issuer={base_asset_issuer}&counter_asset_type={counter_asset_type}&counter_asset_code={counter_asset_code}&counter_asset_issuer={counter_asset_issuer}",
                True,
            ),
            "transaction": link("/transactions/{hash}", True),
            "transactions": link("/transactions{?cursor,limit,order}", True),
        },
        "horizon_version": HORIZON_VERSION,
        "core_version": CORE_VERSION,
        "ingest_latest_ledger": header["seq"],
        "history_latest_ledger": header["seq"],
        "history_latest_ledger_closed_at": iso_time(header["close_time"]),
        "history_elder_ledger": elder,
        "core_latest_ledger": header["seq"],
        "network_passphrase": passphrase,
        "current_protocol_version": PROTOCOL_VERSION,
        "supported_protocol_version": PROTOCOL_VERSION,
        "core_supported_protocol_version": PROTOCOL_VERSION,
    }


def _distribution(values: list[int]) -> dict:
    if not values:
        values = [BASE_FEE]
    v = sorted(values)

    def pct(p):  # nearest-rank percentile
        k = max(0, min(len(v) - 1, -(-p * len(v) // 100) - 1))
        return str(v[k])

    counts: dict[int, int] = {}
    for x in v:
        counts[x] = counts.get(x, 0) + 1
    mode = max(sorted(counts), key=lambda x: counts[x])
    out = {"max": str(v[-1]), "min": str(v[0]), "mode": str(mode)}
    for p in (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99):
        out[f"p{p}"] = pct(p)
    return out


def fee_stats_json(last_ledger: int, last_ops: int, recent_txs: list[dict]) -> dict:
    """Horizon's /fee_stats over the transactions of the last few ledgers, per operation."""
    charged, bids = [], []
    for rec in recent_txs:
        ops = rec["operation_count"] + (1 if "fee_bump_transaction" in rec else 0)
        charged.append(int(rec["fee_charged"]) // max(1, ops))
        bids.append(int(rec["max_fee"]) // max(1, ops))
    return {
        "last_ledger": str(last_ledger),
        "last_ledger_base_fee": str(BASE_FEE),
        "ledger_capacity_usage": f"{min(1.0, last_ops / MAX_TX_SET_SIZE):.2f}",
        "fee_charged": _distribution(charged),
        "max_fee": _distribution(bids),
    }


# --- pages ----------------------------------------------------------------------------------


def page(
    base: str, path: str, params: dict, records: list[dict], order: str, limit: int, cursor: str
) -> dict:
    """A HAL page; `next` continues after the last record, `prev` goes back from the first."""

    def href(cur: str, ord_: str) -> str:
        q = {**params, "cursor": cur, "limit": str(limit), "order": ord_}
        return f"{base}{path}?{urlencode(q)}"

    last = records[-1]["paging_token"] if records else cursor
    first = records[0]["paging_token"] if records else cursor
    reverse = "desc" if order == "asc" else "asc"
    return {
        "_links": {
            "self": {"href": href(cursor, order)},
            "next": {"href": href(last, order)},
            "prev": {"href": href(first, reverse)},
        },
        "_embedded": {"records": records},
    }
