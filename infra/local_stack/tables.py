"""The DynamoDB tables and SQS queues of template.yaml, created directly in an emulator (for the
adapter tests, which need tables and queues but not the whole stack). Everything comes from the
template's `AWS::DynamoDB::Table` and `AWS::SQS::Queue` resources, so one added there is created
here with no edit (a queue's variable holds its URL).

    python -m infra.local_stack.tables --endpoint http://127.0.0.1:4570 --prefix test

prints `export VAR=value` lines: the endpoint, and each table's name under the variable the
template's `Globals.Function.Environment.Variables` gives it (`TRANSACTIONS_TABLE` ->
`MOORING_TEST_TRANSACTIONS_TABLE` with the default `--env-prefix`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from . import template as tpl
from .aws import REGION

TABLE = "AWS::DynamoDB::Table"
REPO = Path(__file__).resolve().parents[2]

# The properties CreateTable takes in the same shape as CloudFormation. The rest are either
# applied separately (TimeToLiveSpecification) or mean nothing to an emulator
# (PointInTimeRecoverySpecification, SSESpecification, Tags, ...); TableName comes from the prefix.
CREATE_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
)


def table_definitions(template: dict) -> dict[str, dict]:
    """Logical id -> its CreateTable arguments (without TableName)."""
    tables = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != TABLE:
            continue
        properties = resource.get("Properties", {})
        arguments = {key: properties[key] for key in CREATE_TABLE_PROPERTIES if key in properties}
        intrinsic = _intrinsic_in(arguments)
        if intrinsic:
            raise SystemExit(f"{logical_id}: {intrinsic} cannot be resolved outside CloudFormation")
        tables[logical_id] = arguments
    return tables


def _intrinsic_in(value) -> str | None:
    """The first intrinsic function (`Ref`, `Fn::...`) inside value, if any."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" or key.startswith("Fn::"):
                return key
            found = _intrinsic_in(inner)
            if found:
                return found
    elif isinstance(value, list):
        for inner in value:
            found = _intrinsic_in(inner)
            if found:
                return found
    return None


def table_variables(template: dict) -> dict[str, str]:
    """Logical id -> the environment variable the functions read its name from."""
    variables = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    return {
        value["Ref"]: name
        for name, value in variables.items()
        if isinstance(value, dict) and set(value) == {"Ref"}
    }


def table_name(prefix: str, logical_id: str) -> str:
    return f"{prefix}-{logical_id}" if prefix else logical_id


def create_tables(dynamodb, template: dict, prefix: str) -> dict[str, str]:
    """Creates every table of the template that does not exist yet (an existing one is kept as
    it is), waits until all are active, applies TTL; returns logical id -> table name."""
    names = {}
    for logical_id, arguments in table_definitions(template).items():
        name = table_name(prefix, logical_id)
        names[logical_id] = name
        try:
            dynamodb.create_table(TableName=name, **arguments)
        except dynamodb.exceptions.ResourceInUseException:
            pass  # already there: idempotent
    for name in names.values():
        _wait_active(dynamodb, name)
    for logical_id, attribute in tpl.ttl_attributes(template).items():
        name = names[logical_id]
        current = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == attribute:
            continue
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    return names


def _wait_active(dynamodb, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        table = dynamodb.describe_table(TableName=name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table.get("TableStatus") == "ACTIVE" and all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"table {name} is not active after {timeout:.0f} s")
        time.sleep(0.2)


QUEUE = "AWS::SQS::Queue"


def create_queues(sqs, template: dict, prefix: str) -> dict[str, str]:
    """Creates every SQS queue of the template (idempotent); returns logical id -> queue URL.
    Redrive policies and other attributes are left out: the adapter tests need only the queues."""
    urls = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == QUEUE:
            urls[logical_id] = sqs.create_queue(QueueName=table_name(prefix, logical_id))["QueueUrl"]
    return urls


def client(endpoint: str, service: str = "dynamodb"):
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local_stack.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="the emulator, e.g. http://127.0.0.1:4570")
    parser.add_argument("--prefix", required=True, help="table names are <prefix>-<logical id>")
    parser.add_argument("--template", type=Path, default=REPO / "template.yaml")
    parser.add_argument(
        "--env-prefix",
        default="MOORING_TEST_",
        help="prefix of the printed variables (default MOORING_TEST_, what the storage tests read)",
    )
    args = parser.parse_args(argv)

    template = tpl.load(args.template)
    names = create_tables(client(args.endpoint), template, args.prefix)
    variables = table_variables(template)
    print(f"export {args.env_prefix}DYNAMODB_ENDPOINT={shlex.quote(args.endpoint)}")
    names.update(create_queues(client(args.endpoint, "sqs"), template, args.prefix))
    for logical_id, name in names.items():
        variable = variables.get(logical_id)
        if variable is None:
            print(f"# {logical_id} ({name}) has no variable in Globals.Function.Environment", file=sys.stderr)
            continue
        print(f"export {args.env_prefix}{variable}={shlex.quote(name)}")


if __name__ == "__main__":
    main()
