"""The `argocd` DMS adapter against kubesim's simulated ArgoCD: Applications written, synced, rolled back, deleted."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters.dms import argocd_mapping as mapping
from chalicelib.adapters.dms.argocd import ArgoCDDeploymentAdapter
from chalicelib.adapters.dms.port import BackendRefused, ChartSource, DeploymentFailed, ReleaseSpec
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, ConfigurationError, NotFound
from chalicelib.domain.ownership import NotOwned
from chalicelib.settings import AdapterConfig
from devtools.kubesim import KubeSim, start_kubesim
from devtools.kubesim.controllers.gitops import GitOps
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import quick_gitops

pytestmark = pytest.mark.xdist_group("argocd-adapter")
OWNER = "0b9f3c2a-5d6e-4f70-8a1b-2c3d4e5f6a7b"  # the deployment these releases belong to
TIMEOUT = 15
FAILING_TIMEOUT = 3  # crash-looping pods keep an Application Progressing: the wait gives up after this


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    with quick_gitops(), start_kubesim(port=0, kubeconfig_path=tmp_path_factory.mktemp("kubesim") / "kubeconfig"
                                       ) as running:
        yield running


def make_adapter(sim: KubeSim, **options: Any) -> ArgoCDDeploymentAdapter:
    return ArgoCDDeploymentAdapter(AdapterConfig(id="argocd-local", type="argocd", options={
        "kubeconfig": str(sim.kubeconfig_path), "pollIntervalSeconds": 0.02, **options}))


@pytest.fixture(scope="module")
def adapter(sim: KubeSim) -> ArgoCDDeploymentAdapter:
    return make_adapter(sim)


@pytest.fixture(scope="module")
def manual(sim: KubeSim) -> ArgoCDDeploymentAdapter:
    return make_adapter(sim, automatedSync=False)


@pytest.fixture(scope="module", autouse=True)
def repositories(chart_repository: str, git_chart_repository: str) -> Iterator[None]:
    """`spec` points at the real chart repositories served for this worker."""
    REPOSITORIES.update(helm=chart_repository, git=git_chart_repository)
    yield
    REPOSITORIES.clear()


REPOSITORIES: dict[str, str] = {}


def spec(name: str, version: str, values: dict[str, Any] | None = None, *, git: bool = False,
         timeout: int = TIMEOUT) -> ReleaseSpec:
    source = ChartSource("git", REPOSITORIES["git"], version, path="charts/du") if git else \
        ChartSource("helm-repo", REPOSITORIES["helm"], version, chart="du")
    return ReleaseSpec(name=name, namespace=f"{name}-ns", chart_path="", values=values or {},
                       timeout_seconds=timeout, source=source, owner=OWNER)


def application(adapter: ArgoCDDeploymentAdapter, name: str) -> dict[str, Any]:
    """The Application of the release `name` (`spec` puts it into namespace `<name>-ns`)."""
    found = adapter._find(f"{name}-ns.{name}")
    assert found is not None
    return found


def test_lifecycle_with_automated_sync(adapter: ArgoCDDeploymentAdapter) -> None:
    name, namespace = "du-auto", "du-auto-ns"
    status = adapter.install(spec(name, "1.0.0", {"image": {"tag": "1.25"}}))
    assert (status.name, status.namespace, status.revision, status.status, status.chart_name,
            status.chart_version, status.app_version) == (name, namespace, 1, "deployed", "du", "1.0.0", None)
    assert status.details == {"argocd": {"project": "default", "syncStatus": "Synced", "healthStatus": "Healthy",
                                         "revision": "1.0.0"}}
    assert status.updated_at and [(w.kind, w.desired, w.ready) for w in status.workloads] == [("Deployment", 1, 1)]
    assert [(p.phase, p.ready) for p in status.pods] == [("Running", True)] and status.ready
    app = application(adapter, name)
    assert app["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netweave"
    assert app["metadata"]["annotations"]["netweave.io/target-namespace"] == namespace
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app["spec"]["source"] == {"repoURL": REPOSITORIES["helm"], "chart": "du", "targetRevision": "1.0.0",
                                     "helm": {"releaseName": name, "valuesObject": {"image": {"tag": "1.25"}}}}
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": namespace}
    assert app["spec"]["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True},
                                         "syncOptions": ["CreateNamespace=true"]}

    again = adapter.install(spec(name, "1.0.0", {"image": {"tag": "1.25"}}))  # idempotent
    assert (again.revision, again.status) == (1, "deployed")

    upgraded = adapter.upgrade(spec(name, "1.1.0", {"image": {"tag": "1.25"}}))
    assert (upgraded.revision, upgraded.status, upgraded.chart_version) == (2, "deployed", "1.1.0")
    assert upgraded.details["argocd"]["revision"] == "1.1.0"

    scaled = adapter.scale(name, namespace, 4, owner=OWNER)
    assert (scaled.revision, scaled.status) == (3, "deployed")
    assert [(w.desired, w.ready) for w in scaled.workloads] == [(4, 4)]
    values = application(adapter, name)["spec"]["source"]["helm"]["valuesObject"]
    assert values == {"image": {"tag": "1.25"}, "replicaCount": 4}

    # The sync applies, the new pods crash: ArgoCD keeps the Application Progressing, the wait gives up.
    with pytest.raises(DeploymentFailed, match="not healthy after 3 s") as caught:
        adapter.upgrade(spec(name, "1.2.0", {"image": {"tag": "fail"}}, timeout=FAILING_TIMEOUT))
    assert caught.value.status == 422 and "CrashLoopBackOff" in caught.value.detail
    assert f"pods not ready: {name}-" in caught.value.detail
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.revision, failed.ready) == ("pending-upgrade", 4, False)
    assert failed.details["argocd"]["healthStatus"] == "Progressing"

    with pytest.raises(BackendRefused, match="automated sync is on") as refused:
        adapter.rollback(name, namespace, 1, owner=OWNER)
    assert refused.value.status == 409
    assert adapter.status(name, namespace).revision == 4  # nothing changed

    history = adapter.history(name, namespace)
    assert [(r.revision, r.status, r.chart) for r in history] == [
        (1, "superseded", "du-1.0.0"), (2, "superseded", "du-1.1.0"), (3, "superseded", "du-1.1.0"),
        (4, "pending-upgrade", "du-1.2.0")]
    assert all(r.updated_at for r in history)

    recovered = adapter.upgrade(spec(name, "1.2.0", {"image": {"tag": "1.26"}}))
    assert (recovered.revision, recovered.status, recovered.ready) == (5, "deployed", True)

    adapter.uninstall(name, namespace, owner=OWNER)
    assert adapter._find(f"{namespace}.{name}") is None
    assert adapter.cluster.apps().list_namespaced_deployment(namespace).items == []  # the finalizer removed it
    with pytest.raises(NotFound):
        adapter.status(name, namespace)
    adapter.uninstall(name, namespace, owner=OWNER)  # idempotent: a retried delete succeeds


def test_manual_sync_install_upgrade_and_rollback_from_git(manual: ArgoCDDeploymentAdapter) -> None:
    name, namespace = "cu-manual", "cu-manual-ns"
    status = manual.install(spec(name, "2.0.0", {"replicaCount": 1}, git=True))
    assert (status.revision, status.status, status.chart_name, status.chart_version) == (
        1, "deployed", "charts/du", "2.0.0")
    app = application(manual, name)
    assert "automated" not in app["spec"]["syncPolicy"] and "operation" not in app
    assert app["spec"]["source"]["path"] == "charts/du"
    deployment = manual.cluster.apps().read_namespaced_deployment(f"{name}-du", namespace)
    assert deployment.metadata.labels["helm.sh/chart"] == "du-2.0.0"  # the chart at the Git tag

    assert manual.upgrade(spec(name, "2.1.0", {"replicaCount": 1}, git=True)).revision == 2
    assert manual.scale(name, namespace, 3, owner=OWNER).revision == 3

    rolled = manual.rollback(name, namespace, 1, owner=OWNER)
    assert (rolled.revision, rolled.status, rolled.chart_version) == (4, "deployed", "2.0.0")
    app = application(manual, name)
    assert app["status"]["history"][-1]["source"] == app["status"]["history"][0]["source"]
    # The rolled-back source is the desired one now: Synced, and a later scale starts from it.
    assert (app["spec"]["source"]["targetRevision"], app["status"]["sync"]["status"]) == ("2.0.0", "Synced")
    deployment = manual.cluster.apps().read_namespaced_deployment(f"{name}-du", namespace)
    assert (deployment.metadata.labels["helm.sh/chart"], deployment.spec.replicas) == ("du-2.0.0", 1)

    previous = manual.rollback(name, namespace, owner=OWNER)  # None: the revision before the current one
    assert (previous.revision, previous.status, previous.chart_version) == (5, "deployed", "2.1.0")
    assert application(manual, name)["status"]["history"][-1]["source"]["helm"]["valuesObject"] == {
        "replicaCount": 3}
    assert manual.scale(name, namespace, 2, owner=OWNER).chart_version == "2.1.0"

    with pytest.raises(DeploymentFailed, match="no revision 42"):
        manual.rollback(name, namespace, 42, owner=OWNER)
    manual.uninstall(name, namespace, owner=OWNER)
    with pytest.raises(NotFound):
        manual.history(name, namespace)


def test_a_rollout_past_its_progress_deadline_is_degraded_and_fails_at_once(
        adapter: ArgoCDDeploymentAdapter) -> None:
    name, namespace = "du-deadline", "du-deadline-ns"
    adapter.install(spec(name, "1.0.0"))
    started = time.monotonic()
    with pytest.raises(DeploymentFailed, match=f'Deployment/{name}: Deployment "{name}" exceeded its progress '
                                               "deadline") as caught:
        adapter.upgrade(spec(name, "1.1.0", {"image": {"tag": "fail"}, "progressDeadlineSeconds": 2}))
    assert time.monotonic() - started < TIMEOUT  # ArgoCD's verdict, not the adapter's timeout
    assert "CrashLoopBackOff" in caught.value.detail
    failed = adapter.status(name, namespace)
    assert (failed.status, failed.ready, failed.details["argocd"]["healthStatus"]) == ("failed", False, "Degraded")
    assert [(r.revision, r.status) for r in adapter.history(name, namespace)] == [(1, "superseded"), (2, "failed")]
    adapter.uninstall(name, namespace, owner=OWNER)


def test_a_chart_argocd_cannot_fetch_fails_with_its_message(adapter: ArgoCDDeploymentAdapter) -> None:
    name = "du-broken"
    with pytest.raises(DeploymentFailed, match=r"ComparisonError: helm template failed.*9\.9\.9"):
        adapter.install(spec(name, "9.9.9"))
    status = adapter.status(name, f"{name}-ns")
    assert (status.status, status.revision, status.details["argocd"]["syncStatus"]) == ("failed", 0, "OutOfSync")
    assert adapter.history(name, f"{name}-ns") == []
    adapter.uninstall(name, f"{name}-ns", owner=OWNER)


@pytest.mark.parametrize("automated", [True, False], ids=["automated-sync", "manual-sync"])
def test_a_destination_argocd_does_not_know_fails_at_once_with_its_message(sim: KubeSim, automated: bool) -> None:
    """ArgoCD accepts the Application but will never sync it (InvalidSpecError): the deployment fails with ArgoCD's
    words at once instead of waiting out its timeout, and reads as failed afterwards."""
    server = "https://edge-unregistered.example:6443"
    adapter = make_adapter(sim, destinationServer=server, automatedSync=automated)
    name = f"du-nowhere-{'auto' if automated else 'manual'}"
    started = time.monotonic()
    with pytest.raises(DeploymentFailed, match=f"ArgoCD Application {name}-ns.{name}: cluster '{server}' has not "
                                               "been configured"):
        adapter.install(spec(name, "1.0.0"))
    assert time.monotonic() - started < TIMEOUT / 3  # ArgoCD's verdict, not the adapter's timeout
    status = adapter.status(name, f"{name}-ns")
    assert (status.status, status.ready, status.revision) == ("failed", False, 0)
    assert (status.details["argocd"]["syncStatus"], status.details["argocd"]["healthStatus"]) == ("Unknown", "Unknown")
    adapter.uninstall(name, f"{name}-ns", owner=OWNER)


def test_timeout_is_a_deployment_failure(adapter: ArgoCDDeploymentAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GitOps, "SYNC_DELAY", 5.0)
    started = time.monotonic()
    with pytest.raises(DeploymentFailed, match="not healthy after 1 s"):
        adapter.install(spec("du-slow", "1.0.0", timeout=1))
    assert time.monotonic() - started < 3
    assert adapter.status("du-slow", "du-slow-ns").status == "pending-install"
    monkeypatch.setattr(GitOps, "SYNC_DELAY", 0.05)
    adapter.uninstall("du-slow", "du-slow-ns", owner=OWNER)


def test_workloads_pods_and_logs_come_from_the_destination_namespace(adapter: ArgoCDDeploymentAdapter) -> None:
    name, namespace = "du-pods", "du-pods-ns"
    status = adapter.install(spec(name, "1.0.0", {"replicaCount": 2}))
    assert [(w.kind, w.name, w.desired, w.ready) for w in status.workloads] == [("Deployment", name, 2, 2)]
    assert len(status.pods) == 2 and status.ready
    logs = adapter.logs(name, namespace, tail_lines=1)
    assert len(logs) == 2 and all(entry.container == "du" and len(entry.lines) == 1 for entry in logs)
    assert adapter.logs(name, namespace, container="other") == []
    adapter.uninstall(name, namespace, owner=OWNER)


def test_not_found_and_refusals(adapter: ArgoCDDeploymentAdapter, manual: ArgoCDDeploymentAdapter) -> None:
    calls: list[Callable[[], object]] = [
        lambda: adapter.status("ghost", "default"), lambda: adapter.history("ghost", "default"),
        lambda: manual.rollback("ghost", "default", owner=OWNER),
        lambda: adapter.scale("ghost", "default", 2, owner=OWNER),
        lambda: adapter.logs("ghost", "default"), lambda: adapter.upgrade(spec("ghost", "1.0.0"))]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    adapter.uninstall("ghost", "default", owner=OWNER)  # already gone = done

    with pytest.raises(DeploymentFailed, match="ArgoCD deploys helm-repo or git packages"):
        adapter.install(ReleaseSpec("archive", "archive-ns", "/tmp/du-1.0.0.tgz", {}, owner=OWNER))
    adapter.install(spec("du-twice", "1.0.0"))
    with pytest.raises(NotFound):
        adapter.status("du-twice", "elsewhere")  # same name, other namespace: not this deployment


def test_one_release_name_in_two_namespaces_is_two_applications(adapter: ArgoCDDeploymentAdapter) -> None:
    first = adapter.install(ReleaseSpec("du-site", "site-1", "", {"replicaCount": 1}, TIMEOUT,
                                        spec("x", "1.0.0").source, owner=OWNER))
    second = adapter.install(ReleaseSpec("du-site", "site-2", "", {"replicaCount": 2}, TIMEOUT,
                                         spec("x", "1.1.0").source, owner=OWNER))
    assert (first.namespace, first.chart_version, [w.ready for w in first.workloads]) == ("site-1", "1.0.0", [1])
    assert (second.namespace, second.chart_version, [w.ready for w in second.workloads]) == ("site-2", "1.1.0", [2])
    assert adapter._find("site-1.du-site") and adapter._find("site-2.du-site")
    adapter.uninstall("du-site", "site-1", owner=OWNER)
    assert adapter.status("du-site", "site-2").ready  # the other site's release is untouched
    adapter.uninstall("du-site", "site-2", owner=OWNER)


def test_an_application_named_like_its_release_is_still_found(adapter: ArgoCDDeploymentAdapter) -> None:
    """Applications written before names carried the namespace: found, operated on, deleted."""
    source = spec("du-old", "1.0.0").source
    assert source is not None
    body = mapping.application("du-old", "du-old-ns", mapping.argocd_source(source, "du-old", {}), adapter.settings,
                               OWNER)
    body["metadata"]["namespace"] = "argocd"
    adapter.cluster.custom().create_namespaced_custom_object(mapping.GROUP, mapping.VERSION, "argocd",
                                                             mapping.PLURAL, body)
    scaled = adapter.scale("du-old", "du-old-ns", 2, owner=OWNER)
    assert scaled.ready and [w.desired for w in scaled.workloads] == [2]
    assert adapter._find("du-old-ns.du-old") is None  # no second Application was made
    adapter.uninstall("du-old", "du-old-ns", owner=OWNER)
    assert adapter._find("du-old") is None


def test_options_are_validated(sim: KubeSim) -> None:
    with pytest.raises(ConfigurationError, match="unknownOption"):
        make_adapter(sim, unknownOption=True)
    adapter = make_adapter(sim, project="ran", destinationServer="https://edge-7:6443", prune=False)
    assert adapter.capabilities == frozenset({Capability.DEPLOY, Capability.UPGRADE, Capability.SCALE,
                                              Capability.ROLLBACK, Capability.STATUS, Capability.LOGS})
    # The edge cluster registered with ArgoCD, as an operator does (`argocd cluster add` writes this Secret).
    adapter.cluster.core().create_namespaced_secret("argocd", {
        "metadata": {"name": "edge-7", "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": "edge-7", "server": "https://edge-7:6443", "config": "{}"}})
    try:
        status = adapter.install(spec("du-options", "1.0.0"))
        assert status.details["argocd"]["project"] == "ran" and status.status == "deployed"
        app = application(adapter, "du-options")
        assert app["spec"]["destination"]["server"] == "https://edge-7:6443"
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": True}
        adapter.uninstall("du-options", "du-options-ns", owner=OWNER)
    finally:
        adapter.cluster.core().delete_namespaced_secret("edge-7", "argocd")


def test_unreachable_cluster_is_backend_unavailable_quickly(sim: KubeSim, tmp_path: Path) -> None:
    kubeconfig = yaml.safe_load(Path(str(sim.kubeconfig_path)).read_text())
    kubeconfig["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:1"
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    offline = ArgoCDDeploymentAdapter(AdapterConfig(id="offline", type="argocd",
                                                    options={"kubeconfig": str(tmp_path / "kubeconfig")}))
    started = time.monotonic()
    calls: list[Callable[[], object]] = [lambda: offline.status("du", "default"),
                                         lambda: offline.install(spec("du-off", "1.0.0")),
                                         lambda: offline.uninstall("du", "default", owner=OWNER)]
    for call in calls:
        with pytest.raises(BackendUnavailable, match="offline"):
            call()
    assert time.monotonic() - started < 5
    missing = ArgoCDDeploymentAdapter(AdapterConfig(id="offline", type="argocd",
                                                    options={"kubeconfig": str(tmp_path / "nope")}))
    with pytest.raises(BackendUnavailable, match="credentials"):
        missing.status("du", "default")


def test_importing_the_adapter_stays_cheap() -> None:
    check = ("import sys, chalicelib.adapters.dms.argocd; "
             "assert 'kubernetes' not in sys.modules")
    subprocess.run([sys.executable, "-c", check], cwd=PROJECT_DIR, check=True, capture_output=True)


def test_a_bug_in_netweave_s_own_code_stays_that_bug(adapter: ArgoCDDeploymentAdapter,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a BackendUnavailable, which would mark every deployment of the backend unreachable and be retried, nor
    dropped as a best-effort detail."""
    name = "du-bug"

    def broken(*_: Any) -> Any:
        raise TypeError("a bug in the mapping")

    monkeypatch.setattr(mapping, "instance_labels", broken)
    with pytest.raises(TypeError, match="a bug in the mapping"):
        adapter.install(spec(name, "9.9.9"))  # its sync fails; naming the waiting pods runs the mapping
    with pytest.raises(TypeError, match="a bug in the mapping"):
        adapter.status(name, f"{name}-ns")  # the workloads and pods read runs it too
    monkeypatch.undo()
    adapter.uninstall(name, f"{name}-ns", owner=OWNER)


