"""The layer contracts of pyproject.toml (docs/architecture.md §8) hold for the code and fail on a violating import:
a copy of chalicelib with one bad import added is checked by the same `lint-imports` that `make lint` runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(tree / "pyproject.toml")], cwd=tree,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """chalicelib and the contracts, copied: the repository itself is never edited."""
    shutil.copytree(PROJECT_DIR / "chalicelib", tmp_path / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_every_contract(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("adapters/registry.py", "from chalicelib.services import fan_out", "composition root -> services -> adapters"),
    ("settings.py", "from chalicelib.adapters import registry", "composition root -> services -> adapters"),
    ("api/inventory.py", "from chalicelib import bootstrap", "never from the composition root"),
    ("domain/models.py", "import boto3", "the domain does no I/O"),
    ("services/fan_out.py", "from chalicelib.services import subscriptions", "no import cycles"),
])
def test_a_violating_import_breaks_its_contract(tree: Path, module: str, line: str, contract: str) -> None:
    if module == "services/fan_out.py":  # a cycle needs both directions: subscriptions -> fan_out as well
        path = tree / "chalicelib" / "services" / "subscriptions.py"
        path.write_text(path.read_text() + "\nfrom chalicelib.services import fan_out  # noqa\n")
    path = tree / "chalicelib" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    report = " ".join(result.stdout.split())  # lint-imports wraps long contract names
    assert re.search(re.escape(contract) + r"[^.]*? BROKEN", report), result.stdout
