"""The `kubernetes` IMS adapter against kubesim, through the official client: paging, changes, failures, profile."""

from __future__ import annotations

import base64
import copy
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters.ims.kubernetes import KubernetesInventoryAdapter, read_kubeconfig
from chalicelib.adapters.ims.kubernetes_components import parse_quantity
from chalicelib.adapters.ims.port import InventoryContext, InventoryRegistry
from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.bootstrap import IMS_ADAPTER_TYPES
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, ConfigurationError
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.settings import AdapterConfig, GatewayConfig
from devtools.kubesim import KubeSim, start_kubesim
from devtools.kubesim.seed import FAR_EDGE, node_hardware
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.xdist_group("kubernetes-adapter")
CONTEXT = InventoryContext(o_cloud_id="5a1c1c1e-0000-4000-8000-000000000001")
POOL = "netweave.io/resource-pool"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    with start_kubesim(port=0, kubeconfig_path=tmp_path_factory.mktemp("kubesim") / "kubeconfig") as running:
        yield running


@pytest.fixture()
def fresh_sim(tmp_path: Path) -> Iterator[KubeSim]:
    """Its own cluster, for tests that change nodes."""
    with start_kubesim(port=0, kubeconfig_path=tmp_path / "kubeconfig") as running:
        yield running


def adapter_for(kubeconfig: Path | str, adapter_id: str = "demo", **options: Any) -> KubernetesInventoryAdapter:
    return KubernetesInventoryAdapter(AdapterConfig(id=adapter_id, type="kubernetes",
                                                    options={"kubeconfig": str(kubeconfig), **options}))


def documents(objects: list[InventoryObject], object_type: ObjectType) -> list[dict[str, Any]]:
    return [o.document for o in objects if o.object_type == object_type]


def node_resources(objects: list[InventoryObject]) -> dict[str, dict[str, Any]]:
    return {d["extensions"]["name"]: d for d in documents(objects, ObjectType.RESOURCE) if "parentId" not in d}


def kube_client(kubeconfig: Path | None) -> Any:
    import kubernetes

    return kubernetes.config.new_client_from_config(config_file=str(kubeconfig), persist_config=False)


def cluster_nodes(sim: KubeSim) -> list[dict[str, Any]]:
    """The nodes as the cluster lists them, read independently of the adapter."""
    from kubernetes import client

    with kube_client(sim.kubeconfig_path) as api:
        items: list[dict[str, Any]] = json.loads(client.CoreV1Api(api).list_node(_preload_content=False).data)["items"]
    return items


def test_demo_site_maps_to_pools_nodes_types_and_one_deployment_manager(sim: KubeSim) -> None:
    assert sim.kubeconfig_path is not None
    objects = adapter_for(sim.kubeconfig_path).read_inventory(CONTEXT)
    nodes = cluster_nodes(sim)
    pools = {d["name"]: d for d in documents(objects, ObjectType.RESOURCE_POOL)}
    assert sorted(pools) == ["far-edge-du", "general-compute", "regional-cu"]
    resources = node_resources(objects)
    assert len(resources) == len(nodes) >= 24
    children = [d for d in documents(objects, ObjectType.RESOURCE) if "parentId" in d]

    def nested(resource: dict[str, Any]) -> int:
        return sum(1 + nested(e) for e in resource["elements"])

    assert len(children) == sum(nested(d) for d in resources.values())
    du = next(d for d in resources.values() if d["resourcePoolId"] == pools["far-edge-du"]["resourcePoolId"])
    categories = {e["extensions"]["category"] for e in du["elements"]}
    assert categories == {"cpu", "memory", "hugepages", "storage", "network", "accelerator"}

    types = documents(objects, ObjectType.RESOURCE_TYPE)
    node_types = {(t["extensions"]["instanceType"], t["extensions"]["architecture"]) for t in types
                  if t["extensions"]["role"] == "node"}
    assert node_types == {(n["metadata"]["labels"]["node.kubernetes.io/instance-type"],
                           n["metadata"]["labels"]["kubernetes.io/arch"]) for n in nodes}
    assert len(documents(objects, ObjectType.ALARM_DICTIONARY)) == len(node_types)
    assert {d["resourceTypeId"] for d in documents(objects, ObjectType.RESOURCE)} <= {t["resourceTypeId"]
                                                                                      for t in types}


