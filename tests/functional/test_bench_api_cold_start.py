"""The quick variants of bench/api_overhead.py and bench/cold_start.py run and print their figures (issue 20).

Only that they ran: no timing is asserted (a loaded test machine decides timings). What is asserted is what the
figures rest on: both sides read the same page, every kind of cold start answered, the package stayed read-only.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_DIR


def run_bench(script: str, timeout: float) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NETWEAVE_"))}  # the bench's own
    done = subprocess.run([sys.executable, f"bench/{script}", "--quick"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_api_overhead_bench_prints_both_sides_and_the_ratio() -> None:
    out = run_bench("api_overhead.py", timeout=300)
    assert "page of 100 out of 1000 resources" in out, out
    for row in ("bare boto3 query", "through the API handler", "ratio handler / bare"):
        assert any(line.strip().startswith(row) and len(line.split()) >= 4 for line in out.splitlines()), (row, out)
    assert "target wall p50 ratio <= 1.5:" in out and "target CPU p50 ratio <= 1.5:" in out, out


@pytest.mark.xdist_group("lambda_zip")  # builds and unpacks the deployment package, as test_lambda_zip.py does
@pytest.mark.timeout(1500)  # a package build with its dependencies, when Chalice's cache of it is cold
def test_the_cold_start_bench_prints_each_kind_and_keeps_the_package_read_only() -> None:
    out = run_bench("cold_start.py", timeout=1500)
    for kind in ("baseline: boto3 + one query", "netweave, sources only", "netweave, with bytecode"):
        assert any(line.strip().startswith(kind) for line in out.splitlines()), (kind, out)
    assert "ratio netweave, with bytecode / baseline" in out, out
    assert "the packages stayed read-only: yes" in out, out
