"""The rule that gives a provisioning request its phase (domain/provisioning_record.py): what an SMO watching a
request sees for each thing its backend and the inventory can say."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.provisioning import BackendProgress, ProvisioningPhase, ResourcePhase
from chalicelib.domain.provisioning_record import Member, ProvisionedPool, ProvisioningRecord, assess, pending_work

NOW = "2026-12-07T20:00:00.000Z"
POOL = "pool-1"


def _record(*pools: ProvisionedPool, deleting: bool = False, **status: Any) -> ProvisioningRecord:
    return ProvisioningRecord(
        data={"provisioningRequestId": "0b0e4a3e-2b53-4d61-9d8e-3a0f3c1c0001", "name": "du pool", "description": "",
              "templateName": "eks-nodegroup-pool", "templateVersion": "1.0.0", "templateParameters": {"size": 2}},
        reference="ref", backend="edge-aws", kind="eks-nodegroup", pool_fields={}, pools=list(pools),
        status={"updateTime": NOW, "message": "accepted", "provisioningPhase": "PENDING", **status},
        deleting=deleting)


def _members(count: int, pool: str = POOL) -> dict[str, list[Member]]:
    return {pool: [Member(f"node-{i}", f"ip-10-0-0-{i}") for i in range(count)]}


def test_a_request_whose_pool_is_not_started_is_pending() -> None:
    status, ids = assess(_record(ProvisionedPool(name="du", size=2)), {}, {}, NOW)
    assert status.provisioning_phase is ProvisioningPhase.PENDING
    assert ids == []
    assert pending_work(_record(ProvisionedPool(name="du", size=2)))


def test_creating_is_progressing_with_the_backends_own_word() -> None:
    record = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL))
    status, _ = assess(record, {POOL: BackendProgress("progressing", "CREATING")}, _members(0), NOW)
    assert status.provisioning_phase is ProvisioningPhase.PROGRESSING
    assert "CREATING" in status.message


def test_backend_done_but_nodes_not_yet_in_the_inventory_is_still_progressing() -> None:
    record = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL))
    status, ids = assess(record, {POOL: BackendProgress("ready", "ACTIVE", desired_nodes=2)}, _members(1), NOW)
    assert status.provisioning_phase is ProvisioningPhase.PROGRESSING
    assert "1 of 2" in status.message
    assert ids == ["node-0"]


def test_fulfilled_lists_every_resource_as_provisioned() -> None:
    record = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL))
    status, ids = assess(record, {POOL: BackendProgress("ready", "ACTIVE", desired_nodes=2)}, _members(2), NOW)
    assert status.provisioning_phase is ProvisioningPhase.FULFILLED
    assert ids == ["node-0", "node-1"]
    wire = status.to_wire()["infrastructureResourceProvisioningStatus"]
    assert [s["resourceProvisioningPhase"] for s in wire] == ["PROVISIONED", "PROVISIONED"]
    assert {s["resourceId"] for s in wire} == {"node-0", "node-1"}
    assert not pending_work(record)


def test_a_backend_failure_is_failed_with_its_reason_and_how_to_retry() -> None:
    record = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL))
    progress = BackendProgress("failed", "CREATE_FAILED", "Ec2SubnetInvalidConfiguration: no free IP")
    status, _ = assess(record, {POOL: progress}, _members(0), NOW)
    assert status.provisioning_phase is ProvisioningPhase.FAILED
    assert "Ec2SubnetInvalidConfiguration: no free IP" in status.message
    assert "PUT" in status.message


def test_a_refused_start_is_failed_with_the_refusal() -> None:
    status, _ = assess(_record(ProvisionedPool(name="du", size=2, failure="unknown instance type x1")), {}, {}, NOW)
    assert status.provisioning_phase is ProvisioningPhase.FAILED
    assert "unknown instance type x1" in status.message


def test_lack_of_free_servers_shows_as_awaiting_free_resources() -> None:
    record = _record(ProvisionedPool(name="bm", size=30, resource_pool_id=POOL, job_id="j1"))
    progress = BackendProgress("failed", "failed", "insufficient free resources", awaiting_resources=True)
    status, _ = assess(record, {POOL: progress}, {POOL: []}, NOW)
    phases = [s.resource_provisioning_phase for s in status.infrastructure_resource_provisioning_status]
    assert phases == [ResourcePhase.AWAITING_FREE_RESOURCES]


def test_a_resize_not_yet_started_keeps_the_request_progressing() -> None:
    record = _record(ProvisionedPool(name="du", size=3, resource_pool_id=POOL, resize_to=3))
    status, _ = assess(record, {POOL: BackendProgress("ready", "ACTIVE")}, _members(2), NOW)
    assert status.provisioning_phase is ProvisioningPhase.PROGRESSING
    assert pending_work(record)


def test_a_request_of_several_pools_needs_them_all() -> None:
    record = _record(ProvisionedPool(name="bm", size=2, resource_pool_id="a"),
                     ProvisionedPool(name="bm-2", size=1, resource_pool_id="b"))
    observed = {"a": BackendProgress("ready", "completed"), "b": BackendProgress("progressing", "started")}
    members = {**_members(2, "a"), "b": []}
    status, ids = assess(record, observed, members, NOW)
    assert status.provisioning_phase is ProvisioningPhase.PROGRESSING
    observed["b"] = BackendProgress("ready", "completed")
    status, ids = assess(record, observed, {**members, **_members(1, "b")}, NOW)
    assert status.provisioning_phase is ProvisioningPhase.FULFILLED
    assert len(ids) == 3


def test_deleting_stays_deleting_and_has_work_until_every_pool_deletion_started() -> None:
    record = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL), deleting=True)
    status, _ = assess(record, {POOL: BackendProgress("progressing", "DELETING")}, {}, NOW)
    assert status.provisioning_phase is ProvisioningPhase.DELETING
    assert "DELETING" in status.message
    assert pending_work(record)
    started = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL, deleting=True), deleting=True)
    assert not pending_work(started)


def test_the_info_shows_the_pools_and_the_smos_data() -> None:
    record = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL))
    info = record.to_wire()
    assert info["provisioningRequestReference"] == "ref"
    assert info["templateParameters"] == {"size": 2}
    assert info["extensions"]["resourcePoolIds"] == [POOL]
    assert info["provisionedResourceSet"] == {"infrastructureResourceIds": []}


def test_a_pool_deleted_outside_the_request_fails_it_instead_of_progressing_for_ever() -> None:
    record = _record(ProvisionedPool(name="du", size=2, resource_pool_id=POOL))
    status, _ = assess(record, {POOL: BackendProgress("gone", "gone")}, _members(0), NOW)
    assert status.provisioning_phase is ProvisioningPhase.FAILED
    assert "no longer exists" in status.message
