"""kubesim's ArgoCD and Flux stand-ins through the official client's CustomObjectsApi: discovery, sync, history,
the failure knob, manual sync, finalizers, HelmRelease install/upgrade/failure and source readiness."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.functional.kubesim.kubesim_helpers import eventually

Obj = dict[str, Any]
ARGO = ("argoproj.io", "v1alpha1")
HELM = ("helm.toolkit.fluxcd.io", "v2")
SOURCE = "source.toolkit.fluxcd.io"
FINALIZER = "resources-finalizer.argocd.argoproj.io"


@pytest.fixture(scope="module")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


def _app(name: str, revision: str, automated: bool = True, tag: str = "1.25") -> Obj:
    spec: Obj = {
        "project": "default",
        "source": {"repoURL": "https://charts.example.com", "chart": "du", "targetRevision": revision,
                   "helm": {"valuesObject": {"image": {"tag": tag}}}},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "oran-du"},
    }
    if automated:
        spec["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}}
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

    assert eventually(check, 5), f"{name}: {_app_state(last[0])} != {state}"
    return last[0]


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


def test_application_syncs_records_history_and_fails_on_the_knob(custom: client.CustomObjectsApi,
                                                                 namespace: str) -> None:
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", _app("du", "1.0.0"))
    early = _get_app(custom, namespace, "du")
    assert _app_state(early)[0] != "Synced"  # the outcome comes after a moment, not at once
    app = _wait_app(custom, namespace, "du", ("Synced", "Healthy", "Succeeded", "1.0.0"))
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(0, "1.0.0")]
    assert app["status"]["history"][0]["source"] == app["spec"]["source"]

    custom.patch_namespaced_custom_object(*ARGO, namespace, "applications", "du",
                                          {"spec": {"source": {"targetRevision": "1.1.0"}}})
    app = _wait_app(custom, namespace, "du", ("Synced", "Healthy", "Succeeded", "1.1.0"))
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [(0, "1.0.0"), (1, "1.1.0")]

    custom.patch_namespaced_custom_object(*ARGO, namespace, "applications", "du",
                                          {"spec": {"source": {"helm": {"valuesObject": {"image": {"tag": "fail"}}}}}})
    app = _wait_app(custom, namespace, "du", ("OutOfSync", "Degraded", "Failed", "1.1.0"))
    assert "fail" in app["status"]["health"]["message"]
    assert len(app["status"]["history"]) == 2  # like ArgoCD, only successful syncs enter the history

    # The values string form of the knob works too.
    custom.patch_namespaced_custom_object(*ARGO, namespace, "applications", "du", {"spec": {"source": {"helm": {
        "valuesObject": None, "values": "image:\n  tag: fail\n"}, "targetRevision": "1.2.0"}}})
    _wait_app(custom, namespace, "du", ("OutOfSync", "Degraded", "Failed", "1.2.0"))


def test_manual_sync_waits_for_an_operation(custom: client.CustomObjectsApi, namespace: str) -> None:
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", _app("cu", "2.0.0", automated=False))
    app = eventually(lambda: (a := _get_app(custom, namespace, "cu")).get("status") and a, 5)
    assert _app_state(app)[:3] == ("OutOfSync", "Missing", None)
    assert "history" not in app["status"]

    custom.patch_namespaced_custom_object(*ARGO, namespace, "applications", "cu",
                                          {"operation": {"sync": {"revision": "2.0.0"},
                                                         "initiatedBy": {"username": "netweave"}}})
    app = _wait_app(custom, namespace, "cu", ("Synced", "Healthy", "Succeeded", "2.0.0"))
    assert eventually(lambda: "operation" not in _get_app(custom, namespace, "cu"), 5)
    assert [h["id"] for h in app["status"]["history"]] == [0]

    # A rollback: sync to an earlier history entry's source without changing the spec.
    custom.patch_namespaced_custom_object(*ARGO, namespace, "applications", "cu",
                                          {"spec": {"source": {"targetRevision": "2.1.0"}}})
    app = _wait_app(custom, namespace, "cu", ("OutOfSync", "Healthy", "Succeeded", "2.0.0"))  # no auto-sync
    custom.patch_namespaced_custom_object(*ARGO, namespace, "applications", "cu", {"operation": {"sync": {}}})
    app = _wait_app(custom, namespace, "cu", ("Synced", "Healthy", "Succeeded", "2.1.0"))
    first = app["status"]["history"][0]
    custom.patch_namespaced_custom_object(*ARGO, namespace, "applications", "cu", {"operation": {"sync": {
        "revision": first["revision"], "source": first["source"]}}})
    app = _wait_app(custom, namespace, "cu", ("OutOfSync", "Healthy", "Succeeded", "2.0.0"))
    assert [h["revision"] for h in app["status"]["history"]] == ["2.0.0", "2.1.0", "2.0.0"]


def test_delete_with_resources_finalizer_goes_away(custom: client.CustomObjectsApi, namespace: str) -> None:
    body = _app("gone", "1.0.0")
    body["metadata"]["finalizers"] = [FINALIZER]
    custom.create_namespaced_custom_object(*ARGO, namespace, "applications", body)
    _wait_app(custom, namespace, "gone", ("Synced", "Healthy", "Succeeded", "1.0.0"))
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


def _release(name: str, version: str, tag: str = "1.25") -> Obj:
    return {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": name},
            "spec": {"interval": "5m", "targetNamespace": "oran-cu",
                     "chart": {"spec": {"chart": "cu", "version": version,
                                        "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
                     "values": {"image": {"tag": tag}}}}


def _ready(obj: Obj) -> tuple[Any, ...]:
    cond: Obj = next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})
    return cond.get("status"), cond.get("reason"), (obj.get("status") or {}).get("lastAttemptedRevision")


def _wait_ready(custom: client.CustomObjectsApi, group_version: tuple[str, str], ns: str, plural: str, name: str,
                want: tuple[Any, ...]) -> Obj:
    last: list[Obj] = []

    def check() -> bool:
        last[:] = [custom.get_namespaced_custom_object(*group_version, ns, plural, name)]
        return _ready(last[0])[: len(want)] == want

    assert eventually(check, 5), f"{name}: {_ready(last[0])} != {want}"
    return last[0]


def test_helmrelease_installs_upgrades_and_fails_on_the_knob(custom: client.CustomObjectsApi,
                                                             namespace: str) -> None:
    repo = {"apiVersion": f"{SOURCE}/v1", "kind": "HelmRepository", "metadata": {"name": "charts"},
            "spec": {"interval": "10m", "url": "https://charts.example.com"}}
    custom.create_namespaced_custom_object(SOURCE, "v1", namespace, "helmrepositories", repo)
    oci = {"apiVersion": f"{SOURCE}/v1beta2", "kind": "OCIRepository", "metadata": {"name": "cu-oci"},
           "spec": {"interval": "10m", "url": "oci://ghcr.io/example/charts/cu", "ref": {"tag": "3.0.0"}}}
    custom.create_namespaced_custom_object(SOURCE, "v1beta2", namespace, "ocirepositories", oci)
    custom.create_namespaced_custom_object(*HELM, namespace, "helmreleases", _release("cu", "1.0.0"))

    hr = _wait_ready(custom, HELM, namespace, "helmreleases", "cu", ("True", "InstallSucceeded", "1.0.0"))
    assert [(h["version"], h["chartVersion"], h["status"]) for h in hr["status"]["history"]] == [
        (1, "1.0.0", "deployed")]
    assert hr["status"]["history"][0]["digest"].startswith("sha256:")
    assert hr["status"]["observedGeneration"] == hr["metadata"]["generation"]
    _wait_ready(custom, (SOURCE, "v1"), namespace, "helmrepositories", "charts", ("True", "Succeeded"))
    _wait_ready(custom, (SOURCE, "v1beta2"), namespace, "ocirepositories", "cu-oci", ("True", "Succeeded"))

    custom.patch_namespaced_custom_object(*HELM, namespace, "helmreleases", "cu",
                                          {"spec": {"chart": {"spec": {"version": "1.1.0"}}}})
    hr = _wait_ready(custom, HELM, namespace, "helmreleases", "cu", ("True", "UpgradeSucceeded", "1.1.0"))
    assert [(h["version"], h["chartVersion"], h["status"]) for h in hr["status"]["history"]] == [
        (2, "1.1.0", "deployed"), (1, "1.0.0", "superseded")]

    custom.patch_namespaced_custom_object(*HELM, namespace, "helmreleases", "cu",
                                          {"spec": {"values": {"image": {"tag": "fail"}}}})
    hr = _wait_ready(custom, HELM, namespace, "helmreleases", "cu", ("False", "UpgradeFailed", "1.1.0"))
    ready = next(c for c in hr["status"]["conditions"] if c["type"] == "Ready")
    assert "fail" in ready["message"]
    assert hr["status"]["history"][0]["status"] == "failed"
    assert hr["status"]["upgradeFailures"] == 1

    failing = _release("broken", "1.0.0", tag="fail")
    custom.create_namespaced_custom_object(*HELM, namespace, "helmreleases", failing)
    _wait_ready(custom, HELM, namespace, "helmreleases", "broken", ("False", "InstallFailed", "1.0.0"))
