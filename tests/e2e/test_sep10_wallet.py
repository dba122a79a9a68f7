"""SEP-1 and SEP-10 against the real `mooring-local` binary, from a wallet written only with the
Python stellar-sdk (an independent implementation: no XDR is built or parsed by hand here).

Every accepted or refused signed challenge is also run through the SDK's own server-side
verifiers (`verify_challenge_transaction*`), so the anchor and the SDK must agree on each case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from urllib.parse import urlparse

import pytest
import requests
from stellar_sdk import (
    Account,
    Keypair,
    MuxedAccount,
    StrKey,
    TransactionBuilder,
    TransactionEnvelope,
)
from stellar_sdk.operation import BumpSequence, ManageData
from stellar_sdk.sep.ed25519_public_key_signer import Ed25519PublicKeySigner
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml
from stellar_sdk.sep.stellar_web_authentication import (
    build_challenge_transaction,
    read_challenge_transaction,
    verify_challenge_transaction,
    verify_challenge_transaction_threshold,
)

TIMEOUT = 10  # seconds, per HTTP request
MAX_UINT64 = 2**64 - 1
# A valid account with one base32 character changed (T -> B): its CRC16 checksum no longer
# matches (CRC16 detects every burst of up to 16 bits).
BAD_CHECKSUM_ACCOUNT = "GAAZI4TCR3BY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"


# --------------------------------------------------------------------------------------------
# Wallet-side helpers
# --------------------------------------------------------------------------------------------


def get_challenge(anchor, **params) -> requests.Response:
    return requests.get(anchor.auth_url, params=params, timeout=TIMEOUT)


def post_challenge(anchor, transaction: str | None, *, form: bool = False) -> requests.Response:
    body = {} if transaction is None else {"transaction": transaction}
    if form:
        return requests.post(anchor.auth_url, data=body, timeout=TIMEOUT)
    return requests.post(anchor.auth_url, json=body, timeout=TIMEOUT)


def assert_cors(response: requests.Response) -> None:
    assert response.headers.get("Access-Control-Allow-Origin") == "*", dict(response.headers)


def assert_error(response: requests.Response, status: int = 400, contains: str | None = None) -> str:
    """A JSON error `{"error": "..."}` with CORS; returns the message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert_cors(response)
    assert "application/json" in response.headers.get("Content-Type", "")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"].strip(), body
    if contains is not None:
        assert contains.lower() in body["error"].lower(), body["error"]
    return body["error"]


def read_challenge(anchor, transaction: str, home_domain: str | None = None):
    """The SDK's client-side check of a challenge (raises when the challenge is not valid)."""
    return read_challenge_transaction(
        transaction,
        anchor.server_account_id,
        home_domain or anchor.home_domain,
        anchor.web_auth_domain,
        anchor.network_passphrase,
    )


def fetch_challenge(anchor, account: str, **params):
    """GET /auth as a wallet: 200, then the SDK must accept the challenge. Returns (xdr, parsed)."""
    response = get_challenge(anchor, account=account, **params)
    assert response.status_code == 200, response.text
    assert_cors(response)
    body = response.json()
    assert body["network_passphrase"] == anchor.network_passphrase
    transaction = body["transaction"]
    parsed = read_challenge(anchor, transaction, params.get("home_domain"))
    return transaction, parsed


def sign(anchor, transaction: str, *signers: Keypair) -> str:
    envelope = TransactionEnvelope.from_xdr(transaction, anchor.network_passphrase)
    for signer in signers:
        envelope.sign(signer)
    return envelope.to_xdr()


