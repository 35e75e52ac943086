"""A cold container's last known state of a BMC that is down, rebuilt from the stored snapshot
(redfish_last_known): the SMO must see the servers exactly as last read, only marked unreachable."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.ims.redfish_components import SystemReading
from chalicelib.adapters.ims.redfish_last_known import endpoint_systems, stored_facts
from chalicelib.adapters.ims.redfish_mapping import FleetSettings, PoolRule, map_fleet
from chalicelib.domain.inventory import InventoryObject, ObjectType
from tests.unit.fakes.redfish import reading

SETTINGS = FleetSettings(adapter_id="bmc", o_cloud_id="oc", pools=(PoolRule(name="far-edge", systems=("7XR11A1",)),))


def documents(objects: list[InventoryObject]) -> dict[str, dict[str, Any]]:
    return {o.object_id: o.document for o in objects}


def marked_unreachable(document: dict[str, Any]) -> dict[str, Any]:
    if document.get("parentId") or "bmcReachable" not in document.get("extensions", {}):
        return document
    return {**document, "extensions": {**document["extensions"], "bmcReachable": False}}


def rebuilt(stored: list[InventoryObject], endpoint: str) -> list[Any]:
    resources = [o.document for o in stored if o.object_type is ObjectType.RESOURCE]
    return [stored_facts(d, "bmc", [p.name for p in SETTINGS.pools]) for d in endpoint_systems(resources, endpoint)]


def test_a_stored_server_maps_back_to_the_same_documents_marked_unreachable() -> None:
    readings: list[tuple[SystemReading, bool]] = [(reading("7XR11A1", endpoint="du-1", health="Warning",
                                                           rollup="StorageRollupStatus"), True),
                                                  (reading("9R750B1", endpoint="cu-1"), True)]
    stored = map_fleet(readings, SETTINGS)
    # A cold container: cu-1 answers, du-1 is down and known only from the store.
    again = map_fleet(readings[1:], SETTINGS, rebuilt(stored, "du-1"))
    expected = {k: marked_unreachable(d) if d.get("extensions", {}).get("endpoint") == "du-1" else d
                for k, d in documents(stored).items()}
    assert documents(again) == expected  # types, pools (counts, racks), components, health: all as last read
    [server] = [d for d in documents(again).values() if d.get("extensions", {}).get("serviceTag") == "7XR11A1"
                and "parentId" not in d]
    assert server["extensions"]["bmcReachable"] is False and server["extensions"]["health"] == "Warning"
    assert server["extensions"]["pool"] == "far-edge"


def test_a_live_reading_beats_the_stored_one_and_a_dropped_pool_falls_back_to_default() -> None:
    live = [(reading("7XR11A1", endpoint="agg"), True)]
    stored = map_fleet([(reading("7XR11A1", endpoint="du-1"), True)], SETTINGS)
    facts = rebuilt(stored, "du-1")
    both = documents(map_fleet(live, SETTINGS, facts))
    [server] = [d for d in both.values() if d.get("extensions", {}).get("serviceTag") == "7XR11A1"
                and "parentId" not in d]
    assert server["extensions"]["bmcReachable"] is True and server["extensions"]["endpoint"] == "agg"

    unconfigured = stored_facts(next(d for d in documents(stored).values() if d.get("extensions", {}).get(
        "serviceTag") == "7XR11A1" and "parentId" not in d), "bmc", pools=[])
    assert unconfigured.pool == "default"  # the operator removed `far-edge` since the server was stored
