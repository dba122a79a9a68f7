"""A SEP-31 sending anchor, as another anchor's code would be written against Mooring with the
Python stellar-sdk and plain HTTP: what it learns from stellar.toml, SEP-10 login, its senders
and receivers registered through SEP-12 (one memo each under its account), `POST /transactions`,
the payment of the memo on Stellar, and a callback server that checks each signed callback
(SEP-31 7.5, digest 5.6) against the anchor's SIGNING_KEY.

Used by tests/e2e/stack/test_sep31_deployed.py against the deployed local stack.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests
from stellar_sdk import Keypair

from sep24_wallet import TransferServer

TIMEOUT = 30
NO_PROXY = {"http": None, "https": None}


class SendingAnchor:
    """The SEP-10, SEP-12 and SEP-31 calls of a sending anchor at the servers stellar.toml names."""

    def __init__(self, home_domain: str, keypair: Keypair):
        self.keypair = keypair
        self.server = TransferServer(home_domain)
        self.url = self.server.toml["DIRECT_PAYMENT_SERVER"]
        self.kyc_url = self.server.toml["KYC_SERVER"]
        self.signing_key = self.server.toml["SIGNING_KEY"]
        self.token = self.server.login(keypair)

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    # --- SEP-12 ------------------------------------------------------------------------------

    def put_customer(self, fields: dict) -> str:
        answer = requests.put(f"{self.kyc_url}/customer", json=fields, headers=self._headers(), timeout=TIMEOUT,
                              proxies=NO_PROXY)
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]

    def customer(self, customer_id: str, kyc_type: str, transaction_id: str | None = None) -> dict:
        params = {"id": customer_id, "type": kyc_type}
        if transaction_id:
            params["transaction_id"] = transaction_id
        answer = requests.get(f"{self.kyc_url}/customer", params=params, headers=self._headers(), timeout=TIMEOUT,
                              proxies=NO_PROXY)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def register(self, memo: int, kyc_type: str, fields: dict, code_of) -> str:
        """A customer under `memo`, its fields, then the email code (`code_of(customer_id)`);
        answers its id once ACCEPTED."""
        customer_id = self.put_customer({"memo": str(memo), "type": kyc_type, **fields})
        self.put_customer({"id": customer_id, "type": kyc_type,
                           "email_address_verification": code_of(customer_id)})
        status = self.customer(customer_id, kyc_type)
        assert status["status"] == "ACCEPTED", status
        return customer_id

    # --- SEP-31 ------------------------------------------------------------------------------

    def info(self) -> dict:
        answer = requests.get(f"{self.url}/info", timeout=TIMEOUT, proxies=NO_PROXY)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, body: dict) -> requests.Response:
        return requests.post(f"{self.url}/transactions", json=body, headers=self._headers(), timeout=TIMEOUT,
                             proxies=NO_PROXY)

    def transaction(self, transaction_id: str) -> dict:
        answer = requests.get(f"{self.url}/transactions/{transaction_id}", headers=self._headers(), timeout=TIMEOUT,
                              proxies=NO_PROXY)
        assert answer.status_code == 200, answer.text
        return answer.json()["transaction"]

    def set_callback(self, transaction_id: str, url: str) -> None:
        answer = requests.put(f"{self.url}/transactions/{transaction_id}/callback", json={"url": url},
                              headers=self._headers(), timeout=TIMEOUT, proxies=NO_PROXY)
        assert answer.status_code == 204, answer.text

    def wait_status(self, transaction_id: str, status: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.transaction(transaction_id)
            if seen["status"] == status:
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"{transaction_id} is {seen['status']}, not {status}: {seen}")
            time.sleep(0.5)


@dataclass
class Callback:
    path: str
    host: str
    signature: str
    body: str
    transaction: dict = field(default_factory=dict)


def signature_is_valid(signing_key: str, callback: Callback, max_age: float = 300) -> bool:
    """SEP-31 7.5 / digest 5.6: `Signature: t=<unix>, s=<base64 ed25519 of "<t>.<host>.<body>">`,
    by the anchor's SIGNING_KEY, recent."""
    parts = dict(part.strip().split("=", 1) for part in callback.signature.split(","))
    signed = f"{parts['t']}.{callback.host}.{callback.body}".encode()
    try:
        Keypair.from_public_key(signing_key).verify(signed, base64.b64decode(parts["s"]))
    except Exception:  # noqa: BLE001 - any failure to verify is a bad signature
        return False
    return abs(time.time() - int(parts["t"])) <= max_age


class CallbackServer:
    """Receives the anchor's callbacks on 127.0.0.1; answers 204 to each, but 503 to the first
    `fail_first` (which are counted in `refused`, not kept)."""

    def __init__(self, fail_first: int = 0):
        received: list[Callback] = []
        lock = threading.Lock()
        server = self
        self.refused = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                with lock:
                    refuse = server.refused < fail_first
                    if refuse:
                        server.refused += 1
                if refuse:
                    self.send_response(503)
                    self.end_headers()
                    return
                host = urlsplit(f"http://{self.headers.get('host', '')}").hostname or ""
                callback = Callback(self.path, host, self.headers.get("signature", ""), body)
                try:
                    callback.transaction = json.loads(body)["transaction"]
                except (ValueError, KeyError, TypeError):
                    pass
                with lock:
                    received.append(callback)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.received = received
        self._lock = lock
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def for_transaction(self, transaction_id: str) -> list[Callback]:
        with self._lock:
            return [c for c in self.received if c.transaction.get("id") == transaction_id]

    def at(self, path: str) -> list[Callback]:
        """The callbacks posted to `path` (e.g. a customer's), in the order received."""
        with self._lock:
            return [c for c in self.received if c.path == path]

    def statuses(self, transaction_id: str) -> list[str]:
        return [c.transaction.get("status") for c in self.for_transaction(transaction_id)]

    def wait_for(self, transaction_id: str, status: str, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while status not in self.statuses(transaction_id):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {status} callback for {transaction_id}: {self.statuses(transaction_id)}")
            time.sleep(0.2)
        return self.statuses(transaction_id)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
