"""The anchor's accounts on the local ledger: issuer and distribution funded by friendbot, the
distribution account trusting the asset and holding a float of it, and the channel accounts
the Stellar submitter pays deposits from (derived from CHANNEL_SEED, funded by friendbot for
their fees). Idempotent."""

from __future__ import annotations

from decimal import Decimal

import requests
from stellar_sdk import Asset, Keypair, Server, TransactionBuilder

from .channels import channel_keypairs

FLOAT = Decimal("1000000")


def fund_anchor(horizon_url: str, passphrase: str, keys, asset_code: str, channel_count: int = 0) -> None:
    server = Server(horizon_url)
    channels = channel_keypairs(keys.channel_seed, channel_count) if channel_count else []
    for keypair in (keys.issuer, keys.distribution, *channels):
        if not _exists(horizon_url, keypair.public_key):
            response = requests.get(f"{horizon_url}/friendbot", params={"addr": keypair.public_key}, timeout=60)
            response.raise_for_status()
    asset = Asset(asset_code, keys.issuer.public_key)
    balances = requests.get(f"{horizon_url}/accounts/{keys.distribution.public_key}", timeout=10).json()["balances"]
    held = next(
        (Decimal(b["balance"]) for b in balances
         if b.get("asset_code") == asset_code and b.get("asset_issuer") == keys.issuer.public_key),
        None,
    )
    if held is None:
        _submit(server, passphrase, keys.distribution, lambda b: b.append_change_trust_op(asset))
        held = Decimal(0)
    if held < FLOAT:
        _submit(
            server, passphrase, keys.issuer,
            lambda b: b.append_payment_op(keys.distribution.public_key, asset, str(FLOAT - held)),
        )


def _exists(horizon_url: str, account: str) -> bool:
    return requests.get(f"{horizon_url}/accounts/{account}", timeout=10).status_code == 200


def _submit(server: Server, passphrase: str, source, add_operation) -> None:
    """Builds, signs and submits one transaction of `source`: a Keypair, or an account whose key
    is in KMS (`keys_in_aws.KmsAccount`, which signs the hash through KMS)."""
    account = server.load_account(source.public_key)
    builder = TransactionBuilder(account, passphrase, base_fee=100).set_timeout(60)
    add_operation(builder)
    transaction = builder.build()
    if isinstance(source, Keypair):
        transaction.sign(source)
    else:
        source.sign_envelope(transaction)
    server.submit_transaction(transaction)
