"""Lambda cold starts pay for every import: `import app` must not load the cluster clients, which only the
functions that use them import (docs/architecture.md). Checked in a fresh interpreter, as a cold start sees it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("kubernetes", "pyhelm3", "sushy", "schemathesis", "moto", "jsonschema")


def test_importing_the_app_loads_no_cluster_or_bare_metal_client() -> None:
    script = ("import json, sys; import app; "
              f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
