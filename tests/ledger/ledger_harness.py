"""Helpers for the local ledger's tests: run `python -m infra.ledger` as a subprocess and drive it
with the Python stellar-sdk."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from stellar_sdk import Asset, Keypair, Server, TransactionBuilder
from stellar_sdk.exceptions import BadRequestError

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "Standalone Network ; February 2017"
CLOSE_INTERVAL = 0.1
STARTUP_TIMEOUT = 20


class LedgerProcess:
    """`python -m infra.ledger` on 127.0.0.1, started and stopped by the tests."""

    def __init__(
        self, state_dir: Path, close_interval: float = CLOSE_INTERVAL, fault_file: Path | None = None
    ):
        self.state_dir, self.close_interval, self.fault_file = state_dir, close_interval, fault_file
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.stderr: list[str] = []

    def start(self) -> "LedgerProcess":
        cmd = [
            sys.executable,
            "-m",
            "infra.ledger",
            "--port",
            "0",  # the ledger picks a free port and prints its URL
            "--state-dir",
            str(self.state_dir),
            "--close-interval",
            str(self.close_interval),
            "--network-passphrase",
            PASSPHRASE,
        ]
        if self.fault_file:
            cmd += ["--fault-file", str(self.fault_file)]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()
        ready = threading.Event()

        def read_stdout():
            for line in self.proc.stdout:
                if line.startswith("ledger listening on ") and not ready.is_set():
                    self.url = line.split()[-1]
                    ready.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        if not ready.wait(STARTUP_TIMEOUT):
            self.proc.kill()
            raise RuntimeError(f"ledger did not start: {''.join(self.stderr)}")
        return self

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


class Chain:
    """Small helpers over the SDK for building, signing and submitting transactions."""

    def __init__(self, url: str, server: Server):
        self.url, self.server = url, server

    def fund(self) -> Keypair:
        kp = Keypair.random()
        r = requests.get(f"{self.url}/friendbot", params={"addr": kp.public_key}, timeout=30)
        assert r.status_code == 200, r.text
        return kp

    def builder(self, source, fee: int = 100, v1: bool = True) -> TransactionBuilder:
        """A TransactionBuilder for `source` (Keypair, G... or MuxedAccount) at its current sequence."""
        return TransactionBuilder(self.server.load_account(source), PASSPHRASE, base_fee=fee, v1=v1)

    def submit(self, builder: TransactionBuilder, *signers: Keypair, timeout: int = 300):
        env = builder.set_timeout(timeout).build() if timeout is not None else builder.build()
        for s in signers:
            env.sign(s)
        return self.server.submit_transaction(env, skip_memo_required_check=True)

    def fails(self, builder: TransactionBuilder, *signers: Keypair, timeout: int = 300) -> dict:
        """Submit expecting Horizon's 400 transaction_failed; returns extras.result_codes."""
        with pytest.raises(BadRequestError) as e:
            self.submit(builder, *signers, timeout=timeout)
        assert e.value.status == 400, e.value.message
        assert e.value.type == "https://stellar.org/horizon-errors/transaction_failed", e.value.message
        assert e.value.title == "Transaction Failed"
        return e.value.extras["result_codes"]

    def op_fails(self, builder: TransactionBuilder, *signers: Keypair) -> str:
        codes = self.fails(builder, *signers)
        assert codes["transaction"] == "tx_failed", codes
        return codes["operations"][0]

    def account(self, kp: Keypair | str) -> dict:
        account_id = kp.public_key if isinstance(kp, Keypair) else kp
        return self.server.accounts().account_id(account_id).call()

    def balance(self, kp: Keypair | str, asset: Asset | None = None) -> str:
        for b in self.account(kp)["balances"]:
            if asset is None or asset.is_native():
                if b["asset_type"] == "native":
                    return b["balance"]
            elif b.get("asset_code") == asset.code and b.get("asset_issuer") == asset.issuer:
                return b["balance"]
        raise AssertionError(f"no balance of {asset}")
