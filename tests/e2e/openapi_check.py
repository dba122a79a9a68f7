"""Checks real HTTP exchanges against the API description, docs/openapi.yaml.

The local stack's front door records every exchange the deployed API answered (one JSON line
each: method, path, query, status, content type, body) when MOORING_RECORD_EXCHANGES names a file
(infra/local_stack/frontdoor.py); the deployed tests' session fixture hands that file to
`check_recording` and fails with the list of mismatches: an undocumented path, method or
status, a content type the document does not give for that status, or a body that does not
match the schema.

Outside the document's paths, the one accepted answer is the refusal of an unknown path or
method: 404 or 405 (the document's conventions), whatever the body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml
from jsonschema import Draft202012Validator, FormatChecker

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The refusals of a path or method that no route serves (the document's conventions).
UNROUTED_STATUSES = {404, 405}
BODY_EXCERPT = 160


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    query: str
    status: int
    content_type: str
    body: str

    @classmethod
    def of(cls, record: dict) -> "Exchange":
        return cls(
            method=str(record["method"]).upper(),
            path=str(record["path"]),
            query=str(record.get("query", "")),
            status=int(record["status"]),
            content_type=str(record.get("content_type", "")),
            body=str(record.get("body", "")),
        )

    def __str__(self) -> str:
        query = "?" + self.query if self.query else ""
        if len(query) > 80:
            query = query[:77] + "..."
        return f"{self.method} {self.path}{query} -> {self.status}"


def load_document(path: Path = DOCUMENT) -> dict:
    with open(path, encoding="utf-8") as source:
        return yaml.safe_load(source)


class Checker:
    def __init__(self, document: dict):
        self.document = document
        self.components = document.get("components", {})
        # Literal paths before templated ones, so /kyc/customer/files is not /kyc/customer/{account}.
        self.routes = sorted(
            ((template, _template_pattern(template), item)
             for template, item in document["paths"].items()),
            key=lambda route: ("{" in route[0], route[0]),
        )

    def problems(self, exchange: Exchange) -> list[str]:
        """Every way in which one exchange departs from the document (empty when it matches)."""
        route = self.route(exchange.path)
        if route is None:
            if exchange.status in UNROUTED_STATUSES:
                return []
            return [f"{exchange}: undocumented path {exchange.path}"]
        template, item = route
        operation = item.get(exchange.method.lower())
        if operation is None:
            if exchange.status in UNROUTED_STATUSES:
                return []
            return [f"{exchange}: undocumented method {exchange.method} on {template}"]
        response = self.response(operation, exchange.status)
        if response is None:
            documented = ", ".join(operation.get("responses", {}))
            return [f"{exchange}: undocumented status {exchange.status} of {exchange.method} "
                    f"{template} (documented: {documented})"]
        if exchange.method == "HEAD":
            return []
        return self.body_problems(exchange, response)

    def route(self, path: str) -> tuple[str, dict] | None:
        for template, pattern, item in self.routes:
            if pattern.fullmatch(path):
                return template, item
        return None

    def response(self, operation: dict, status: int) -> dict | None:
        responses = operation.get("responses", {})
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                return self.resolve(responses[key])
        return None

    def resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = self.pointer(node["$ref"])
        return node

    def pointer(self, ref: str) -> dict:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported: {ref}")
        node = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def body_problems(self, exchange: Exchange, response: dict) -> list[str]:
        content = response.get("content")
        if not content:
            if exchange.body.strip():
                return [f"{exchange}: the document gives no body, the answer has one: "
                        f"{_excerpt(exchange.body)}"]
            return []
        media_type = exchange.content_type.split(";", 1)[0].strip().lower()
        if media_type not in content:
            return [f"{exchange}: content type {exchange.content_type or '(none)'} is not "
                    f"documented (documented: {', '.join(content)})"]
        schema = content[media_type].get("schema")
        if schema is None:
            return []
        if media_type.endswith("json"):
            try:
                body = json.loads(exchange.body)
            except ValueError:
                return [f"{exchange}: the body is not JSON: {_excerpt(exchange.body)}"]
        else:
            body = exchange.body
        # The schema with the document's components beside it, so `#/components/...` resolves.
        validator = Draft202012Validator(
            {"components": self.components, **schema}, format_checker=FormatChecker()
        )
        return [
            f"{exchange}: {error.json_path}: {_excerpt(error.message)}"
            for error in sorted(validator.iter_errors(body), key=lambda e: e.json_path)
        ]

    def check(self, exchanges: Iterable[Exchange]) -> list[str]:
        """The problems of all exchanges, each distinct one once, in the order first seen."""
        seen: dict[str, None] = {}
        for exchange in exchanges:
            for problem in self.problems(exchange):
                seen.setdefault(problem, None)
        return list(seen)


def read_recording(path: Path) -> list[Exchange]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as lines:
        return [Exchange.of(json.loads(line)) for line in lines if line.strip()]


def check_recording(path: Path, document: dict | None = None) -> tuple[int, list[str]]:
    """(how many exchanges were checked, the mismatches) of a front door's recording."""
    exchanges = read_recording(path)
    return len(exchanges), Checker(document or load_document()).check(exchanges)


def _template_pattern(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT else text[: BODY_EXCERPT - 3] + "..."


if __name__ == "__main__":
    import sys

    count, mismatches = check_recording(Path(sys.argv[1]))
    print(f"{count} exchanges checked against {DOCUMENT.name}")
    for mismatch in mismatches:
        print("  " + mismatch)
    sys.exit(1 if mismatches else 0)
