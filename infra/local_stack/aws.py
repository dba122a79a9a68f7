"""The local AWS: ministack on a loopback port, template.yaml deployed into it with the ordinary
CloudFormation package/deploy commands, then reconciled where the emulator falls short of AWS
(HTTP API routes from SAM events, DynamoDB TTL), reading the deployed template itself."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from . import template as tpl
from .processes import Processes

REGION = "us-east-1"


def client_settings(endpoint: str) -> dict[str, str]:
    """What an AWS client (the AWS CLI, boto3, mooring-admin) needs to reach the local AWS:
    dummy credentials, the region, the emulator's endpoint."""
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


class LocalAws:
    def __init__(self, processes: Processes, port: int, state_dir: Path, venv_bin: Path):
        self.processes = processes
        self.port = port
        self.state_dir = state_dir
        self.venv_bin = venv_bin
        self.endpoint = f"http://127.0.0.1:{port}"

    def client_env(self) -> dict[str, str]:
        """Environment for the AWS CLI and boto3: dummy credentials, the emulator's endpoint."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(client_settings(self.endpoint), AWS_PAGER="")
        return env

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # A clean environment: Lambda processes inherit the emulator's, and must see only what
        # AWS would give them (plus the endpoint that keeps their SDK calls local).
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(self.port),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "STATE_DIR": str(self.state_dir),
            "LOG_LEVEL": "WARNING",
        }
        self.processes.start("ministack", [str(self.venv_bin / "ministack")], env)
        self.processes.wait_http("ministack", f"{self.endpoint}/_ministack/health", timeout=60)

    def aws(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run(
            [str(self.venv_bin / "aws"), *args],
            env=self.client_env(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"aws {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout if capture else ""

    def boto(self, service: str):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def deploy(self, template_path: Path, build_dir: Path, work_dir: Path, stack: str, parameters: dict[str, str]) -> None:
        """Packages and deploys the template (create or update in place), then reconciles."""
        template = tpl.load(template_path)
        work_dir.mkdir(parents=True, exist_ok=True)
        with_code = work_dir / "template.json"
        with_code.write_text(json.dumps(tpl.with_code_dirs(template, build_dir), indent=1))
        packaged = work_dir / "packaged.yaml"
        s3 = self.boto("s3")
        if "artifacts" not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
            s3.create_bucket(Bucket="artifacts")
        self.aws(
            "cloudformation", "package",
            "--template-file", str(with_code),
            "--s3-bucket", "artifacts",
            "--output-template-file", str(packaged),
        )
        overrides = [f"{key}={value}" for key, value in parameters.items()]
        self.aws(
            "cloudformation", "deploy",
            "--template-file", str(packaged),
            "--stack-name", stack,
            # Through the bucket, as `sam deploy` does: a template over 51,200 bytes (the
            # alarms and log groups of every function) cannot be sent inline.
            "--s3-bucket", "artifacts",
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
            "--no-fail-on-empty-changeset",
            "--parameter-overrides", *overrides,
        )
        self.reconcile(template, stack)

    def physical_ids(self, stack: str) -> dict[str, str]:
        resources = self.boto("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}

    def processed_template(self, stack: str) -> dict:
        body = self.boto("cloudformation").get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
        if isinstance(body, str):
            import yaml

            body = yaml.safe_load(body)
        return body

    def reconcile(self, template: dict, stack: str) -> None:
        """Creates the HTTP API routes the emulator left out, and applies TTL settings."""
        ids = self.physical_ids(stack)
        gateway = self.boto("apigatewayv2")
        lambdas = self.boto("lambda")
        processed = self.processed_template(stack)
        for api, cors in tpl.cors_configurations(processed).items():
            gateway.update_api(ApiId=ids[api], CorsConfiguration=cors)
        for route in tpl.http_routes(processed):
            api_id = ids[route.api]
            existing = {r["RouteKey"] for r in gateway.get_routes(ApiId=api_id).get("Items", [])}
            if route.key in existing:
                continue
            arn = lambdas.get_function(FunctionName=ids[route.function])["Configuration"]["FunctionArn"]
            integration = gateway.create_integration(
                ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
            )
            gateway.create_route(ApiId=api_id, RouteKey=route.key, Target=f"integrations/{integration['IntegrationId']}")
        dynamodb = self.boto("dynamodb")
        for table, attribute in tpl.ttl_attributes(template).items():
            dynamodb.update_time_to_live(
                TableName=ids[table], TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )

    def api_url(self, stack: str, api_logical_id: str = "HttpApi") -> str:
        """Where the emulator serves an HTTP API's `$default` stage."""
        api_id = self.physical_ids(stack)[api_logical_id]
        return f"{self.endpoint}/_aws/execute-api/{api_id}/$default"


def cargo_target_dir(repo: Path) -> Path:
    """Where cargo puts what it builds in `repo`: `CARGO_TARGET_DIR` when set (CI keeps one
    outside its fresh clones), else `target/`."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    return repo / configured if configured else repo / "target"


def build_functions(repo: Path, template_path: Path, build_dir: Path) -> None:
    """Builds every function of the template for this machine (x86_64 here) and lays out one
    folder per binary with its `bootstrap`, stripped so packaging stays quick."""
    binaries = sorted(set(tpl.function_binaries(tpl.load(template_path)).values()))
    args = ["cargo", "build", "--quiet"]
    for binary in binaries:
        args += ["--bin", binary]
    subprocess.run(args, cwd=repo, check=True)
    for binary in binaries:
        target = build_dir / binary
        target.mkdir(parents=True, exist_ok=True)
        bootstrap = target / "bootstrap"
        source = cargo_target_dir(repo) / "debug" / binary
        stripped = subprocess.run(["strip", "-o", str(bootstrap), str(source)])
        if stripped.returncode != 0:
            bootstrap.write_bytes(source.read_bytes())
        bootstrap.chmod(0o755)

