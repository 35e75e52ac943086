"""kubesim's EKS node-group controller on a real simulated cluster, pass by pass with a given clock (no waiting):
nodes join one by one NotReady then Ready, shaped by their instance type; shrink and delete cordon, drain, delete;
the group's status is reported when EKS would change it; nodes it did not launch are never touched."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.kubesim.cluster import Cluster
from devtools.kubesim.controllers import ControllerManager
from devtools.kubesim.controllers.common import NODES, PODS
from devtools.kubesim.controllers.nodegroups import NodeGroups, NodeGroupSettings, _Group
from devtools.kubesim.seed import seed_cluster

C5_METAL = {"InstanceType": "c5.metal", "BareMetal": True, "VCpuInfo": {"DefaultVCpus": 96},
            "MemoryInfo": {"SizeInMiB": 196608}, "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
            "NetworkInfo": {"MaximumNetworkInterfaces": 15, "Ipv4AddressesPerInterface": 50}}
T3_MICRO = {"InstanceType": "t3.micro", "VCpuInfo": {"DefaultVCpus": 2}, "MemoryInfo": {"SizeInMiB": 1024},
            "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
            "NetworkInfo": {"MaximumNetworkInterfaces": 2, "Ipv4AddressesPerInterface": 2}}
SETTINGS = NodeGroupSettings("http://moto.invalid", "edge", join_seconds=3, ready_seconds=10)


@pytest.fixture()
def world() -> tuple[Cluster, ControllerManager, NodeGroups]:
    cluster = Cluster("demo")
    manager = ControllerManager(cluster)
    seed_cluster(cluster, "demo")
    manager.drain_now()
    return cluster, manager, NodeGroups(cluster, SETTINGS)


def group(status: str, desired: int, info: dict[str, Any] = C5_METAL, pinned: bool = False) -> _Group:
    doc = {"nodegroupName": "vdu-pool", "status": status, "instanceTypes": [info["InstanceType"]],
           "scalingConfig": {"minSize": 0, "maxSize": 10, "desiredSize": desired}, "capacityType": "ON_DEMAND",
           "labels": {"netweave.io/ims-adapter": "edge-aws"},
           "taints": [{"key": "dedicated", "value": "du", "effect": "NO_SCHEDULE"}]}
    return _Group(doc, info, ["us-east-1a", "us-east-1b"], pinned)


def pool_nodes(cluster: Cluster) -> list[dict[str, Any]]:
    """The group's nodes, oldest first."""
    return sorted((n for n in cluster.store.objects(NODES)
                   if n["metadata"]["labels"].get("eks.amazonaws.com/nodegroup") == "vdu-pool"),
                  key=lambda n: int(n["metadata"]["annotations"]["kubesim.netweave.io/index"]))


