"""The HTTP layer: Horizon's routes over a `Ledger`, on a stdlib ThreadingHTTPServer.

Only routing, parameter parsing and response writing live here; state changes are the ledger's
and JSON shapes are `render`'s.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from stellar_sdk import StrKey

from . import render
from .ledger import Ledger

MAX_LIMIT = 200
DEFAULT_LIMIT = 10
STREAM_SECONDS = 55  # a stream is closed after this; SSE clients reconnect


class BadParam(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


def _account_param(value: str, field: str = "account_id") -> str:
    if not StrKey.is_valid_ed25519_public_key(value):
        raise BadParam(field, "Account ID must start with `G` and contain 56 alphanum characters")
    return value


def _balance_id(value: str) -> str:
    """Horizon accepts the hex id (with its 00000000 type prefix) or a B... strkey."""
    v = value.strip()
    if v.startswith("B"):
        try:
            raw = StrKey.decode_claimable_balance(v)
        except Exception:
            raise BadParam("id", "invalid claimable balance id") from None
        return "000000" + raw.hex()
    v = v.lower()
    if re.fullmatch(r"[0-9a-f]{64}", v):
        v = "00000000" + v
    if not re.fullmatch(r"00000000[0-9a-f]{64}", v):
        raise BadParam("id", "invalid claimable balance id")
    return v


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mooring-local-ledger"
    # A response leaves in one write, as Horizon's does: unbuffered, the headers went first and
    # the body waited for their ACK (Nagle against delayed ACK: ~40 ms per request, and two
    # wake-ups of every client instead of one).
    wbufsize = 64 * 1024

    @property
    def ledger(self) -> Ledger:
        return self.server.ledger

    def log_message(self, format, *args):  # noqa: A002 - quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)

    # --- plumbing ---------------------------------------------------------------------------

    def _base(self) -> str:
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return f"http://{host}"

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body, indent=2).encode()
        ctype = "application/problem+json" if status >= 400 else "application/hal+json"
        self.send_response(status)
        self.send_header("Content-Type", ctype + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(data)

    def _send_found(self, body: dict | None) -> None:
        if body is None:
            self._send(404, render.not_found())
        else:
            self._send(200, body)

    def _send_outcome(self, outcome) -> None:
        status, body, is_tx = outcome
        self._send(status, render.with_tx_links(self._base(), body) if is_tx else body)

    def _body_params(self) -> dict:
        raw = self._raw_body
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                raise BadParam("body", "invalid JSON") from None
            if not isinstance(data, dict):
                raise BadParam("body", "expected a JSON object")
            return {k: str(v) if not isinstance(v, (dict, list)) else v for k, v in data.items()}
        return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}

    def do_OPTIONS(self):  # noqa: N802 - CORS preflight
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            # Read the whole body first: an unread body would corrupt the next request on a
            # kept-alive connection.
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise BadParam("Content-Length", "not a number") from None
            self._raw_body = self.rfile.read(length) if length > 0 else b""
            for m, pattern, handler in ROUTES:
                if m != method:
                    continue
                match = pattern.fullmatch(path)
                if match:
                    handler(self, query, *match.groups())
                    return
            self._send(404, render.not_found())
        except BadParam as e:
            self._send(400, render.bad_request(e.field, e.reason))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # a bug here: say so in Horizon's format and in the log
            traceback.print_exc(file=sys.stderr)
            self._send(500, render.server_error())

    # --- paging -----------------------------------------------------------------------------

    def _paging(self, q: dict) -> tuple[str, bool, int]:
        order = q.get("order") or "asc"
        if order not in ("asc", "desc"):
            raise BadParam("order", "order must be asc or desc")
        try:
            limit = int(q.get("limit") or DEFAULT_LIMIT)
        except ValueError:
            raise BadParam("limit", "limit must be a number") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadParam("limit", f"limit must be between 1 and {MAX_LIMIT}")
        return q.get("cursor") or "", order == "desc", limit

    def _toid_cursor(self, cursor: str, desc: bool) -> int:
        try:
            return self.ledger.parse_cursor(cursor, desc)
        except ValueError:
            raise BadParam("cursor", "cursor must be a paging token (a number) or `now`") from None

    @staticmethod
    def _flag(q: dict, name: str) -> bool:
        v = (q.get(name) or "false").lower()
        if v not in ("true", "false"):
            raise BadParam(name, f"{name} must be true or false")
        return v == "true"

    def _page(self, path, q, records, desc, limit, cursor_out) -> None:
        keep = {k: v for k, v in q.items() if k not in ("cursor", "limit", "order")}
        self._send(
            200, render.page(self._base(), path, keep, records, "desc" if desc else "asc", limit, cursor_out)
        )

    # --- handlers ---------------------------------------------------------------------------

    def root(self, q):
        with self.ledger.lock:
            body = render.root_json(
                self._base(), self.ledger.header, self.ledger.passphrase, self.ledger.elder_ledger()
            )
        self._send(200, body)

    def account(self, q, account_id):
        _account_param(account_id)
        with self.ledger.lock:
            acc = self.ledger.state.get_account(account_id)
            body = render.account_json(self._base(), acc, self.ledger.close_times) if acc else None
        self._send_found(body)

    def account_data(self, q, account_id, key):
        _account_param(account_id)
        with self.ledger.lock:
            acc = self.ledger.state.get_account(account_id)
            value = acc.data.get(unquote(key)) if acc else None
        self._send_found(render.data_json(value) if value is not None else None)

    def transactions(self, q, account_id=None, ledger_seq=None):
        if account_id:
            _account_param(account_id)
        include_failed = self._flag(q, "include_failed")
        ledger = int(ledger_seq) if ledger_seq else None
        base = self._base()

        def fetch(at: int, desc: bool, limit: int) -> list[dict]:
            with self.ledger.lock:
                entries = self.ledger.list_txs(account_id, ledger, include_failed, at, desc, limit)
                return [render.with_tx_links(base, e["record"]) for e in entries]

        if account_id:
            path = f"/accounts/{account_id}/transactions"
        else:
            path = f"/ledgers/{ledger_seq}/transactions" if ledger_seq else "/transactions"
        self._list(q, path, fetch)

    def _operations(self, q, payments_only, account_id=None, tx_hash=None, ledger_seq=None):
        if account_id:
            _account_param(account_id)
        include_failed = self._flag(q, "include_failed")
        join = q.get("join") or ""
        if join not in ("", "transactions"):
            raise BadParam("join", "join must be `transactions`")
        if tx_hash is not None:
            with self.ledger.lock:
                tx_hash = self.ledger.outer_hash(tx_hash)
            if tx_hash is None:
                self._send(404, render.not_found())
                return
        ledger = int(ledger_seq) if ledger_seq else None
        base = self._base()

        def fetch(at: int, desc: bool, limit: int) -> list[dict]:
            with self.ledger.lock:
                entries = self.ledger.list_ops(
                    account_id, tx_hash, ledger, payments_only, include_failed, at, desc, limit
                )
                return [
                    render.with_op_links(
                        base, e["record"], self.ledger.find_tx_record(e["tx_hash"]) if join else None
                    )
                    for e in entries
                ]

        kind = "payments" if payments_only else "operations"
        if account_id:
            path = f"/accounts/{account_id}/{kind}"
        elif tx_hash:
            path = f"/transactions/{tx_hash}/{kind}"
        elif ledger_seq:
            path = f"/ledgers/{ledger_seq}/{kind}"
        else:
            path = f"/{kind}"
        self._list(q, path, fetch)

    def _list(self, q: dict, path: str, fetch) -> None:
        """A page of history, or with `Accept: text/event-stream` Horizon's streaming of it."""
        cursor, desc, limit = self._paging(q)
        if "text/event-stream" in (self.headers.get("Accept") or ""):
            self._stream(fetch, self.headers.get("Last-Event-ID") or cursor, desc)
            return
        at = self._toid_cursor(cursor, desc)
        records = fetch(at, desc, limit)
        # "now" becomes a number, so that following `next` later finds what arrived since
        self._page(path, q, records, desc, limit, str(at) if cursor == "now" else cursor)

    def _stream(self, fetch, cursor: str, desc: bool) -> None:
        """Server-sent events: every record after the cursor, then new ones as ledgers close.
        Like Horizon, a stream ends after a while; clients reconnect with Last-Event-ID."""
        at = self._toid_cursor(cursor, False)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Access-Control-Allow-Origin", "*")
        # chunked, as Horizon does: SSE clients read each event as soon as its chunk arrives
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        chunk(b'retry: 1000\nevent: open\ndata: "hello"\n\n')
        deadline = time.monotonic() + STREAM_SECONDS
        while time.monotonic() < deadline and not self.ledger.stopping:
            records = fetch(at, False, MAX_LIMIT)
            for rec in records:
                chunk(f"id: {rec['paging_token']}\ndata: {json.dumps(rec)}\n\n".encode())
                at = int(rec["paging_token"])
            if not records:
                self.ledger.wait_for_close(1.0)
        chunk(b'event: close\ndata: "byebye"\n\n')
        self.wfile.write(b"0\r\n\r\n")

    def payments(self, q, account_id=None):
        self._operations(q, True, account_id=account_id)

    def operations(self, q, account_id=None):
        self._operations(q, False, account_id=account_id)

    def tx_operations(self, q, tx_hash):
        self._operations(q, False, tx_hash=tx_hash.lower())

    def tx_payments(self, q, tx_hash):
        self._operations(q, True, tx_hash=tx_hash.lower())

    def ledger_operations(self, q, seq):
        self._operations(q, False, ledger_seq=seq)

    def ledger_payments(self, q, seq):
        self._operations(q, True, ledger_seq=seq)

    def ledger_transactions(self, q, seq):
        self.transactions(q, ledger_seq=seq)

    def transaction(self, q, tx_hash):
        if not re.fullmatch(r"[0-9a-fA-F]{64}", tx_hash):
            raise BadParam("tx_id", "Transaction hash must be a hex-encoded, lowercase SHA-256 hash")
        with self.ledger.lock:
            rec = self.ledger.find_tx_record(tx_hash.lower())
        self._send_found(render.with_tx_links(self._base(), rec) if rec else None)

    def operation(self, q, op_id):
        with self.ledger.lock:
            e = self.ledger.find_op(int(op_id))
        self._send_found(render.with_op_links(self._base(), e["record"]) if e else None)

    def ledger_one(self, q, seq):
        with self.ledger.lock:
            header = self.ledger.store.ledger(int(seq)) if self.ledger.store else None
        self._send_found(render.ledger_json(self._base(), header) if header else None)

    def ledgers(self, q):
        cursor, desc, limit = self._paging(q)
        at = self._toid_cursor(cursor, desc)
        with self.ledger.lock:
            # ledger paging tokens are toids with zero transaction and operation parts
            if desc:
                before = at >> 32 if at != (1 << 63) - 1 else 1 << 62
                rows = self.ledger.store.ledgers(0, before, True, limit)
            else:
                rows = self.ledger.store.ledgers(at >> 32, 1 << 62, False, limit)
        base = self._base()
        self._page("/ledgers", q, [render.ledger_json(base, h) for h in rows], desc, limit, cursor)

    def claimable_balances(self, q):
        cursor, desc, limit = self._paging(q)
        claimant = _account_param(q["claimant"], "claimant") if q.get("claimant") else None
        sponsor = _account_param(q["sponsor"], "sponsor") if q.get("sponsor") else None
        asset = q.get("asset") or None
        if asset and asset != "native" and not re.fullmatch(r"[A-Za-z0-9]{1,12}:G[A-Z2-7]{55}", asset):
            raise BadParam("asset", "asset must be `native` or `CODE:ISSUER`")
        if cursor and not re.fullmatch(r"\d+-[0-9a-f]{72}", cursor):
            raise BadParam("cursor", "cursor must be a claimable balance paging token")
        base = self._base()
        with self.ledger.lock:
            items = self.ledger.list_balances(claimant, sponsor, asset, cursor, desc, limit)
            records = [render.claimable_balance_json(base, cb, self.ledger.close_times) for cb in items]
        self._page("/claimable_balances", q, records, desc, limit, cursor)

    def claimable_balance(self, q, balance_id):
        bid = _balance_id(balance_id)
        with self.ledger.lock:
            cb = self.ledger.state.get_balance(bid)
            body = render.claimable_balance_json(self._base(), cb, self.ledger.close_times) if cb else None
        self._send_found(body)

    def fee_stats(self, q):
        with self.ledger.lock:
            h = self.ledger.header
            body = render.fee_stats_json(h["seq"], h.get("operations", 0), self.ledger.recent_txs())
        self._send(200, body)

    def submit(self, q):
        params = self._body_params()
        tx = params.get("tx")
        if not tx:
            raise BadParam("tx", "tx is required: a base64 TransactionEnvelope")
        self._send_outcome(self.ledger.submit(tx))

    def submit_async(self, q):
        params = self._body_params()
        tx = params.get("tx")
        if not tx:
            raise BadParam("tx", "tx is required: a base64 TransactionEnvelope")
        status, body = self.ledger.submit_async(tx)
        self._send(status, body)

    def friendbot(self, q):
        addr = q.get("addr")
        if self.command == "POST" and not addr:
            addr = self._body_params().get("addr")
        self._send_outcome(self.ledger.friendbot(addr or ""))

    def faults_get(self, q):
        self._send(200, self.ledger.set_faults({}))

    def faults_post(self, q):
        params = self._body_params()
        try:
            self._send(200, self.ledger.set_faults(params))
        except (ValueError, TypeError) as e:
            raise BadParam("faults", str(e)) from None


