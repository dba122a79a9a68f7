"""The channel accounts of the Stellar submitter, derived from the channel seed exactly as
`mooring::payments::channel_keypair` does: channel i's ed25519 seed is
SHA-256("mooring channel" || the channel seed's 32 raw bytes || i as a big-endian u32).
The local stack creates and funds them; an operator does the same on a real network
(`python -m infra.local_stack.channels S... 4` prints the accounts)."""

from __future__ import annotations

import hashlib
import sys

from stellar_sdk import Keypair


def channel_keypair(seed: Keypair, index: int) -> Keypair:
    if not 0 <= index < 2**32:
        raise ValueError("a channel index is a u32")
    raw = hashlib.sha256(b"mooring channel" + seed.raw_secret_key() + index.to_bytes(4, "big")).digest()
    return Keypair.from_raw_ed25519_seed(raw)


def channel_keypairs(seed: Keypair, count: int) -> list[Keypair]:
    return [channel_keypair(seed, i) for i in range(count)]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m infra.local_stack.channels CHANNEL_SEED COUNT", file=sys.stderr)
        sys.exit(2)
    for i, keypair in enumerate(channel_keypairs(Keypair.from_secret(sys.argv[1]), int(sys.argv[2]))):
        print(i, keypair.public_key)
