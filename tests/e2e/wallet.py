"""A SEP-10 wallet written only with the Python stellar-sdk (an independent implementation).

Run it against a running anchor (README command one):

    .venv/bin/python tests/e2e/wallet.py localhost:8000 http://127.0.0.1:8001

It logs in (a) with a fresh account that is not on the ledger, and (b) with a friendbot-funded
account that added a second signer and raised its medium threshold to 2: one signature is refused,
both are accepted. The end-to-end tests import the same functions.
"""

from __future__ import annotations

import base64
import json
import sys

import requests
from stellar_sdk import Keypair, Server, Signer, TransactionBuilder, TransactionEnvelope
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml
from stellar_sdk.sep.stellar_web_authentication import read_challenge_transaction

TIMEOUT = 30


class Anchor:
    """What a wallet learns from the anchor's stellar.toml."""

    def __init__(self, home_domain: str):
        self.home_domain = home_domain
        self.toml = fetch_stellar_toml(home_domain, use_http=home_domain.startswith("localhost"))
        self.auth_url = self.toml["WEB_AUTH_ENDPOINT"]
        self.signing_key = self.toml["SIGNING_KEY"]
        self.passphrase = self.toml["NETWORK_PASSPHRASE"]
        self.web_auth_domain = self.auth_url.split("://", 1)[1].split("/", 1)[0]

    def challenge(self, account: str) -> str:
        response = requests.get(self.auth_url, params={"account": account}, timeout=TIMEOUT)
        response.raise_for_status()
        body = response.json()
        assert body["network_passphrase"] == self.passphrase
        # The wallet-side checks of SEP-10: server signature, sequence 0, time bounds, ops.
        read_challenge_transaction(
            body["transaction"], self.signing_key, self.home_domain, self.web_auth_domain, self.passphrase
        )
        return body["transaction"]

    def login(self, account: str, signers: list[Keypair]) -> requests.Response:
        envelope = TransactionEnvelope.from_xdr(self.challenge(account), self.passphrase)
        for signer in signers:
            envelope.sign(signer)
        return requests.post(self.auth_url, json={"transaction": envelope.to_xdr()}, timeout=TIMEOUT)


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def fund_with_second_signer(horizon_url: str, passphrase: str) -> tuple[Keypair, Keypair]:
    """A friendbot-funded account that added a second signer (weight 1) and raised its medium
    threshold to 2: moving funds now needs both keys."""
    user, cosigner = Keypair.random(), Keypair.random()
    requests.get(f"{horizon_url}/friendbot", params={"addr": user.public_key}, timeout=120).raise_for_status()
    server = Server(horizon_url)
    transaction = (
        TransactionBuilder(server.load_account(user.public_key), passphrase, base_fee=100)
        .append_set_options_op(
            signer=Signer.ed25519_public_key(cosigner.public_key, 1),
            master_weight=1,
            low_threshold=1,
            med_threshold=2,
            high_threshold=2,
        )
        .set_timeout(120)
        .build()
    )
    transaction.sign(user)
    server.submit_transaction(transaction)
    return user, cosigner


def main(home_domain: str, horizon_url: str) -> None:
    anchor = Anchor(home_domain)
    print(f"anchor {home_domain}: SIGNING_KEY {anchor.signing_key}, network '{anchor.passphrase}'")

    fresh = Keypair.random()
    response = anchor.login(fresh.public_key, [fresh])
    response.raise_for_status()
    print(f"(a) fresh account {fresh.public_key[:8]}...: JWT sub={jwt_claims(response.json()['token'])['sub']}")

    user, cosigner = fund_with_second_signer(horizon_url, anchor.passphrase)
    one = anchor.login(user.public_key, [user])
    both = anchor.login(user.public_key, [user, cosigner])
    print(f"(b) two-signer account {user.public_key[:8]}...: one signature -> {one.status_code} {one.json()}")
    print(f"    both signatures -> {both.status_code}")
    if one.status_code != 400 or both.status_code != 200:
        raise SystemExit("unexpected answers from the anchor")
    print("SEP-10 works.")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "localhost:8000",
        sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8001",
    )