def tx_hash_hex(anchor, transaction: str) -> str:
    return TransactionEnvelope.from_xdr(transaction, anchor.network_passphrase).hash_hex()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_jwt(token: str, secret: str) -> dict:
    """Verifies an HS256 JWT with `secret` (by hand, with hmac) and returns its claims."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "HS256", header
    expected = hmac.new(
        secret.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256
    ).digest()
    assert hmac.compare_digest(expected, b64url_decode(signature_b64)), "JWT signature is invalid"
    return json.loads(b64url_decode(payload_b64))


def sdk_verdict(anchor, transaction: str, signers=None, threshold: int = 0) -> str | None:
    """What the SDK's server-side verifier says: None = accepted, else the reason it refused.

    Without `signers` the client account is taken as not existing (master key only);
    otherwise `signers` are the account's `(G, weight)` pairs and `threshold` its medium one.
    """
    args = (
        transaction,
        anchor.server_account_id,
        anchor.home_domain,
        anchor.web_auth_domain,
        anchor.network_passphrase,
    )
    try:
        if signers is None:
            verify_challenge_transaction(*args)
        else:
            verify_challenge_transaction_threshold(
                *args,
                threshold,
                [Ed25519PublicKeySigner(key, weight) for key, weight in signers],
            )
    except Exception as e:  # InvalidSep10ChallengeError, ValueError on fee-bump, XDR errors
        return f"{type(e).__name__}: {e}"
    return None


def expect_token(anchor, transaction: str, *, form: bool = False, sdk=None) -> dict:
    """POSTs a signed challenge that must be accepted; returns the verified JWT claims."""
    if sdk is not False:
        verdict = sdk_verdict(anchor, transaction, **(sdk or {}))
        assert verdict is None, f"test mistake: the SDK refuses this challenge: {verdict}"
    response = post_challenge(anchor, transaction, form=form)
    assert response.status_code == 200, response.text
    assert_cors(response)
    assert "application/json" in response.headers.get("Content-Type", "")
    token = response.json()["token"]
    return decode_jwt(token, anchor.jwt_secret)


def expect_refused(anchor, transaction: str, contains: str | None = None, *, sdk=None,
                   form: bool = False) -> str:
    """POSTs a challenge that must be refused with 400 (the SDK must refuse it too)."""
    if sdk is not False:
        verdict = sdk_verdict(anchor, transaction, **(sdk or {}))
        assert verdict is not None, "test mistake: the SDK accepts this challenge"
    return assert_error(post_challenge(anchor, transaction, form=form), 400, contains)


def check_claims(anchor, claims: dict, transaction: str, sub: str, before: float, after: float):
    assert claims["iss"] == anchor.auth_url
    assert claims["sub"] == sub
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert before - 5 <= claims["iat"] <= after + 5
    assert claims["exp"] > claims["iat"]
    assert claims["exp"] - claims["iat"] == anchor.jwt_ttl
    assert claims["jti"] == tx_hash_hex(anchor, transaction)
    assert claims["home_domain"] == anchor.home_domain


def nonce() -> bytes:
    return base64.b64encode(os.urandom(48))  # 64 bytes, as SEP-10 requires


def craft_challenge(
    anchor,
    client: str,
    *,
    signer: Keypair | None = None,
    source: str | None = None,
    home_domain: str | None = None,
    web_auth_domain: str | None = None,
    min_time: int | None = None,
    max_time: int | None = None,
    memo: int | None = None,
    sequence: int = 0,
    data_value: bytes | None = None,
    client_domain: tuple[str, str] | None = None,
    extra_ops=(),
) -> str:
    """A challenge built by the test with the SDK's TransactionBuilder: by default exactly what
    the server would issue, signed with the server's seed; each argument bends one rule."""
    now = int(time.time())
    source = source or anchor.server_account_id
    builder = TransactionBuilder(Account(source, sequence - 1), anchor.network_passphrase, 100)
    builder.add_time_bounds(
        now if min_time is None else min_time, now + 300 if max_time is None else max_time
    )
    builder.append_manage_data_op(
        f"{home_domain or anchor.home_domain} auth",
        nonce() if data_value is None else data_value,
        source=client,
    )
    builder.append_manage_data_op(
        "web_auth_domain", web_auth_domain or anchor.web_auth_domain, source=source
    )
    if client_domain:
        domain, key = client_domain
        builder.append_manage_data_op("client_domain", domain, source=key)
    for op in extra_ops:
        builder.append_operation(op)
    if memo is not None:
        builder.add_id_memo(memo)
    envelope = builder.build()
    envelope.sign(signer or anchor.server_keypair)
    return envelope.to_xdr()


def with_duplicate_signature(anchor, transaction: str, index: int = -1) -> str:
    """The envelope with one of its signatures appended a second time."""
    envelope = TransactionEnvelope.from_xdr(transaction, anchor.network_passphrase)
    envelope.signatures.append(envelope.signatures[index])
    return envelope.to_xdr()


# --------------------------------------------------------------------------------------------
# SEP-1: stellar.toml
# --------------------------------------------------------------------------------------------


