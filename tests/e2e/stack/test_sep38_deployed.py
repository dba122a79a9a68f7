"""SEP-38 against the DEPLOYED stack (the sep38-quotes Lambda in the local AWS, quotes in
DynamoDB), from a client written with httpx and the Python stellar-sdk (SEP-10 login): the
wallet finds ANCHOR_QUOTE_SERVER in stellar.toml, reads the quoted assets, prices, one price,
takes a firm quote, reads it back, and another user cannot see it; a SEP-24 deposit bound to a
quote shows the quoted amounts. The SEP's identities are checked with Python's own decimals."""

from __future__ import annotations

import sys
import tomllib
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_sep12_wallet import login  # noqa: E402

TIMEOUT = 10  # seconds, per request


@pytest.fixture(scope="module")
def quote_server(anchor) -> str:
    toml = tomllib.loads(httpx.get(f"{anchor.base_url}/.well-known/stellar.toml", timeout=TIMEOUT).text)
    assert toml["ANCHOR_QUOTE_SERVER"] == f"{anchor.base_url}/sep38"
    return toml["ANCHOR_QUOTE_SERVER"]


@pytest.fixture(scope="module")
def stellar_asset(anchor) -> str:
    return f"stellar:{anchor.asset_code}:{anchor.asset_issuer}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_info_lists_the_demo_dollar_and_us_dollars(quote_server, stellar_asset):
    response = httpx.get(f"{quote_server}/info", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assets = {entry["asset"]: entry for entry in response.json()["assets"]}
    assert set(assets) == {stellar_asset, "iso4217:USD"}
    assert assets["iso4217:USD"]["country_codes"] == ["US"]
    assert [m["name"] for m in assets["iso4217:USD"]["sell_delivery_methods"]] == ["bank_transfer"]


def test_prices_and_price_without_a_token(quote_server, stellar_asset):
    response = httpx.get(
        f"{quote_server}/prices", params={"sell_asset": "iso4217:USD", "sell_amount": "100"}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    [offer] = response.json()["buy_assets"]
    assert offer == {"asset": stellar_asset, "price": "1.005", "decimals": 2}

    params = {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "100", "context": "sep6"}
    price = httpx.get(f"{quote_server}/price", params=params, timeout=TIMEOUT)
    assert price.status_code == 200, price.text
    body = price.json()
    assert set(body) == {"total_price", "price", "sell_amount", "buy_amount", "fee"}
    sell, buy, fee = Decimal(body["sell_amount"]), Decimal(body["buy_amount"]), Decimal(body["fee"]["total"])
    assert body["fee"]["asset"] == "iso4217:USD"
    assert sell == Decimal("100") and fee == Decimal("1.5")  # 1 USD + 0.5 %
    # The SEP's identities, to the cent (both assets have 2 decimals here).
    cent = Decimal("0.01")
    assert (Decimal(body["total_price"]) * buy).quantize(cent) == sell
    assert (Decimal(body["price"]) * buy).quantize(cent) == sell - fee
    assert buy == ((sell - fee) / Decimal("1.005")).quantize(cent, rounding="ROUND_DOWN")


def test_refusals_are_400_with_an_error(quote_server, stellar_asset):
    for params in [
        {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "context": "sep6"},
        {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "1", "buy_amount": "1", "context": "sep6"},
        {"sell_asset": "iso4217:JPY", "buy_asset": stellar_asset, "sell_amount": "100", "context": "sep6"},
        {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "100.001", "context": "sep6"},
        {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "-5", "context": "sep6"},
        {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "1e9", "context": "sep6"},
        {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "100", "context": "sep99"},
        {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "100", "context": "sep6",
         "sell_delivery_method": "cash"},
    ]:
        response = httpx.get(f"{quote_server}/price", params=params, timeout=TIMEOUT)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["error"], params


def test_a_firm_quote_is_read_back_by_its_owner_only(anchor, quote_server, stellar_asset):
    owner = login(anchor, Keypair.random())
    request = {"sell_asset": stellar_asset, "buy_asset": "iso4217:USD", "sell_amount": "50",
               "buy_delivery_method": "bank_transfer", "context": "sep24"}
    assert httpx.post(f"{quote_server}/quote", json=request, timeout=TIMEOUT).status_code == 403

    expire_after = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = httpx.post(
        f"{quote_server}/quote", json={**request, "expire_after": expire_after}, headers=bearer(owner), timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    quote = created.json()
    assert set(quote) == {"id", "expires_at", "total_price", "price", "sell_asset", "sell_amount",
                          "buy_asset", "buy_amount", "buy_delivery_method", "fee"}
    assert quote["sell_amount"] == "50" and quote["buy_delivery_method"] == "bank_transfer"
    expires_at = datetime.fromisoformat(quote["expires_at"].replace("Z", "+00:00"))
    assert expires_at >= datetime.fromisoformat(expire_after.replace("Z", "+00:00"))

    read = httpx.get(f"{quote_server}/quote/{quote['id']}", headers=bearer(owner), timeout=TIMEOUT)
    assert read.status_code == 200 and read.json() == quote

    stranger = login(anchor, Keypair.random())
    hidden = httpx.get(f"{quote_server}/quote/{quote['id']}", headers=bearer(stranger), timeout=TIMEOUT)
    missing = httpx.get(f"{quote_server}/quote/00000000-0000-4000-8000-000000000000", headers=bearer(owner),
                        timeout=TIMEOUT)
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json()) == (404, {"error": "quote not found"})


def test_a_quote_that_cannot_last_long_enough_is_refused(anchor, quote_server, stellar_asset):
    owner = login(anchor, Keypair.random())
    far = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "buy_amount": "20",
               "context": "sep24", "expire_after": far}
    response = httpx.post(f"{quote_server}/quote", json=request, headers=bearer(owner), timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert "cannot hold a quote" in response.json()["error"]


def test_a_sep24_deposit_bound_to_a_quote_shows_the_quoted_amounts(anchor, quote_server, stellar_asset):
    token = login(anchor, Keypair.random())
    request = {"sell_asset": "iso4217:USD", "buy_asset": stellar_asset, "sell_amount": "120.50",
               "context": "sep24"}
    created = httpx.post(f"{quote_server}/quote", json=request, headers=bearer(token), timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    quote = created.json()

    deposit = httpx.post(
        f"{anchor.transfer_url}/transactions/deposit/interactive",
        json={"asset_code": anchor.asset_code, "quote_id": quote["id"], "amount": "120.5",
              "source_asset": "iso4217:USD"},
        headers=bearer(token),
        timeout=TIMEOUT,
    )
    assert deposit.status_code == 200, deposit.text
    shown = httpx.get(
        f"{anchor.transfer_url}/transaction", params={"id": deposit.json()["id"]}, headers=bearer(token),
        timeout=TIMEOUT,
    ).json()["transaction"]
    assert shown["quote_id"] == quote["id"]
    assert (shown["amount_in"], shown["amount_in_asset"]) == (quote["sell_amount"], "iso4217:USD")
    assert (shown["amount_out"], shown["amount_out_asset"]) == (quote["buy_amount"], stellar_asset)
    assert shown["fee_details"]["total"] == quote["fee"]["total"]

    # Another user's quote, or an amount that is not the quote's, is refused.
    stranger = login(anchor, Keypair.random())
    for token_, body in [
        (stranger, {"asset_code": anchor.asset_code, "quote_id": quote["id"]}),
        (token, {"asset_code": anchor.asset_code, "quote_id": quote["id"], "amount": "99"}),
    ]:
        refused = httpx.post(f"{anchor.transfer_url}/transactions/deposit/interactive", json=body,
                             headers=bearer(token_), timeout=TIMEOUT)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"].startswith("'quote_id'")
