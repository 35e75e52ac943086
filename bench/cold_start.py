"""Cold start as Lambda pays it (issue 20): the API function's init (importing `app` from the deployment package) plus
its first request, a DynamoDB-backed list (GET .../resourcePools) with an RS256 token checked against a JWKS, vs a
function that imports boto3, makes a client and sends one DynamoDB query. Target: at most 1.5 x.

    .venv/bin/python bench/cold_start.py [--runs 10] [--quick]

Conditions as in Lambda, as tests/functional/test_lambda_zip.py runs the package: `chalice package` with the
dependencies, unpacked, made read-only, each run a fresh `python -I -S -B` (devtools/lambda_sim/runtime.py) whose
sys.path is the package, then the runtime's boto3 (Lambda's /var/runtime; here this interpreter's, which pip compiled
as AWS compiles the runtime's), then the standard library; PYTHONDONTWRITEBYTECODE set, so no run leaves bytecode for
the next. The package is measured twice: as `chalice package` builds it (sources only: every module is compiled at
every cold start) and with the bytecode `infra/bytecode.py` adds (unchecked-hash .pyc files, used from a read-only
directory). DynamoDB, the SSM parameter of the marker key and the JWKS are devtools/dynamodb_responder.py on loopback,
which answers from memory, so its share is the same small constant for both sides. The durations are the stand-in
runtime's, like Lambda's REPORT line: init = the handler's import, then the first invocation; the interpreter's own
start (the same for both) is not in them. Prints figures; never fails on a target.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (`make bench`)

from bench.common import IdentityProvider, Responder, percentile, start_responder  # noqa: E402
from bench.package_size import zip_size  # noqa: E402
from devtools.lambda_sim.package import (  # noqa: E402
    FunctionSpec,
    LambdaFunction,
    api_event,
    api_reply,
    build_package,
    functions_of,
    runtime_packages,
    snapshot,
    unpack,
)
from infra.bytecode import add_bytecode  # noqa: E402

TARGET_RATIO = 1.5
ROUTE = "/o2ims-infrastructureInventory/v1/resourcePools"
BASELINE_HANDLER = '''"""The baseline function: boto3, a DynamoDB client at init, one query per invocation."""
import boto3

client = boto3.client("dynamodb")


def handler(event, context):
    return client.query(**event)["Count"]
'''
SOURCES, COMPILED, BASELINE = "netweave, sources only", "netweave, with bytecode", "baseline: boto3 + one query"


@dataclasses.dataclass(frozen=True)
class Function:
    name: str
    spec: FunctionSpec
    task_dir: Path
    environment: dict[str, str]
    event: dict[str, Any]


def read_only(directory: Path) -> Path:
    """chmod -R a-w. (Root may write anyway: PYTHONDONTWRITEBYTECODE and -B are what keep bytecode out, and the
    bench checks afterwards that nothing under the package changed.)"""
    for path in [directory, *directory.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    return directory


def packages(scratch: Path, zip_path: Path | None) -> tuple[FunctionSpec, Path, Path]:
    """The api_handler's spec, the package as `chalice package` builds it and as deployed with bytecode, unpacked."""
    if zip_path is None:
        out = build_package(scratch / "out", "dev", bytecode=False)
        zip_path, sam = out / "deployment.zip", out / "sam.json"
    else:
        sam = zip_path.with_name("sam.json")
    spec = functions_of(json.loads(sam.read_text()))["api_handler"]
    with_bytecode = add_bytecode(Path(shutil.copy2(zip_path, scratch / "with-bytecode.zip")))
    for name, archive in (("as built", zip_path), ("with bytecode", with_bytecode)):
        size = zip_size(archive)
        print(f"  package {name}: {size.zipped_mb:.1f} MB zipped, {size.unzipped_mb:.1f} MB unzipped")
    return spec, read_only(unpack(zip_path, scratch / "task")), read_only(unpack(with_bytecode, scratch / "task-pyc"))


