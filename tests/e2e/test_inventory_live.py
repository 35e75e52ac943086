"""On the running local stack, cluster changes made with kubectl show through the O2 API after the next poll."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack, binary, eventually

pytestmark = pytest.mark.xdist_group("stack")
ROOT = "/o2ims-infrastructureInventory/v1"


def kubectl(stack: LocalStack, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([binary("kubectl"), "--kubeconfig", str(stack.kubeconfig), *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def pool_id(stack: LocalStack, name: str) -> str:
    with stack.client() as client:
        pools = eventually(lambda: client.get(f"{ROOT}/resourcePools?filter=(eq,name,{name})").json())
    assert pools, f"pool {name} never appeared"
    return str(pools[0]["resourcePoolId"])


def node_resource(stack: LocalStack, pool: str, node: str) -> list[dict[str, Any]]:
    with stack.client() as client:
        reply = client.get(f"{ROOT}/resourcePools/{pool}/resources?filter=(eq,extensions/name,{node})")
    assert reply.status_code == 200, reply.text
    return [r for r in reply.json() if "parentId" not in r]


def test_a_new_label_shows_on_the_resource(stack: LocalStack) -> None:
    pool = pool_id(stack, "general-compute")
    node = json.loads(kubectl(stack, "get", "nodes", "-l", "netweave.io/resource-pool=general-compute",
                              "-o", "json"))["items"][0]["metadata"]["name"]
    kubectl(stack, "label", "node", node, "site.operator/rack=r7", "--overwrite")
    labelled = eventually(lambda: [r for r in node_resource(stack, pool, node)
                                   if r["extensions"]["labels"].get("site.operator/rack") == "r7"])
    assert labelled, "the label never reached the API"


def test_an_added_node_appears_and_a_deleted_one_disappears(stack: LocalStack, tmp_path: Path) -> None:
    pool = pool_id(stack, "far-edge-du")
    manifest = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "du-e2e-added", "labels": {"netweave.io/resource-pool": "far-edge-du",
                                                        "kubernetes.io/arch": "amd64",
                                                        "node.kubernetes.io/instance-type": "r750-du"}},
        "status": {"capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                   "allocatable": {"cpu": "30", "memory": "120Gi", "pods": "110"},
                   "nodeInfo": {"systemUUID": "e2e-0001", "architecture": "amd64", "kubeletVersion": "v1.31.0"}},
    }
    kubectl(stack, "apply", "-f", "-", stdin=json.dumps(manifest))
    assert eventually(lambda: node_resource(stack, pool, "du-e2e-added")), "the new node never appeared"
    kubectl(stack, "delete", "node", "du-e2e-added")
    assert eventually(lambda: not node_resource(stack, pool, "du-e2e-added")), "the deleted node stayed"


def test_the_du_pool_pages_past_100_with_ports_cards_and_disks_as_children(stack: LocalStack) -> None:
    """Issue 16: on the demo site the DU pool's servers list their NUMA nodes, NICs, NIC ports, FEC cards and disks,
    so the default page (100) is full and the second page is the normal case."""
    pool = pool_id(stack, "far-edge-du")
    with stack.client() as client:
        first = client.get(f"{ROOT}/resourcePools/{pool}/resources")
        assert first.status_code == 200 and len(first.json()) == 100
        assert first.links.get("next"), first.headers
        second = client.get(first.links["next"]["url"])
        assert second.status_code == 200 and second.json()
    listed = first.json() + second.json()
    assert len({r["resourceId"] for r in listed}) == len(listed) > 150
    by_id = {r["resourceId"]: r for r in listed}
    ports = [r for r in listed if "interface" in r.get("extensions", {})]
    assert ports and all(by_id[by_id[p["parentId"]]["parentId"]].get("parentId") is None for p in ports)
    assert all(p["extensions"]["vfCount"] > 0 and p["extensions"]["resourceName"] for p in ports)
    categories = {r["extensions"].get("category") for r in listed if "parentId" in r}
    assert {"cpu", "network", "accelerator", "storage", "hugepages", "memory"} <= categories
