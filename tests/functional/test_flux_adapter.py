"""The `flux` DMS adapter against kubesim's simulated Flux: install, OCI sources, upgrade, scale, failure, errors."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters.dms.flux import FluxDeploymentAdapter
from chalicelib.adapters.dms.port import ChartSource, DeploymentFailed, ReleaseSpec
from chalicelib.adapters.registry import Capability
from chalicelib.config import AdapterConfig
from chalicelib.domain.errors import BackendUnavailable, CapabilityNotSupported, ConfigurationError, NotFound
from devtools.kubesim import KubeSim, start_kubesim
from devtools.kubesim.controllers.gitops import GitOps
from tests.conftest import PROJECT_DIR

pytestmark = [pytest.mark.xdist_group("flux-adapter")]
TIMEOUT = 10
REPO = "https://charts.example.com/oran"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    delays = GitOps.SYNC_DELAY, GitOps.SOURCE_DELAY, GitOps.FINALIZE_DELAY
    GitOps.SYNC_DELAY, GitOps.SOURCE_DELAY, GitOps.FINALIZE_DELAY = 0.1, 0.05, 0.05
    try:
        with start_kubesim(port=0, kubeconfig_path=tmp_path_factory.mktemp("kubesim") / "kubeconfig") as running:
            yield running
    finally:
        GitOps.SYNC_DELAY, GitOps.SOURCE_DELAY, GitOps.FINALIZE_DELAY = delays


@pytest.fixture(scope="module")
def adapter(sim: KubeSim) -> FluxDeploymentAdapter:
    return FluxDeploymentAdapter(AdapterConfig(id="flux-local", type="flux", options={
        "kubeconfig": str(sim.kubeconfig_path), "pollIntervalSeconds": 0.05}))


def spec(name: str, version: str = "1.0.0", values: dict[str, Any] | None = None, repo: str = REPO,
         chart: str = "du", timeout: int = TIMEOUT) -> ReleaseSpec:
    return ReleaseSpec(name=name, namespace=f"{name}-ns", chart_path="", values=values or {},
                       timeout_seconds=timeout, source=ChartSource("helm-repo", repo, version, chart=chart))


def sources(adapter: FluxDeploymentAdapter, plural: str) -> list[dict[str, Any]]:
    version = "v1" if plural == "helmrepositories" else "v1beta2"
    items: list[dict[str, Any]] = adapter.cluster.custom().list_namespaced_custom_object(
        "source.toolkit.fluxcd.io", version, "flux-system", plural)["items"]
    return items


def test_install_upgrade_scale_history_uninstall(adapter: FluxDeploymentAdapter) -> None:
    name, namespace = "du-life", "du-life-ns"
    status = adapter.install(spec(name, values={"replicaCount": 1, "image": {"tag": "1.27"}}))
    assert (status.status, status.revision, status.chart_name, status.chart_version) == (
        "deployed", 1, "du", "1.0.0")
    assert status.details["flux"] == {
        "ready": "True", "reason": "InstallSucceeded", "message": status.details["flux"]["message"],
        "lastAttemptedRevision": "1.0.0"}
    assert status.updated_at and status.ready
    repos = [r for r in sources(adapter, "helmrepositories") if r["spec"]["url"] == REPO]
    assert len(repos) == 1 and repos[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netweave"
    release = adapter._get(name, namespace)
    assert release["spec"]["chart"]["spec"]["sourceRef"] == {
        "kind": "HelmRepository", "name": repos[0]["metadata"]["name"], "namespace": "flux-system"}
    assert release["spec"]["upgrade"]["remediation"]["strategy"] == "none"
    assert release["spec"]["install"]["createNamespace"] is True

    again = adapter.install(spec(name, values={"replicaCount": 1, "image": {"tag": "1.27"}}))  # idempotent
    assert (again.status, again.revision) == ("deployed", 1)

    upgraded = adapter.upgrade(spec(name, "1.1.0", values={"image": {"tag": "1.28"}}))
    assert (upgraded.status, upgraded.revision, upgraded.chart_version) == ("deployed", 2, "1.1.0")
    assert adapter._get(name, namespace)["spec"]["values"] == {"image": {"tag": "1.28"}}  # replaced, not merged
    history = adapter.history(name, namespace)
    assert [(r.revision, r.status, r.chart) for r in history] == [
        (1, "superseded", "du-1.0.0"), (2, "deployed", "du-1.1.0")]
    assert all(r.updated_at for r in history)

    scaled = adapter.scale(name, namespace, 4)
    assert (scaled.status, scaled.revision, scaled.chart_version) == ("deployed", 3, "1.1.0")
    assert adapter._get(name, namespace)["spec"]["values"] == {"image": {"tag": "1.28"}, "replicaCount": 4}

    assert adapter.logs(name, namespace) == []  # kubesim's Flux renders no workloads

    with pytest.raises(CapabilityNotSupported):
        adapter.rollback(name, namespace, 1)
    adapter.uninstall(name, namespace)
    with pytest.raises(NotFound):
        adapter.status(name, namespace)
    adapter.uninstall(name, namespace)  # idempotent
    assert [r for r in sources(adapter, "helmrepositories") if r["spec"]["url"] == REPO]  # shared sources stay


def test_oci_repository_source(adapter: FluxDeploymentAdapter) -> None:
    name = "cu-oci"
    status = adapter.install(spec(name, "3.0.0", repo="oci://ghcr.io/example/charts", chart="cu"))
    assert (status.status, status.revision, status.chart_name, status.chart_version) == (
        "deployed", 1, "cu", "3.0.0")
    oci = [r for r in sources(adapter, "ocirepositories")
           if r["spec"]["url"] == "oci://ghcr.io/example/charts/cu" and r["spec"]["ref"]["tag"] == "3.0.0"]
    assert len(oci) == 1
    release = adapter._get(name, f"{name}-ns")
    assert release["spec"]["chartRef"]["kind"] == "OCIRepository" and "chart" not in release["spec"]
    upgraded = adapter.upgrade(spec(name, "3.1.0", repo="oci://ghcr.io/example/charts", chart="cu"))
    assert (upgraded.revision, upgraded.chart_version) == (2, "3.1.0")
    adapter.uninstall(name, f"{name}-ns")


def test_failing_values_are_a_deployment_failure(adapter: FluxDeploymentAdapter) -> None:
    name, namespace = "du-fail", "du-fail-ns"
    with pytest.raises(DeploymentFailed, match="fail") as caught:
        adapter.install(spec(name, values={"image": {"tag": "fail"}}))
    assert caught.value.status == 422
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.details["flux"]["reason"], failed.ready) == ("failed", "InstallFailed", False)

    adapter.install(spec(name, values={"image": {"tag": "1.27"}}))  # a corrected install converges
    with pytest.raises(DeploymentFailed, match="fail"):
        adapter.upgrade(spec(name, "1.1.0", values={"image": {"tag": "fail"}}))
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.details["flux"]["reason"]) == ("failed", "UpgradeFailed")
    assert [r.status for r in adapter.history(name, namespace)][-1] == "failed"
    adapter.uninstall(name, namespace)


def test_sources_other_than_helm_repositories_are_refused(adapter: FluxDeploymentAdapter) -> None:
    git = ReleaseSpec("du-git", "du-git-ns", "", {}, TIMEOUT,
                      ChartSource("git", "https://git.example.com/charts.git", "main", path="du"))
    with pytest.raises(DeploymentFailed, match="helm-repo"):
        adapter.install(git)
    with pytest.raises(DeploymentFailed):
        adapter.install(ReleaseSpec("du-none", "du-none-ns", "/tmp/du.tgz", {}, TIMEOUT))


def test_unknown_release_is_not_found(adapter: FluxDeploymentAdapter) -> None:
    calls: list[Callable[[], object]] = [
        lambda: adapter.status("ghost", "default"), lambda: adapter.history("ghost", "default"),
        lambda: adapter.scale("ghost", "default", 2), lambda: adapter.logs("ghost", "default"),
        lambda: adapter.upgrade(spec("ghost"))]
    for call in calls:
        with pytest.raises(NotFound):
            call()


def test_options_and_capabilities() -> None:
    adapter = FluxDeploymentAdapter(AdapterConfig(id="flux-a", type="flux", options={}))
    assert Capability.ROLLBACK not in adapter.capabilities
    assert {Capability.DEPLOY, Capability.UPGRADE, Capability.SCALE, Capability.STATUS, Capability.LOGS} \
        <= adapter.capabilities
    assert (adapter.options.source_namespace, adapter.options.interval) == ("flux-system", "5m")
    with pytest.raises(ConfigurationError):
        FluxDeploymentAdapter(AdapterConfig(id="flux-b", type="flux", options={"nope": 1}))
    check = ("import sys, chalicelib.adapters.dms.flux; "
             "assert 'kubernetes' not in sys.modules")
    subprocess.run([sys.executable, "-c", check], cwd=PROJECT_DIR, check=True, capture_output=True)


def test_unreachable_cluster_is_backend_unavailable_quickly(sim: KubeSim, tmp_path: Path) -> None:
    kubeconfig = yaml.safe_load(Path(str(sim.kubeconfig_path)).read_text())
    kubeconfig["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:1"
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    offline = FluxDeploymentAdapter(AdapterConfig(id="offline", type="flux",
                                                  options={"kubeconfig": str(tmp_path / "kubeconfig")}))
    started = time.monotonic()
    calls: list[Callable[[], object]] = [lambda: offline.status("du", "default"),
                                         lambda: offline.install(spec("du-off")),
                                         lambda: offline.uninstall("du", "default")]
    for call in calls:
        with pytest.raises(BackendUnavailable, match="offline"):
            call()
    assert time.monotonic() - started < 5
