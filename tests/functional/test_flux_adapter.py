"""The `flux` DMS adapter against kubesim's simulated Flux, which installs with the real helm: install, upgrade,
scale, history from helm's revisions, crash-looping workloads, OCI and Git sources, uninstall, errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters.dms import flux_mapping
from chalicelib.adapters.dms.flux import FluxDeploymentAdapter
from chalicelib.adapters.dms.port import ChartSource, DeploymentFailed, ReleaseSpec
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, CapabilityNotSupported, ConfigurationError, NotFound
from chalicelib.domain.ownership import NotOwned
from chalicelib.settings import AdapterConfig
from devtools.chart_repo import helm_binary
from devtools.kubesim import KubeSim, start_kubesim
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import quick_gitops

pytestmark = [pytest.mark.xdist_group("flux-adapter")]
OWNER = "0b9f3c2a-5d6e-4f70-8a1b-2c3d4e5f6a7b"  # the deployment these releases belong to
TIMEOUT = 20
FAIL_TIMEOUT = 3  # the HelmRelease's timeout: how long helm waits for crash-looping pods
UNUSED_REPO = "http://127.0.0.1:9/unused"  # for calls that fail before anything is fetched
OFFLINE_OCI = "oci://127.0.0.1:9/charts"  # kubesim serves no OCI registry


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    with quick_gitops(sync=0.1), start_kubesim(
            port=0, kubeconfig_path=tmp_path_factory.mktemp("kubesim") / "kubeconfig") as running:
        yield running


@pytest.fixture(scope="module")
def adapter(sim: KubeSim) -> FluxDeploymentAdapter:
    return FluxDeploymentAdapter(AdapterConfig(id="flux-local", type="flux", options={
        "kubeconfig": str(sim.kubeconfig_path), "pollIntervalSeconds": 0.05}))


@pytest.fixture(scope="module")
def apps(adapter: FluxDeploymentAdapter) -> Any:
    return adapter.cluster.apps()


def spec(name: str, version: str = "1.0.0", values: dict[str, Any] | None = None, repo: str = UNUSED_REPO,
         chart: str = "du", timeout: int = TIMEOUT) -> ReleaseSpec:
    return ReleaseSpec(name=name, namespace=f"{name}-ns", chart_path="", values=values or {},
                       timeout_seconds=timeout, source=ChartSource("helm-repo", repo, version, chart=chart),
                       owner=OWNER)


def git_spec(name: str, version: str, repo: str, path: str = "charts/du",
             values: dict[str, Any] | None = None) -> ReleaseSpec:
    return ReleaseSpec(name=name, namespace=f"{name}-ns", chart_path="", values=values or {},
                       timeout_seconds=TIMEOUT, source=ChartSource("git", repo, version, path=path), owner=OWNER)


def sources(adapter: FluxDeploymentAdapter, plural: str) -> list[dict[str, Any]]:
    version = "v1beta2" if plural == "ocirepositories" else "v1"
    items: list[dict[str, Any]] = adapter.cluster.custom().list_namespaced_custom_object(
        "source.toolkit.fluxcd.io", version, "flux-system", plural)["items"]
    return items


def helm_history(sim: KubeSim, release: str, namespace: str, tmp_path: Path) -> list[tuple[int, str, str]]:
    """What the real helm reads from kubesim: the release Secrets Flux's helm wrote."""
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HELM_CACHE_HOME": str(tmp_path / "cache"),
           "HELM_CONFIG_HOME": str(tmp_path / "config"), "HELM_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([helm_binary(), "history", release, "-n", namespace, "-o", "json", "--kubeconfig",
                           str(sim.kubeconfig_path)], env=env, capture_output=True, text=True, check=True, timeout=60)
    return [(e["revision"], e["status"], e["chart"]) for e in json.loads(done.stdout)]