def test_stellar_toml_over_http(anchor):
    response = requests.get(f"{anchor.base_url}/.well-known/stellar.toml", timeout=TIMEOUT)
    assert response.status_code == 200
    assert "text/plain" in response.headers["Content-Type"]
    assert_cors(response)

    toml = fetch_stellar_toml(anchor.home_domain, use_http=True)
    assert isinstance(toml["VERSION"], str) and toml["VERSION"]
    assert toml["NETWORK_PASSPHRASE"] == anchor.network_passphrase
    assert toml["SIGNING_KEY"] == anchor.server_account_id
    assert toml["WEB_AUTH_ENDPOINT"] == anchor.base_url + "/auth"
    assert toml["DOCUMENTATION"]["ORG_NAME"]


def test_stellar_toml_lists_sep24_asset(anchor):
    toml = fetch_stellar_toml(anchor.home_domain, use_http=True)
    assert toml["TRANSFER_SERVER_SEP0024"].startswith(anchor.base_url)
    assert toml["KYC_SERVER"].startswith(anchor.base_url)
    currencies = toml["CURRENCIES"]
    assert any(
        c.get("code") == anchor.asset_code and c.get("issuer") == anchor.asset_issuer
        for c in currencies
    ), currencies
    # Only the SEPs the asset offers are advertised.
    assert "TRANSFER_SERVER" not in toml
    assert "DIRECT_PAYMENT_SERVER" not in toml


def test_stellar_toml_preflight(anchor):
    response = requests.options(f"{anchor.base_url}/.well-known/stellar.toml", timeout=TIMEOUT)
    assert 200 <= response.status_code < 300
    assert_cors(response)


