"""Reading template.yaml: which binary each function runs, and which HTTP routes and TTLs the
emulator must be told about after a deploy. Everything is derived from the template itself, so a
function, route or table added there works locally with no other edit."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from cfnlint.decode import decode

FUNCTION = "AWS::Serverless::Function"


def load(path: Path) -> dict:
    """The template with intrinsic functions in their JSON form (`!Ref X` -> `{"Ref": "X"}`)."""
    template, problems = decode(str(path))
    if problems or template is None:
        raise SystemExit(f"{path} cannot be read: {problems}")
    return template


def function_binaries(template: dict) -> dict[str, str]:
    """Logical id -> cargo binary, from each function's `Metadata.BuildProperties.Binary`."""
    binaries = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != FUNCTION:
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if not binary:
            raise SystemExit(f"{logical_id} has no Metadata.BuildProperties.Binary")
        binaries[logical_id] = binary
    return binaries


def with_code_dirs(template: dict, build_dir: Path) -> dict:
    """A copy whose functions' CodeUri is the folder holding their built `bootstrap`, the
    step `sam build` does, so `aws cloudformation package` can zip them."""
    packaged = copy.deepcopy(dict(template))
    for logical_id, binary in function_binaries(template).items():
        packaged["Resources"][logical_id]["Properties"]["CodeUri"] = str(build_dir / binary)
    return packaged


@dataclass(frozen=True)
class Route:
    api: str  # logical id of the AWS::ApiGatewayV2::Api
    method: str  # GET, POST, ..., ANY
    path: str  # /auth, /sep24/{proxy+}
    function: str  # logical id of the function behind it

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


_FUNCTION_IN_URI = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}")


def http_routes(processed: dict) -> list[Route]:
    """Every route of every HTTP API in the SAM-processed template (its OpenAPI body)."""
    routes = []
    for logical_id, resource in processed.get("Resources", {}).items():
        if resource.get("Type") != "AWS::ApiGatewayV2::Api":
            continue
        paths = resource.get("Properties", {}).get("Body", {}).get("paths", {})
        for path, methods in paths.items():
            for method, operation in methods.items():
                integration = operation.get("x-amazon-apigateway-integration", {})
                uri = integration.get("uri", {})
                uri = uri.get("Fn::Sub", "") if isinstance(uri, dict) else uri
                uri = uri[0] if isinstance(uri, list) else uri
                found = _FUNCTION_IN_URI.search(uri or "")
                if not found:
                    continue
                verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                routes.append(Route(logical_id, verb, path, found.group(1)))
    return routes


def ttl_attributes(template: dict) -> dict[str, str]:
    """DynamoDB table logical id -> its TTL attribute, for tables that declare one."""
    ttls = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        spec = resource.get("Properties", {}).get("TimeToLiveSpecification", {})
        if spec.get("Enabled") and spec.get("AttributeName"):
            ttls[logical_id] = spec["AttributeName"]
    return ttls


def cors_configurations(processed: dict) -> dict[str, dict]:
    """HTTP API logical id -> its CORS configuration (the API's `CorsConfiguration` or the
    `x-amazon-apigateway-cors` SAM writes into the OpenAPI body), in the API's field names."""
    found = {}
    for logical_id, resource in processed.get("Resources", {}).items():
        if resource.get("Type") != "AWS::ApiGatewayV2::Api":
            continue
        properties = resource.get("Properties", {})
        cors = properties.get("CorsConfiguration") or properties.get("Body", {}).get("x-amazon-apigateway-cors")
        if cors:
            # OpenAPI uses camelCase (allowOrigins), the API PascalCase (AllowOrigins).
            found[logical_id] = {key[0].upper() + key[1:]: value for key, value in cors.items()}
    return found
