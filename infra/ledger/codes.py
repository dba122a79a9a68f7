"""Result codes: XDR results (built with the SDK's types) and Horizon's string names for them.

Operations report failures as the XDR enum member itself (e.g. `PaymentResultCode.PAYMENT_UNDERFUNDED`)
so `result_xdr` is exact; the Horizon strings (`op_underfunded`) are derived here, following the
table in Horizon's `codes` package, exceptions included.
"""

from __future__ import annotations

from stellar_sdk import xdr as X

OT = X.OperationType

# op type -> (OperationResultTr field, result class, result code enum)
_RESULTS = {
    OT.CREATE_ACCOUNT: ("create_account_result", X.CreateAccountResult, X.CreateAccountResultCode),
    OT.PAYMENT: ("payment_result", X.PaymentResult, X.PaymentResultCode),
    OT.PATH_PAYMENT_STRICT_RECEIVE: (
        "path_payment_strict_receive_result",
        X.PathPaymentStrictReceiveResult,
        X.PathPaymentStrictReceiveResultCode,
    ),
    OT.PATH_PAYMENT_STRICT_SEND: (
        "path_payment_strict_send_result",
        X.PathPaymentStrictSendResult,
        X.PathPaymentStrictSendResultCode,
    ),
    OT.SET_OPTIONS: ("set_options_result", X.SetOptionsResult, X.SetOptionsResultCode),
    OT.CHANGE_TRUST: ("change_trust_result", X.ChangeTrustResult, X.ChangeTrustResultCode),
    OT.ALLOW_TRUST: ("allow_trust_result", X.AllowTrustResult, X.AllowTrustResultCode),
    OT.ACCOUNT_MERGE: ("account_merge_result", X.AccountMergeResult, X.AccountMergeResultCode),
    OT.MANAGE_DATA: ("manage_data_result", X.ManageDataResult, X.ManageDataResultCode),
    OT.BUMP_SEQUENCE: ("bump_seq_result", X.BumpSequenceResult, X.BumpSequenceResultCode),
    OT.CREATE_CLAIMABLE_BALANCE: (
        "create_claimable_balance_result",
        X.CreateClaimableBalanceResult,
        X.CreateClaimableBalanceResultCode,
    ),
    OT.CLAIM_CLAIMABLE_BALANCE: (
        "claim_claimable_balance_result",
        X.ClaimClaimableBalanceResult,
        X.ClaimClaimableBalanceResultCode,
    ),
    OT.SET_TRUST_LINE_FLAGS: (
        "set_trust_line_flags_result",
        X.SetTrustLineFlagsResult,
        X.SetTrustLineFlagsResultCode,
    ),
}

SUPPORTED_OPS = frozenset(_RESULTS)

# Horizon's names where they are not simply "op_" + the lower-cased member name without prefix.
_OP_EXCEPTIONS = {
    "CREATE_ACCOUNT_ALREADY_EXIST": "op_already_exists",
    "PATH_PAYMENT_STRICT_RECEIVE_OFFER_CROSS_SELF": "op_cross_self",
    "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX": "op_over_source_max",
    "PATH_PAYMENT_STRICT_SEND_OFFER_CROSS_SELF": "op_cross_self",
    "PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN": "op_under_dest_min",
    "CHANGE_TRUST_NOT_AUTH_MAINTAIN_LIABILITIES": "op_not_aut_maintain_liabilities",
    "ALLOW_TRUST_NO_TRUST_LINE": "op_no_trust",
    "ALLOW_TRUST_TRUST_NOT_REQUIRED": "op_not_required",
    "ACCOUNT_MERGE_SEQNUM_TOO_FAR": "op_seq_num_too_far",
    "MANAGE_DATA_NAME_NOT_FOUND": "op_data_name_not_found",
    "MANAGE_DATA_INVALID_NAME": "op_data_invalid_name",
    "opNO_ACCOUNT": "op_no_source_account",
}
_TX_EXCEPTIONS = {
    "txNO_ACCOUNT": "tx_no_source_account",
    "txBAD_MIN_SEQ_AGE_OR_GAP": "tx_bad_minseq_age_or_gap",
}