# --------------------------------------------------------------------------------------------
# SEP-10: the happy paths
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_wallet_login_from_stellar_toml(anchor, horizon, form):
    """The whole flow as a wallet runs it, starting from nothing but the home domain."""
    toml = fetch_stellar_toml(anchor.home_domain, use_http=True)
    endpoint = toml["WEB_AUTH_ENDPOINT"]
    server_key = toml["SIGNING_KEY"]
    client = Keypair.random()

    before = time.time()
    response = requests.get(endpoint, params={"account": client.public_key}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert_cors(response)
    body = response.json()
    assert body["network_passphrase"] == toml["NETWORK_PASSPHRASE"]
    challenge = body["transaction"]

    parsed = read_challenge_transaction(
        challenge,
        server_key,
        anchor.home_domain,
        urlparse(endpoint).netloc,
        toml["NETWORK_PASSPHRASE"],
    )
    assert parsed.client_account_id == client.public_key
    assert parsed.matched_home_domain == anchor.home_domain
    assert parsed.memo is None

    envelope = parsed.transaction
    envelope.sign(client)
    signed = envelope.to_xdr()
    assert sdk_verdict(anchor, signed) is None
    body = {"transaction": signed}
    if form:
        response = requests.post(endpoint, data=body, timeout=TIMEOUT)
    else:
        response = requests.post(endpoint, json=body, timeout=TIMEOUT)
    after = time.time()
    assert response.status_code == 200, response.text
    assert_cors(response)
    claims = decode_jwt(response.json()["token"], anchor.jwt_secret)
    check_claims(anchor, claims, challenge, client.public_key, before, after)
    assert claims["jti"] == envelope.hash_hex()
    assert "client_domain" not in claims
    # The server looked the account up on (stand-in) Horizon: it does not exist, master key only.
    assert client.public_key in horizon.requests


def test_challenge_structure(anchor):
    """The challenge follows SEP-10 to the letter, as read by the SDK."""
    client = Keypair.random()
    before = int(time.time())
    transaction, parsed = fetch_challenge(anchor, client.public_key)
    after = int(time.time())
    envelope = parsed.transaction
    tx = envelope.transaction
    assert tx.source.account_id == anchor.server_account_id
    assert tx.sequence == 0
    bounds = tx.preconditions.time_bounds
    assert before - 1 <= bounds.min_time <= after + 1
    assert bounds.max_time - bounds.min_time == anchor.challenge_ttl
    assert len(tx.operations) == 2
    first, second = tx.operations
    assert isinstance(first, ManageData) and isinstance(second, ManageData)
    assert first.source.account_id == client.public_key
    assert first.data_name == f"{anchor.home_domain} auth"
    assert len(first.data_value) == 64 and len(base64.b64decode(first.data_value)) == 48
    assert second.source.account_id == anchor.server_account_id
    assert second.data_name == "web_auth_domain"
    assert second.data_value == anchor.web_auth_domain.encode()
    assert len(envelope.signatures) == 1  # the server's only
    # Every challenge has a fresh nonce.
    other, _ = fetch_challenge(anchor, client.public_key)
    assert other != transaction
    assert read_challenge(anchor, other).transaction.transaction.operations[0].data_value != (
        first.data_value
    )


def test_explicit_home_domain(anchor):
    client = Keypair.random()
    transaction, parsed = fetch_challenge(anchor, client.public_key, home_domain=anchor.home_domain)
    assert parsed.matched_home_domain == anchor.home_domain
    before = time.time()
    claims = expect_token(anchor, sign(anchor, transaction, client))
    check_claims(anchor, claims, transaction, client.public_key, before, time.time())


def test_memo(anchor):
    client = Keypair.random()
    memo = 1234567890123
    transaction, parsed = fetch_challenge(anchor, client.public_key, memo=str(memo))
    assert parsed.memo == memo
    assert parsed.transaction.transaction.memo.memo_id == memo
    before = time.time()
    claims = expect_token(anchor, sign(anchor, transaction, client))
    check_claims(anchor, claims, transaction, f"{client.public_key}:{memo}", before, time.time())


def test_memo_max_uint64(anchor):
    client = Keypair.random()
    transaction, parsed = fetch_challenge(anchor, client.public_key, memo=str(MAX_UINT64))
    assert parsed.memo == MAX_UINT64
    claims = expect_token(anchor, sign(anchor, transaction, client))
    assert claims["sub"] == f"{client.public_key}:{MAX_UINT64}"


def test_muxed_account(anchor, horizon):
    client = Keypair.random()
    muxed = MuxedAccount(client.public_key, 987654321).account_muxed
    transaction, parsed = fetch_challenge(anchor, muxed)
    assert parsed.client_account_id == muxed
    assert parsed.memo is None
    assert parsed.transaction.transaction.operations[0].source.account_muxed == muxed
    before = time.time()
    claims = expect_token(anchor, sign(anchor, transaction, client))
    check_claims(anchor, claims, transaction, muxed, before, time.time())
    # The account behind the M address is the one looked up.
    assert client.public_key in horizon.requests


def test_accepts_a_challenge_built_by_the_sdk(anchor):
    """SEP-10 verification is stateless: a challenge the SDK builds with the server's seed is as
    good as one from GET /auth."""
    client = Keypair.random()
    transaction = build_challenge_transaction(
        anchor.server_keypair.secret,
        client.public_key,
        anchor.home_domain,
        anchor.web_auth_domain,
        anchor.network_passphrase,
        timeout=300,
        memo=42,
    )
    claims = expect_token(anchor, sign(anchor, transaction, client))
    assert claims["sub"] == f"{client.public_key}:42"
    assert claims["jti"] == tx_hash_hex(anchor, transaction)


# --------------------------------------------------------------------------------------------
# SEP-10: GET /auth refusals
# --------------------------------------------------------------------------------------------


def test_get_without_account(anchor):
    assert_error(get_challenge(anchor), 400, "account")


@pytest.mark.parametrize(
    "account",
    [
        "GABC",
        "not-an-account",
        BAD_CHECKSUM_ACCOUNT,
        Keypair.random().secret,  # a secret seed is not an account
        StrKey.encode_contract(os.urandom(32)),  # nor is a contract (C...)
    ],
    ids=["short", "garbage", "checksum", "secret-seed", "contract"],
)
def test_get_invalid_account(anchor, account):
    assert_error(get_challenge(anchor, account=account), 400, "account")


@pytest.mark.parametrize("memo", ["abc", "-1", "1.5", str(2**64), "0x10", "text memo"])
def test_get_memo_not_uint64(anchor, memo):
    assert_error(get_challenge(anchor, account=Keypair.random().public_key, memo=memo), 400, "memo")


def test_get_memo_with_muxed_account(anchor):
    muxed = MuxedAccount(Keypair.random().public_key, 7).account_muxed
    assert_error(get_challenge(anchor, account=muxed, memo="5"), 400, "memo")


@pytest.mark.parametrize("home_domain", ["evil.com", "example.com", "localhost"])
def test_get_unknown_home_domain(anchor, home_domain):
    response = get_challenge(anchor, account=Keypair.random().public_key, home_domain=home_domain)
    assert_error(response, 400, "home_domain")


def test_get_repeated_parameter(anchor):
    account = Keypair.random().public_key
    response = requests.get(
        f"{anchor.auth_url}?account={account}&account={account}", timeout=TIMEOUT
    )
    assert_error(response, 400, "account")


def test_get_invalid_client_domain(anchor):
    response = get_challenge(
        anchor, account=Keypair.random().public_key, client_domain="http://wallet.example/x"
    )
    assert_error(response, 400, "client_domain")


# --------------------------------------------------------------------------------------------
# SEP-10: POST /auth refusals (account not on the ledger: master key only)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_post_unsigned_by_client(anchor, form):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    expect_refused(anchor, transaction, "not signed by the client", form=form)


def test_post_signed_by_wrong_key(anchor):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    expect_refused(anchor, sign(anchor, transaction, Keypair.random()))


def test_post_extra_signer_on_missing_account(anchor):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    expect_refused(anchor, sign(anchor, transaction, client, Keypair.random()), "unrecognized")


def test_post_client_signature_twice_on_missing_account(anchor):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    signed = with_duplicate_signature(anchor, sign(anchor, transaction, client))
    expect_refused(anchor, signed)


def test_post_expired(anchor):
    client = Keypair.random()
    now = int(time.time())
    transaction = craft_challenge(
        anchor, client.public_key, min_time=now - 1200, max_time=now - 600
    )
    expect_refused(anchor, sign(anchor, transaction, client), "expired")


def test_post_expired_sdk_built(anchor, monkeypatch):
    """A challenge the SDK built with the server's seed 20 minutes ago, valid for 5 minutes."""
    client = Keypair.random()
    past = time.time() - 1200
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: past)  # the SDK reads the clock with time.time()
        transaction = build_challenge_transaction(
            anchor.server_keypair.secret,
            client.public_key,
            anchor.home_domain,
            anchor.web_auth_domain,
            anchor.network_passphrase,
            timeout=300,
        )
    expect_refused(anchor, sign(anchor, transaction, client), "expired")