def test_install_upgrade_scale_history_uninstall(adapter: FluxDeploymentAdapter, sim: KubeSim,
                                                 apps: Any, chart_repository: str,
                                                 tmp_path: Path) -> None:
    name, namespace = "du-life", "du-life-ns"
    values = {"replicaCount": 2, "image": {"tag": "1.27"}}
    status = adapter.install(spec(name, values=values, repo=chart_repository))
    assert (status.status, status.revision, status.chart_name, status.chart_version) == (
        "deployed", 1, "du", "1.0.0")
    assert status.details["flux"] == {
        "ready": "True", "reason": "InstallSucceeded",
        "message": f"Helm install succeeded for release {namespace}/{name}.v1 with chart du@1.0.0",
        "lastAttemptedRevision": "1.0.0"}
    assert status.updated_at and status.ready
    # Flux's helm installed the chart: the Deployment (named after the release) runs in the namespace.
    assert [(w.kind, w.name, w.desired, w.ready) for w in status.workloads] == [("Deployment", name, 2, 2)]
    assert apps.read_namespaced_deployment(name, namespace).spec.template.spec.containers[0].image == "nginx:1.27"
    repos = [r for r in sources(adapter, "helmrepositories") if r["spec"]["url"] == chart_repository]
    assert len(repos) == 1 and repos[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netweave"
    release = adapter._get(name, namespace)
    assert release["spec"]["chart"]["spec"]["sourceRef"] == {
        "kind": "HelmRepository", "name": repos[0]["metadata"]["name"], "namespace": "flux-system"}
    assert release["spec"]["upgrade"]["remediation"]["strategy"] == "none"
    assert (release["spec"]["install"]["createNamespace"], release["spec"]["timeout"]) == (True, f"{TIMEOUT}s")

    again = adapter.install(spec(name, values=values, repo=chart_repository))  # idempotent
    assert (again.status, again.revision) == ("deployed", 1)

    upgraded = adapter.upgrade(spec(name, "1.1.0", values={"image": {"tag": "1.28"}}, repo=chart_repository))
    assert (upgraded.status, upgraded.revision, upgraded.chart_version) == ("deployed", 2, "1.1.0")
    assert adapter._get(name, namespace)["spec"]["values"] == {"image": {"tag": "1.28"}}  # replaced, not merged
    assert [(w.desired, w.ready) for w in upgraded.workloads] == [(1, 1)]  # the chart's default replicaCount
    history = adapter.history(name, namespace)
    assert [(r.revision, r.status, r.chart) for r in history] == [
        (1, "superseded", "du-1.0.0"), (2, "deployed", "du-1.1.0")]
    assert all(r.updated_at for r in history)

    scaled = adapter.scale(name, namespace, 4, owner=OWNER)
    assert (scaled.status, scaled.revision, scaled.chart_version) == ("deployed", 3, "1.1.0")
    assert adapter._get(name, namespace)["spec"]["values"] == {"image": {"tag": "1.28"}, "replicaCount": 4}
    assert [(w.desired, w.ready) for w in scaled.workloads] == [(4, 4)]
    assert helm_history(sim, name, namespace, tmp_path) == [
        (1, "superseded", "du-1.0.0"), (2, "superseded", "du-1.1.0"), (3, "deployed", "du-1.1.0")]

    logs = adapter.logs(name, namespace)
    assert len(logs) == 4 and all(entry.lines for entry in logs)  # the release's pods exist and log

    with pytest.raises(CapabilityNotSupported):
        adapter.rollback(name, namespace, 1, owner=OWNER)
    adapter.uninstall(name, namespace, owner=OWNER)
    with pytest.raises(NotFound):
        adapter.status(name, namespace)
    assert apps.list_namespaced_deployment(namespace).items == []  # Flux's helm uninstalled the release
    adapter.uninstall(name, namespace, owner=OWNER)  # idempotent
    assert [r for r in sources(adapter, "helmrepositories") if r["spec"]["url"] == chart_repository]  # shared


def test_oci_repository_source(adapter: FluxDeploymentAdapter) -> None:
    """The adapter points the HelmRelease at an OCIRepository; kubesim's helm pulls oci:// itself, and with no
    registry at the URL the release fails with helm's words."""
    name = "cu-oci"
    with pytest.raises(DeploymentFailed, match=re.escape("127.0.0.1:9/v2/charts/cu/manifests/3.0.0")):
        adapter.install(spec(name, "3.0.0", repo=OFFLINE_OCI, chart="cu"))
    oci = [r for r in sources(adapter, "ocirepositories")
           if r["spec"]["url"] == f"{OFFLINE_OCI}/cu" and r["spec"]["ref"]["tag"] == "3.0.0"]
    assert len(oci) == 1
    release = adapter._get(name, f"{name}-ns")
    assert release["spec"]["chartRef"]["kind"] == "OCIRepository" and "chart" not in release["spec"]
    failed = adapter.status(name, f"{name}-ns")
    assert (failed.status, failed.revision, failed.details["flux"]["reason"]) == ("failed", 0, "InstallFailed")
    adapter.uninstall(name, f"{name}-ns", owner=OWNER)


def test_crash_looping_pods_are_a_deployment_failure(adapter: FluxDeploymentAdapter, apps: Any,
                                                     chart_repository: str) -> None:
    name, namespace = "du-fail", "du-fail-ns"
    with pytest.raises(DeploymentFailed, match="CrashLoopBackOff") as caught:
        adapter.install(spec(name, values={"image": {"tag": "fail"}}, repo=chart_repository, timeout=FAIL_TIMEOUT))
    assert caught.value.status == 422
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.details["flux"]["reason"], failed.ready) == ("failed", "InstallFailed", False)
    assert [(w.desired, w.ready) for w in failed.workloads] == [(1, 0)]

    fixed = adapter.install(spec(name, values={"image": {"tag": "1.27"}}, repo=chart_repository))  # converges
    assert (fixed.status, fixed.revision) == ("deployed", 2)
    assert [(w.desired, w.ready) for w in fixed.workloads] == [(1, 1)]
    with pytest.raises(DeploymentFailed, match=r"context deadline exceeded.*CrashLoopBackOff"):
        adapter.upgrade(spec(name, "1.1.0", values={"image": {"tag": "fail"}}, repo=chart_repository,
                             timeout=FAIL_TIMEOUT))
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.details["flux"]["reason"]) == ("failed", "UpgradeFailed")
    assert [(r.revision, r.status) for r in adapter.history(name, namespace)] == [
        (1, "failed"), (2, "deployed"), (3, "failed")]
    adapter.uninstall(name, namespace, owner=OWNER)
    assert apps.list_namespaced_deployment(namespace).items == []


