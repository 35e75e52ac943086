"""O2-DMS benchmarks, printed, never asserted, against the whole local stack (moto, kubesim, API, event pump).

1. `POST /o2dms/v1/deployments`: the client's wall time until the 202. The install runs later, in the
   `run_dms_operation` worker, so this should stay small however long a helm install takes.
2. From each 202 to the deployment's status `deployed` (its GET polled every 0.15 s), and the worker's own time per
   create operation (the operation's startedAt -> finishedAt) and its queueing (createdAt -> startedAt). Two rounds
   of N: back to back, as an SMO rolling out many cells would (the local pump runs one worker, so later deployments
   wait for earlier ones; Lambda would run them side by side), then one at a time (what one deployment costs).
3. One scale (`POST .../scale`): 202 -> the operation `succeeded`.
Then every deployment is deleted (202 -> GET answers 404).

    .venv/bin/python -m bench.dms [--deployments 10] [--replicas 1] [--scale-to 3] [--mode both] [--backend helm]

`--backend gitops` routes the same uploaded chart to the local ArgoCD backend (`extensions.deploymentType: gitops`):
netweave publishes the archive to its chart repository, kubesim's ArgoCD fetches and renders it with `helm template`
and applies it, and the worker waits for the Application to be Synced and Healthy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # also runs as a script (`make bench`)

from bench.common import free_port, percentile  # noqa: E402

HELM = ROOT / ".local" / "bin" / "helm"
DMS = "/o2dms/v1"
POLL_SECONDS = 0.15
NAMESPACE = "bench-dms"
CHART_NAME = "bench-vdu"


@dataclass
class Stack:
    process: subprocess.Popen[str]
    api: str
    token: str
    state_dir: Path


@contextmanager
def local_stack(state_dir: Path, timeout: float = 120) -> Iterator[Stack]:
    """`python -m devtools.localstack` on free ports with its own state directory (as tests/e2e/conftest does),
    stopped with SIGTERM (handled as Ctrl-C is: it stops its children), whatever happens in between. Not SIGINT: a
    process started in the background of a non-interactive shell inherits SIGINT ignored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NETWEAVE_")) and k != "KUBECONFIG"}
    env["NETWEAVE_POLL_SECONDS"] = "1"
    api_port = free_port()
    args = [sys.executable, "-m", "devtools.localstack", "--api-port", str(api_port), "--moto-port",
            str(free_port()), "--kube-port", str(free_port()), "--state-dir", str(state_dir)]
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_forward, args=(process, lines), daemon=True).start()
    try:
        _wait_for_banner(lines, timeout)
        token = (state_dir / "token").read_text().strip()
        yield Stack(process, f"http://127.0.0.1:{api_port}", token, state_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _forward(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _wait_for_banner(lines: queue.Queue[str | None], timeout: float) -> None:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith("Ctrl-C stops everything"):
            return
    raise SystemExit("the local stack did not start:\n" + "".join(seen))


def build_chart(work: Path) -> Path:
    """`helm create` + `helm package`: the stock nginx Deployment, replicaCount and image.tag as values."""
    env = {"HOME": str(work), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for args in (["create", CHART_NAME], ["package", CHART_NAME, "--version", "1.0.0", "--app-version", "2.1.0"]):
        subprocess.run([str(HELM), *args], cwd=work, env=env, check=True, capture_output=True, timeout=60)
    return work / f"{CHART_NAME}-1.0.0.tgz"


def expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise SystemExit(f"{what}: expected {status}, got {response.status_code}: {response.text[:500]}")
    body = response.json() if response.content else {}
    return body if isinstance(body, dict) else {"items": body}


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = dt.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


@dataclass
class Rollout:
    """One deployment's figures."""

    name: str
    deployment_id: str = ""
    operation_id: str = ""
    post_seconds: float = 0.0
    accepted_at: float = 0.0
    ready_seconds: float | None = None
    final_status: str = ""
    statuses: list[str] = field(default_factory=list)


def watch_until_deployed(client: httpx.Client, rollout: Rollout, deadline: float) -> None:
    """Poll GET /deployments/{id} until `deployed` or `failed` (or the deadline); runs in a thread of its own."""
    while time.monotonic() < deadline:
        try:
            reply = client.get(f"{DMS}/deployments/{rollout.deployment_id}")
        except httpx.HTTPError as error:
            rollout.final_status = f"GET failed: {type(error).__name__}"
            return
        status = reply.json().get("status", f"HTTP {reply.status_code}") if reply.status_code == 200 else (
            f"HTTP {reply.status_code}")
        if not rollout.statuses or rollout.statuses[-1] != status:
            rollout.statuses.append(status)
        if status in ("deployed", "failed"):
            rollout.final_status = status
            if status == "deployed":
                rollout.ready_seconds = time.monotonic() - rollout.accepted_at
            return
        time.sleep(POLL_SECONDS)
    rollout.final_status = f"still {rollout.statuses[-1] if rollout.statuses else '?'} at the deadline"


def operation_id_of(response: httpx.Response, body: dict[str, Any]) -> str:
    link = str(response.headers.get("link", ""))
    if link.startswith("<") and "/operations/" in link:
        return link[1 : link.index(">")].rsplit("/", 1)[-1]
    extensions = body.get("extensions") or {}
    return str(extensions.get("activeOperationId", ""))


def wait_for_operation(client: httpx.Client, operation_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        operation = expect(client.get(f"{DMS}/operations/{operation_id}"), 200, "GET operation")
        if operation.get("status") in ("succeeded", "failed") or time.monotonic() > deadline:
            return operation
        time.sleep(POLL_SECONDS)


def summary(samples: list[float], unit: str = "ms") -> str:
    scale, digits = (1000, 0) if unit == "ms" else (1, 2)
    figures = (("p50", statistics.median(samples)), ("p95", percentile(samples, 0.95)), ("max", max(samples)))
    return "   ".join(f"{label} {value * scale:.{digits}f} {unit}" for label, value in figures)


def deploy_benchmark(client: httpx.Client, package_id: str, rollouts: list[Rollout], replicas: int,
                     burst: bool, backend: str = "helm") -> None:
    """Burst: POST every deployment back to back, each watched by a thread of its own. One at a time: POST one,
    wait until it is deployed, then the next. `rollouts` is filled in as deployments are accepted, so the caller
    can delete them whatever happens."""
    deadline = time.monotonic() + 60 + 30 * len(rollouts)
    watchers: list[threading.Thread] = []
    first_post = time.monotonic()
    for rollout in rollouts:
        body = {"name": rollout.name, "namespace": NAMESPACE, "packageId": package_id, "timeoutSeconds": 120,
                "values": {"replicaCount": replicas, "cellId": f"cell-{rollout.name[-3:]}", "bandwidth": "100MHz"}}
        if backend == "gitops":
            body["extensions"] = {"deploymentType": "gitops"}
        reply, rollout.post_seconds = timed(partial(client.post, f"{DMS}/deployments", json=body))
        rollout.accepted_at = time.monotonic()
        created = expect(reply, 202, f"POST deployment {rollout.name}")
        rollout.deployment_id, rollout.operation_id = created["deploymentId"], operation_id_of(reply, created)
        if burst:
            watcher = threading.Thread(target=watch_until_deployed, args=(client, rollout, deadline), daemon=True)
            watcher.start()
            watchers.append(watcher)
        else:
            watch_until_deployed(client, rollout, deadline)
    for watcher in watchers:
        watcher.join()
    all_done = time.monotonic() - first_post
    how = ("submitted back to back; the local pump runs one worker, so they queue behind each other" if burst else
           "one at a time: each POST waits until the previous deployment is deployed")
    print(f"{len(rollouts)} deployments by the {backend} backend (namespace {NAMESPACE}, replicaCount {replicas}), "
          f"{how}:")
    report_rollouts(client, rollouts, all_done)


def report_rollouts(client: httpx.Client, rollouts: list[Rollout], all_done: float) -> None:
    worker, queued = [], []
    for rollout in rollouts:
        if not rollout.operation_id:
            continue
        operation = client.get(f"{DMS}/operations/{rollout.operation_id}").json()
        if (run := seconds_between(operation.get("startedAt"), operation.get("finishedAt"))) is not None:
            worker.append(run)
        if (wait := seconds_between(operation.get("createdAt"), operation.get("startedAt"))) is not None:
            queued.append(wait)
    ready = [r.ready_seconds for r in rollouts if r.ready_seconds is not None]
    posts = [r.post_seconds for r in rollouts if r.deployment_id]
    print(f"  POST /o2dms/v1/deployments -> 202      {summary(posts)}   (the first: {posts[0] * 1000:.0f} ms)")
    if ready:
        print(f"  202 -> status deployed                {summary(ready, 's')}   (GET every {POLL_SECONDS:g} s)")
    if queued:
        print(f"  create operation queued               {summary(queued, 's')}   (createdAt -> startedAt)")
    if worker:
        print(f"  create operation in the worker        {summary(worker, 's')}   (startedAt -> finishedAt)")
    print(f"  {len(ready)} of {len(rollouts)} deployed {all_done:.1f} s after the first POST")
    for rollout in rollouts:
        if rollout.final_status != "deployed":
            print(f"  {rollout.name}: {rollout.final_status} (statuses seen: {' -> '.join(rollout.statuses)})")


def scale_benchmark(client: httpx.Client, rollout: Rollout, replicas: int) -> None:
    reply, took = timed(lambda: client.post(f"{DMS}/deployments/{rollout.deployment_id}/scale",
                                            json={"replicas": replicas, "timeoutSeconds": 120}))
    accepted = time.monotonic()
    operation = expect(reply, 202, "POST scale")
    done = wait_for_operation(client, operation["operationId"], 180)
    elapsed = time.monotonic() - accepted
    worker = seconds_between(done.get("startedAt"), done.get("finishedAt"))
    print(f"scale {rollout.name} to {replicas} replicas: POST -> 202 {took * 1000:.0f} ms; 202 -> operation "
          f"{done.get('status')} {elapsed:.2f} s" + (f" (in the worker {worker:.2f} s)" if worker is not None else ""))
    if done.get("status") != "succeeded":
        print(f"  error: {done.get('error')}")


def delete_all(client: httpx.Client, rollouts: list[Rollout], timeout: float = 120) -> None:
    """DELETE every deployment, then wait until each GET answers 404; best effort (the stack is thrown away next)."""
    pending: dict[str, float] = {}
    posts = []
    for rollout in rollouts:
        if not rollout.deployment_id:
            continue
        reply, took = timed(partial(client.delete, f"{DMS}/deployments/{rollout.deployment_id}"))
        if reply.status_code == 202:
            pending[rollout.deployment_id] = time.monotonic()
            posts.append(took)
        else:
            print(f"  DELETE {rollout.name}: {reply.status_code} {reply.text[:200]}")
    gone: list[float] = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for deployment_id, accepted in list(pending.items()):
            if client.get(f"{DMS}/deployments/{deployment_id}").status_code == 404:
                gone.append(time.monotonic() - accepted)
                del pending[deployment_id]
        time.sleep(POLL_SECONDS)
    if posts:
        print(f"deleted {len(gone)} of {len(posts)} deployments: DELETE -> 202 {summary(posts)};"
              + (f" 202 -> GET 404 {summary(gone, 's')}" if gone else " none gone before the deadline"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployments", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=1, help="replicaCount of each deployment")
    parser.add_argument("--scale-to", type=int, default=3, help="replicas of the scale operation")
    parser.add_argument("--mode", choices=("burst", "one-at-a-time", "both"), default="both",
                        help="submit the N deployments back to back, one after another, or both rounds (2N)")
    parser.add_argument("--backend", choices=("helm", "gitops"), default="helm",
                        help="helm: the helm binary installs; gitops: routed to the local ArgoCD backend")
    args = parser.parse_args()
    if not HELM.exists():
        raise SystemExit(f"{HELM} is missing: run `make setup`")
    with tempfile.TemporaryDirectory(prefix="netweave-bench-dms-") as tmp_dir:
        tmp = Path(tmp_dir)
        chart = build_chart(tmp)
        (tmp / "stack").mkdir()
        started = time.monotonic()
        with local_stack(tmp / "stack") as stack:
            print(f"local stack started in {time.monotonic() - started:.1f} s")
            headers = {"Authorization": f"Bearer {stack.token}"}
            with httpx.Client(base_url=stack.api, headers=headers, timeout=30) as client:
                run(client, chart, args)


def run(client: httpx.Client, chart: Path, args: argparse.Namespace) -> None:
    data = chart.read_bytes()
    reply, took = timed(lambda: client.post(f"{DMS}/deploymentPackages", content=data,
                                            headers={"Content-Type": "application/gzip"}))
    package = expect(reply, 201, "upload the chart")
    print(f"chart {package['name']} {package['version']} (appVersion {package.get('appVersion')}; helm create + "
          f"helm package, {len(data)} bytes) uploaded in {took * 1000:.0f} ms")
    rollouts: list[Rollout] = []
    try:
        for burst in {"burst": [True], "one-at-a-time": [False], "both": [True, False]}[args.mode]:
            prefix = "bench-du" if burst else "bench-seq"
            round_ = [Rollout(name=f"{prefix}-{index:03d}") for index in range(args.deployments)]
            rollouts += round_
            deploy_benchmark(client, package["packageId"], round_, args.replicas, burst, args.backend)
        deployed = [r for r in rollouts if r.final_status == "deployed"]
        if deployed:
            scale_benchmark(client, deployed[0], args.scale_to)
    finally:
        delete_all(client, rollouts)


if __name__ == "__main__":
    main()
