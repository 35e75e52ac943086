"""The pure Kubernetes → O2ims mapping, on hand-written node dicts (no cluster, no client)."""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.adapters.ims.kubernetes_alarms import alarm_definition_id
from chalicelib.adapters.ims.kubernetes_components import classify, parse_quantity
from chalicelib.adapters.ims.kubernetes_mapping import ClusterSettings, map_cluster
from chalicelib.domain.inventory import (
    AlarmDictionary,
    DeploymentManager,
    InventoryObject,
    ObjectType,
    Resource,
    ResourcePool,
    ResourceType,
)
from chalicelib.domain.models import WireModel

POOL = "netweave.io/resource-pool"
SERVER = "https://cluster.example:6443"
MODELS: dict[ObjectType, type[WireModel]] = {ObjectType.RESOURCE: Resource, ObjectType.RESOURCE_POOL: ResourcePool,
          ObjectType.RESOURCE_TYPE: ResourceType, ObjectType.DEPLOYMENT_MANAGER: DeploymentManager,
          ObjectType.ALARM_DICTIONARY: AlarmDictionary}


def node(name: str, labels: dict[str, Any], capacity: dict[str, str], allocatable: dict[str, str] | None = None,
         provider_id: str | None = None, arch: str = "amd64", uid: str | None = None) -> dict[str, Any]:
    spec = {"providerID": provider_id} if provider_id else {}
    return {
        "metadata": {"name": name, "uid": uid or f"uid-{name}", "labels": labels,
                     "creationTimestamp": "2025-01-01T00:00:00Z"},
        "spec": spec,
        "status": {
            "capacity": capacity, "allocatable": allocatable or capacity,
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "lastHeartbeatTime": "2025-01-02T00:00:00Z", "lastTransitionTime": "2025-01-01T00:00:00Z"},
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "2025-01-02T00:00:00Z"},
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "nodeInfo": {"systemUUID": f"sys-{name}", "machineID": f"machine-{name}", "architecture": arch,
                         "kubeletVersion": "v1.31.4", "osImage": "Ubuntu 22.04.4 LTS"},
        },
    }


def du_node() -> dict[str, Any]:
    labels = {POOL: "far-edge-du", "node.kubernetes.io/instance-type": "c6in.metal", "kubernetes.io/arch": "amd64",
              "topology.kubernetes.io/region": "us-east-1", "topology.kubernetes.io/zone": "us-east-1-nyc-1a",
              "node-role.kubernetes.io/du": "", "node-role.kubernetes.io/worker": ""}
    capacity = {"cpu": "64", "memory": "256Gi", "hugepages-1Gi": "32Gi", "hugepages-2Mi": "0",
                "ephemeral-storage": "500Gi", "pods": "250", "openshift.io/sriov_fh_nic": "8",
                "intel.com/intel_fec_acc100": "1"}
    allocatable = {**capacity, "cpu": "62", "memory": "223Gi"}
    return node("du-1", labels, capacity, allocatable, provider_id="aws:///us-east-1-nyc-1a/i-0du1")


def general_node(name: str, arch: str, zone: str = "us-east-1a") -> dict[str, Any]:
    labels = {"eks.amazonaws.com/nodegroup": "general-compute", "node.kubernetes.io/instance-type": "m7.2xlarge",
              "kubernetes.io/arch": arch, "topology.kubernetes.io/region": "us-east-1",
              "topology.kubernetes.io/zone": zone}
    capacity = {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi", "pods": "58"}
    return node(name, labels, capacity, {**capacity, "cpu": "7360m"}, provider_id=f"aws:///{zone}/i-0{name}", arch=arch)


def unlabelled_node() -> dict[str, Any]:
    """A bare-metal server joined with kubeadm: no pool label, no instance type, no providerID."""
    return node("metal-1", {"kubernetes.io/arch": "amd64"}, {"cpu": "32", "memory": "128Gi", "nvidia.com/gpu": "2"})


def cluster() -> list[dict[str, Any]]:
    return [du_node(), general_node("gen-a", "amd64"), general_node("gen-b", "arm64", "us-east-1b"), unlabelled_node()]


def settings(**overrides: Any) -> ClusterSettings:
    values: dict[str, Any] = {
        "adapter_id": "edge-a", "o_cloud_id": "ocloud-1", "server_url": SERVER,
        "pool_label_keys": (POOL, "eks.amazonaws.com/nodegroup"), "name": "edge-a", "description": "test cluster",
        "version": {"gitVersion": "v1.31.4", "platform": "linux/amd64"},
    }
    return ClusterSettings(**{**values, **overrides})


def of_type(objects: list[InventoryObject], object_type: ObjectType) -> list[dict[str, Any]]:
    return [o.document for o in objects if o.object_type == object_type]


def by_name(objects: list[InventoryObject], object_type: ObjectType) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in of_type(objects, object_type)}


