"""The ledger: state, the submission queue, timed ledger closes, history and persistence.

Submissions are validated when they arrive (core's checkValid) and queued; a timer closes a ledger
every `close_interval` seconds, applying the queue in arrival order. A submitter waits for the
ledger holding its transaction, as with Horizon's synchronous POST /transactions. All state is
guarded by one lock; the HTTP threads read under it.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from stellar_sdk import Account as SdkAccount
from stellar_sdk import Keypair, StrKey, TransactionBuilder
from stellar_sdk import xdr as X

from . import render
from .apply import Ctx, Frame, Malformed, apply_tx, check_valid, op_source, parse_envelope
from .state import BASE_FEE, BASE_RESERVE, Account, ClaimableBalance, State
from .store import Store
from .xdrutil import STROOPS_PER_XLM, b64, network_id, sha256

STANDALONE_PASSPHRASE = "Standalone Network ; February 2017"
TOTAL_COINS = 100_000_000_000 * STROOPS_PER_XLM  # what stellar-core's genesis root account holds
FRIENDBOT_STARTING_BALANCE = "10000"
SUBMIT_TIMEOUT = 30.0  # seconds Horizon waits for a submitted transaction before answering 504
SUBMIT_HOLD = 20.0  # seconds `submit_hold_next` holds a landed transaction's answer (a slow network)
FEE_STATS_LEDGERS = 5
MAX_CURSOR = 2**63 - 1

# An outcome is (HTTP status, JSON body, whether the body is a transaction record needing links).
Outcome = tuple[int, dict, bool]


@dataclass
class Ticket:
    """A queued transaction and the outcome its submitters wait for."""

    frame: Frame
    event: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None


class History:
    """Closed transactions and operations in ledger order, with per-account indexes."""

    def __init__(self):
        self.txs: list[dict] = []
        self.tx_toids: list[int] = []
        self.ops: list[dict] = []
        self.op_toids: list[int] = []
        self.tx_by_hash: dict[str, int] = {}
        self.inner_hashes: dict[str, int] = {}
        self.account_txs: dict[str, list[int]] = defaultdict(list)
        self.account_ops: dict[str, list[int]] = defaultdict(list)
        self.tx_ops: dict[str, list[int]] = defaultdict(list)

    def add_tx(self, entry: dict) -> None:
        i = len(self.txs)
        self.txs.append(entry)
        self.tx_toids.append(entry["toid"])
        self.tx_by_hash[entry["record"]["hash"]] = i
        if entry.get("inner_hash"):
            self.inner_hashes[entry["inner_hash"]] = i
        for a in entry["participants"]:
            self.account_txs[a].append(i)

    def add_op(self, entry: dict) -> None:
        i = len(self.ops)
        self.ops.append(entry)
        self.op_toids.append(entry["toid"])
        self.tx_ops[entry["tx_hash"]].append(i)
        for a in entry["participants"]:
            self.account_ops[a].append(i)


def paginate(entries, toids, idxs, cursor, desc, limit, keep, lo=0, hi=MAX_CURSOR) -> list[dict]:
    """Entries strictly after (asc) or before (desc) `cursor` and within [lo, hi), filtered by
    `keep`, at most `limit`. `idxs` restricts the walk to those entries (an account's, say)."""
    if idxs is not None:
        entries = [entries[i] for i in idxs]
        toids = [e["toid"] for e in entries]
    out = []
    if desc:
        i = bisect.bisect_left(toids, min(cursor, hi)) - 1
        while i >= 0 and len(out) < limit and toids[i] >= lo:
            if keep(entries[i]):
                out.append(entries[i])
            i -= 1
    else:
        i = bisect.bisect_right(toids, max(cursor, lo - 1))
        while i < len(entries) and len(out) < limit and toids[i] < hi:
            if keep(entries[i]):
                out.append(entries[i])
            i += 1
    return out


class Ledger:
    def __init__(
        self,
        state_dir: str,
        network_passphrase: str = STANDALONE_PASSPHRASE,
        close_interval: float = 5.0,
        fault_file: str | None = None,
    ):
        self.state_dir = state_dir
        self.passphrase = network_passphrase
        self.net_id = network_id(network_passphrase)
        self.close_interval = close_interval
        self.fault_file = fault_file
        # stellar-core's root account: its seed is the SHA-256 of the network passphrase
        self.root = Keypair.from_raw_ed25519_seed(sha256(network_passphrase.encode()))
        self.lock = threading.RLock()
        self.state = State()
        self.history = History()
        self.header: dict = {}
        self.close_times: dict[int, int] = {}
        self.pending: list[Ticket] = []
        self.pending_by_hash: dict[str, Ticket] = {}
        self.faults = {"submit_timeout_next": 0, "submit_timeout_early_next": 0, "submit_hold_next": 0}
        self.store: Store | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = threading.Condition()  # notified after every ledger close (for streams)

    # --- lifecycle --------------------------------------------------------------------------

    def open(self) -> None:
        self.store = Store(self.state_dir)
        stored = self.store.meta("network_passphrase")
        if stored is None:
            self._genesis()
        elif stored != self.passphrase:
            raise SystemExit(
                f"state dir {self.state_dir} holds a ledger of network {stored!r}, not {self.passphrase!r}"
            )
        else:
            self._load()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ledger-closer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self.lock:
            for t in self.pending:  # nobody will close their ledger now
                t.outcome = (504, render.timeout(), False)
                t.event.set()
            if self.store is not None:
                self.store.close()
                self.store = None

    def _run(self) -> None:
        next_close = time.monotonic() + self.close_interval
        while not self._stop.wait(max(0.0, next_close - time.monotonic())):
            try:
                self.close_ledger()
            except Exception as e:  # keep closing ledgers; say what went wrong
                print(f"ledger: closing a ledger failed: {e!r}", file=sys.stderr, flush=True)
            next_close = max(next_close + self.close_interval, time.monotonic())

    def _genesis(self) -> None:
        root = Account(id=self.root.public_key, balance=TOTAL_COINS, seq=0, last_modified_ledger=1)
        self.state.accounts[root.id] = root
        self.state.dirty_accounts.add(root.id)
        header = self._header(1, 0, "", 0, [], [], 0, 0, 0)
        self._persist(header, [], [])
        self.header = header
        self.close_times[1] = 0

    def _load(self) -> None:
        for d in self.store.rows("accounts"):
            acc = Account.from_json(d)
            self.state.accounts[acc.id] = acc
        for d in self.store.rows("claimable_balances"):
            cb = ClaimableBalance.from_json(d)
            self.state.balances[cb.id] = cb
        for e in self.store.rows("transactions"):
            self.history.add_tx(e)
        for e in self.store.rows("operations"):
            self.history.add_op(e)
        self.header = self.store.meta("header")
        self.close_times = self.store.close_times()

    # --- ledger close -----------------------------------------------------------------------

    def _header(self, seq, close_time, prev_hash, fee_pool, tx_hashes, results, ok, failed, ops) -> dict:
        """The ledger header, as XDR (built with the SDK) so the ledger hash is a real one."""
        zero = X.Hash(b"\0" * 32)
        hdr = X.LedgerHeader(
            ledger_version=X.Uint32(render.PROTOCOL_VERSION),
            previous_ledger_hash=X.Hash(bytes.fromhex(prev_hash)) if prev_hash else zero,
            scp_value=X.StellarValue(
                tx_set_hash=X.Hash(sha256(b"".join(tx_hashes))),
                close_time=X.TimePoint(X.Uint64(close_time)),
                upgrades=[],
                ext=X.StellarValueExt(X.StellarValueType.STELLAR_VALUE_BASIC),
            ),
            tx_set_result_hash=X.Hash(sha256(b"".join(results))),
            bucket_list_hash=zero,
            ledger_seq=X.Uint32(seq),
            total_coins=X.Int64(TOTAL_COINS),
            fee_pool=X.Int64(fee_pool),
            inflation_seq=X.Uint32(0),
            id_pool=X.Uint64(0),
            base_fee=X.Uint32(BASE_FEE),
            base_reserve=X.Uint32(BASE_RESERVE),
            max_tx_set_size=X.Uint32(render.MAX_TX_SET_SIZE),
            skip_list=[zero, zero, zero, zero],
            ext=X.LedgerHeaderExt(0),
        )
        raw = hdr.to_xdr_bytes()
        return {
            "seq": seq,
            "close_time": close_time,
            "hash": sha256(raw).hex(),
            "prev_hash": prev_hash,
            "total_coins": TOTAL_COINS,
            "fee_pool": fee_pool,
            "successful": ok,
            "failed": failed,
            "operations": ops,
            "tx_set_operations": ops,
            "header_xdr": b64(raw),
        }

    def close_ledger(self) -> None:
        with self.lock:
            prev = self.header
            seq = prev["seq"] + 1
            # close times never go backwards (several ledgers may close within one second)
            close_time = max(prev["close_time"], int(time.time()))
            ctx = Ctx(seq, close_time)
            tickets, self.pending, self.pending_by_hash = self.pending, [], {}
            fee_pool = prev["fee_pool"]
            tx_entries: list[dict] = []
            op_entries: list[dict] = []
            tx_hashes, results = [], []
            ok = failed = n_ops = 0
            for t in tickets:
                frame = t.frame
                bad = check_valid(self.state, frame, ctx)
                if bad is not None:  # became invalid while queued: left out of the ledger
                    t.outcome = (400, render.transaction_failed(frame.envelope_xdr, bad), False)
                    continue
                idx = len(tx_entries) + 1
                applied = apply_tx(self.state, frame, ctx)
                fee_pool += applied.fee_charged
                rec = render.tx_record(frame, applied, seq, close_time, idx)
                inner = frame.inner
                participants = {frame.fee_source, inner.source}
                for i, op in enumerate(inner.ops):
                    parts = render.op_participants(op, op_source(op, inner)[0])
                    participants |= parts
                    op_entries.append(
                        {
                            "toid": render.toid(seq, idx, i + 1),
                            "record": render.op_record(frame, i, applied, seq, close_time, idx),
                            "participants": sorted(parts),
                            "tx_hash": frame.hash_hex,
                        }
                    )
                tx_entries.append(
                    {
                        "toid": render.toid(seq, idx),
                        "record": rec,
                        "participants": sorted(participants),
                        "inner_hash": inner.hash.hex() if frame.fee_bump else None,
                    }
                )
                tx_hashes.append(frame.hash)
                results.append(applied.result.to_xdr_bytes())
                n_ops += len(inner.ops)
                if applied.successful:
                    ok += 1
                    t.outcome = (200, rec, True)
                else:
                    failed += 1
                    t.outcome = (400, render.transaction_failed(frame.envelope_xdr, applied.result), False)

            header = self._header(
                seq, close_time, prev["hash"], fee_pool, tx_hashes, results, ok, failed, n_ops
            )
            try:
                self._persist(header, tx_entries, op_entries)
            except Exception as e:
                print(f"ledger: saving ledger {seq} failed: {e!r}", file=sys.stderr, flush=True)
            self.header = header
            self.close_times[seq] = close_time
            for e in tx_entries:
                self.history.add_tx(e)
            for e in op_entries:
                self.history.add_op(e)
            for t in tickets:
                t.event.set()
        with self._closed:
            self._closed.notify_all()

    def wait_for_close(self, timeout: float) -> None:
        with self._closed:
            self._closed.wait(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _persist(self, header: dict, tx_entries: list[dict], op_entries: list[dict]) -> None:
        st = self.state
        accounts = {k: (st.accounts[k].to_json() if k in st.accounts else None) for k in st.dirty_accounts}
        balances = {k: (st.balances[k].to_json() if k in st.balances else None) for k in st.dirty_balances}
        self.store.save_ledger(
            header,
            {"network_passphrase": self.passphrase, "header": header},
            accounts,
            balances,
            [(e["toid"], e) for e in tx_entries],
            [(e["toid"], e) for e in op_entries],
        )
        st.dirty_accounts.clear()
        st.dirty_balances.clear()

    # --- submission -------------------------------------------------------------------------

    def submit(self, envelope_b64: str, wait: float = SUBMIT_TIMEOUT) -> Outcome:
        """Horizon's synchronous POST /transactions."""
        try:
            frame = parse_envelope(envelope_b64, self.net_id)
        except Malformed:
            return 400, render.transaction_malformed(envelope_b64), False
        with self.lock:
            joined = frame.hash_hex in self.pending_by_hash
            accepted = self._accept(frame)
            if not isinstance(accepted, Ticket):
                return accepted
            # a test fault applies to a new submission, not to one joining a queued duplicate
            fault = None if joined else self._take_fault()
        if fault == "submit_timeout_early_next":
            return 504, render.timeout(), False
        if not accepted.event.wait(wait):
            return 504, render.timeout(), False
        if fault == "submit_timeout_next":
            return 504, render.timeout(), False
        if fault == "submit_hold_next":
            # Landed, answered late: the window in which a test kills the submitter.
            time.sleep(SUBMIT_HOLD)
        return accepted.outcome

    def submit_async(self, envelope_b64: str) -> tuple[int, dict]:
        """Horizon's POST /transactions_async: answers once the transaction is queued."""
        try:
            frame = parse_envelope(envelope_b64, self.net_id)
        except Malformed:
            return 400, render.transaction_malformed(envelope_b64)
        h = frame.hash_hex
        with self.lock:
            if h in self.pending_by_hash or self._find_tx(h) is not None:
                return 409, {"tx_status": "DUPLICATE", "hash": h}
            accepted = self._accept(frame)
        if isinstance(accepted, Ticket):
            return 201, {"tx_status": "PENDING", "hash": h}
        body = accepted[1]
        result_xdr = body.get("extras", {}).get("result_xdr", "")
        return 400, {"tx_status": "ERROR", "hash": h, "error_result_xdr": result_xdr}

    def _accept(self, frame: Frame) -> Ticket | Outcome:
        """Under the lock: the recorded outcome of a known transaction, or a queued ticket."""
        h = frame.hash_hex
        known = self._find_tx(h)
        if known is not None:  # already in a ledger: answer as before, never apply twice
            return self._recorded_outcome(known["record"])
        if h in self.pending_by_hash:
            return self.pending_by_hash[h]
        ctx = Ctx(self.header["seq"] + 1, max(self.header["close_time"], int(time.time())))
        bad = check_valid(self.state, frame, ctx, self._queued_seq(frame.inner.source))
        if bad is not None:
            return 400, render.transaction_failed(frame.envelope_xdr, bad), False
        t = Ticket(frame)
        self.pending.append(t)
        self.pending_by_hash[h] = t
        return t

    def _queued_seq(self, source: str) -> int | None:
        """The sequence number a queued transaction of `source` will leave, if any is queued."""
        seqs = [t.frame.inner.seq for t in self.pending if t.frame.inner.source == source]
        return max(seqs) if seqs else None

    def _recorded_outcome(self, rec: dict) -> Outcome:
        if rec["successful"]:
            return 200, rec, True
        result = X.TransactionResult.from_xdr(rec["result_xdr"])
        return 400, render.transaction_failed(rec["envelope_xdr"], result), False

    # --- test hooks -------------------------------------------------------------------------

    def set_faults(self, faults: dict) -> dict:
        with self.lock:
            for k, v in faults.items():
                if k not in self.faults:
                    raise ValueError(f"unknown fault {k!r}; known: {sorted(self.faults)}")
                self.faults[k] = int(v)
            return dict(self.faults)

    def _take_fault(self) -> str | None:
        """Consume one armed fault for a newly queued submission (file first, then counters)."""
        if self.fault_file and os.path.exists(self.fault_file):
            try:
                with open(self.fault_file) as f:
                    armed = json.load(f)
                os.remove(self.fault_file)
                for k, v in armed.items():
                    if k in self.faults:
                        self.faults[k] += int(v)
            except (OSError, ValueError, AttributeError) as e:
                print(f"ledger: ignoring fault file {self.fault_file}: {e!r}", file=sys.stderr, flush=True)
        for k in ("submit_timeout_next", "submit_timeout_early_next", "submit_hold_next"):
            if self.faults[k] > 0:
                self.faults[k] -= 1
                return k
        return None

    # --- friendbot --------------------------------------------------------------------------

    def friendbot(self, addr: str, wait: float = SUBMIT_TIMEOUT) -> Outcome:
        """Fund `addr` with a real CreateAccount transaction from the root account."""
        if not StrKey.is_valid_ed25519_public_key(addr or ""):
            return 400, render.bad_request("addr", "invalid address: expected a G... account id"), False
        with self.lock:
            root = self.state.get_account(self.root.public_key)
            seq = self._queued_seq(root.id)
            seq = root.seq if seq is None else seq
            env = (
                TransactionBuilder(SdkAccount(root.id, seq), self.passphrase, base_fee=BASE_FEE)
                .append_create_account_op(destination=addr, starting_balance=FRIENDBOT_STARTING_BALANCE)
                .set_timeout(300)
                .build()
            )
            env.sign(self.root)
            accepted = self._accept(parse_envelope(env.to_xdr(), self.net_id))
        if not isinstance(accepted, Ticket):
            return accepted
        if not accepted.event.wait(wait):
            return 504, render.timeout(), False
        return accepted.outcome

    # --- queries (callers hold self.lock) ---------------------------------------------------

    def _find_tx(self, h: str) -> dict | None:
        i = self.history.tx_by_hash.get(h)
        return self.history.txs[i] if i is not None else None

    def find_tx_record(self, h: str) -> dict | None:
        e = self._find_tx(h)
        if e is not None:
            return e["record"]
        i = self.history.inner_hashes.get(h)
        return render.tx_as_inner(self.history.txs[i]["record"]) if i is not None else None

    def outer_hash(self, h: str) -> str | None:
        """The hash a transaction is recorded under (a fee-bump's, for its inner hash)."""
        if h in self.history.tx_by_hash:
            return h
        i = self.history.inner_hashes.get(h)
        return self.history.txs[i]["record"]["hash"] if i is not None else None

    def find_op(self, op_id: int) -> dict | None:
        i = bisect.bisect_left(self.history.op_toids, op_id)
        if i < len(self.history.ops) and self.history.op_toids[i] == op_id:
            return self.history.ops[i]
        return None

    def parse_cursor(self, cursor: str, desc: bool) -> int:
        """Raises ValueError for a cursor that is neither a number nor "now"."""
        if cursor in ("", None):
            return MAX_CURSOR if desc else 0
        if cursor == "now":
            # Horizon's toid.AfterLedger(latest): everything up to now is before it
            return MAX_CURSOR if desc else render.toid(self.header["seq"] + 1) - 1
        value = int(cursor)
        if value < 0:
            raise ValueError("cursor must not be negative")
        return value

    def list_txs(self, account, ledger, include_failed, cursor, desc, limit) -> list[dict]:
        h = self.history
        idxs = h.account_txs.get(account, []) if account else None
        lo, hi = (render.toid(ledger), render.toid(ledger + 1)) if ledger else (0, MAX_CURSOR)

        def keep(e):
            return include_failed or e["record"]["successful"]

        return paginate(h.txs, h.tx_toids, idxs, cursor, desc, limit, keep, lo, hi)

    def list_ops(
        self, account, tx_hash, ledger, payments_only, include_failed, cursor, desc, limit
    ) -> list[dict]:
        h = self.history
        if tx_hash is not None:
            idxs = h.tx_ops.get(tx_hash, [])
        elif account:
            idxs = h.account_ops.get(account, [])
        else:
            idxs = None
        lo, hi = (render.toid(ledger), render.toid(ledger + 1)) if ledger else (0, MAX_CURSOR)

        def keep(e):
            r = e["record"]
            if payments_only and r["type_i"] not in render.PAYMENT_TYPE_IS:
                return False
            # a failed transaction's operations are listed only on request (or by transaction)
            return include_failed or tx_hash is not None or r["transaction_successful"]

        return paginate(h.ops, h.op_toids, idxs, cursor, desc, limit, keep, lo, hi)

    def list_balances(
        self, claimant, sponsor, asset, cursor: str, desc: bool, limit: int
    ) -> list[ClaimableBalance]:
        items = sorted(self.state.balances.values(), key=lambda cb: (cb.last_modified_ledger, cb.id))
        if claimant:
            items = [cb for cb in items if any(c["destination"] == claimant for c in cb.claimants)]
        if sponsor:
            items = [cb for cb in items if cb.sponsor == sponsor]
        if asset:
            items = [cb for cb in items if cb.asset == asset]
        if cursor:
            ledger_s, _, bid = cursor.partition("-")
            key = (int(ledger_s), bid)
            if desc:
                items = [cb for cb in items if (cb.last_modified_ledger, cb.id) < key]
            else:
                items = [cb for cb in items if (cb.last_modified_ledger, cb.id) > key]
        if desc:
            items.reverse()
        return items[:limit]

    def recent_txs(self) -> list[dict]:
        first = max(1, self.header["seq"] - FEE_STATS_LEDGERS + 1)
        i = bisect.bisect_left(self.history.tx_toids, render.toid(first))
        return [e["record"] for e in self.history.txs[i:]]

    def elder_ledger(self) -> int:
        return 1
