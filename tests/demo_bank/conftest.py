"""The demo bank (infra/demo_bank) in-process on a free port with a temporary book."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from infra.demo_bank.server import serve  # noqa: E402


@pytest.fixture
def bank(tmp_path):
    running = serve(port=0, state_dir=str(tmp_path / "bank"))
    yield running
    running.stop()
