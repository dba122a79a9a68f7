"""Secrets only where used: each function of template.yaml receives exactly the secrets its code
reads, no more (a leaked function leaks nothing it does not need) and no fewer (it would refuse
to start, or silently skip what the secret is for). README "Configuration" says the same.

A function never receives a secret's value: it receives the secret's ARN (`<NAME>_ARN`) and reads
it from Secrets Manager at cold start, or a KMS key (`*_KMS_KEY_ID(S)`) it signs with; its IAM
policy allows reading exactly those secrets and signing with exactly those keys.

`EXPECTED` is the table both sides are checked against: the template (its Globals and each
function's own variables) and the function crates' sources (the config readers they call)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from infra.local_stack import template as tpl  # noqa: E402

SECRETS = {"SIGNING_SEED", "JWT_SECRET", "DISTRIBUTION_SEED", "CHANNEL_SEED"}

# Binary (functions/<name>) -> the secrets it uses, and what for.
EXPECTED: dict[str, set[str]] = {
    "sep1-toml": set(),
    # Signs challenges (SIGNING_SEED) and issues JWTs (JWT_SECRET).
    "sep10-auth": {"SIGNING_SEED", "JWT_SECRET"},
    # Verifies SEP-10 JWTs (JWT_SECRET).
    "sep12-kyc": {"JWT_SECRET"},
    "sep24-transfer": {"JWT_SECRET"},
    # Verify JWTs (JWT_SECRET); their transactions' callbacks are posted by callback-sender.
    "sep6-transfer": {"JWT_SECRET"},
    "sep31-receive": {"JWT_SECRET"},
    "sep38-quotes": {"JWT_SECRET"},
    # Verifies JWTs, derives the link/session/CSRF keys (JWT_SECRET); the wallet's `callback`
    # URL is posted by callback-sender.
    "sep24-interactive": {"JWT_SECRET"},
    # Signs deposit payments: distribution account and channel accounts.
    "stellar-submitter": {"DISTRIBUTION_SEED", "CHANNEL_SEED"},
    "deposit-poller": set(),
    "trustline-recheck": set(),
    # The workers' status changes are announced by the callback worker (the tables' streams).
    "payment-watcher": set(),
    "withdrawal-processor": set(),
    "outgoing-payments": set(),
    "payout-poller": set(),
    "expiry-sweeper": set(),
    # Queues callbacks from the tables' streams: no secret.
    "callback-dispatcher": set(),
    # Signs every status callback it posts (the one function besides sep10-auth with the seed).
    "callback-sender": {"SIGNING_SEED"},
}

# The config readers of `mooring` that read a secret, and which (a function reading a secret
# by its own name is found too). `AnchorConfig` reads SIGNING_SEED only without SIGNING_KEY,
# which the template always sets, so it is no use of the seed.
READERS = {
    "Sep10Config::from_source": {"SIGNING_SEED", "JWT_SECRET"},
    "Sep10Config::from_env": {"SIGNING_SEED", "JWT_SECRET"},
    "AuthConfig::from_source": {"JWT_SECRET"},
    "AuthConfig::from_env": {"JWT_SECRET"},
    "InteractiveConfig::from_source": {"JWT_SECRET"},
    "InteractiveConfig::from_env": {"JWT_SECRET"},
    "CallbackSettings::from_source": {"SIGNING_SEED"},
    "Signers::from_source": {"DISTRIBUTION_SEED", "CHANNEL_SEED"},
    "SignerSettings::from_source": {"DISTRIBUTION_SEED", "CHANNEL_SEED"},
    "Signers::from_env": {"DISTRIBUTION_SEED", "CHANNEL_SEED"},
}


@pytest.fixture(scope="module")
def template() -> dict:
    return tpl.load(REPO / "template.yaml")


def variables(section: dict) -> dict:
    return section.get("Environment", {}).get("Variables", {}) or {}


def received(template: dict) -> dict[str, set[str]]:
    """Binary -> the secrets the template gives it by ARN (Globals and its own variables); the
    previous JWT secret of a rotation counts as the JWT secret."""
    def secrets_of(section: dict) -> set[str]:
        names = {name.removesuffix("_ARN") for name in variables(section) if name.endswith("_ARN")}
        return {"JWT_SECRET" if name == "JWT_SECRET_PREVIOUS" else name for name in names} & SECRETS
    global_secrets = secrets_of(template.get("Globals", {}).get("Function", {}))
    return {
        binary: global_secrets | secrets_of(template["Resources"][logical_id]["Properties"])
        for logical_id, binary in tpl.function_binaries(template).items()
    }


def used(binary: str) -> set[str]:
    """The secrets a function crate's sources read, directly or through a config reader."""
    source = "\n".join(path.read_text() for path in sorted((REPO / "functions" / binary / "src").rglob("*.rs")))
    found = {name for name in SECRETS if re.search(rf'"{name}"', source)}
    for reader, secrets in READERS.items():
        if reader in source:
            found |= secrets
    return found