def tx_code_str(code: X.TransactionResultCode) -> str:
    return _TX_EXCEPTIONS.get(code.name, "tx_" + code.name[2:].lower())


def _inner_code_str(member) -> str:
    if member.name in _OP_EXCEPTIONS:
        return _OP_EXCEPTIONS[member.name]
    prefix = next(m.name for m in type(member) if m.name.endswith("_SUCCESS"))[: -len("SUCCESS")]
    return "op_" + member.name[len(prefix) :].lower()


def op_code_str(res: X.OperationResult) -> str:
    if res.code != X.OperationResultCode.opINNER:
        return _OP_EXCEPTIONS.get(res.code.name, "op_" + res.code.name[2:].lower())
    field = _RESULTS[res.tr.type][0]
    return _inner_code_str(getattr(res.tr, field).code)


# --- building results -----------------------------------------------------------------------


def op_inner(op_type: X.OperationType, code, **extra) -> X.OperationResult:
    """An opINNER result for `op_type` with the given inner code (and success payload)."""
    field, cls, _ = _RESULTS[op_type]
    return X.OperationResult(
        X.OperationResultCode.opINNER,
        X.OperationResultTr(op_type, **{field: cls(code, **extra)}),
    )


def op_success(op_type: X.OperationType) -> X.OperationResult:
    _, _, enum = _RESULTS[op_type]
    return op_inner(op_type, enum(0))


def op_outer(code: X.OperationResultCode) -> X.OperationResult:
    return X.OperationResult(code)


def op_ok(res: X.OperationResult) -> bool:
    if res.code != X.OperationResultCode.opINNER:
        return False
    return getattr(res.tr, _RESULTS[res.tr.type][0]).code.value == 0


def tx_result(fee: int, code: X.TransactionResultCode, results=None) -> X.TransactionResult:
    has_results = code in (X.TransactionResultCode.txSUCCESS, X.TransactionResultCode.txFAILED)
    return X.TransactionResult(
        X.Int64(fee),
        X.TransactionResultResult(code, results=(results or []) if has_results else None),
        X.TransactionResultExt(0),
    )


def fee_bump_result(fee: int, inner_hash: bytes, inner: X.TransactionResult) -> X.TransactionResult:
    """Wrap an inner result the way a fee-bump reports it (inner fee is always 0)."""
    ok = inner.result.code == X.TransactionResultCode.txSUCCESS
    inner_res = X.InnerTransactionResult(
        X.Int64(0),
        X.InnerTransactionResultResult(inner.result.code, results=inner.result.results),
        X.InnerTransactionResultExt(0),
    )
    code = (
        X.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS
        if ok
        else X.TransactionResultCode.txFEE_BUMP_INNER_FAILED
    )
    return X.TransactionResult(
        X.Int64(fee),
        X.TransactionResultResult(
            code, inner_result_pair=X.InnerTransactionResultPair(X.Hash(inner_hash), inner_res)
        ),
        X.TransactionResultExt(0),
    )


def result_codes(res: X.TransactionResult) -> dict:
    """Horizon's `extras.result_codes` for a TransactionResult."""
    r = res.result
    out = {"transaction": tx_code_str(r.code)}
    if r.inner_result_pair is not None:
        inner = r.inner_result_pair.result.result
        out["inner_transaction"] = tx_code_str(inner.code)
        if inner.results:
            out["operations"] = [op_code_str(o) for o in inner.results]
    elif r.results:
        out["operations"] = [op_code_str(o) for o in r.results]
    return out


def successful(res: X.TransactionResult) -> bool:
    return res.result.code in (
        X.TransactionResultCode.txSUCCESS,
        X.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS,
    )
