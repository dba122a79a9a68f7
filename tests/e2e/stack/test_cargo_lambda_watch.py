"""README, "Running single functions with cargo lambda": the recipe's `cargo lambda watch` command
line, taken from the README itself and run as written, serves every function against the local
stack: a SEP-10 login, SEP-12 PUT and GET, a SEP-24 interactive deposit and its page, a SEP-6
deposit, SEP-31's /info; and
`cargo lambda invoke` runs each worker once. No function looks for the instance metadata service
(the env file gives the SDK a region, an endpoint and credentials): a stand-in metadata service
records any request, and must see none.

The one change to the command line: the env file and configuration are the test stack's (a
temporary work dir) instead of `.local/stack/`'s."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from stellar_sdk import Keypair, TransactionEnvelope

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from infra.local_stack import template as tpl  # noqa: E402

SECTION = "## Running single functions with cargo lambda"
WORKERS_EVENTS = {
    "schedule": {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
    "sqs": {"Records": []},
}


def readme_commands(prefix: str) -> list[str]:
    """The README section's shell commands that start with `prefix` (continuation lines joined)."""
    text = (REPO / "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            command = command.split("  #", 1)[0].strip()
            if command.startswith(prefix):
                commands.append(command)
    return commands


class MetadataServiceWitness:
    """A stand-in for the EC2 instance metadata service that records every request it gets."""

    def __init__(self):
        self.requests: list[str] = []
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                witness.requests.append(f"GET {self.path}")
                self.send_response(404)
                self.end_headers()

            def do_PUT(self):  # noqa: N802
                witness.requests.append(f"PUT {self.path}")
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture(scope="module")
def watch(stack):
    commands = readme_commands("cargo lambda watch")
    assert len(commands) == 1, f"the README section should show one `cargo lambda watch` line: {commands}"
    command = commands[0].replace(".local/stack/", f"{stack.settings.work_dir}/")
    port = int(re.search(r"-P (\d+)", command).group(1))
    assert port == stack.settings.watch_port, "the README's port and the env file's port differ"
    if not port_is_free(port):
        pytest.fail(f"port {port} is taken: stop the process using it (the README's recipe needs it)")
    witness = MetadataServiceWitness()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = witness.url
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = "IPv4"
    # No AWS settings of the developer's shell: only the env file's.
    for name in list(env):
        if name.startswith("AWS_") and not name.startswith("AWS_EC2_METADATA"):
            del env[name]
    log = open(stack.settings.work_dir / "logs" / "cargo-lambda-watch.log", "wb")
    child = subprocess.Popen(
        ["bash", "-c", command], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://localhost:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            requests.get(f"{base}/lambda-url/sep1-toml/.well-known/stellar.toml", timeout=300)
            break
        except requests.ConnectionError:
            if child.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("cargo lambda watch did not start:\n"
                            + (stack.settings.work_dir / "logs" / "cargo-lambda-watch.log").read_text()[-3000:])
            time.sleep(0.5)
    yield base, witness, env, port
    os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
    witness.close()
    log.close()


def function_url(base: str, function: str, path: str) -> str:
    return f"{base}/lambda-url/{function}{path}"


def login(base: str, keypair: Keypair, home_domain: str, passphrase: str) -> str:
    challenge = requests.get(function_url(base, "sep10-auth", "/auth"), params={"account": keypair.public_key}, timeout=300)
    assert challenge.status_code == 200, challenge.text
    assert challenge.json()["network_passphrase"] == passphrase
    envelope = TransactionEnvelope.from_xdr(challenge.json()["transaction"], passphrase)
    assert envelope.transaction.operations[0].data_name == f"{home_domain} auth"
    envelope.sign(keypair)
    token = requests.post(function_url(base, "sep10-auth", "/auth"), json={"transaction": envelope.to_xdr()}, timeout=300)
    assert token.status_code == 200, token.text
    return token.json()["token"]


def test_the_readme_recipe_serves_every_http_function(stack, watch):
    base, witness, _, port = watch
    home_domain = f"localhost:{port}"

    toml = requests.get(function_url(base, "sep1-toml", "/.well-known/stellar.toml"), timeout=300)
    assert toml.status_code == 200, toml.text
    assert f'SIGNING_KEY = "{stack.keys.signing.public_key}"' in toml.text
    assert f'TRANSFER_SERVER_SEP0024 = "http://{home_domain}/sep24"' in toml.text
    assert f'TRANSFER_SERVER = "http://{home_domain}/sep6"' in toml.text
    assert f'DIRECT_PAYMENT_SERVER = "http://{home_domain}/sep31"' in toml.text

    user = Keypair.random()
    token = login(base, user, home_domain, stack.settings.network_passphrase)
    auth = {"Authorization": f"Bearer {token}"}

    put = requests.put(
        function_url(base, "sep12-kyc", "/kyc/customer"),
        json={"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com"},
        headers=auth,
        timeout=300,
    )
    assert put.status_code == 202, put.text
    customer = requests.get(function_url(base, "sep12-kyc", "/kyc/customer"), headers=auth, timeout=300)
    assert customer.status_code == 200, customer.text
    assert customer.json()["id"] == put.json()["id"]

    opened = requests.post(
        function_url(base, "sep24-transfer", "/sep24/transactions/deposit/interactive"),
        json={"asset_code": stack.settings.asset_code, "amount": "25"},
        headers=auth,
        timeout=300,
    )
    assert opened.status_code == 200, opened.text
    url = opened.json()["url"]
    assert url.startswith(f"http://{home_domain}/sep24/interactive?")
    # The link a wallet hands to its user, opened by a plain HTTP client (no browser): the router
    # sends /sep24/interactive... to sep24-interactive, whose session cookie works over http.
    page = requests.Session().get(url, timeout=300)
    assert page.status_code == 200, page.text
    # The flow's form (the amount came with the POST: the confirmation step), with its CSRF token.
    assert "<form" in page.text and 'name="csrf_token"' in page.text, page.text
    transaction = requests.get(
        function_url(base, "sep24-transfer", "/sep24/transaction"), params={"id": opened.json()["id"]}, headers=auth, timeout=300
    )
    assert transaction.status_code == 200, transaction.text
    assert transaction.json()["transaction"]["status"] == "incomplete"
    # sep24-interactive at its function URL too: the transaction's more-info page.
    more_info = requests.get(
        function_url(base, "sep24-interactive", "/sep24/more-info"), params={"id": opened.json()["id"]}, timeout=300
    )
    assert more_info.status_code == 200, more_info.text
    assert 'id="status-text"' in more_info.text, more_info.text

    # sep6-transfer: /info without a token, then a deposit whose KYC (the email not verified
    # yet) the transaction waits for.
    info = requests.get(function_url(base, "sep6-transfer", "/sep6/info"), timeout=300)
    assert info.status_code == 200, info.text
    assert info.json()["deposit"][stack.settings.asset_code]["funding_methods"] == ["bank_transfer"]
    sep6 = requests.get(
        function_url(base, "sep6-transfer", "/sep6/deposit"),
        params={"asset_code": stack.settings.asset_code, "funding_method": "bank_transfer", "amount": "25"},
        headers=auth,
        timeout=300,
    )
    assert sep6.status_code == 200, sep6.text
    sep6_transaction = requests.get(
        function_url(base, "sep6-transfer", "/sep6/transaction"), params={"id": sep6.json()["id"]}, headers=auth, timeout=300
    )
    assert sep6_transaction.status_code == 200, sep6_transaction.text
    assert sep6_transaction.json()["transaction"]["status"] == "pending_customer_info_update"

    # sep31-receive: /info without a token (it started: partners, queue URL and keys read from
    # the env file).
    sep31_info = requests.get(function_url(base, "sep31-receive", "/sep31/info"), timeout=300)
    assert sep31_info.status_code == 200, sep31_info.text
    assert sep31_info.json()["receive"][stack.settings.asset_code]["funding_methods"] == ["bank_transfer"]

    assert witness.requests == [], f"a function asked the instance metadata service: {witness.requests}"


def test_cargo_lambda_invoke_runs_each_worker_once(stack, watch):
    base, witness, env, port = watch
    template = tpl.load(REPO / "template.yaml")
    workers = {}
    for logical_id, binary in tpl.function_binaries(template).items():
        events = template["Resources"][logical_id]["Properties"].get("Events", {}).values()
        kinds = {event["Type"] for event in events}
        if kinds == {"Schedule"}:
            workers[binary] = "schedule"
        elif kinds == {"SQS"}:
            workers[binary] = "sqs"
    assert len(workers) >= 6, workers
    invokes = readme_commands("cargo lambda invoke")
    assert invokes, "the README section should show how to invoke a worker"
    for binary, kind in sorted(workers.items()):
        result = subprocess.run(
            [
                "cargo", "lambda", "invoke", "-A", "127.0.0.1", "-P", str(port), binary,
                "--data-ascii", json.dumps(WORKERS_EVENTS[kind]),
            ],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        )
        assert result.returncode == 0, f"{binary}: {result.stdout}\n{result.stderr}"
        if kind == "sqs":
            assert json.loads(result.stdout) == {"batchItemFailures": []}, (binary, result.stdout)
    # The README's own invoke lines run as written (the test stack's port is the README's).
    for command in invokes:
        result = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    assert witness.requests == [], f"a worker asked the instance metadata service: {witness.requests}"
