"""kubesim's ArgoCD and Flux stand-ins through the official client's CustomObjectsApi: discovery; ArgoCD rendering a
chart from a real repository, applying it, health from the live resources, history, manual sync, prune and the
resources finalizer; Flux installing a HelmRelease's chart with the real helm (install, upgrade, crash-looping
upgrade, uninstall, charts that cannot be fetched) and source readiness."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from tests.functional.kubesim.kubesim_helpers import Run, eventually

Obj = dict[str, Any]
ARGO = ("argoproj.io", "v1alpha1")
HELM = ("helm.toolkit.fluxcd.io", "v2")
SOURCE = "source.toolkit.fluxcd.io"
FINALIZER = "resources-finalizer.argocd.argoproj.io"


@pytest.fixture(scope="module")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


def _app(repo: str, name: str, revision: str, destination: str, automated: bool = True,
         values: Obj | None = None, chart: str = "du") -> Obj:
    spec: Obj = {
        "project": "default",
        "source": {"repoURL": repo, "chart": chart, "targetRevision": revision,
                   "helm": {"valuesObject": values if values is not None else {"replicaCount": 2}}},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }
    if automated:
        spec["syncPolicy"]["automated"] = {"prune": True, "selfHeal": True}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name}, "spec": spec}


def _get_app(custom: client.CustomObjectsApi, ns: str, name: str) -> Obj:
    got: Obj = custom.get_namespaced_custom_object(*ARGO, ns, "applications", name)
    return got


def _app_state(app: Obj) -> tuple[Any, ...]:
    status = app.get("status") or {}
    return ((status.get("sync") or {}).get("status"), (status.get("health") or {}).get("status"),
            (status.get("operationState") or {}).get("phase"), (status.get("sync") or {}).get("revision"))


def _wait_app(custom: client.CustomObjectsApi, ns: str, name: str, state: tuple[Any, ...]) -> Obj:
    last: list[Obj] = []

    def check() -> bool:
        last[:] = [_get_app(custom, ns, name)]
        return _app_state(last[0]) == state

    assert eventually(check, 20), f"{name}: {_app_state(last[0])} != {state}"
    return last[0]


def _patch_app(custom: client.CustomObjectsApi, ns: str, name: str, body: Obj) -> None:
    custom.patch_namespaced_custom_object(*ARGO, ns, "applications", name, body)


def _kinds(app: Obj) -> dict[str, Any]:
    return {r["kind"]: (r.get("health") or {}).get("status") for r in app["status"].get("resources") or []}


def test_discovery_lists_gitops_groups_and_crds(custom: client.CustomObjectsApi,
                                                api_client: client.ApiClient) -> None:
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    assert {"argoproj.io", "helm.toolkit.fluxcd.io", SOURCE} <= set(groups)
    resources = client.CustomObjectsApi(api_client).get_api_resources("argoproj.io", "v1alpha1").resources
    assert {"applications", "applications/status"} <= {r.name for r in resources}
    sources = custom.get_api_resources(SOURCE, "v1beta2").resources
    assert {"ocirepositories", "ocirepositories/status"} <= {r.name for r in sources}
    assert "helmreleases/status" in {r.name for r in custom.get_api_resources(*HELM).resources}
    crds = client.ApiextensionsV1Api(api_client).list_custom_resource_definition().items
    assert {"applications.argoproj.io", "helmreleases.helm.toolkit.fluxcd.io",
            "helmrepositories.source.toolkit.fluxcd.io", "ocirepositories.source.toolkit.fluxcd.io"} <= {
        c.metadata.name for c in crds}


def test_application_deploys_the_rendered_chart_and_follows_its_health(
        custom: client.CustomObjectsApi, apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str,
        chart_repository: str) -> None:
    target = f"{namespace}-du"
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications",
                                           _app(chart_repository, "du", "1.0.0", target))
    early = _get_app(custom, namespace, "du")
    assert _app_state(early)[0] != "Synced"  # the outcome comes after a moment, not at once
    app = _wait_app(custom, namespace, "du", ("Synced", "Healthy", "Succeeded", "1.0.0"))
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(0, "1.0.0")]
    assert app["status"]["history"][0]["source"] == app["spec"]["source"]
    assert _kinds(app) == {"Deployment": "Healthy", "Service": "Healthy", "ServiceAccount": None}
    deployment = apps.read_namespaced_deployment("du", target)  # created in the destination (CreateNamespace)
    assert (deployment.spec.replicas, deployment.status.ready_replicas) == (2, 2)
    assert deployment.metadata.labels["helm.sh/chart"] == "du-1.0.0"
    assert deployment.metadata.annotations["argocd.argoproj.io/tracking-id"] == f"du:apps/Deployment:{target}/du"

    _patch_app(custom, namespace, "du", {"spec": {"source": {"targetRevision": "1.1.0"}}})
    app = _wait_app(custom, namespace, "du", ("Synced", "Healthy", "Succeeded", "1.1.0"))
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(0, "1.0.0"), (1, "1.1.0")]
    assert apps.read_namespaced_deployment("du", target).metadata.labels["helm.sh/chart"] == "du-1.1.0"

    # Pods that crash: the sync itself succeeds, the health stays Progressing (ArgoCD's Deployment check).
    _patch_app(custom, namespace, "du", {"spec": {"source": {"helm": {"valuesObject": {
        "replicaCount": 2, "image": {"tag": "fail"}}}}}})
    app = _wait_app(custom, namespace, "du", ("Synced", "Progressing", "Succeeded", "1.1.0"))
    assert len(app["status"]["history"]) == 3
    health = next(r for r in app["status"]["resources"] if r["kind"] == "Deployment")["health"]
    assert health["message"].startswith("Waiting for rollout to finish"), health
    pods = core.list_namespaced_pod(target, label_selector="app.kubernetes.io/instance=du").items
    assert eventually(lambda: any(
        (s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff")
        for p in core.list_namespaced_pod(target, label_selector="app.kubernetes.io/instance=du").items
        for s in p.status.container_statuses or []), 20), [p.status for p in pods]

    # A version the repository does not have: the sync fails with helm's words, the history is unchanged.
    _patch_app(custom, namespace, "du", {"spec": {"source": {"targetRevision": "9.9.9"}}})
    app = _wait_app(custom, namespace, "du", ("OutOfSync", "Progressing", "Failed", "9.9.9"))
    assert "9.9.9" in app["status"]["operationState"]["message"]
    assert app["status"]["conditions"][0]["type"] == "ComparisonError"
    assert len(app["status"]["history"]) == 3


def test_an_unreachable_repository_fails_the_sync(custom: client.CustomObjectsApi, namespace: str) -> None:
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications",
                                           _app("http://127.0.0.1:9", "far", "1.0.0", f"{namespace}-far"))
    app = _wait_app(custom, namespace, "far", ("OutOfSync", "Missing", "Failed", "1.0.0"))
    assert app["status"]["operationState"]["message"].startswith("ComparisonError: helm template failed")
    assert "history" not in app["status"]


def _cluster_secret(name: str, server: str) -> client.V1Secret:
    """How an operator registers a cluster with ArgoCD (what `argocd cluster add` writes)."""
    meta = client.V1ObjectMeta(name=name, labels={"argocd.argoproj.io/secret-type": "cluster"})
    return client.V1Secret(metadata=meta, string_data={"name": name, "server": server, "config": "{}"})


def test_an_application_to_an_unregistered_cluster_is_refused_until_the_cluster_is_registered(
        custom: client.CustomObjectsApi, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
        chart_repository: str) -> None:
    target, server = f"{namespace}-edge", f"https://{namespace}.edge.example:6443"
    body = _app(chart_repository, "edge", "1.0.0", target, automated=False)
    body["spec"]["destination"]["server"] = server
    body["metadata"]["finalizers"] = [FINALIZER]
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", body)  # accepted, as by ArgoCD's CRD

    # ArgoCD's application controller: an InvalidSpecError condition, sync and health Unknown, and no sync at all.
    app = _wait_app(custom, namespace, "edge", ("Unknown", "Unknown", None, None))
    [condition] = app["status"]["conditions"]
    unconfigured = f"cluster '{server}' has not been configured"
    assert (condition["type"], condition["message"]) == ("InvalidSpecError", unconfigured)
    assert condition["lastTransitionTime"]
    # A sync asked for anyway ends in Error with the same words, and deploys nothing.
    _patch_app(custom, namespace, "edge", {"operation": {"sync": {"revision": "1.0.0"},
                                                         "initiatedBy": {"username": "netweave"}}})
    app = eventually(lambda: (a := _get_app(custom, namespace, "edge")) and "operation" not in a and a, 5)
    assert app, "the requested sync was never taken up"
    assert (app["status"]["operationState"]["phase"], app["status"]["operationState"]["message"]) == (
        "Error", unconfigured)
    assert "history" not in app["status"] and "resources" not in app["status"]
    assert target not in {n.metadata.name for n in core.list_namespace().items}

    # Registering the cluster (a Secret in ArgoCD's namespace) makes the same Application valid: it syncs.
    secret = f"edge-{namespace}"
    core.create_namespaced_secret("argocd", _cluster_secret(secret, server))
    try:
        app = _wait_app(custom, namespace, "edge", ("OutOfSync", "Missing", "Error", None))
        assert "conditions" not in app["status"], app["status"]
        _patch_app(custom, namespace, "edge", {"operation": {"sync": {"revision": "1.0.0"}}})
        app = _wait_app(custom, namespace, "edge", ("Synced", "Healthy", "Succeeded", "1.0.0"))
        assert [d.metadata.name for d in apps.list_namespaced_deployment(target).items] == ["edge-du"]
    finally:
        core.delete_namespaced_secret(secret, "argocd")

    # The cluster gone again: refused again; deleting the Application still completes (its finalizer is dropped).
    app = _wait_app(custom, namespace, "edge", ("Unknown", "Unknown", "Succeeded", "1.0.0"))
    assert [c["message"] for c in app["status"]["conditions"]] == [unconfigured]
    custom.delete_namespaced_custom_object(*ARGO, namespace, "applications", "edge")
    assert eventually(lambda: "edge" not in {a["metadata"]["name"] for a in custom.list_namespaced_custom_object(
        *ARGO, namespace, "applications")["items"]}, 5)


@pytest.mark.parametrize(("destination", "message"), [
    ({"name": "edge-nowhere", "namespace": "x"},
     "unable to find destination server: there are no clusters with this name: edge-nowhere"),
    ({"name": "in-cluster", "server": "https://kubernetes.default.svc", "namespace": "x"},
     "application destination can't have both name and server defined: in-cluster https://kubernetes.default.svc"),
    ({"namespace": "x"}, "Destination server missing from app spec"),
], ids=["unknown-name", "name-and-server", "no-cluster"])
def test_an_application_without_one_known_destination_cluster_is_invalid(
        custom: client.CustomObjectsApi, namespace: str, chart_repository: str, destination: Obj,
        message: str) -> None:
    body = _app(chart_repository, "nowhere", "1.0.0", f"{namespace}-x")
    body["spec"]["destination"] = destination
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", body)
    app = _wait_app(custom, namespace, "nowhere", ("Unknown", "Unknown", None, None))
    assert [(c["type"], c["message"]) for c in app["status"]["conditions"]] == [("InvalidSpecError", message)]


def test_a_destination_may_name_the_cluster(custom: client.CustomObjectsApi, apps: client.AppsV1Api, namespace: str,
                                            chart_repository: str) -> None:
    target = f"{namespace}-named"
    body = _app(chart_repository, "named", "1.0.0", target)
    body["spec"]["destination"] = {"name": "in-cluster", "namespace": target}
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", body)
    app = _wait_app(custom, namespace, "named", ("Synced", "Healthy", "Succeeded", "1.0.0"))
    assert "conditions" not in app["status"]
    assert [d.metadata.name for d in apps.list_namespaced_deployment(target).items] == ["named-du"]


def test_manual_sync_waits_for_an_operation(custom: client.CustomObjectsApi, apps: client.AppsV1Api, namespace: str,
                                           chart_repository: str) -> None:
    target = f"{namespace}-cu"
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", _app(
        chart_repository, "cu", "2.0.0", target, automated=False, chart="cu"))
    app = eventually(lambda: (a := _get_app(custom, namespace, "cu")).get("status") and a, 5)
    assert _app_state(app)[:3] == ("OutOfSync", "Missing", None)
    assert "history" not in app["status"]

    _patch_app(custom, namespace, "cu", {"operation": {"sync": {"revision": "2.0.0"},
                                                       "initiatedBy": {"username": "netweave"}}})
    app = _wait_app(custom, namespace, "cu", ("Synced", "Healthy", "Succeeded", "2.0.0"))
    assert eventually(lambda: "operation" not in _get_app(custom, namespace, "cu"), 5)
    assert [h["id"] for h in app["status"]["history"]] == [0]

    # A rollback: sync to an earlier history entry's source without changing the spec.
    _patch_app(custom, namespace, "cu", {"spec": {"source": {"targetRevision": "2.1.0"}}})
    app = _wait_app(custom, namespace, "cu", ("OutOfSync", "Healthy", "Succeeded", "2.0.0"))  # no auto-sync
    _patch_app(custom, namespace, "cu", {"operation": {"sync": {}}})
    app = _wait_app(custom, namespace, "cu", ("Synced", "Healthy", "Succeeded", "2.1.0"))
    assert apps.read_namespaced_deployment("cu", target).metadata.labels["helm.sh/chart"] == "cu-2.1.0"
    first = app["status"]["history"][0]
    _patch_app(custom, namespace, "cu", {"operation": {"sync": {"revision": first["revision"],
                                                                "source": first["source"]}}})
    app = _wait_app(custom, namespace, "cu", ("OutOfSync", "Healthy", "Succeeded", "2.0.0"))
    assert [h["revision"] for h in app["status"]["history"]] == ["2.0.0", "2.1.0", "2.0.0"]
    assert apps.read_namespaced_deployment("cu", target).metadata.labels["helm.sh/chart"] == "cu-2.0.0"


def test_prune_follows_the_sync_policy(custom: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str,
                                       chart_repository: str) -> None:
    target = f"{namespace}-pr"
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications",
                                           _app(chart_repository, "pr", "1.0.0", target, chart="du"))
    _wait_app(custom, namespace, "pr", ("Synced", "Healthy", "Succeeded", "1.0.0"))
    assert core.read_namespaced_service_account("pr-du", target)
    _patch_app(custom, namespace, "pr", {"spec": {"source": {"helm": {"valuesObject": {
        "replicaCount": 2, "serviceAccount": {"create": False}}}}}})
    app = eventually(lambda: (a := _get_app(custom, namespace, "pr")) and len(a["status"]["history"]) == 2 and a, 20)
    assert "ServiceAccount" not in _kinds(app)
    names = [sa.metadata.name for sa in core.list_namespaced_service_account(target).items]
    assert "pr-du" not in names  # automated prune deleted it


def test_delete_with_resources_finalizer_removes_what_it_deployed(
        custom: client.CustomObjectsApi, apps: client.AppsV1Api, namespace: str, chart_repository: str) -> None:
    target = f"{namespace}-gone"
    body = _app(chart_repository, "gone", "1.0.0", target)
    body["metadata"]["finalizers"] = [FINALIZER]
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", body)
    _wait_app(custom, namespace, "gone", ("Synced", "Healthy", "Succeeded", "1.0.0"))
    assert [d.metadata.name for d in apps.list_namespaced_deployment(target).items] == ["gone-du"]
    custom.delete_namespaced_custom_object(*ARGO, namespace, "applications", "gone")
    deleting = _get_app(custom, namespace, "gone")
    assert deleting["metadata"]["deletionTimestamp"] and deleting["metadata"]["finalizers"] == [FINALIZER]

    def gone() -> bool:
        try:
            _get_app(custom, namespace, "gone")
        except client.ApiException as exc:
            return bool(exc.status == 404)
        return False

    assert eventually(gone, 5)
    assert apps.list_namespaced_deployment(target).items == []


def _release(name: str, version: str, target: str, values: Obj | None = None, chart: str = "cu",
             source: str = "charts") -> Obj:
    return {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": name},
            "spec": {"interval": "5m", "targetNamespace": target, "install": {"createNamespace": True},
                     "chart": {"spec": {"chart": chart, "version": version,
                                        "sourceRef": {"kind": "HelmRepository", "name": source}}},
                     "values": values if values is not None else {"replicaCount": 2}}}


def _helm_repository(name: str, url: str) -> Obj:
    return {"apiVersion": f"{SOURCE}/v1", "kind": "HelmRepository", "metadata": {"name": name},
            "spec": {"interval": "10m", "url": url}}


def _ready(obj: Obj) -> tuple[Any, ...]:
    cond: Obj = next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})
    return cond.get("status"), cond.get("reason"), (obj.get("status") or {}).get("lastAttemptedRevision")


def _wait_ready(custom: client.CustomObjectsApi, group_version: tuple[str, str], ns: str, plural: str, name: str,
                want: tuple[Any, ...]) -> Obj:
    last: list[Obj] = []

    def check() -> bool:
        last[:] = [custom.get_namespaced_custom_object(*group_version, ns, plural, name)]
        return _ready(last[0])[: len(want)] == want

    assert eventually(check, 30), f"{name}: {_ready(last[0])} != {want}"
    return last[0]


def _message(obj: Obj) -> str:
    return str(next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")["message"])


def _helm_history(helm: Run, release: str, namespace: str) -> list[tuple[int, str, str]]:
    entries = json.loads(helm("history", release, "-n", namespace, "-o", "json").stdout)
    return [(e["revision"], e["status"], e["chart"]) for e in entries]


def test_helmrelease_installs_upgrades_fails_on_crashing_pods_and_uninstalls(
        custom: client.CustomObjectsApi, apps: client.AppsV1Api, helm: Run, namespace: str,
        chart_repository: str) -> None:
    target = f"{namespace}-cu"
    release = f"{target}-cu"  # Flux's release name: <targetNamespace>-<name>; it contains the chart's name, so
    custom.create_namespaced_custom_object(SOURCE, "v1", namespace, "helmrepositories",  # the Deployment has it too
                                           _helm_repository("charts", chart_repository))
    custom.create_namespaced_custom_object(*HELM, namespace, "helmreleases", _release("cu", "2.0.0", target))
    early = custom.get_namespaced_custom_object(*HELM, namespace, "helmreleases", "cu")
    assert _ready(early)[0] != "True"  # Reconciling first, the outcome a moment later

    hr = _wait_ready(custom, HELM, namespace, "helmreleases", "cu", ("True", "InstallSucceeded", "2.0.0"))
    assert [(h["name"], h["namespace"], h["version"], h["chartVersion"], h["status"])
            for h in hr["status"]["history"]] == [(release, target, 1, "2.0.0", "deployed")]
    assert _message(hr) == f"Helm install succeeded for release {target}/{release}.v1 with chart cu@2.0.0"
    assert hr["metadata"]["finalizers"] == ["finalizers.fluxcd.io"]  # added by the controller, as Flux does
    assert (hr["status"]["storageNamespace"], hr["status"]["observedGeneration"]) == (target, 1)
    deployment = apps.read_namespaced_deployment(release, target)  # helm installed the chart in the target
    assert (deployment.spec.replicas, deployment.status.ready_replicas) == (2, 2)
    assert deployment.metadata.labels["helm.sh/chart"] == "cu-2.0.0"
    assert _helm_history(helm, release, target) == [(1, "deployed", "cu-2.0.0")]
    _wait_ready(custom, (SOURCE, "v1"), namespace, "helmrepositories", "charts", ("True", "Succeeded"))

    custom.patch_namespaced_custom_object(*HELM, namespace, "helmreleases", "cu",
                                          {"spec": {"chart": {"spec": {"version": "2.1.0"}}}})
    hr = _wait_ready(custom, HELM, namespace, "helmreleases", "cu", ("True", "UpgradeSucceeded", "2.1.0"))
    assert [(h["version"], h["chartVersion"], h["status"]) for h in hr["status"]["history"]] == [
        (2, "2.1.0", "deployed"), (1, "2.0.0", "superseded")]
    assert apps.read_namespaced_deployment(release, target).metadata.labels["helm.sh/chart"] == "cu-2.1.0"

    # Pods that crash (kubesim's image tag knob): helm's --wait gives up after spec.timeout.
    custom.patch_namespaced_custom_object(*HELM, namespace, "helmreleases", "cu", {"spec": {
        "timeout": "2s", "values": {"replicaCount": 2, "image": {"tag": "fail"}}}})
    hr = _wait_ready(custom, HELM, namespace, "helmreleases", "cu", ("False", "UpgradeFailed", "2.1.0"))
    message = _message(hr)
    assert message.startswith(f"Helm upgrade failed for release {target}/{release} with chart cu@2.1.0: "), message
    assert "context deadline exceeded" in message and "CrashLoopBackOff" in message
    assert [(h["version"], h["status"]) for h in hr["status"]["history"]] == [
        (3, "failed"), (2, "deployed"), (1, "superseded")]
    assert hr["status"]["upgradeFailures"] == 1
    assert _helm_history(helm, release, target)[-1] == (3, "failed", "cu-2.1.0")

    custom.delete_namespaced_custom_object(*HELM, namespace, "helmreleases", "cu")

    def gone() -> bool:
        try:
            custom.get_namespaced_custom_object(*HELM, namespace, "helmreleases", "cu")
        except client.ApiException as exc:
            return bool(exc.status == 404)
        return False

    assert eventually(gone, 30)
    assert apps.list_namespaced_deployment(target).items == []  # helm uninstall removed the workload
    assert json.loads(helm("list", "-n", target, "-a", "-o", "json").stdout) == []


def test_helmrelease_fails_with_helms_words_when_the_chart_cannot_be_fetched(
        custom: client.CustomObjectsApi, namespace: str, chart_repository: str) -> None:
    custom.create_namespaced_custom_object(SOURCE, "v1", namespace, "helmrepositories",
                                           _helm_repository("charts", chart_repository))
    custom.create_namespaced_custom_object(SOURCE, "v1", namespace, "helmrepositories",
                                           _helm_repository("offline", "http://127.0.0.1:9"))
    oci = {"apiVersion": f"{SOURCE}/v1beta2", "kind": "OCIRepository", "metadata": {"name": "cu-oci"},
           "spec": {"interval": "10m", "url": "oci://127.0.0.1:9/charts/cu", "ref": {"tag": "3.0.0"}}}
    custom.create_namespaced_custom_object(SOURCE, "v1beta2", namespace, "ocirepositories", oci)
    custom.create_namespaced_custom_object(*HELM, namespace, "helmreleases",
                                           _release("missing", "9.9.9", f"{namespace}-a"))
    custom.create_namespaced_custom_object(*HELM, namespace, "helmreleases",
                                           _release("offline", "3.0.0", f"{namespace}-b", source="offline"))
    custom.create_namespaced_custom_object(*HELM, namespace, "helmreleases",
                                           _release("nosource", "3.0.0", f"{namespace}-c", source="nope"))
    from_oci = _release("oci", "3.0.0", f"{namespace}-d")
    del from_oci["spec"]["chart"]
    from_oci["spec"]["chartRef"] = {"kind": "OCIRepository", "name": "cu-oci"}
    custom.create_namespaced_custom_object(*HELM, namespace, "helmreleases", from_oci)

    missing = _wait_ready(custom, HELM, namespace, "helmreleases", "missing", ("False", "InstallFailed", "9.9.9"))
    assert 'chart "cu" version "9.9.9" not found' in _message(missing)
    assert "history" not in missing["status"] or missing["status"]["history"] == []  # helm recorded nothing
    assert missing["status"]["installFailures"] == 1
    offline = _wait_ready(custom, HELM, namespace, "helmreleases", "offline", ("False", "InstallFailed", "3.0.0"))
    assert "http://127.0.0.1:9" in _message(offline) and "cannot be reached" in _message(offline)
    nosource = _wait_ready(custom, HELM, namespace, "helmreleases", "nosource", ("False", "InstallFailed"))
    assert f"HelmRepository '{namespace}/nope' not found" in _message(nosource)
    # kubesim runs no OCI registry: helm pulls oci:// itself and reports why it could not.
    from_oci = _wait_ready(custom, HELM, namespace, "helmreleases", "oci", ("False", "InstallFailed", "3.0.0"))
    assert "127.0.0.1:9/v2/charts/cu/manifests/3.0.0" in _message(from_oci)
    _wait_ready(custom, (SOURCE, "v1beta2"), namespace, "ocirepositories", "cu-oci", ("True", "Succeeded"))