def test_install_upgrade_uninstall_from_git(adapter: FluxDeploymentAdapter, sim: KubeSim, apps: Any,
                                            git_chart_repository: str, tmp_path: Path) -> None:
    """A git package: a GitRepository at the tag, the chart at its path; the version is Chart.yaml's plus the
    commit (Flux's reconcileStrategy Revision)."""
    name, namespace = "du-git", "du-git-ns"
    assert "git" in adapter.package_types
    status = adapter.install(git_spec(name, "2.0.0", git_chart_repository, values={"replicaCount": 2}))
    assert (status.status, status.revision, status.chart_name) == ("deployed", 1, "du")
    assert re.fullmatch(r"2\.0\.0\+[0-9a-f]{12}", status.chart_version), status.chart_version
    assert status.ready and [(w.kind, w.name, w.desired, w.ready) for w in status.workloads] == [
        ("Deployment", name, 2, 2)]
    assert apps.read_namespaced_deployment(name, namespace).status.ready_replicas == 2
    repos = [r for r in sources(adapter, "gitrepositories") if r["spec"]["url"] == git_chart_repository]
    assert [r["spec"]["ref"] for r in repos] == [{"tag": "2.0.0"}]
    assert repos[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netweave"
    release = adapter._get(name, namespace)
    assert release["spec"]["chart"]["spec"] == {
        "chart": "charts/du", "reconcileStrategy": "Revision",
        "sourceRef": {"kind": "GitRepository", "name": repos[0]["metadata"]["name"], "namespace": "flux-system"}}

    upgraded = adapter.upgrade(git_spec(name, "2.1.0", git_chart_repository, values={"replicaCount": 1}))
    assert (upgraded.status, upgraded.revision) == ("deployed", 2)
    assert upgraded.chart_version.startswith("2.1.0+") and upgraded.chart_version != status.chart_version
    assert [(w.desired, w.ready) for w in upgraded.workloads] == [(1, 1)]
    assert {r["spec"]["ref"]["tag"] for r in sources(adapter, "gitrepositories")
            if r["spec"]["url"] == git_chart_repository} == {"2.0.0", "2.1.0"}
    history = adapter.history(name, namespace)
    assert [(r.revision, r.status, r.chart) for r in history] == [
        (1, "superseded", f"du-{status.chart_version}"), (2, "deployed", f"du-{upgraded.chart_version}")]
    assert helm_history(sim, name, namespace, tmp_path) == [
        (1, "superseded", f"du-{status.chart_version}"), (2, "deployed", f"du-{upgraded.chart_version}")]

    adapter.uninstall(name, namespace, owner=OWNER)
    with pytest.raises(NotFound):
        adapter.status(name, namespace)
    assert apps.list_namespaced_deployment(namespace).items == []


def test_git_sources_that_cannot_be_fetched_fail_with_gits_or_helms_words(adapter: FluxDeploymentAdapter,
                                                                          git_chart_repository: str) -> None:
    name, namespace = "du-git-bad", "du-git-bad-ns"
    with pytest.raises(DeploymentFailed, match=r"git clone failed: .*9\.9\.9.* not found") as caught:
        adapter.install(git_spec(name, "9.9.9", git_chart_repository))
    assert caught.value.status == 422
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.revision, failed.details["flux"]["reason"]) == ("failed", 0, "InstallFailed")
    with pytest.raises(DeploymentFailed, match='path "charts/nope" not found'):  # helm: no chart at that path
        adapter.install(git_spec(name, "2.0.0", git_chart_repository, path="charts/nope"))
    with pytest.raises(DeploymentFailed, match="git clone failed"):
        adapter.install(git_spec(name, "main", f"{UNUSED_REPO}.git"))
    adapter.uninstall(name, namespace, owner=OWNER)


