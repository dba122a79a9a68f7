"""Settings for `cargo lambda watch` against the running local stack (README, "Running single
functions with cargo lambda").

After each deploy the local stack writes, next to its keys:
- `cargo-lambda.env`: every variable the deployed functions receive, read back from the emulator
  (table names, queue URLs, keys, passphrase, the local ledger as Horizon, ...), with the public
  URL moved to the watch server and the emulator's endpoint, region and dummy credentials added,
  so each function's SDK stays local and never looks for the instance metadata service
  (`functions/<binary>.env`: the same, one function's own variables each);
- `cargo-lambda.toml`: a cargo-lambda configuration whose router sends each HTTP API route of the
  deployed template to its function, so the URLs a function hands out (the SEP-24 interactive
  link, stellar.toml's servers) work on the watch server as they do behind API Gateway. Every
  function also answers at `/lambda-url/<function>/<path>`.

Both are derived from the deployed template itself, never from a second list."""

from __future__ import annotations

import json
import re
from pathlib import Path

from . import template as tpl
from .aws import REGION, LocalAws

# What the emulator adds to every function's environment and cargo-lambda sets itself.
_PER_PROCESS = ("AWS_LAMBDA_", "_HANDLER", "LAMBDA_")


def deployed_environments(aws: LocalAws, stack: str, template: dict) -> dict[str, dict[str, str]]:
    """Each deployed function's environment variables, by its binary's name."""
    ids = aws.physical_ids(stack)
    lambdas = aws.boto("lambda")
    environments = {}
    for logical_id, binary in sorted(tpl.function_binaries(template).items()):
        configuration = lambdas.get_function_configuration(FunctionName=ids[logical_id])
        variables = configuration.get("Environment", {}).get("Variables", {})
        environments[binary] = {name: value for name, value in variables.items() if not name.startswith(_PER_PROCESS)}
    return environments


def function_environment(environments: dict[str, dict[str, str]]) -> dict[str, str]:
    """The union of the deployed functions' environment variables (a variable has one value
    across functions: the template gives each its own secrets, the rest comes from Globals)."""
    merged: dict[str, str] = {}
    for variables in environments.values():
        for name, value in variables.items():
            if name in merged and merged[name] != value:
                raise SystemExit(f"cargo-lambda.env: {name} differs between functions; give it one value")
            merged[name] = value
    return merged


def watch_environment(functions_env: dict[str, str], aws_endpoint: str, watch_port: int) -> dict[str, str]:
    """The functions' variables for processes started by `cargo lambda watch` on `watch_port`."""
    env = {name: value for name, value in functions_env.items() if value != ""}
    env.update(
        HOME_DOMAIN=f"localhost:{watch_port}",
        PUBLIC_URL=f"http://localhost:{watch_port}",
        AWS_ENDPOINT_URL=aws_endpoint,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    return dict(sorted(env.items()))


def env_file_text(env: dict[str, str]) -> str:
    lines = [
        "# Written by infra/local.sh for `cargo lambda watch --env-file` (README). Secrets: keep private.",
    ]
    for name, value in env.items():
        if "\n" in value or "'" in value:
            raise SystemExit(f"cargo-lambda.env: the value of {name} cannot be written to an env file")
        lines.append(f"{name}='{value}'")
    return "\n".join(lines) + "\n"


_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


def router_path(api_path: str) -> str:
    """An API Gateway route path in cargo-lambda's router syntax (`{proxy+}` -> `{*proxy}`)."""
    return _PATH_PARAMETER.sub(lambda m: "{*" + m.group(1) + "}" if m.group(2) else "{" + m.group(1) + "}", api_path)


def router_toml(routes: list[tpl.Route], binaries: dict[str, str]) -> str:
    """`[watch.router]`: path -> [{method, function}] for every route (ANY: every method)."""
    by_path: dict[str, dict[str, str]] = {}
    for route in routes:
        methods = ("GET", "POST", "PUT", "PATCH", "DELETE") if route.method == "ANY" else (route.method,)
        for method in methods:
            by_path.setdefault(router_path(route.path), {})[method] = binaries[route.function]
    lines = [
        "# Written by infra/local.sh for `cargo lambda watch --global` (README): the HTTP API's",
        "# routes of the deployed template.yaml, each to its function.",
        "[watch.router]",
    ]
    for path in sorted(by_path):
        entries = ", ".join(
            f"{{ method = {json.dumps(method)}, function = {json.dumps(function)} }}"
            for method, function in sorted(by_path[path].items())
        )
        lines.append(f"{json.dumps(path)} = [{entries}]")
    return "\n".join(lines) + "\n"


def write_watch_config(aws: LocalAws, stack: str, template_path: Path, work_dir: Path, watch_port: int) -> None:
    template = tpl.load(template_path)
    environments = deployed_environments(aws, stack, template)
    env = watch_environment(function_environment(environments), aws.endpoint, watch_port)
    write_private(work_dir / "cargo-lambda.env", env_file_text(env))
    # One file per function, with exactly the variables (and secrets) it is deployed with: what
    # the benchmark (tests/bench/lambda.sh) starts each bootstrap with.
    functions_dir = work_dir / "functions"
    functions_dir.mkdir(exist_ok=True)
    for binary, variables in environments.items():
        text = env_file_text(watch_environment(variables, aws.endpoint, watch_port))
        write_private(functions_dir / f"{binary}.env", text)
    routes = tpl.http_routes(aws.processed_template(stack))
    (work_dir / "cargo-lambda.toml").write_text(router_toml(routes, tpl.function_binaries(template)))


def write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
