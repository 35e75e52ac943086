"""Shared helpers for kubesim's tests (a plain module, so test files can import it; fixtures live in conftest)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".local" / "bin"
Run = Callable[..., subprocess.CompletedProcess[str]]


def binary(name: str) -> Path:
    path = BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{name} is missing at {path}; install it with devtools/install_binaries.sh", pytrace=False)
    return path


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Controllers react within milliseconds; poll briefly instead of assuming synchronous effects."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)