def test_deployment_manager_is_the_cluster_with_its_capacity_totals(sim: KubeSim) -> None:
    assert sim.kubeconfig_path is not None
    objects = adapter_for(sim.kubeconfig_path, name="Demo cluster").read_inventory(CONTEXT)
    [manager] = documents(objects, ObjectType.DEPLOYMENT_MANAGER)
    assert manager["serviceUri"] == sim.url
    assert manager["name"] == "Demo cluster"
    assert manager["extensions"]["kubernetesVersion"].startswith("v1.")
    nodes = cluster_nodes(sim)
    for kind in ("capacity", "allocatable"):
        expected: dict[str, Decimal] = {}
        for item in nodes:
            for key, text in item["status"][kind].items():
                expected[key] = expected.get(key, Decimal(0)) + (parse_quantity(text) or Decimal(0))
        assert manager["capacity"][kind] == pytest.approx({k: float(v) for k, v in expected.items()})
    # An independent check of the two totals an SMO looks at first: whole cores and Ki of memory.
    assert manager["capacity"]["capacity"]["cpu"] == sum(int(n["status"]["capacity"]["cpu"]) for n in nodes)
    assert manager["capacity"]["capacity"]["memory"] == sum(
        int(n["status"]["capacity"]["memory"].removesuffix("Ki")) * 1024 for n in nodes)
    assert manager["capacity"]["nodeCount"] == len(nodes)


def test_small_pages_give_the_same_inventory_as_one_page(sim: KubeSim, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes import client

    calls: list[dict[str, Any]] = []
    real = client.CoreV1Api.list_node

    def spy(self: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(self, **kwargs)

    node_count = len(cluster_nodes(sim))
    monkeypatch.setattr(client.CoreV1Api, "list_node", spy)
    assert sim.kubeconfig_path is not None
    one_page = adapter_for(sim.kubeconfig_path, pageSize=1000).read_inventory(CONTEXT)
    assert len(calls) == 1
    calls.clear()
    paged = adapter_for(sim.kubeconfig_path, pageSize=5).read_inventory(CONTEXT)
    assert len(calls) == -(-node_count // 5)
    assert all(c["limit"] == 5 for c in calls) and calls[-1]["_continue"]
    assert [(o.object_id, o.content_hash) for o in paged] == [(o.object_id, o.content_hash) for o in one_page]


def test_node_changes_show_in_the_next_read_and_untouched_objects_keep_their_ids(fresh_sim: KubeSim) -> None:
    assert fresh_sim.kubeconfig_path is not None
    adapter = adapter_for(fresh_sim.kubeconfig_path)
    before = {o.object_id: o for o in adapter.read_inventory(CONTEXT)}

    added = fresh_sim.add_node("far-edge-du", name="du-new.ec2.internal")
    fresh_sim.call(lambda cluster: [cluster.store.write(key, obj) for key, obj in
                                    node_hardware("demo", FAR_EDGE, 10_001, copy.deepcopy(added))])
    grown = {o.object_id: o for o in adapter.read_inventory(CONTEXT)}
    new_ids = set(grown) - set(before)
    # The node and its components: 2 NUMA nodes, memory, hugepages, storage, 2 NICs, 4 ports, a FEC card, 2 disks.
    assert len(new_ids) == 1 + 14
    assert set(before) <= set(grown)
    unchanged_types = {ObjectType.RESOURCE, ObjectType.RESOURCE_TYPE, ObjectType.ALARM_DICTIONARY}
    assert all(grown[i].content_hash == o.content_hash for i, o in before.items() if o.object_type in unchanged_types)
    new_node = node_resources(list(grown.values()))["du-new.ec2.internal"]
    assert new_node["extensions"]["uid"] == added["metadata"]["uid"]

    fresh_sim.remove_node("du-new.ec2.internal")
    assert {o.object_id: o.content_hash for o in adapter.read_inventory(CONTEXT)} == {
        i: o.content_hash for i, o in before.items()}

    name = next(n["metadata"]["name"] for n in cluster_nodes(fresh_sim)
                if n["metadata"]["labels"][POOL] == "general-compute")
    from kubernetes import client

    with kube_client(fresh_sim.kubeconfig_path) as api:
        client.CoreV1Api(api).patch_node(name, {"metadata": {"labels": {POOL: "ran-spare"}}})
    relabelled = adapter.read_inventory(CONTEXT)
    pools = {d["name"]: d["resourcePoolId"] for d in documents(relabelled, ObjectType.RESOURCE_POOL)}
    assert sorted(pools) == ["far-edge-du", "general-compute", "ran-spare", "regional-cu"]
    moved = node_resources(relabelled)[name]
    assert moved["resourceId"] == node_resources(list(before.values()))[name]["resourceId"]
    assert moved["resourcePoolId"] == pools["ran-spare"]
    assert all(e["resourcePoolId"] == pools["ran-spare"] for e in moved["elements"])
    others = {n: d for n, d in node_resources(list(before.values())).items() if n != name}
    assert all(node_resources(relabelled)[n] == d for n, d in others.items())


def test_readiness_change_shows_in_the_node_document(fresh_sim: KubeSim) -> None:
    assert fresh_sim.kubeconfig_path is not None
    adapter = adapter_for(fresh_sim.kubeconfig_path)
    name = cluster_nodes(fresh_sim)[0]["metadata"]["name"]
    fresh_sim.set_node_ready(name, False)
    objects = adapter.read_inventory(CONTEXT)
    assert node_resources(objects)[name]["extensions"]["ready"] is False
    [manager] = documents(objects, ObjectType.DEPLOYMENT_MANAGER)
    assert manager["capacity"]["readyNodeCount"] == manager["capacity"]["nodeCount"] - 1


def test_a_rewritten_kubeconfig_is_picked_up(fresh_sim: KubeSim, tmp_path: Path) -> None:
    """The local stack rewrites its kubeconfig whenever kubesim restarts on a new port."""
    kubeconfig = tmp_path / "moving-kubeconfig"
    with start_kubesim(port=0, seed="empty") as first:
        first.write_kubeconfig(kubeconfig)
        adapter = adapter_for(kubeconfig)
        assert node_resources(adapter.read_inventory(CONTEXT)) == {}
    fresh_sim.write_kubeconfig(kubeconfig)
    [manager] = documents(adapter.read_inventory(CONTEXT), ObjectType.DEPLOYMENT_MANAGER)
    assert manager["serviceUri"] == fresh_sim.url


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_kubeconfig(path: Path, server: str, user: dict[str, Any] | None = None,
                     cluster: dict[str, Any] | None = None) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "edge",
        "clusters": [{"name": "edge", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "edge-admin", "user": user if user is not None else {"token": "t0ken"}}],
        "contexts": [{"name": "edge", "context": {"cluster": "edge", "user": "edge-admin"}}],
    }))
    return path


