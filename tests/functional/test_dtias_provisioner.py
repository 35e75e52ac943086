"""The `dtias` backend's PoolProvisioner (provisioning requests, docs/dtias-backend.md "Provisioning requests")
against the DTIAS simulator in its own process: a begun pool is a resource group whose job is followed read by read
to ready with its servers allocated; a failed job says why (and whether servers are lacking); deletion releases the
servers and ends `gone`; a retry with the same token posts nothing new; a resize is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.adapters.ims import dtias_mapping
from chalicelib.adapters.ims.dtias import DtiasInventoryAdapter
from chalicelib.adapters.ims.port import BackendProgress, InventoryContext, PoolProvisioner, PoolRequest
from chalicelib.domain.errors import CapabilityNotSupported, Conflict
from chalicelib.domain.ownership import NotOwned
from chalicelib.settings import AdapterConfig
from devtools.dtias_sim import DtiasSim
from devtools.dtias_sim.process import PASSWORD, USERNAME
from tests.functional.dtias_fixtures import running_sim

CONTEXT = InventoryContext("ocloud-dtias-provisioner")
PASSWORD_ENV = "NETWEAVE_TEST_DTIAS_PROVISIONER_PASSWORD"
SITE, SOURCE = "dc-chicago-1", "dc-chicago-1-ran-du"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DtiasSim]:
    yield from running_sim(tmp_path_factory.mktemp("dtias-provisioner"))


@pytest.fixture(autouse=True)
def healthy_sim(sim: DtiasSim, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    yield
    sim.knob("settings", {"down": False, "failNextJob": None})


def adapter(sim: DtiasSim) -> DtiasInventoryAdapter:
    return DtiasInventoryAdapter(AdapterConfig(id="dc-fleet", type="dtias", options={
        "baseUrl": sim.url, "username": USERNAME, "passwordEnv": PASSWORD_ENV, "jobPollSeconds": 0.01}))


def request(name: str, replicas: int, site: str = SITE, source: str = SOURCE) -> PoolRequest:
    return PoolRequest(name=name, location=site, extensions={"replicas": replicas, "sourcePool": source})


def free_servers(dtias: DtiasInventoryAdapter, source: str = SOURCE) -> int:
    pool_id = next(p["Id"] for p in dtias.client.resource_pools() if p["Name"] == source)
    return sum(1 for s in dtias.client.servers() if s["ResourcePool"] == pool_id and not s["Allocated"])


def follow(dtias: PoolProvisioner, pool_id: str, job_id: str | None, deleting: bool = False
           ) -> list[BackendProgress]:
    """Progress checks until the backend is done (the simulator's job moves one step per read)."""
    seen = [dtias.pool_progress(pool_id, job_id, deleting)]
    while seen[-1].state == "progressing" and len(seen) < 10:
        seen.append(dtias.pool_progress(pool_id, job_id, deleting))
    return seen


def test_a_begun_pool_is_followed_to_ready_with_its_servers_allocated_then_deleted_to_gone(sim: DtiasSim) -> None:
    dtias = adapter(sim)
    free = free_servers(dtias)
    start = dtias.begin_pool(request("prov-du", 2), CONTEXT, token="req-du")
    assert (start.resource_pool_id, start.backend_state) == (
        dtias_mapping.group_pool_id("dc-fleet", "netweave-prov-du"), "pending")
    assert start.job_id and free_servers(dtias) == free  # nothing waited for: the job has not run yet
    seen = follow(dtias, start.resource_pool_id, start.job_id)
    assert [(p.state, p.backend_state) for p in seen] == [("progressing", "started"), ("ready", "completed")]
    assert seen[-1].desired_nodes == 2 and free_servers(dtias) == free - 2
    deletion = dtias.begin_pool_deletion(start.resource_pool_id)
    assert deletion.job_id and deletion.backend_state == "pending"
    ended = follow(dtias, start.resource_pool_id, deletion.job_id, deleting=True)
    assert [p.state for p in ended] == ["progressing", "gone"] and free_servers(dtias) == free
    again = dtias.begin_pool_deletion(start.resource_pool_id)
    assert (again.job_id, again.backend_state) == (None, "gone")


def test_without_a_job_the_group_says_where_the_pool_is(sim: DtiasSim) -> None:
    start = adapter(sim).begin_pool(request("prov-nojob", 1), CONTEXT, token="req-nojob")
    fresh = adapter(sim)  # another Lambda: finds the group among the tenant's
    assert fresh.pool_progress(start.resource_pool_id, None, False).state == "progressing"  # job not run yet
    follow(fresh, start.resource_pool_id, start.job_id)
    ready = fresh.pool_progress(start.resource_pool_id, None, False)
    assert (ready.state, ready.desired_nodes) == ("ready", 1)
    forgotten = fresh.pool_progress(start.resource_pool_id, "no-such-job", False)  # DTIAS forgot the job: 404
    assert forgotten.state == "ready"
    fresh.delete_resource_pool(start.resource_pool_id)
    assert fresh.pool_progress(start.resource_pool_id, None, True).state == "gone"


def test_a_failed_job_is_failed_with_its_reason(sim: DtiasSim) -> None:
    dtias = adapter(sim)
    free = free_servers(dtias)
    sim.knob("settings", {"failNextJob": "BIOS profile du-telco could not be applied"})
    start = dtias.begin_pool(request("prov-fail", 1), CONTEXT, token="req-fail")
    failed = follow(dtias, start.resource_pool_id, start.job_id)[-1]
    assert (failed.state, failed.backend_state, failed.message, failed.awaiting_resources) == (
        "failed", "failed", "BIOS profile du-telco could not be applied", False)
    assert free_servers(dtias) == free


def test_too_many_servers_is_failed_awaiting_free_resources(sim: DtiasSim) -> None:
    dtias = adapter(sim)
    start = dtias.begin_pool(request("prov-huge", 40), CONTEXT, token="req-huge")
    failed = follow(dtias, start.resource_pool_id, start.job_id)[-1]
    assert failed.state == "failed" and failed.awaiting_resources
    assert failed.message.startswith("insufficient free resources")


def test_a_retry_with_the_same_token_posts_nothing_new(sim: DtiasSim) -> None:
    dtias = adapter(sim)
    first = dtias.begin_pool(request("prov-retry", 1), CONTEXT, token="req-retry")
    again = adapter(sim).begin_pool(request("prov-retry", 1), CONTEXT, token="req-retry")
    assert (again.resource_pool_id, again.job_id) == (first.resource_pool_id, None)
    groups = [g for g in dtias.client.resource_groups() if g["id"] == "netweave-prov-retry"]
    assert len(groups) == 1
    with pytest.raises(Conflict, match="already exists"):
        dtias.begin_pool(request("prov-retry", 1), CONTEXT, token="someone-else")
    with pytest.raises(Conflict, match="already exists"):
        dtias.create_resource_pool(request("prov-retry", 1), CONTEXT)  # the seed's synchronous path: no token
    follow(dtias, first.resource_pool_id, first.job_id)
    dtias.delete_resource_pool(first.resource_pool_id)


def test_a_resize_is_not_supported_and_a_foreign_group_is_not_deleted(sim: DtiasSim) -> None:
    dtias = adapter(sim)
    with pytest.raises(CapabilityNotSupported, match="resize"):
        dtias.begin_resize("any-pool", PoolRequest(name="x", replicas=3), CONTEXT)
    foreign = next(g for g in dtias.client.resource_groups() if not dtias_mapping.owned(g))
    with pytest.raises(NotOwned):
        dtias.begin_pool_deletion(dtias_mapping.group_pool_id("dc-fleet", str(foreign["id"])))
