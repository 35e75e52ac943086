"""The AWS IMS adapter against moto's EKS and EC2 (a moto server of this module's own).

moto does not launch EC2 instances for a node group (nor an Auto Scaling group), so the "nodes" here are instances
started with `run_instances` and tagged the way EKS tags managed nodes (`eks:cluster-name`, `eks:nodegroup-name`).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.adapters.ims.aws import AwsInventoryAdapter
from chalicelib.adapters.ims.aws_pools import PoolNotHonoured
from chalicelib.adapters.ims.port import InventoryContext, PoolRequest
from chalicelib.bootstrap import IMS_ADAPTER_TYPES
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, BadRequest, ConfigurationError, Conflict, NotFound
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.ownership import NotOwned
from chalicelib.settings import AdapterConfig

pytestmark = pytest.mark.xdist_group("aws-adapter")  # one moto server, one worker: keep the module together

REGION = "us-east-1"
ACCOUNT = "123456789012"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-node"
CONTEXT = InventoryContext(o_cloud_id="5a1c1c1e-0000-4000-8000-000000000001")
AMI = "ami-12c6146b"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class World:
    eks: Any
    ec2: Any
    subnets: list[str]
    node_instances: dict[str, list[str]]  # node group -> instance ids


def _run(ec2: Any, subnet: str, instance_type: str, count: int, tags: dict[str, str]) -> list[str]:
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    reply = ec2.run_instances(
        ImageId=AMI, MinCount=count, MaxCount=count, InstanceType=instance_type, SubnetId=subnet, TagSpecifications=spec
    )
    return [instance["InstanceId"] for instance in reply["Instances"]]


def _build_world() -> World:
    ec2, eks = boto3.client("ec2", region_name=REGION), boto3.client("eks", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    for name in ("edge", "core"):
        eks.create_cluster(
            name=name,
            version="1.29",
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
            resourcesVpcConfig={"subnetIds": subnets},
        )
    groups = {"du-pool": ("m5.large", 2), "cu-pool": ("c5.metal", 1)}
    instances: dict[str, list[str]] = {}
    for group, (instance_type, size) in groups.items():
        eks.create_nodegroup(
            clusterName="edge",
            nodegroupName=group,
            nodeRole=NODE_ROLE,
            subnets=subnets,
            instanceTypes=[instance_type],
            scalingConfig={"minSize": size, "maxSize": size, "desiredSize": size},
        )
        tags = {"eks:cluster-name": "edge", "eks:nodegroup-name": group}
        instances[group] = sorted(_run(ec2, subnets[0], instance_type, size, tags))
    _run(ec2, subnets[0], "t3.micro", 1, {})  # not an EKS node: no pool, no resource
    gone = _run(ec2, subnets[0], "m5.large", 1, {"eks:cluster-name": "edge", "eks:nodegroup-name": "du-pool"})
    ec2.terminate_instances(InstanceIds=gone)  # terminated nodes are no resources any more
    return World(eks, ec2, subnets, instances)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
            env.setenv("AWS_ACCESS_KEY_ID", "testing")
            env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            env.setenv("AWS_DEFAULT_REGION", REGION)
            env.setenv("AWS_REGION", REGION)
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
                env.delenv(name, raising=False)
            yield _build_world()
    finally:
        server.stop()


def make_adapter(**options: Any) -> AwsInventoryAdapter:
    settings = {"clusters": ["edge"], "location": "edge-site-1", "nodeRoleArn": NODE_ROLE, **options}
    return AwsInventoryAdapter(
        AdapterConfig(id="aws-test", type="aws", options={k: v for k, v in settings.items() if v is not None})
    )


def by_type(objects: list[InventoryObject], kind: ObjectType) -> dict[str, dict[str, Any]]:
    """name (or instance id for resources) -> document."""
    key: Callable[[dict[str, Any]], str] = (
        (lambda d: d["extensions"]["instanceId"]) if kind is ObjectType.RESOURCE else (lambda d: d["name"]))
    return {key(o.document): o.document for o in objects if o.object_type is kind}


def test_registered_with_both_capabilities(world: World) -> None:
    assert IMS_ADAPTER_TYPES["aws"] == "chalicelib.adapters.ims.aws:AwsInventoryAdapter"
    assert make_adapter().capabilities == {Capability.INVENTORY, Capability.POOL_MANAGEMENT}


def test_read_inventory_maps_clusters_node_groups_instances_and_types(world: World) -> None:
    objects = make_adapter(clusters=None).read_inventory(CONTEXT)  # no `clusters`: all of the account's
    managers, pools = by_type(objects, ObjectType.DEPLOYMENT_MANAGER), by_type(objects, ObjectType.RESOURCE_POOL)
    resources, types = by_type(objects, ObjectType.RESOURCE), by_type(objects, ObjectType.RESOURCE_TYPE)
    assert set(managers) == {"edge", "core"}
    edge = managers["edge"]
    assert edge["serviceUri"] == world.eks.describe_cluster(name="edge")["cluster"]["endpoint"]
    assert edge["capabilities"]["kubernetesVersion"] == "1.29"
    assert edge["capacity"] == {"nodeCount": 3, "capacity": {"cpu": 2 * 2 + 96, "memory": (2 * 8192 + 196608) * 2**20}}
    assert managers["core"]["capacity"]["nodeCount"] == 0
    assert {"du-pool", "cu-pool"} <= set(pools)
    du = pools["du-pool"]
    assert du["location"] == "edge-site-1" and du["oCloudId"] == CONTEXT.o_cloud_id
    assert du["extensions"]["scalingConfig"]["desiredSize"] == 2 and du["extensions"]["instanceTypes"] == ["m5.large"]
    assert du["extensions"]["deploymentManagerId"] == edge["deploymentManagerId"]
    expected = {i: group for group, ids in world.node_instances.items() for i in ids}
    assert set(resources) == set(expected)  # untagged and terminated instances are left out
    for instance_id, group in expected.items():
        resource = resources[instance_id]
        assert resource["resourcePoolId"] == pools[group]["resourcePoolId"]
        assert resource["globalAssetId"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"
        assert resource["extensions"]["state"] == "running" and resource["extensions"]["az"].startswith(REGION)
        assert resource["resourceTypeId"] == types[resource["extensions"]["instanceType"]]["resourceTypeId"]
    assert types["c5.metal"]["resourceKind"] == "PHYSICAL" and types["m5.large"]["resourceKind"] == "LOGICAL"
    assert types["m5.large"]["extensions"]["vCpus"] == 2 and types["m5.large"]["extensions"]["memoryMiB"] == 8192
    assert "null" not in json.dumps([o.document for o in objects])


def test_ids_and_documents_are_stable_across_reads(world: World) -> None:
    adapter = make_adapter()
    first = {(o.object_type, o.object_id): o.content_hash for o in adapter.read_inventory(CONTEXT)}
    second = {(o.object_type, o.object_id): o.content_hash for o in make_adapter().read_inventory(CONTEXT)}
    assert first == second and len(first) >= 2 + 3 + 1 + 2  # types, resources, manager, pools


def test_create_resize_delete_a_pool(world: World) -> None:
    adapter = make_adapter()
    request = PoolRequest(
        name="vdu-pool",
        location="edge-site-2",
        extensions={"instanceType": "c5.metal", "replicas": 3, "cpuPinning": True},
    )
    created = adapter.create_resource_pool(request, CONTEXT)
    group = world.eks.describe_nodegroup(clusterName="edge", nodegroupName="vdu-pool")["nodegroup"]
    assert group["instanceTypes"] == ["c5.metal"] and group["scalingConfig"]["desiredSize"] == 3
    assert group["subnets"] == world.subnets and group["nodeRole"] == NODE_ROLE
    listed = by_type(adapter.read_inventory(CONTEXT), ObjectType.RESOURCE_POOL)["vdu-pool"]
    assert listed == created.to_wire() and listed["location"] == "edge-site-2"

    resized = adapter.update_resource_pool(created.resource_pool_id, PoolRequest(name="", replicas=5), CONTEXT)
    scaling = world.eks.describe_nodegroup(clusterName="edge", nodegroupName="vdu-pool")["nodegroup"]["scalingConfig"]
    assert scaling == {"minSize": 3, "maxSize": 5, "desiredSize": 5}
    listed = by_type(adapter.read_inventory(CONTEXT), ObjectType.RESOURCE_POOL)["vdu-pool"]
    assert listed == resized.to_wire() and listed["resourcePoolId"] == created.resource_pool_id

    adapter.delete_resource_pool(created.resource_pool_id)
    assert "vdu-pool" not in by_type(adapter.read_inventory(CONTEXT), ObjectType.RESOURCE_POOL)
    with pytest.raises(NotFound):
        adapter.delete_resource_pool(created.resource_pool_id)


def test_unknown_pool_id_is_not_found(world: World) -> None:
    adapter = make_adapter()
    with pytest.raises(NotFound):
        adapter.update_resource_pool("00000000-0000-5000-8000-000000000000", PoolRequest(name="", replicas=1), CONTEXT)
    with pytest.raises(NotFound):
        adapter.delete_resource_pool("00000000-0000-5000-8000-000000000000")


def test_bad_requests_name_the_field_and_create_nothing(world: World) -> None:
    adapter = make_adapter()
    with pytest.raises(PoolNotHonoured, match=r"extensions\.instanceType"):  # well formed, but EC2 has no such type
        adapter.create_resource_pool(PoolRequest(name="p1", extensions={"instanceType": "z9.bogus", "replicas": 1}),
                                     CONTEXT)
    cases = [
        (PoolRequest(name="bad name", extensions={"instanceType": "m5.large"}), r"^name"),
        (PoolRequest(name="du-pool\n", extensions={"instanceType": "m5.large"}), r"^name"),
        (PoolRequest(name="p1", extensions={"instanceType": "m5.large", "replicas": -1}), r"extensions\.replicas"),
        (
            PoolRequest(name="p1", extensions={"instanceType": "m5.large", "clusterName": "nope"}),
            r"extensions\.clusterName",
        ),
    ]
    for request, field in cases:
        with pytest.raises(BadRequest, match=field):
            adapter.create_resource_pool(request, CONTEXT)
    assert "p1" not in world.eks.list_nodegroups(clusterName="edge")["nodegroups"]


def test_name_collision_is_a_conflict(world: World) -> None:
    with pytest.raises(Conflict):
        make_adapter().create_resource_pool(PoolRequest(name="du-pool", instance_type="m5.large", replicas=1), CONTEXT)


def test_resize_cannot_change_the_instance_type(world: World) -> None:
    adapter = make_adapter()
    created = adapter.create_resource_pool(PoolRequest(name="typed-pool", instance_type="m5.large", replicas=1),
                                           CONTEXT)
    try:
        with pytest.raises(BadRequest, match=r"extensions\.instanceType"):
            adapter.update_resource_pool(created.resource_pool_id,
                                         PoolRequest(name="", instance_type="c5.metal", replicas=3), CONTEXT)
    finally:
        adapter.delete_resource_pool(created.resource_pool_id)


def test_node_groups_netweave_did_not_create_are_never_resized_or_deleted(world: World) -> None:
    """Attack: an SMO with o2ims write access resizes or deletes the operator's own node group (made outside
    netweave, listed as a pool). Both are refused 409 before any EKS call; the node group is unchanged."""
    adapter = make_adapter()
    pool_id = by_type(adapter.read_inventory(CONTEXT), ObjectType.RESOURCE_POOL)["du-pool"]["resourcePoolId"]
    before = world.eks.describe_nodegroup(clusterName="edge", nodegroupName="du-pool")["nodegroup"]
    with pytest.raises(NotOwned, match=r"node group 'du-pool' .* not created by netweave") as resized:
        adapter.update_resource_pool(pool_id, PoolRequest(name="", replicas=0), CONTEXT)
    with pytest.raises(NotOwned, match=r"netweave\.io/managed-by=netweave"):
        adapter.delete_resource_pool(pool_id)
    assert (resized.value.status, resized.value.slug) == (409, "not-owned")
    after = world.eks.describe_nodegroup(clusterName="edge", nodegroupName="du-pool")["nodegroup"]
    assert (after["status"], after["scalingConfig"]) == (before["status"], before["scalingConfig"]) == \
        ("ACTIVE", {"minSize": 2, "maxSize": 2, "desiredSize": 2})

    # What netweave creates carries the tag; an operator hands a node group over by adding it.
    created = adapter.create_resource_pool(PoolRequest(name="own-pool", instance_type="m5.large", replicas=1),
                                           CONTEXT)
    tags = world.eks.describe_nodegroup(clusterName="edge", nodegroupName="own-pool")["nodegroup"]["tags"]
    assert tags["netweave.io/managed-by"] == "netweave"
    adapter.delete_resource_pool(created.resource_pool_id)
    world.eks.create_nodegroup(clusterName="edge", nodegroupName="handed-over", nodeRole=NODE_ROLE,
                               subnets=world.subnets, instanceTypes=["m5.large"],
                               scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1},
                               tags={"netweave.io/managed-by": "netweave"})
    handed = by_type(adapter.read_inventory(CONTEXT), ObjectType.RESOURCE_POOL)["handed-over"]["resourcePoolId"]
    adapter.update_resource_pool(handed, PoolRequest(name="", replicas=2), CONTEXT)
    assert world.eks.describe_nodegroup(clusterName="edge", nodegroupName="handed-over")["nodegroup"][
        "scalingConfig"]["desiredSize"] == 2
    adapter.delete_resource_pool(handed)


def test_cluster_choice_and_node_role_defaults(world: World) -> None:
    everywhere = make_adapter(clusters=None, nodeRoleArn=None, location=None)
    request = PoolRequest(name="p2", instance_type="m5.large", replicas=1)
    with pytest.raises(BadRequest, match=r"extensions\.clusterName"):
        everywhere.create_resource_pool(request, CONTEXT)  # two clusters, none named
    with pytest.raises(BadRequest, match="nodeRoleArn"):  # core has no node group to borrow a role from
        everywhere.create_resource_pool(
            PoolRequest(name="p2", instance_type="m5.large", extensions={"clusterName": "core"}), CONTEXT
        )
    created = everywhere.create_resource_pool(
        PoolRequest(name="p2", instance_type="m5.large", extensions={"clusterName": "edge"}), CONTEXT
    )
    try:
        group = world.eks.describe_nodegroup(clusterName="edge", nodegroupName="p2")["nodegroup"]
        assert group["nodeRole"] == NODE_ROLE  # borrowed from du-pool/cu-pool
        assert created.location == REGION  # neither request nor options name a location
    finally:
        everywhere.delete_resource_pool(created.resource_pool_id)


def test_assumed_role_and_missing_configured_cluster(world: World) -> None:
    adapter = make_adapter(roleArn=f"arn:aws:iam::{ACCOUNT}:role/netweave-inventory", clusters=["ghost", "edge"])
    managers = by_type(adapter.read_inventory(CONTEXT), ObjectType.DEPLOYMENT_MANAGER)
    assert set(managers) == {"edge"}  # the missing cluster is skipped, not fatal


def test_cluster_profile(world: World) -> None:
    adapter = make_adapter()
    manager = by_type(adapter.read_inventory(CONTEXT), ObjectType.DEPLOYMENT_MANAGER)["edge"]
    profile = adapter.cluster_profile(manager["deploymentManagerId"])
    assert profile is not None and profile["profileName"] == "native_k8sapi"
    assert profile["profileData"]["cluster_api_endpoint"] == manager["serviceUri"]
    assert profile["profileData"]["cluster_ca_cert"]
    assert adapter.cluster_profile("00000000-0000-5000-8000-000000000000") is None


class SilentEndpoint:
    """An endpoint that accepts connections and never answers: counts the attempts a client makes."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.server.close()