def test_connection_refused_raises_backend_unavailable_quickly(tmp_path: Path) -> None:
    port = closed_port()
    adapter = adapter_for(write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}"))
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="connection refused") as raised:
        adapter.read_inventory(CONTEXT)
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{port}" in raised.value.detail and "'demo'" in raised.value.detail


def test_a_bug_in_netweave_s_own_code_is_not_an_unreachable_cluster(sim: KubeSim,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise TypeError("a bug in the adapter")

    monkeypatch.setattr(KubernetesInventoryAdapter, "_version", broken)  # runs where transport errors are mapped
    assert sim.kubeconfig_path is not None
    with pytest.raises(TypeError, match="a bug in the adapter"):
        adapter_for(sim.kubeconfig_path).read_inventory(CONTEXT)


def test_a_silent_server_times_out(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        server = f"http://127.0.0.1:{listener.getsockname()[1]}"
        adapter = adapter_for(write_kubeconfig(tmp_path / "kubeconfig", server), requestTimeoutSeconds=0.3)
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match=r"no answer within 0\.3 s"):
            adapter.read_inventory(CONTEXT)
        assert time.monotonic() - started < 5


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"kind":"Status","status":"Failure","reason":"Unauthorized","code":401}'
        self.send_response(401, "Unauthorized")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_rejected_credentials_raise_backend_unavailable(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        adapter = adapter_for(write_kubeconfig(tmp_path / "kubeconfig", url))
        with pytest.raises(BackendUnavailable, match="rejected our credentials \\(HTTP 401"):
            adapter.read_inventory(CONTEXT)
    finally:
        server.shutdown()
        server.server_close()


def test_a_missing_kubeconfig_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    adapter = adapter_for(tmp_path / "not-written-yet")
    with pytest.raises(BackendUnavailable, match="not-written-yet"):
        adapter.read_inventory(CONTEXT)


def test_cluster_profile_describes_the_cluster_endpoint(sim: KubeSim) -> None:
    assert sim.kubeconfig_path is not None
    adapter = adapter_for(sim.kubeconfig_path)
    [manager] = documents(adapter.read_inventory(CONTEXT), ObjectType.DEPLOYMENT_MANAGER)
    profile = adapter.cluster_profile(manager["deploymentManagerId"])
    assert profile == {"profileName": "native_k8sapi",
                       "profileData": {"cluster_api_endpoint": sim.url, "admin_user": "netweave-demo-admin",
                                       "admin_token": "kubesim-token"}}
    assert adapter.cluster_profile("00000000-0000-0000-0000-000000000000") is None


def test_profile_data_comes_from_kubeconfig_files_and_inline_data(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "admin.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nADMIN\n")
    (tmp_path / "pki" / "admin.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\nKEY\n")
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nCA\n").decode()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "https://10.0.0.1:6443/",
                                  {"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key"},
                                  {"certificate-authority-data": ca})
    adapter = adapter_for(kubeconfig)
    access = read_kubeconfig(str(kubeconfig))
    from chalicelib.adapters.ims.kubernetes_mapping import deployment_manager_id

    profile = adapter.cluster_profile(deployment_manager_id("demo", "https://10.0.0.1:6443"))
    assert profile is not None and access.server == "https://10.0.0.1:6443"
    assert profile["profileData"] == {
        "cluster_api_endpoint": "https://10.0.0.1:6443", "cluster_ca_cert": ca, "admin_user": "edge-admin",
        "admin_client_cert": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nADMIN\n").decode(),
        "admin_client_key": base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nKEY\n").decode(),
    }


