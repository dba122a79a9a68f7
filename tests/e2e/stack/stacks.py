"""Local stacks for the tests of this folder: template.yaml deployed into the local AWS, the
front door, the local ledger and the demo bank, on free ports in a temporary work dir."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra.local_stack.processes import free_port
from infra.local_stack.stack import LocalStack, Settings

REPO = Path(__file__).resolve().parents[3]


@contextmanager
def running_stack(stack_name: str, **settings):
    """A local stack on free ports in a temporary work dir, stopped and removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=f"{stack_name}-"))
    local = LocalStack(
        Settings(
            repo=REPO,
            work_dir=work,
            port=free_port(),
            aws_port=free_port(),
            ledger_port=free_port(),
            bank_port=free_port(),
            close_interval=0.2,
            stack=stack_name,
            **settings,
        )
    )
    try:
        local.up(say=lambda message: None)
    except SystemExit as failure:
        pytest.fail(f"the local stack {stack_name} did not start: {failure}")
    try:
        yield local
    finally:
        local.down()
        shutil.rmtree(work, ignore_errors=True)
