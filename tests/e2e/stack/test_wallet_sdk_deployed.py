"""The official TypeScript wallet SDK (@stellar/typescript-wallet-sdk, pinned in
tests/wallet-sdk/package-lock.json) drives the DEPLOYED anchor: SEP-1, SEP-10 with and without a
memo, SEP-12 add/get/update/delete, SEP-24 deposit and withdrawal, SEP-38 info, prices, a price,
a firm quote and a deposit bound to it, SEP-6 info, a deposit and a withdrawal with
funding_method (a fresh user's, held in pending_customer_info_update by KYC), the deprecated 403
non_interactive_customer_info_needed without funding_method (which the SDK returns as its answer),
the transaction list by kind and a deposit-exchange at a firm SEP-38 quote
(tests/wallet-sdk/check.mjs), and, with its Horizon client pointed at the local ledger, a funded account with a trustline
logging in.

The SDK allows plain http only with the testnet passphrase and compares the challenge's
web_auth_domain with the host WITHOUT the port, so this test has a stack of its own, started as
README tells wallet developers (`NETWORK_PASSPHRASE="Test SDF Network ; September 2015"
WEB_AUTH_DOMAIN=localhost bash infra/local.sh`): the local ledger with the testnet passphrase and
the template parameter WebAuthDomain=localhost. The `stack` fixture of this folder (standalone
passphrase, web_auth_domain with the port) stays what the Python stellar-sdk suites use.

The node package is installed by `bash tests/run.sh` (`npm ci` in tests/wallet-sdk)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from infra.local_stack.processes import free_port  # noqa: E402
from stacks import running_stack  # noqa: E402

TESTNET_PASSPHRASE = "Test SDF Network ; September 2015"
PACKAGE = REPO / "tests" / "wallet-sdk"
SCRIPT = PACKAGE / "check.mjs"


@pytest.fixture(scope="module")
def sdk_stack():
    """A second local stack, for the wallet SDK: testnet passphrase, web_auth_domain localhost;
    its own work dir, ports and stack name. Started once, for this module only, and stopped right
    after it, so the rest of the session does not share two cores with two stacks. The functions
    are already built (cargo) when the session's first stack started."""
    with running_stack(
        "mooring-sdk-test", watch_port=free_port(), network_passphrase=TESTNET_PASSPHRASE, web_auth_domain="localhost"
    ) as local:
        yield local


def test_the_typescript_wallet_sdk_passes_sep1_10_12_24(sdk_stack):
    if not shutil.which("node"):
        pytest.fail("node (20+) is required: install it, then run bash tests/run.sh")
    if not (PACKAGE / "node_modules" / "@stellar" / "typescript-wallet-sdk").is_dir():
        pytest.fail("the wallet SDK is not installed: bash tests/run.sh (or: cd tests/wallet-sdk && npm ci)")
    # Loopback only: no proxy between the SDK (axios) and the anchor.
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    done = subprocess.run(
        ["node", str(SCRIPT), sdk_stack.settings.home_domain, "--asset", sdk_stack.settings.asset_code,
         "--horizon", sdk_stack.horizon_url],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
    )
    output = done.stdout + done.stderr
    print(output)  # what the SDK checked (pytest -s or -rP shows it)
    assert done.returncode == 0, output
    assert "all " in done.stdout and " checks passed" in done.stdout, output
    # The keys the SDK was shown are this stack's: it checked the challenges' signature with it.
    assert f"SIGNING_KEY is an account ({sdk_stack.keys.signing.public_key})" in done.stdout, output
    assert f"has an issuer ({sdk_stack.keys.issuer.public_key})" in done.stdout, output