def test_kubeconfig_comes_from_the_environment_and_merges_like_kubectl(
        sim: KubeSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sim.kubeconfig_path is not None
    other = write_kubeconfig(tmp_path / "other", "https://elsewhere.example:6443")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(sim.kubeconfig_path), str(other)]))
    adapter = KubernetesInventoryAdapter(AdapterConfig(id="demo", type="kubernetes"))
    [manager] = documents(adapter.read_inventory(CONTEXT), ObjectType.DEPLOYMENT_MANAGER)
    assert manager["serviceUri"] == sim.url  # the first file's current-context wins
    edge = KubernetesInventoryAdapter(AdapterConfig(id="demo", type="kubernetes", options={"context": "edge"}))
    from chalicelib.adapters.ims.kubernetes_mapping import deployment_manager_id

    profile = edge.cluster_profile(deployment_manager_id("demo", "https://elsewhere.example:6443"))
    assert profile is not None and profile["profileData"]["admin_user"] == "edge-admin"


def test_adapter_registers_validates_options_and_declares_inventory(sim: KubeSim) -> None:
    gateway = GatewayConfig.model_validate({"imsAdapters": [
        {"id": "edge", "type": "kubernetes", "options": {"kubeconfig": str(sim.kubeconfig_path)}}]})
    registry: InventoryRegistry = AdapterRegistry("ims", gateway.ims_adapters, IMS_ADAPTER_TYPES)
    adapter = registry.get("edge")
    assert isinstance(adapter, KubernetesInventoryAdapter)
    assert adapter.capabilities == frozenset({Capability.INVENTORY})
    with pytest.raises(ConfigurationError, match="pageSize"):
        adapter_for("x", pageSize=0)
    with pytest.raises(ConfigurationError, match="poolLabel"):
        adapter_for("x", poolLabel=["typo"])