def functions(scratch: Path, spec: FunctionSpec, plain: Path, compiled: Path, responder: Responder,
              provider: IdentityProvider) -> list[Function]:
    # A stage verifying tokens with its identity provider's JWKS has no shared secret (infra/stack_outputs.py).
    variables = {k: v for k, v in spec.environment.items() if k != "NETWEAVE_AUTH_SECRET_SSM_PARAMETER"}
    netweave = dataclasses.replace(spec, environment=variables)
    environment = {**responder.environment(), "PYTHONDONTWRITEBYTECODE": "1"}
    request = api_event("GET", ROUTE, headers={"Authorization": f"Bearer {provider.token()}",
                                               "Accept": "application/json"})
    baseline_dir = scratch / "baseline"
    baseline_dir.mkdir()
    (baseline_dir / "baseline.py").write_text(BASELINE_HANDLER)
    from chalicelib.resources import INVENTORY
    from chalicelib.settings import settings_from_environment

    table = settings_from_environment(environment).table_name(INVENTORY)
    query = {"TableName": table, "KeyConditionExpression": "pk = :p", "Limit": 100,
             "ExpressionAttributeValues": {":p": {"S": "ResourcePoolInfo"}}}
    baseline = dataclasses.replace(spec, name="baseline", handler="baseline.handler", environment={})
    return [Function(BASELINE, baseline, read_only(baseline_dir), environment, query),
            Function(SOURCES, netweave, plain, environment, request),
            Function(COMPILED, netweave, compiled, environment, request)]


def cold_run(function: Function, runtime: Path, scratch: Path) -> dict[str, float]:
    """One fresh execution environment: its init, then its first invocation."""
    started = LambdaFunction(function.spec, function.task_dir, runtime, function.environment,
                             scratch / f"{function.spec.name}.log", scratch / "tmp")
    try:
        result = started.invoke(function.event)
        if function.name != BASELINE:
            reply = api_reply(result)
            assert reply.status == 200 and reply.json(), (reply.status, reply.body[:300])
        init, first = started.init_report, started.last_report
    finally:
        started.stop()
    return {"init": init["init_ms"], "first request": first["duration_ms"],
            "cold total": init["init_ms"] + first["duration_ms"],
            "cold CPU": init["init_cpu_ms"] + first["duration_cpu_ms"]}


Figures = dict[str, dict[str, list[float]]]  # kind -> figure -> samples


def measure(runs: int, all_functions: list[Function], runtime: Path, scratch: Path) -> Figures:
    """Interleaved run by run, so drift in the machine's load hits every kind alike; one warm-up each, discarded
    (it fills the page cache, as a deployed package is read from a warm cache no more than ours is)."""
    samples: Figures = defaultdict(lambda: defaultdict(list))
    for run in range(runs + 1):
        for function in all_functions:
            figures = cold_run(function, runtime, scratch)
            if run:
                for name, value in figures.items():
                    samples[function.name][name].append(value)
    return samples


def report(samples: Figures, runs: int) -> None:
    print(f"{runs} cold starts each, ms (median / p90):")
    names = list(samples[BASELINE])
    print(f"  {'':<30}" + "".join(f"{name:>20}" for name in names))
    for kind, figures in samples.items():
        print(f"  {kind:<30}" + "".join(f"{statistics.median(figures[n]):>10.1f} /{percentile(figures[n], 0.9):>7.1f}"
                                        for n in names))
    base = statistics.median(samples[BASELINE]["cold total"])
    for kind in (SOURCES, COMPILED):
        ratio = statistics.median(samples[kind]["cold total"]) / base
        verdict = "met" if ratio <= TARGET_RATIO else "not met"
        print(f"  ratio {kind} / baseline (median cold total): {ratio:.2f}   target <= {TARGET_RATIO}: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="cold starts of each kind (default 10)")
    parser.add_argument("--zip", type=Path, help="a deployment.zip without bytecode (sam.json beside it) instead of "
                        "building one")
    parser.add_argument("--quick", action="store_true", help="2 runs each (CI)")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else max(1, args.runs)
    with tempfile.TemporaryDirectory(prefix="netweave-cold-") as scratch_dir:
        scratch = Path(scratch_dir)
        print(f"netweave cold start, Python {sys.version.split()[0]}")
        spec, plain, compiled = packages(scratch, args.zip)
        print(f"  {sum(1 for _ in plain.rglob('*.py'))} modules, {sum(1 for _ in compiled.rglob('*.pyc'))} of them "
              "with bytecode")
        provider = IdentityProvider(scratch)
        responder = start_responder(10, provider)
        try:
            runtime = runtime_packages(scratch / "runtime")
            kinds = functions(scratch, spec, plain, compiled, responder, provider)
            before = {kind.name: snapshot(kind.task_dir) for kind in kinds}
            report(measure(runs, kinds, runtime, scratch), runs)
            changed = [kind.name for kind in kinds if snapshot(kind.task_dir) != before[kind.name]]
            print(f"  the packages stayed read-only: {'yes' if not changed else 'NO, written: ' + ', '.join(changed)}")
        finally:
            responder.stop()
            subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)  # so the temporary directory goes
    return 0


if __name__ == "__main__":
    sys.exit(main())
