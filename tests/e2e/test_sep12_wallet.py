"""SEP-12 (KYC) against the real `mooring-local` binary, from a wallet written only with the
Python stellar-sdk (SEP-10 login) and requests (SEP-12 calls).

The wallet finds KYC_SERVER in stellar.toml, logs in with SEP-10, then registers customers,
verifies the email code (read from the anchor's log, where the reference integration "sends"
it), uploads documents as multipart/form-data, and checks every refusal: authentication,
other accounts' customers, memos of a shared account, malformed and oversized input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import tomllib

import pytest
import requests
from stellar_sdk import Keypair, MuxedAccount, TransactionEnvelope

TIMEOUT = 10  # seconds, per HTTP request
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # binary, not UTF-8


# --------------------------------------------------------------------------------------------
# Wallet-side helpers
# --------------------------------------------------------------------------------------------


def login(anchor, keypair: Keypair, memo: int | None = None, muxed: bool = False) -> str:
    """SEP-10 as a wallet: challenge, check and sign it with the SDK, exchange it for a JWT."""
    account = keypair.public_key
    params = {"account": account}
    if muxed:
        params["account"] = MuxedAccount(account, memo).account_muxed
    elif memo is not None:
        params["memo"] = str(memo)
    response = requests.get(anchor.auth_url, params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    envelope = TransactionEnvelope.from_xdr(response.json()["transaction"], anchor.network_passphrase)
    envelope.sign(keypair)
    response = requests.post(anchor.auth_url, json={"transaction": envelope.to_xdr()}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_jwt(anchor, sub: str, exp: int) -> str:
    """An HS256 token signed with the anchor's secret (to test expiry precisely)."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    claims = {"iss": anchor.auth_url, "sub": sub, "iat": now - 100, "exp": exp, "jti": "00",
              "home_domain": anchor.home_domain}
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(anchor.jwt_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64url(signature.digest())}"


class Wallet:
    """SEP-12 calls with one SEP-10 token."""

    def __init__(self, anchor, token: str | None, account: str | None = None):
        self.base = anchor.kyc_url
        self.account = account
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
        response = requests.request(
            method, f"{self.base}{path}", headers={**self.headers, **(headers or {})},
            timeout=TIMEOUT, **kwargs
        )
        assert response.headers.get("Access-Control-Allow-Origin") == "*", dict(response.headers)
        assert "application/json" in response.headers.get("Content-Type", ""), response.text
        return response

    def get(self, **params) -> requests.Response:
        return self.request("GET", "/customer", params=params)

    def put(self, **kwargs) -> requests.Response:
        return self.request("PUT", "/customer", **kwargs)

    def put_id(self, **kwargs) -> str:
        response = self.put(**kwargs)
        assert response.status_code == 202, response.text
        customer_id = response.json()["id"]
        assert isinstance(customer_id, str) and customer_id
        return customer_id


def error_of(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]
    assert isinstance(message, str) and message
    return message


def code_for(anchor, customer_id: str, field: str) -> str:
    """The verification code the reference integration logged for this customer's field."""
    match = anchor.wait_for_log(
        rf"verification code for {field} of customer {customer_id}: (\d{{6}})"
    )
    return match.group(1)


@pytest.fixture
def alice(anchor) -> Wallet:
    keypair = Keypair.random()
    return Wallet(anchor, login(anchor, keypair), keypair.public_key)


# --------------------------------------------------------------------------------------------
# Discovery and the main flow
# --------------------------------------------------------------------------------------------


def test_stellar_toml_names_the_kyc_server(anchor):
    response = requests.get(f"{anchor.base_url}/.well-known/stellar.toml", timeout=TIMEOUT)
    toml = tomllib.loads(response.text)
    assert toml["KYC_SERVER"] == anchor.kyc_url


