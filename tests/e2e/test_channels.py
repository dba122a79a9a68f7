"""The local stack derives the submitter's channel accounts in Python (to create and fund them);
they must be the accounts `mooring::payments::channel_keypair` signs with. The same vector is
checked on the Rust side (functions/stellar-submitter/tests/handler.rs)."""

from __future__ import annotations

import sys
from pathlib import Path

from stellar_sdk import Keypair

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infra.local_stack.channels import channel_keypair, channel_keypairs  # noqa: E402


def test_channel_accounts_match_the_rust_derivation():
    seed = Keypair.from_raw_ed25519_seed(bytes([1] * 32))
    assert seed.secret == "SAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQC5MY"
    assert channel_keypair(seed, 0).public_key == "GDT22VM2HOH7GQGFOLUGAA4PZZGXOSFM2MTOXEQHOMUUJETDO7TAMR6P"
    assert channel_keypair(seed, 1).public_key == "GADCC36E5MX4FKV3SOJ4PU4G7WCLJEARRFIUESQKDSNIZVPPMEYM4IXI"
    assert channel_keypair(seed, 7).public_key == "GD7ZZB7C7LVX6YTFJD3LTYN2YKEX5HWF5FQA4YD2Q43JUEDTF6LBM2BF"
    assert [k.public_key for k in channel_keypairs(seed, 2)] == [
        channel_keypair(seed, 0).public_key, channel_keypair(seed, 1).public_key
    ]