def test_sources_without_a_chart_are_refused(adapter: FluxDeploymentAdapter) -> None:
    git = ReleaseSpec("du-git", "du-git-ns", "", {}, TIMEOUT,
                      ChartSource("git", "https://git.example.com/charts.git", "main"), owner=OWNER)
    with pytest.raises(DeploymentFailed, match="chart path"):
        adapter.install(git)
    with pytest.raises(DeploymentFailed):
        adapter.install(ReleaseSpec("du-none", "du-none-ns", "/tmp/du.tgz", {}, TIMEOUT, owner=OWNER))


def test_unknown_release_is_not_found(adapter: FluxDeploymentAdapter) -> None:
    calls: list[Callable[[], object]] = [
        lambda: adapter.status("ghost", "default"), lambda: adapter.history("ghost", "default"),
        lambda: adapter.scale("ghost", "default", 2, owner=OWNER), lambda: adapter.logs("ghost", "default"),
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
                                         lambda: offline.uninstall("du", "default", owner=OWNER)]
    for call in calls:
        with pytest.raises(BackendUnavailable, match="offline"):
            call()
    assert time.monotonic() - started < 5


def test_a_bug_in_netweave_s_own_code_stays_that_bug(adapter: FluxDeploymentAdapter,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a BackendUnavailable, which would mark every deployment of the backend unreachable and be retried."""
    def broken(*_: Any) -> Any:
        raise TypeError("a bug in the mapping")

    monkeypatch.setattr(flux_mapping, "helm_release", broken)  # runs inside the adapter's error mapping
    with pytest.raises(TypeError, match="a bug in the mapping"):
        adapter.install(spec("du-bug"))


def test_a_cluster_that_stopped_is_backend_unavailable(tmp_path: Path) -> None:
    with start_kubesim(port=0, kubeconfig_path=tmp_path / "kubeconfig") as stopping:
        adapter = FluxDeploymentAdapter(AdapterConfig(id="stopped", type="flux", options={
            "kubeconfig": str(stopping.kubeconfig_path), "requestTimeoutSeconds": 2}))
        with pytest.raises(NotFound):
            adapter.status("du", "default")  # connected: its connections are pooled now
    calls: list[Callable[[], object]] = [lambda: adapter.status("du", "default"),
                                         lambda: adapter.install(spec("du-stopped")),
                                         lambda: adapter.uninstall("du", "default", owner=OWNER)]
    for call in calls:
        with pytest.raises(BackendUnavailable, match="stopped"):
            call()


def test_an_operator_helmrelease_is_never_scaled_replaced_or_deleted(adapter: FluxDeploymentAdapter) -> None:
    custom = adapter.cluster.custom()
    adapter.cluster.core().create_namespace({"metadata": {"name": "ops-ns"}})
    theirs = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
              "metadata": {"name": "ops", "labels": {"team": "ran"}},
              "spec": {"interval": "10m", "values": {"replicaCount": 1},
                       "chart": {"spec": {"chart": "du", "version": "9.9.9",
                                          "sourceRef": {"kind": "HelmRepository", "name": "operators"}}}}}
    custom.create_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "ops-ns", "helmreleases", theirs)
    attempts: list[Callable[[], object]] = [
        lambda: adapter.install(spec("ops")), lambda: adapter.upgrade(spec("ops")),
        lambda: adapter.scale("ops", "ops-ns", 3, owner=OWNER), lambda: adapter.uninstall("ops", "ops-ns", owner=OWNER)]
    for attempt in attempts:
        with pytest.raises(NotOwned, match="Flux HelmRelease 'ops' in namespace 'ops-ns' was not created by netweave"):
            attempt()
    kept = custom.get_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "ops-ns", "helmreleases", "ops")
    assert kept["spec"] == theirs["spec"] and kept["metadata"]["labels"] == {"team": "ran"}
    assert not kept["metadata"].get("deletionTimestamp")
