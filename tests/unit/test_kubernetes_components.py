"""A node's hardware as child resources (kubernetes_components), from the operators' objects kubesim's demo serves."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from chalicelib.adapters.ims.kubernetes_components import Hardware, index_hardware, wire_name
from chalicelib.adapters.ims.kubernetes_mapping import ClusterSettings, map_cluster
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.query import parse_filter
from devtools.kubesim import hardware as operators
from devtools.kubesim.seed import FAR_EDGE, REGIONAL_CU, make_node, node_hardware

SETTINGS = ClusterSettings(adapter_id="edge", o_cloud_id="oc", server_url="https://k:6443",
                           pool_label_keys=("netweave.io/resource-pool",), name="edge", description="test")
FIELDS = {"topology": "topology", "sriovnetworknodestates": "sriov", "sriovfecnodeconfigs": "fec",
          "localvolumediscoveryresults": "disks", "noderesourcetopologies": "topology"}


def server(pool: str = FAR_EDGE, index: int = 2) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A demo DU (or CU) server, a c6i.metal by default, and the operators' objects about it, grouped as the adapter
    lists them."""
    node = make_node("demo", pool, index, 1_780_000_000.0)
    listed: dict[str, list[dict[str, Any]]] = {}
    for (_, plural), obj in node_hardware("demo", pool, index, node):
        listed.setdefault(FIELDS[plural], []).append(obj)
    return node, listed


def resources(objects: list[InventoryObject]) -> list[dict[str, Any]]:
    return [o.document for o in objects if o.object_type == ObjectType.RESOURCE]


def by_category(objects: list[InventoryObject], category: str) -> list[dict[str, Any]]:
    return [r for r in resources(objects) if r.get("extensions", {}).get("category") == category]


@pytest.mark.parametrize(("parts", "name"), [
    (("c6i.metal", "amd64"), "c6i.metal-amd64"),
    (("c6i.metal", "amd64", "sriov-nic"), "c6i.metal-amd64-sriov-nic"),
    (("c6in.metal", "amd64", "intel.com/intel_fec_acc100"), "c6in.metal-amd64-intel.com-intel_fec_acc100"),
    (("Dell R750 (XR)", "amd64", "hugepages-1Gi"), "Dell-R750-XR-amd64-hugepages-1Gi"),
    (("a, b; c|d'e", "x"), "a-b-c-d-e-x"),
])
def test_names_follow_the_rule_and_parse_unquoted(parts: tuple[str, ...], name: str) -> None:
    assert wire_name(*parts) == name
    [[term]] = parse_filter(f"(eq,name,{name})").groups
    assert term.values == (name,)


def test_a_du_server_has_numa_nodes_nics_ports_a_fec_card_and_disks() -> None:
    node, listed = server()
    objects = map_cluster([node], SETTINGS, index_hardware(listed))
    docs = resources(objects)
    [du] = [r for r in docs if "parentId" not in r]
    kinds = sorted(r["extensions"].get("component") or r["description"].split(" of ")[0].split(" ")[0]
                   for r in docs if "parentId" in r)
    assert len(docs) == 1 + 14, kinds
    numa = by_category(objects, "cpu")
    assert [n["extensions"]["numaNode"] for n in numa] == [0, 1]
    assert numa[0]["extensions"]["resources"]["cpu"]["availableValue"] == 63
    nics = [r for r in by_category(objects, "network") if "portCount" in r["extensions"]]
    ports = [r for r in by_category(objects, "network") if "interface" in r["extensions"]]
    assert [n["extensions"]["pciAddress"] for n in nics] == ["0000:51:00", "0000:8a:00"]
    assert all(n["parentId"] == du["resourceId"] and n["extensions"]["portCount"] == 2 for n in nics)
    assert {p["parentId"] for p in ports} == {n["resourceId"] for n in nics}
    assert [(p["extensions"]["interface"], p["extensions"]["vfCount"], p["extensions"]["resourceName"])
            for p in ports] == [("ens1f0", 4, "openshift.io/sriov_fh_nic"), ("ens1f1", 4, "openshift.io/sriov_fh_nic"),
                                ("ens2f0", 8, "openshift.io/sriov_mh_nic"), ("ens2f1", 8, "openshift.io/sriov_mh_nic")]
    assert [e["resourceId"] for e in nics[0]["elements"]] == [p["resourceId"] for p in ports[:2]]
    [fec] = by_category(objects, "accelerator")
    assert (fec["extensions"]["model"], fec["extensions"]["resourceName"]) == ("ACC100", "intel.com/intel_fec_acc100")
    disks = by_category(objects, "storage")
    assert sorted(d["extensions"].get("sizeBytes", 0) for d in disks) == [0, 480 * 10**9, 3840 * 10**9]
    # The node nests its direct parts only; the extended resources the NICs and card explain are not listed twice,
    # and the NUMA nodes replace the node-wide `cpu`.
    assert {e["resourceId"] for e in du["elements"]} == {r["resourceId"] for r in docs
                                                          if r.get("parentId") == du["resourceId"]}
    assert not [r for r in docs if r["extensions"].get("component") in ("cpu", "openshift.io/sriov_fh_nic",
                                                                          "intel.com/intel_fec_acc100")]


