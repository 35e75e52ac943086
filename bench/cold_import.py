"""Cold-start benchmark (docs/architecture.md §6): importing `app` should cost at most 1.3x importing `boto3` alone.

    .venv/bin/python bench/cold_import.py [--runs 15]

Every figure comes from a fresh interpreter, because a Lambda cold start is one: a warm `sys.modules` would hide
exactly the cost we measure. Timing starts inside the child, so interpreter start-up is not counted for either side.
Prints figures and exits 0 whether or not the target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (`make bench`), so the project is not on sys.path by itself

from devtools.token import mint_token  # noqa: E402

TARGET_RATIO = 1.3
# heavy imports the API function must not pay for (docs/architecture.md §6)
WATCHED = ("kubernetes", "pyhelm3", "sushy")
REQUEST_PATH = "/o2ims-infrastructureInventory/v1"
MARKER = "BENCH_RESULT "

# `json` is imported after the clock stops: the app imports it anyway, and boto3's side must not pay for it either.
IMPORT_CHILD = """
import time
start = time.perf_counter()
import {module}
elapsed = (time.perf_counter() - start) * 1000
import json, sys
print({marker!r} + json.dumps({{"ms": elapsed, "loaded": [m for m in {watched!r} if m in sys.modules]}}))
"""

# The test client is harness, not Lambda: its import is timed apart and left out of the cold-request figure.
REQUEST_CHILD = """
import time
start = time.perf_counter()
import app
imported = time.perf_counter()
import os
from chalice.test import Client
ready = time.perf_counter()
with Client(app.app) as client:
    response = client.http.get({path!r}, headers={{"Authorization": "Bearer " + os.environ["NETWEAVE_BENCH_TOKEN"]}})
done = time.perf_counter()
import json
print({marker!r} + json.dumps({{
    "cold_ms": ((imported - start) + (done - ready)) * 1000,
    "get_ms": (done - ready) * 1000,
    "status": response.status_code,
}}))
"""

IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")


@dataclass(frozen=True)
class ImportEntry:
    module: str
    self_ms: float
    cumulative_ms: float
    depth: int


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["POWERTOOLS_METRICS_DISABLED"] = "true"
    # A throwaway secret: reading `.local/jwt-secret` would create it as a side effect of a benchmark.
    env.setdefault("NETWEAVE_AUTH_SECRET", secrets.token_urlsafe(48))
    env["NETWEAVE_BENCH_TOKEN"] = mint_token(env["NETWEAVE_AUTH_SECRET"])
    return env


def run_child(code: str, env: dict[str, str]) -> dict[str, Any]:
    """Run `code` in a fresh interpreter in the project directory and return the JSON it printed after MARKER."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            result: dict[str, Any] = json.loads(line[len(MARKER) :])
            return result
    raise RuntimeError(f"benchmark child failed (exit {done.returncode}):\n{done.stderr[-2000:]}")


def measure(runs: int, env: dict[str, str]) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Interleave the kinds run by run, so drift in machine load hits all of them alike."""
    boto3_code = IMPORT_CHILD.format(module="boto3", marker=MARKER, watched=WATCHED)
    app_code = IMPORT_CHILD.format(module="app", marker=MARKER, watched=WATCHED)
    request_code = REQUEST_CHILD.format(path=REQUEST_PATH, marker=MARKER)
    for code in (boto3_code, app_code, request_code):
        run_child(code, env)  # warm-up, discarded: writes .pyc files and fills the page cache
    samples: dict[str, list[float]] = defaultdict(list)
    last: dict[str, Any] = {}
    for _ in range(runs):
        samples["import boto3"].append(float(run_child(boto3_code, env)["ms"]))
        last["app"] = run_child(app_code, env)
        samples["import app"].append(float(last["app"]["ms"]))
        last["request"] = run_child(request_code, env)
        samples["first GET: import app + request"].append(float(last["request"]["cold_ms"]))
        samples["  of which the request"].append(float(last["request"]["get_ms"]))
    return samples, last


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def print_timings(samples: dict[str, list[float]]) -> None:
    print(f"{'measurement':<36} {'median ms':>10} {'p90 ms':>10}")
    for name, values in samples.items():
        print(f"{name:<36} {statistics.median(values):>10.1f} {p90(values):>10.1f}")


def print_verdict(samples: dict[str, list[float]], last: dict[str, Any]) -> None:
    ratio = statistics.median(samples["import app"]) / statistics.median(samples["import boto3"])
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"\nratio import app / import boto3 (medians): {ratio:.2f}   target <= {TARGET_RATIO}: {verdict}")
    status = last["request"]["status"]
    if status != 200:
        print(f"WARNING: the first GET {REQUEST_PATH} answered {status}, not 200: its timing is not representative")
    loaded = set(last["app"]["loaded"])
    listed = ", ".join(f"{m}: {'LOADED' if m in loaded else 'not loaded'}" for m in WATCHED)
    print(f"in sys.modules after `import app` (target: neither): {listed}")


def parse_importtime(stderr: str) -> list[ImportEntry]:
    entries = []
    for line in stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            entries.append(ImportEntry(module, int(self_us) / 1000, int(cumulative_us) / 1000, (len(indent) - 1) // 2))
    return entries


def subtree_of(entries: list[ImportEntry], root: str) -> list[ImportEntry]:
    """The imports done under the top-level import `root`: -X importtime prints children before their parent."""
    end = next(i for i, e in enumerate(entries) if e.depth == 0 and e.module == root)
    start = end
    while start > 0 and entries[start - 1].depth > 0:
        start -= 1
    return entries[start:end]


def print_heaviest(env: dict[str, str], top: int = 10) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    under_app = subtree_of(parse_importtime(done.stderr), "app")
    print(f"\ntop {top} imports under `import app` by cumulative time (python -X importtime, one run):")
    print(f"{'cumulative ms':>14} {'self ms':>9} {'depth':>5}  module (depth 1 = imported by app.py itself)")
    for entry in sorted(under_app, key=lambda e: e.cumulative_ms, reverse=True)[:top]:
        print(f"{entry.cumulative_ms:>14.1f} {entry.self_ms:>9.1f} {entry.depth:>5}  {entry.module}")
    # Cumulative figures nest (a package contains its submodules); self time summed per top-level package does not,
    # so this view says how much dropping one dependency from the import path would save.
    per_package: dict[str, float] = defaultdict(float)
    for entry in under_app:
        per_package[entry.module.split(".")[0]] += entry.self_ms
    print(f"\ntop {top} top-level packages under `import app` by summed self time:")
    for package, ms in sorted(per_package.items(), key=lambda item: item[1], reverse=True)[:top]:
        print(f"{ms:>14.1f}  {package}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cold import cost of the API module against boto3 alone.")
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per measurement (default 15)")
    args = parser.parse_args(argv)
    env = child_env()
    print(f"netweave cold-import benchmark: {args.runs} fresh processes each, Python {sys.version.split()[0]}")
    if env.get("PYTHONDONTWRITEBYTECODE"):
        # Site-packages ship compiled; the project's modules then are compiled from source in every child, so their
        # compilation counts in `import app` and in its self times (Lambda cannot write __pycache__ either: it has
        # .pyc files only if the deployment package carries them).
        print("note: PYTHONDONTWRITEBYTECODE is set: the warm-up writes no .pyc, the project's modules are compiled "
              "in every run")
    print()
    samples, last = measure(max(args.runs, 1), env)
    print_timings(samples)
    print_verdict(samples, last)
    print_heaviest(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
