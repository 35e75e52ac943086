"""The `helm` DMS adapter against kubesim with the real helm binary: a vDU-like chart's whole lifecycle, errors."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters.dms import cluster
from chalicelib.adapters.dms.helm import HelmDeploymentAdapter
from chalicelib.adapters.dms.port import DeploymentFailed, DeploymentRegistry, ReleaseSpec
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.bootstrap import DMS_ADAPTER_TYPES
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, NotFound
from chalicelib.domain.ownership import NotOwned
from chalicelib.settings import AdapterConfig, GatewayConfig
from devtools.kubesim import KubeSim, start_kubesim
from tests.conftest import PROJECT_DIR

# The helm binary comes with `make setup`: without it these tests fail, they never skip.
pytestmark = pytest.mark.xdist_group("helm-adapter")
OWNER = "0b9f3c2a-5d6e-4f70-8a1b-2c3d4e5f6a7b"  # the deployment these releases belong to
TIMEOUT = 30


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    with start_kubesim(port=0, kubeconfig_path=tmp_path_factory.mktemp("kubesim") / "kubeconfig") as running:
        yield running


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vDU-like chart: `helm create`'s Deployment, image tag and replica count set through values."""
    work = tmp_path_factory.mktemp("chart")
    helm = [str(PROJECT_HELM)]
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    subprocess.run([*helm, "create", "vdu"], cwd=work, check=True, capture_output=True, env=env)
    subprocess.run([*helm, "package", "vdu", "--version", "1.0.0", "--app-version", "2.1.0"], cwd=work, check=True,
                   capture_output=True, env=env)
    return work / "vdu-1.0.0.tgz"


@pytest.fixture(scope="module")
def adapter(sim: KubeSim) -> HelmDeploymentAdapter:
    return HelmDeploymentAdapter(AdapterConfig(id="helm-local", type="helm",
                                               options={"kubeconfig": str(sim.kubeconfig_path)}))


def spec(chart: Path, name: str, values: dict[str, Any], timeout: int = TIMEOUT) -> ReleaseSpec:
    return ReleaseSpec(name=name, namespace=f"{name}-ns", chart_path=str(chart), values=values,
                       timeout_seconds=timeout, owner=OWNER)


def test_vdu_lifecycle_install_scale_failed_upgrade_rollback_logs_uninstall(
        adapter: HelmDeploymentAdapter, chart: Path) -> None:
    name, namespace = "vdu-life", "vdu-life-ns"
    status = adapter.install(spec(chart, name, {"replicaCount": 3, "image": {"tag": "1.27"}}))
    assert (status.status, status.revision, status.chart_name, status.chart_version, status.app_version) == (
        "deployed", 1, "vdu", "1.0.0", "2.1.0")
    assert [(w.kind, w.desired, w.ready, w.available) for w in status.workloads] == [("Deployment", 3, 3, 3)]
    assert [(p.phase, p.ready) for p in status.pods] == [("Running", True)] * 3
    assert status.ready

    scaled = adapter.scale(name, namespace, 5, TIMEOUT, owner=OWNER)
    assert (scaled.revision, scaled.workloads[0].desired, scaled.workloads[0].ready) == (2, 5, 5)

    started = time.monotonic()
    with pytest.raises(DeploymentFailed, match="deadline exceeded") as caught:
        adapter.upgrade(spec(chart, name, {"replicaCount": 5, "image": {"tag": "fail"}}, timeout=3))
    assert "pods not ready" in caught.value.detail and "CrashLoopBackOff (3 restarts)" in caught.value.detail
    assert time.monotonic() - started < 20
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.revision, failed.ready) == ("failed", 3, False)  # no automatic rollback
    assert "CrashLoopBackOff" in {p.reason for p in failed.pods}

    rolled = adapter.rollback(name, namespace, None, TIMEOUT, owner=OWNER)
    assert (rolled.status, rolled.revision, rolled.workloads[0].ready) == ("deployed", 4, 5)
    assert {p.reason for p in rolled.pods} == {None}
    history = adapter.history(name, namespace)
    assert [(r.revision, r.status) for r in history] == [
        (1, "superseded"), (2, "superseded"), (3, "failed"), (4, "deployed")]
    assert history[3].description == "Rollback to 2" and history[0].chart == "vdu-1.0.0"

    logs = adapter.logs(name, namespace, tail_lines=1)
    assert len(logs) == 5 and all(entry.container == "vdu" and len(entry.lines) == 1 for entry in logs)
    assert adapter.logs(name, namespace, container="no-such-container") == []

    adapter.uninstall(name, namespace, TIMEOUT, owner=OWNER)
    with pytest.raises(NotFound):
        adapter.status(name, namespace)
    adapter.uninstall(name, namespace, TIMEOUT, owner=OWNER)  # idempotent: a retried delete succeeds


def test_scale_keeps_the_other_values(adapter: HelmDeploymentAdapter, chart: Path) -> None:
    name = "vdu-scale"
    adapter.install(spec(chart, name, {"replicaCount": 1, "podLabels": {"site": "edge-7"}}))
    scaled = adapter.scale(name, f"{name}-ns", 2, owner=OWNER)
    assert scaled.workloads[0].ready == 2
    pods = adapter.cluster.core().list_namespaced_pod(f"{name}-ns", label_selector="site=edge-7").items
    assert len(pods) == 2
    adapter.uninstall(name, f"{name}-ns", owner=OWNER)


