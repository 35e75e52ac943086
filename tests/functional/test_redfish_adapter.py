"""The `redfish` IMS backend against our Redfish simulator in its own process (devtools/redfish_sim): sessions,
paging, $expand, components, health alarms through the inventory poll, and BMC outages."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.ims.redfish import RedfishInventoryAdapter
from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.bootstrap import IMS_ADAPTER_TYPES, Components
from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.settings import AdapterConfig, settings_from_environment
from devtools.localstack.provision import provision
from devtools.redfish_sim.process import RedfishSim, start_redfish_sim

CONTEXT = InventoryContext(o_cloud_id="oc")
PASSWORD_ENV = "NETWEAVE_TEST_REDFISH_PASSWORD"


@pytest.fixture()
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedfishSim]:
    monkeypatch.setenv(PASSWORD_ENV, "calvin")
    fleet = start_redfish_sim(page_size=2)  # five servers: the aggregator's Systems come in three pages
    yield fleet
    fleet.stop()


def options(*endpoints: tuple[str, str], **more: Any) -> dict[str, Any]:
    return {"username": "root", "passwordEnv": PASSWORD_ENV, "retryDelaySeconds": 0,
            "endpoints": [{"name": name, "url": url} for name, url in endpoints], **more}


def adapter(**opts: Any) -> RedfishInventoryAdapter:
    registry: AdapterRegistry[Any] = AdapterRegistry(
        "ims", [AdapterConfig(id="fleet", type="redfish", default=True, options=opts)], IMS_ADAPTER_TYPES)
    built: RedfishInventoryAdapter = registry.get("fleet")
    return built


def top_level(objects: list[InventoryObject]) -> dict[str, dict[str, Any]]:
    return {o.document["extensions"]["serviceTag"]: o.document for o in objects
            if o.object_type is ObjectType.RESOURCE and "parentId" not in o.document}


def get(url: str, auth: tuple[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": "Basic " + base64.b64encode(":".join(auth).encode()).decode()} if auth else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_reads_need_credentials_and_the_adapter_keeps_one_session_per_bmc(sim: RedfishSim) -> None:
    assert get(f"{sim.aggregator}/redfish/v1/")[0] == 200  # the service root is open, as Redfish requires
    assert get(f"{sim.aggregator}/redfish/v1/Systems")[0] == 401
    with pytest.raises(BackendUnavailable, match="rejected our credentials"):
        adapter(**options(("agg", sim.aggregator), username="intruder")).read_inventory(CONTEXT)

    fleet = adapter(**options(("agg", sim.aggregator)))
    for _ in range(2):
        assert len(top_level(fleet.read_inventory(CONTEXT))) == 5
    sessions = get(f"{sim.aggregator}/redfish/v1/SessionService/Sessions", ("root", "calvin"))[1]
    assert sessions["Members@odata.count"] == 1  # BMCs cap sessions: two polls, one session

    sim.expire_sessions()  # the BMC forgot it (timeout, reboot): the next read logs in again instead of failing
    assert len(top_level(fleet.read_inventory(CONTEXT))) == 5
    fleet.close()  # logs out
    sessions = get(f"{sim.aggregator}/redfish/v1/SessionService/Sessions", ("root", "calvin"))[1]
    assert sessions["Members@odata.count"] == 0


def test_every_page_of_systems_is_read_with_or_without_expand(sim: RedfishSim) -> None:
    import sushy

    # sushy alone stops at the first page: the reason the adapter follows Members@odata.nextLink itself
    root = sushy.Sushy(sim.aggregator, username="root", password="calvin")
    assert len(root.get_system_collection().members_identities) == 2

    expanded = adapter(**options(("agg", sim.aggregator))).read_inventory(CONTEXT)
    before = sim.knob("fleet")["requests"]["aggregator"]
    one_by_one = adapter(**options(("agg", sim.aggregator), expand=False)).read_inventory(CONTEXT)
    unexpanded_requests = sim.knob("fleet")["requests"]["aggregator"] - before
    assert sorted(top_level(expanded)) == ["3R650C1", "3R650C2", "7XR11A1", "7XR11A2", "9R750B1"]
    assert [(o.object_id, o.content_hash) for o in expanded] == [(o.object_id, o.content_hash) for o in one_by_one]
    assert before < unexpanded_requests  # $expand read the same fleet in fewer requests


def test_components_are_child_resources_with_parent_ids(sim: RedfishSim) -> None:
    objects = adapter(**options(("du-1", sim.bmcs["7XR11A1"]))).read_inventory(CONTEXT)
    [server] = top_level(objects).values()
    assert server["extensions"]["redfishId"] == "System.Embedded.1"  # iDRAC's own id on its own BMC
    resources = {o.object_id: o.document for o in objects if o.object_type is ObjectType.RESOURCE}
    types = {o.object_id: o.document for o in objects if o.object_type is ObjectType.RESOURCE_TYPE}
    kinds = sorted(types[d["resourceTypeId"]]["extensions"].get("component", "system") for d in resources.values())
    assert kinds.count("memory") == 8 and kinds.count("nic-port") == 6 and kinds.count("accelerator") == 1
    for document in resources.values():
        if document is not server:
            assert document["parentId"] in resources  # every component hangs under the server or its adapter
    assert {e["resourceId"] for e in server["elements"]} <= set(resources)


def open_alarms(components: Components) -> list[dict[str, Any]]:
    return [r.to_wire() for r in components.alarm_store.open_records("fleet")]


@pytest.fixture()
def gateway(moto_url: str, tmp_path: Path, sim: RedfishSim) -> Components:
    """A gateway whose only IMS backend is the simulated fleet (two iDRACs), with tables of its own."""
    config = {"oCloud": {"name": "redfish-site"}, "imsAdapters": [{
        "id": "fleet", "type": "redfish", "default": True,
        "options": options(("du-1", sim.bmcs["7XR11A1"]), ("cu-1", sim.bmcs["9R750B1"]))}]}
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
    settings = settings_from_environment({**os.environ, "NETWEAVE_STAGE": f"t{uuid.uuid4().hex[:8]}",
                                          "NETWEAVE_GATEWAY_CONFIG": str(tmp_path / "gateway.yaml")})
    provision(settings, boto3.session.Session())
    return Components(settings)


def test_a_degraded_server_raises_an_alarm_that_clears_when_it_recovers(sim: RedfishSim,
                                                                       gateway: Components) -> None:
    inventory_handlers.poll_inventory(gateway)
    assert open_alarms(gateway) == []

    sim.set_health("7XR11A1", "Critical", rollup="SysMemPrimaryStatus")  # a DIMM failed
    inventory_handlers.poll_inventory(gateway)
    [alarm] = open_alarms(gateway)
    assert alarm["perceivedSeverity"] == 0 and alarm["extensions"]["alarmName"] == "SystemHealthCritical"
    assert alarm["extensions"]["serviceTag"] == "7XR11A1" and alarm["extensions"]["degraded"] == ["SysMemPrimaryStatus"]
    server = gateway.inventory_store.documents([(ObjectType.RESOURCE.value, alarm["resourceID"])])
    [document] = server.values()
    assert document["extensions"]["serviceTag"] == "7XR11A1"
    assert document["extensions"]["degraded"] == ["SysMemPrimaryStatus"]

    sim.set_health("7XR11A1", "OK")
    inventory_handlers.poll_inventory(gateway)
    assert open_alarms(gateway) == []
    cleared = gateway.alarm_store.get(alarm["alarmEventRecordId"])
    assert cleared is not None and cleared.cleared and cleared.extensions["clearedBy"] == "netweave"


def test_one_bmc_down_keeps_its_last_known_server_and_leaves_the_others_current(sim: RedfishSim,
                                                                               gateway: Components) -> None:
    inventory_handlers.poll_inventory(gateway)
    before = set(gateway.inventory_store.stored_entries("fleet"))
    sim.set_down("7XR11A1", True)
    sim.knob("servers/9R750B1/power", {"powerState": "Off"})  # a change on the BMC that still answers
    [report] = [r for r in inventory_handlers.poll_inventory(gateway) if r["backend"] == "fleet"]
    assert report["status"] == "changed"  # not "unreachable": the backend as a whole was read
    stored = {d["extensions"]["serviceTag"]: d for (kind, _), d in gateway.inventory_store.documents(
        gateway.inventory_store.stored_entries("fleet")).items() if kind == ObjectType.RESOURCE.value
        and "parentId" not in d}
    assert stored["7XR11A1"]["extensions"]["bmcReachable"] is False  # last known, marked
    assert set(gateway.inventory_store.stored_entries("fleet")) == before  # nothing of either server went missing
    assert stored["9R750B1"]["extensions"]["powerState"] == "Off"  # the other BMC's change arrived
    [alarm] = open_alarms(gateway)
    assert alarm["extensions"]["alarmName"] == "BmcUnreachable"

    sim.set_down("7XR11A1", False)
    inventory_handlers.poll_inventory(gateway)
    assert open_alarms(gateway) == []


def test_a_bmc_never_read_since_start_being_down_keeps_the_stored_inventory(sim: RedfishSim) -> None:
    # Built without the stored-snapshot port (the composition root gives one: test_redfish_cold_start.py), the
    # adapter cannot know the down BMC's servers, so the whole backend is reported unreachable rather than emptied.
    sim.set_down("7XR11A1", True)
    fresh = adapter(**options(("du-1", sim.bmcs["7XR11A1"]), ("cu-1", sim.bmcs["9R750B1"])))
    with pytest.raises(BackendUnavailable, match=r"du-1.*connection refused"):
        fresh.read_inventory(CONTEXT)


def test_tls_is_verified_by_default_and_a_site_ca_can_be_named(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "calvin")
    ca = tmp_path / "bmc-ca.pem"
    fleet = start_redfish_sim(servers=1, tls_ca_file=ca)
    try:
        bmc = fleet.bmcs["7XR11A1"]
        assert bmc.startswith("https://")
        with pytest.raises(BackendUnavailable, match="TLS certificate is not trusted"):
            adapter(**options(("du-1", bmc))).read_inventory(CONTEXT)
        trusted = adapter(**options(("du-1", bmc), verifyTls=str(ca)))
        assert list(top_level(trusted.read_inventory(CONTEXT))) == ["7XR11A1"]
        trusted.close()
    finally:
        fleet.stop()
