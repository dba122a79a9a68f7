"""Fixtures for the end-to-end cross-check suite.

The anchor under test is the real `mooring-local` binary (built with cargo unless
MOORING_LOCAL_BIN names one), started once per session with a fresh configuration. Around it:

* a stand-in Horizon answering `GET /accounts/{id}` from an in-memory dict, in Horizon's exact
  JSON format (404 problem document for unknown accounts);
* a "wallet domain" serving `/.well-known/stellar.toml` with a SIGNING_KEY the tests choose
  (or garbage, or a 404), for SEP-10 client_domain attestation.

Both are tiny threaded `http.server` instances on 127.0.0.1, so the suite needs no network.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable

import pytest
from stellar_sdk import Keypair, Network

REPO_ROOT = Path(__file__).resolve().parents[2]
NETWORK_PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE  # "Test SDF Network ; September 2015"
CHALLENGE_TTL_SECONDS = 600
JWT_TTL_SECONDS = 3600
STARTUP_TIMEOUT_SECONDS = 20


def free_port() -> int:
    """A port nothing listens on right now (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _account_id(account: Keypair | str) -> str:
    return account.public_key if isinstance(account, Keypair) else account


# Horizon's signer "type" for each strkey prefix.
SIGNER_TYPES = {
    "G": "ed25519_public_key",
    "X": "sha256_hash",
    "T": "preauth_tx",
    "P": "ed25519_signed_payload",
}


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 running in a daemon thread."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler]):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # handlers reach their state through self.server.owner
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------
# Stand-in Horizon
# --------------------------------------------------------------------------------------------

HORIZON_NOT_FOUND = {
    "type": "https://stellar.org/horizon-errors/not_found",
    "title": "Resource Missing",
    "status": 404,
    "detail": (
        "The resource at the url requested was not found.  This usually occurs for one of two "
        "reasons:  The url requested is not valid, or no data in our database could be found "
        "with the parameters provided."
    ),
}


class _HorizonHandler(_QuietHandler):
    def do_GET(self):  # noqa: N802
        horizon: StandInHorizon = self.server.owner
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "accounts":
            account_id = parts[1]
            horizon.requests.append(account_id)
            with horizon.lock:
                error = horizon.errors.get(account_id)
                record = horizon.accounts.get(account_id)
            if error is not None:
                status, problem = error
                if status is None:  # as if Horizon went away mid-request
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(status, json.dumps(problem).encode(), "application/problem+json")
                return
            if record is not None:
                body = json.dumps(record, indent=2).encode()
                self._send(200, body, "application/hal+json; charset=utf-8")
                return
        self._send(404, json.dumps(HORIZON_NOT_FOUND).encode(), "application/problem+json")


class StandInHorizon(_Server):
    """`GET /accounts/{id}` from memory, in the format of Horizon's account resource."""

    def __init__(self):
        self.accounts: dict[str, dict] = {}
        self.errors: dict[str, tuple[int | None, dict]] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        super().__init__(_HorizonHandler)

    def put_account(
        self,
        account: Keypair | str,
        signers: Iterable[tuple[Keypair | str, int]] = (),
        *,
        master_weight: int = 1,
        low_threshold: int = 0,
        med_threshold: int = 0,
        high_threshold: int = 0,
        balance: str = "100.0000000",
        sequence: int = 4_294_967_296,
        trustlines: Iterable[tuple[str, str]] = (),
        pool_shares: bool = False,
    ) -> dict:
        """Puts an account on the "ledger" and returns its JSON.

        `signers` are the additional signers, `(key, weight)`, where a key is a keypair or any
        signer strkey (G..., X... sha256_hash, T... preauth_tx, P... signed payload); the master
        key is listed with `master_weight` (last, as Horizon lists it, even when its weight is 0),
        unless `signers` names it explicitly. `trustlines` are `(code, issuer)` balances listed
        before the native one, as Horizon does; `pool_shares` adds a liquidity-pool share line.
        """
        account_id = _account_id(account)
        trustlines = list(trustlines)
        signer_list = []
        master_listed = False
        for key, weight in signers:
            key = _account_id(key)
            master_listed |= key == account_id
            signer_list.append({"weight": weight, "key": key, "type": SIGNER_TYPES[key[0]]})
        if not master_listed:
            signer_list.append(
                {"weight": master_weight, "key": account_id, "type": "ed25519_public_key"}
            )
        base = self.url
        link = f"{base}/accounts/{account_id}"

        def paged(name: str) -> dict:
            return {"href": f"{link}/{name}{{?cursor,limit,order}}", "templated": True}

        record = {
            "_links": {
                "self": {"href": link},
                "transactions": paged("transactions"),
                "operations": paged("operations"),
                "payments": paged("payments"),
                "effects": paged("effects"),
                "offers": paged("offers"),
                "trades": paged("trades"),
                "data": {"href": f"{link}/data/{{key}}", "templated": True},
            },
            "id": account_id,
            "account_id": account_id,
            "sequence": str(sequence),
            "sequence_ledger": 1000,
            "sequence_time": "1700000000",
            "subentry_count": len(signer_list) - 1 + len(trustlines) + 2 * int(pool_shares),
            "last_modified_ledger": 1000,
            "last_modified_time": "2024-01-01T00:00:00Z",
            "thresholds": {
                "low_threshold": low_threshold,
                "med_threshold": med_threshold,
                "high_threshold": high_threshold,
            },
            "flags": {
                "auth_required": False,
                "auth_revocable": False,
                "auth_immutable": False,
                "auth_clawback_enabled": False,
            },
            "balances": [
                *(
                    {
                        "balance": "25.5000000",
                        "limit": "922337203685.4775807",
                        "buying_liabilities": "0.0000000",
                        "selling_liabilities": "0.0000000",
                        "last_modified_ledger": 990,
                        "is_authorized": True,
                        "is_authorized_to_maintain_liabilities": True,
                        "is_clawback_enabled": False,
                        "asset_type": "credit_alphanum4" if len(code) <= 4 else "credit_alphanum12",
                        "asset_code": code,
                        "asset_issuer": issuer,
                    }
                    for code, issuer in trustlines
                ),
                *(
                    [
                        {
                            "balance": "1.0000000",
                            "limit": "922337203685.4775807",
                            "last_modified_ledger": 991,
                            "is_authorized": False,
                            "is_authorized_to_maintain_liabilities": False,
                            "is_clawback_enabled": False,
                            "asset_type": "liquidity_pool_shares",
                            "liquidity_pool_id": "67260c4c1807b262ff851b0a3fe141194936bb0215b2f77447f1df11998eabb9",
                        }
                    ]
                    if pool_shares
                    else []
                ),
                {
                    "balance": balance,
                    "buying_liabilities": "0.0000000",
                    "selling_liabilities": "0.0000000",
                    "asset_type": "native",
                },
            ],
            "signers": signer_list,
            "data": {},
            "num_sponsoring": 0,
            "num_sponsored": 0,
            "paging_token": account_id,
        }
        with self.lock:
            self.errors.pop(account_id, None)
            self.accounts[account_id] = record
        return record

    def put_error(self, account: Keypair | str, status: int | None = 500) -> None:
        """Makes Horizon fail for this account with a problem document, or with no answer at
        all (the connection is closed) when `status` is None."""
        problem = {
            "type": "https://stellar.org/horizon-errors/server_error",
            "title": "Internal Server Error",
            "status": status,
            "detail": "An error occurred while processing this request.",
        }
        with self.lock:
            self.errors[_account_id(account)] = (status, problem)

    def remove_account(self, account: Keypair | str) -> None:
        with self.lock:
            self.accounts.pop(_account_id(account), None)
            self.errors.pop(_account_id(account), None)


# --------------------------------------------------------------------------------------------
# Wallet (client) domain
# --------------------------------------------------------------------------------------------


class _WalletHandler(_QuietHandler):
    def do_GET(self):  # noqa: N802
        wallet: WalletDomain = self.server.owner
        wallet.requests.append(self.path)
        with wallet.lock:
            status, body = wallet.status, wallet.body
        if self.path.split("?", 1)[0] != "/.well-known/stellar.toml":
            status, body = 404, "not found\n"
        self._send(status, body.encode(), "text/plain; charset=utf-8",
                   {"Access-Control-Allow-Origin": "*"})

    do_HEAD = do_GET


class WalletDomain(_Server):
    """A wallet's home domain (`127.0.0.1:<port>`) publishing its stellar.toml."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.status = 404
        self.body = "not found\n"
        super().__init__(_WalletHandler)

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve_signing_key(self, key: Keypair | str) -> None:
        self.serve_toml(
            f'VERSION="2.7.0"\n'
            f'NETWORK_PASSPHRASE="{NETWORK_PASSPHRASE}"\n'
            f'SIGNING_KEY="{_account_id(key)}"\n'
            f"\n[DOCUMENTATION]\nORG_NAME=\"Test Wallet\"\n"
        )

    def serve_toml(self, text: str, status: int = 200) -> None:
        with self.lock:
            self.status, self.body = status, text

    def serve_not_found(self) -> None:
        self.serve_toml("not found\n", status=404)


# --------------------------------------------------------------------------------------------
# The anchor
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    base_url: str  # PUBLIC_URL, e.g. http://localhost:8123
    home_domain: str  # localhost:8123
    web_auth_domain: str  # host:port of PUBLIC_URL
    server_keypair: Keypair  # SIGNING_SEED / SIGNING_KEY
    jwt_secret: str
    network_passphrase: str
    asset_code: str
    asset_issuer: str
    distribution_account: str  # receives withdrawals (withdraw_anchor_account)
    assets: list  # ASSETS as configured (limits and fees of each direction)
    challenge_ttl: int
    jwt_ttl: int
    process: subprocess.Popen
    # Every line mooring-local printed so far (its logs), appended as they come.
    log: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/auth"

    @property
    def kyc_url(self) -> str:
        """KYC_SERVER (SEP-12)."""
        return f"{self.base_url}/kyc"

    @property
    def transfer_url(self) -> str:
        """TRANSFER_SERVER_SEP0024."""
        return f"{self.base_url}/sep24"

    def wait_for_log(self, pattern: str, timeout: float = 5.0) -> re.Match:
        """The last log line matching `pattern` (a regex), waiting for it to be printed."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in reversed(list(self.log)):
                match = compiled.search(line)
                if match:
                    return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matches {pattern!r}")
            time.sleep(0.05)

    @property
    def server_account_id(self) -> str:
        return self.server_keypair.public_key


def _mooring_local_binary() -> Path:
    configured = os.environ.get("MOORING_LOCAL_BIN")
    if configured:
        path = Path(configured)
        if not path.is_file():
            pytest.exit(f"MOORING_LOCAL_BIN={configured} is not a file", returncode=2)
        return path
    build = subprocess.run(
        ["cargo", "build", "--bin", "mooring-local"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if build.returncode != 0:
        pytest.exit(f"cargo build --bin mooring-local failed:\n{build.stdout[-4000:]}", returncode=2)
    target = os.environ.get("CARGO_TARGET_DIR")
    return (REPO_ROOT / target if target else REPO_ROOT / "target") / "debug" / "mooring-local"


def _pump(stream, lines: "queue.Queue[str | None]", log: list[str]) -> None:
    for line in iter(stream.readline, ""):
        log.append(line)
        lines.put(line)
    lines.put(None)


@pytest.fixture(scope="session", autouse=True)
def _no_proxy_for_loopback():
    """Everything here is on loopback: never send it through a proxy from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("NO_PROXY", "no_proxy"):
            current = os.environ.get(name, "")
            patch.setenv(name, ",".join(filter(None, [current, "localhost", "127.0.0.1"])))
        yield


@pytest.fixture
def unused_port() -> int:
    """A loopback port with nothing listening on it."""
    return free_port()


@pytest.fixture(scope="session")
def horizon():
    server = StandInHorizon()
    yield server
    server.close()


@pytest.fixture(scope="session")
def _wallet_domain_server():
    server = WalletDomain()
    yield server
    server.close()


@pytest.fixture
def wallet_domain(_wallet_domain_server):
    """The wallet domain server, reset to "no stellar.toml" before each test that uses it."""
    _wallet_domain_server.serve_not_found()
    _wallet_domain_server.requests.clear()
    yield _wallet_domain_server
    _wallet_domain_server.serve_not_found()


def start_mooring_local(binary: Path, env: dict) -> tuple[subprocess.Popen, list[str]]:
    """Starts `mooring-local` with `env` and waits until it listens; returns the process and the
    list its log lines are appended to. Exits the session if it does not start."""
    process = subprocess.Popen(
        [str(binary)],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: "queue.Queue[str | None]" = queue.Queue()
    log: list[str] = []
    threading.Thread(target=_pump, args=(process.stdout, lines, log), daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    ready = False
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        if line.startswith("mooring-local listening on http://127.0.0.1:"):
            ready = True
            break
    if not ready:
        process.kill()
        process.wait(timeout=5)
        pytest.exit(
            "mooring-local did not start (exit code "
            f"{process.returncode}):\n{''.join(log)[-4000:]}",
            returncode=2,
        )
    return process, log


def stop_mooring_local(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def launch_mooring_local():
    """Starts further `mooring-local` processes with an environment of the test's choosing
    (`launch(env) -> (process, log)`); all are stopped at the end of the session."""
    binary = _mooring_local_binary()
    started: list[subprocess.Popen] = []

    def launch(env: dict) -> tuple[subprocess.Popen, list[str]]:
        process, log = start_mooring_local(binary, env)
        started.append(process)
        return process, log

    yield launch
    for process in started:
        stop_mooring_local(process)


@pytest.fixture(scope="session")
def anchor(horizon):
    binary = _mooring_local_binary()
    port = free_port()
    home_domain = f"localhost:{port}"
    public_url = f"http://{home_domain}"
    server_keypair = Keypair.random()
    jwt_secret = secrets.token_hex(32)
    issuer = Keypair.random().public_key
    distribution = Keypair.random().public_key
    # The local stack's asset (infra/local_stack/stack.py): SEP-24 with limits and fees.
    assets = [
        {
            "code": "USDC",
            "issuer": issuer,
            "distribution_account": distribution,
            "seps": ["sep24"],
            "significant_decimals": 2,
            "deposit": {"min_amount": 1, "max_amount": 10000, "fee_fixed": 1, "fee_percent": 0.5},
            "withdraw": {"min_amount": 1, "max_amount": 10000, "fee_fixed": 0.5, "fee_percent": 0.25},
        }
    ]
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        "MOORING_LOCAL_ADDR": f"127.0.0.1:{port}",
        "HOME_DOMAIN": home_domain,
        "PUBLIC_URL": public_url,
        "NETWORK_PASSPHRASE": NETWORK_PASSPHRASE,
        "SIGNING_SEED": server_keypair.secret,
        "JWT_SECRET": jwt_secret,
        "HORIZON_URL": horizon.url,
        "ASSETS": json.dumps(assets),
        "SEP10_CLIENT_DOMAIN_ALLOW_INSECURE": "true",
        "SEP10_CLIENT_DOMAIN_TIMEOUT_MS": "2000",
        "SEP10_CHALLENGE_TTL_SECONDS": str(CHALLENGE_TTL_SECONDS),
        "SEP10_JWT_TTL_SECONDS": str(JWT_TTL_SECONDS),
        # The reference KYC integration logs verification codes at info level (SEP-12 tests
        # read them from the log, as an operator would from their email/SMS sender).
        "RUST_LOG": os.environ.get("RUST_LOG", "warn") + ",anchor_integrations=info",
    }
    process, log = start_mooring_local(binary, env)
    yield Anchor(
        base_url=public_url,
        home_domain=home_domain,
        web_auth_domain=home_domain,
        server_keypair=server_keypair,
        jwt_secret=jwt_secret,
        network_passphrase=NETWORK_PASSPHRASE,
        asset_code="USDC",
        asset_issuer=issuer,
        distribution_account=distribution,
        assets=assets,
        challenge_ttl=CHALLENGE_TTL_SECONDS,
        jwt_ttl=JWT_TTL_SECONDS,
        process=process,
        log=log,
    )
    stop_mooring_local(process)
