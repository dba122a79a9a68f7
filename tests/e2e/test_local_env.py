"""`python -m infra.local_stack env` prints the exports that point AWS clients (mooring-admin,
the AWS CLI) at a running local stack: the README's operator's section evaluates them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_env_points_aws_clients_at_the_local_stack():
    env = {**os.environ, "MOORING_AWS_PORT": "4599"}
    out = subprocess.run(
        [sys.executable, "-m", "infra.local_stack", "env"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    assert exports == {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4599",
        "MOORING_STACK": "mooring",
    }
