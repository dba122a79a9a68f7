"""The bank's book: one SQLite file, incoming transfers, outgoing payouts and closed accounts."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from decimal import Decimal

SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    sender TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_by_reference ON transfers (reference);
CREATE TABLE IF NOT EXISTS payouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    account TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS closed_accounts (
    account TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL
);
"""

COLUMNS = {
    "transfers": ("id", "reference", "amount", "currency", "sender", "created_at"),
    "payouts": ("id", "reference", "amount", "currency", "account", "created_at"),
}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Conflict(Exception):
    """A payout with this reference exists with other details."""

    def __init__(self, existing: dict):
        super().__init__("a payout with this reference exists with another amount or account")
        self.existing = existing


class AccountClosed(Exception):
    """A payout to a closed account: refused, nothing recorded."""

    def __init__(self, account: str):
        super().__init__(f"account {account} is closed")
        self.account = account


def normalize_account(account: str) -> str:
    """An account as the bank compares it: without whitespace, upper case."""
    return "".join(account.split()).upper()


class Book:
    def __init__(self, state_dir: str):
        os.makedirs(state_dir, exist_ok=True)
        self.path = os.path.join(state_dir, "bank.sqlite3")
        self.lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def _row(self, table: str, row) -> dict:
        record = dict(zip(COLUMNS[table], row))
        if record.get("sender") is None:
            record.pop("sender", None)
        return record

    def add_transfer(self, reference: str, amount: str, currency: str, sender: str | None) -> dict:
        with self.lock:
            cursor = self.db.execute(
                "INSERT INTO transfers (reference, amount, currency, sender, created_at) VALUES (?, ?, ?, ?, ?)",
                (reference, amount, currency, sender, _now()),
            )
            return self._get("transfers", cursor.lastrowid)

    def add_payout(self, reference: str, amount: str, currency: str, account: str) -> tuple[dict, bool]:
        """The payout and whether it is new; the same payout again is not paid twice (even if its
        account was closed since). A new payout to a closed account raises AccountClosed and
        records nothing, so the reference can be paid later to another account."""
        with self.lock:
            row = self.db.execute(
                f"SELECT {', '.join(COLUMNS['payouts'])} FROM payouts WHERE reference = ?", (reference,)
            ).fetchone()
            if row is not None:
                existing = self._row("payouts", row)
                same = (Decimal(existing["amount"]), existing["currency"], existing["account"]) == (
                    Decimal(amount), currency, account
                )
                if not same:
                    raise Conflict(existing)
                return existing, False
            if self._closed(account):
                raise AccountClosed(normalize_account(account))
            cursor = self.db.execute(
                "INSERT INTO payouts (reference, amount, currency, account, created_at) VALUES (?, ?, ?, ?, ?)",
                (reference, amount, currency, account, _now()),
            )
            return self._get("payouts", cursor.lastrowid), True

    def _closed(self, account: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM closed_accounts WHERE account = ?", (normalize_account(account),)
        ).fetchone()
        return row is not None

    def close_account(self, account: str) -> tuple[dict, bool]:
        """Closes an account (normalized): the record and whether it was open until now."""
        account = normalize_account(account)
        with self.lock:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO closed_accounts (account, closed_at) VALUES (?, ?)", (account, _now())
            )
            row = self.db.execute(
                "SELECT account, closed_at FROM closed_accounts WHERE account = ?", (account,)
            ).fetchone()
            return {"account": row[0], "closed_at": row[1]}, cursor.rowcount == 1

    def closed_accounts(self) -> list[dict]:
        with self.lock:
            rows = self.db.execute("SELECT account, closed_at FROM closed_accounts ORDER BY closed_at, account")
            return [{"account": account, "closed_at": closed_at} for account, closed_at in rows]

    def _get(self, table: str, row_id: int) -> dict:
        row = self.db.execute(f"SELECT {', '.join(COLUMNS[table])} FROM {table} WHERE id = ?", (row_id,)).fetchone()
        return self._row(table, row)

    def list(self, table: str, reference: str | None, since: int, limit: int) -> list[dict]:
        query = f"SELECT {', '.join(COLUMNS[table])} FROM {table} WHERE id > ?"
        args: list = [since]
        if reference is not None:
            query += " AND reference = ?"
            args.append(reference)
        query += " ORDER BY id LIMIT ?"
        args.append(limit)
        with self.lock:
            return [self._row(table, row) for row in self.db.execute(query, args)]
