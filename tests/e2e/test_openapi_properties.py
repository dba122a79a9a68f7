"""A property-based HTTP suite derived from the API description (docs/openapi.yaml).

schemathesis generates requests for every operation of the document, valid and invalid ones
(wrong types, missing or extra parameters, odd bodies), and sends them with a real SEP-10 token
to an in-process anchor (`mooring-local`) configured for every SEP. Each answer must hold:

* no 5xx: nothing a client sends may crash the anchor or be taken for its fault;
* the answer matches the document (tests/e2e/openapi_check.py): a documented status, content
  type and body, so every refusal of the API is a 4xx with `{"error": "<message>"}` (or SEP-6 and
  SEP-24's documented `authentication_required`), and the interactive pages answer with a page.

Examples per operation and mode (valid, invalid): MOORING_PROPERTY_EXAMPLES (default 8, about
a minute and a half in all); a longer run: MOORING_PROPERTY_EXAMPLES=500.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from stellar_sdk import Keypair, Network

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from infra.local_stack.processes import free_port  # noqa: E402
from openapi_check import DOCUMENT, Checker, Exchange, load_document  # noqa: E402
from sep24_wallet import TransferServer  # noqa: E402

EXAMPLES = int(os.environ.get("MOORING_PROPERTY_EXAMPLES", "8"))
TIMEOUT = 10


@pytest.fixture(scope="module")
def full_anchor(horizon, launch_mooring_local) -> str:
    """`mooring-local` with SEP-6, 12, 24, 31 and 38 all configured (as the local stack is)."""
    port = free_port()
    home_domain = f"localhost:{port}"
    issuer = Keypair.random().public_key
    asset = f"stellar:USDC:{issuer}"
    direction = {"min_amount": 1, "max_amount": 10000, "fee_fixed": 1, "fee_percent": 0.5,
                 "funding_methods": ["bank_transfer"]}
    bank = {"name": "bank_transfer", "description": "A bank transfer"}
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        "MOORING_LOCAL_ADDR": f"127.0.0.1:{port}",
        "HOME_DOMAIN": home_domain,
        "PUBLIC_URL": f"http://{home_domain}",
        "NETWORK_PASSPHRASE": Network.TESTNET_NETWORK_PASSPHRASE,
        "SIGNING_SEED": Keypair.random().secret,
        "JWT_SECRET": secrets.token_hex(32),
        "HORIZON_URL": horizon.url,
        "ASSETS": json.dumps([{
            "code": "USDC",
            "issuer": issuer,
            "distribution_account": Keypair.random().public_key,
            "seps": ["sep6", "sep24", "sep31", "sep38"],
            "significant_decimals": 2,
            "deposit": direction,
            "withdraw": direction,
            "receive": direction,
        }]),
        "OFFCHAIN_ASSETS": json.dumps([{
            "asset": "iso4217:USD", "decimals": 2, "country_codes": ["US"],
            "sell_delivery_methods": [bank], "buy_delivery_methods": [bank],
        }]),
        "QUOTE_RATES": json.dumps([
            {"sell_asset": "iso4217:USD", "buy_asset": asset, "rate": "1", "spread_percent": "0.5",
             "fee_fixed": "1", "fee_percent": "0.5"},
            {"sell_asset": asset, "buy_asset": "iso4217:USD", "rate": "1", "spread_percent": "0.5",
             "fee_fixed": "0.5", "fee_percent": "0.25"},
        ]),
        "SEP31_SENDING_ANCHORS": "*",
        # Generated client_domain values must not make each challenge wait on the network.
        "SEP10_CLIENT_DOMAIN_TIMEOUT_MS": "200",
        "RUST_LOG": "error",
    }
    launch_mooring_local(env)
    return f"http://{home_domain}"


@pytest.fixture(scope="module")
def token(full_anchor) -> str:
    return TransferServer(full_anchor.removeprefix("http://")).login(Keypair.random())


# The CORS preflights are answered before any parsing, and have tests of their own.
SCHEMA = schemathesis.openapi.from_path(DOCUMENT).exclude(method="OPTIONS")
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
checker = Checker(load_document())


def takes_input(label: str) -> bool:
    """Whether an operation has parameters or a body, which invalid requests can get wrong."""
    definition = OPERATIONS[label].definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody")
                or OPERATIONS[label].path_parameters)


CASES = [(label, POSITIVE) for label in sorted(OPERATIONS)] + [
    (label, NEGATIVE) for label in sorted(OPERATIONS) if takes_input(label)
]


@pytest.mark.parametrize("label, mode", CASES, ids=[f"{label} {mode.value}" for label, mode in CASES])
def test_every_generated_request_is_answered_as_documented(label, mode, full_anchor, token):
    # (The schemathesis pytest plugin does not support this pytest: hypothesis directly.)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    def answered_as_documented(case):
        response = case.call(
            base_url=full_anchor, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
        target = response.request.path_url
        exchange = Exchange(
            method=case.method.upper(),
            path=target.split("?", 1)[0],
            query=target.partition("?")[2],
            status=response.status_code,
            content_type=content_type(response.headers),
            body=response.text,
        )
        assert response.status_code < 500, f"{exchange}: a server error: {response.text[:300]}"
        problems = checker.problems(exchange)
        assert not problems, "\n".join(problems)

    answered_as_documented()


def content_type(headers: dict) -> str:
    """schemathesis gives each header as a list of values, under its lower-case name."""
    value = headers.get("content-type") or headers.get("Content-Type") or ""
    return value[0] if isinstance(value, list) else value
