"""Ledger entries (accounts with their trustlines, signers and data; claimable balances) and the
nested views transactions are applied through.

Entries are plain dataclasses that serialise to JSON for the store. A `View` is a copy-on-write
layer over the state (or over another view): an operation runs in its own view and is committed
into the transaction's view only if it succeeds; the transaction's view reaches the state only if
every operation succeeded, which is how a failed transaction leaves no effect but its fee.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

BASE_FEE = 100  # stroops per operation
BASE_RESERVE = 5_000_000  # 0.5 XLM
MAX_SIGNERS = 20
MAX_SUBENTRIES = 1000

# account flags
AUTH_REQUIRED = 0x1
AUTH_REVOCABLE = 0x2
AUTH_IMMUTABLE = 0x4
AUTH_CLAWBACK_ENABLED = 0x8
ALL_ACCOUNT_FLAGS = AUTH_REQUIRED | AUTH_REVOCABLE | AUTH_IMMUTABLE | AUTH_CLAWBACK_ENABLED

# trustline flags
TL_AUTHORIZED = 0x1
TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES = 0x2
TL_CLAWBACK_ENABLED = 0x4


@dataclass
class Trustline:
    balance: int
    limit: int
    flags: int
    last_modified_ledger: int

    @property
    def authorized(self) -> bool:
        return bool(self.flags & TL_AUTHORIZED)


@dataclass
class Account:
    id: str
    balance: int
    seq: int
    last_modified_ledger: int
    # [master weight, low, medium, high], like AccountEntry.thresholds
    thresholds: list[int] = field(default_factory=lambda: [1, 0, 0, 0])
    flags: int = 0
    home_domain: str = ""
    inflation_dest: str = ""
    signers: list[dict] = field(default_factory=list)  # {"key": strkey, "weight": int}, sorted by key
    data: dict[str, str] = field(default_factory=dict)  # name -> base64 value
    trustlines: dict[str, Trustline] = field(default_factory=dict)  # "CODE:ISSUER" -> line
    num_sponsoring: int = 0
    num_sponsored: int = 0
    seq_ledger: int = 0  # ledger / close time of the last sequence bump (AccountEntryExtensionV3)
    seq_time: int = 0

    @property
    def num_sub_entries(self) -> int:
        return len(self.signers) + len(self.data) + len(self.trustlines)

    def min_balance(self) -> int:
        return (2 + self.num_sub_entries + self.num_sponsoring - self.num_sponsored) * BASE_RESERVE

    def available_balance(self) -> int:
        # no offers on this ledger, so no selling liabilities
        return self.balance - self.min_balance()

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Account":
        d = dict(d)
        d["trustlines"] = {k: Trustline(**v) for k, v in d.get("trustlines", {}).items()}
        return cls(**d)


@dataclass
class ClaimableBalance:
    id: str  # hex of the ClaimableBalanceID XDR (starts with 00000000)
    asset: str  # "native" or "CODE:ISSUER"
    amount: int
    claimants: list[dict]  # {"destination": G, "predicate": base64 ClaimPredicate XDR}
    sponsor: str
    last_modified_ledger: int
    clawback_enabled: bool = False

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "ClaimableBalance":
        return cls(**d)


class State:
    """The current ledger entries. Tracks which keys changed since the last save."""

    def __init__(self):
        self.accounts: dict[str, Account] = {}
        self.balances: dict[str, ClaimableBalance] = {}
        self.dirty_accounts: set[str] = set()
        self.dirty_balances: set[str] = set()

    def get_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def get_balance(self, balance_id: str) -> ClaimableBalance | None:
        return self.balances.get(balance_id)

    def _write_accounts(self, changes: dict[str, Account | None]) -> None:
        for k, v in changes.items():
            if v is None:
                self.accounts.pop(k, None)
            else:
                self.accounts[k] = v
            self.dirty_accounts.add(k)

    def _write_balances(self, changes: dict[str, ClaimableBalance | None]) -> None:
        for k, v in changes.items():
            if v is None:
                self.balances.pop(k, None)
            else:
                self.balances[k] = v
            self.dirty_balances.add(k)


_DELETED = None


class View:
    """A copy-on-write layer: reads fall through to the parent, writes stay here until commit()."""

    def __init__(self, parent: "State | View", ledger_seq: int):
        self.parent = parent
        self.ledger_seq = ledger_seq
        self._accounts: dict[str, Account | None] = {}
        self._balances: dict[str, ClaimableBalance | None] = {}

    # reads
    def get_account(self, account_id: str) -> Account | None:
        if account_id in self._accounts:
            return self._accounts[account_id]
        return self.parent.get_account(account_id)

    def get_balance(self, balance_id: str) -> ClaimableBalance | None:
        if balance_id in self._balances:
            return self._balances[balance_id]
        return self.parent.get_balance(balance_id)

    # writes: load_* hands out a private copy that this view owns
    def load_account(self, account_id: str) -> Account | None:
        if account_id not in self._accounts:
            acc = self.parent.get_account(account_id)
            self._accounts[account_id] = copy.deepcopy(acc) if acc is not None else None
        acc = self._accounts[account_id]
        if acc is not None:
            acc.last_modified_ledger = self.ledger_seq
        return acc

    def create_account(self, acc: Account) -> None:
        acc.last_modified_ledger = self.ledger_seq
        self._accounts[acc.id] = acc

    def delete_account(self, account_id: str) -> None:
        self._accounts[account_id] = _DELETED

    def create_balance(self, cb: ClaimableBalance) -> None:
        cb.last_modified_ledger = self.ledger_seq
        self._balances[cb.id] = cb

    def delete_balance(self, balance_id: str) -> None:
        self._balances[balance_id] = _DELETED

    def commit(self) -> None:
        if isinstance(self.parent, View):
            self.parent._accounts.update(self._accounts)
            self.parent._balances.update(self._balances)
        else:
            self.parent._write_accounts(self._accounts)
            self.parent._write_balances(self._balances)
        self._accounts, self._balances = {}, {}