def test_post_not_yet_valid(anchor):
    client = Keypair.random()
    now = int(time.time())
    transaction = craft_challenge(
        anchor, client.public_key, min_time=now + 3600, max_time=now + 4000
    )
    expect_refused(anchor, sign(anchor, transaction, client))


def test_post_without_max_time(anchor):
    client = Keypair.random()
    transaction = craft_challenge(anchor, client.public_key, min_time=0, max_time=0)
    expect_refused(anchor, sign(anchor, transaction, client))


def test_post_valid_crafted_challenge_control(anchor):
    """The crafted challenges below differ from this accepted one in one rule each."""
    client = Keypair.random()
    claims = expect_token(anchor, sign(anchor, craft_challenge(anchor, client.public_key), client))
    assert claims["sub"] == client.public_key


@pytest.mark.parametrize("what", ["value", "name"])
def test_post_tampered_operation(anchor, what):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    envelope = TransactionEnvelope.from_xdr(transaction, anchor.network_passphrase)
    op = envelope.transaction.operations[0]
    if what == "value":
        op.data_value = nonce()  # a different, well-formed nonce
    else:
        op.data_name = f"{anchor.home_domain} auth".upper()
    envelope.sign(client)  # the client signs the tampered transaction
    expect_refused(anchor, envelope.to_xdr(), "not signed by this server" if what == "value" else None)


def test_post_wrong_home_domain(anchor):
    client = Keypair.random()
    transaction = craft_challenge(anchor, client.public_key, home_domain="evil.com")
    expect_refused(anchor, sign(anchor, transaction, client), "home domain")


def test_post_wrong_web_auth_domain(anchor):
    client = Keypair.random()
    transaction = craft_challenge(anchor, client.public_key, web_auth_domain="evil.com")
    expect_refused(anchor, sign(anchor, transaction, client), "web_auth_domain")


def test_post_challenge_of_another_server(anchor):
    """Built and signed entirely by a different key."""
    client = Keypair.random()
    other = Keypair.random()
    transaction = craft_challenge(anchor, client.public_key, signer=other, source=other.public_key)
    expect_refused(anchor, sign(anchor, transaction, client))


def test_post_server_signature_forged(anchor):
    """Source is the server's key, but the signature is another key's."""
    client = Keypair.random()
    transaction = craft_challenge(anchor, client.public_key, signer=Keypair.random())
    expect_refused(anchor, sign(anchor, transaction, client), "not signed by this server")


def test_post_sequence_not_zero(anchor):
    client = Keypair.random()
    transaction = craft_challenge(anchor, client.public_key, sequence=7)
    expect_refused(anchor, sign(anchor, transaction, client), "sequence")


def test_post_short_nonce(anchor):
    client = Keypair.random()
    short = base64.b64encode(os.urandom(32))
    transaction = craft_challenge(anchor, client.public_key, data_value=short)
    expect_refused(anchor, sign(anchor, transaction, client), "nonce")


