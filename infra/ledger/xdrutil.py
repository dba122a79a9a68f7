"""Small helpers over the Python stellar-sdk's XDR types.

Everything that touches XDR bytes, strkeys, hashes or signatures goes through `stellar_sdk` so
the ledger is an independent check of the Rust encoder: nothing here packs XDR by hand.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib

from stellar_sdk import MuxedAccount, Network, StrKey
from stellar_sdk import xdr as X
from stellar_sdk.signer_key import SignerKey

STROOPS_PER_XLM = 10_000_000
INT64_MAX = 2**63 - 1


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def network_id(passphrase: str) -> bytes:
    return Network(passphrase).network_id()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def amount_str(stroops: int) -> str:
    """Horizon's amount format: always 7 decimals, e.g. "10.0000000"."""
    sign = "-" if stroops < 0 else ""
    stroops = abs(stroops)
    return f"{sign}{stroops // STROOPS_PER_XLM}.{stroops % STROOPS_PER_XLM:07d}"


def iso_time(unix: int) -> str:
    """RFC 3339 in UTC with a Z, second precision, as Horizon renders times."""
    try:
        return _dt.datetime.fromtimestamp(unix, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return ""


# --- accounts -------------------------------------------------------------------------------


def account_id_str(account_id: X.AccountID) -> str:
    return StrKey.encode_ed25519_public_key(account_id.account_id.ed25519.uint256)


def account_id_xdr(g: str) -> X.AccountID:
    raw = StrKey.decode_ed25519_public_key(g)
    return X.AccountID(X.PublicKey(X.PublicKeyType.PUBLIC_KEY_TYPE_ED25519, X.Uint256(raw)))


def muxed_parts(muxed: X.MuxedAccount) -> tuple[str, str | None, int | None]:
    """(G account, M address or None, mux id or None) of a MuxedAccount."""
    m = MuxedAccount.from_xdr_object(muxed)
    if m.account_muxed_id is None:
        return m.account_id, None, None
    return m.account_id, m.account_muxed, m.account_muxed_id


# --- assets ---------------------------------------------------------------------------------


def asset_code_valid(code: bytes, min_len: int = 1) -> bool:
    # stellar-core isAssetValid: ASCII alphanumerics, zero padding only at the end.
    count, zeros = 0, False
    for b in code:
        if b == 0:
            zeros = True
        elif zeros or b > 0x7F or not chr(b).isalnum():
            return False
        else:
            count += 1
    return count >= min_len


def asset_valid(asset: X.Asset | X.ChangeTrustAsset) -> bool:
    t = asset.type
    if t == X.AssetType.ASSET_TYPE_NATIVE:
        return True
    if t == X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4:
        return asset_code_valid(asset.alpha_num4.asset_code.asset_code4, 1)
    if t == X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12:
        return asset_code_valid(asset.alpha_num12.asset_code.asset_code12, 5)
    return False  # pool shares are not supported by this ledger


def asset_str(asset: X.Asset | X.ChangeTrustAsset) -> str:
    """Horizon's canonical asset string: "native" or "CODE:ISSUER"."""
    t = asset.type
    if t == X.AssetType.ASSET_TYPE_NATIVE:
        return "native"
    if t == X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4:
        a = asset.alpha_num4
        code = a.asset_code.asset_code4
    elif t == X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12:
        a = asset.alpha_num12
        code = a.asset_code.asset_code12
    else:
        raise ValueError("unsupported asset type")
    code_str = code.rstrip(b"\0").decode("ascii", "replace")
    return f"{code_str}:{account_id_str(a.issuer)}"


def asset_fields(asset: str, prefix: str = "") -> dict:
    """Horizon's `asset_type` / `asset_code` / `asset_issuer` triple (with an optional prefix)."""
    if asset == "native":
        return {f"{prefix}asset_type": "native"}
    code, issuer = asset.split(":")
    kind = "credit_alphanum4" if len(code) <= 4 else "credit_alphanum12"
    return {f"{prefix}asset_type": kind, f"{prefix}asset_code": code, f"{prefix}asset_issuer": issuer}


def asset_issuer(asset: str) -> str | None:
    return None if asset == "native" else asset.split(":")[1]


# --- signer keys ----------------------------------------------------------------------------


def signer_key_str(key: X.SignerKey) -> str:
    return SignerKey.from_xdr_object(key).encoded_signer_key


def signer_type(strkey: str) -> str:
    return {
        "G": "ed25519_public_key",
        "T": "preauth_tx",
        "X": "sha256_hash",
        "P": "ed25519_signed_payload",
    }[strkey[0]]


# --- claimable balances ---------------------------------------------------------------------


def balance_id_hex(balance_id: X.ClaimableBalanceID) -> str:
    """The id as Horizon shows it: hex of the whole XDR union, so it starts with 00000000."""
    return balance_id.to_xdr_bytes().hex()


def operation_balance_id(source: str, seq: int, op_index: int) -> str:
    """stellar-core's CreateClaimableBalanceOpFrame::getBalanceID, via the SDK's XDR types."""
    preimage = X.HashIDPreimage(
        type=X.EnvelopeType.ENVELOPE_TYPE_OP_ID,
        operation_id=X.HashIDPreimageOperationID(
            source_account=account_id_xdr(source),
            seq_num=X.SequenceNumber(X.Int64(seq)),
            op_num=X.Uint32(op_index),
        ),
    )
    bid = X.ClaimableBalanceID(
        X.ClaimableBalanceIDType.CLAIMABLE_BALANCE_ID_TYPE_V0, v0=X.Hash(sha256(preimage.to_xdr_bytes()))
    )
    return balance_id_hex(bid)


def predicate_json(p: X.ClaimPredicate) -> dict:
    """Horizon's JSON form of a claim predicate."""
    T = X.ClaimPredicateType
    if p.type == T.CLAIM_PREDICATE_UNCONDITIONAL:
        return {"unconditional": True}
    if p.type == T.CLAIM_PREDICATE_AND:
        return {"and": [predicate_json(q) for q in p.and_predicates]}
    if p.type == T.CLAIM_PREDICATE_OR:
        return {"or": [predicate_json(q) for q in p.or_predicates]}
    if p.type == T.CLAIM_PREDICATE_NOT:
        return {"not": predicate_json(p.not_predicate)}
    if p.type == T.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME:
        t = p.abs_before.int64
        out = {"abs_before_epoch": str(t)}
        if iso_time(t):
            out["abs_before"] = iso_time(t)
        return out
    if p.type == T.CLAIM_PREDICATE_BEFORE_RELATIVE_TIME:
        return {"rel_before": str(p.rel_before.int64)}
    raise ValueError("unknown predicate")


def predicate_valid(p: X.ClaimPredicate, depth: int = 1) -> bool:
    """stellar-core's static predicate check (CreateClaimableBalanceOpFrame::doCheckValid)."""
    T = X.ClaimPredicateType
    if depth > 4:
        return False
    if p.type == T.CLAIM_PREDICATE_UNCONDITIONAL:
        return True
    if p.type == T.CLAIM_PREDICATE_AND:
        return len(p.and_predicates) == 2 and all(predicate_valid(q, depth + 1) for q in p.and_predicates)
    if p.type == T.CLAIM_PREDICATE_OR:
        return len(p.or_predicates) == 2 and all(predicate_valid(q, depth + 1) for q in p.or_predicates)
    if p.type == T.CLAIM_PREDICATE_NOT:
        return p.not_predicate is not None and predicate_valid(p.not_predicate, depth + 1)
    if p.type == T.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME:
        return p.abs_before.int64 >= 0
    if p.type == T.CLAIM_PREDICATE_BEFORE_RELATIVE_TIME:
        return p.rel_before.int64 >= 0
    return False


def predicate_absolute(p: X.ClaimPredicate, close_time: int) -> X.ClaimPredicate:
    """Relative time predicates become absolute when the balance is created (like core)."""
    T = X.ClaimPredicateType
    if p.type == T.CLAIM_PREDICATE_AND:
        return X.ClaimPredicate(
            T.CLAIM_PREDICATE_AND,
            and_predicates=[predicate_absolute(q, close_time) for q in p.and_predicates],
        )
    if p.type == T.CLAIM_PREDICATE_OR:
        return X.ClaimPredicate(
            T.CLAIM_PREDICATE_OR, or_predicates=[predicate_absolute(q, close_time) for q in p.or_predicates]
        )
    if p.type == T.CLAIM_PREDICATE_NOT:
        return X.ClaimPredicate(
            T.CLAIM_PREDICATE_NOT, not_predicate=predicate_absolute(p.not_predicate, close_time)
        )
    if p.type == T.CLAIM_PREDICATE_BEFORE_RELATIVE_TIME:
        rel = p.rel_before.int64
        absolute = INT64_MAX if close_time > INT64_MAX - rel else close_time + rel
        return X.ClaimPredicate(T.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME, abs_before=X.Int64(absolute))
    return p


def predicate_holds(p: X.ClaimPredicate, close_time: int) -> bool:
    T = X.ClaimPredicateType
    if p.type == T.CLAIM_PREDICATE_UNCONDITIONAL:
        return True
    if p.type == T.CLAIM_PREDICATE_AND:
        return all(predicate_holds(q, close_time) for q in p.and_predicates)
    if p.type == T.CLAIM_PREDICATE_OR:
        return any(predicate_holds(q, close_time) for q in p.or_predicates)
    if p.type == T.CLAIM_PREDICATE_NOT:
        return not predicate_holds(p.not_predicate, close_time)
    if p.type == T.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME:
        return p.abs_before.int64 > close_time
    return False


def string_valid(s: bytes) -> bool:
    # stellar-core isStringValid: printable ASCII only (0x20..0x7E).
    return all(0x20 <= b <= 0x7E for b in s)
