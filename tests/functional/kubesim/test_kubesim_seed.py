"""The demo seed (an O-RAN site) and the large-cluster seed used by benchmarks."""

from __future__ import annotations

import time
from collections import Counter

from kubernetes import client

from devtools.kubesim import start_kubesim
from devtools.kubesim.seed import FAR_EDGE, GENERAL, POOL_LABEL


def test_demo_site_shape(core: client.CoreV1Api) -> None:
    nodes = core.list_node().items
    pools = Counter(n.metadata.labels[POOL_LABEL] for n in nodes)
    assert pools[FAR_EDGE] >= 12 and pools[GENERAL] >= 12
    assert {n.metadata.labels["kubernetes.io/arch"] for n in nodes} == {"amd64", "arm64"}
    assert len({n.metadata.labels["node.kubernetes.io/instance-type"] for n in nodes}) >= 4
    for node in nodes:
        assert node.spec.provider_id.startswith("aws:///")
        assert node.metadata.labels["topology.kubernetes.io/zone"]
        assert {a.type for a in node.status.addresses} >= {"InternalIP", "Hostname"}
        assert node.status.node_info.machine_id and node.status.node_info.system_uuid
        assert node.status.daemon_endpoints.kubelet_endpoint.port == 10250
    du = [n for n in nodes if n.metadata.labels[POOL_LABEL] == FAR_EDGE]
    assert all(n.metadata.labels["feature.node.kubernetes.io/cpu-cpuid.AVX512F"] == "true" for n in du)
    assert all(any(k.startswith("intel.com/intel_fec_") for k in n.status.capacity) for n in du)
    namespaces = {ns.metadata.name for ns in core.list_namespace().items}
    assert namespaces >= {"default", "kube-system", "oran-du", "oran-cu"}


def test_seed_is_deterministic() -> None:
    def snapshot() -> list[tuple[str, str]]:
        with start_kubesim() as sim:
            return sim.call(lambda c: [(n["metadata"]["name"], n["metadata"]["uid"])
                                       for n in c.store.objects(("", "nodes"))])

    assert snapshot() == snapshot()


def test_large_cluster_seeds_and_pages_quickly() -> None:
    started = time.monotonic()
    with start_kubesim(nodes=5000) as sim:
        seeded = time.monotonic() - started
        api = client.ApiClient(client.Configuration(host=sim.url))
        core = client.CoreV1Api(api)
        names, token = 0, None
        begin = time.monotonic()
        while True:
            page = core.list_node(limit=500, _continue=token, _preload_content=False)
            body = page.json()
            names += len(body["items"])
            token = body["metadata"].get("continue")
            if not token:
                break
        paged = time.monotonic() - begin
        api.close()
    assert names == 5000
    # Generous bounds (shared CI cores); the benchmark suite measures the real numbers.
    assert seeded < 15 and paged < 15