def test_post_memo_with_muxed_account(anchor):
    client = Keypair.random()
    muxed = MuxedAccount(client.public_key, 99).account_muxed
    transaction = craft_challenge(anchor, muxed, memo=5)
    expect_refused(anchor, sign(anchor, transaction, client), "memo")


def test_post_operation_not_manage_data(anchor):
    client = Keypair.random()
    transaction = craft_challenge(
        anchor,
        client.public_key,
        extra_ops=[BumpSequence(bump_to=1, source=anchor.server_account_id)],
    )
    expect_refused(anchor, sign(anchor, transaction, client), "ManageData")


def test_post_extra_operation_from_client(anchor):
    """Only the first operation may have the client as its source (and client_domain's key)."""
    client = Keypair.random()
    transaction = craft_challenge(
        anchor,
        client.public_key,
        extra_ops=[ManageData("sneaky", b"value", source=client.public_key)],
    )
    expect_refused(anchor, sign(anchor, transaction, client))


@pytest.mark.parametrize("garbage", ["AAAA", "not base64", "%%%", "AAAAAgAAAAA="])
def test_post_invalid_xdr(anchor, garbage):
    expect_refused(anchor, garbage, "XDR")
    assert_error(post_challenge(anchor, garbage, form=True), 400)


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_post_missing_transaction(anchor, form):
    assert_error(post_challenge(anchor, None, form=form), 400, "transaction")


def test_post_empty_transaction(anchor):
    assert_error(post_challenge(anchor, ""), 400, "transaction")


