"""Redfish systems → O2ims objects (redfish_mapping, redfish_components), on the documents the simulator renders
for its Dell servers and on hand-written documents of other shapes (sushy-emulator's, older schemas)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from chalicelib.adapters.ims.redfish_components import AdapterReading, PcieReading, SystemReading
from chalicelib.adapters.ims.redfish_mapping import FleetSettings, PoolRule, map_fleet
from chalicelib.domain import alarm_rules as rules
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.query import parse_filter
from devtools.redfish_sim.fleet import SEED
from tests.unit.fakes.redfish import reading

SETTINGS = FleetSettings(adapter_id="bmc", o_cloud_id="oc")


def of_type(objects: list[InventoryObject], kind: ObjectType) -> list[dict[str, Any]]:
    return [o.document for o in objects if o.object_type is kind]


def systems(objects: list[InventoryObject]) -> list[dict[str, Any]]:
    return [d for d in of_type(objects, ObjectType.RESOURCE) if "parentId" not in d]


def test_a_far_edge_server_maps_to_a_resource_with_its_components_as_children() -> None:
    objects = map_fleet([(reading("7XR11A1"), True)], SETTINGS)
    [server] = systems(objects)
    children = [d for d in of_type(objects, ObjectType.RESOURCE) if "parentId" in d]
    kinds: dict[str, int] = {}
    types = {t["resourceTypeId"]: t for t in of_type(objects, ObjectType.RESOURCE_TYPE)}
    for child in children:
        kind = types[child["resourceTypeId"]]["extensions"]["component"]
        kinds[kind] = kinds.get(kind, 0) + 1
    # 1 CPU, the ACC100 once (as a processor: its PCIe device is the same card), 8 DIMMs, 2 NICs with 2 + 4 ports,
    # 2 BOSS drives; the NICs' PCIe devices are not listed twice either.
    assert kinds == {"processor": 1, "accelerator": 1, "memory": 8, "nic": 2, "nic-port": 6, "drive": 2}
    assert server["globalAssetId"] == "7XR11A1"  # the Dell service tag
    assert server["extensions"]["serviceTag"] == "7XR11A1" and server["extensions"]["biosVersion"] == "1.11.2"
    assert server["extensions"]["powerState"] == "On" and server["extensions"]["health"] == "OK"
    nics = {c["resourceId"]: c for c in children if types[c["resourceTypeId"]]["extensions"]["component"] == "nic"}
    ports = [c for c in children if types[c["resourceTypeId"]]["extensions"]["component"] == "nic-port"]
    assert all(p["parentId"] in nics for p in ports)  # a port hangs under its adapter, the adapter under the server
    assert all(n["parentId"] == server["resourceId"] for n in nics.values())
    e810 = next(n for n in nics.values() if "E810" in n["extensions"]["model"])
    assert len(e810["elements"]) == 4 and e810["extensions"]["sriovMaxVirtualFunctions"] == 64
    assert {e["resourceId"] for e in server["elements"]} == {c["resourceId"] for c in children} - {
        p["resourceId"] for p in ports}
    accelerator = next(c for c in children if types[c["resourceTypeId"]]["extensions"]["component"] == "accelerator")
    assert "ACC100" in accelerator["extensions"]["model"]
    assert types[accelerator["resourceTypeId"]]["resourceClass"] == "COMPUTE"


def test_type_and_pool_names_work_unquoted_in_filters() -> None:
    objects = map_fleet([(reading(s.service_tag), True) for s in SEED], SETTINGS)
    names = [d["name"] for d in of_type(objects, ObjectType.RESOURCE_TYPE) + of_type(objects, ObjectType.RESOURCE_POOL)]
    assert "Dell-Inc.-PowerEdge-XR11" in names and "memory-DDR4-32-GiB-3200-MT-s" in names
    for name in names:
        parse_filter(f"(eq,name,{name})")  # raises on a name that would need quoting
        assert name.replace("-", "").replace(".", "").replace("_", "").isalnum()


def test_pools_come_from_configuration_by_id_list_property_or_dell_oem_data() -> None:
    pools = (PoolRule("du-site-1", systems=("7XR11A1",)),
             PoolRule("far-edge", match={"Model": "PowerEdge XR11"}, location="Edge site"),
             PoolRule("core", match={"Oem/Dell/DellSystem/SystemGeneration": "15G Monolithic"}),
             PoolRule("unused", systems=("NOPE",)))
    objects = map_fleet([(reading(s.service_tag), True) for s in SEED], FleetSettings("bmc", "oc", pools))
    by_pool = {p["resourcePoolId"]: p for p in of_type(objects, ObjectType.RESOURCE_POOL)}
    members: dict[str, list[str]] = {by_pool[s["resourcePoolId"]]["name"]: [] for s in systems(objects)}
    for system in systems(objects):
        members[by_pool[system["resourcePoolId"]]["name"]].append(system["extensions"]["serviceTag"])
    # first matching pool wins; every configured pool is listed, even an empty one
    assert members == {"du-site-1": ["7XR11A1"], "far-edge": ["7XR11A2"],
                       "core": sorted(["9R750B1", "3R650C1", "3R650C2"], key=lambda t: str(
                           uuid.uuid5(uuid.NAMESPACE_DNS, t)))}
    assert sorted(p["name"] for p in by_pool.values()) == ["core", "du-site-1", "far-edge", "unused"]
    far_edge = next(p for p in by_pool.values() if p["name"] == "far-edge")
    assert far_edge["location"] == "Edge site" and far_edge["extensions"]["racks"] == ["edge-rack-1"]


def alarm_names(objects: list[InventoryObject]) -> list[tuple[str, str]]:
    return sorted((c.attributes["alarmName"], c.severity.name) for c in alarm_conditions(objects))


def alarm_conditions(objects: list[InventoryObject]) -> list[Any]:
    documents = [(o.object_type.value, o.document) for o in objects]
    return rules.node_conditions("bmc", rules.node_views(documents), 0.0, {})[0]


def test_health_rollup_and_reachability_raise_the_system_alarms() -> None:
    assert alarm_names(map_fleet([(reading(), True)], SETTINGS)) == []
    critical = map_fleet([(reading(health="Critical", rollup="SysMemPrimaryStatus"), True)], SETTINGS)
    assert alarm_names(critical) == [("SystemHealthCritical", "CRITICAL")]
    [server] = systems(critical)
    assert server["extensions"]["degraded"] == ["SysMemPrimaryStatus"]
    [condition] = alarm_conditions(critical)  # the alarm says which server and which subsystem
    assert condition.attributes["serviceTag"] == "7XR11A1" and condition.attributes["degraded"] == [
        "SysMemPrimaryStatus"]
    assert server["extensions"]["healthOwn"] == "OK"  # iDRAC keeps its own Health OK; the rollup carries it
    warning = map_fleet([(reading(health="Warning"), True)], SETTINGS)
    assert alarm_names(warning) == [("SystemHealthWarning", "WARNING")]
    stale = map_fleet([(reading(), False)], SETTINGS)
    assert alarm_names(stale) == [("BmcUnreachable", "MAJOR")]
    assert systems(stale)[0]["extensions"]["bmcReachable"] is False


def test_a_system_seen_through_two_endpoints_is_one_resource_and_a_live_view_wins() -> None:
    live, stale = reading(endpoint="aggregator"), reading(endpoint="bmc-7xr11a1", health="Critical")
    objects = map_fleet([(stale, False), (live, True)], SETTINGS)
    [server] = systems(objects)
    assert server["extensions"]["endpoint"] == "aggregator" and server["extensions"]["bmcReachable"] is True
    ids = [o.object_id for o in objects]
    assert len(ids) == len(set(ids))


def test_the_mapping_does_not_depend_on_read_order() -> None:
    readings = [(reading(s.service_tag), True) for s in SEED]
    expected = [(o.object_id, o.content_hash) for o in map_fleet(readings, SETTINGS)]
    random.Random(7).shuffle(readings)
    assert [(o.object_id, o.content_hash) for o in map_fleet(readings, SETTINGS)] == expected


def test_a_thin_service_maps_what_it_offers_and_says_what_it_could_not_read() -> None:
    """sushy-emulator's fake systems: no processors, memory or adapters; EthernetInterfaces only."""
    system = {"@odata.id": "/redfish/v1/Systems/abc", "Id": "abc", "UUID": "ABC-1", "Name": "fake",
              "Manufacturer": "Sushy Emulator", "PowerState": "Off", "Status": {"State": "Enabled", "Health": "OK"}}
    interface = {"@odata.id": "/redfish/v1/Systems/abc/EthernetInterfaces/00:5c", "Id": "00:5c",
                 "MACAddress": "00:5c", "Status": {"State": "Enabled", "Health": "OK"}}
    empty_slot = {"@odata.id": "/redfish/v1/Systems/abc/Memory/DIMM2", "Id": "DIMM2", "Status": {"State": "Absent"}}
    thin = SystemReading(endpoint="emu", system=system, ethernet_interfaces=(interface,), memory=(empty_slot,),
                         unreadable=("storage",))
    objects = map_fleet([(thin, True)], SETTINGS)
    [server] = systems(objects)
    assert server["globalAssetId"] == "abc-1"  # no service tag, no serial number: the UUID
    assert server["extensions"]["unreadable"] == ["storage"] and server["extensions"]["powerState"] == "Off"
    [child] = [d for d in of_type(objects, ObjectType.RESOURCE) if "parentId" in d]
    assert child["extensions"]["macAddress"] == "00:5c"
    assert [t["name"] for t in of_type(objects, ObjectType.RESOURCE_TYPE)] == ["Sushy-Emulator-unknown",
                                                                                 "ethernet-interface-Ethernet-interface"]