def nodes_of(objects: list[InventoryObject]) -> dict[str, dict[str, Any]]:
    return {d["extensions"]["name"]: d for d in of_type(objects, ObjectType.RESOURCE) if "parentId" not in d}


def children_of(objects: list[InventoryObject], parent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["extensions"]["component"]: d for d in of_type(objects, ObjectType.RESOURCE)
            if d.get("parentId") == parent["resourceId"]}


@pytest.mark.parametrize(("text", "expected"), [
    ("64", Decimal(64)), ("7360m", Decimal("7.36")), ("256Gi", Decimal(256 * 2**30)), ("1e3", Decimal(1000)),
    ("1.5k", Decimal(1500)), ("100Mi", Decimal(100 * 2**20)), ("2E", Decimal(2 * 10**18)), ("0", Decimal(0)),
    ("lots", None), ("", None),
])
def test_quantities_parse_like_kubernetes(text: str, expected: Decimal | None) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(("key", "category"), [
    ("cpu", "cpu"), ("memory", "memory"), ("hugepages-1Gi", "hugepages"), ("ephemeral-storage", "storage"),
    ("nvidia.com/gpu", "gpu"), ("intel.com/intel_fec_acc100", "accelerator"), ("openshift.io/sriov_fh_nic", "network"),
    ("intel.com/sriov_netdevice", "network"), ("example.com/widget", "device"), ("pods", None),
    ("attachable-volumes-aws-ebs", None),
])
def test_capacity_keys_classify_into_components(key: str, category: str | None) -> None:
    component = classify(key)
    assert (component.category if component else None) == category


def test_documents_are_deterministic_and_independent_of_list_order() -> None:
    first = map_cluster(cluster(), settings())
    shuffled = cluster()
    random.Random(7).shuffle(shuffled)
    second = map_cluster(shuffled, settings())
    assert [(o.object_id, o.content_hash) for o in first] == [(o.object_id, o.content_hash) for o in second]


def test_ids_are_distinct_within_and_across_adapters() -> None:
    ours = map_cluster(cluster(), settings())
    theirs = map_cluster(cluster(), settings(adapter_id="edge-b"))
    ids = [o.object_id for o in ours]
    assert len(ids) == len(set(ids))
    assert not set(ids) & {o.object_id for o in theirs}


def test_heartbeats_do_not_change_any_document() -> None:
    later = cluster()
    for item in later:
        for condition in item["status"]["conditions"]:
            condition["lastHeartbeatTime"] = "2030-01-01T00:00:00Z"
    before, after = map_cluster(cluster(), settings()), map_cluster(later, settings())
    assert [o.content_hash for o in before] == [o.content_hash for o in after]


def test_du_node_components_are_child_resources_nested_and_flat() -> None:
    objects = map_cluster(cluster(), settings())
    du = nodes_of(objects)["du-1"]
    children = children_of(objects, du)
    assert sorted(children) == ["cpu", "ephemeral-storage", "hugepages-1Gi", "intel.com/intel_fec_acc100",
                                "memory", "openshift.io/sriov_fh_nic"]  # no pods, no zero hugepages-2Mi
    assert du["elements"] == sorted(children.values(), key=lambda d: d["extensions"]["component"])
    assert all(c["resourcePoolId"] == du["resourcePoolId"] for c in children.values())
    fec = children["intel.com/intel_fec_acc100"]
    assert fec["extensions"] | {"node": "du-1"} == {
        "component": "intel.com/intel_fec_acc100", "category": "accelerator", "unit": "devices", "capacity": "1",
        "capacityValue": 1, "allocatable": "1", "allocatableValue": 1, "node": "du-1"}
    assert children["cpu"]["extensions"]["allocatableValue"] == 62
    assert children["memory"]["extensions"]["capacityValue"] == 256 * 2**30
    assert children["hugepages-1Gi"]["extensions"]["unit"] == "bytes"
    assert fec["globalAssetId"] == "aws:///us-east-1-nyc-1a/i-0du1/intel.com/intel_fec_acc100"
    assert du["tags"] == ["du", "worker"] and du["groups"] == ["far-edge-du"]