def ready(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


def test_nodes_join_one_by_one_not_ready_first_and_the_group_becomes_active_when_all_are_ready(world: Any) -> None:
    cluster, _, controller = world
    creating = [group("CREATING", 3)]
    timeline = []
    for now in (0, 1, 3, 6, 9, 10, 13, 15, 16):
        reports = controller.reconcile(creating, now)
        nodes = pool_nodes(cluster)
        timeline.append((now, len(nodes), sum(map(ready, nodes)), reports))
    assert timeline == [
        (0, 1, 0, {}), (1, 1, 0, {}), (3, 2, 0, {}), (6, 3, 0, {}), (9, 3, 0, {}),
        (10, 3, 1, {}), (13, 3, 2, {}), (15, 3, 2, {}), (16, 3, 3, {"vdu-pool": "ACTIVE"}),
    ]


def test_a_node_is_labelled_tainted_and_sized_from_its_instance_type(world: Any) -> None:
    cluster, _, controller = world
    controller.reconcile([group("CREATING", 2, pinned=True)], 0)
    controller.reconcile([group("CREATING", 2, pinned=True)], 3)
    first, second = pool_nodes(cluster)
    labels = first["metadata"]["labels"]
    assert (labels["node.kubernetes.io/instance-type"], labels["eks.amazonaws.com/nodegroup"],
            labels["netweave.io/ims-adapter"], labels["cpumanager"]) == ("c5.metal", "vdu-pool", "edge-aws", "true")
    zones = {first["metadata"]["labels"]["topology.kubernetes.io/zone"],
             second["metadata"]["labels"]["topology.kubernetes.io/zone"]}
    assert zones == {"us-east-1a", "us-east-1b"}  # spread over the group's subnets
    assert first["spec"]["taints"] == [{"key": "dedicated", "value": "du", "effect": "NoSchedule"}]
    capacity, allocatable = first["status"]["capacity"], first["status"]["allocatable"]
    # 96 vCPU, 192 GiB, VPC CNI limit capped at 250 pods, an eighth of the memory as 1 GiB hugepages
    assert (capacity["cpu"], capacity["memory"], capacity["pods"], capacity["hugepages-1Gi"]) == (
        "96", f"{196608 * 1024}Ki", "250", "24Gi")
    assert allocatable["cpu"] == "95690m"  # EKS kube-reserved: 60 + 10 + 2 x 5 + 92 x 2.5 = 310 millicores
    topology = cluster.find(("topology.node.k8s.io", "noderesourcetopologies"), "", first["metadata"]["name"])
    assert topology is not None and len(topology["zones"]) == 2


def test_a_small_virtual_machine_gets_the_cni_pod_limit_and_no_hugepages(world: Any) -> None:
    cluster, _, controller = world
    controller.reconcile([group("CREATING", 1, T3_MICRO)], 0)
    (node,) = pool_nodes(cluster)
    assert (node["status"]["capacity"]["pods"], node["status"]["capacity"]["hugepages-1Gi"]) == ("4", "0")
    assert "cpumanager" not in node["metadata"]["labels"]


def _grow(controller: NodeGroups, desired: int) -> None:
    for now in range(0, 3 * desired + 11, 1):
        controller.reconcile([group("CREATING", desired)], now)


def test_shrinking_cordons_and_drains_the_newest_node_then_deletes_it(world: Any) -> None:
    cluster, manager, controller = world
    _grow(controller, 3)
    newest = pool_nodes(cluster)[-1]["metadata"]["name"]
    pod = cluster.create(cluster.resource(*PODS), "default", {
        "metadata": {"name": "du-0"}, "spec": {"nodeName": newest, "containers": [{"name": "c", "image": "du:1"}],
                                               "tolerations": [{"key": "dedicated", "operator": "Exists"}]}})
    manager.drain_now()
    updating = [group("UPDATING", 2)]
    assert controller.reconcile(updating, 100) == {}
    cordoned = cluster.find(NODES, "", newest)
    assert cordoned is not None and cordoned["spec"]["unschedulable"] is True
    assert any(t["key"] == "node.kubernetes.io/unschedulable" for t in cordoned["spec"]["taints"])
    assert cluster.find(PODS, "default", pod["metadata"]["name"]) is None  # evicted
    assert controller.reconcile(updating, 101) == {"vdu-pool": "ACTIVE"}
    assert cluster.find(NODES, "", newest) is None and len(pool_nodes(cluster)) == 2


def test_a_deleting_group_loses_every_node_then_is_reported_deleted(world: Any) -> None:
    cluster, _, controller = world
    _grow(controller, 2)
    reports = [controller.reconcile([group("DELETING", 2)], now) for now in range(100, 106)]
    assert pool_nodes(cluster) == []
    assert {"vdu-pool": "DELETED"} in reports


def test_nodes_the_controller_did_not_launch_are_never_touched(world: Any) -> None:
    cluster, _, controller = world
    seeded = sorted(n["metadata"]["name"] for n in cluster.store.objects(NODES))
    assert any(n["metadata"]["labels"].get("eks.amazonaws.com/nodegroup") for n in cluster.store.objects(NODES))
    controller.reconcile([], 0)  # no node group at all: the seeded pools are someone else's
    assert sorted(n["metadata"]["name"] for n in cluster.store.objects(NODES)) == seeded


def test_settings_come_from_the_environment_with_realistic_defaults() -> None:
    assert NodeGroupSettings.from_env({}) is None
    settings = NodeGroupSettings.from_env({"KUBESIM_EKS_ENDPOINT": "http://127.0.0.1:4566",
                                           "KUBESIM_EKS_CLUSTER": "netweave-demo"})
    assert settings is not None and (settings.join_seconds, settings.ready_seconds) == (3.0, 10.0)
