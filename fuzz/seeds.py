"""Writes the seed corpus (corpus/<target>/seed-*): small, valid-looking inputs from which
libFuzzer mutates. Deterministic; run it again only to change the seeds:
    .venv/bin/python fuzz/seeds.py        (needs stellar-sdk, in the project's .venv)
The SEP-10 seeds are challenges signed by the key, at the time, that src/lib.rs fixes."""

import base64
import hashlib
import json
import os
import urllib.parse

from stellar_sdk import (
    Account,
    Keypair,
    MuxedAccount,
    Network,
    TransactionBuilder,
)

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1_700_000_000  # src/lib.rs NOW
ISSUER = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"
ACCOUNT = "GD44HN4DO447A5ZF337HOUEL7RVMPVVNYA5N2ARNUKQUANHN6A5XMYJ2"


def seeded(label):
    return Keypair.from_raw_ed25519_seed(hashlib.sha256(label.encode()).digest())


def challenge(client, memo=None, muxed_id=None):
    server = seeded("fuzz server")
    source = Account(server.public_key, -1)  # built with sequence number 0
    client_account = client.public_key
    if muxed_id is not None:
        client_account = MuxedAccount(client.public_key, muxed_id).account_muxed
    nonce = base64.b64encode(hashlib.sha256(b"fuzz nonce").digest() + b"\x00" * 16)
    builder = (
        TransactionBuilder(source, Network.TESTNET_NETWORK_PASSPHRASE, base_fee=100)
        .add_time_bounds(NOW, NOW + 900)
        .append_manage_data_op("example.com auth", nonce, source=client_account)
        .append_manage_data_op("web_auth_domain", b"auth.example.com", source=server.public_key)
    )
    if memo is not None:
        builder.add_id_memo(memo)
    tx = builder.build()
    tx.sign(server)
    tx.sign(client)
    return base64.b64decode(tx.to_xdr())


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for i, seed in enumerate(seeds, 1):
        data = seed.encode() if isinstance(seed, str) else seed
        with open(os.path.join(folder, f"seed-{i}"), "wb") as f:
            f.write(data)


