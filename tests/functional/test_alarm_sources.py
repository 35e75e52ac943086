"""Alarms from real conditions on the simulated cluster: node conditions and cordons raise, change and clear alarm
records through the inventory poll, and each transition is published for the unified notifications."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.handlers import inventory as inventory_handlers
from tests.functional.inventory_fixtures import Site, site_environment


@pytest.fixture()
def site(moto_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from site_environment(tmp_path, nodes=3)



@pytest.fixture()
def components(site: Site) -> Components:
    """The API serves this test's site."""
    return site.components

def alarm_events(site: Site) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = site.components.queue_url(resources.EVENTS)
    events: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return [e for e in events if e["source"] == "alarm"]
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def core_api(site: Site) -> Any:
    from kubernetes import client
    from kubernetes import config as kube_config

    return client.CoreV1Api(kube_config.new_client_from_config(str(site.kubesim.kubeconfig_path)))


def set_condition(site: Site, node: str, kind: str, status: str, reason: str = "Test") -> None:
    api = core_api(site)
    current = api.read_node_status(node).status.conditions or []
    conditions = [{"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
                  for c in current if c.type != kind]
    conditions.append({"type": kind, "status": status, "reason": reason, "message": f"{kind} is {status}"})
    api.patch_node_status(node, {"status": {"conditions": conditions}})


def open_alarms(site: Site, backend: str) -> list[dict[str, Any]]:
    return [r.to_wire() for r in site.components.alarm_store.open_records(backend)]


def test_memory_pressure_raises_changes_and_clears_an_alarm(site: Site) -> None:
    inventory_handlers.poll_inventory(site.components)
    assert open_alarms(site, site.adapter_id) == []
    alarm_events(site)
    node = core_api(site).list_node().items[0].metadata.name

    set_condition(site, node, "MemoryPressure", "True", reason="KubeletHasInsufficientMemory")
    inventory_handlers.poll_inventory(site.components)
    [alarm] = open_alarms(site, site.adapter_id)
    assert alarm["perceivedSeverity"] == 1 and alarm["extensions"]["alarmName"] == "MemoryPressure"
    assert alarm["extensions"]["nodeName"] == node and alarm["alarmAcknowledged"] is False
    [raised] = alarm_events(site)
    assert raised["eventType"] == "created" and raised["objectId"] == alarm["alarmEventRecordId"]

    inventory_handlers.poll_inventory(site.components)  # the condition persists: nothing new
    assert alarm_events(site) == [] and len(open_alarms(site, site.adapter_id)) == 1

    set_condition(site, node, "Ready", "Unknown", reason="NodeStatusUnknown")
    inventory_handlers.poll_inventory(site.components)
    names = sorted(a["extensions"]["alarmName"] for a in open_alarms(site, site.adapter_id))
    assert names == ["MemoryPressure", "NodeNotReady"]
    [not_ready] = [a for a in open_alarms(site, site.adapter_id) if a["extensions"]["alarmName"] == "NodeNotReady"]
    assert not_ready["perceivedSeverity"] == 0 and not_ready["extensions"]["conditionStatus"] == "Unknown"
    alarm_events(site)

    set_condition(site, node, "MemoryPressure", "False")
    set_condition(site, node, "Ready", "True")
    inventory_handlers.poll_inventory(site.components)
    assert open_alarms(site, site.adapter_id) == []
    cleared = alarm_events(site)
    assert sorted(e["post"]["perceivedSeverity"] for e in cleared) == [5, 5]
    stored = site.components.alarm_store.get(alarm["alarmEventRecordId"])
    assert stored is not None and stored.cleared and stored.alarm_cleared_time


def test_a_cordoned_node_raises_after_the_allowed_time(site: Site) -> None:
    inventory_handlers.poll_inventory(site.components)
    node = core_api(site).list_node().items[1].metadata.name
    core_api(site).patch_node(node, {"spec": {"unschedulable": True}})
    inventory_handlers.poll_inventory(site.components)
    assert open_alarms(site, site.adapter_id) == []  # an hour by default: pending, not raised
    assert site.components.alarm_store.pending(site.adapter_id)


def test_the_platform_alarm_dictionary_is_served_with_the_backends_own(site: Site, api: Any) -> None:
    from chalicelib.domain.alarm_rules import PLATFORM_ALARMS, platform_dictionary_id
    inventory_handlers.scheduled_poll(site.components)
    o_cloud_id = site.components.settings.gateway.o_cloud.resolved_o_cloud_id()
    reply = api.get(f"/o2ims-infrastructureInventory/v1/alarmDictionaries/{platform_dictionary_id(o_cloud_id)}")
    assert reply.status == 200, reply.body
    dictionary = reply.json()
    assert [d["alarmName"] for d in dictionary["alarmDefinition"]] == list(PLATFORM_ALARMS)
    assert dictionary["managementInterfaceId"] == ["O2IMS"]
    assert {d["clearingType"] for d in dictionary["alarmDefinition"]} == {"AUTOMATIC", "MANUAL"}
    listed = {d["alarmDictionaryId"] for d in api.get("/o2ims-infrastructureInventory/v1/alarmDictionaries").json()}
    types = api.get("/o2ims-infrastructureInventory/v1/resourceTypes").json()
    assert listed == {t["alarmDictionaryId"] for t in types} | {platform_dictionary_id(o_cloud_id)}