@pytest.mark.parametrize("role", [None, f"arn:aws:iam::{ACCOUNT}:role/netweave-inventory"])
def test_an_unresponsive_backend_is_unavailable_after_one_attempt_per_call(
    world: World, monkeypatch: pytest.MonkeyPatch, role: str | None
) -> None:
    """`maxAttempts: 1` and the read timeout bound an outage: each call gives up after a single attempt (no
    retries piling up on a poll), counted as connections, not timed."""
    endpoint = SilentEndpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{endpoint.port}")
    try:
        adapter = make_adapter(roleArn=role, maxAttempts=1, connectTimeout=0.5, readTimeout=0.5)
        with pytest.raises(BackendUnavailable, match="aws-test"):
            adapter.read_inventory(CONTEXT)
        with pytest.raises(BackendUnavailable):
            adapter.create_resource_pool(PoolRequest(name="p3", instance_type="m5.large", replicas=1), CONTEXT)
        assert len(endpoint.accepted) == 2  # one attempt for the read, one for the creation
    finally:
        endpoint.close()


def test_options_are_checked_and_construction_touches_no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(ConfigurationError, match="clustres"):
        AwsInventoryAdapter(AdapterConfig(id="aws-test", type="aws", options={"clustres": ["edge"]}))
    adapter = AwsInventoryAdapter(AdapterConfig(id="aws-test", type="aws", options={"region": "eu-west-1"}))
    assert adapter.region == "eu-west-1"  # built without a reachable endpoint: no client yet