def test_node_resource_carries_cluster_facts() -> None:
    du = nodes_of(map_cluster(cluster(), settings()))["du-1"]
    extensions = du["extensions"]
    assert du["globalAssetId"] == "aws:///us-east-1-nyc-1a/i-0du1"
    assert "parentId" not in du
    assert extensions["labels"][POOL] == "far-edge-du"
    assert extensions["capacity"]["intel.com/intel_fec_acc100"] == "1"
    assert extensions["allocatable"]["cpu"] == "62"
    assert extensions["nodeInfo"]["kubeletVersion"] == "v1.31.4"
    assert extensions["addresses"] == [{"type": "InternalIP", "address": "10.0.0.1"}]
    assert extensions["ready"] is True
    assert all("lastHeartbeatTime" not in c for c in extensions["conditions"])


def test_missing_provider_id_falls_back_to_system_uuid() -> None:
    metal = nodes_of(map_cluster(cluster(), settings()))["metal-1"]
    assert metal["globalAssetId"] == "sys-metal-1"


def test_pools_come_from_labels_in_key_order_else_default() -> None:
    objects = map_cluster(cluster(), settings())
    pools = by_name(objects, ObjectType.RESOURCE_POOL)
    assert sorted(pools) == ["default", "far-edge-du", "general-compute"]
    assert pools["general-compute"]["extensions"]["labelKeys"] == ["eks.amazonaws.com/nodegroup"]
    assert "labelKeys" not in pools["default"]["extensions"]
    assert "without a pool label" in pools["default"]["description"]
    members = {name: d["resourcePoolId"] for name, d in nodes_of(objects).items()}
    assert members["gen-a"] == members["gen-b"] == pools["general-compute"]["resourcePoolId"]
    assert members["metal-1"] == pools["default"]["resourcePoolId"]
    only_eks = by_name(map_cluster(cluster(), settings(pool_label_keys=("eks.amazonaws.com/nodegroup",))),
                       ObjectType.RESOURCE_POOL)
    assert sorted(only_eks) == ["default", "general-compute"]


