"""`poll_deployments` over 200 helm deployments (docs/performance.md, "Deployment poll"), printed, never asserted.

Real releases (the real helm binary, `.local/bin/helm`) on kubesim (its own process), their deployments in moto's
tables (its own process). The same poll runs two ways, alternately, in one run:
- per deployment, as before issue 20 and as the poll still does for backends that cannot list (ArgoCD, Flux): the
  helm backend's `status` for each deployment (one `helm get metadata` run plus the Kubernetes reads per release);
- one listing per namespace (`statuses`: one `helm list`, one list of helm's release Secrets' metadata, one list per
  workload kind and of pods).
Every release is deployed and ready, so neither poll writes anything: what is timed is reading the cluster. Printed:
wall time of the poll, helm runs (counted by a launcher that logs each run), CPU of this process and of its children
(the helm runs).

    .venv/bin/python bench/deployment_poll.py [--deployments 200] [--namespaces 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # also runs as a script

from bench.common import start_aws, start_kubesim  # noqa: E402
from chalicelib.adapters.helm_binary import PROJECT_HELM  # noqa: E402
from devtools.deployment_fleet import CountingHelm, deploy_fleet  # noqa: E402


class OneByOne:
    """The helm backend as the poll sees a backend that cannot list releases: `status` per deployment only."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.adapter_id = adapter.adapter_id
        self.capabilities = adapter.capabilities

    def status(self, name: str, namespace: str) -> Any:
        return self.adapter.status(name, namespace)

    def get(self, adapter_id: str) -> OneByOne:  # the registry's one method the poll calls
        return self


def chart(work: Path) -> Path:
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(PROJECT_HELM), "create", "nf"], cwd=work, check=True, capture_output=True, env=env)
    subprocess.run([str(PROJECT_HELM), "package", "nf", "--version", "1.0.0"], cwd=work, check=True,
                   capture_output=True, env=env)
    return work / "nf-1.0.0.tgz"


def timed_poll(ports: Any, helm: CountingHelm, deployments: int) -> dict[str, float]:
    from chalicelib.services.deployment_poll import poll_deployments

    helm.reset()
    before, cpu, wall = os.times(), time.process_time(), time.perf_counter()
    report = poll_deployments(ports)
    wall, cpu, after = time.perf_counter() - wall, time.process_time() - cpu, os.times()
    assert (report.checked, report.changed, report.failed) == (deployments, 0, []), report
    children = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall": wall, "cpu": cpu, "helm_cpu": children, "runs": len(helm.runs())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--namespaces", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netweave-bench-poll-") as tmp_dir:
        tmp = Path(tmp_dir)
        helm = CountingHelm(tmp, PROJECT_HELM)
        kubesim = start_kubesim(tmp / "kubeconfig")
        gateway = (f"dmsAdapters:\n  - id: helm\n    type: helm\n    default: true\n    options:\n"
                   f"      kubeconfig: {tmp / 'kubeconfig'}\n      helmBinary: {helm.path}\n")
        server = start_aws(tmp, gateway)
        try:
            run(args.deployments, args.namespaces, args.rounds, helm, chart(tmp))
        finally:
            kubesim.terminate()
            server.terminate()


def run(deployments: int, namespaces: int, rounds: int, helm: CountingHelm, archive: Path) -> None:
    from dataclasses import replace

    from chalicelib.adapters.dms.port import DeploymentRegistry
    from chalicelib.bootstrap import components

    parts = components()
    listing = parts.deployment_poll_ports()
    one_by_one = replace(listing, registry=cast(DeploymentRegistry, OneByOne(parts.dms_registry.get("helm"))))
    started = time.perf_counter()
    deploy_fleet(parts.dms_registry.get("helm"), parts.deployment_store, archive,
                 [(f"nf-{index:03d}", f"oran-{index % namespaces}") for index in range(deployments)])
    print(f"{deployments} helm releases in {namespaces} namespaces deployed and recorded in "
          f"{time.perf_counter() - started:.0f} s")
    results: dict[str, list[dict[str, float]]] = {"per deployment": [], "one listing per namespace": []}
    for _ in range(rounds):
        results["per deployment"].append(timed_poll(one_by_one, helm, deployments))
        results["one listing per namespace"].append(timed_poll(listing, helm, deployments))
    print(f"poll_deployments over {deployments} ready helm deployments in {namespaces} namespaces (kubesim and moto "
          f"in processes of their own; median of {rounds} rounds):")
    medians = {}
    for label, samples in results.items():
        medians[label] = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        figures = medians[label]
        print(f"  {label}: {figures['wall']:.2f} s wall, {figures['runs']:.0f} helm runs, CPU {figures['cpu']:.2f} s "
              f"here + {figures['helm_cpu']:.2f} s in helm")
    old, new = medians["per deployment"]["wall"], medians["one listing per namespace"]["wall"]
    print(f"  one listing per namespace takes {new / old:.1%} of the per-deployment poll's time ({old / new:.0f}x "
          f"faster)")


if __name__ == "__main__":
    main()
