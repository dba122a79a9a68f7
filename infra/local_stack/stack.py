"""The whole local anchor: ledger, local AWS with the deployed template, anchor accounts, front
door. Used by README command one (`up`) and by the end-to-end tests (on free ports)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .aws import LocalAws, build_functions
from .channels import channel_keypairs
from .frontdoor import FrontDoor
from .processes import Processes, port_in_use
from .watch import write_watch_config

LOCAL_PASSPHRASE = "Standalone Network ; February 2017"


@dataclass
class Settings:
    repo: Path
    work_dir: Path  # keys, logs, ledger and emulator state
    port: int = 8000  # the front door: home domain localhost:<port>
    aws_port: int = 4570
    ledger_port: int = 8001
    bank_port: int = 8002  # the demo bank of the reference rail (infra/demo_bank)
    # Where `cargo lambda watch` serves the functions (README); cargo-lambda.env is written for it.
    watch_port: int = 9000
    # Another Horizon (e.g. testnet) instead of the local ledger; then set the passphrase too.
    horizon_url: str | None = None
    network_passphrase: str = LOCAL_PASSPHRASE
    # The web_auth_domain of SEP-10 challenges (template parameter WebAuthDomain); "" = the
    # default, the front door's host:port. "localhost" for wallet SDKs that compare it without
    # the port (the TypeScript wallet SDK).
    web_auth_domain: str = ""
    close_interval: float = 5.0
    stack: str = "mooring"
    log_level: str = "info"
    asset_code: str = "USDC"
    # Channel accounts the Stellar submitter pays deposits from (template parameter ChannelCount).
    channel_count: int = 4
    # The distribution account is a KMS key of the local AWS (as in production); False: a seed
    # in Secrets Manager (DISTRIBUTION_SEED of anchor.env).
    distribution_in_kms: bool = True
    # The SEP-10 key (SIGNING_KEY: challenges and callbacks) is a KMS key of the local AWS (as in
    # production); False: its seed in Secrets Manager (SIGNING_SEED of anchor.env).
    signing_in_kms: bool = True
    extra_parameters: dict[str, str] = field(default_factory=dict)

    @property
    def home_domain(self) -> str:
        return f"localhost:{self.port}"

    @property
    def public_url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def bank_url(self) -> str:
        return f"http://127.0.0.1:{self.bank_port}"


class Keys:
    """The anchor's keys, created once and kept in <work_dir>/anchor.env (mode 600)."""

    NAMES = ("SIGNING_SEED", "ISSUER_SEED", "DISTRIBUTION_SEED", "CHANNEL_SEED", "JWT_SECRET")

    def __init__(self, path: Path):
        from stellar_sdk import Keypair

        values = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if "=" in line and not line.startswith("#"):
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip()
        for name in self.NAMES:
            if name not in values:
                values[name] = secrets.token_hex(32) if name == "JWT_SECRET" else Keypair.random().secret
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["# Mooring local stack keys (created by infra/local.sh). Secrets: keep private."]
        lines += [f"{name}={values[name]}" for name in self.NAMES]
        # No SIGNING_KEY line: the stack's SEP-10 key is a KMS key of the local AWS by default
        # (SIGNING_SEED signs only with signing_in_kms=False); the stack prints the one it uses.
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        self.signing = Keypair.from_secret(values["SIGNING_SEED"])
        self.issuer = Keypair.from_secret(values["ISSUER_SEED"])
        self.distribution = Keypair.from_secret(values["DISTRIBUTION_SEED"])
        # The channel accounts are derived from it (infra/local_stack/channels.py).
        self.channel_seed = Keypair.from_secret(values["CHANNEL_SEED"])
        self.jwt_secret = values["JWT_SECRET"]


