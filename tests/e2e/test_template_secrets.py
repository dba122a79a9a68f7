"""Secrets only where used: each function of template.yaml receives exactly the secrets its code
reads, no more (a leaked function leaks nothing it does not need) and no fewer (it would refuse
to start, or silently skip what the secret is for). README "Configuration" says the same.

A function never receives a secret's value: it receives the secret's ARN (`<NAME>_ARN`) and reads
it from Secrets Manager at cold start, or a KMS key (`*_KMS_KEY_ID(S)`) it signs with; its IAM
policy allows reading exactly those secrets and signing with exactly those keys.

`EXPECTED` is the table both sides are checked against: the template (its Globals and each
function's own variables) and the function crates' sources (the config readers they call).

The template is checked in both of its SEP-10 key modes (`MODES`): the seed in Secrets Manager
(SigningSeedSecretArn), or a KMS key (SigningKmsKeyArn), with which sep10-auth and
callback-sender sign instead of reading the seed."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Mode:
    """A way to deploy the template: its conditions' values and the parameters left empty."""

    conditions: dict[str, bool]
    empty: frozenset[str]


# The template's SEP-10 key modes: its seed in Secrets Manager, or a key in KMS.
MODES = {
    "seed": Mode({"SigningKeyInKms": False}, frozenset({"SigningKmsKeyArn"})),
    "kms": Mode({"SigningKeyInKms": True}, frozenset({"SigningSeedSecretArn"})),
}
# The functions that sign with the SEP-10 key: in KMS mode they sign there, with no seed.
SEP10_KEY_USERS = {"sep10-auth", "callback-sender"}


def expected(mode: str) -> dict[str, set[str]]:
    """EXPECTED in a mode: with the SEP-10 key in KMS no function receives its seed."""
    if mode == "seed":
        return EXPECTED
    return {binary: secrets - {"SIGNING_SEED"} for binary, secrets in EXPECTED.items()}


