"""What the scheduled inventory poll costs in AWS requests on an unchanged O-Cloud (issue 20, "Inventory poll
handler"), and that what an unchanged poll skips still happens when it should: an alarm the SMO cleared while its
condition holds is raised again, a recovered cluster's unreachable alarm clears, a cordon raises once old enough,
sites follow the configuration, cleared alarms are purged when due. Requests are counted at the botocore level
against a real moto server (devtools/aws_requests.py), so the counts are netweave's own."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.bootstrap import Components
from chalicelib.domain.inventory import ObjectType
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.services import alarms as alarm_service
from chalicelib.services.alarm_evaluation import AlarmPorts
from chalicelib.settings import settings_from_environment
from devtools.aws_requests import AwsRequestCounter
from devtools.kubesim import kubeconfig
from tests.functional.conftest import free_port
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_alarm_sources import alarm_events, core_api, open_alarms, set_condition

DAY = 86400
# What an unchanged poll of this cluster sends: one BatchGetItem (manifests, alarm evaluation stamp, purge schedule,
# the asset index's generation). A new container reads the asset index too (the cluster's nodes are servers, linked
# against the other backends' views) and looks its queues' URLs up.
UNCHANGED = {("dynamodb", "BatchGetItem"): 1}
NEW_CONTAINER = {**UNCHANGED, ("dynamodb", "Query"): 1, ("sqs", "GetQueueUrl"): 2}


class Gateway(Components):
    """A gateway whose alarm services see the clock `shift` seconds ahead (time passing, without waiting)."""

    shift = 0.0

    def alarm_ports(self) -> AlarmPorts:
        return dataclasses.replace(super().alarm_ports(), clock=lambda: time.time() + self.shift)


@pytest.fixture()
def site(moto_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from site_environment(tmp_path)


def gateway(site: Site, extra: str = "", gateway_file: Path | None = None) -> tuple[Gateway, AwsRequestCounter]:
    """A new container's gateway for the site (registration configured), its AWS requests counted."""
    if extra:
        gateway_file = site.gateway_file.with_name(f"gateway-{time.time_ns()}.yaml")
        gateway_file.write_text(site.gateway_file.read_text() + extra)
    env = {**os.environ, "NETWEAVE_STAGE": site.stage,
           "NETWEAVE_GATEWAY_CONFIG": str(gateway_file or site.gateway_file),
           "NETWEAVE_SMO_REGISTRATION_URL": "https://smo.example/register", "NETWEAVE_PUBLIC_URL": "https://o2.example"}
    parts = Gateway(settings_from_environment(env))
    return parts, AwsRequestCounter().attach(parts.clients.dynamodb, parts.clients.sqs)


def poll(parts: Components, counter: AwsRequestCounter) -> dict[tuple[str, str], int]:
    counter.reset()
    inventory_handlers.scheduled_poll(parts)
    return dict(counter.counts)


def test_an_unchanged_poll_costs_one_read(site: Site) -> None:
    parts, counter = gateway(site)
    first = poll(parts, counter)
    assert first[("sqs", "SendMessageBatch")] > 0  # everything created and announced, registration included
    assert poll(parts, counter) == UNCHANGED
    assert poll(parts, counter) == UNCHANGED
    fresh, fresh_counter = gateway(site)
    assert poll(fresh, fresh_counter) == NEW_CONTAINER
    assert poll(fresh, fresh_counter) == UNCHANGED


def test_a_container_reads_the_asset_index_again_once_another_changed_it(site: Site) -> None:
    first, first_counter = gateway(site)
    poll(first, first_counter)
    other, other_counter = gateway(site)
    poll(other, other_counter)
    site.kubesim.add_node(pool="far-edge-du", name="du-late-1")  # bare metal: a server in the index
    assert ("dynamodb", "UpdateItem") in poll(other, other_counter)  # its server indexed: a change counted
    assert poll(first, first_counter) == {**UNCHANGED, ("dynamodb", "Query"): 1}  # cluster unchanged since
    assert poll(first, first_counter) == UNCHANGED


def test_an_alarm_the_smo_cleared_while_its_condition_holds_is_raised_again(site: Site) -> None:
    parts, counter = gateway(site)
    poll(parts, counter)
    node = core_api(site).list_node().items[0].metadata.name
    set_condition(site, node, "MemoryPressure", "True")
    poll(parts, counter)
    [raised] = open_alarms(site, site.adapter_id)
    alarm_events(site)
    assert poll(parts, counter) == UNCHANGED
    alarm_service.modify_alarm(parts.alarm_ports(), raised["alarmEventRecordId"], {"perceivedSeverity": 5})
    assert [e["eventType"] for e in alarm_events(site)] == ["modified"]  # the SMO's clear
    poll(parts, counter)  # the cluster is unchanged, and the condition still holds
    [again] = open_alarms(site, site.adapter_id)
    assert again["alarmEventRecordId"] != raised["alarmEventRecordId"]
    assert [e["eventType"] for e in alarm_events(site)] == ["created"]
    assert poll(parts, counter) == UNCHANGED


