"""What one backend status read (`adapter.status`) costs per deployment, printed, never asserted.

`poll_deployments` still reads ArgoCD and Flux deployments this way, one after another, so a poll of N of them costs
about N times this; Helm deployments are read with one listing per namespace instead (bench/deployment_poll.py).
Each backend deploys `--deployments` releases of the `helm create` chart into kubesim (its own process, as in the
local stack), then every status is read `--rounds` times, sequentially and with a pool of
`--workers` threads (what a parallel poller would gain).

    .venv/bin/python bench/dms_status.py [--deployments 20] [--rounds 3] [--workers 8] [--backends helm,argocd,flux]

Helm: `helm get metadata` (a subprocess) + the Kubernetes reads; ArgoCD: the Application + the workloads and pods; Flux:
the HelmRelease + the workloads and pods.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

OWNER = "0b9f3c2a-5d6e-4f70-8a1b-2c3d4e5f6a7b"  # the deployment the benchmark releases belong to
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # also runs as a script

from bench.common import percentile, start_kubesim  # noqa: E402
from chalicelib.adapters.dms.port import ChartSource, ReleaseSpec  # noqa: E402
from chalicelib.settings import AdapterConfig  # noqa: E402
from devtools.chart_repo import ChartRepository, build_repository  # noqa: E402

CHART, VERSION = "du", "1.0.0"


def adapter(kind: str, kubeconfig: Path) -> Any:
    options: dict[str, Any] = {"kubeconfig": str(kubeconfig)}
    if kind == "argocd":
        from chalicelib.adapters.dms.argocd import ArgoCDDeploymentAdapter

        return ArgoCDDeploymentAdapter(AdapterConfig(id=kind, type=kind, options={
            **options, "automatedSync": False, "pollIntervalSeconds": 0.1}))
    if kind == "flux":
        from chalicelib.adapters.dms.flux import FluxDeploymentAdapter

        return FluxDeploymentAdapter(AdapterConfig(id=kind, type=kind, options={**options, "pollIntervalSeconds": 0.1}))
    from chalicelib.adapters.dms.helm import HelmDeploymentAdapter

    return HelmDeploymentAdapter(AdapterConfig(id=kind, type=kind, options=options))


def deploy(kind: str, backend: Any, repository: str, archive: Path, count: int) -> list[tuple[str, str]]:
    releases = []
    started = time.monotonic()
    for index in range(count):
        name, namespace = f"{kind}-{index:03d}", f"bench-{kind}"
        if kind == "helm":
            spec = ReleaseSpec(name, namespace, str(archive), {"replicaCount": 1}, 120, owner=OWNER)
        else:
            spec = ReleaseSpec(name, namespace, "", {"replicaCount": 1}, 120,
                               source=ChartSource("helm-repo", repository, VERSION, chart=CHART), owner=OWNER)
        backend.install(spec)
        releases.append((name, namespace))
    print(f"{kind}: {count} releases deployed in {time.monotonic() - started:.1f} s")
    return releases


def timed_reads(read: Callable[[tuple[str, str]], Any], releases: list[tuple[str, str]], workers: int
                ) -> tuple[list[float], float]:
    """(seconds per status read, seconds for the whole pass)."""
    samples: list[float] = []

    def one(release: tuple[str, str]) -> None:
        start = time.perf_counter()
        status = read(release)
        samples.append(time.perf_counter() - start)
        assert status.ready, f"{release} is not ready: {status}"

    start = time.perf_counter()
    if workers <= 1:
        for release in releases:
            one(release)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, releases))
    return samples, time.perf_counter() - start


def report(kind: str, backend: Any, releases: list[tuple[str, str]], rounds: int, workers: int) -> None:
    def read(release: tuple[str, str]) -> Any:
        return backend.status(*release)

    for label, pool in (("sequential (as the poller reads)", 1), (f"{workers} threads", workers)):
        samples: list[float] = []
        passes: list[float] = []
        for _ in range(rounds):
            per_read, whole = timed_reads(read, releases, pool)
            samples += per_read
            passes.append(whole)
        print(f"  {kind} status, {label}: per read p50 {statistics.median(samples) * 1000:.0f} ms, "
              f"p95 {percentile(samples, 0.95) * 1000:.0f} ms; a pass over {len(releases)} deployments "
              f"p50 {statistics.median(passes):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployments", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--backends", default="helm,argocd,flux")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netweave-bench-status-") as tmp_dir:
        tmp = Path(tmp_dir)
        charts = build_repository(tmp / "charts", [(CHART, VERSION)])
        kubeconfig = tmp / "kubeconfig"
        kubesim = start_kubesim(kubeconfig)
        try:
            with ChartRepository(charts) as repository:
                for kind in args.backends.split(","):
                    backend = adapter(kind, kubeconfig)
                    releases = deploy(kind, backend, repository.url, charts / f"{CHART}-{VERSION}.tgz",
                                      args.deployments)
                    report(kind, backend, releases, args.rounds, args.workers)
        finally:
            kubesim.terminate()
            kubesim.wait(timeout=10)


if __name__ == "__main__":
    main()
