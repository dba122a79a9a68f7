"""A SEP-24 wallet written with the Python stellar-sdk (SEP-10 login) and requests: it opens a
hosted deposit or withdrawal, hands the interactive URL to a person (or to a headless browser),
and follows the transaction.

Against a running anchor (README command one, `bash infra/local.sh`):

    .venv/bin/python tests/e2e/sep24_wallet.py localhost:8000                 # a deposit
    .venv/bin/python tests/e2e/sep24_wallet.py localhost:8000 --withdraw      # a withdrawal
    .venv/bin/python tests/e2e/sep24_wallet.py localhost:8000 --browser       # filled by headless chromium

It logs in with a fresh keypair (an account the ledger does not know needs only its own
signature), prints the URL to open in your browser, waits while you fill the pages, then prints
the transaction once it left `incomplete`: for a deposit the bank instructions (with the
reference to mark the deposit received at the demo bank), for a withdrawal the anchor's account
and memo to pay. The end-to-end tests import the same functions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import requests
from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml
from stellar_sdk.sep.stellar_web_authentication import read_challenge_transaction

TIMEOUT = 30
# Demo values the headless browser types into the forms.
DEMO_KYC = {"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com"}
DEMO_BANK_ACCOUNT = "DE89 3704 0044 0532 0130 00"


class TransferServer:
    """What a wallet learns from the anchor's stellar.toml, and the SEP-10 and SEP-24 calls."""

    def __init__(self, home_domain: str):
        self.home_domain = home_domain
        insecure = home_domain.startswith(("localhost", "127.0.0.1"))
        self.toml = fetch_stellar_toml(home_domain, use_http=insecure)
        self.auth_url = self.toml["WEB_AUTH_ENDPOINT"]
        self.signing_key = self.toml["SIGNING_KEY"]
        self.passphrase = self.toml["NETWORK_PASSPHRASE"]
        self.web_auth_domain = self.auth_url.split("://", 1)[1].split("/", 1)[0]
        self.url = self.toml["TRANSFER_SERVER_SEP0024"]

    def login(self, keypair: Keypair) -> str:
        response = requests.get(self.auth_url, params={"account": keypair.public_key}, timeout=TIMEOUT)
        response.raise_for_status()
        challenge = response.json()["transaction"]
        read_challenge_transaction(
            challenge, self.signing_key, self.home_domain, self.web_auth_domain, self.passphrase
        )
        envelope = TransactionEnvelope.from_xdr(challenge, self.passphrase)
        envelope.sign(keypair)
        response = requests.post(self.auth_url, json={"transaction": envelope.to_xdr()}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["token"]

    def sep24_assets(self) -> list[dict]:
        """The [[CURRENCIES]] this anchor offers through SEP-24 (per GET /info)."""
        info = requests.get(f"{self.url}/info", timeout=TIMEOUT).json()
        offered = set(info.get("deposit", {})) | set(info.get("withdraw", {}))
        return [c for c in self.toml.get("CURRENCIES", []) if c.get("code") in offered]

    def interactive(self, token: str, kind: str, asset_code: str, asset_issuer: str | None, **fields) -> requests.Response:
        """POST /transactions/{deposit,withdraw}/interactive (JSON)."""
        body = {"asset_code": asset_code, **fields}
        if asset_issuer:
            body["asset_issuer"] = asset_issuer
        return requests.post(
            f"{self.url}/transactions/{kind}/interactive",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )

    def transaction(self, token: str, transaction_id: str) -> dict:
        response = requests.get(
            f"{self.url}/transaction",
            params={"id": transaction_id},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        return response.json()["transaction"]

    def wait_while_incomplete(self, token: str, transaction_id: str, timeout: float, interval: float = 2.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            transaction = self.transaction(token, transaction_id)
            if transaction["status"] != "incomplete" or time.monotonic() > deadline:
                return transaction
            time.sleep(interval)


class _Instructions(HTMLParser):
    """`<dd data-instruction="key">value</dd>` of the more-info page, key -> text."""

    def __init__(self):
        super().__init__()
        self.found: dict[str, str] = {}
        self.current: str | None = None

    def handle_starttag(self, tag, attrs):
        key = dict(attrs).get("data-instruction")
        if key:
            self.current = key
            self.found[key] = ""

    def handle_endtag(self, tag):
        self.current = None

    def handle_data(self, data):
        if self.current:
            self.found[self.current] += data.strip()


def deposit_instructions(more_info_url: str) -> dict[str, str]:
    """The off-chain transfer instructions the more-info page shows (SEP-24 transactions carry
    none in JSON): `organization.bank_number`, `organization.reference`, ..."""
    response = requests.get(more_info_url, timeout=TIMEOUT)
    response.raise_for_status()
    parser = _Instructions()
    parser.feed(response.text)
    return parser.found


def browser_steps(url: str, kind: str, amount: str | None, kyc: dict | None = None, bank_account: str = DEMO_BANK_ACCOUNT) -> list[dict]:
    """The steps a person takes in the interactive pages of the reference integration: the
    amount (None: the wallet sent it, so the pages do not ask); for a withdrawal the bank
    account; the KYC fields (when the anchor asks them)."""
    from browser import fill, open_, submit

    steps = [open_(url)]
    if amount is not None:
        steps += [fill(amount=amount), submit()]
    if kind == "withdraw":
        steps += [fill(bank_account_number=bank_account), submit()]
    if kyc:
        steps += [fill(**kyc), submit()]
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home_domain", help="e.g. localhost:8000")
    parser.add_argument("--withdraw", action="store_true", help="a withdrawal instead of a deposit")
    parser.add_argument("--amount", help="sent with the POST (the pages then do not ask it)")
    parser.add_argument("--asset", help="CODE or CODE:ISSUER (default: the first SEP-24 asset)")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--browser", action="store_true",
                        help="fill the pages with headless chromium (demo data) instead of waiting for you")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the pages to be filled")
    args = parser.parse_args()

    anchor = TransferServer(args.home_domain)
    if args.asset:
        code, _, issuer = args.asset.partition(":")
    else:
        assets = anchor.sep24_assets()
        if not assets:
            print("the anchor offers no asset through SEP-24", file=sys.stderr)
            return 1
        code, issuer = assets[0]["code"], assets[0].get("issuer")
    kind = "withdraw" if args.withdraw else "deposit"
    keypair = Keypair.random()
    token = anchor.login(keypair)
    print(f"logged in with SEP-10 as {keypair.public_key}")
    extra = {"account": keypair.public_key, "lang": args.lang}
    if args.amount:
        extra["amount"] = args.amount
    response = anchor.interactive(token, kind, code, issuer, **extra)
    if response.status_code != 200:
        print(f"POST {kind}/interactive answered {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    opened = response.json()
    print(f"{kind} {opened['id']} opened; the interactive URL (single use, short-lived):\n\n  {opened['url']}\n")

    if args.browser:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from browser import browse

        amount = None if args.amount else "100"  # the pages ask it only when the wallet did not send it
        pages = browse(browser_steps(opened["url"], kind, amount, DEMO_KYC))
        last = pages[-1]
        print(f"the browser landed on {last.url} (HTTP {last.status})")
    else:
        print("Open it in your browser and fill the pages; waiting for the transaction to leave 'incomplete' ...")
    transaction = anchor.wait_while_incomplete(token, opened["id"], timeout=args.timeout)
    print(json.dumps(transaction, indent=2))
    if transaction["status"] == "incomplete":
        print("still incomplete: the pages were not completed in time", file=sys.stderr)
        return 1
    if kind == "deposit":
        instructions = deposit_instructions(transaction["more_info_url"])
        for key, value in instructions.items():
            print(f"  {key}: {value}")
        reference = instructions.get("organization.reference", "<reference>")
        print(
            "\nPay it at the demo bank (marks the deposit's funds received):\n"
            f"  .venv/bin/python -m infra.demo_bank receive --reference {reference} --amount {transaction.get('amount_in')}"
        )
    else:
        print(
            f"\nSend {transaction.get('amount_in')} {code} to {transaction.get('withdraw_anchor_account')} "
            f"with memo ({transaction.get('withdraw_memo_type')}) {transaction.get('withdraw_memo')}"
        )
    print(f"more info: {transaction.get('more_info_url')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
