"""The `dtias` backend against the DTIAS simulator in its own process: inventory with components, paging, the token
flow, pool creation through resource groups and jobs (and their failures), server health as alarms, and an outage
that keeps the last-known inventory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from chalicelib.adapters.ims.dtias import DtiasInventoryAdapter
from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.bootstrap import Components
from chalicelib.handlers import inventory as inventory_handlers
from devtools.dtias_sim import DtiasSim
from devtools.dtias_sim.process import PASSWORD, USERNAME
from tests.functional.conftest import Api, assert_problem
from tests.functional.dtias_fixtures import dtias_adapter_yaml, running_sim
from tests.functional.inventory_fixtures import Site, site_environment

POOLS = "/o2ims/v1/resourcePools"
INVENTORY = "/o2ims-infrastructureInventory/v1"
ALARMS = "/o2ims-infrastructureMonitoring/v1/alarms"
PASSWORD_ENV = "NETWEAVE_TEST_DTIAS_PASSWORD"
SERVERS = 24  # the simulator's seeded fleet


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DtiasSim]:
    yield from running_sim(tmp_path_factory.mktemp("dtias"))


@pytest.fixture(scope="module")
def site(moto_url: str, sim: DtiasSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # pageSize 5: 24 servers take five pages, 6 resource pools two
    dtias = dtias_adapter_yaml(sim, PASSWORD_ENV, "      pageSize: 5\n")
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        yield from site_environment(tmp_path_factory.mktemp("dtias-site"), nodes=2, more_adapters=dtias)
    finally:
        os.environ.pop(PASSWORD_ENV, None)


@pytest.fixture()
def components(site: Site) -> Components:
    return site.components


@pytest.fixture(autouse=True)
def healthy_sim(sim: DtiasSim) -> Iterator[None]:
    yield
    sim.knob("settings", {"down": False, "failNextJob": None, "tokenSeconds": 300})


def stored(components: Components, object_type: str) -> list[dict[str, Any]]:
    keys = [k for k in components.inventory_store.stored_entries("dc-fleet") if k[0] == object_type]
    return list(components.inventory_store.documents(keys).values())


def servers(components: Components) -> list[dict[str, Any]]:
    return [r for r in stored(components, "ResourceInfo") if "parentId" not in r]


def test_every_server_is_listed_with_its_components_across_pages(components: Components) -> None:
    inventory_handlers.poll_inventory(components)
    listed = servers(components)
    assert len(listed) == SERVERS
    xr11 = next(s for s in listed if s["extensions"]["model"] == "PowerEdge XR11")
    tag = xr11["extensions"]["serviceTag"]
    assert xr11["globalAssetId"] == f"dell:servicetag:{tag}" and len(tag) == 7
    assert xr11["extensions"]["biosVersion"] == "1.11.2" and xr11["extensions"]["powerState"] == "On"
    kinds = {e["extensions"].get("model") for e in xr11["elements"]}
    assert "Intel vRAN Accelerator ACC100" in kinds  # the FEC card
    nic = next(e for e in xr11["elements"] if e["extensions"].get("fqdd") == "NIC.Slot.1")
    assert len(nic["elements"]) == 4 and all(p["parentId"] == nic["resourceId"] for p in nic["elements"])
    children = [r for r in stored(components, "ResourceInfo") if r.get("parentId") == xr11["resourceId"]]
    assert {c["resourceId"] for c in children} == {e["resourceId"] for e in xr11["elements"]}


def test_pools_carry_their_site(components: Components) -> None:
    inventory_handlers.poll_inventory(components)
    pools = {p["name"]: p for p in stored(components, "ResourcePoolInfo")}
    assert {"dc-newark-1-ran-du", "dc-chicago-1-core-compute", "du-cluster-nwk", "dc-chicago-1-unassigned"} <= set(
        pools)
    newark = pools["dc-newark-1-ran-du"]
    assert (newark["location"], newark["globalLocationId"]) == ("dc-newark-1", "geo:40.7357,-74.1724")
    assert newark["oCloudSiteId"] == pools["du-cluster-nwk"]["oCloudSiteId"] != pools["dc-chicago-1-ran-du"][
        "oCloudSiteId"]
    in_group = [s for s in servers(components) if s["resourcePoolId"] == pools["du-cluster-nwk"]["resourcePoolId"]]
    assert len(in_group) == 3 and all(s["extensions"]["allocated"] for s in in_group)


def test_an_expired_token_is_refreshed_and_a_revoked_one_replaced(components: Components, sim: DtiasSim) -> None:
    adapter = components.ims_registry.get("dc-fleet")
    inventory_handlers.poll_inventory(components)
    before = httpx.get(f"{sim.url}/_sim/health").json()["grants"]
    sim.knob("settings", {"expireTokens": True, "tokenSeconds": 20})  # revoked now; new ones expire within the margin
    assert len(servers(components)) == SERVERS
    objects = adapter.read_inventory(components.inventory_context)
    after = httpx.get(f"{sim.url}/_sim/health").json()["grants"]
    assert sum(1 for o in objects if o.object_type == "ResourceInfo" and "parentId" not in o.document) == SERVERS
    assert after["password"] == before["password"] + 1  # the 401 on the revoked token: one new log-in
    assert after.get("refresh_token", 0) > before.get("refresh_token", 0)  # short-lived tokens: renewed by refresh


def test_a_pool_is_allocated_listed_refused_a_resize_and_released(api: Api, components: Components) -> None:
    created = api.request("POST", POOLS, body={"name": "du-chi-2", "location": "dc-chicago-1", "backend": "dc-fleet",
                                               "extensions": {"replicas": 2, "sourcePool": "dc-chicago-1-ran-du"}})
    assert created.status == 201, created.body
    pool = created.json()
    assert pool["extensions"]["status"] == "ALLOCATED" and pool["extensions"]["jobStatus"] == "completed"
    assert pool["location"] == "dc-chicago-1"
    inventory_handlers.poll_inventory(components)
    members = [s for s in servers(components) if s["resourcePoolId"] == pool["resourcePoolId"]]
    assert len(members) == 2 and all(s["extensions"]["model"] == "PowerEdge XR11" for s in members)
    resize = api.request("PATCH", f"{POOLS}/{pool['resourcePoolId']}", body={"extensions": {"replicas": 3}})
    assert_problem(resize, 501, "resize")
    assert api.request("DELETE", f"{POOLS}/{pool['resourcePoolId']}").status == 204
    inventory_handlers.poll_inventory(components)
    assert not [s for s in servers(components) if s["resourcePoolId"] == pool["resourcePoolId"]]


def test_a_failed_job_fails_the_creation_with_its_reason(api: Api, sim: DtiasSim) -> None:
    sim.knob("settings", {"failNextJob": "BIOS profile du-telco could not be applied"})
    failed = api.request("POST", POOLS, body={"name": "du-fail", "location": "dc-newark-1", "backend": "dc-fleet",
                                              "extensions": {"replicas": 1, "sourcePool": "dc-newark-1-ran-du"}})
    problem = assert_problem(failed, 409, "BIOS profile du-telco could not be applied")
    assert problem["type"].endswith("backend-job-failed")
    too_many = api.request("POST", POOLS, body={"name": "du-huge", "location": "dc-newark-1", "backend": "dc-fleet",
                                                "extensions": {"replicas": 40, "sourcePool": "dc-newark-1-ran-du"}})
    assert_problem(too_many, 409, "insufficient free resources")
    unknown_site = api.request("POST", POOLS, body={"name": "du-x", "location": "dc-paris-9", "backend": "dc-fleet",
                                                    "extensions": {"replicas": 1}})
    assert_problem(unknown_site, 400, "dc-paris-9")


def test_a_group_netweave_did_not_create_is_not_deleted(api: Api, components: Components) -> None:
    inventory_handlers.poll_inventory(components)
    existing = next(p for p in stored(components, "ResourcePoolInfo") if p["name"] == "du-cluster-nwk")
    assert_problem(api.request("DELETE", f"{POOLS}/{existing['resourcePoolId']}"), 409, "not created by netweave")


def open_alarms(components: Components) -> list[dict[str, Any]]:
    return [r.to_wire() for r in components.alarm_store.open_records("dc-fleet")]


def test_a_degraded_server_raises_an_alarm_that_clears_when_it_recovers(components: Components,
                                                                        sim: DtiasSim) -> None:
    inventory_handlers.poll_inventory(components)
    assert open_alarms(components) == []
    server = next(s for s in servers(components) if s["extensions"]["name"] == "chi-r760-20")
    sim.knob("servers/chi-r760-20", {"health": "Critical"})
    try:
        inventory_handlers.poll_inventory(components)
        [alarm] = open_alarms(components)
        assert alarm["resourceID"] == server["resourceId"] and alarm["perceivedSeverity"] == 0
        assert alarm["extensions"]["alarmName"] == "ServerHealthCritical"
        assert alarm["extensions"]["nodeName"] == "chi-r760-20"
    finally:
        sim.knob("servers/chi-r760-20", {"health": "OK"})
    inventory_handlers.poll_inventory(components)
    assert open_alarms(components) == []


def test_an_outage_keeps_the_last_known_inventory(components: Components, sim: DtiasSim, api: Api) -> None:
    inventory_handlers.poll_inventory(components)
    sim.knob("settings", {"down": True})
    reports = {r["backend"]: r for r in inventory_handlers.poll_inventory(components)}
    assert reports["dc-fleet"]["status"] == "unreachable" and "503" in reports["dc-fleet"]["error"]
    assert len(servers(components)) == SERVERS
    listed = api.get(f"{INVENTORY}/resourcePools?filter=(eq,location,dc-newark-1)")
    assert listed.status == 200 and len(listed.json()) >= 3
    refused = api.request("POST", POOLS, body={"name": "du-down", "location": "dc-newark-1", "backend": "dc-fleet",
                                               "extensions": {"replicas": 1}})
    assert_problem(refused, 503, "503")


def test_an_outage_raises_backend_unreachable_on_every_pool_and_clears_when_dtias_answers(
        components: Components, sim: DtiasSim, api: Api) -> None:
    inventory_handlers.poll_inventory(components)
    pools = {p["resourcePoolId"] for p in stored(components, "ResourcePoolInfo")}
    sim.knob("settings", {"down": True})
    inventory_handlers.poll_inventory(components)
    inventory_handlers.poll_inventory(components)  # a second failed poll raises nothing new
    shown = api.get(f"{ALARMS}?filter=(eq,extensions/alarmName,BackendUnreachable);(eq,alarmClearedTime,null)")
    raised = [a for a in shown.json() if a["extensions"]["backend"] == "dc-fleet"]
    assert {a["resourceID"] for a in raised} == pools and len(raised) == len(pools)
    assert all(a["perceivedSeverity"] == 1 and "503" in a["extensions"]["error"] for a in raised)

    sim.knob("settings", {"down": False})
    inventory_handlers.poll_inventory(components)
    for alarm in raised:
        cleared = api.get(f"{ALARMS}/{alarm['alarmEventRecordId']}").json()
        assert cleared["alarmClearedTime"] and cleared["extensions"]["clearedBy"] == "netweave"


def test_a_pool_still_allocating_when_the_wait_ends_is_completed_by_a_later_poll(
        api: Api, components: Components, sim: DtiasSim, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = components.ims_registry.get("dc-fleet")
    assert isinstance(adapter, DtiasInventoryAdapter)
    monkeypatch.setattr(adapter.options, "job_wait_seconds", 0.0)  # the wait ends after the job's first read
    created = api.request("POST", POOLS, body={"name": "du-slow", "location": "dc-newark-1", "backend": "dc-fleet",
                                               "extensions": {"replicas": 2, "sourcePool": "dc-newark-1-ran-du"}})
    assert created.status == 201, created.body
    pool = created.json()
    assert pool["extensions"]["status"] == "ALLOCATING" and pool["extensions"]["jobStatus"] == "started"
    assert (pool["extensions"]["replicas"], pool["extensions"]["allocatedServers"]) == (2, 0)
    inventory_handlers.poll_inventory(components)
    shown = api.get(f"{INVENTORY}/resourcePools/{pool['resourcePoolId']}").json()
    assert shown["extensions"]["status"] == "ALLOCATING" and shown["extensions"]["allocatedServers"] == 0
    try:
        finish_job(sim, pool["extensions"]["jobId"])  # DTIAS finishes the job in its own time
        [report] = [r for r in inventory_handlers.poll_inventory(components) if r["backend"] == "dc-fleet"]
        assert report["modified"] >= 1  # the SMO is told: the pool's status changed
        shown = api.get(f"{INVENTORY}/resourcePools/{pool['resourcePoolId']}").json()
        assert shown["extensions"]["status"] == "ALLOCATED" and shown["extensions"]["allocatedServers"] == 2
        assert len([s for s in servers(components) if s["resourcePoolId"] == pool["resourcePoolId"]]) == 2
    finally:
        assert api.request("DELETE", f"{POOLS}/{pool['resourcePoolId']}").status == 204


def finish_job(sim: DtiasSim, job_id: str) -> None:
    """The simulator moves a job one step per read of it (devtools/dtias_sim/README.md): read it until it ends."""
    token = httpx.post(f"{sim.url}/identity/v1/tenant/Fulcrum/token/create",
                       json={"client_id": "dtias-client", "grant_type": "password", "username": USERNAME,
                             "password": PASSWORD}).json()["access_token"]
    for _ in range(10):
        brief = httpx.get(f"{sim.url}/v1/tenants/default_tenant/jobs/{job_id}",
                          headers={"Authorization": f"Bearer {token}"}).json()["brief"]
        if brief["Status"] in ("completed", "failed"):
            assert brief["Status"] == "completed", brief
            return
    raise AssertionError(f"job {job_id} never ended")


def test_the_password_is_read_from_ssm_at_every_log_in(moto_url: str, sim: DtiasSim) -> None:
    from chalicelib.adapters.aws_clients import AwsClients
    from chalicelib.domain.errors import BackendUnavailable
    from chalicelib.settings import AdapterConfig

    name = f"/netweave/dev/dtias-{uuid.uuid4().hex[:8]}/password"
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=name, Value=PASSWORD, Type="SecureString")
    adapter = DtiasInventoryAdapter(AdapterConfig(id="dc-ssm", type="dtias", options={
        "baseUrl": sim.url, "username": USERNAME, "passwordSsmParameter": name}),
        secret=AwsClients("us-east-1").backend_password)
    context = InventoryContext(o_cloud_id="oc")
    assert len([o for o in adapter.read_inventory(context) if o.object_type == "ResourceInfo"
                and "parentId" not in o.document]) == SERVERS

    ssm.put_parameter(Name=name, Value="rotated-but-not-in-dtias", Type="SecureString", Overwrite=True)
    sim.knob("settings", {"expireTokens": True})  # the next call must log in again
    with pytest.raises(BackendUnavailable, match="refused netweave's credentials"):
        adapter.read_inventory(context)
    ssm.put_parameter(Name=name, Value=PASSWORD, Type="SecureString", Overwrite=True)
    adapter.read_inventory(context)  # no restart: the next log-in reads the parameter again


def test_the_simulator_refuses_what_dtias_refuses(sim: DtiasSim) -> None:
    login = httpx.post(f"{sim.url}/identity/v1/tenant/Fulcrum/token/create",
                       json={"client_id": "dtias-client", "grant_type": "password", "username": USERNAME,
                             "password": "wrong"})
    assert login.status_code == 401 and login.json()["details"]["metadata"]["DTIASErrorCode"] == "DELL-DTIAS-IAM-20016"
    token = httpx.post(f"{sim.url}/identity/v1/tenant/Fulcrum/token/create",
                       json={"client_id": "dtias-client", "grant_type": "password", "username": USERNAME,
                             "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    no_worker = httpx.post(f"{sim.url}/v1/tenants/default_tenant/resourcegroups", headers=headers,
                           json={"resourceGroup": {"id": "g1", "name": "g1", "resourceSelectors": {}}})
    assert no_worker.status_code == 400 and "worker" in no_worker.json()["message"]
    other_tenant = httpx.get(f"{sim.url}/v1/tenants/acme/inventory/servers", headers=headers)
    assert other_tenant.status_code == 404 and other_tenant.json()["details"][0]["metadata"]["HTTPErrorCode"] == "404"


def test_configuration_refuses_plain_http_to_a_remote_dtias(tmp_path: Path) -> None:
    from chalicelib.domain.errors import ConfigurationError
    from chalicelib.settings import AdapterConfig

    with pytest.raises(ConfigurationError, match="https"):
        DtiasInventoryAdapter(AdapterConfig(id="x", type="dtias", options={
            "baseUrl": "http://dtias.example.net", "username": "u", "passwordEnv": "P"}))
