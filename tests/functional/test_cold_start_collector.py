"""The garbage collector is held back during a cold start only (chalicelib/coldstart.py): after `import app`, and
after the API function's first request, it runs again, so a container never accumulates cyclic garbage for its life.
Checked in a fresh interpreter, as a cold start sees it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import gc, json
import app
from chalicelib import coldstart
from devtools.lambda_sim.runtime import Context
from devtools.lambda_sim.package import api_event

after_import = [gc.isenabled(), gc.get_freeze_count()]
reply = app.app(api_event("GET", "/health"), Context(3000))
print(json.dumps({"after_import": after_import, "status": reply["statusCode"], "after_request": gc.isenabled(),
                  "first_request_pending": coldstart.first_request.pending}))
"""


def test_the_collector_runs_again_after_the_import_and_after_the_first_request() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    enabled, frozen = seen["after_import"]
    assert enabled and frozen > 10_000  # what the import built is set aside, not walked by every collection
    assert seen["status"] == 200 and seen["after_request"] and not seen["first_request_pending"]
