"""The front door: http://localhost:8000 serving the deployed HTTP API at the root, so the home
domain is `localhost:8000` and every URL in stellar.toml works from a wallet on this machine.
It forwards each request unchanged to the emulator's API Gateway (`.../$default/<path>`).

With MOORING_RECORD_EXCHANGES set to a file path, it also appends every exchange the API
answered (method, path, query, status, content type, body) to that file as one JSON line each:
the deployed tests check them against docs/openapi.yaml (tests/e2e/openapi_check.py)."""

from __future__ import annotations

import http.client
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers are the proxy's own business (RFC 9110 §7.6.1).
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
RECORD_ENV = "MOORING_RECORD_EXCHANGES"


class ExchangeRecorder:
    """Appends exchanges as JSON lines to a file shared by every front door of the process."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()

    def record(self, method: str, target: str, status: int, content_type: str, body: bytes) -> None:
        path, _, query = target.partition("?")
        line = json.dumps({
            "method": method, "path": path, "query": query, "status": status,
            "content_type": content_type, "body": body.decode("utf-8", errors="replace"),
        })
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def recorder_from_env() -> ExchangeRecorder | None:
    path = os.environ.get(RECORD_ENV)
    return ExchangeRecorder(path) if path else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog (5) drops bursts of connections (the load tests send many).
    request_queue_size = 128


class FrontDoor:
    def __init__(self, api_url: str, host: str = "127.0.0.1", port: int = 8000,
                 recorder: ExchangeRecorder | None = None):
        target = urlsplit(api_url)
        recorder = recorder or recorder_from_env()
        handler = _handler(target.hostname or "127.0.0.1", target.port or 80, target.path.rstrip("/"), recorder)
        self.server = _Server((host, port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="front-door", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FrontDoor":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(upstream_host: str, upstream_port: int, prefix: str, recorder: ExchangeRecorder | None):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.answer(413, b'{"error":"request body too large"}')
                return
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-Host"] = self.headers.get("Host", "")
            headers["X-Forwarded-Proto"] = "http"
            upstream = http.client.HTTPConnection(upstream_host, upstream_port, timeout=60)
            try:
                upstream.request(self.command, prefix + self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                if recorder is not None:
                    recorder.record(self.command, self.path, response.status,
                                    response.getheader("Content-Type") or "", payload)
                self.send_response(response.status)
                sent = set()
                for key, value in response.getheaders():
                    # BaseHTTPRequestHandler sends its own Date and Server. The emulator adds its
                    # CORS headers beside the function's where AWS replaces them: send each once.
                    line = (key.lower(), value)
                    if key.lower() in HOP_BY_HOP or key.lower() in ("date", "server") or line in sent:
                        continue
                    sent.add(line)
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            except OSError as error:
                self.answer(502, f'{{"error":"the local API is unavailable: {type(error).__name__}"}}'.encode())
            finally:
                upstream.close()

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = forward

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
            pass

    return Handler
