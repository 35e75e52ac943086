"""The DTIAS mapping on the simulator's seeded fleet (built in memory, no process) and hand-edited variants of it:
which pool a server lands in, components as child resources, identity, determinism, and alarms from health."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest

from chalicelib.adapters.ims.dtias_client import error_text
from chalicelib.adapters.ims.dtias_mapping import Fleet, build_inventory, global_asset_id
from chalicelib.domain.alarm_rules import node_conditions, node_views
from devtools.dtias_sim.fleet import seed

WIRE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@pytest.fixture()
def data() -> dict[str, Any]:
    return seed()


def mapped(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    fleet = Fleet(data["locations"], data["sites"], data["pools"], data["groups"], data["servers"])
    found: dict[str, list[dict[str, Any]]] = {}
    for obj in build_inventory("dc-fleet", "ocloud-1", fleet):
        found.setdefault(obj.object_type.value, []).append(obj.document)
    return found


def top(objects: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {r["extensions"]["name"]: r for r in objects["ResourceInfo"] if "parentId" not in r}


def test_each_server_lands_in_its_group_else_its_pool_else_its_sites_unassigned_pool(data: dict[str, Any]) -> None:
    objects = mapped(data)
    pools = {p["resourcePoolId"]: p["name"] for p in objects["ResourcePoolInfo"]}
    where = {name: pools[r["resourcePoolId"]] for name, r in top(objects).items()}
    assert sum(1 for p in where.values() if p == "du-cluster-nwk") == 3
    assert sum(1 for p in where.values() if p == "dc-newark-1-ran-du") == 6  # 9 in the DTIAS pool, 3 allocated
    assert sum(1 for p in where.values() if p == "dc-chicago-1-unassigned") == 3
    assert len(where) == 24


def test_components_are_typed_child_resources_with_filterable_names(data: dict[str, Any]) -> None:
    objects = mapped(data)
    types = {t["resourceTypeId"]: t for t in objects["ResourceTypeInfo"]}
    assert all(WIRE_NAME.fullmatch(t["name"]) for t in types.values())
    r760 = next(r for r in top(objects).values() if r["extensions"]["model"] == "PowerEdge R760")
    kinds = {types[e["resourceTypeId"]]["extensions"]["component"] for e in r760["elements"]}
    assert kinds == {"processor", "memory", "nic", "drive", "accelerator"}
    assert types[r760["resourceTypeId"]]["resourceKind"] == "PHYSICAL"
    assert sum(1 for e in r760["elements"] if types[e["resourceTypeId"]]["name"] == "PowerEdge-R760-processor") == 2
    gpu = next(e for e in r760["elements"] if e["extensions"].get("deviceType") == "GPU")
    assert gpu["extensions"]["model"] == "NVIDIA L4" and gpu["parentId"] == r760["resourceId"]


def test_identity_is_the_service_tag_else_the_smbios_uuid(data: dict[str, Any]) -> None:
    server = data["servers"][0]
    assert global_asset_id(server) == f"dell:servicetag:{server['status']['SKU']}"
    untagged = copy.deepcopy(server)
    untagged["status"]["SKU"] = ""
    assert global_asset_id(untagged) == f"smbios-uuid:{server['status']['UUID']}"


def test_an_unchanged_fleet_in_another_order_maps_to_identical_documents(data: dict[str, Any]) -> None:
    first = mapped(data)
    shuffled = {**data, "servers": list(reversed(data["servers"]))}
    assert mapped(shuffled) == first


def test_health_and_power_raise_the_dictionarys_alarms(data: dict[str, Any]) -> None:
    data["servers"][3]["status"]["Health"] = "Critical"
    data["servers"][5]["status"]["PowerState"] = "Off"
    objects = mapped(data)
    pairs = [(kind, doc) for kind, docs in objects.items() for doc in docs]
    conditions, _ = node_conditions("dc-fleet", node_views(pairs), now=0.0, first_seen={})
    raised = sorted((c.attributes["alarmName"], c.attributes["nodeName"], c.severity.value) for c in conditions)
    assert raised == sorted([("ServerHealthCritical", data["servers"][3]["metadata"]["name"], 0),
                             ("ServerPoweredOff", data["servers"][5]["metadata"]["name"], 1)])


def test_dtias_error_bodies_give_their_message_and_code() -> None:
    listed = httpx.Response(404, json={"code": 5, "message": "job x not found", "details": [
        {"reason": "r", "domain": "d", "metadata": {"DTIASErrorCode": "DELL-DTIAS-JOB-50004"}}]})
    token = httpx.Response(401, json={"code": 16, "message": "Invalid user credentials", "details": {
        "metadata": {"DTIASErrorCode": "DELL-DTIAS-IAM-20016"}}})
    assert error_text(listed) == ("job x not found", "DELL-DTIAS-JOB-50004")
    assert error_text(token) == ("Invalid user credentials", "DELL-DTIAS-IAM-20016")
    assert error_text(httpx.Response(502, text="Bad gateway")) == ("Bad gateway", "")
