"""A cold container's last known state of a BMC that is down, rebuilt from the stored snapshot
(redfish_last_known): the SMO must see the servers exactly as last read, only marked unreachable."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.ims.redfish import RedfishInventoryAdapter
from chalicelib.adapters.ims.redfish_components import SystemReading
from chalicelib.adapters.ims.redfish_last_known import endpoint_systems, stored_facts
from chalicelib.adapters.ims.redfish_mapping import FleetSettings, PoolRule, map_fleet
from chalicelib.domain.errors import BackendUnavailable, ConfigurationError
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.settings import AdapterConfig
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


class FakeSnapshot:
    """The stored snapshot port: what an earlier container stored for the backend; counts its reads."""

    def __init__(self, objects: list[InventoryObject], fails: bool = False) -> None:
        self.stored = {(o.object_type.value, o.object_id): o.document for o in objects}
        self.fails, self.reads = fails, 0

    def stored_entries(self, backend: str) -> dict[tuple[str, str], object]:
        self.reads += 1
        if self.fails:
            raise OSError("DynamoDB is throttling")
        return dict.fromkeys(self.stored, object())

    def documents(self, keys: Any) -> dict[tuple[str, str], dict[str, Any]]:
        return {k: self.stored[k] for k in keys}


def cold_adapter(snapshot: FakeSnapshot | None, outcomes: dict[str, Any],
                 secret: Any = None, **options: Any) -> RedfishInventoryAdapter:
    config = AdapterConfig(id="bmc", type="redfish", options={
        "username": "root", "passwordEnv": "UNSET", "pools": [{"name": "far-edge", "systems": ["7XR11A1"]}],
        "endpoints": [{"name": n, "url": f"https://{n}.example"} for n in outcomes], **options})
    adapter = RedfishInventoryAdapter(config, snapshot=snapshot, secret=secret)
    adapter._read_or_error = lambda endpoint: outcomes[endpoint.name]  # type: ignore[method-assign]
    return adapter


def test_a_cold_adapter_serves_a_down_endpoint_from_the_snapshot_and_reads_it_once() -> None:
    stored = map_fleet([(reading("7XR11A1", endpoint="du-1"), True), (reading("9R750B1", endpoint="cu-1"), True)],
                       SETTINGS)
    snapshot = FakeSnapshot(stored)
    adapter = cold_adapter(snapshot, {"du-1": "endpoint du-1 is unreachable: connection refused",
                                      "cu-1": [reading("9R750B1", endpoint="cu-1")]})
    for _ in range(2):
        served = documents(adapter.read_inventory(InventoryContext(o_cloud_id="oc")))
        assert served == {k: marked_unreachable(d) if d.get("extensions", {}).get("endpoint") == "du-1" else d
                          for k, d in documents(stored).items()}
    assert snapshot.reads == 1  # a warm container does not read the store again on every poll


def test_without_a_readable_snapshot_or_anything_known_the_backend_is_unavailable() -> None:
    down = "endpoint du-1 is unreachable: connection refused"
    live = {"cu-1": [reading("9R750B1", endpoint="cu-1")]}
    with pytest.raises(BackendUnavailable, match="could not be read from the stored snapshot"):
        cold_adapter(FakeSnapshot([], fails=True), {"du-1": down, **live}).read_inventory(InventoryContext("oc"))
    with pytest.raises(BackendUnavailable, match="connection refused"):  # nothing answered, nothing stored
        cold_adapter(FakeSnapshot([]), {"du-1": down}).read_inventory(InventoryContext("oc"))
    # Never stored and down while another answers: only what is known is served
    served = cold_adapter(FakeSnapshot([]), {"du-1": down, **live}).read_inventory(InventoryContext("oc"))
    assert {d["extensions"]["serviceTag"] for d in documents(served).values()
            if "parentId" not in d and "serviceTag" in d.get("extensions", {})} == {"9R750B1"}


def test_the_password_comes_from_the_secret_port_at_connect_time() -> None:
    asked: list[str] = []

    def secret(name: str) -> str:
        asked.append(name)
        return "calvin"

    adapter = cold_adapter(None, {"du-1": []}, secret=secret, passwordSsmParameter="/netweave/dev/bmc")
    assert adapter._password(adapter.options) == "calvin" and asked == ["/netweave/dev/bmc"]
    with pytest.raises(ConfigurationError, match="passwordSsmParameter"):
        cold_adapter(None, {"du-1": []}, passwordSsmParameter="/netweave/dev/bmc")
