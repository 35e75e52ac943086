"""The official ``kubernetes`` Python client against kubesim: listing, selectors, CRUD, watch, errors, CRDs."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client, watch

from devtools.kubesim import KubeSim
from devtools.kubesim.seed import DEMO_POOL_SIZES, FAR_EDGE, GENERAL, POOL_LABEL

DEMO_NODES = sum(DEMO_POOL_SIZES.values())


def test_paged_node_list_returns_every_demo_node_once(core: client.CoreV1Api) -> None:
    names: list[str] = []
    token, pages = None, 0
    while True:
        page = core.list_node(limit=5, _continue=token)
        names += [n.metadata.name for n in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert pages == -(-DEMO_NODES // 5)
    assert len(names) == len(set(names)) == DEMO_NODES
    assert page.metadata.resource_version


def test_get_node_exposes_pool_labels_and_accelerators(core: client.CoreV1Api) -> None:
    du = core.list_node(label_selector=f"{POOL_LABEL}={FAR_EDGE}").items[0]
    node = core.read_node(du.metadata.name)
    assert node.metadata.uid and node.metadata.creation_timestamp
    assert node.metadata.labels["cpumanager"] == "true"
    assert node.status.allocatable["hugepages-1Gi"] == "32Gi"
    assert node.status.allocatable["openshift.io/sriov_fh_nic"] == "8"
    assert {c.type for c in node.status.conditions} >= {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    assert node.status.node_info.kubelet_version.startswith("v1.31")


def test_label_selectors_equality_and_set_based(core: client.CoreV1Api) -> None:
    du = core.list_node(label_selector=f"{POOL_LABEL}={FAR_EDGE}").items
    general = core.list_node(label_selector=f"{POOL_LABEL} in ({GENERAL})").items
    assert len(du) == DEMO_POOL_SIZES[FAR_EDGE] and len(general) == DEMO_POOL_SIZES[GENERAL]
    arm = core.list_node(label_selector="kubernetes.io/arch!=amd64").items
    assert arm and all(n.metadata.labels["kubernetes.io/arch"] == "arm64" for n in arm)
    not_du = core.list_node(label_selector=f"{POOL_LABEL} notin ({FAR_EDGE})").items
    assert len(not_du) == DEMO_NODES - len(du)
    assert len(core.list_node(label_selector="cpumanager").items) == len(du)
    assert len(core.list_node(label_selector="!cpumanager").items) == DEMO_NODES - len(du)


def test_field_selector_by_name(core: client.CoreV1Api) -> None:
    target = core.list_node(limit=1).items[0].metadata.name
    found = core.list_node(field_selector=f"metadata.name={target}").items
    assert [n.metadata.name for n in found] == [target]
    assert core.list_namespace(field_selector="metadata.name=oran-du").items[0].status.phase == "Active"


def test_configmap_create_patch_replace_delete(core: client.CoreV1Api, namespace: str) -> None:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg", labels={"a": "1"}), data={"k": "v"})
    created = core.create_namespaced_config_map(namespace, body)
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    patched = core.patch_namespaced_config_map("cfg", namespace, {"data": {"extra": "x"}})
    assert patched.data == {"k": "v", "extra": "x"}
    assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)
    patched.data = {"only": "this"}
    replaced = core.replace_namespaced_config_map("cfg", namespace, patched)
    assert replaced.data == {"only": "this"} and replaced.metadata.uid == created.metadata.uid
    core.delete_namespaced_config_map("cfg", namespace)
    with pytest.raises(client.ApiException) as gone:
        core.read_namespaced_config_map("cfg", namespace)
    assert gone.value.status == 404


def test_conflicts_map_to_409(core: client.CoreV1Api, namespace: str) -> None:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dup"))
    first = core.create_namespaced_config_map(namespace, body)
    with pytest.raises(client.ApiException) as exists:
        core.create_namespaced_config_map(namespace, body)
    assert exists.value.status == 409 and "AlreadyExists" in exists.value.body
    core.patch_namespaced_config_map("dup", namespace, {"data": {"x": "1"}})
    first.data = {"stale": "write"}
    with pytest.raises(client.ApiException) as stale:
        core.replace_namespaced_config_map("dup", namespace, first)  # carries the old resourceVersion
    assert stale.value.status == 409 and "Conflict" in stale.value.body


def test_delete_collection_by_label(core: client.CoreV1Api, namespace: str) -> None:
    for name, tier in (("a", "cache"), ("b", "cache"), ("c", "db")):
        meta = client.V1ObjectMeta(name=name, labels={"tier": tier})
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=meta))
    core.delete_collection_namespaced_config_map(namespace, label_selector="tier=cache")
    assert [c.metadata.name for c in core.list_namespaced_config_map(namespace).items] == ["c"]


def test_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as missing:
        core.create_namespaced_config_map("no-such-ns", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x")))
    assert missing.value.status == 404


def test_watch_from_resource_version_sees_added_modified_deleted(core: client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w")))
    core.patch_namespaced_config_map("w", namespace, {"data": {"a": "b"}})
    core.delete_namespaced_config_map("w", namespace)
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=1)]
    assert events == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_live_watch_with_label_selector(core: client.CoreV1Api, namespace: str) -> None:
    seen: list[tuple[str, str]] = []
    start = core.list_namespaced_config_map(namespace).metadata.resource_version

    def consume() -> None:
        for event in watch.Watch().stream(core.list_namespaced_config_map, namespace, label_selector="team=ran",
                                          resource_version=start, timeout_seconds=2):
            seen.append((event["type"], event["object"].metadata.name))

    worker = threading.Thread(target=consume)
    worker.start()
    for name, team in (("ran-1", "ran"), ("core-1", "core")):
        meta = client.V1ObjectMeta(name=name, labels={"team": team})
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=meta))
    core.patch_namespaced_config_map("ran-1", namespace, {"metadata": {"labels": {"team": "core"}}})
    worker.join(10)
    # Leaving the selection is reported as DELETED; the other team's object never shows up.
    assert seen == [("ADDED", "ran-1"), ("DELETED", "ran-1")]


def test_custom_objects_for_argocd_and_flux(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "du-app"},
           "spec": {"project": "default", "destination": {"namespace": "oran-du"}}}
    created = custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "applications", app)
    assert created["metadata"]["generation"] == 1 and created["metadata"]["uid"]
    release = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "cu"},
               "spec": {"interval": "5m", "chart": {"spec": {"chart": "cu"}}}}
    custom.create_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases", release)
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    custom.patch_namespaced_custom_object_status("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases",
                                                 "cu", status)
    got = custom.get_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases", "cu")
    assert got["status"]["conditions"][0]["status"] == "True"
    listed = custom.list_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "applications")
    assert "du-app" in [i["metadata"]["name"] for i in listed["items"]]
    custom.delete_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "applications", "du-app")
    custom.delete_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases", "cu")
    with pytest.raises(client.ApiException) as gone:
        custom.get_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "applications", "du-app")
    assert gone.value.status == 404


def test_nodes_added_through_the_state_api_are_listed(kubesim: KubeSim, core: client.CoreV1Api) -> None:
    node = kubesim.add_node(FAR_EDGE, labels={"netweave.io/test": "added"})
    try:
        found = core.list_node(label_selector="netweave.io/test=added").items
        assert [n.metadata.name for n in found] == [node["metadata"]["name"]]
        kubesim.set_node_ready(node["metadata"]["name"], False)
        ready = next(c for c in core.read_node(node["metadata"]["name"]).status.conditions if c.type == "Ready")
        assert ready.status == "False"
    finally:
        kubesim.remove_node(node["metadata"]["name"])
    assert core.list_node(label_selector="netweave.io/test=added").items == []