class LocalStack:
    def __init__(self, settings: Settings):
        self.settings = settings
        work = settings.work_dir
        self.processes = Processes(work / "logs")
        self.keys = Keys(work / "anchor.env")
        venv_bin = Path(sys.executable).parent
        self.aws = LocalAws(self.processes, settings.aws_port, work / "ministack", venv_bin)
        self.front_door: FrontDoor | None = None
        # Template parameters naming the keys and secrets in the local AWS (`provision_keys`).
        self.key_parameters: dict[str, str] = {}

    def provision_keys(self) -> None:
        """The keys the template takes by ARN, created in the local AWS: the distribution account
        and the SEP-10 key as KMS keys (each replaces its `keys` entry, which then signs through
        KMS), the channel seed as a Secrets Manager secret."""
        from .keys_in_aws import kms_account, put_secret

        s = self.settings
        secrets = self.aws.boto("secretsmanager")
        parameters = {
            "ChannelSeedSecretArn": put_secret(secrets, f"{s.stack}/channel-seed", self.keys.channel_seed.secret),
        }
        # Both always passed, one empty: a redeploy would otherwise keep a previous value.
        if s.signing_in_kms:
            self.keys.signing = kms_account(self.aws.boto("kms"), f"alias/{s.stack}-signing")
            parameters["SigningKmsKeyArn"] = self.keys.signing.key_id
            parameters["SigningSeedSecretArn"] = ""
        else:
            parameters["SigningKmsKeyArn"] = ""
            parameters["SigningSeedSecretArn"] = put_secret(
                secrets, f"{s.stack}/signing-seed", self.keys.signing.secret
            )
        if s.distribution_in_kms:
            self.keys.distribution = kms_account(self.aws.boto("kms"), f"alias/{s.stack}-distribution")
            parameters["DistributionKmsKeyArn"] = self.keys.distribution.key_id
        else:
            parameters["DistributionSeedSecretArn"] = put_secret(
                secrets, f"{s.stack}/distribution-seed", self.keys.distribution.secret
            )
        parameters["DistributionAccount"] = self.keys.distribution.public_key
        self.key_parameters = parameters

    @property
    def jwt_secret(self) -> str:
        """The JWT secret the template generated (Secrets Manager), for tests that mint tokens."""
        arn = self.aws.physical_ids(self.settings.stack)["JwtSecret"]
        return self.aws.boto("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]

    @property
    def horizon_url(self) -> str:
        return self.settings.horizon_url or f"http://127.0.0.1:{self.settings.ledger_port}"

    @property
    def assets(self) -> list[dict]:
        return [
            {
                "code": self.settings.asset_code,
                "issuer": self.keys.issuer.public_key,
                "distribution_account": self.keys.distribution.public_key,
                "seps": ["sep6", "sep24", "sep31", "sep38"],
                "significant_decimals": 2,
                # Fees: fee_fixed + fee_percent of the amount (the reference FeeIntegration).
                # SEP-6 funding methods: the name of the SEP-38 off-chain asset's delivery methods.
                "deposit": {"min_amount": 1, "max_amount": 10000, "fee_fixed": 1, "fee_percent": 0.5,
                            "funding_methods": ["bank_transfer"]},
                "withdraw": {"min_amount": 1, "max_amount": 10000, "fee_fixed": 0.5, "fee_percent": 0.25,
                             "funding_methods": ["bank_transfer"]},
                # SEP-31 payments from sending anchors, paid to the receiver at the demo bank. The
                # same method name as the SEP-38 delivery method, so a payment at a firm quote
                # (whose buy_delivery_method must be the funding_method) works too.
                "receive": {"min_amount": 1, "max_amount": 10000, "fee_fixed": 1, "fee_percent": 0.5,
                            "funding_methods": ["bank_transfer"]},
                "toml": {"desc": "Local demo dollar", "anchor_asset": "USD", "display_decimals": 2},
            }
        ]

    @property
    def offchain_assets(self) -> list[dict]:
        bank = {"name": "bank_transfer", "description": "A transfer at the demo bank"}
        return [
            {
                "asset": "iso4217:USD",
                "decimals": 2,
                "country_codes": ["US"],
                "sell_delivery_methods": [bank],
                "buy_delivery_methods": [bank],
            }
        ]

    @property
    def quote_rates(self) -> list[dict]:
        """The reference anchor's rates (README, "SEP-38 quotes"): one demo dollar per US
        dollar, a small spread and a fee, each way."""
        asset = f"stellar:{self.settings.asset_code}:{self.keys.issuer.public_key}"
        return [
            {"sell_asset": "iso4217:USD", "buy_asset": asset, "rate": "1", "spread_percent": "0.5",
             "fee_fixed": "1", "fee_percent": "0.5"},
            {"sell_asset": asset, "buy_asset": "iso4217:USD", "rate": "1", "spread_percent": "0.5",
             "fee_fixed": "0.5", "fee_percent": "0.25"},
        ]

    def up(self, say=print) -> None:
        s = self.settings
        self.check_ports()
        try:
            say("building the functions (x86_64) ...")
            build_functions(s.repo, s.repo / "template.yaml", s.work_dir / "build")
            if not s.horizon_url:
                say(f"starting the local ledger on 127.0.0.1:{s.ledger_port} ...")
                self.start_ledger()
            say(f"starting the demo bank on 127.0.0.1:{s.bank_port} ...")
            self.start_bank()
            say(f"starting the local AWS (ministack) on 127.0.0.1:{s.aws_port} ...")
            self.aws.start()
            say("creating the keys (KMS) and secrets (Secrets Manager) ...")
            self.provision_keys()
            say("deploying template.yaml ...")
            self.aws.deploy(s.repo / "template.yaml", s.work_dir / "build", s.work_dir / "deploy", s.stack, self.parameters())
            write_watch_config(self.aws, s.stack, s.repo / "template.yaml", s.work_dir, s.watch_port)
            if not s.horizon_url:
                say("creating the anchor's accounts on the ledger ...")
                from .accounts import fund_anchor

                fund_anchor(self.horizon_url, s.network_passphrase, self.keys, s.asset_code, s.channel_count)
            self.front_door = FrontDoor(self.aws.api_url(s.stack), port=s.port).start()
        except BaseException:
            self.down()
            raise

    def check_ports(self) -> None:
        """Refuses to start over another stack (or anything else) listening on our ports: it would
        deploy into that stack's emulator and use its ledger as ours."""
        s = self.settings
        wanted = {"front door (MOORING_PORT)": s.port, "local AWS (MOORING_AWS_PORT)": s.aws_port,
                  "demo bank (MOORING_BANK_PORT)": s.bank_port}
        if not s.horizon_url:
            wanted["local ledger (MOORING_LEDGER_PORT)"] = s.ledger_port
        busy = [f"{name}: {port}" for name, port in wanted.items() if port_in_use(port)]
        if busy:
            raise SystemExit(
                "ports already in use (another local stack?): " + ", ".join(busy)
                + ". Stop what listens there, or choose other ports with the variables named."
            )

    def start_ledger(self) -> None:
        s = self.settings
        argv = [
            sys.executable, "-m", "infra.ledger",
            "--host", "127.0.0.1",
            "--port", str(s.ledger_port),
            "--state-dir", str(self.ledger_state_dir),
            "--close-interval", str(s.close_interval),
            "--network-passphrase", s.network_passphrase,
        ]
        self.processes.start("ledger", argv, dict(os.environ), cwd=s.repo)
        self.processes.wait_http("ledger", f"{self.horizon_url}/", timeout=30)

    @property
    def ledger_state_dir(self) -> Path:
        """One local ledger per network passphrase, so that switching NETWORK_PASSPHRASE (e.g. to
        the testnet one for the TypeScript wallet SDK) keeps the work dir usable."""
        s = self.settings
        if s.network_passphrase == LOCAL_PASSPHRASE:
            return s.work_dir / "ledger"
        return s.work_dir / f"ledger-{hashlib.sha256(s.network_passphrase.encode()).hexdigest()[:8]}"

    def start_bank(self) -> None:
        s = self.settings
        argv = [
            sys.executable, "-m", "infra.demo_bank", "serve",
            "--host", "127.0.0.1",
            "--port", str(s.bank_port),
            "--state-dir", str(s.work_dir / "demo_bank"),
        ]
        self.processes.start("demo_bank", argv, dict(os.environ), cwd=s.repo)
        self.processes.wait_http("demo_bank", f"{s.bank_url}/", timeout=30)

    def parameters(self) -> dict[str, str]:
        s = self.settings
        parameters = {
            "Architecture": "x86_64",
            "HomeDomain": s.home_domain,
            "PublicUrl": s.public_url,
            "NetworkPassphrase": s.network_passphrase,
            "HorizonUrl": self.horizon_url,
            "SigningKey": self.keys.signing.public_key,
            "Assets": json.dumps(self.assets, separators=(",", ":")),
            "OrgName": "Mooring local anchor",
            # SEP-38: the demo dollar against US dollars at the demo bank, both ways.
            "OffchainAssets": json.dumps(self.offchain_assets, separators=(",", ":")),
            "QuoteRates": json.dumps(self.quote_rates, separators=(",", ":")),
            # Wallets on this machine attest client domains served over http from localhost.
            "ClientDomainAllowInsecure": "true",
            # Wallet and sending-anchor callbacks go to servers on this machine, over http.
            "CallbackAllowInsecure": "true",
            # Always passed, also when empty: a redeploy would otherwise keep the previous value.
            "WebAuthDomain": s.web_auth_domain,
            "LogLevel": s.log_level,
            # The reference rail's bank, reached by the functions on this machine.
            "DemoBankUrl": s.bank_url,
            # The payment workers: the submitter pays deposits from the distribution account (a
            # KMS key) through channel accounts derived from the channel seed; keys and secrets by
            # ARN only (`provision_keys`).
            **self.key_parameters,
            "ChannelAccounts": ",".join(k.public_key for k in channel_keypairs(self.keys.channel_seed, s.channel_count)),
            "ChannelCount": str(s.channel_count),
            # SEP-31: any SEP-10 account may act as a sending anchor on this machine (the
            # template's default admits nobody).
            "Sep31SendingAnchors": "*",
        }
        parameters.update(s.extra_parameters)
        return parameters

    def down(self) -> None:
        if self.front_door:
            self.front_door.stop()
            self.front_door = None
        self.processes.stop_all()