def test_register_verify_and_get_accepted(anchor, alice):
    fresh = alice.get()
    assert fresh.status_code == 200
    assert fresh.json()["status"] == "NEEDS_INFO"
    assert "id" not in fresh.json()
    assert set(fresh.json()["fields"]) == {"first_name", "last_name", "email_address"}
    for spec in fresh.json()["fields"].values():
        assert spec["type"] == "string" and spec["description"]

    customer_id = alice.put_id(json={"first_name": "Jane"})
    partial = alice.get().json()
    assert (partial["id"], partial["status"]) == (customer_id, "NEEDS_INFO")
    assert set(partial["fields"]) == {"last_name", "email_address"}
    assert partial["provided_fields"]["first_name"]["status"] == "ACCEPTED"

    # Form-encoded, by id: the same id comes back.
    same = alice.put_id(data={"id": customer_id, "last_name": "Doe", "email_address": "jane@example.com"})
    assert same == customer_id
    pending = alice.get(id=customer_id).json()
    assert pending["status"] == "NEEDS_INFO"
    assert pending["provided_fields"]["email_address"]["status"] == "VERIFICATION_REQUIRED"

    code = code_for(anchor, customer_id, "email_address")
    assert code not in json.dumps(pending)
    wrong = "000000" if code != "000000" else "111111"
    refused = alice.request("PUT", "/customer/verification",
                            json={"id": customer_id, "email_address_verification": wrong})
    assert "not correct" in error_of(refused, 400)
    assert alice.get().json()["status"] == "NEEDS_INFO"

    verified = alice.request("PUT", "/customer/verification",
                             json={"id": customer_id, "email_address_verification": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "ACCEPTED"

    for params in ({}, {"id": customer_id}):
        accepted = alice.get(**params).json()
        assert (accepted["id"], accepted["status"]) == (customer_id, "ACCEPTED")
        assert all(f["status"] == "ACCEPTED" for f in accepted["provided_fields"].values())


def test_code_sent_back_with_put_customer(anchor, alice):
    customer_id = alice.put_id(json={"email_address": "bob@example.com"})
    code = code_for(anchor, customer_id, "email_address")
    alice.put_id(json={"email_address_verification": code, "first_name": "Bob", "last_name": "B"})
    assert alice.get().json()["status"] == "ACCEPTED"


def test_multipart_upload_of_binary_fields(anchor, alice):
    response = alice.put(
        data={"first_name": "Jane", "last_name": "Doe"},
        files={"photo_id_front": ("front.png", PNG, "image/png")},
    )
    assert response.status_code == 202, response.text
    customer_id = response.json()["id"]
    provided = alice.get().json()["provided_fields"]
    assert provided["photo_id_front"]["type"] == "binary"

    # A document uploaded on its own, then referenced by file id.
    upload = alice.request("POST", "/customer/files",
                           files={"file": ("back.png", PNG, "image/png")})
    assert upload.status_code == 200, upload.text
    file_object = upload.json()
    assert (file_object["content_type"], file_object["size"]) == ("image/png", len(PNG))
    assert file_object["customer_id"] is None
    alice.put_id(json={"photo_id_back_file_id": file_object["file_id"]})

    listed = alice.request("GET", "/customer/files", params={"customer_id": customer_id}).json()
    assert {f["size"] for f in listed["files"]} == {len(PNG)}
    assert len(listed["files"]) == 2
    assert all(f["customer_id"] == customer_id for f in listed["files"])
    one = alice.request("GET", "/customer/files", params={"file_id": file_object["file_id"]})
    assert one.json()["files"][0]["customer_id"] == customer_id


def test_oversized_and_malformed_input_store_nothing(anchor, alice):
    too_big = alice.put(files={"photo_id_front": ("big.png", b"\0" * (5 * 1024 * 1024 + 1), "image/png")},
                        data={"first_name": "Jane"})
    error_of(too_big, 413)
    assert "JSON" in error_of(alice.put(data="{not json", headers={"Content-Type": "application/json"}), 400)
    assert "shoe_size" in error_of(alice.put(json={"first_name": "Jane", "shoe_size": "42"}), 400)
    assert "binary" in error_of(alice.put(json={"photo_id_front": "aGVsbG8="}), 400)
    assert "email_address" in error_of(alice.put(json={"email_address": "not-an-email"}), 400)
    assert "memo" in error_of(alice.put(json={"memo": "abc", "first_name": "Jane"}), 400)
    huge_file = alice.request("POST", "/customer/files",
                              files={"file": ("big.bin", b"\0" * (5 * 1024 * 1024 + 1))})
    error_of(huge_file, 413)
    # Nothing was stored: still no customer, no file.
    after = alice.get().json()
    assert after["status"] == "NEEDS_INFO" and "id" not in after


# --------------------------------------------------------------------------------------------
# Identity: memos, other accounts, deletion, authentication
# --------------------------------------------------------------------------------------------


def test_memos_of_one_account_are_separate_customers(anchor):
    owner = Keypair.random()
    shared = Wallet(anchor, login(anchor, owner))
    one = shared.put_id(json={"memo": "1", "first_name": "One"})
    two = shared.put_id(json={"memo": "2", "memo_type": "id", "first_name": "Two"})
    assert one != two
    assert shared.get(memo="1").json()["id"] == one
    assert "id" not in shared.get().json()

    # The user behind memo 1 logs in with the memo (G:memo) or as M...: sees one, never two.
    for token in (login(anchor, owner, memo=1), login(anchor, owner, memo=1, muxed=True)):
        user_one = Wallet(anchor, token)
        mine = user_one.get().json()
        assert mine["id"] == one
        assert mine["provided_fields"]["first_name"]["status"] == "ACCEPTED"
        error_of(user_one.get(id=two), 404)
        error_of(user_one.get(memo="2"), 403)
        error_of(user_one.put(json={"id": two, "first_name": "Mallory"}), 404)
    assert shared.get(memo="2").json()["provided_fields"]["first_name"]


def test_another_account_gets_404_for_a_customer_id(anchor, alice):
    customer_id = alice.put_id(json={"first_name": "Alice"})
    bob = Wallet(anchor, login(anchor, Keypair.random()))
    foreign = bob.get(id=customer_id)
    unknown = bob.get(id="00000000-0000-0000-0000-000000000000")
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    error_of(foreign, 404)
    error_of(bob.put(json={"id": customer_id, "first_name": "Bob"}), 404)
    error_of(bob.request("PUT", "/customer/callback", json={"id": customer_id, "url": "https://bob.example/"}), 404)
    assert bob.request("GET", "/customer/files", params={"customer_id": customer_id}).json() == {"files": []}
    error_of(bob.request("DELETE", f"/customer/{alice.account}"), 403)
    error_of(bob.get(account=alice.account), 403)
    assert alice.get(id=customer_id).json()["provided_fields"]["first_name"]


def test_delete_then_404(anchor):
    keypair = Keypair.random()
    wallet = Wallet(anchor, login(anchor, keypair))
    customer_id = wallet.put_id(data={"first_name": "Gone"}, files={"photo_id_front": ("f.png", PNG, "image/png")})
    deleted = wallet.request("DELETE", f"/customer/{keypair.public_key}")
    assert deleted.status_code == 200, deleted.text
    error_of(wallet.get(id=customer_id), 404)
    assert "id" not in wallet.get().json()
    assert wallet.request("GET", "/customer/files", params={"customer_id": customer_id}).json() == {"files": []}
    error_of(wallet.request("DELETE", f"/customer/{keypair.public_key}"), 404)


def test_authentication_failures_are_401(anchor):
    account = Keypair.random().public_key
    for token in (None, "not-a-jwt", forge_jwt(anchor, account, int(time.time()) - 1)):
        wallet = Wallet(anchor, token)
        error_of(wallet.get(), 401)
        error_of(wallet.put(json={"first_name": "X"}), 401)
        error_of(wallet.request("DELETE", f"/customer/{account}"), 401)
    # The same forged token, not yet expired, is accepted: expiry was the only fault.
    assert Wallet(anchor, forge_jwt(anchor, account, int(time.time()) + 60)).get().status_code == 200


def test_preflight_is_answered(anchor):
    response = requests.options(
        f"{anchor.kyc_url}/customer",
        headers={"Origin": "https://wallet.example", "Access-Control-Request-Method": "PUT"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
