"""Persistence: one SQLite file in the state directory, written once per closed ledger.

Each ledger close is a single SQLite transaction (changed entries, the new ledger header, its
transactions and operations), so a crash leaves either the previous ledger or the new one on
disk, never half of one. Entries and records are stored as JSON.
"""

from __future__ import annotations

import json
import os
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claimable_balances (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledgers (seq INTEGER PRIMARY KEY, close_time INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (toid INTEGER PRIMARY KEY, hash TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operations (toid INTEGER PRIMARY KEY, json TEXT NOT NULL);
"""


class Store:
    def __init__(self, state_dir: str):
        os.makedirs(state_dir, exist_ok=True)
        self.path = os.path.join(state_dir, "ledger.sqlite3")
        # One connection, used under the ledger's lock from several threads.
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # --- reading at start -------------------------------------------------------------------

    def meta(self, key: str):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def rows(self, table: str) -> list:
        order = "seq" if table == "ledgers" else ("toid" if table in ("transactions", "operations") else "id")
        return [json.loads(r[0]) for r in self.db.execute(f"SELECT json FROM {table} ORDER BY {order}")]

    def close_times(self) -> dict[int, int]:
        return dict(self.db.execute("SELECT seq, close_time FROM ledgers"))

    def ledger(self, seq: int) -> dict | None:
        row = self.db.execute("SELECT json FROM ledgers WHERE seq = ?", (seq,)).fetchone()
        return json.loads(row[0]) if row else None

    def ledgers(self, after: int, before: int, desc: bool, limit: int) -> list[dict]:
        q = (
            "SELECT json FROM ledgers WHERE seq > ? AND seq < ? ORDER BY seq "
            + ("DESC" if desc else "ASC")
            + " LIMIT ?"
        )
        return [json.loads(r[0]) for r in self.db.execute(q, (after, before, limit))]

    # --- writing one closed ledger ----------------------------------------------------------

    def save_ledger(
        self, header: dict, meta: dict, accounts: dict, balances: dict, txs: list, ops: list
    ) -> None:
        """accounts/balances map id -> JSON or None (deleted); txs/ops are (toid, json) lists."""
        db = self.db
        db.execute("BEGIN")
        try:
            for k, v in meta.items():
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (k, json.dumps(v)))
            for k, v in accounts.items():
                if v is None:
                    db.execute("DELETE FROM accounts WHERE id = ?", (k,))
                else:
                    db.execute("INSERT OR REPLACE INTO accounts VALUES (?, ?)", (k, json.dumps(v)))
            for k, v in balances.items():
                if v is None:
                    db.execute("DELETE FROM claimable_balances WHERE id = ?", (k,))
                else:
                    db.execute("INSERT OR REPLACE INTO claimable_balances VALUES (?, ?)", (k, json.dumps(v)))
            db.execute(
                "INSERT OR REPLACE INTO ledgers VALUES (?, ?, ?)",
                (header["seq"], header["close_time"], json.dumps(header)),
            )
            for toid, entry in txs:
                db.execute(
                    "INSERT INTO transactions VALUES (?, ?, ?)",
                    (toid, entry["record"]["hash"], json.dumps(entry)),
                )
            for toid, entry in ops:
                db.execute("INSERT INTO operations VALUES (?, ?)", (toid, json.dumps(entry)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
