"""The AWS backend's pure mapping: boto3-shaped EKS/EC2 documents in, O2ims objects out; pool request validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.ims import aws_mapping as m
from chalicelib.adapters.ims import aws_pools
from chalicelib.adapters.ims.port import PoolRequest
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.inventory import ObjectType, stable_id

ADAPTER = "aws-east"
OCLOUD = "5a1c1c1e-0000-4000-8000-000000000001"
SITE = m.Site("us-east-1", location="edge-site-1")
CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/edge"
NODEGROUP_ARN = "arn:aws:eks:us-east-1:123456789012:nodegroup/edge/du-pool/6ac6c1c4-6a3b-4a4f-9d0e-1c2b3a4d5e6f"

CLUSTER: dict[str, Any] = {
    "name": "edge",
    "arn": CLUSTER_ARN,
    "version": "1.29",
    "platformVersion": "eks.7",
    "status": "ACTIVE",
    "endpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
    "certificateAuthority": {"data": "LS0tLS1CRUdJTg=="},
    "resourcesVpcConfig": {"subnetIds": ["subnet-1", "subnet-2"]},
}
NODEGROUP: dict[str, Any] = {
    "nodegroupName": "du-pool",
    "nodegroupArn": NODEGROUP_ARN,
    "clusterName": "edge",
    "status": "ACTIVE",
    "capacityType": "ON_DEMAND",
    "instanceTypes": ["m5.large"],
    "amiType": "AL2_x86_64",
    "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 2},
    "labels": {},
    "tags": {},
}
M5_LARGE: dict[str, Any] = {
    "InstanceType": "m5.large",
    "CurrentGeneration": True,
    "BareMetal": False,
    "Hypervisor": "nitro",
    "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
    "VCpuInfo": {"DefaultVCpus": 2},
    "MemoryInfo": {"SizeInMiB": 8192},
}
C5_METAL: dict[str, Any] = {
    "InstanceType": "c5.metal",
    "CurrentGeneration": False,
    "BareMetal": True,
    "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
    "VCpuInfo": {"DefaultVCpus": 96},
    "MemoryInfo": {"SizeInMiB": 196608},
}


def instance(
    instance_id: str, nodegroup: str | None = "du-pool", cluster: str = "edge", instance_type: str = "m5.large"
) -> dict[str, Any]:
    tags = [{"Key": "Name", "Value": instance_id}]
    if nodegroup:
        tags += [{"Key": m.CLUSTER_TAG, "Value": cluster}, {"Key": m.NODEGROUP_TAG, "Value": nodegroup}]
    return {
        "InstanceId": instance_id,
        "InstanceType": instance_type,
        "State": {"Name": "running"},
        "PrivateIpAddress": "10.0.1.4",
        "PrivateDnsName": "ip-10-0-1-4.ec2.internal",
        "Placement": {"AvailabilityZone": "us-east-1a"},
        "Architecture": "x86_64",
        "LaunchTime": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "Tags": tags,
    }


def reservations(*instances: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"OwnerId": "123456789012", "Instances": list(instances)}]


def build(
    rs: list[dict[str, Any]], infos: dict[str, Any] | None = None, groups: list[dict[str, Any]] | None = None
) -> dict[ObjectType, list[dict[str, Any]]]:
    views = [m.ClusterView(CLUSTER, [NODEGROUP] if groups is None else groups)]
    objects = m.build_inventory(ADAPTER, SITE, OCLOUD, views, rs, {"m5.large": M5_LARGE} if infos is None else infos)
    grouped: dict[ObjectType, list[dict[str, Any]]] = {}
    for obj in objects:
        grouped.setdefault(obj.object_type, []).append(obj.document)
    return grouped


def test_ids_are_stable_ids_of_the_aws_identity() -> None:
    assert m.deployment_manager_id(ADAPTER, CLUSTER_ARN) == stable_id(ADAPTER, "deployment-manager", CLUSTER_ARN)
    assert m.pool_id(ADAPTER, NODEGROUP_ARN) == stable_id(ADAPTER, "resource-pool", NODEGROUP_ARN)
    assert m.resource_id(ADAPTER, "i-1") == stable_id(ADAPTER, "resource", "i-1")
    assert m.resource_type_id(ADAPTER, "m5.large") == stable_id(ADAPTER, "resource-type", "m5.large")
    assert m.pool_id("other", NODEGROUP_ARN) != m.pool_id(ADAPTER, NODEGROUP_ARN)


def test_cluster_arn_is_derived_from_a_nodegroup_arn() -> None:
    assert m.cluster_arn_of(NODEGROUP_ARN) == CLUSTER_ARN


def test_virtual_instance_type_is_a_logical_compute_type() -> None:
    doc = m.to_resource_type(ADAPTER, "m5.large", M5_LARGE).to_wire()
    assert doc["resourceKind"] == "LOGICAL" and doc["resourceClass"] == "COMPUTE"
    assert (doc["vendor"], doc["model"], doc["name"]) == ("AWS", "m5.large", "m5.large")
    assert doc["version"] == "current/nitro"
    assert doc["extensions"] == {
        "vCpus": 2,
        "memoryMiB": 8192,
        "architectures": ["x86_64"],
        "bareMetal": False,
        "currentGeneration": True,
    }


def test_metal_instance_type_is_physical() -> None:
    doc = m.to_resource_type(ADAPTER, "c5.metal", C5_METAL).to_wire()
    assert doc["resourceKind"] == "PHYSICAL" and doc["version"] == "previous/bare-metal"
    assert m.to_resource_type(ADAPTER, "m7i.metal-24xl").to_wire()["resourceKind"] == "PHYSICAL"
    assert m.is_bare_metal("c5.metal") and not m.is_bare_metal("c5.large")


def test_node_group_becomes_a_pool() -> None:
    doc = m.to_resource_pool(ADAPTER, NODEGROUP, SITE, OCLOUD).to_wire()
    assert doc["resourcePoolId"] == m.pool_id(ADAPTER, NODEGROUP_ARN)
    assert (doc["name"], doc["oCloudId"], doc["location"], doc["globalLocationId"]) == (
        "du-pool",
        OCLOUD,
        "edge-site-1",
        "edge-site-1",
    )
    ext = doc["extensions"]
    assert ext["instanceTypes"] == ["m5.large"] and ext["instanceType"] == "m5.large" and ext["replicas"] == 2
    assert ext["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 2}
    assert (ext["status"], ext["nodegroupStatus"], ext["desiredNodes"]) == ("ready", "ACTIVE", 2)
    assert (ext["capacityType"], ext["clusterName"]) == ("ON_DEMAND", "edge")
    assert ext["deploymentManagerId"] == m.deployment_manager_id(ADAPTER, CLUSTER_ARN)
    assert "labels" not in ext  # empty labels are left out rather than emitted as {}
    assert "healthIssues" not in ext  # a healthy node group
    assert ext["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "du-pool"}, "EKS's label on the group's nodes"


def test_node_group_health_issues_reach_the_pool_for_the_degraded_alarm() -> None:
    issues = [{"code": "Ec2SubnetInvalidConfiguration", "message": "no free IPs", "resourceIds": ["subnet-1"]}]
    doc = m.to_resource_pool(ADAPTER, {**NODEGROUP, "health": {"issues": issues}}, SITE, OCLOUD).to_wire()
    assert doc["extensions"]["healthIssues"] == issues


def test_every_instance_type_has_an_alarm_dictionary_in_the_inventory() -> None:
    inventory = build(reservations(instance("i-1")))
    [resource_type] = inventory[ObjectType.RESOURCE_TYPE]
    [dictionary] = inventory[ObjectType.ALARM_DICTIONARY]
    assert resource_type["alarmDictionaryId"] == dictionary["alarmDictionaryId"]
    assert resource_type["alarmDictionary"] == dictionary
    assert [d["alarmName"] for d in dictionary["alarmDefinition"]] == ["InstanceNotRunning"]


def test_pool_location_prefers_the_tag_then_the_option_then_the_region() -> None:
    tagged = {**NODEGROUP, "tags": {m.LOCATION_TAG: "edge-site-9"}}
    assert m.to_resource_pool(ADAPTER, tagged, SITE, OCLOUD).location == "edge-site-9"
    bare_site = m.Site("eu-west-1", global_location_id="GLN-1")
    pool = m.to_resource_pool(ADAPTER, NODEGROUP, bare_site, OCLOUD)
    assert (pool.location, pool.global_location_id) == ("eu-west-1", "GLN-1")


def test_instance_becomes_a_resource() -> None:
    arn = m.instance_arn(instance("i-1"), "123456789012", "us-east-1", "aws")
    assert arn == "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
    assert m.instance_arn(instance("i-1"), None, "us-east-1", "aws") == "i-1"
    doc = m.to_resource(ADAPTER, instance("i-1"), "pool-1", arn).to_wire()
    assert doc["resourceId"] == m.resource_id(ADAPTER, "i-1") and doc["resourcePoolId"] == "pool-1"
    assert doc["resourceTypeId"] == m.resource_type_id(ADAPTER, "m5.large") and doc["globalAssetId"] == arn
    assert doc["extensions"] == {
        "instanceId": "i-1",
        "instanceType": "m5.large",
        "state": "running",
        "privateIp": "10.0.1.4",
        "privateDnsName": "ip-10-0-1-4.ec2.internal",
        "az": "us-east-1a",
        "launchTime": "2025-01-02T03:04:05+00:00",
        "architecture": "x86_64",
        "clusterName": "edge",
        "nodegroupName": "du-pool",
    }
    assert "Name=i-1" in doc["tags"] and "parentId" not in doc


def test_resource_without_optional_attributes_carries_no_null() -> None:
    minimal = {"InstanceId": "i-2", "Tags": instance("i-2")["Tags"]}
    doc = m.to_resource(ADAPTER, minimal, "pool-1", "i-2").to_wire()
    assert "null" not in json.dumps(doc)
    assert set(doc["extensions"]) == {"instanceId", "instanceType", "clusterName", "nodegroupName"}


def test_inventory_groups_tagged_instances_under_their_pools() -> None:
    rs = reservations(
        instance("i-2"),
        instance("i-1"),
        instance("i-3", nodegroup=None),
        instance("i-4", nodegroup="gone"),
        instance("i-5", cluster="other"),
    )
    inventory = build(rs)
    pools, resources = inventory[ObjectType.RESOURCE_POOL], inventory[ObjectType.RESOURCE]
    assert [p["name"] for p in pools] == ["du-pool"]
    assert [r["extensions"]["instanceId"] for r in resources] == ["i-1", "i-2"]  # untagged and orphans left out
    assert {r["resourcePoolId"] for r in resources} == {pools[0]["resourcePoolId"]}
    assert [t["name"] for t in inventory[ObjectType.RESOURCE_TYPE]] == ["m5.large"]


def test_deployment_manager_sums_its_instances() -> None:
    manager = build(reservations(instance("i-1"), instance("i-2")))[ObjectType.DEPLOYMENT_MANAGER][0]
    assert manager["deploymentManagerId"] == m.deployment_manager_id(ADAPTER, CLUSTER_ARN)
    assert manager["serviceUri"] == CLUSTER["endpoint"] and manager["name"] == "edge"
    assert manager["capabilities"]["kubernetesVersion"] == "1.29"
    assert manager["capacity"] == {"nodeCount": 2, "capacity": {"cpu": 4, "memory": 16384 * 2**20}}
    assert manager["supportedLocations"] == ["edge-site-1"]
    assert manager["oCloudId"] == OCLOUD


def test_supported_locations_are_global_location_ids() -> None:
    site = m.Site("us-east-1", location="edge-site-1", global_location_id="GLN-7")
    views = [m.ClusterView(CLUSTER, [NODEGROUP])]
    objects = m.build_inventory(ADAPTER, site, OCLOUD, views, [], {})
    manager = next(o.document for o in objects if o.object_type is ObjectType.DEPLOYMENT_MANAGER)
    assert manager["supportedLocations"] == ["GLN-7"]


def test_cluster_without_endpoint_or_pools_still_maps() -> None:
    creating = {"name": "new", "arn": CLUSTER_ARN.replace("edge", "new"), "status": "CREATING"}
    doc = m.to_deployment_manager(ADAPTER, creating, SITE, OCLOUD, [], m.capacity([], {})).to_wire()
    assert doc["serviceUri"] == "https://eks.us-east-1.amazonaws.com/clusters/new"
    assert doc["supportedLocations"] == ["edge-site-1"] and "null" not in json.dumps(doc)
    assert m.profile(creating, "us-east-1") is None


def test_unknown_instance_types_still_give_resource_types() -> None:
    inventory = build(reservations(instance("i-1", instance_type="x9.huge")), infos={})
    types = {t["name"]: t for t in inventory[ObjectType.RESOURCE_TYPE]}
    assert set(types) == {"m5.large", "x9.huge"}
    resource = inventory[ObjectType.RESOURCE][0]
    assert resource["resourceTypeId"] == types["x9.huge"]["resourceTypeId"]
    assert inventory[ObjectType.DEPLOYMENT_MANAGER][0]["capacity"]["capacity"] == {"cpu": 0, "memory": 0}


def test_mapping_is_deterministic() -> None:
    forward = reservations(instance("i-1"), instance("i-2"))
    assert build(forward) == build(reservations(instance("i-2"), instance("i-1")))


def test_profile_gives_endpoint_and_ca() -> None:
    data = m.profile(CLUSTER, "us-east-1")
    assert data is not None and data["profileName"] == "native_k8sapi"
    assert data["profileData"] == {
        "cluster_api_endpoint": CLUSTER["endpoint"],
        "cluster_ca_cert": "LS0tLS1CRUdJTg==",
        "cluster_name": "edge",
        "region": "us-east-1",
        "auth_method": "aws-iam",
    }


@pytest.mark.parametrize("name", ["vDU-Pool", "a", "pool_1", "x" * 63])
def test_valid_names(name: str) -> None:
    assert aws_pools.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-pool", "edge pool", "x" * 64, "pöol"])
def test_invalid_names_are_bad_requests_naming_the_field(name: str) -> None:
    with pytest.raises(BadRequest, match=r"^name"):
        aws_pools.validate_name(name)


def test_replicas_and_instance_type_come_from_the_request_or_its_extensions() -> None:
    assert aws_pools.requested_replicas(PoolRequest(name="p", replicas=3)) == 3
    assert aws_pools.requested_replicas(PoolRequest(name="p", extensions={"replicas": 0})) == 0
    assert aws_pools.requested_replicas(PoolRequest(name="p")) is None
    request = PoolRequest(name="p", extensions={"instanceType": "c5.metal"})
    assert aws_pools.requested_instance_type(request, None) == "c5.metal"
    assert aws_pools.requested_instance_type(PoolRequest(name="p"), "m5.large") == "m5.large"


@pytest.mark.parametrize("replicas", [-1, True, "3", 1.5])
def test_bad_replicas_are_rejected(replicas: Any) -> None:
    with pytest.raises(BadRequest, match=r"extensions\.replicas"):
        aws_pools.requested_replicas(PoolRequest(name="p", extensions={"replicas": replicas}))


def test_missing_instance_type_without_default_is_rejected() -> None:
    with pytest.raises(BadRequest, match=r"extensions\.instanceType"):
        aws_pools.requested_instance_type(PoolRequest(name="p"), None)


def test_create_scaling() -> None:
    assert aws_pools.create_scaling(10, {}) == {"minSize": 10, "maxSize": 10, "desiredSize": 10}
    assert aws_pools.create_scaling(0, {}) == {"minSize": 0, "maxSize": 1, "desiredSize": 0}
    assert aws_pools.create_scaling(None, {}) == {"minSize": 1, "maxSize": 1, "desiredSize": 1}
    assert aws_pools.create_scaling(2, {"minSize": 1, "maxSize": 5}) == {"minSize": 1, "maxSize": 5, "desiredSize": 2}
    with pytest.raises(BadRequest, match="between"):
        aws_pools.create_scaling(6, {"maxSize": 5})


def test_update_scaling_widens_bounds_only_as_needed() -> None:
    current = {"minSize": 2, "maxSize": 4, "desiredSize": 3}
    assert aws_pools.update_scaling(current, 5, {}) == {"minSize": 2, "maxSize": 5, "desiredSize": 5}
    assert aws_pools.update_scaling(current, 0, {}) == {"minSize": 0, "maxSize": 4, "desiredSize": 0}
    assert aws_pools.update_scaling(current, None, {"maxSize": 8}) == {"minSize": 2, "maxSize": 8, "desiredSize": 3}
    assert aws_pools.update_scaling(current, None, {}) is None
    with pytest.raises(BadRequest, match=r"extensions\.maxSize"):
        aws_pools.update_scaling(current, 1, {"maxSize": 0})


def test_optional_create_fields() -> None:
    fields = aws_pools.optional_create_fields(
        {"capacityType": "SPOT", "diskSize": 50, "labels": {"tier": "du"}, "cpuPinning": True}
    )
    assert fields == {"capacityType": "SPOT", "diskSize": 50, "labels": {"tier": "du"}}
    with pytest.raises(BadRequest, match=r"extensions\.capacityType"):
        aws_pools.optional_create_fields({"capacityType": "CHEAP"})
    with pytest.raises(BadRequest, match=r"extensions\.labels"):
        aws_pools.optional_create_fields({"labels": {"a": 1}})
