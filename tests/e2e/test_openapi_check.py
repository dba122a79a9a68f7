"""The API description is a valid OpenAPI 3.1 document, the front door records exchanges when
told to, and the checker of recorded exchanges (openapi_check.py) catches each kind of
mismatch: a deliberately wrong answer fails."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from infra.local_stack.frontdoor import ExchangeRecorder, FrontDoor  # noqa: E402
from openapi_check import DOCUMENT, Checker, Exchange, check_recording, load_document  # noqa: E402

ACCOUNT = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"
QUOTE = {
    "id": "q-1",
    "expires_at": "2026-12-06T23:00:00.000Z",
    "total_price": "1.01",
    "price": "1",
    "sell_asset": "iso4217:USD",
    "sell_amount": "101",
    "buy_asset": f"stellar:USDC:{ACCOUNT}",
    "buy_amount": "100",
    "fee": {"total": "1", "asset": "iso4217:USD"},
}


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(load_document())


def answer(method: str, path: str, status: int, body, content_type: str = "application/json",
           query: str = "") -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange(method, path, query, status, content_type, text)


def test_the_document_is_valid_openapi_3_1():
    document, _ = read_from_filename(str(DOCUMENT))
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_answers_as_documented_pass(checker):
    good = [
        answer("GET", "/sep38/quote/q-1", 200, QUOTE),
        answer("POST", "/sep38/quote", 201, QUOTE),
        answer("GET", "/sep38/quote/q-2", 404, {"error": "no such quote"}),
        answer("GET", "/sep24/transaction", 403, {"type": "authentication_required"}),
        answer("GET", "/kyc/customer/files", 200, {"files": []}),
        answer("DELETE", f"/kyc/customer/{ACCOUNT}", 200, {}),
        answer("PUT", "/sep31/transactions/t-1/callback", 204, "", "text/plain"),
        answer("GET", "/.well-known/stellar.toml", 200, 'VERSION = "2.7.0"\n', "text/plain; charset=utf-8"),
        answer("GET", "/sep24/more-info", 404, "<html></html>", "text/html; charset=utf-8", "id=x"),
        answer("OPTIONS", "/auth", 204, "", "text/plain"),
        # Unknown paths and methods are refused with 404/405, as the conventions say.
        answer("GET", "/sep6/nothing-here", 404, {"error": "no such SEP-6 endpoint"}),
        answer("PUT", "/sep24/info", 405, {"error": "method not allowed"}),
    ]
    assert checker.check(good) == []


@pytest.mark.parametrize(
    "exchange, expected",
    [
        # A wrong field type: an amount as a number where the document says decimal string.
        (answer("GET", "/sep38/quote/q-1", 200, {**QUOTE, "sell_amount": 101}),
         "$.sell_amount: 101 is not of type 'string'"),
        # A missing required field.
        (answer("GET", "/sep38/quote/q-1", 200, {k: v for k, v in QUOTE.items() if k != "fee"}),
         "'fee' is a required property"),
        # A field the document does not allow.
        (answer("GET", "/sep38/quote/q-1", 200, {**QUOTE, "secret": "x"}),
         "Additional properties are not allowed ('secret' was unexpected)"),
        # A refusal without the `error` string.
        (answer("GET", "/sep24/transactions", 400, {"message": "bad"}),
         "'error' is a required property"),
        # A body that is not JSON where JSON is documented.
        (answer("POST", "/auth", 200, "<html>", "application/json"), "the body is not JSON"),
        # An undocumented status.
        (answer("GET", "/sep38/info", 302, ""), "undocumented status 302"),
        # An undocumented content type.
        (answer("GET", "/sep38/info", 200, "assets", "text/plain"), "content type text/plain is not documented"),
        # An undocumented path answered as if it existed.
        (answer("GET", "/sep99/info", 200, {}), "undocumented path /sep99/info"),
        # An undocumented method answered as if it existed.
        (answer("DELETE", "/sep24/info", 200, {}), "undocumented method DELETE on /sep24/info"),
        # A body where the document gives none.
        (answer("PUT", "/sep31/transactions/t-1/callback", 204, {"ok": True}), "gives no body"),
    ],
)
def test_each_kind_of_mismatch_is_caught(checker, exchange, expected):
    problems = checker.problems(exchange)
    assert problems, f"{exchange} passed"
    assert expected in problems[0], problems
    assert str(exchange) in problems[0]


def test_literal_paths_win_over_templates(checker):
    # /kyc/customer/files is its own path, not /kyc/customer/{account} (DELETE only).
    assert checker.route("/kyc/customer/files")[0] == "/kyc/customer/files"
    assert checker.route(f"/kyc/customer/{ACCOUNT}")[0] == "/kyc/customer/{account}"
    assert checker.route("/kyc/customer/a/b") is None


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        body = json.dumps({"error": "no such quote"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002
        pass


def test_the_front_door_records_exchanges_that_the_checker_reads(tmp_path):
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    recording = tmp_path / "exchanges.jsonl"
    door = FrontDoor(f"http://127.0.0.1:{upstream.server_address[1]}/stage", port=0,
                     recorder=ExchangeRecorder(str(recording))).start()
    try:
        response = requests.get(f"{door.url}/sep38/quote/q-9?lang=en", timeout=5)
        assert response.status_code == 404
    finally:
        door.stop()
        upstream.shutdown()
        upstream.server_close()
    [line] = recording.read_text().splitlines()
    assert json.loads(line) == {
        "method": "GET", "path": "/sep38/quote/q-9", "query": "lang=en", "status": 404,
        "content_type": "application/json", "body": '{"error": "no such quote"}',
    }
    assert check_recording(recording) == (1, [])
    # The same recording with a wrong answer fails, naming the exchange.
    recording.write_text(json.dumps({**json.loads(line), "body": '{"detail": "gone"}'}) + "\n")
    checked, mismatches = check_recording(recording)
    assert checked == 1
    assert mismatches == ["GET /sep38/quote/q-9?lang=en -> 404: $: 'error' is a required property"]