def test_a_cu_server_of_the_same_model_shares_its_types() -> None:
    du, du_hw = server(FAR_EDGE)
    cu, cu_hw = server(REGIONAL_CU, 0)
    objects = map_cluster([du, cu], SETTINGS, index_hardware({k: du_hw.get(k, []) + cu_hw.get(k, [])
                                                              for k in {*du_hw, *cu_hw}}))
    types = {o.document["name"] for o in objects if o.object_type == ObjectType.RESOURCE_TYPE}
    assert "c6i.metal-amd64-sriov-nic" in types and "c6i.metal-amd64-fec-accelerator" in types
    pools = {o.document["resourcePoolId"] for o in objects if o.object_type == ObjectType.RESOURCE}
    assert len(pools) == 2
    nic_types = {r["resourceTypeId"] for r in by_category(objects, "network") if "portCount" in r["extensions"]}
    assert len(nic_types) == 1  # one resource type for the NICs of both pools


def test_a_label_change_touches_only_the_node_document() -> None:
    node, listed = server()
    before = {o.object_id: o.content_hash for o in map_cluster([node], SETTINGS, index_hardware(listed))}
    relabelled = copy.deepcopy(node)
    relabelled["metadata"]["labels"]["site.operator/rack"] = "r7"
    shuffled = {kind: list(reversed(items)) for kind, items in listed.items()}
    after = {o.object_id: o.content_hash for o in map_cluster([relabelled], SETTINGS, index_hardware(shuffled))}
    assert set(after) == set(before)
    changed = [object_id for object_id in before if before[object_id] != after[object_id]]
    assert len(changed) == 1  # the node resource; its 14 components keep their ids and documents


def test_part_ids_do_not_depend_on_the_order_the_operators_report_in() -> None:
    node, listed = server()
    reordered = copy.deepcopy(listed)
    state = reordered["sriov"][0]
    random.Random(3).shuffle(state["status"]["interfaces"])
    state["spec"]["interfaces"].reverse()
    random.Random(4).shuffle(reordered["disks"][0]["status"]["discoveredDevices"])
    random.Random(5).shuffle(reordered["topology"][0]["zones"])
    first = map_cluster([node], SETTINGS, index_hardware(listed))
    second = map_cluster([node], SETTINGS, index_hardware(reordered))
    assert [(o.object_id, o.content_hash) for o in first] == [(o.object_id, o.content_hash) for o in second]


def test_without_the_operators_the_node_capacity_still_gives_components() -> None:
    node, _ = server()
    objects = map_cluster([node], SETTINGS, {})
    components = {r["extensions"]["component"] for r in resources(objects) if "parentId" in r}
    assert components == {"cpu", "memory", "hugepages-1Gi", "ephemeral-storage", "openshift.io/sriov_fh_nic",
                          "openshift.io/sriov_mh_nic", "intel.com/intel_fec_acc100"}


def test_an_extended_resource_no_operator_explains_stays_a_component() -> None:
    node, listed = server()
    node["status"]["capacity"]["nvidia.com/gpu"] = "1"
    objects = map_cluster([node], SETTINGS, index_hardware(listed))
    [gpu] = [r for r in resources(objects) if r["extensions"].get("component") == "nvidia.com/gpu"]
    assert gpu["extensions"]["category"] == "gpu"


def test_hardware_is_matched_to_nodes_by_name() -> None:
    index = index_hardware({"disks": [operators.disks("demo", "n1", "u")], "fec": [
        operators.fec_config("n2", "u", "acc200")]})
    assert set(index) == {"n1", "n2"}
    assert index["n1"] == Hardware(disks=index["n1"].disks) and index["n2"].fec is not None


def test_component_documents_are_exactly_what_the_resource_model_serialises() -> None:
    """Components are built as wire documents for speed; they must equal the model's own serialisation."""
    from chalicelib.domain.inventory import Resource

    node, listed = server()
    node["status"]["capacity"]["nvidia.com/gpu"] = "1"
    for document in resources(map_cluster([node], SETTINGS, index_hardware(listed))):
        assert Resource.model_validate(document).to_wire() == document
