"""The bank's HTTP API (JSON in, JSON out) on a stdlib ThreadingHTTPServer."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .store import AccountClosed, Book, Conflict

MAX_BODY = 64 * 1024
MAX_LIMIT = 200
# References and accounts: what a bank transfer's free text carries, no control characters.
TEXT = re.compile(r"[\x20-\x7e]{1,64}")
CURRENCY = re.compile(r"[A-Z]{3,12}")
MAX_AMOUNT = Decimal("1e12")


class Invalid(Exception):
    pass


def _text(body: dict, name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not TEXT.fullmatch(value.strip()):
        raise Invalid(f"{name}: 1 to 64 printable ASCII characters are required")
    return value.strip()


def _amount(body: dict) -> str:
    value = body.get("amount")
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise Invalid("amount: a positive decimal is required, e.g. \"100.00\"")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid("amount: a positive decimal is required, e.g. \"100.00\"") from None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT:
        raise Invalid("amount: a positive decimal below 10^12 is required")
    if -amount.as_tuple().exponent > 7:
        raise Invalid("amount: at most 7 decimal places")
    return format(amount, "f")


def _currency(body: dict) -> str:
    value = body.get("currency", "USD")
    if not isinstance(value, str) or not CURRENCY.fullmatch(value):
        raise Invalid("currency: 3 to 12 capital letters, e.g. USD")
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mooring-demo-bank"

    @property
    def book(self) -> Book:
        return self.server.book

    def log_message(self, format, *args):  # noqa: A002 - quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body, indent=1).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": message})

    def _body(self) -> dict:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise Invalid("bad Content-Length") from None
        if length > MAX_BODY:
            raise Invalid("body too large")
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw or b"null", parse_float=Decimal)
        except ValueError:
            raise Invalid("the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object")
        return body

    def _route(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        return parts.path.rstrip("/") or "/", query

    def do_GET(self):  # noqa: N802
        path, query = self._route()
        try:
            if path == "/":
                self._send(
                    200,
                    {
                        "bank": "Mooring demo bank",
                        "transfers": "/transfers",
                        "payouts": "/payouts",
                        "closed_accounts": "/accounts/closed",
                    },
                )
            elif path == "/accounts/closed":
                self._send(200, {"accounts": self.book.closed_accounts()})
            elif path in ("/transfers", "/payouts"):
                since = _int(query, "since", 0, 0, 2**62)
                limit = _int(query, "limit", MAX_LIMIT, 1, MAX_LIMIT)
                reference = query.get("reference")
                table = path.strip("/")
                self._send(200, {table: self.book.list(table, reference, since, limit)})
            else:
                self._error(404, "not found")
        except Invalid as invalid:
            self._error(400, str(invalid))

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802
        path, _ = self._route()
        try:
            if path == "/transfers":
                body = self._body()
                record = self.book.add_transfer(
                    _text(body, "reference"), _amount(body), _currency(body), _text(body, "sender", required=False)
                )
                self._send(201, record)
            elif path == "/payouts":
                body = self._body()
                try:
                    record, new = self.book.add_payout(
                        _text(body, "reference"), _amount(body), _currency(body), _text(body, "account")
                    )
                except Conflict as conflict:
                    self._send(409, {"error": str(conflict), "payout": conflict.existing})
                    return
                except AccountClosed as closed:
                    self._send(422, {"error": str(closed), "code": "account_closed"})
                    return
                self._send(201 if new else 200, record)
            elif path == "/accounts/closed":
                body = self._body()
                record, new = self.book.close_account(_text(body, "account"))
                self._send(201 if new else 200, record)
            else:
                self._error(404, "not found")
        except Invalid as invalid:
            self._error(400, str(invalid))


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name])
    except ValueError:
        raise Invalid(f"{name}: an integer is required") from None
    if not low <= value <= high:
        raise Invalid(f"{name}: between {low} and {high}")
    return value


@dataclass
class Running:
    server: ThreadingHTTPServer
    thread: threading.Thread
    book: Book

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.book.close()


class BankHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog (5) drops bursts of connections (many wallets paying at once).
    request_queue_size = 128


def serve(host: str = "127.0.0.1", port: int = 8002, state_dir: str = ".local/demo_bank", verbose: bool = False) -> Running:
    server = BankHTTPServer((host, port), Handler)
    server.book = Book(state_dir)
    server.verbose = verbose
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="demo-bank", daemon=True)
    thread.start()
    return Running(server, thread, server.book)