def test_a_pool_carries_the_node_selector_that_picks_exactly_its_nodes() -> None:
    pools = by_name(map_cluster(cluster(), settings()), ObjectType.RESOURCE_POOL)
    assert pools["far-edge-du"]["extensions"]["nodeSelector"] == {POOL: "far-edge-du"}
    assert pools["general-compute"]["extensions"]["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "general-compute"}
    assert "nodeSelector" not in pools["default"]["extensions"], "no label picks the unlabelled nodes alone"
    # du-1 is in far-edge-du (its label of higher precedence) but also carries general-compute's label: that label
    # would select it too, so general-compute has no selector rather than a wrong one.
    shadowed = du_node()
    shadowed["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] = "general-compute"
    pools = by_name(map_cluster([shadowed, *cluster()[1:]], settings()), ObjectType.RESOURCE_POOL)
    assert "nodeSelector" not in pools["general-compute"]["extensions"]
    assert pools["far-edge-du"]["extensions"]["nodeSelector"] == {POOL: "far-edge-du"}


def test_pool_location_from_topology_or_configuration() -> None:
    pools = by_name(map_cluster(cluster(), settings()), ObjectType.RESOURCE_POOL)
    general = pools["general-compute"]
    assert general["globalLocationId"] == "us-east-1"
    assert general["location"] == "us-east-1 (us-east-1a, us-east-1b)"
    assert general["extensions"]["zones"] == ["us-east-1a", "us-east-1b"]
    assert pools["default"]["location"] == pools["default"]["globalLocationId"] == "unknown"
    configured = by_name(map_cluster(cluster(), settings(location="Site NYC-7", global_location_id={
        "far-edge-du": "geo:40.71,-74.00"})), ObjectType.RESOURCE_POOL)
    assert {p["location"] for p in configured.values()} == {"Site NYC-7"}
    assert configured["far-edge-du"]["globalLocationId"] == "geo:40.71,-74.00"
    assert configured["general-compute"]["globalLocationId"] == "us-east-1"
    assert configured["far-edge-du"]["oCloudSiteId"] != configured["general-compute"]["oCloudSiteId"]


def test_resource_types_per_instance_type_and_architecture() -> None:
    objects = map_cluster(cluster(), settings())
    types = by_name(objects, ObjectType.RESOURCE_TYPE)
    nodes = nodes_of(objects)
    assert nodes["gen-a"]["resourceTypeId"] != nodes["gen-b"]["resourceTypeId"]
    amd, arm = types["m7.2xlarge-amd64"], types["m7.2xlarge-arm64"]
    assert (amd["resourceKind"], amd["resourceClass"]) == ("LOGICAL", "COMPUTE")
    assert (amd["vendor"], amd["model"], amd["version"]) == ("Amazon Web Services", "m7.2xlarge", "v1.31.4")
    assert arm["extensions"]["architecture"] == "arm64"
    assert types["c6in.metal-amd64"]["resourceKind"] == "PHYSICAL"
    assert types["unknown-amd64"]["resourceKind"] == "PHYSICAL"  # no provider, no instance type: a server
    assert types["unknown-amd64"]["vendor"] == "unknown"
    fec = types["c6in.metal-amd64-intel.com-intel_fec_acc100"]
    assert (fec["vendor"], fec["model"], fec["resourceClass"]) == ("intel.com", "intel_fec_acc100", "COMPUTE")
    assert types["c6in.metal-amd64-openshift.io-sriov_fh_nic"]["resourceClass"] == "NETWORKING"
    assert types["c6in.metal-amd64-ephemeral-storage"]["resourceClass"] == "STORAGE"
    du_children = children_of(objects, nodes["du-1"])
    assert du_children["intel.com/intel_fec_acc100"]["resourceTypeId"] == fec["resourceTypeId"]


def test_every_type_has_a_complete_alarm_dictionary() -> None:
    objects = map_cluster(cluster(), settings())
    dictionaries = {d["alarmDictionaryId"]: d for d in of_type(objects, ObjectType.ALARM_DICTIONARY)}
    assert len(dictionaries) == 4  # one per node type
    for resource_type in of_type(objects, ObjectType.RESOURCE_TYPE):
        dictionary = resource_type["alarmDictionary"]
        assert resource_type["alarmDictionaryId"] == dictionary["alarmDictionaryId"]
        assert dictionaries[dictionary["alarmDictionaryId"]] == dictionary
    for dictionary in dictionaries.values():
        names = [d["alarmName"] for d in dictionary["alarmDefinition"]]
        assert names == ["NodeNotReady", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable",
                         "NodeCordoned"]
        assert dictionary["managementInterfaceId"] == ["O2IMS"]
        for definition in dictionary["alarmDefinition"]:
            assert definition["alarmDefinitionId"] == alarm_definition_id(dictionary["alarmDictionaryId"],
                                                                          definition["alarmName"])
            assert all(definition[f] for f in ("alarmLastChange", "alarmChangeType", "alarmDescription",
                                               "proposedRepairActions", "clearingType"))


def test_deployment_manager_totals_the_cluster() -> None:
    objects = map_cluster(cluster(), settings())
    [manager] = of_type(objects, ObjectType.DEPLOYMENT_MANAGER)
    assert manager["serviceUri"] == SERVER
    assert manager["extensions"] == {"adapterId": "edge-a", "kubernetesVersion": "v1.31.4", "platform": "linux/amd64"}
    capacity = manager["capacity"]
    assert (capacity["nodeCount"], capacity["readyNodeCount"]) == (4, 4)
    assert capacity["capacity"]["cpu"] == 64 + 8 + 8 + 32
    assert capacity["allocatable"]["cpu"] == pytest.approx(62 + 7.36 + 7.36 + 32)
    assert capacity["capacity"]["memory"] == (256 + 32 + 32 + 128) * 2**30
    assert capacity["capacity"]["nvidia.com/gpu"] == 2
    assert manager["capabilities"]["architectures"] == ["amd64", "arm64"]
    assert manager["capabilities"]["kubernetesVersion"] == "v1.31.4"
    assert "intel.com/intel_fec_acc100" in manager["capabilities"]["extendedResources"]
    assert manager["supportedLocations"] == ["us-east-1"]  # the unlabelled server's "unknown" is no location


def test_nothing_is_null_and_every_document_validates() -> None:
    messy = cluster()
    messy[0]["spec"]["taints"] = None
    messy[0]["status"]["conditions"][0]["message"] = None
    messy[0]["status"]["addresses"].append({"type": "ExternalIP", "address": None})
    messy[1]["metadata"]["annotations"] = None
    messy[2]["status"]["nodeInfo"]["bootID"] = None
    objects = map_cluster(messy, settings(version={}))

    def walk(value: Any, path: str) -> None:
        assert value is not None, path
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}/{index}")

    for item in objects:
        walk(item.document, f"{item.object_type}:{item.object_id}")
        MODELS[item.object_type].model_validate(item.document)


def test_a_node_with_almost_nothing_still_maps() -> None:
    bare = {"metadata": {"name": "lonely"}}
    objects = map_cluster([bare], settings())
    lonely = nodes_of(objects)["lonely"]
    assert lonely["globalAssetId"] == "lonely"
    assert lonely["elements"] == []
    assert by_name(objects, ObjectType.RESOURCE_TYPE)["unknown-unknown"]["version"] == "unknown"
    assert map_cluster([copy.deepcopy(bare)], settings())[-1].object_id == objects[-1].object_id
