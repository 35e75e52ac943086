"""The client library installs into a clean virtual environment with its own dependencies only: an SMO gets httpx,
pydantic and standardwebhooks, never the gateway's chalice, boto3 or kubernetes. One venv, built once (pip may use
its cache), in its own xdist group so no second worker builds another."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

_PROBE = """
import importlib.metadata, importlib.util, json
import netweave_client
from netweave_client import Client
from netweave_client.models import ResourcePool
print(json.dumps({
    "absent": [m for m in ("chalice", "boto3", "botocore", "kubernetes", "chalicelib") if importlib.util.find_spec(m)],
    "requires": importlib.metadata.requires("netweave-client"),
}))
"""


@pytest.mark.xdist_group("client-install")
@pytest.mark.timeout(240)
def test_the_client_installs_alone_into_a_clean_venv(tmp_path: Path) -> None:
    source = tmp_path / "client"
    # a copy: building in place would leave build artefacts in the checkout
    shutil.copytree(PROJECT_DIR / "client", source, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
                             check=False, capture_output=True, text=True, cwd=tmp_path)
    assert install.returncode == 0, install.stderr[-3000:]
    probe = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, cwd=tmp_path, check=True)
    found = json.loads(probe.stdout)
    assert found["absent"] == [], f"the gateway's packages came along: {found['absent']}"
    assert sorted(r.split(">")[0].split("<")[0] for r in found["requires"] if "extra ==" not in r) == [
        "httpx", "pydantic", "standardwebhooks"]