def test_importing_the_adapter_does_not_import_kubernetes() -> None:
    code = ("import sys, chalicelib.adapters.ims.kubernetes, chalicelib.adapters.ims.kubernetes_mapping; "
            "loaded = sorted(m for m in sys.modules if m == 'kubernetes' or m.startswith('kubernetes.')); "
            "print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_5000_node_cluster_is_read_in_one_poll(tmp_path: Path) -> None:
    with start_kubesim(port=0, nodes=5000, kubeconfig_path=tmp_path / "kubeconfig") as big:
        adapter = adapter_for(tmp_path / "kubeconfig")
        started = time.perf_counter()
        objects = adapter.read_inventory(CONTEXT)
        elapsed = time.perf_counter() - started
    print(f"\nread_inventory of a 5,000-node cluster: {elapsed:.2f} s, {len(objects)} objects")
    assert len(node_resources(objects)) == 5000
    assert big.url in {d["serviceUri"] for d in documents(objects, ObjectType.DEPLOYMENT_MANAGER)}


def test_a_label_change_on_a_server_changes_its_node_resource_only(fresh_sim: KubeSim) -> None:
    """Issue 16: components have ids of their own (node uid + component identity); relabelling a DU server must not
    turn its 14 components into 14 change notifications."""
    assert fresh_sim.kubeconfig_path is not None
    adapter = adapter_for(fresh_sim.kubeconfig_path)
    before = {o.object_id: o.content_hash for o in adapter.read_inventory(CONTEXT)}
    name = next(n["metadata"]["name"] for n in cluster_nodes(fresh_sim) if n["metadata"]["labels"][POOL] == FAR_EDGE)
    from kubernetes import client

    with kube_client(fresh_sim.kubeconfig_path) as api:
        client.CoreV1Api(api).patch_node(name, {"metadata": {"labels": {"site.operator/rack": "r7"}}})
    after = {o.object_id: o.content_hash for o in adapter.read_inventory(CONTEXT)}
    assert set(after) == set(before)
    changed = {i for i in before if before[i] != after[i]}
    assert changed == {node_resources(adapter.read_inventory(CONTEXT))[name]["resourceId"]}


def test_without_the_hardware_operators_nodes_still_map_from_their_capacity(fresh_sim: KubeSim) -> None:
    """A cluster without the SR-IOV, FEC, topology or storage operators (their APIs answer 404) maps as before."""
    assert fresh_sim.kubeconfig_path is not None
    fresh_sim.call(lambda cluster: [cluster.delete(cluster.resource("apiextensions.k8s.io",
                                                                    "customresourcedefinitions"), "", crd)
                                    for crd in ("sriovnetworknodestates.sriovnetwork.openshift.io",
                                                "noderesourcetopologies.topology.node.k8s.io",
                                                "sriovfecnodeconfigs.sriovfec.intel.com",
                                                "localvolumediscoveryresults.local.storage.openshift.io")])
    objects = adapter_for(fresh_sim.kubeconfig_path).read_inventory(CONTEXT)
    du = next(d for d in node_resources(objects).values() if d["extensions"]["pool"] == FAR_EDGE)
    assert {e["extensions"]["component"] for e in du["elements"]} == {
        "cpu", "memory", "hugepages-1Gi", "ephemeral-storage", "openshift.io/sriov_fh_nic",
        "openshift.io/sriov_mh_nic", du["extensions"]["labels"]["feature.node.kubernetes.io/fec-accelerator"].join(
            ("intel.com/intel_fec_", ""))}


def test_the_demo_configuration_gives_two_sites(sim: KubeSim) -> None:
    """config/gateway.yaml places the DU pool at the NYC far-edge site; the other pools stay at their region."""
    options = yaml.safe_load((PROJECT_DIR / "config" / "gateway.yaml").read_text())["imsAdapters"][0]["options"]
    assert sim.kubeconfig_path is not None
    objects = adapter_for(sim.kubeconfig_path, globalLocationId=options["globalLocationId"],
                          location=options["location"]).read_inventory(CONTEXT)
    pools = {d["name"]: d for d in documents(objects, ObjectType.RESOURCE_POOL)}
    sites = {name: pool["oCloudSiteId"] for name, pool in pools.items()}
    assert sites["regional-cu"] == sites["general-compute"] != sites["far-edge-du"]
    assert pools["far-edge-du"]["globalLocationId"].startswith("geo:")
    [manager] = documents(objects, ObjectType.DEPLOYMENT_MANAGER)
    assert sorted(manager["supportedLocations"]) == sorted({p["globalLocationId"] for p in pools.values()})
