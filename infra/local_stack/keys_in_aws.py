"""The anchor's keys in the local AWS, kept the way a deployment keeps them: the distribution
account is a KMS key (ECC_NIST_EDWARDS25519: the emulator's KMS signs ED25519_SHA_512 as AWS KMS
does, so its public key IS a Stellar account), and the seeds that remain secrets (the SEP-10
signing seed, the channel seed) are Secrets Manager secrets. The template receives their ARNs,
never a secret value. Idempotent: a key or secret that exists is reused (values updated)."""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Keypair, StrKey
from stellar_sdk.decorated_signature import DecoratedSignature

DISTRIBUTION_ALIAS = "alias/mooring-distribution"


@dataclass
class KmsAccount:
    """A Stellar account whose key is in KMS: `public_key` like a Keypair's, and signing of
    envelopes through KMS (the private key is never seen here)."""

    key_id: str  # the key's ARN
    public_key: str
    kms: object  # boto3 KMS client

    def sign_hash(self, digest: bytes) -> bytes:
        answer = self.kms.sign(
            KeyId=self.key_id, Message=digest, MessageType="RAW", SigningAlgorithm="ED25519_SHA_512"
        )
        return answer["Signature"]

    def sign_envelope(self, envelope) -> None:
        """Adds this account's signature over the envelope's transaction hash."""
        hint = Keypair.from_public_key(self.public_key).signature_hint()
        envelope.signatures.append(DecoratedSignature(hint, self.sign_hash(envelope.hash())))


def public_key_from_der(der: bytes) -> str:
    """The G... address of an ed25519 DER SubjectPublicKeyInfo (its last 32 bytes)."""
    if len(der) != 44:
        raise ValueError(f"not an ed25519 public key ({len(der)} bytes of DER)")
    return StrKey.encode_ed25519_public_key(der[-32:])


def kms_account(kms, alias: str = DISTRIBUTION_ALIAS) -> KmsAccount:
    """The ed25519 KMS key named by `alias`, created on first use."""
    key_id = None
    for entry in kms.list_aliases().get("Aliases", []):
        if entry.get("AliasName") == alias and entry.get("TargetKeyId"):
            key_id = entry["TargetKeyId"]
    if key_id is None:
        created = kms.create_key(
            KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY", Description=f"Mooring {alias}"
        )
        key_id = created["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    return KmsAccount(key_id=metadata["Arn"], public_key=public_key_from_der(der), kms=kms)


def put_secret(secretsmanager, name: str, value: str) -> str:
    """The ARN of secret `name` holding `value` (created, or its value replaced)."""
    try:
        arn = secretsmanager.describe_secret(SecretId=name)["ARN"]
    except secretsmanager.exceptions.ResourceNotFoundException:
        return secretsmanager.create_secret(Name=name, SecretString=value)["ARN"]
    if secretsmanager.get_secret_value(SecretId=arn)["SecretString"] != value:
        secretsmanager.put_secret_value(SecretId=arn, SecretString=value)
    return arn