def main():
    client = seeded("fuzz client")
    xdrs = [challenge(client), challenge(client, memo=42), challenge(client, muxed_id=7)]
    write("sep10_xdr", xdrs)
    plain = base64.b64encode(xdrs[0]).decode()
    write(
        "sep10_post",
        [
            b"\x00" + json.dumps({"transaction": plain}).encode(),
            b"\x02" + urllib.parse.urlencode({"transaction": plain}).encode(),
            b"\x00transaction=" + urllib.parse.quote(plain, safe="").encode(),
        ],
    )
    write(
        "amounts",
        ["100", "0.0000001|3", "922337203685.4775807|0.5", "12.50|2.5", "-1.5", "1e5|0", "0.1|0"],
    )
    write(
        "http_body",
        [
            b"\x01" + json.dumps({"asset_code": "USDC", "amount": "10.5", "n": 5, "z": None, "b": True}).encode(),
            b"\x02asset_code=USDC&amount=10.5&memo=&account=" + ACCOUNT.encode(),
            b"\x00 {\"transaction\":\"abc\"}",
        ],
    )
    write(
        "query_string",
        [
            "asset_code=USDC&limit=10&kind=deposit&paging_id=abc&no_older_than=2024-01-01T00:00:00Z",
            "id=a%2Bb%3D&lang=en-US&x=",
            "account=" + ACCOUNT + "&memo=12&home_domain=example.com&client_domain=wallet.example.com",
        ],
    )
    write(
        "multipart",
        [
            "multipart/form-data; boundary=X\n"
            "--X\r\nContent-Disposition: form-data; name=\"first_name\"\r\n\r\nJane\r\n"
            "--X\r\nContent-Disposition: form-data; name=\"photo_id_front\"; filename=\"id.png\"\r\n"
            "Content-Type: image/png\r\n\r\n\x89PNG\r\n--X--\r\n",
        ],
    )
    write(
        "sep9",
        [
            "first_name=Jane\nlast_name=Doe\nemail_address=jane@example.com\nmobile_number=+14155550100\nbirth_date=1990-01-31",
            "address_country_code=USA\nsex=female\nid_type=passport\nid_expiration_date=2030-12-31",
            "organization.name=Acme\norganization.email=ops@acme.example\nbank_account_number=123\nmobile_number_format=E.164",
        ],
    )
    write(
        "horizon_json",
        [
            b"\x00" + json.dumps({
                "id": ACCOUNT, "account_id": ACCOUNT, "sequence": "12",
                "thresholds": {"low_threshold": 0, "med_threshold": 0, "high_threshold": 0},
                "signers": [{"key": ACCOUNT, "weight": 1, "type": "ed25519_public_key"}],
                "balances": [{"balance": "10.0000000", "asset_type": "native"},
                             {"balance": "5.0000000", "limit": "100.0000000", "asset_type": "credit_alphanum4",
                              "asset_code": "USDC", "asset_issuer": ISSUER}],
            }).encode(),
            b"\x01" + b'{"hash":"ab12","ledger":42,"successful":true,"created_at":"2024-01-01T00:00:00Z","memo_type":"id","memo":"3"}',
            b"\x02" + b'{"_embedded":{"records":[{"id":"12","paging_token":"12","type":"payment","transaction_successful":true,"transaction_hash":"ff","created_at":"2024-01-01T00:00:00Z","from":"'
            + ACCOUNT.encode() + b'","to":"' + ACCOUNT.encode()
            + b'","asset_type":"native","amount":"1.0000000","transaction":{"memo_type":"id","memo":"3"}}]}}',
            b"\x03" + b'{"type":"https://stellar.org/horizon-errors/transaction_failed","status":400,"extras":{"result_codes":{"transaction":"tx_failed","operations":["op_success","op_no_trust"]}}}',
            b"\x04" + b'{"last_ledger_base_fee":"100","fee_charged":{"p50":"250"}}',
        ],
    )
    write(
        "callback_url",
        ["https://wallet.example.com/callback?id=1", "http://[::1]:8000/x", "postMessage", "https://user:pw@10.0.0.1/"],
    )
    assets = json.dumps([{
        "code": "USDC", "issuer": ISSUER, "seps": ["sep6", "sep24", "sep31", "sep38"],
        "significant_decimals": 2,
        "deposit": {"min_amount": 1, "max_amount": "1000", "fee_fixed": 0.5, "funding_methods": ["bank_transfer"]},
        "withdraw": {"funding_methods": ["bank_transfer"], "fee_percent": "1"},
        "receive": {"funding_methods": ["bank_transfer"], "max_amount": "1000"},
        "toml": {"status": "test", "desc": "US dollars", "nested": {"a": [1, 2.5, True]}},
    }, {"code": "native"}])
    write(
        "config_assets",
        [
            "SEP10_CHALLENGE_TTL_SECONDS=900\n" + assets,
            "SEP10_JWT_TTL_SECONDS=86400\n[]",
            "PUBLIC_URL=http://localhost:8000\n" + assets,
        ],
    )
    write(
        "stellar_toml",
        [
            f'VERSION="2.0.0"\nSIGNING_KEY="{ACCOUNT}"\nACCOUNTS=["{ISSUER}"]\n[[CURRENCIES]]\ncode="USDC"\nissuer="{ISSUER}"\n',
            'SIGNING_KEY = 5\n[DOCUMENTATION]\nORG_NAME = "x"\n',
        ],
    )
    write(
        "stellar_ids",
        [
            "\x00" + ACCOUNT,
            "\x01" + MuxedAccount(ACCOUNT, 7).account_muxed,
            "\x01" + "18446744073709551615",
            "\x02" + "hello",
            "\x03" + "aa" * 32,
            "\x00" + "USDC:" + ISSUER,
            "\x00native",
            "\x00" + seeded("x").secret,
        ],
    )


if __name__ == "__main__":
    main()
