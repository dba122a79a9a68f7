"""Secrets only where used: each function of template.yaml receives exactly the secrets its code
reads, no more (a leaked function leaks nothing it does not need) and no fewer (it would refuse
to start, or silently skip what the secret is for). README "Configuration" says the same.

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
    # Verifies SEP-10 JWTs (JWT_SECRET), signs the sending anchor's callback when a customer's
    # change releases its SEP-31 transaction (SIGNING_SEED).
    "sep12-kyc": {"JWT_SECRET"},
    "sep24-transfer": {"JWT_SECRET"},
    # Verifies JWTs (JWT_SECRET), signs on_change_callback posts (SIGNING_SEED).
    "sep6-transfer": {"JWT_SECRET", "SIGNING_SEED"},
    # Verifies JWTs (JWT_SECRET), signs the callbacks to sending anchors (SIGNING_SEED).
    "sep31-receive": {"JWT_SECRET", "SIGNING_SEED"},
    "sep38-quotes": {"JWT_SECRET"},
    # Verifies JWTs, derives the link/session/CSRF keys (JWT_SECRET), signs wallet URL
    # callbacks (SIGNING_SEED).
    "sep24-interactive": {"JWT_SECRET", "SIGNING_SEED"},
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
    # Signs every status callback it posts.
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
    "InteractiveConfig::from_source": {"JWT_SECRET", "SIGNING_SEED"},
    "InteractiveConfig::from_env": {"JWT_SECRET", "SIGNING_SEED"},
    "CallbackSettings::from_source": {"SIGNING_SEED"},
    "http_listener": {"SIGNING_SEED"},
    "Signers::from_source": {"DISTRIBUTION_SEED", "CHANNEL_SEED"},
    "Signers::from_env": {"DISTRIBUTION_SEED", "CHANNEL_SEED"},
}


@pytest.fixture(scope="module")
def template() -> dict:
    return tpl.load(REPO / "template.yaml")


def variables(section: dict) -> dict:
    return section.get("Environment", {}).get("Variables", {}) or {}


def received(template: dict) -> dict[str, set[str]]:
    """Binary -> the secrets the template gives it (Globals and its own variables)."""
    global_secrets = set(variables(template.get("Globals", {}).get("Function", {}))) & SECRETS
    return {
        binary: global_secrets | (set(variables(template["Resources"][logical_id]["Properties"])) & SECRETS)
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


def test_each_secret_is_a_parameter_passed_by_reference(template):
    """Secrets come from NoEcho parameters, never literals in the template."""
    parameters = {"SIGNING_SEED": "SigningSeed", "JWT_SECRET": "JwtSecret",
                  "DISTRIBUTION_SEED": "DistributionSeed", "CHANNEL_SEED": "ChannelSeed"}
    for name, parameter in parameters.items():
        assert template["Parameters"][parameter].get("NoEcho") is True, parameter
    for logical_id in tpl.function_binaries(template):
        for name, value in variables(template["Resources"][logical_id]["Properties"]).items():
            if name in SECRETS:
                assert value == {"Ref": parameters[name]}, (logical_id, name)