def test_older_network_ports_and_pcie_accelerators_are_read() -> None:
    """NetworkPorts (before NetworkAdapter v1.5 Ports) and an accelerator only listed as a PCIe device."""
    system = {"@odata.id": "/redfish/v1/Systems/S", "Id": "S", "UUID": "u-2", "SerialNumber": "SN2",
              "Manufacturer": "HPE", "Model": "ProLiant DL110 Gen10 Plus"}
    adapter = {"@odata.id": "/redfish/v1/Chassis/1/NetworkAdapters/DE0", "Id": "DE0", "Model": "E810"}
    port = {"@odata.id": "/redfish/v1/Chassis/1/NetworkAdapters/DE0/NetworkPorts/1", "Id": "1",
            "PhysicalPortNumber": "1", "LinkStatus": "Up", "CurrentLinkSpeedMbps": 25000,
            "AssociatedNetworkAddresses": ["b4:96:91:00:00:01"]}
    card = {"@odata.id": "/redfish/v1/Systems/S/PCIeDevices/3", "Id": "3", "Model": "ACC100"}
    function = {"DeviceClass": "ProcessingAccelerators", "VendorId": "0x8086", "DeviceId": "0x0d5c"}
    objects = map_fleet([(SystemReading("hpe", system, network_adapters=(AdapterReading(adapter, (port,)),),
                                        pcie_devices=(PcieReading(card, (function,)),)), True)], SETTINGS)
    [server] = systems(objects)
    assert server["globalAssetId"] == "SN2"
    children = {d["extensions"]["redfishId"]: d for d in of_type(objects, ObjectType.RESOURCE) if "parentId" in d}
    assert children["1"]["extensions"]["currentSpeedGbps"] == 25 and children["1"]["parentId"] == children[
        "DE0"]["resourceId"]
    assert children["3"]["extensions"]["deviceClasses"] == ["ProcessingAccelerators"]
    assert any(t["name"] == "accelerator-ACC100" for t in of_type(objects, ObjectType.RESOURCE_TYPE))