# The config readers of `mooring` that read a secret, and which (a function reading a secret
# by its own name is found too). `AnchorConfig` reads SIGNING_SEED only without SIGNING_KEY,
# which the template always sets, so it is no use of the seed.
READERS = {
    "Sep10Config::from_source": {"SIGNING_SEED", "JWT_SECRET"},
    "Sep10Config::from_env": {"SIGNING_SEED", "JWT_SECRET"},
    "Sep10Config::connect": {"SIGNING_SEED", "JWT_SECRET"},
    "connect_signing_key": {"SIGNING_SEED"},
    "local_signing_key": {"SIGNING_SEED"},
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


_NO_VALUE = object()


def resolve(value, mode: Mode):
    """`value` deployed in `mode`: the `Fn::If`s of its conditions decided, its empty
    parameters "" (an `AWS::NoValue` dropped); an `Fn::If` of another condition keeps its first
    branch (the resource configured)."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            condition, when_true, when_false = value["Fn::If"]
            return resolve(when_false if mode.conditions.get(condition, True) is False else when_true, mode)
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        if set(value) == {"Ref"} and value["Ref"] in mode.empty:
            return ""
        resolved = {key: resolve(inner, mode) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not _NO_VALUE}
    if isinstance(value, list):
        return [inner for inner in (resolve(item, mode) for item in value) if inner is not _NO_VALUE]
    return value


def variables(section: dict, mode: Mode | None = None) -> dict:
    """A section's environment variables in a mode; one resolved to "" is unset (the functions
    read an empty value as unset)."""
    found = resolve(section.get("Environment", {}).get("Variables", {}) or {}, mode or MODES["seed"])
    return {name: value for name, value in found.items() if value != ""}


def received(template: dict, mode: str = "seed") -> dict[str, set[str]]:
    """Binary -> the secrets the template gives it by ARN (Globals and its own variables); the
    previous JWT secret of a rotation counts as the JWT secret."""
    def secrets_of(section: dict) -> set[str]:
        names = {name.removesuffix("_ARN") for name in variables(section, MODES[mode]) if name.endswith("_ARN")}
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


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_function_receives_exactly_the_secrets_it_uses(template, mode):
    assert received(template, mode) == expected(mode)


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
KMS_SOURCES = {
    "DISTRIBUTION_KMS_KEY_ID": "DistributionKmsKeyArn",
    "CHANNEL_KMS_KEY_IDS": "ChannelKmsKeyArns",
    "SIGNING_KMS_KEY_ID": "SigningKmsKeyArn",
}


def function_variables(template: dict, logical_id: str, mode: str = "seed") -> dict:
    return variables(template["Resources"][logical_id]["Properties"], MODES[mode])


def test_no_function_receives_a_secret_value(template):
    """Only ARNs: no variable named like a secret, no parameter holding one (NoEcho)."""
    for logical_id in tpl.function_binaries(template):
        names = set(function_variables(template, logical_id))
        assert not names & SECRETS, (logical_id, names & SECRETS)
        assert not names & {"SIGNING_SEED_PREVIOUS", "JWT_SECRET_PREVIOUS"}, logical_id
    assert not [name for name, p in template["Parameters"].items() if p.get("NoEcho")]
    assert template["Resources"]["JwtSecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" in template["Resources"]["JwtSecret"]["Properties"]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_secret_and_key_is_passed_by_reference(template, mode):
    for logical_id in tpl.function_binaries(template):
        for name, value in function_variables(template, logical_id, mode).items():
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


def statements(properties: dict, mode: str = "seed") -> list[dict]:
    """Every policy statement of a function in a mode; one under the `Fn::If` of another
    condition counts (that condition only decides whether the resource was configured)."""
    found = []
    for policy in resolve(properties.get("Policies", []) or [], MODES[mode]):
        if not isinstance(policy, dict):
            continue
        found += [statement for statement in policy.get("Statement", []) or [] if isinstance(statement, dict)]
    return found


def names_an_empty_resource(properties: dict, mode: str) -> bool:
    """Whether a policy statement names a parameter left empty (IAM refuses such a policy)."""
    def empty(value) -> bool:
        if isinstance(value, list):
            return any(empty(inner) for inner in value)
        return value == ""
    return any(empty(statement.get("Resource")) for statement in statements(properties, mode))


def allowed(properties: dict, prefix: str, mode: str = "seed") -> tuple[set[str], set[str]]:
    """(actions, referenced resources) of the statements allowing actions of a service."""
    actions, resources = set(), set()
    for statement in statements(properties, mode):
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


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_policy_names_exactly_the_secrets_and_keys_of_its_function(template, mode):
    for logical_id in tpl.function_binaries(template):
        properties = template["Resources"][logical_id]["Properties"]
        names = function_variables(template, logical_id, mode)
        secret_actions, secret_resources = allowed(properties, "secretsmanager:", mode)
        assert secret_resources == {ARN_SOURCES[n] for n in names if n in ARN_SOURCES}, logical_id
        assert secret_actions <= {"secretsmanager:GetSecretValue"}, logical_id
        kms_actions, kms_resources = allowed(properties, "kms:", mode)
        assert kms_resources == {KMS_SOURCES[n] for n in names if n in KMS_SOURCES}, logical_id
        assert kms_actions <= {"kms:Sign", "kms:GetPublicKey"}, logical_id
    # The submitter's keys are its own.
    submitter = template["Resources"]["StellarSubmitterFunction"]["Properties"]
    assert allowed(submitter, "kms:", mode)[1] == {"DistributionKmsKeyArn", "ChannelKmsKeyArns"}


def functions_whose(template: dict, predicate) -> set[str]:
    """The binaries of the functions whose properties satisfy `predicate`."""
    binaries = tpl.function_binaries(template)
    return {binary for logical_id, binary in binaries.items() if predicate(template["Resources"][logical_id]["Properties"])}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_no_policy_names_an_empty_parameter(template, mode):
    empty = functions_whose(template, lambda properties: names_an_empty_resource(properties, mode))
    # IAM refuses a statement whose resource is empty: a deploy in either mode would fail.
    assert empty == set()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_sep10_key_in_kms_is_used_by_exactly_the_functions_that_sign_with_it(template, mode):
    with_key = functions_whose(template, lambda properties: "SigningKmsKeyArn" in allowed(properties, "kms:", mode)[1])
    assert with_key == (SEP10_KEY_USERS if mode == "kms" else set())
    for logical_id, binary in tpl.function_binaries(template).items():
        if binary in SEP10_KEY_USERS:
            names = function_variables(template, logical_id, mode)
            # Never both: the functions refuse to start with a key in KMS and a seed.
            assert ("SIGNING_KMS_KEY_ID" in names) != ("SIGNING_SEED_ARN" in names), (mode, binary)
            assert ("SIGNING_KMS_KEY_ID" in names) == (mode == "kms"), (mode, binary)


def test_the_sep10_key_parameters_are_optional_arns(template):
    parameters = template["Parameters"]
    assert parameters["SigningKmsKeyArn"]["Default"] == ""
    assert parameters["SigningSeedSecretArn"]["Default"] == ""
    assert template["Conditions"]["SigningKeyInKms"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SigningKmsKeyArn"}, ""]}]
    }