def test_a_recovered_cluster_clears_its_unreachable_alarm_though_its_inventory_is_unchanged(site: Site) -> None:
    parts, counter = gateway(site)
    poll(parts, counter)
    assert poll(parts, counter) == UNCHANGED
    dead = kubeconfig.write(site.gateway_file.with_name("dead-kubeconfig"), f"http://127.0.0.1:{free_port()}")
    down_file = site.gateway_file.with_name("gateway-down.yaml")
    down_file.write_text(site.gateway_file.read_text().replace(str(site.kubesim.kubeconfig_path), str(dead)))
    down, _ = gateway(site, gateway_file=down_file)
    [report] = inventory_handlers.scheduled_poll(down)
    assert report["status"] == "unreachable"
    [unreachable] = [a for a in alarm_events(site) if a["eventType"] == "created"]
    assert unreachable["post"]["extensions"]["alarmName"] == "ClusterUnreachable"
    poll(parts, counter)  # the same nodes as before the outage
    cleared = [e for e in alarm_events(site) if e["eventType"] == "modified"]
    assert [e["post"]["perceivedSeverity"] for e in cleared] == [5]
    assert parts.alarm_store.open_records(f"{site.adapter_id}#reachability") == []
    assert poll(parts, counter) == UNCHANGED


def test_while_a_cordon_waits_every_poll_evaluates_and_it_raises_in_time(site: Site) -> None:
    parts, counter = gateway(site)
    poll(parts, counter)
    node = core_api(site).list_node().items[1].metadata.name
    core_api(site).patch_node(node, {"spec": {"unschedulable": True}})
    poll(parts, counter)
    assert open_alarms(site, site.adapter_id) == []  # allowed for an hour: pending
    waiting = poll(parts, counter)
    assert waiting[("dynamodb", "Query")] == 2  # the open alarms of both scopes: evaluated, though nothing changed
    assert open_alarms(site, site.adapter_id) == []
    parts.shift = 2 * 3600
    poll(parts, counter)
    [cordoned] = open_alarms(site, site.adapter_id)
    assert cordoned["extensions"]["nodeName"] == node


def locations(parts: Components) -> dict[str, dict[str, object]]:
    stored, _ = parts.inventory_store.page(ObjectType.LOCATION.value, 100)
    return {str(s.document["globalLocationId"]): s.document for s in stored}


def test_sites_follow_the_configuration_and_the_pools_on_an_unchanged_poll(site: Site) -> None:
    parts, counter = gateway(site)
    poll(parts, counter)
    [region] = locations(parts)
    assert "name" not in locations(parts)[region] or locations(parts)[region]["name"] != "Operator's name"
    named, named_counter = gateway(site, f"locations:\n  - {{globalLocationId: {region}, name: Operator's name}}\n")
    poll(named, named_counter)
    assert locations(named)[region]["name"] == "Operator's name"
    assert poll(named, named_counter) == UNCHANGED
    site.kubesim.add_node(pool="paris-edge", labels={"topology.kubernetes.io/region": "eu-west-3"})
    poll(named, named_counter)
    assert set(locations(named)) == {region, "eu-west-3"}


def test_cleared_alarms_are_purged_when_due_and_not_looked_for_before(site: Site) -> None:
    parts, counter = gateway(site)
    store = parts.alarm_store
    store.put_configuration(store.configuration().model_copy(update={"retention_period": 1}))
    poll(parts, counter)  # the first purge: nothing to purge, the next is due in a day
    node = core_api(site).list_node().items[0].metadata.name
    set_condition(site, node, "MemoryPressure", "True")
    poll(parts, counter)
    [raised] = open_alarms(site, site.adapter_id)
    set_condition(site, node, "MemoryPressure", "False")
    poll(parts, counter)
    assert store.get(raised["alarmEventRecordId"]) is not None  # cleared, kept for its retention
    assert poll(parts, counter) == UNCHANGED  # no purge due: the alarms table is not scanned
    parts.shift = DAY + 2 * 3600
    assert ("dynamodb", "Scan") in poll(parts, counter)
    assert store.get(raised["alarmEventRecordId"]) is None
    assert poll(parts, counter) == UNCHANGED  # the next purge is due an hour later at the earliest