def test_a_retried_install_is_its_own_and_another_deployment_cannot_take_the_release(
        adapter: HelmDeploymentAdapter, chart: Path) -> None:
    """A worker redelivered after it installed (but before it recorded anything) finds its own marker and converges;
    another deployment naming the same release is refused every operation, the release unchanged."""
    name, namespace = "vdu-retry", "vdu-retry-ns"
    adapter.install(spec(chart, name, {"replicaCount": 1}))
    again = adapter.install(spec(chart, name, {"replicaCount": 1}))
    assert (again.revision, again.status, again.owner) == (2, "deployed", OWNER)
    labels = [item.metadata.labels for item in adapter.cluster.core().list_namespaced_secret(
        namespace, label_selector=f"owner=helm,name={name}").items]
    assert [(entry["netweave.io/deployment-id"], entry["app.kubernetes.io/managed-by"]) for entry in labels] == \
        [(OWNER, "netweave")] * 2

    other = "5e7d9a1c-2b3f-4c6d-8e9f-0a1b2c3d4e5f"
    attempts: list[Callable[[], object]] = [
        lambda: adapter.install(replace(spec(chart, name, {"replicaCount": 4}), owner=other)),
        lambda: adapter.upgrade(replace(spec(chart, name, {"replicaCount": 4}), owner=other)),
        lambda: adapter.scale(name, namespace, 4, owner=other),
        lambda: adapter.rollback(name, namespace, 1, owner=other),
        lambda: adapter.uninstall(name, namespace, owner=other)]
    for attempt in attempts:
        with pytest.raises(NotOwned, match="belongs to another netweave deployment") as refused:
            attempt()
        assert refused.value.status == 409 and other in refused.value.detail and OWNER not in refused.value.detail
    kept = adapter.status(name, namespace)
    assert (kept.revision, kept.workloads[0].desired, kept.owner) == (2, 1, OWNER)
    adapter.uninstall(name, namespace, owner=OWNER)


def test_unknown_release_is_not_found(adapter: HelmDeploymentAdapter, chart: Path) -> None:
    calls: list[Callable[[], object]] = [
        lambda: adapter.status("ghost", "default"), lambda: adapter.history("ghost", "default"),
        lambda: adapter.rollback("ghost", "default", owner=OWNER),
        lambda: adapter.scale("ghost", "default", 2, owner=OWNER),
        lambda: adapter.logs("ghost", "default"), lambda: adapter.upgrade(spec(chart, "ghost", {}))]
    for call in calls:
        with pytest.raises(NotFound):
            call()


def test_invalid_chart_is_a_deployment_failure(adapter: HelmDeploymentAdapter, tmp_path: Path) -> None:
    broken = tmp_path / "broken-1.0.0.tgz"
    broken.write_bytes(b"not a gzip archive")
    with pytest.raises(DeploymentFailed) as caught:
        adapter.install(ReleaseSpec("broken", "broken-ns", str(broken), {}, 10, owner=OWNER))
    assert caught.value.status == 422 and caught.value.detail


def test_unreachable_cluster_is_backend_unavailable_quickly(sim: KubeSim, chart: Path, tmp_path: Path) -> None:
    kubeconfig = yaml.safe_load(Path(str(sim.kubeconfig_path)).read_text())
    kubeconfig["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:1"
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    offline = HelmDeploymentAdapter(AdapterConfig(id="offline", type="helm",
                                                  options={"kubeconfig": str(tmp_path / "kubeconfig")}))
    started = time.monotonic()
    calls: list[Callable[[], object]] = [lambda: offline.status("vdu", "default"),
                                         lambda: offline.install(spec(chart, "vdu-off", {}))]
    for call in calls:
        with pytest.raises(BackendUnavailable, match="offline"):
            call()
    assert time.monotonic() - started < 5


def test_a_bug_in_netweave_s_own_code_stays_that_bug(adapter: HelmDeploymentAdapter,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a BackendUnavailable, which would mark every deployment of the backend unreachable and be retried."""
    def broken(*_: Any) -> Any:
        raise TypeError("a bug in the selector")

    monkeypatch.setattr(adapter, "_metadata", lambda name, namespace: {"revision": 1})  # as if helm knew it
    monkeypatch.setattr(cluster, "_selector", broken)  # runs inside the adapter's cluster-error mapping
    for call in (lambda: adapter.status("vdu", "default"), lambda: adapter.logs("vdu", "default")):
        with pytest.raises(TypeError, match="a bug in the selector"):
            call()


def test_registry_builds_the_helm_adapter_and_importing_it_stays_cheap() -> None:
    gateway = GatewayConfig.model_validate({"dmsAdapters": [{"id": "helm-a", "type": "helm", "options": {}}]})
    registry: DeploymentRegistry = AdapterRegistry("dms", gateway.dms_adapters, DMS_ADAPTER_TYPES)
    adapter = registry.get()
    assert isinstance(adapter, HelmDeploymentAdapter)
    assert {Capability.DEPLOY, Capability.SCALE, Capability.ROLLBACK, Capability.LOGS} <= adapter.capabilities
    check = ("import sys, chalicelib.adapters.dms.helm; "
             "heavy = [m for m in ('pyhelm3', 'kubernetes') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", check], cwd=PROJECT_DIR, check=True, capture_output=True)
