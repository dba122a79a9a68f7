"""The local stack of README command one, on free ports: template.yaml deployed into the local
AWS, the front door, the local ledger. A stellar-sdk wallet authenticates through it, so the
Rust Horizon adapter is proven against the ledger (itself built on stellar-sdk)."""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from stellar_sdk import Keypair

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.local_stack import template as tpl  # noqa: E402
from infra.local_stack.accounts import FLOAT  # noqa: E402
from wallet import Anchor, fund_with_second_signer, jwt_claims  # noqa: E402


@pytest.fixture(scope="module")
def wallet_anchor(stack):
    return Anchor(stack.settings.home_domain)


def url(stack, path: str) -> str:
    return f"{stack.settings.public_url}{path}"


def test_every_http_route_of_the_template_answers_through_the_front_door(stack):
    routes = tpl.http_routes(stack.aws.processed_template(stack.settings.stack))
    declared = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for resource in tpl.load(REPO / "template.yaml")["Resources"].values()
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event.get("Type") == "HttpApi"
    }
    assert {(r.method, r.path) for r in routes} == declared
    # What the gateway itself answers for a path no route matches.
    unrouted = requests.get(url(stack, "/no/such/route"), timeout=30)
    assert unrouted.status_code == 404
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        method = "GET" if route.method == "ANY" else route.method  # ANY: the function takes every method
        response = requests.request(method, url(stack, path), headers={"Origin": "https://wallet.example"}, timeout=30)
        # Served by our function (which may well answer 404 for a made-up sub-path), never the
        # gateway's own 404; CORS on every answer.
        assert not (response.status_code == 404 and response.content == unrouted.content), route
        assert response.headers.get("Access-Control-Allow-Origin") == "*", route


def test_an_unknown_route_is_a_404(stack):
    assert requests.get(url(stack, "/no/such/route"), timeout=30).status_code == 404
    assert requests.post(url(stack, "/.well-known/stellar.toml"), timeout=30).status_code == 404


def test_cors_preflight_is_answered_by_the_gateway(stack):
    response = requests.options(
        url(stack, "/auth"),
        headers={"Origin": "https://wallet.example", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert response.status_code in (200, 204), response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_stellar_toml_describes_the_local_anchor(stack, wallet_anchor):
    anchor = wallet_anchor
    keys = stack.keys
    assert anchor.signing_key == keys.signing.public_key
    assert anchor.auth_url == f"http://{stack.settings.home_domain}/auth"
    assert anchor.passphrase == stack.settings.network_passphrase
    currency = anchor.toml["CURRENCIES"][0]
    assert (currency["code"], currency["issuer"]) == ("USDC", keys.issuer.public_key)
    assert set(anchor.toml["ACCOUNTS"]) == {keys.issuer.public_key, keys.distribution.public_key}


def test_anchor_accounts_are_funded_and_hold_the_asset(stack):
    balances = requests.get(f"{stack.horizon_url}/accounts/{stack.keys.distribution.public_key}", timeout=10).json()["balances"]
    usdc = [b for b in balances if b.get("asset_code") == "USDC"]
    assert usdc and usdc[0]["asset_issuer"] == stack.keys.issuer.public_key
    # Topped up to the float at start; the session's earlier tests may have paid deposits from it.
    assert FLOAT - 1000 < Decimal(usdc[0]["balance"]) <= FLOAT


def test_sep10_with_a_fresh_account(wallet_anchor):
    anchor = wallet_anchor
    fresh = Keypair.random()
    response = anchor.login(fresh.public_key, [fresh])
    assert response.status_code == 200, response.text
    claims = jwt_claims(response.json()["token"])
    assert claims["sub"] == fresh.public_key
    assert claims["iss"] == anchor.auth_url
    # A second key on an account that does not exist is refused.
    refused = anchor.login(fresh.public_key, [fresh, Keypair.random()])
    assert refused.status_code == 400, refused.text


def test_sep10_with_a_two_signer_account_on_the_ledger(stack, wallet_anchor):
    anchor = wallet_anchor
    user, cosigner = fund_with_second_signer(stack.horizon_url, anchor.passphrase)
    one = anchor.login(user.public_key, [user])
    assert one.status_code == 400, one.text
    assert "medium threshold" in one.json()["error"]
    both = anchor.login(user.public_key, [user, cosigner])
    assert both.status_code == 200, both.text
    assert jwt_claims(both.json()["token"])["sub"] == user.public_key


def test_the_demo_bank_runs_beside_the_stack_and_the_functions_know_it(stack):
    bank = stack.settings.bank_url
    assert requests.get(f"{bank}/", timeout=10, proxies={"http": None, "https": None}).json()["transfers"] == "/transfers"
    ids = stack.aws.physical_ids(stack.settings.stack)
    lambdas = stack.aws.boto("lambda")
    functions = [logical for logical in tpl.function_binaries(tpl.load(REPO / "template.yaml")) if "Sep24" in logical]
    assert functions, "the SEP-24 functions are in the template"
    for logical in functions:
        variables = lambdas.get_function_configuration(FunctionName=ids[logical])["Environment"]["Variables"]
        assert variables["DEMO_BANK_URL"] == bank, logical


def test_sep31_is_deployed_advertised_and_fed_by_its_queue(stack, wallet_anchor):
    """The SEP-31 functions of the template run in the stack: sep31-receive behind
    ANY /sep31/{proxy+} (advertised as DIRECT_PAYMENT_SERVER), partners only past /info, and the
    outgoing-payments worker on OutgoingPaymentsQueue."""
    assert wallet_anchor.toml["DIRECT_PAYMENT_SERVER"] == f"http://{stack.settings.home_domain}/sep31"
    info = requests.get(url(stack, "/sep31/info"), headers={"Origin": "https://sender.example"}, timeout=30)
    assert info.status_code == 200, info.text
    assert info.headers.get("Access-Control-Allow-Origin") == "*"
    asset = info.json()["receive"][stack.settings.asset_code]
    assert asset["funding_methods"] == ["bank_transfer"]
    assert (asset["min_amount"], asset["max_amount"]) == (1, 10000)
    assert asset["quotes_supported"] is True
    refused = requests.post(url(stack, "/sep31/transactions"), json={"amount": "10"}, timeout=30)
    assert refused.status_code == 403, refused.text
    assert "error" in refused.json()

    ids = stack.aws.physical_ids(stack.settings.stack)
    lambdas = stack.aws.boto("lambda")
    variables = lambdas.get_function_configuration(FunctionName=ids["Sep31ReceiveFunction"])["Environment"]["Variables"]
    assert variables["SEP31_SENDING_ANCHORS"] == "*", "the local stack admits any sending anchor"
    mappings = lambdas.list_event_source_mappings(FunctionName=ids["OutgoingPaymentsFunction"])["EventSourceMappings"]
    queue_arn = stack.aws.boto("sqs").get_queue_attributes(
        QueueUrl=ids["OutgoingPaymentsQueue"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert [m["EventSourceArn"] for m in mappings] == [queue_arn]
