"""Transaction validation and application, following stellar-core.

`parse_envelope` decodes and hashes an envelope (v0, v1 or fee-bump) with the SDK's XDR types and
refuses non-canonical encodings. `check_valid` is core's checkValid: the checks run when a
transaction is submitted (and again when its ledger closes); a failure there rejects the
transaction without a trace in the ledger. `apply_tx` is what happens in a closing ledger: the fee
is charged and the sequence number consumed, then the operations run; if any operation fails none
of their effects remain (tx_failed), but the fee and sequence number stay spent.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from stellar_sdk import Keypair, StrKey
from stellar_sdk import xdr as X
from stellar_sdk.signer_key import SignerKey

from . import codes
from .state import (
    ALL_ACCOUNT_FLAGS,
    AUTH_CLAWBACK_ENABLED,
    AUTH_IMMUTABLE,
    AUTH_REQUIRED,
    AUTH_REVOCABLE,
    BASE_FEE,
    BASE_RESERVE,
    MAX_SIGNERS,
    MAX_SUBENTRIES,
    TL_AUTHORIZED,
    TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES,
    TL_CLAWBACK_ENABLED,
    Account,
    ClaimableBalance,
    State,
    Trustline,
    View,
)
from .xdrutil import (
    INT64_MAX,
    account_id_str,
    account_id_xdr,
    asset_code_valid,
    asset_issuer,
    asset_str,
    asset_valid,
    b64,
    balance_id_hex,
    muxed_parts,
    operation_balance_id,
    predicate_absolute,
    predicate_holds,
    predicate_valid,
    sha256,
    signer_key_str,
    string_valid,
)

OT = X.OperationType
TRC = X.TransactionResultCode


class Malformed(Exception):
    """The envelope could not be decoded (Horizon's transaction_malformed)."""


# --- envelopes ------------------------------------------------------------------------------


@dataclass
class InnerTx:
    """A v1-form transaction (v0 envelopes are converted, as core does) with its hash."""

    tx: X.Transaction
    hash: bytes
    signatures: list[X.DecoratedSignature]
    source: str
    source_muxed: str | None
    source_muxed_id: int | None
    fee: int
    seq: int
    ops: list[X.Operation]

    @property
    def preconditions(self) -> X.Preconditions:
        return self.tx.cond

    @property
    def time_bounds(self) -> X.TimeBounds | None:
        c = self.tx.cond
        if c.type == X.PreconditionType.PRECOND_TIME:
            return c.time_bounds
        if c.type == X.PreconditionType.PRECOND_V2:
            return c.v2.time_bounds
        return None

    @property
    def v2(self) -> X.PreconditionsV2 | None:
        return self.tx.cond.v2 if self.tx.cond.type == X.PreconditionType.PRECOND_V2 else None


@dataclass
class Frame:
    """A submitted envelope: the outer shell (fee-bump or not) around an InnerTx."""

    envelope_xdr: str
    hash: bytes
    inner: InnerTx
    fee_bump: bool
    fee_source: str
    fee_source_muxed: str | None
    fee_source_muxed_id: int | None
    max_fee: int
    signatures: list[X.DecoratedSignature]

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()

    def min_fee(self) -> int:
        n = max(1, len(self.inner.ops))
        return BASE_FEE * (n + 1 if self.fee_bump else n)


def _tx_hash(net_id: bytes, tagged: X.TransactionSignaturePayloadTaggedTransaction) -> bytes:
    payload = X.TransactionSignaturePayload(X.Hash(net_id), tagged)
    return sha256(payload.to_xdr_bytes())


def _inner(tx: X.Transaction, signatures, net_id: bytes) -> InnerTx:
    h = _tx_hash(
        net_id, X.TransactionSignaturePayloadTaggedTransaction(X.EnvelopeType.ENVELOPE_TYPE_TX, tx=tx)
    )
    g, m, mid = muxed_parts(tx.source_account)
    return InnerTx(
        tx,
        h,
        list(signatures),
        g,
        m,
        mid,
        tx.fee.uint32,
        tx.seq_num.sequence_number.int64,
        list(tx.operations),
    )


def parse_envelope(envelope_b64: str, net_id: bytes) -> Frame:
    try:
        raw = base64.b64decode(envelope_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise Malformed(f"invalid base64: {e}") from None
    try:
        env = X.TransactionEnvelope.from_xdr_bytes(raw)
    except Exception as e:  # the SDK raises assorted errors on bad XDR
        raise Malformed(f"invalid TransactionEnvelope XDR: {e}") from None
    # Re-encoding must give the same bytes: catches non-canonical padding, bools, etc.
    if env.to_xdr_bytes() != raw:
        raise Malformed("non-canonical XDR encoding")
    canonical = b64(raw)
    T = X.EnvelopeType
    if env.type == T.ENVELOPE_TYPE_TX_V0:
        v0 = env.v0.tx
        tb = v0.time_bounds
        tx = X.Transaction(
            source_account=X.MuxedAccount(
                X.CryptoKeyType.KEY_TYPE_ED25519, ed25519=v0.source_account_ed25519
            ),
            fee=v0.fee,
            seq_num=v0.seq_num,
            cond=X.Preconditions(X.PreconditionType.PRECOND_TIME, time_bounds=tb)
            if tb is not None
            else X.Preconditions(X.PreconditionType.PRECOND_NONE),
            memo=v0.memo,
            operations=v0.operations,
            ext=X.TransactionExt(0),
        )
        inner = _inner(tx, env.v0.signatures, net_id)
    elif env.type == T.ENVELOPE_TYPE_TX:
        inner = _inner(env.v1.tx, env.v1.signatures, net_id)
    elif env.type == T.ENVELOPE_TYPE_TX_FEE_BUMP:
        fb = env.fee_bump.tx
        inner = _inner(fb.inner_tx.v1.tx, fb.inner_tx.v1.signatures, net_id)
        h = _tx_hash(
            net_id, X.TransactionSignaturePayloadTaggedTransaction(T.ENVELOPE_TYPE_TX_FEE_BUMP, fee_bump=fb)
        )
        g, m, mid = muxed_parts(fb.fee_source)
        return Frame(canonical, h, inner, True, g, m, mid, fb.fee.int64, list(env.fee_bump.signatures))
    else:
        raise Malformed("unsupported envelope type")
    return Frame(
        canonical,
        inner.hash,
        inner,
        False,
        inner.source,
        inner.source_muxed,
        inner.source_muxed_id,
        inner.fee,
        inner.signatures,
    )


# --- signatures -----------------------------------------------------------------------------


def _hint(key: bytes) -> bytes:
    return key[-4:]


def _verify(pub: bytes, data: bytes, sig: bytes) -> bool:
    try:
        Keypair.from_raw_ed25519_public_key(pub).verify(data, sig)
        return True
    except Exception:
        return False


class SignatureChecker:
    """stellar-core's SignatureChecker: sums signer weights until a threshold is met and
    remembers which signatures were used (unused ones make the tx tx_bad_auth_extra)."""

    def __init__(self, contents_hash: bytes, signatures: list[X.DecoratedSignature]):
        self.hash = contents_hash
        self.sigs = signatures
        self.used = [False] * len(signatures)

    def check(self, signers: list[tuple[str, int]], needed: int) -> bool:
        keys = [(SignerKey.from_encoded_signer_key(k).to_xdr_object(), min(w, 255)) for k, w in signers]
        ST = X.SignerKeyType
        total = 0
        for key, w in keys:
            if key.type == ST.SIGNER_KEY_TYPE_PRE_AUTH_TX and key.pre_auth_tx.uint256 == self.hash:
                total += w
                if total >= needed:
                    return True

        def verify_all(kind, matches) -> bool:
            nonlocal total
            remaining = [(k, w) for k, w in keys if k.type == kind]
            for i, sig in enumerate(self.sigs):
                for j, (k, w) in enumerate(remaining):
                    if matches(sig, k):
                        self.used[i] = True
                        total += w
                        if total >= needed:
                            return True
                        del remaining[j]
                        break
            return False

        def hash_x(sig, k):
            x = k.hash_x.uint256
            return sig.hint.signature_hint == _hint(x) and sha256(sig.signature.signature) == x

        def ed25519(sig, k):
            pub = k.ed25519.uint256
            return sig.hint.signature_hint == _hint(pub) and _verify(pub, self.hash, sig.signature.signature)

        def signed_payload(sig, k):
            sp = k.ed25519_signed_payload
            pub, payload = sp.ed25519.uint256, sp.payload
            payload_hint = payload[-4:] if len(payload) >= 4 else payload + b"\0" * (4 - len(payload))
            hint = bytes(a ^ b for a, b in zip(_hint(pub), payload_hint, strict=True))
            return sig.hint.signature_hint == hint and _verify(pub, payload, sig.signature.signature)

        return (
            verify_all(ST.SIGNER_KEY_TYPE_HASH_X, hash_x)
            or verify_all(ST.SIGNER_KEY_TYPE_ED25519, ed25519)
            or verify_all(ST.SIGNER_KEY_TYPE_ED25519_SIGNED_PAYLOAD, signed_payload)
        )

    def all_used(self) -> bool:
        return all(self.used)


def account_signers(acc: Account) -> list[tuple[str, int]]:
    out = [(acc.id, acc.thresholds[0])] if acc.thresholds[0] else []
    return out + [(s["key"], s["weight"]) for s in acc.signers]


# --- operations: thresholds and static checks -----------------------------------------------

LOW, MEDIUM, HIGH = 1, 2, 3


def threshold_level(op: X.Operation) -> int:
    t = op.body.type
    if t in (
        OT.ALLOW_TRUST,
        OT.SET_TRUST_LINE_FLAGS,
        OT.BUMP_SEQUENCE,
        OT.CLAIM_CLAIMABLE_BALANCE,
        OT.INFLATION,
    ):
        return LOW
    if t == OT.ACCOUNT_MERGE:
        return HIGH
    if t == OT.SET_OPTIONS:
        so = op.body.set_options_op
        if any(
            x is not None
            for x in (so.master_weight, so.low_threshold, so.med_threshold, so.high_threshold, so.signer)
        ):
            return HIGH
    return MEDIUM


def op_source(op: X.Operation, tx: InnerTx) -> tuple[str, str | None, int | None]:
    if op.source_account is None:
        return tx.source, tx.source_muxed, tx.source_muxed_id
    return muxed_parts(op.source_account)


def _static_check(op: X.Operation, source: str) -> X.OperationResult | None:
    """Each operation's doCheckValid: malformed operations never reach a ledger."""
    t, b = op.body.type, op.body
    if t not in codes.SUPPORTED_OPS:
        return codes.op_outer(X.OperationResultCode.opNOT_SUPPORTED)

    def bad(code):
        return codes.op_inner(t, code)

    if t == OT.CREATE_ACCOUNT:
        o = b.create_account_op
        if o.starting_balance.int64 < 0 or account_id_str(o.destination) == source:
            return bad(X.CreateAccountResultCode.CREATE_ACCOUNT_MALFORMED)
    elif t == OT.PAYMENT:
        o = b.payment_op
        if o.amount.int64 <= 0 or not asset_valid(o.asset):
            return bad(X.PaymentResultCode.PAYMENT_MALFORMED)
    elif t == OT.PATH_PAYMENT_STRICT_RECEIVE:
        o = b.path_payment_strict_receive_op
        if (
            o.dest_amount.int64 <= 0
            or o.send_max.int64 <= 0
            or not all(asset_valid(a) for a in [o.send_asset, o.dest_asset, *o.path])
        ):
            return bad(X.PathPaymentStrictReceiveResultCode.PATH_PAYMENT_STRICT_RECEIVE_MALFORMED)
    elif t == OT.PATH_PAYMENT_STRICT_SEND:
        o = b.path_payment_strict_send_op
        if (
            o.send_amount.int64 <= 0
            or o.dest_min.int64 <= 0
            or not all(asset_valid(a) for a in [o.send_asset, o.dest_asset, *o.path])
        ):
            return bad(X.PathPaymentStrictSendResultCode.PATH_PAYMENT_STRICT_SEND_MALFORMED)
    elif t == OT.CHANGE_TRUST:
        o = b.change_trust_op
        if o.line.type == X.AssetType.ASSET_TYPE_POOL_SHARE:
            return codes.op_outer(X.OperationResultCode.opNOT_SUPPORTED)
        if (
            o.limit.int64 < 0
            or o.line.type == X.AssetType.ASSET_TYPE_NATIVE
            or not asset_valid(o.line)
            or asset_issuer(asset_str(o.line)) == source
        ):
            return bad(X.ChangeTrustResultCode.CHANGE_TRUST_MALFORMED)
    elif t == OT.SET_OPTIONS:
        o = b.set_options_op
        C = X.SetOptionsResultCode
        sf = o.set_flags.uint32 if o.set_flags is not None else None
        cf = o.clear_flags.uint32 if o.clear_flags is not None else None
        if (sf is not None and sf & ~ALL_ACCOUNT_FLAGS) or (cf is not None and cf & ~ALL_ACCOUNT_FLAGS):
            return bad(C.SET_OPTIONS_UNKNOWN_FLAG)
        if sf is not None and cf is not None and sf & cf:
            return bad(C.SET_OPTIONS_BAD_FLAGS)
        for w in (o.master_weight, o.low_threshold, o.med_threshold, o.high_threshold):
            if w is not None and w.uint32 > 255:
                return bad(C.SET_OPTIONS_THRESHOLD_OUT_OF_RANGE)
        if o.signer is not None:
            key = o.signer.key
            is_self = key.type == X.SignerKeyType.SIGNER_KEY_TYPE_ED25519 and signer_key_str(key) == source
            empty_payload = (
                key.type == X.SignerKeyType.SIGNER_KEY_TYPE_ED25519_SIGNED_PAYLOAD
                and not key.ed25519_signed_payload.payload
            )
            if is_self or o.signer.weight.uint32 > 255 or empty_payload:
                return bad(C.SET_OPTIONS_BAD_SIGNER)
        if o.home_domain is not None and not string_valid(o.home_domain.string32):
            return bad(C.SET_OPTIONS_INVALID_HOME_DOMAIN)
    elif t == OT.MANAGE_DATA:
        name = b.manage_data_op.data_name.string64
        if len(name) < 1 or not string_valid(name):
            return bad(X.ManageDataResultCode.MANAGE_DATA_INVALID_NAME)
    elif t == OT.ACCOUNT_MERGE:
        if muxed_parts(b.destination)[0] == source:
            return bad(X.AccountMergeResultCode.ACCOUNT_MERGE_MALFORMED)
    elif t == OT.BUMP_SEQUENCE:
        if b.bump_sequence_op.bump_to.sequence_number.int64 < 0:
            return bad(X.BumpSequenceResultCode.BUMP_SEQUENCE_BAD_SEQ)
    elif t == OT.CREATE_CLAIMABLE_BALANCE:
        o = b.create_claimable_balance_op
        dests = [account_id_str(c.v0.destination) for c in o.claimants]
        if (
            not asset_valid(o.asset)
            or o.amount.int64 <= 0
            or not dests
            or len(set(dests)) != len(dests)
            or not all(predicate_valid(c.v0.predicate) for c in o.claimants)
        ):
            return bad(X.CreateClaimableBalanceResultCode.CREATE_CLAIMABLE_BALANCE_MALFORMED)
    elif t == OT.ALLOW_TRUST:
        o = b.allow_trust_op
        C = X.AllowTrustResultCode
        code = o.asset.asset_code4.asset_code4 if o.asset.asset_code4 else o.asset.asset_code12.asset_code12
        if (
            o.authorize.uint32 > (TL_AUTHORIZED | TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES)
            or o.authorize.uint32 == 3
        ):
            return bad(C.ALLOW_TRUST_MALFORMED)
        if not asset_code_valid(code, 1 if len(code) == 4 else 5):
            return bad(C.ALLOW_TRUST_MALFORMED)
        if account_id_str(o.trustor) == source:
            return bad(C.ALLOW_TRUST_SELF_NOT_ALLOWED)
    elif t == OT.SET_TRUST_LINE_FLAGS:
        o = b.set_trust_line_flags_op
        s, c = o.set_flags.uint32, o.clear_flags.uint32
        allowed = TL_AUTHORIZED | TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES | TL_CLAWBACK_ENABLED
        if (
            o.asset.type == X.AssetType.ASSET_TYPE_NATIVE
            or not asset_valid(o.asset)
            or asset_issuer(asset_str(o.asset)) != source
            or account_id_str(o.trustor) == source
            or s & c
            or (s | c) & ~allowed
            or s & TL_CLAWBACK_ENABLED
            or (s & TL_AUTHORIZED and s & TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES)
        ):
            return bad(X.SetTrustLineFlagsResultCode.SET_TRUST_LINE_FLAGS_MALFORMED)
    return None


# --- validation -----------------------------------------------------------------------------


@dataclass
class Ctx:
    """The ledger a transaction is checked against or applied in."""

    ledger_seq: int
    close_time: int


def _bounds_code(tx: InnerTx, ctx: Ctx) -> X.TransactionResultCode | None:
    tb = tx.time_bounds
    if tb is not None:
        lo, hi = tb.min_time.time_point.uint64, tb.max_time.time_point.uint64
        if lo and lo > ctx.close_time:
            return TRC.txTOO_EARLY
        if hi and hi < ctx.close_time:
            return TRC.txTOO_LATE
    v2 = tx.v2
    if v2 is not None and v2.ledger_bounds is not None:
        lb = v2.ledger_bounds
        if lb.min_ledger.uint32 > ctx.ledger_seq:
            return TRC.txTOO_EARLY
        if lb.max_ledger.uint32 and lb.max_ledger.uint32 <= ctx.ledger_seq:
            return TRC.txTOO_LATE
    return None


def _check_inner(
    view, tx: InnerTx, ctx: Ctx, charge_fee: bool, current_seq: int | None
) -> X.TransactionResult | None:
    n = len(tx.ops)
    min_fee = BASE_FEE * max(1, n)

    def fail(code, results=None):
        return codes.tx_result(min_fee, code, results)

    if tx.tx.ext.v != 0:
        return fail(TRC.txMALFORMED)  # Soroban transactions are not supported here
    if n == 0:
        return fail(TRC.txMISSING_OPERATION)
    code = _bounds_code(tx, ctx)
    if code is not None:
        return fail(code)
    if charge_fee and tx.fee < min_fee:
        return fail(TRC.txINSUFFICIENT_FEE)
    src = view.get_account(tx.source)
    if src is None:
        return fail(TRC.txNO_ACCOUNT)

    current = src.seq if current_seq is None else current_seq
    v2 = tx.v2
    if tx.seq == ctx.ledger_seq << 32:
        bad_seq = True
    elif v2 is not None and v2.min_seq_num is not None:
        bad_seq = current < v2.min_seq_num.sequence_number.int64 or current >= tx.seq
    else:
        bad_seq = current == INT64_MAX or current + 1 != tx.seq
    if bad_seq:
        return fail(TRC.txBAD_SEQ)
    if v2 is not None:
        age = v2.min_seq_age.duration.uint64
        gap = v2.min_seq_ledger_gap.uint32
        if (age and ctx.close_time - src.seq_time < age) or (gap and ctx.ledger_seq - src.seq_ledger < gap):
            return fail(TRC.txBAD_MIN_SEQ_AGE_OR_GAP)

    checker = SignatureChecker(tx.hash, tx.signatures)
    if not checker.check(account_signers(src), src.thresholds[1]):
        return fail(TRC.txBAD_AUTH)
    if v2 is not None and v2.extra_signers:
        extra = [(signer_key_str(k), 1) for k in v2.extra_signers]
        if not checker.check(extra, len(extra)):
            return fail(TRC.txBAD_AUTH)
    if charge_fee and src.available_balance() < tx.fee:
        return fail(TRC.txINSUFFICIENT_BALANCE)

    results = [
        codes.op_success(op.body.type) if op.body.type in codes.SUPPORTED_OPS else None for op in tx.ops
    ]
    for i, op in enumerate(tx.ops):
        bad = _check_op(view, tx, op, checker)
        if bad is not None:
            results[i] = bad
            results = [
                r if r is not None else codes.op_outer(X.OperationResultCode.opNOT_SUPPORTED) for r in results
            ]
            return fail(TRC.txFAILED, results)
    if not checker.all_used():
        return fail(TRC.txBAD_AUTH_EXTRA)
    return None


def _check_op(view, tx: InnerTx, op: X.Operation, checker: SignatureChecker) -> X.OperationResult | None:
    """OperationFrame::checkValid: the source's signatures for this op's threshold, then shape."""
    source = op_source(op, tx)[0]
    acc = view.get_account(source)
    if acc is not None:
        level = threshold_level(op)
        if not checker.check(account_signers(acc), acc.thresholds[level]):
            return codes.op_outer(X.OperationResultCode.opBAD_AUTH)
    elif op.source_account is None:
        return codes.op_outer(X.OperationResultCode.opNO_ACCOUNT)
    elif not checker.check([(source, 1)], 0):
        return codes.op_outer(X.OperationResultCode.opBAD_AUTH)
    return _static_check(op, source)


def check_valid(view, frame: Frame, ctx: Ctx, current_seq: int | None = None) -> X.TransactionResult | None:
    """None if the transaction may go into a ledger, else the failed TransactionResult."""
    if not frame.fee_bump:
        return _check_inner(view, frame.inner, ctx, True, current_seq)
    inner = frame.inner
    n = len(inner.ops)
    min_fee = frame.min_fee()

    def fail(code):
        return codes.tx_result(min_fee, code)

    # the fee bump's bid per operation must reach both the minimum and the inner transaction's
    if frame.max_fee < min_fee or frame.max_fee * (BASE_FEE * max(1, n)) < inner.fee * min_fee:
        return fail(TRC.txINSUFFICIENT_FEE)
    fee_acc = view.get_account(frame.fee_source)
    if fee_acc is None:
        return fail(TRC.txNO_ACCOUNT)
    checker = SignatureChecker(frame.hash, frame.signatures)
    if not checker.check(account_signers(fee_acc), fee_acc.thresholds[1]):
        return fail(TRC.txBAD_AUTH)
    if fee_acc.available_balance() < frame.max_fee:
        return fail(TRC.txINSUFFICIENT_BALANCE)
    if not checker.all_used():
        return fail(TRC.txBAD_AUTH_EXTRA)
    inner_fail = _check_inner(view, inner, ctx, False, current_seq)
    if inner_fail is not None:
        return codes.fee_bump_result(min_fee, inner.hash, inner_fail)
    return None


# --- application ----------------------------------------------------------------------------


@dataclass
class Applied:
    result: X.TransactionResult
    successful: bool
    fee_charged: int
    details: list[dict] = field(default_factory=list)  # per operation, for the JSON records


def apply_tx(state: State, frame: Frame, ctx: Ctx) -> Applied:
    """Charge the fee, consume the sequence number, run the operations (all or nothing)."""
    inner = frame.inner
    fee_view = View(state, ctx.ledger_seq)
    fee_acc = fee_view.load_account(frame.fee_source)
    charged = min(frame.min_fee(), fee_acc.balance)
    fee_acc.balance -= charged
    src = fee_view.load_account(inner.source)
    src.seq = inner.seq
    src.seq_ledger, src.seq_time = ctx.ledger_seq, ctx.close_time
    fee_view.commit()

    tx_view = View(state, ctx.ledger_seq)
    results, details, ok = [], [], True
    for i, op in enumerate(inner.ops):
        op_view = View(tx_view, ctx.ledger_seq)
        det: dict = {}
        res = _apply_op(op_view, inner, op, i, ctx, det)
        if codes.op_ok(res):
            op_view.commit()
        else:
            ok = False
        results.append(res)
        details.append(det)
    if ok:
        tx_view.commit()
    _remove_one_time_signers(state, inner, ctx)

    result = codes.tx_result(charged, TRC.txSUCCESS if ok else TRC.txFAILED, results)
    if frame.fee_bump:
        result = codes.fee_bump_result(charged, inner.hash, result)
    return Applied(result, ok, charged, details)


def _remove_one_time_signers(state: State, tx: InnerTx, ctx: Ctx) -> None:
    # A pre-authorized transaction signer is consumed by the transaction it authorizes.
    key = StrKey.encode_pre_auth_tx(tx.hash)
    view = View(state, ctx.ledger_seq)
    for account_id in {tx.source, *(op_source(op, tx)[0] for op in tx.ops)}:
        acc = view.get_account(account_id)
        if acc is not None and any(s["key"] == key for s in acc.signers):
            acc = view.load_account(account_id)
            acc.signers = [s for s in acc.signers if s["key"] != key]
    view.commit()


def _apply_op(view: View, tx: InnerTx, op: X.Operation, index: int, ctx: Ctx, det: dict) -> X.OperationResult:
    source = op_source(op, tx)[0]
    if view.get_account(source) is None:  # e.g. merged by an earlier operation
        return codes.op_outer(X.OperationResultCode.opNO_ACCOUNT)
    bad = _static_check(op, source)
    if bad is not None:
        return bad
    handler = _HANDLERS[op.body.type]
    return handler(_OpCtx(view, tx, op, index, source, ctx, det))


@dataclass
class _OpCtx:
    view: View
    tx: InnerTx
    op: X.Operation
    index: int
    source: str
    ctx: Ctx
    det: dict

    def reserve_ok(self, acc: Account, count: int = 1) -> bool:
        # createEntryWithPossibleSponsorship: the new entries' reserve must be available
        return acc.available_balance() >= count * BASE_RESERVE


def _create_account(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.create_account_op
    C = X.CreateAccountResultCode
    dest = account_id_str(o.destination)
    amount = o.starting_balance.int64

    def r(code):
        return codes.op_inner(OT.CREATE_ACCOUNT, code)

    if c.view.get_account(dest) is not None:
        return r(C.CREATE_ACCOUNT_ALREADY_EXIST)
    if amount < 2 * BASE_RESERVE:
        return r(C.CREATE_ACCOUNT_LOW_RESERVE)
    src = c.view.load_account(c.source)
    if src.available_balance() < amount:
        return r(C.CREATE_ACCOUNT_UNDERFUNDED)
    src.balance -= amount
    c.view.create_account(
        Account(id=dest, balance=amount, seq=c.ctx.ledger_seq << 32, last_modified_ledger=c.ctx.ledger_seq)
    )
    return r(C.CREATE_ACCOUNT_SUCCESS)


# Path payments (and Payment, which core runs as a strict-receive path payment). There is no
# order book here, so any hop between two different assets fails with TOO_FEW_OFFERS.


def _debit(c: _OpCtx, account_id: str, asset: str, amount: int) -> str | None:
    acc = c.view.load_account(account_id)
    if asset == "native":
        if amount > acc.available_balance():
            return "UNDERFUNDED"
        acc.balance -= amount
        return None
    if asset_issuer(asset) == account_id:
        return None  # the issuer pays its own asset out of thin air
    line = acc.trustlines.get(asset)
    if line is None:
        return "SRC_NO_TRUST"
    if not line.authorized:
        return "SRC_NOT_AUTHORIZED"
    if line.balance < amount:
        return "UNDERFUNDED"
    line.balance -= amount
    line.last_modified_ledger = c.ctx.ledger_seq
    return None


def _credit(c: _OpCtx, account_id: str, asset: str, amount: int) -> str | None:
    if asset != "native" and asset_issuer(asset) == account_id:
        return None  # back to the issuer: burnt
    acc = c.view.load_account(account_id)
    if asset == "native":
        if acc.balance > INT64_MAX - amount:
            return "LINE_FULL"
        acc.balance += amount
        return None
    line = acc.trustlines.get(asset)
    if line is None:
        return "NO_TRUST"
    if not line.authorized:
        return "NOT_AUTHORIZED"
    if line.balance + amount > line.limit:
        return "LINE_FULL"
    line.balance += amount
    line.last_modified_ledger = c.ctx.ledger_seq
    return None


def _bypass_issuer_check(send: str, dest_asset: str, path: list[str], dest: str) -> bool:
    return dest_asset != "native" and not path and send == dest_asset and asset_issuer(dest_asset) == dest


def _strict_receive(
    c: _OpCtx, send: str, send_max: int, dest: str, dest_asset: str, amount: int, path: list[str]
):
    """Returns (failure suffix or None, amount sent)."""
    if not _bypass_issuer_check(send, dest_asset, path, dest) and c.view.get_account(dest) is None:
        return "NO_DESTINATION", 0
    err = _credit(c, dest, dest_asset, amount)
    if err:
        return err, 0
    recv = dest_asset
    for a in [*reversed(path), send]:
        if a != recv:
            return "TOO_FEW_OFFERS", 0
    if amount > send_max:
        return "OVER_SENDMAX", 0
    err = _debit(c, c.source, send, amount)
    return err, amount


def _strict_send(
    c: _OpCtx, send: str, amount: int, dest: str, dest_asset: str, dest_min: int, path: list[str]
):
    """Returns (failure suffix or None, amount received)."""
    if not _bypass_issuer_check(send, dest_asset, path, dest) and c.view.get_account(dest) is None:
        return "NO_DESTINATION", 0
    err = _debit(c, c.source, send, amount)
    if err:
        return err, 0
    for a in [*path, dest_asset]:
        if a != send:
            return "TOO_FEW_OFFERS", 0
    if amount < dest_min:
        return "UNDER_DESTMIN", 0
    err = _credit(c, dest, dest_asset, amount)
    return err, amount


def _payment(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.payment_op
    dest = muxed_parts(o.destination)[0]
    asset = asset_str(o.asset)
    C = X.PaymentResultCode
    if dest == c.source and asset == "native":
        return codes.op_inner(OT.PAYMENT, C.PAYMENT_SUCCESS)
    err, _ = _strict_receive(c, asset, o.amount.int64, dest, asset, o.amount.int64, [])
    code = C.PAYMENT_SUCCESS if err is None else getattr(C, "PAYMENT_" + err)
    return codes.op_inner(OT.PAYMENT, code)


def _simple_payment(dest: str, asset: X.Asset, amount: int) -> X.SimplePaymentResult:
    return X.SimplePaymentResult(account_id_xdr(dest), asset, X.Int64(amount))


def _path_strict_receive(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.path_payment_strict_receive_op
    C = X.PathPaymentStrictReceiveResultCode
    dest = muxed_parts(o.destination)[0]
    amount = o.dest_amount.int64
    err, sent = _strict_receive(
        c,
        asset_str(o.send_asset),
        o.send_max.int64,
        dest,
        asset_str(o.dest_asset),
        amount,
        [asset_str(a) for a in o.path],
    )
    if err is not None:
        return codes.op_inner(
            OT.PATH_PAYMENT_STRICT_RECEIVE, getattr(C, "PATH_PAYMENT_STRICT_RECEIVE_" + err)
        )
    c.det.update(source_amount=sent, amount=amount)
    success = X.PathPaymentStrictReceiveResultSuccess([], _simple_payment(dest, o.dest_asset, amount))
    return codes.op_inner(
        OT.PATH_PAYMENT_STRICT_RECEIVE, C.PATH_PAYMENT_STRICT_RECEIVE_SUCCESS, success=success
    )


def _path_strict_send(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.path_payment_strict_send_op
    C = X.PathPaymentStrictSendResultCode
    dest = muxed_parts(o.destination)[0]
    err, received = _strict_send(
        c,
        asset_str(o.send_asset),
        o.send_amount.int64,
        dest,
        asset_str(o.dest_asset),
        o.dest_min.int64,
        [asset_str(a) for a in o.path],
    )
    if err is not None:
        return codes.op_inner(OT.PATH_PAYMENT_STRICT_SEND, getattr(C, "PATH_PAYMENT_STRICT_SEND_" + err))
    c.det.update(source_amount=o.send_amount.int64, amount=received)
    success = X.PathPaymentStrictSendResultSuccess([], _simple_payment(dest, o.dest_asset, received))
    return codes.op_inner(OT.PATH_PAYMENT_STRICT_SEND, C.PATH_PAYMENT_STRICT_SEND_SUCCESS, success=success)


def _change_trust(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.change_trust_op
    C = X.ChangeTrustResultCode
    asset = asset_str(o.line)
    limit = o.limit.int64

    def r(code):
        return codes.op_inner(OT.CHANGE_TRUST, code)

    acc = c.view.load_account(c.source)
    line = acc.trustlines.get(asset)
    if line is not None:
        if limit < line.balance:
            return r(C.CHANGE_TRUST_INVALID_LIMIT)
        if limit == 0:
            del acc.trustlines[asset]
        else:
            if c.view.get_account(asset_issuer(asset)) is None:
                return r(C.CHANGE_TRUST_NO_ISSUER)
            line.limit = limit
            line.last_modified_ledger = c.ctx.ledger_seq
        return r(C.CHANGE_TRUST_SUCCESS)
    if limit == 0:
        return r(C.CHANGE_TRUST_INVALID_LIMIT)
    issuer = c.view.get_account(asset_issuer(asset))
    if issuer is None:
        return r(C.CHANGE_TRUST_NO_ISSUER)
    flags = 0 if issuer.flags & AUTH_REQUIRED else TL_AUTHORIZED
    if issuer.flags & AUTH_CLAWBACK_ENABLED:
        flags |= TL_CLAWBACK_ENABLED
    if acc.num_sub_entries >= MAX_SUBENTRIES:
        return codes.op_outer(X.OperationResultCode.opTOO_MANY_SUBENTRIES)
    if not c.reserve_ok(acc):
        return r(C.CHANGE_TRUST_LOW_RESERVE)
    acc.trustlines[asset] = Trustline(0, limit, flags, c.ctx.ledger_seq)
    return r(C.CHANGE_TRUST_SUCCESS)


def _set_options(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.set_options_op
    C = X.SetOptionsResultCode

    def r(code):
        return codes.op_inner(OT.SET_OPTIONS, code)

    acc = c.view.load_account(c.source)
    if o.inflation_dest is not None:
        dest = account_id_str(o.inflation_dest)
        if dest != c.source and c.view.get_account(dest) is None:
            return r(C.SET_OPTIONS_INVALID_INFLATION)
        acc.inflation_dest = dest
    for flags, setting in ((o.clear_flags, False), (o.set_flags, True)):
        if flags is None:
            continue
        f = flags.uint32
        if f & ALL_ACCOUNT_FLAGS and acc.flags & AUTH_IMMUTABLE:
            return r(C.SET_OPTIONS_CANT_CHANGE)
        acc.flags = acc.flags | f if setting else acc.flags & ~f
    if (o.set_flags is not None or o.clear_flags is not None) and (
        acc.flags & AUTH_CLAWBACK_ENABLED and not acc.flags & AUTH_REVOCABLE
    ):
        return r(C.SET_OPTIONS_AUTH_REVOCABLE_REQUIRED)
    if o.home_domain is not None:
        acc.home_domain = o.home_domain.string32.decode("ascii")
    for i, w in enumerate((o.master_weight, o.low_threshold, o.med_threshold, o.high_threshold)):
        if w is not None:
            acc.thresholds[i] = w.uint32 & 0xFF
    if o.signer is not None:
        key = signer_key_str(o.signer.key)
        weight = o.signer.weight.uint32
        existing = next((s for s in acc.signers if s["key"] == key), None)
        if weight == 0:
            acc.signers = [s for s in acc.signers if s["key"] != key]
        elif existing is not None:
            existing["weight"] = weight
        else:
            if len(acc.signers) >= MAX_SIGNERS:
                return r(C.SET_OPTIONS_TOO_MANY_SIGNERS)
            if acc.num_sub_entries >= MAX_SUBENTRIES:
                return codes.op_outer(X.OperationResultCode.opTOO_MANY_SUBENTRIES)
            if not c.reserve_ok(acc):
                return r(C.SET_OPTIONS_LOW_RESERVE)
            acc.signers.append({"key": key, "weight": weight})
            # core keeps signers ordered by SignerKey; strkey order is the same order
            acc.signers.sort(key=lambda s: s["key"])
    return r(C.SET_OPTIONS_SUCCESS)


def _manage_data(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.manage_data_op
    C = X.ManageDataResultCode
    name = o.data_name.string64.decode("ascii")
    acc = c.view.load_account(c.source)

    def r(code):
        return codes.op_inner(OT.MANAGE_DATA, code)

    if o.data_value is None:
        if name not in acc.data:
            return r(C.MANAGE_DATA_NAME_NOT_FOUND)
        del acc.data[name]
        return r(C.MANAGE_DATA_SUCCESS)
    if name not in acc.data:
        if acc.num_sub_entries >= MAX_SUBENTRIES:
            return codes.op_outer(X.OperationResultCode.opTOO_MANY_SUBENTRIES)
        if not c.reserve_ok(acc):
            return r(C.MANAGE_DATA_LOW_RESERVE)
    acc.data[name] = b64(o.data_value.data_value)
    return r(C.MANAGE_DATA_SUCCESS)


def _account_merge(c: _OpCtx) -> X.OperationResult:
    C = X.AccountMergeResultCode
    dest = muxed_parts(c.op.body.destination)[0]

    def r(code, **kw):
        return codes.op_inner(OT.ACCOUNT_MERGE, code, **kw)

    if c.view.get_account(dest) is None:
        return r(C.ACCOUNT_MERGE_NO_ACCOUNT)
    src = c.view.get_account(c.source)
    if src.flags & AUTH_IMMUTABLE:
        return r(C.ACCOUNT_MERGE_IMMUTABLE_SET)
    if src.num_sub_entries != len(src.signers):
        return r(C.ACCOUNT_MERGE_HAS_SUB_ENTRIES)
    if src.seq >= c.ctx.ledger_seq << 32:
        return r(C.ACCOUNT_MERGE_SEQNUM_TOO_FAR)
    if src.num_sponsoring > 0:
        return r(C.ACCOUNT_MERGE_IS_SPONSOR)
    amount = src.balance
    target = c.view.load_account(dest)
    if target.balance > INT64_MAX - amount:
        return r(C.ACCOUNT_MERGE_DEST_FULL)
    target.balance += amount
    c.view.delete_account(c.source)
    c.det["amount"] = amount
    return r(C.ACCOUNT_MERGE_SUCCESS, source_account_balance=X.Int64(amount))


def _bump_sequence(c: _OpCtx) -> X.OperationResult:
    to = c.op.body.bump_sequence_op.bump_to.sequence_number.int64
    acc = c.view.load_account(c.source)
    if to > acc.seq:
        acc.seq = to
        acc.seq_ledger, acc.seq_time = c.ctx.ledger_seq, c.ctx.close_time
    return codes.op_inner(OT.BUMP_SEQUENCE, X.BumpSequenceResultCode.BUMP_SEQUENCE_SUCCESS)


def _create_claimable_balance(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.create_claimable_balance_op
    C = X.CreateClaimableBalanceResultCode
    asset = asset_str(o.asset)
    amount = o.amount.int64

    def r(code, **kw):
        return codes.op_inner(OT.CREATE_CLAIMABLE_BALANCE, code, **kw)

    acc = c.view.load_account(c.source)
    clawback = False
    if asset == "native":
        if acc.available_balance() < amount:
            return r(C.CREATE_CLAIMABLE_BALANCE_UNDERFUNDED)
        acc.balance -= amount
    elif asset_issuer(asset) == c.source:
        clawback = bool(acc.flags & AUTH_CLAWBACK_ENABLED)
    else:
        line = acc.trustlines.get(asset)
        if line is None:
            return r(C.CREATE_CLAIMABLE_BALANCE_NO_TRUST)
        if not line.authorized:
            return r(C.CREATE_CLAIMABLE_BALANCE_NOT_AUTHORIZED)
        if line.balance < amount:
            return r(C.CREATE_CLAIMABLE_BALANCE_UNDERFUNDED)
        line.balance -= amount
        line.last_modified_ledger = c.ctx.ledger_seq
        clawback = bool(line.flags & TL_CLAWBACK_ENABLED)
    # the creator sponsors one base reserve per claimant until the balance is claimed
    n = len(o.claimants)
    if not c.reserve_ok(acc, n):
        return r(C.CREATE_CLAIMABLE_BALANCE_LOW_RESERVE)
    acc.num_sponsoring += n
    bid = operation_balance_id(c.tx.source, c.tx.seq, c.index)
    claimants = [
        {
            "destination": account_id_str(cl.v0.destination),
            "predicate": predicate_absolute(cl.v0.predicate, c.ctx.close_time).to_xdr(),
        }
        for cl in o.claimants
    ]
    c.view.create_balance(
        ClaimableBalance(bid, asset, amount, claimants, c.source, c.ctx.ledger_seq, clawback)
    )
    c.det["balance_id"] = bid
    return r(
        C.CREATE_CLAIMABLE_BALANCE_SUCCESS, balance_id=X.ClaimableBalanceID.from_xdr_bytes(bytes.fromhex(bid))
    )


def _claim_claimable_balance(c: _OpCtx) -> X.OperationResult:
    C = X.ClaimClaimableBalanceResultCode
    bid = balance_id_hex(c.op.body.claim_claimable_balance_op.balance_id)

    def r(code):
        return codes.op_inner(OT.CLAIM_CLAIMABLE_BALANCE, code)

    cb = c.view.get_balance(bid)
    if cb is None:
        return r(C.CLAIM_CLAIMABLE_BALANCE_DOES_NOT_EXIST)
    claimant = next((cl for cl in cb.claimants if cl["destination"] == c.source), None)
    if claimant is None or not predicate_holds(
        X.ClaimPredicate.from_xdr(claimant["predicate"]), c.ctx.close_time
    ):
        return r(C.CLAIM_CLAIMABLE_BALANCE_CANNOT_CLAIM)
    err = _credit(c, c.source, cb.asset, cb.amount)
    if err is not None:
        return r(getattr(C, "CLAIM_CLAIMABLE_BALANCE_" + err))
    sponsor = c.view.load_account(cb.sponsor)
    if sponsor is not None:
        sponsor.num_sponsoring -= len(cb.claimants)
    c.view.delete_balance(bid)
    return r(C.CLAIM_CLAIMABLE_BALANCE_SUCCESS)


def _set_line_flags(c: _OpCtx, trustor: str, asset: str, clear: int, set_: int, prefix: str, op_type):
    C = X.SetTrustLineFlagsResultCode if op_type == OT.SET_TRUST_LINE_FLAGS else X.AllowTrustResultCode
    issuer = c.view.get_account(c.source)
    acc = c.view.get_account(trustor)
    line = acc.trustlines.get(asset) if acc is not None else None
    if line is None:
        return codes.op_inner(op_type, getattr(C, prefix + "NO_TRUST_LINE"))
    new = (line.flags & ~clear) | set_
    # like core's isAuthRevocableValid: losing AUTHORIZED, or losing every auth flag, is a revocation
    any_auth = TL_AUTHORIZED | TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES
    revoking = (line.flags & TL_AUTHORIZED and not new & TL_AUTHORIZED) or (
        line.flags & any_auth and not new & any_auth
    )
    if revoking and not issuer.flags & AUTH_REVOCABLE:
        return codes.op_inner(op_type, getattr(C, prefix + "CANT_REVOKE"))
    if (
        op_type == OT.SET_TRUST_LINE_FLAGS
        and new & TL_AUTHORIZED
        and new & TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES
    ):
        return codes.op_inner(op_type, C.SET_TRUST_LINE_FLAGS_INVALID_STATE)
    line = c.view.load_account(trustor).trustlines[asset]
    line.flags = new
    line.last_modified_ledger = c.ctx.ledger_seq
    return codes.op_inner(op_type, getattr(C, prefix + "SUCCESS"))


def _set_trust_line_flags(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.set_trust_line_flags_op
    return _set_line_flags(
        c,
        account_id_str(o.trustor),
        asset_str(o.asset),
        o.clear_flags.uint32,
        o.set_flags.uint32,
        "SET_TRUST_LINE_FLAGS_",
        OT.SET_TRUST_LINE_FLAGS,
    )


def _allow_trust(c: _OpCtx) -> X.OperationResult:
    o = c.op.body.allow_trust_op
    raw = o.asset.asset_code4.asset_code4 if o.asset.asset_code4 else o.asset.asset_code12.asset_code12
    code = raw.rstrip(b"\0").decode("ascii")
    asset = f"{code}:{c.source}"
    both = TL_AUTHORIZED | TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES
    return _set_line_flags(
        c, account_id_str(o.trustor), asset, both, o.authorize.uint32, "ALLOW_TRUST_", OT.ALLOW_TRUST
    )


_HANDLERS = {
    OT.CREATE_ACCOUNT: _create_account,
    OT.PAYMENT: _payment,
    OT.PATH_PAYMENT_STRICT_RECEIVE: _path_strict_receive,
    OT.PATH_PAYMENT_STRICT_SEND: _path_strict_send,
    OT.CHANGE_TRUST: _change_trust,
    OT.SET_OPTIONS: _set_options,
    OT.MANAGE_DATA: _manage_data,
    OT.ACCOUNT_MERGE: _account_merge,
    OT.BUMP_SEQUENCE: _bump_sequence,
    OT.CREATE_CLAIMABLE_BALANCE: _create_claimable_balance,
    OT.CLAIM_CLAIMABLE_BALANCE: _claim_claimable_balance,
    OT.SET_TRUST_LINE_FLAGS: _set_trust_line_flags,
    OT.ALLOW_TRUST: _allow_trust,
}