def test_the_table_covers_every_function(template):
    crates = {path.name for path in (REPO / "functions").iterdir() if (path / "Cargo.toml").is_file()}
    assert set(tpl.function_binaries(template).values()) == crates
    assert set(EXPECTED) == crates, "add the new function to EXPECTED"


def test_no_secret_is_given_to_every_function(template):
    global_variables = set(variables(template.get("Globals", {}).get("Function", {})))
    assert not global_variables & SECRETS


def test_each_function_receives_exactly_the_secrets_it_uses(template):
    assert received(template) == EXPECTED


@pytest.mark.parametrize("binary", sorted(EXPECTED))
def test_each_function_uses_the_secrets_of_the_table(binary):
    assert used(binary) == EXPECTED[binary]


# The setting naming each secret's ARN -> what the template passes: a generated secret (a
# resource) or an ARN parameter.
ARN_SOURCES = {
    "SIGNING_SEED_ARN": "SigningSeedSecretArn",
    "JWT_SECRET_ARN": "JwtSecret",
    "JWT_SECRET_PREVIOUS_ARN": "JwtSecretPreviousArn",
    "DISTRIBUTION_SEED_ARN": "DistributionSeedSecretArn",
    "CHANNEL_SEED_ARN": "ChannelSeedSecretArn",
}
# The settings naming KMS keys -> their ARN parameters.
KMS_SOURCES = {"DISTRIBUTION_KMS_KEY_ID": "DistributionKmsKeyArn", "CHANNEL_KMS_KEY_IDS": "ChannelKmsKeyArns"}


def function_variables(template: dict, logical_id: str) -> dict:
    return variables(template["Resources"][logical_id]["Properties"])


def test_no_function_receives_a_secret_value(template):
    """Only ARNs: no variable named like a secret, no parameter holding one (NoEcho)."""
    for logical_id in tpl.function_binaries(template):
        names = set(function_variables(template, logical_id))
        assert not names & SECRETS, (logical_id, names & SECRETS)
        assert not names & {"SIGNING_SEED_PREVIOUS", "JWT_SECRET_PREVIOUS"}, logical_id
    assert not [name for name, p in template["Parameters"].items() if p.get("NoEcho")]
    assert template["Resources"]["JwtSecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" in template["Resources"]["JwtSecret"]["Properties"]


def test_each_secret_and_key_is_passed_by_reference(template):
    for logical_id in tpl.function_binaries(template):
        for name, value in function_variables(template, logical_id).items():
            if name in ARN_SOURCES:
                assert value == {"Ref": ARN_SOURCES[name]}, (logical_id, name)
            if name in KMS_SOURCES:
                assert value == {"Ref": KMS_SOURCES[name]}, (logical_id, name)


def refs(value) -> set[str]:
    """The names every `Ref` inside value names."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return {value["Ref"]}
        return set().union(*(refs(inner) for inner in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(refs(inner) for inner in value)) if value else set()
    return set()


def statements(properties: dict) -> list[dict]:
    """Every policy statement of a function; one under `Fn::If` counts (its condition only
    decides whether the resource was configured)."""
    found = []
    for policy in properties.get("Policies", []) or []:
        if not isinstance(policy, dict):
            continue
        for statement in policy.get("Statement", []) or []:
            if isinstance(statement, dict) and "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            found.append(statement)
    return found


def allowed(properties: dict, prefix: str) -> tuple[set[str], set[str]]:
    """(actions, referenced resources) of the statements allowing actions of a service."""
    actions, resources = set(), set()
    for statement in statements(properties):
        listed = statement.get("Action", [])
        listed = [listed] if isinstance(listed, str) else listed
        if any(action.startswith(prefix) for action in listed):
            actions |= set(listed)
            resources |= refs(statement.get("Resource"))
    return actions, resources


def test_the_seed_is_read_only_where_something_is_signed(template):
    """SIGNING_SEED signs SEP-10 challenges and status callbacks, nothing else: every other
    function lets callback-sender post its transactions' callbacks."""
    with_seed = {binary for binary, secrets in received(template).items() if "SIGNING_SEED" in secrets}
    assert with_seed == {"sep10-auth", "callback-sender"}


def test_each_policy_names_exactly_the_secrets_and_keys_of_its_function(template):
    for logical_id in tpl.function_binaries(template):
        properties = template["Resources"][logical_id]["Properties"]
        names = function_variables(template, logical_id)
        secret_actions, secret_resources = allowed(properties, "secretsmanager:")
        assert secret_resources == {ARN_SOURCES[n] for n in names if n in ARN_SOURCES}, logical_id
        assert secret_actions <= {"secretsmanager:GetSecretValue"}, logical_id
        kms_actions, kms_resources = allowed(properties, "kms:")
        assert kms_resources == {KMS_SOURCES[n] for n in names if n in KMS_SOURCES}, logical_id
        assert kms_actions <= {"kms:Sign", "kms:GetPublicKey"}, logical_id
    # The submitter is the one function with keys.
    submitter = template["Resources"]["StellarSubmitterFunction"]["Properties"]
    assert allowed(submitter, "kms:")[1] == {"DistributionKmsKeyArn", "ChannelKmsKeyArns"}