def test_post_invalid_json(anchor):
    response = requests.post(
        anchor.auth_url,
        data=b'{"transaction": ',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert_error(response, 400)


def test_post_unsupported_content_type(anchor):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    response = requests.post(
        anchor.auth_url,
        data=sign(anchor, transaction, client).encode(),
        headers={"Content-Type": "application/octet-stream"},
        timeout=TIMEOUT,
    )
    assert_error(response, 415)


def test_post_fee_bump(anchor):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    inner = TransactionEnvelope.from_xdr(sign(anchor, transaction, client), anchor.network_passphrase)
    fee_bump = TransactionBuilder.build_fee_bump_transaction(
        client, 200, inner, anchor.network_passphrase
    )
    fee_bump.sign(client)
    expect_refused(anchor, fee_bump.to_xdr(), "fee-bump")


@pytest.mark.parametrize("status", [500, 502, None], ids=["500", "502", "no-answer"])
def test_post_horizon_failure_is_503(anchor, horizon, status):
    client = Keypair.random()
    horizon.put_error(client, status)
    try:
        transaction, _ = fetch_challenge(anchor, client.public_key)
        response = post_challenge(anchor, sign(anchor, transaction, client))
        assert_error(response, 503)
    finally:
        horizon.remove_account(client)


# --------------------------------------------------------------------------------------------
# SEP-10: accounts on the ledger (signers and thresholds from the stand-in Horizon)
# --------------------------------------------------------------------------------------------


def test_existing_account_master_key(anchor, horizon):
    client = Keypair.random()
    horizon.put_account(client)
    transaction, _ = fetch_challenge(anchor, client.public_key)
    claims = expect_token(
        anchor, sign(anchor, transaction, client), sdk={"signers": [(client.public_key, 1)]}
    )
    assert claims["sub"] == client.public_key


def test_existing_account_as_horizon_lists_it(anchor, horizon):
    """Trustlines, pool shares and non-ed25519 signers, as real Horizon returns them: the
    hash-x / pre-auth / signed-payload signers cannot sign a challenge and are ignored."""
    client = Keypair.random()
    horizon.put_account(
        client,
        [
            (StrKey.encode_sha256_hash(os.urandom(32)), 5),
            (StrKey.encode_pre_auth_tx(os.urandom(32)), 5),
            (StrKey.encode_ed25519_signed_payload(os.urandom(32) + b"\0\0\0\4abcd"), 5),
        ],
        master_weight=2,
        med_threshold=2,
        trustlines=[("USDC", anchor.asset_issuer), ("LONGASSET12", anchor.asset_issuer)],
        pool_shares=True,
    )
    transaction, _ = fetch_challenge(anchor, client.public_key)
    claims = expect_token(
        anchor,
        sign(anchor, transaction, client),
        sdk={"signers": [(client.public_key, 2)], "threshold": 2},
    )
    assert claims["sub"] == client.public_key


@pytest.fixture
def multisig(anchor, horizon):
    """Master weight 1 + a second signer weight 1, medium threshold 2."""
    client, second = Keypair.random(), Keypair.random()
    horizon.put_account(client, [(second, 1)], master_weight=1, low_threshold=1, med_threshold=2,
                        high_threshold=2)
    signers = [(second.public_key, 1), (client.public_key, 1)]
    yield client, second, {"signers": signers, "threshold": 2}
    horizon.remove_account(client)


def test_multisig_one_signature_below_threshold(anchor, multisig):
    client, second, sdk = multisig
    transaction, _ = fetch_challenge(anchor, client.public_key)
    expect_refused(anchor, sign(anchor, transaction, client), "threshold", sdk=sdk)
    expect_refused(anchor, sign(anchor, transaction, second), "threshold", sdk=sdk)


def test_multisig_both_signatures(anchor, multisig):
    client, second, sdk = multisig
    transaction, _ = fetch_challenge(anchor, client.public_key)
    before = time.time()
    claims = expect_token(anchor, sign(anchor, transaction, second, client), sdk=sdk)
    check_claims(anchor, claims, transaction, client.public_key, before, time.time())


def test_multisig_same_signature_twice(anchor, multisig):
    client, _, sdk = multisig
    transaction, _ = fetch_challenge(anchor, client.public_key)
    signed = with_duplicate_signature(anchor, sign(anchor, transaction, client))
    expect_refused(anchor, signed, sdk=sdk)


def test_multisig_unrecognized_signer(anchor, multisig):
    client, second, sdk = multisig
    transaction, _ = fetch_challenge(anchor, client.public_key)
    signed = sign(anchor, transaction, client, second, Keypair.random())
    expect_refused(anchor, signed, "unrecognized", sdk=sdk)


def test_master_key_with_weight_zero(anchor, horizon):
    client, second = Keypair.random(), Keypair.random()
    horizon.put_account(client, [(second, 1)], master_weight=0, med_threshold=1)
    sdk = {"signers": [(second.public_key, 1), (client.public_key, 0)], "threshold": 1}
    transaction, _ = fetch_challenge(anchor, client.public_key)
    expect_refused(anchor, sign(anchor, transaction, client), sdk=sdk)
    claims = expect_token(anchor, sign(anchor, transaction, second), sdk=sdk)
    assert claims["sub"] == client.public_key


def test_server_key_as_signer_does_not_count(anchor, horizon):
    """An account that lists the server's key as a signer: the server's own signature on the
    challenge must not help reach the client's threshold."""
    client = Keypair.random()
    horizon.put_account(client, [(anchor.server_account_id, 1)], master_weight=1, med_threshold=2)
    sdk = {"signers": [(anchor.server_account_id, 1), (client.public_key, 1)], "threshold": 2}
    transaction, _ = fetch_challenge(anchor, client.public_key)
    signed = sign(anchor, transaction, client)
    expect_refused(anchor, signed, sdk=sdk)
    # Nor does a second copy of the server's signature.
    expect_refused(anchor, with_duplicate_signature(anchor, signed, index=0), sdk=sdk)


def test_muxed_account_on_the_ledger(anchor, horizon):
    client, second = Keypair.random(), Keypair.random()
    horizon.put_account(client, [(second, 2)], master_weight=1, med_threshold=2)
    muxed = MuxedAccount(client.public_key, 5).account_muxed
    sdk = {"signers": [(second.public_key, 2), (client.public_key, 1)], "threshold": 2}
    transaction, _ = fetch_challenge(anchor, muxed)
    expect_refused(anchor, sign(anchor, transaction, client), "threshold", sdk=sdk)
    claims = expect_token(anchor, sign(anchor, transaction, second), sdk=sdk)
    assert claims["sub"] == muxed


# --------------------------------------------------------------------------------------------
# SEP-10: client_domain attestation
# --------------------------------------------------------------------------------------------


def client_domain_challenge(anchor, wallet_domain, client: Keypair, wallet_key: Keypair):
    wallet_domain.serve_signing_key(wallet_key)
    transaction, parsed = fetch_challenge(
        anchor, client.public_key, client_domain=wallet_domain.domain
    )
    assert "/.well-known/stellar.toml" in wallet_domain.requests
    operations = parsed.transaction.transaction.operations
    client_domain_ops = [op for op in operations if op.data_name == "client_domain"]
    assert len(client_domain_ops) == 1, operations
    op = client_domain_ops[0]
    assert isinstance(op, ManageData)
    assert op.source.account_id == wallet_key.public_key
    assert op.data_value == wallet_domain.domain.encode()
    assert operations[0].data_name == f"{anchor.home_domain} auth"
    return transaction


def test_client_domain(anchor, wallet_domain):
    client, wallet_key = Keypair.random(), Keypair.random()
    transaction = client_domain_challenge(anchor, wallet_domain, client, wallet_key)
    before = time.time()
    claims = expect_token(anchor, sign(anchor, transaction, client, wallet_key))
    check_claims(anchor, claims, transaction, client.public_key, before, time.time())
    assert claims["client_domain"] == wallet_domain.domain


def test_client_domain_signed_by_client_only(anchor, wallet_domain):
    client, wallet_key = Keypair.random(), Keypair.random()
    transaction = client_domain_challenge(anchor, wallet_domain, client, wallet_key)
    expect_refused(anchor, sign(anchor, transaction, client), "client domain")


def test_client_domain_signed_by_wallet_only(anchor, wallet_domain):
    client, wallet_key = Keypair.random(), Keypair.random()
    transaction = client_domain_challenge(anchor, wallet_domain, client, wallet_key)
    expect_refused(anchor, sign(anchor, transaction, wallet_key))


def test_client_domain_with_multisig_account(anchor, wallet_domain, horizon):
    client, second, wallet_key = Keypair.random(), Keypair.random(), Keypair.random()
    horizon.put_account(client, [(second, 1)], med_threshold=2)
    sdk = {"signers": [(second.public_key, 1), (client.public_key, 1)], "threshold": 2}
    transaction = client_domain_challenge(anchor, wallet_domain, client, wallet_key)
    expect_refused(anchor, sign(anchor, transaction, client, wallet_key), "threshold", sdk=sdk)
    claims = expect_token(anchor, sign(anchor, transaction, wallet_key, second, client), sdk=sdk)
    assert claims["client_domain"] == wallet_domain.domain


@pytest.mark.parametrize(
    "toml",
    [
        None,  # 404
        "this is [[[ not toml",
        'VERSION="2.7.0"\nNETWORK_PASSPHRASE="Test SDF Network ; September 2015"\n',
        'SIGNING_KEY="GNOTAKEY"\n',
        f'SIGNING_KEY="{Keypair.random().secret}"\n',
    ],
    ids=["not-found", "garbage", "no-signing-key", "invalid-signing-key", "secret-seed"],
)
def test_client_domain_without_signing_key(anchor, wallet_domain, toml):
    if toml is None:
        wallet_domain.serve_not_found()
    else:
        wallet_domain.serve_toml(toml)
    response = get_challenge(
        anchor, account=Keypair.random().public_key, client_domain=wallet_domain.domain
    )
    assert_error(response, 400, "client_domain")
    assert "/.well-known/stellar.toml" in wallet_domain.requests


def test_client_domain_unreachable(anchor, unused_port):
    response = get_challenge(
        anchor, account=Keypair.random().public_key, client_domain=f"127.0.0.1:{unused_port}"
    )
    assert_error(response, 400, "client_domain")


# --------------------------------------------------------------------------------------------
# CORS and routing
# --------------------------------------------------------------------------------------------


def test_auth_preflight(anchor):
    response = requests.options(
        anchor.auth_url,
        headers={
            "Origin": "https://wallet.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=TIMEOUT,
    )
    assert 200 <= response.status_code < 300
    assert_cors(response)
    methods = {m.strip().upper() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST"} <= methods
    headers = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert "content-type" in headers


def test_unknown_route_is_json_404_with_cors(anchor):
    assert_error(requests.get(f"{anchor.base_url}/nope", timeout=TIMEOUT), 404)


def test_unsupported_method(anchor):
    response = requests.put(anchor.auth_url, json={}, timeout=TIMEOUT)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


# --------------------------------------------------------------------------------------------
# Replay protection: a challenge is exchanged for a JWT at most once
# --------------------------------------------------------------------------------------------


def test_the_same_signed_challenge_posted_twice_is_refused_the_second_time(anchor):
    client = Keypair.random()
    transaction, _ = fetch_challenge(anchor, client.public_key)
    signed = sign(anchor, transaction, client)
    first = post_challenge(anchor, signed)
    assert first.status_code == 200, first.text
    assert_error(post_challenge(anchor, signed), 400, "already been used")
    assert_error(post_challenge(anchor, signed, form=True), 400, "already been used")
    # A new challenge for the same account still works.
    again, _ = fetch_challenge(anchor, client.public_key)
    assert post_challenge(anchor, sign(anchor, again, client)).status_code == 200
