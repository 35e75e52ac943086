"""Pure parts of pool provisioning: the pool's progress from its node group and nodes, the order a poll publishes its
changes in, one resource per node across two backends, and the cpuPinning mapping (docs/aws-backend.md)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from chalicelib.adapters.ims import aws_mapping, aws_nodes, aws_pools, kubernetes_mapping
from chalicelib.domain.events import ChangeType
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.snapshot import StoredEntry, diff

GROUP: dict[str, Any] = {
    "nodegroupName": "vdu", "clusterName": "edge", "status": "ACTIVE", "instanceTypes": ["c5.metal"],
    "nodegroupArn": "arn:aws:eks:us-east-1:123456789012:nodegroup/edge/vdu/0f0e",
    "scalingConfig": {"minSize": 3, "maxSize": 3, "desiredSize": 3},
    "labels": {"netweave.io/ims-adapter": "edge-aws"}}


@pytest.mark.parametrize(("status", "ready", "health", "expected"), [
    pytest.param("CREATING", 1, [], {"status": "provisioning", "readyNodes": 1}, id="creating"),
    pytest.param("UPDATING", 3, [], {"status": "resizing", "readyNodes": 3}, id="updating"),
    pytest.param("DELETING", 0, [], {"status": "deleting", "readyNodes": 0}, id="deleting"),
    pytest.param("ACTIVE", 3, [], {"status": "ready", "readyNodes": 3}, id="ready"),
    pytest.param("ACTIVE", None, [], {"status": "ready"}, id="nodes-not-read"),
    pytest.param("ACTIVE", 2, [], {"status": "degraded", "statusReason": "2 of 3 nodes Ready", "readyNodes": 2},
                 id="a-node-not-ready"),
    pytest.param("CREATE_FAILED", 0, [{"code": "Ec2SubnetInvalidConfiguration", "message": "subnet full"}],
                 {"status": "failed", "statusReason": "subnet full", "readyNodes": 0}, id="failed"),
])
def test_pool_progress_follows_the_node_group_and_its_ready_nodes(status: str, ready: int | None,
                                                                  health: list[dict[str, str]],
                                                                  expected: dict[str, Any]) -> None:
    progress = aws_mapping.pool_progress({**GROUP, "status": status, "health": {"issues": health}}, ready)
    assert progress == {"desiredNodes": 3, "nodegroupStatus": status, **expected}


def _obj(kind: ObjectType, object_id: str, **doc: Any) -> InventoryObject:
    return InventoryObject(kind, object_id, {"id": object_id, **doc})


def test_a_poll_publishes_new_pools_then_resource_changes_then_pool_modifications_then_deletions() -> None:
    stored = {("ResourcePoolInfo", "pool"): StoredEntry("old", 1), ("ResourceInfo", "gone"): StoredEntry("x", 1),
              ("ResourcePoolInfo", "old-pool"): StoredEntry("y", 1), ("ResourceInfo", "n1"): StoredEntry("z", 1)}
    current = [_obj(ObjectType.RESOURCE_POOL, "pool", ready=3), _obj(ObjectType.RESOURCE_POOL, "new-pool"),
               _obj(ObjectType.RESOURCE, "n1", ready=True), _obj(ObjectType.RESOURCE, "n3")]
    order = [(c.change_type, c.key[1]) for c in diff(stored, current)]
    assert order == [(ChangeType.CREATED, "new-pool"), (ChangeType.MODIFIED, "n1"), (ChangeType.CREATED, "n3"),
                     (ChangeType.DELETED, "gone"), (ChangeType.MODIFIED, "pool"), (ChangeType.DELETED, "old-pool")]


def _node(name: str, labels: dict[str, str], ready: bool = True) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"uid-{name}", "labels": {"kubernetes.io/hostname": name,
                                                                        "node.kubernetes.io/instance-type": "c5.metal",
                                                                        "kubernetes.io/arch": "amd64", **labels}},
            "spec": {"providerID": f"aws:///us-east-1a/i-{name}"},
            "status": {"capacity": {"cpu": "96"}, "allocatable": {"cpu": "95"},
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "nodeInfo": {"architecture": "amd64"}}}


def _settings(adapter_id: str) -> kubernetes_mapping.ClusterSettings:
    return kubernetes_mapping.ClusterSettings(
        adapter_id=adapter_id, o_cloud_id="ocloud", server_url="https://k8s", name="edge", description="edge",
        pool_label_keys=("eks.amazonaws.com/nodegroup",), location=None, global_location_id=None, version={},
        cordon_alarm_seconds=3600)


def test_a_node_claimed_by_the_aws_backend_is_one_resource_in_the_aws_pool() -> None:
    claimed = {"eks.amazonaws.com/nodegroup": "vdu", "netweave.io/ims-adapter": "edge-aws"}
    nodes = [_node("a", claimed), _node("b", claimed, ready=False), _node("c", {"eks.amazonaws.com/nodegroup": "gp"})]
    cluster = kubernetes_mapping.map_cluster(nodes, _settings("demo-cluster"))
    names = {o.document["extensions"]["name"] for o in cluster
             if o.object_type is ObjectType.RESOURCE and "parentId" not in o.document}
    assert names == {"c"}  # the cluster backend leaves the claimed nodes out
    assert "vdu" not in {o.document["name"] for o in cluster if o.object_type is ObjectType.RESOURCE_POOL}
    seen_by_aws = kubernetes_mapping.map_cluster(nodes[:2], _settings("edge-aws"))
    pool_id = aws_mapping.pool_id("edge-aws", GROUP["nodegroupArn"])
    nodes_view = aws_nodes.cluster_nodes("edge-aws", seen_by_aws, {"vdu": pool_id})
    assert nodes_view.ready == {"vdu": 1}
    resources = [o for o in nodes_view.resources["vdu"] if "parentId" not in o.document]
    assert {(o.document["resourcePoolId"], o.parent_key) for o in resources} == {(pool_id, pool_id)}
    instance = {"InstanceId": "i-a", "InstanceType": "c5.metal",
                "Tags": [{"Key": "eks:cluster-name", "Value": "edge"}, {"Key": "eks:nodegroup-name", "Value": "vdu"}]}
    view = aws_mapping.ClusterView({"name": "edge", "arn": "arn:aws:eks:us-east-1:123456789012:cluster/edge"},
                                   [GROUP], nodes_view)
    inventory = aws_mapping.build_inventory("edge-aws", aws_mapping.Site("us-east-1"), "ocloud", [view],
                                            [{"Instances": [instance], "OwnerId": "123456789012"}], {})
    listed = [o for o in inventory if o.object_type is ObjectType.RESOURCE and "parentId" not in o.document]
    assert sorted(o.document["extensions"]["name"] for o in listed) == ["a", "b"]  # the nodes, not the instance
    pool = next(o for o in inventory if o.object_type is ObjectType.RESOURCE_POOL)
    assert (pool.document["extensions"]["status"], pool.document["extensions"]["readyNodes"]) == ("degraded", 1)


def test_cpu_pinning_is_a_boolean_and_refused_where_the_kubelet_cannot_pin() -> None:
    assert aws_pools.requested_cpu_pinning({}) is False
    with pytest.raises(aws_pools.PoolNotHonoured, match=r"extensions\.cpuPinning"):
        aws_pools.requested_cpu_pinning({"cpuPinning": "true"})
    with pytest.raises(aws_pools.PoolNotHonoured, match="WINDOWS_CORE_2022_x86_64"):
        aws_pools.check_cpu_pinning(True, "c5.metal", 96, "WINDOWS_CORE_2022_x86_64")
    with pytest.raises(aws_pools.PoolNotHonoured, match="1 vCPU"):
        aws_pools.check_cpu_pinning(True, "t2.nano", 1, None)
    aws_pools.check_cpu_pinning(False, "t2.nano", 1, "WINDOWS_CORE_2022_x86_64")  # nothing asked, nothing refused
    user_data = aws_pools.cpu_pinning_user_data()
    assert "Content-Type: application/node.eks.aws" in user_data and "cpuManagerPolicy: static" in user_data
    assert base64.b64decode(base64.b64encode(user_data.encode())).decode() == user_data
