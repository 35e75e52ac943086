"""Shared by every tier: the project root, and a clean settings cache around each test."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import config

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    config.reset()
    yield
    config.reset()