_G = r"([^/]+)"
ROUTES = [
    (m, re.compile(p), h)
    for m, p, h in [
        ("GET", r"/", Handler.root),
        ("GET", rf"/accounts/{_G}", Handler.account),
        ("GET", rf"/accounts/{_G}/data/{_G}", Handler.account_data),
        ("GET", rf"/accounts/{_G}/transactions", Handler.transactions),
        ("GET", rf"/accounts/{_G}/operations", Handler.operations),
        ("GET", rf"/accounts/{_G}/payments", Handler.payments),
        ("GET", r"/transactions", Handler.transactions),
        ("GET", rf"/transactions/{_G}", Handler.transaction),
        ("GET", rf"/transactions/{_G}/operations", Handler.tx_operations),
        ("GET", rf"/transactions/{_G}/payments", Handler.tx_payments),
        ("GET", r"/operations", Handler.operations),
        ("GET", r"/operations/(\d+)", Handler.operation),
        ("GET", r"/payments", Handler.payments),
        ("GET", r"/ledgers", Handler.ledgers),
        ("GET", r"/ledgers/(\d+)", Handler.ledger_one),
        ("GET", r"/ledgers/(\d+)/transactions", Handler.ledger_transactions),
        ("GET", r"/ledgers/(\d+)/operations", Handler.ledger_operations),
        ("GET", r"/ledgers/(\d+)/payments", Handler.ledger_payments),
        ("GET", r"/claimable_balances", Handler.claimable_balances),
        ("GET", rf"/claimable_balances/{_G}", Handler.claimable_balance),
        ("GET", r"/fee_stats", Handler.fee_stats),
        ("GET", r"/friendbot", Handler.friendbot),
        ("POST", r"/friendbot", Handler.friendbot),
        ("POST", r"/transactions", Handler.submit),
        ("POST", r"/transactions_async", Handler.submit_async),
        ("GET", r"/_test/faults", Handler.faults_get),
        ("POST", r"/_test/faults", Handler.faults_post),
    ]
]


class LedgerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog (5) drops bursts of connections.
    request_queue_size = 128

    def __init__(self, address, ledger: Ledger, verbose: bool = False):
        super().__init__(address, Handler)
        self.ledger = ledger
        self.verbose = verbose


class Running:
    """A started ledger and its HTTP server; stop() ends both."""

    def __init__(self, ledger: Ledger, httpd: LedgerHTTPServer):
        self.ledger, self.httpd = ledger, httpd
        self.thread = threading.Thread(target=httpd.serve_forever, name="ledger-http", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.ledger.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 8001,
    state_dir: str = ".local/ledger",
    network_passphrase: str | None = None,
    close_interval: float = 5.0,
    fault_file: str | None = None,
    verbose: bool = False,
) -> Running:
    """Open (or create) the ledger in `state_dir`, start closing ledgers and serving HTTP."""
    kwargs = {"network_passphrase": network_passphrase} if network_passphrase else {}
    ledger = Ledger(state_dir, close_interval=close_interval, fault_file=fault_file, **kwargs)
    ledger.open()
    httpd = LedgerHTTPServer((host, port), ledger, verbose)
    ledger.start()
    return Running(ledger, httpd)