def test_a_cluster_that_stopped_is_backend_unavailable(tmp_path: Path) -> None:
    with start_kubesim(port=0, kubeconfig_path=tmp_path / "kubeconfig") as stopping:
        adapter = ArgoCDDeploymentAdapter(AdapterConfig(id="stopped", type="argocd", options={
            "kubeconfig": str(stopping.kubeconfig_path), "requestTimeoutSeconds": 2}))
        with pytest.raises(NotFound):
            adapter.status("du", "default")  # connected: its connections are pooled now
    calls: list[Callable[[], object]] = [lambda: adapter.status("du", "default"),
                                         lambda: adapter.install(spec("du-stopped", "1.0.0")),
                                         lambda: adapter.uninstall("du", "default", owner=OWNER)]
    for call in calls:
        with pytest.raises(BackendUnavailable, match="stopped"):
            call()


def test_an_operator_application_is_never_adopted_changed_or_deleted(adapter: ArgoCDDeploymentAdapter,
                                                                     manual: ArgoCDDeploymentAdapter) -> None:
    """An Application the operator made for release `ops` in `ops-ns`: netweave would otherwise add its cascade-delete
    finalizer, rewrite the source and later delete what it deployed."""
    custom = adapter.cluster.custom()
    theirs = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
              "metadata": {"name": "ops-ns.ops", "labels": {"team": "ran"}},
              "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc",
                                                              "namespace": "ops-ns"},
                       "source": {"repoURL": "https://charts.operator.example", "chart": "du",
                                  "targetRevision": "9.9.9"}}}
    custom.create_namespaced_custom_object(mapping.GROUP, mapping.VERSION, "argocd", mapping.PLURAL, theirs)
    attempts: list[Callable[[], object]] = [
        lambda: adapter.install(spec("ops", "1.0.0")), lambda: adapter.upgrade(spec("ops", "1.0.0")),
        lambda: adapter.scale("ops", "ops-ns", 3, owner=OWNER), lambda: manual.rollback("ops", "ops-ns", owner=OWNER),
        lambda: adapter.uninstall("ops", "ops-ns", owner=OWNER)]
    for attempt in attempts:
        with pytest.raises(NotOwned, match=r"ArgoCD Application 'ops-ns\.ops' in namespace 'argocd' was not created"):
            attempt()
    kept = application(adapter, "ops")
    assert kept["spec"] == theirs["spec"] and kept["metadata"]["labels"] == {"team": "ran"}
    assert not kept["metadata"].get("finalizers") and not kept["metadata"].get("deletionTimestamp")
    assert "operation" not in kept
