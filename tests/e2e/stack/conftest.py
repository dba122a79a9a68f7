"""The local stack of README command one, once per test session, on free ports: template.yaml
deployed into the local AWS, the front door, the local ledger. The tests here drive the
DEPLOYED functions (Lambda bootstraps in ministack, DynamoDB, SQS) through the front door; the
`anchor` fixture of this folder stands for the deployed anchor, so the wallet suites written for
the in-process gateway run here unchanged."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.local_stack.frontdoor import RECORD_ENV  # noqa: E402
from infra.local_stack.stack import LocalStack  # noqa: E402
from openapi_check import DOCUMENT, check_recording  # noqa: E402
from stacks import running_stack  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def responses_match_the_api_description():
    """Every answer of the deployed API in these tests, checked against docs/openapi.yaml: the
    front doors of the session's stacks record each exchange, and the session fails at its end
    with the list of mismatches (undocumented path, method, status, content type or shape)."""
    with tempfile.TemporaryDirectory(prefix="mooring-exchanges-") as work:
        # A recording the developer asked for is kept where they asked.
        recording = Path(os.environ.get(RECORD_ENV) or Path(work) / "exchanges.jsonl")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(RECORD_ENV, str(recording))
            yield
        checked, mismatches = check_recording(recording)
        if mismatches:
            listing = "\n".join(f"  {m}" for m in mismatches)
            pytest.fail(
                f"{len(mismatches)} answers of the deployed API do not match {DOCUMENT.name} "
                f"({checked} exchanges checked):\n{listing}",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def stack():
    # The payment tests cover the claimable-balance path of deposits (SEP-24 /info shows it).
    with running_stack("mooring-test", extra_parameters={"ClaimableBalances": "true"}) as local:
        yield local


@dataclass
class DeployedAnchor:
    """What the wallet suites need to know of an anchor, for the deployed stack."""

    stack: LocalStack

    @property
    def base_url(self) -> str:
        return self.stack.settings.public_url

    @property
    def home_domain(self) -> str:
        return self.stack.settings.home_domain

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/auth"

    @property
    def kyc_url(self) -> str:
        return f"{self.base_url}/kyc"

    @property
    def transfer_url(self) -> str:
        return f"{self.base_url}/sep24"

    @property
    def asset_code(self) -> str:
        return self.stack.settings.asset_code

    @property
    def asset_issuer(self) -> str:
        return self.stack.keys.issuer.public_key

    @property
    def distribution_account(self) -> str:
        return self.stack.keys.distribution.public_key

    @property
    def assets(self) -> list:
        return self.stack.assets

    @property
    def network_passphrase(self) -> str:
        return self.stack.settings.network_passphrase

    @property
    def jwt_secret(self) -> str:
        return self.stack.jwt_secret

    def wait_for_log(self, pattern: str, timeout: float = 15.0) -> re.Match:
        """The last line matching `pattern` in any function's CloudWatch log group."""
        logs = self.stack.aws.boto("logs")
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/").get("logGroups", [])
            for group in groups:
                events = logs.filter_log_events(logGroupName=group["logGroupName"]).get("events", [])
                for event in reversed(events):
                    match = compiled.search(event.get("message", ""))
                    if match:
                        return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no Lambda log line matches {pattern!r}")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def pipeline(stack):
    """The payment functions, tables, ledger and bank of the stack (payments.py)."""
    from payments import Pipeline

    pipeline = Pipeline(stack)
    # The watcher's first run reads the distribution account's payments from the oldest (its
    # history, recorded as such): run it now, so that the tests' own runs start after it.
    pipeline.invoke("PaymentWatcherFunction")
    return pipeline


@pytest.fixture(scope="session")
def anchor(stack):
    return DeployedAnchor(stack)
