"""SEP-24 hosted deposit and withdrawal, as a wallet and its user go through them: the wallet
(Python stellar-sdk for SEP-10, requests for SEP-24) opens the transaction, and the user fills
the interactive pages in a real browser (Debian's chromium driven by playwright-core, see
browser.py). Runs against `mooring-local` here and against the deployed local stack in
stack/test_sep24_deployed.py.

The reference integration (shared/integrations/src/rail.rs) asks the amount, for a withdrawal
the bank account, then the KYC fields the customer lacks; a deposit ends with bank instructions
whose reference is `MOOR-` and the first 8 hex digits of the transaction id.
"""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from stellar_sdk import Keypair

from browser import available, browse, fill, open_, state, submit
from sep24_wallet import DEMO_BANK_ACCOUNT, DEMO_KYC
from test_sep12_wallet import login

TIMEOUT = 10


def _require_browser():
    problem = available()
    if problem:
        pytest.fail(f"the browser tests cannot run: {problem}")


class Sep24:
    """One user's SEP-24 calls."""

    def __init__(self, anchor, keypair: Keypair | None = None):
        self.anchor = anchor
        self.keypair = keypair or Keypair.random()
        self.token = login(anchor, self.keypair)
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def open(self, kind: str, **fields) -> dict:
        body = {"asset_code": self.anchor.asset_code, "asset_issuer": self.anchor.asset_issuer, **fields}
        response = requests.post(
            f"{self.anchor.transfer_url}/transactions/{kind}/interactive",
            json=body, headers=self.headers, timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        opened = response.json()
        assert opened["type"] == "interactive_customer_info_needed"
        assert opened["url"].startswith(f"{self.anchor.base_url}/sep24/interactive?")
        assert opened["id"]
        return opened

    def transaction(self, transaction_id: str) -> dict:
        response = requests.get(
            f"{self.anchor.transfer_url}/transaction", params={"id": transaction_id},
            headers=self.headers, timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        return response.json()["transaction"]

    def put_customer(self, **fields) -> None:
        response = requests.put(f"{self.anchor.kyc_url}/customer", json=fields, headers=self.headers, timeout=TIMEOUT)
        assert response.status_code == 202, response.text

    def customer(self) -> dict:
        response = requests.get(f"{self.anchor.kyc_url}/customer", headers=self.headers, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()


def limits(anchor, direction: str) -> dict:
    asset = next(a for a in anchor.assets if a["code"] == anchor.asset_code)
    return asset[direction]


def expected_fee(anchor, direction: str, amount: str) -> Decimal:
    """fee_fixed + amount × fee_percent / 100, exactly (the configured asset's direction)."""
    configured = limits(anchor, direction)
    fixed = Decimal(str(configured.get("fee_fixed", 0)))
    percent = Decimal(str(configured.get("fee_percent", 0)))
    return fixed + Decimal(amount) * percent / 100


def number(text: str | None) -> Decimal:
    """A decimal shown on a page ("98.5", "98.50 USDC")."""
    assert text, "no value shown"
    return Decimal(text.replace(",", "").split()[0])


def expected_memo(transaction_id: str) -> str:
    """The withdraw memo of the contract: base64 of the 16 id bytes and 16 zero bytes (hash)."""
    return base64.b64encode(uuid.UUID(transaction_id).bytes + bytes(16)).decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def user(anchor) -> Sep24:
    _require_browser()
    return Sep24(anchor)


# --------------------------------------------------------------------------------------------
# Deposit
# --------------------------------------------------------------------------------------------


def test_deposit_through_the_pages_ends_with_bank_instructions(anchor, user):
    opened = user.open("deposit", account=user.keypair.public_key, lang="en")
    before = user.transaction(opened["id"])
    assert before["status"] == "incomplete"
    assert before["amount_in"] is None

    pages = browse([
        open_(opened["url"]),
        fill(amount="100"),
        submit(),
        fill(**DEMO_KYC),
        submit(),
        open_(opened["url"], context="second"),
    ])
    amount_page, typed, kyc_page, done, reused = pages[0], pages[1], pages[2], pages[4], pages[5]

    # The link is exchanged for a session cookie and the first form.
    assert amount_page.status == 200
    assert urlsplit(amount_page.url).path == "/sep24/interactive/form"
    assert query_of(amount_page.url)["transaction_id"] == opened["id"]
    assert amount_page.inputs == ["amount"]
    assert "csrf_token" in amount_page.form["hidden"]
    assert amount_page.lang == "en"
    session = next(c for c in amount_page.cookies if c["name"] == "sep24_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    # Secure only when the anchor is served over https (browsers then keep it to https).
    assert session["secure"] == anchor.base_url.startswith("https://")
    assert session["path"] == "/sep24"
    assert amount_page.errors == []

    # The fee is shown live while the amount is typed.
    fee = expected_fee(anchor, "deposit", "100")
    assert number(typed.fee) == fee
    assert number(typed.amount_out) == Decimal(100) - fee

    # A customer the anchor does not know yet is asked exactly the KYC fields it lacks.
    assert kyc_page.status == 200
    assert kyc_page.inputs == ["first_name", "last_name", "email_address"]

    # The instructions page (more-info) once no form is left.
    assert done.status == 200
    assert urlsplit(done.url).path == "/sep24/more-info"
    assert query_of(done.url)["id"] == opened["id"]
    assert done.fields["status"] == "pending_user_transfer_start"
    assert done.fields["kind"].lower() == "deposit"
    assert done.fields["id"] == opened["id"]
    assert number(done.fields["amount_in"]) == Decimal(100)
    assert number(done.fields["amount_fee"]) == fee
    assert number(done.fields["amount_out"]) == Decimal(100) - fee
    reference = "MOOR-" + opened["id"].replace("-", "")[:8].upper()
    assert done.instructions["organization.reference"] == reference
    assert done.instructions["organization.bank_number"]
    assert done.instructions["organization.bank_name"]

    # The link works once: another browser is refused.
    assert reused.status == 403
    assert reused.error_page

    # What the wallet sees.
    transaction = user.transaction(opened["id"])
    assert transaction["status"] == "pending_user_transfer_start"
    assert transaction["kind"] == "deposit"
    assert Decimal(transaction["amount_in"]) == Decimal(100)
    assert Decimal(transaction["amount_fee"]) == fee
    assert Decimal(transaction["amount_out"]) == Decimal(100) - fee
    assert Decimal(transaction["fee_details"]["total"]) == fee
    assert transaction["more_info_url"] == f"{anchor.base_url}/sep24/more-info?id={opened['id']}"

    # The KYC form went through SEP-12: the customer has the fields (email to verify).
    customer = user.customer()
    assert set(customer["provided_fields"]) >= {"first_name", "last_name", "email_address"}
    assert "first_name" not in customer.get("fields", {})


def test_a_plain_http_client_with_a_cookie_jar_gets_the_form(anchor):
    """Not only browsers open the link: curl with a cookie jar, requests, httpx. Over a plain
    http PUBLIC_URL the session cookie has no Secure (which such a client would never send back
    over http, landing on the 403 page); over https it has."""
    opened = Sep24(anchor).open("deposit", lang="en")
    client = requests.Session()
    page = client.get(opened["url"], timeout=TIMEOUT)  # follows the 303 to the form

    assert [r.status_code for r in page.history] == [303]
    set_cookie = page.history[0].headers["Set-Cookie"]
    assert set_cookie.startswith("sep24_session=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/sep24"):
        assert attribute in set_cookie, set_cookie
    https = anchor.base_url.startswith("https://")
    assert ("Secure" in set_cookie) == https, set_cookie
    session = next(c for c in client.cookies if c.name == "sep24_session")
    assert session.secure == https

    assert page.status_code == 200, page.text
    assert urlsplit(page.url).path == "/sep24/interactive/form"
    assert query_of(page.url)["transaction_id"] == opened["id"]
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'class="error-page"' not in page.text
    assert "<form" in page.text
    assert 'name="amount"' in page.text
    assert 'name="csrf_token"' in page.text

    # The jar's cookie keeps working for the session: the form again, and its live fee.
    again = client.get(page.url, timeout=TIMEOUT)
    assert again.status_code == 200 and 'name="amount"' in again.text
    fee = client.get(
        f"{anchor.base_url}/sep24/interactive/fee",
        params={"transaction_id": opened["id"], "amount": "100"}, timeout=TIMEOUT,
    )
    assert fee.status_code == 200, fee.text
    assert Decimal(fee.json()["fee"]) == expected_fee(anchor, "deposit", "100")
    # Without the jar: the 403 page.
    assert requests.get(page.url, timeout=TIMEOUT).status_code == 403


def test_a_known_customer_is_not_asked_for_kyc_again(anchor, user):
    user.put_customer(**DEMO_KYC)
    opened = user.open("deposit")
    pages = browse([open_(opened["url"]), fill(amount="25.5"), submit()])
    done = pages[-1]
    assert urlsplit(done.url).path == "/sep24/more-info", done.text
    fee = expected_fee(anchor, "deposit", "25.5")
    assert done.fields["status"] == "pending_user_transfer_start"
    assert number(done.fields["amount_fee"]) == fee
    transaction = user.transaction(opened["id"])
    assert Decimal(transaction["amount_in"]) == Decimal("25.5")
    assert Decimal(transaction["amount_out"]) == Decimal("25.5") - fee


def test_an_amount_the_wallet_sent_is_not_asked_again(anchor, user):
    opened = user.open("deposit", amount="80")
    priced = user.transaction(opened["id"])
    fee = expected_fee(anchor, "deposit", "80")
    assert (priced["status"], Decimal(priced["amount_in"]), Decimal(priced["amount_fee"])) == ("incomplete", 80, fee)
    pages = browse([open_(opened["url"]), fill(**DEMO_KYC), submit()])
    assert pages[0].inputs == ["first_name", "last_name", "email_address"]
    done = pages[-1]
    assert done.fields["status"] == "pending_user_transfer_start"
    assert number(done.fields["amount_out"]) == Decimal(80) - fee


@pytest.mark.parametrize(
    "amount",
    ["10000.01", "0.5", "10.123"],
    ids=["over-max", "under-min", "too-many-decimals"],
)
def test_an_amount_out_of_bounds_shows_an_error_and_changes_nothing(anchor, user, amount):
    opened = user.open("deposit")
    pages = browse([open_(opened["url"]), fill(amount=amount), submit()])
    refused = pages[-1]
    assert refused.status == 400
    assert urlsplit(refused.url).path == "/sep24/interactive/form"
    assert refused.field_error("amount"), refused.text
    assert refused.inputs == ["amount"]
    transaction = user.transaction(opened["id"])
    assert transaction["status"] == "incomplete"
    assert transaction["amount_in"] is None
    assert transaction["amount_out"] is None


def test_the_link_opens_once_and_only_with_its_token(anchor, user):
    opened = user.open("deposit")
    forged = opened["url"].replace("token=", "token=x")
    pages = browse([
        open_(forged, context="forger"),
        open_(opened["url"]),
        open_(opened["url"], context="second"),
        open_(opened["url"]),  # the first browser again: the link, not the session, is used up
    ])
    assert pages[0].status == 403 and pages[0].error_page
    assert pages[1].status == 200 and pages[1].inputs == ["amount"]
    assert pages[2].status == 403 and pages[2].error_page
    assert not any(c["name"] == "sep24_session" for c in pages[2].cookies)
    assert pages[3].status == 403
    assert user.transaction(opened["id"])["status"] == "incomplete"


def test_the_pages_speak_the_wallets_language(anchor, user):
    opened = user.open("deposit", lang="es")
    page = browse([open_(opened["url"])])[0]
    assert page.status == 200
    assert page.lang == "es"
    assert page.inputs == ["amount"]


def test_more_info_shows_the_current_status(anchor, user):
    opened = user.open("deposit")
    more_info = user.transaction(opened["id"])["more_info_url"]
    pages = browse([
        open_(more_info, context="anyone"),
        open_(opened["url"]),
        fill(amount="40"),
        submit(),
        fill(**DEMO_KYC),
        submit(),
        open_(more_info, context="anyone"),
    ])
    before, after = pages[0], pages[-1]
    assert before.status == 200
    assert before.fields["status"] == "incomplete"
    assert before.fields["kind"].lower() == "deposit"
    assert before.fields["id"] == opened["id"]
    assert after.fields["status"] == "pending_user_transfer_start"
    assert number(after.fields["amount_in"]) == Decimal(40)


# --------------------------------------------------------------------------------------------
# Withdrawal
# --------------------------------------------------------------------------------------------


def test_withdrawal_through_the_pages_gets_the_anchor_account_and_a_unique_memo(anchor, user):
    opened = user.open("withdraw", account=user.keypair.public_key)
    pages = browse([
        open_(opened["url"]),
        fill(amount="200"),
        submit(),
        fill(bank_account_number=DEMO_BANK_ACCOUNT),
        submit(),
        fill(**DEMO_KYC),
        submit(),
        open_(opened["url"], context="second"),
    ])
    typed, bank_page, kyc_page, done, reused = pages[1], pages[2], pages[4], pages[6], pages[7]
    fee = expected_fee(anchor, "withdraw", "200")
    assert number(typed.fee) == fee
    assert bank_page.inputs == ["bank_account_number"]
    assert kyc_page.inputs == ["first_name", "last_name", "email_address"]

    memo = expected_memo(opened["id"])
    assert urlsplit(done.url).path == "/sep24/more-info"
    assert done.fields["status"] == "pending_user_transfer_start"
    assert done.fields["kind"].lower() == "withdrawal"
    assert number(done.fields["amount_in"]) == Decimal(200)
    assert number(done.fields["amount_fee"]) == fee
    assert number(done.fields["amount_out"]) == Decimal(200) - fee
    assert done.fields["withdraw_anchor_account"] == anchor.distribution_account
    assert done.fields["withdraw_memo"] == memo
    assert done.fields["withdraw_memo_type"] == "hash"
    assert reused.status == 403

    transaction = user.transaction(opened["id"])
    assert transaction["status"] == "pending_user_transfer_start"
    assert transaction["kind"] == "withdrawal"
    assert Decimal(transaction["amount_in"]) == Decimal(200)
    assert Decimal(transaction["amount_fee"]) == fee
    assert Decimal(transaction["amount_out"]) == Decimal(200) - fee
    assert transaction["withdraw_anchor_account"] == anchor.distribution_account
    assert transaction["withdraw_memo"] == memo
    assert transaction["withdraw_memo_type"] == "hash"
    assert transaction["to"] == "****3000", "the bank account, masked"


def test_concurrent_withdrawals_get_distinct_memos(anchor, user):
    user.put_customer(**DEMO_KYC)
    first, second = user.open("withdraw"), user.open("withdraw")
    steps = []
    for opened, context in ((first, "one"), (second, "two")):
        steps += [
            {**open_(opened["url"]), "context": context},
            fill(amount="10"),
            submit(),
            fill(bank_account_number=DEMO_BANK_ACCOUNT),
            submit(),
        ]
    pages = browse(steps)
    assert pages[4].fields["status"] == pages[9].fields["status"] == "pending_user_transfer_start"
    memos = {user.transaction(o["id"])["withdraw_memo"] for o in (first, second)}
    assert memos == {expected_memo(first["id"]), expected_memo(second["id"])}
    assert len(memos) == 2


def test_a_withdrawal_over_the_limit_is_refused_on_the_page(anchor, user):
    opened = user.open("withdraw")
    over = str(Decimal(str(limits(anchor, "withdraw")["max_amount"])) + 1)
    pages = browse([open_(opened["url"]), fill(amount=over), submit(), state()])
    assert pages[2].status == 400
    assert pages[2].field_error("amount")
    transaction = user.transaction(opened["id"])
    assert (transaction["status"], transaction["amount_in"]) == ("incomplete", None)
    assert transaction["withdraw_memo"] is None
