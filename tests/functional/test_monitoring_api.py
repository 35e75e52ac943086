"""The O2ims Infrastructure Monitoring API (docs/o2-conventions.md §1-§4, §6) as an SMO uses it: alarms raised by
real node conditions on a kubesim cluster (through the inventory poll), read with the O2 query language, acknowledged
and cleared by PATCH; the alarm service configuration and its retention."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest

import app
from chalicelib import resources
from chalicelib.adapters.store.alarm_store import AlarmStore
from chalicelib.api import monitoring
from chalicelib.api.routing import add_method_not_allowed_routes
from chalicelib.bootstrap import Components
from chalicelib.domain import alarm_rules as rules
from chalicelib.domain.alarms import AlarmEventRecord, ClearingType, Condition, Severity, clear_alarm, raise_alarm
from chalicelib.domain.errors import Conflict
from chalicelib.domain.paging import MarkerCodec
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.services import alarms as alarm_service
from chalicelib.services.alarm_evaluation import AlarmPorts, apply
from tests.functional.conftest import Api, Reply, assert_problem, token_with
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_alarm_sources import alarm_events, core_api, open_alarms, set_condition

# The same wiring app.py gets (see the report to the lead), until app.py registers the Blueprint itself. Done at
# import, so the declared routes (ROUTES, the OpenAPI document) and the served ones never differ.
if monitoring.ALARMS not in app.app.routes:
    app.app.register_blueprint(monitoring.blueprint)
    add_method_not_allowed_routes(app.app)

ROOT = "/o2ims-infrastructureMonitoring/v1"
ALARMS = f"{ROOT}/alarms"
CONFIGURATION = f"{ROOT}/alarmServiceConfiguration"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
REQUIRED = (
    "alarmEventRecordId",
    "alarmDefinitionID",
    "probableCauseID",
    "alarmRaisedTime",
    "alarmChangedTime",
    "alarmAcknowledged",
    "perceivedSeverity",
    "resourceTypeID",
    "resourceID",
    "extensions",
)
DAY = 86400

@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One kubesim site (and stage) for the module; `polled` puts it back to its first state before each test."""
    yield from site_environment(tmp_path_factory.mktemp("monitoring"), nodes=3)


@pytest.fixture()
def components(site: Site) -> Components:
    """The API and the handlers serve this module's site."""
    return site.components


@pytest.fixture(scope="module")
def baseline(site: Site) -> dict[str, list[dict[str, Any]]]:
    """Each node's conditions as kubesim seeded them."""
    return {
        n.metadata.name: [
            {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message} for c in n.status.conditions
        ]
        for n in core_api(site).list_node().items
    }


@pytest.fixture()
def polled(site: Site, baseline: dict[str, list[dict[str, Any]]]) -> Site:
    """The site with every node healthy, polled; no alarm record, no configuration, no event left on the queue."""
    for node, conditions in baseline.items():
        core_api(site).patch_node_status(node, {"status": {"conditions": conditions}})
    client, table = site.components.clients.dynamodb, site.components.settings.table_name(resources.ALARMS)
    for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="alarmEventRecordId"):
        for item in page["Items"]:
            client.delete_item(TableName=table, Key=item)
    inventory_handlers.poll_inventory(site.components)
    assert open_alarms(site, site.adapter_id) == []
    alarm_events(site)
    return site


# --- helpers ---------------------------------------------------------------------------------------------------------


def node_names(site: Site) -> list[str]:
    return sorted(n.metadata.name for n in core_api(site).list_node().items)


def raise_on(site: Site, node: str, kind: str = "MemoryPressure", status: str = "True") -> dict[str, Any]:
    """Set a node condition, poll, and answer the alarm record it raised (its event drained from the queue)."""
    before = {a["alarmEventRecordId"] for a in open_alarms(site, site.adapter_id)}
    set_condition(site, node, kind, status, reason=f"Test{kind}")
    inventory_handlers.poll_inventory(site.components)
    [raised] = [a for a in open_alarms(site, site.adapter_id) if a["alarmEventRecordId"] not in before]
    [event] = alarm_events(site)
    assert event["eventType"] == "created" and event["objectId"] == raised["alarmEventRecordId"]
    return raised


def patch(
    api: Api, record_id: str, body: Any, content_type: str = "application/merge-patch+json", **kwargs: Any
) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.request("PATCH", f"{ALARMS}/{record_id}", body=raw, headers={"Content-Type": content_type}, **kwargs)


def nulls(value: Any, path: str = "") -> list[str]:
    """Every path in a JSON document whose value is null."""
    if value is None:
        return [path or "/"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls(v, f"{path}/{i}")]
    return []


def listed(api: Api, query: str = "") -> list[dict[str, Any]]:
    reply = api.get(f"{ALARMS}{query}")
    assert reply.status == 200, reply.body
    items: list[dict[str, Any]] = reply.json()
    return items


def ids(records: list[dict[str, Any]]) -> set[str]:
    return {r["alarmEventRecordId"] for r in records}


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- reading alarms --------------------------------------------------------------------------------------------------


def test_a_raised_alarm_is_listed_with_every_required_field_and_no_nulls(api: Api, polled: Site) -> None:
    node = node_names(polled)[0]
    raised = raise_on(polled, node)

    [alarm] = listed(api)
    assert alarm == raised
    for name in REQUIRED:
        assert name in alarm, name
    assert nulls(alarm) == []
    assert "alarmClearedTime" not in alarm and "alarmAcknowledgedTime" not in alarm
    assert "alarmAcknowledgeTime" not in alarm
    uuid.UUID(alarm["alarmEventRecordId"])
    assert alarm["perceivedSeverity"] == 1 and alarm["alarmAcknowledged"] is False
    assert alarm["extensions"]["alarmName"] == "MemoryPressure" and alarm["extensions"]["nodeName"] == node

    # resourceID / resourceTypeID lead to the node's resource and its type, whose dictionary defines the alarm.
    inventory = "/o2ims-infrastructureInventory/v1"
    resource_type = api.get(f"{inventory}/resourceTypes/{alarm['resourceTypeID']}?all_fields").json()
    definitions = {d["alarmDefinitionId"]: d for d in resource_type["alarmDictionary"]["alarmDefinition"]}
    assert definitions[alarm["alarmDefinitionID"]]["alarmName"] == "MemoryPressure"
    assert alarm["probableCauseID"] == alarm["alarmDefinitionID"]
    pools = api.get(f"{inventory}/resourcePools").json()
    resources = [
        r
        for p in pools
        for r in api.get(
            f"{inventory}/resourcePools/{p['resourcePoolId']}/resources?filter=(eq,resourceId,{alarm['resourceID']})"
        ).json()
    ]
    assert [r["resourceTypeId"] for r in resources] == [alarm["resourceTypeID"]]


def test_filters_select_by_severity_resource_and_extensions(api: Api, polled: Site) -> None:
    first, second, _ = node_names(polled)
    memory = raise_on(polled, first, "MemoryPressure")
    not_ready = raise_on(polled, second, "Ready", "False")
    assert not_ready["perceivedSeverity"] == 0

    assert ids(listed(api, "?filter=(eq,perceivedSeverity,1)")) == {memory["alarmEventRecordId"]}
    assert ids(listed(api, "?filter=(lt,perceivedSeverity,1)")) == {not_ready["alarmEventRecordId"]}
    assert ids(listed(api, f"?filter=(eq,resourceID,{not_ready['resourceID']})")) == {not_ready["alarmEventRecordId"]}
    assert ids(listed(api, "?filter=(eq,extensions/alarmName,MemoryPressure)")) == {memory["alarmEventRecordId"]}
    assert len(listed(api, "?filter=(eq,alarmAcknowledged,false)")) == 2
    assert listed(api, "?filter=(eq,alarmAcknowledged,true)") == []
    assert ids(listed(api, "?filter=(eq,alarmClearedTime,null)")) == ids([memory, not_ready])
    assert_problem(api.get(f"{ALARMS}?filter=(eq,nosuch,1)"), 400, "nosuch")
    assert_problem(api.get(f"{ALARMS}?filter=(eq,perceivedSeverity"), 400)
    assert_problem(api.get(f"{ALARMS}?filtr=(eq,perceivedSeverity,1)"), 400, "filtr")


def test_attribute_selectors(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    record_id = alarm["alarmEventRecordId"]

    [without] = listed(api, "?exclude_fields=extensions,alarmEventRecordId")
    assert without == {k: v for k, v in alarm.items() if k != "extensions"}  # the identifier stays
    one = api.get(f"{ALARMS}/{record_id}?exclude_fields=extensions/nodeName").json()
    assert one == {**alarm, "extensions": {k: v for k, v in alarm["extensions"].items() if k != "nodeName"}}
    assert one["extensions"]["alarmName"] == "MemoryPressure"
    assert api.get(f"{ALARMS}/{record_id}?exclude_default").json() == alarm
    assert api.get(f"{ALARMS}/{record_id}?fields=perceivedSeverity").json() == alarm  # nothing is large here
    assert api.get(f"{ALARMS}/{record_id}?all_fields").json() == alarm
    assert_problem(api.get(f"{ALARMS}?fields=nosuch"), 400, "nosuch")
    assert_problem(api.get(f"{ALARMS}/{record_id}?exclude_fields=nosuch"), 400, "nosuch")


def test_paging_walks_every_alarm_exactly_once(api: Api, polled: Site) -> None:
    raised = [raise_on(polled, node) for node in node_names(polled)]
    seen: list[str] = []
    path: str | None = f"{ALARMS}?limit=1"
    while path is not None:
        reply = api.get(path)
        assert reply.status == 200 and len(reply.json()) == 1
        seen += [a["alarmEventRecordId"] for a in reply.json()]
        link = reply.header("Link")
        path = link[link.index(ROOT) : link.index(">")] if link else None
    assert sorted(seen) == sorted(ids(raised))

    assert len(listed(api, "?limit=2&nextpage_opaque_marker=2")) == 1  # page 2 of 2, by number
    assert listed(api, "?limit=2&nextpage_opaque_marker=3") == []
    assert api.get(f"{ALARMS}?limit=2").header("Link") is not None
    assert api.get(ALARMS).header("Link") is None
    filtered = api.get(f"{ALARMS}?limit=1&filter=(eq,perceivedSeverity,1)")
    assert len(filtered.json()) == 1 and filtered.header("Link") is not None
    assert_problem(api.get(f"{ALARMS}?nextpage_opaque_marker=garbage"), 400, "nextpage_opaque_marker")
    # Signed with another key, and another collection's key at that.
    forged = MarkerCodec(b"not the gateway's").encode("alarms", {"subscriptionId": {"S": str(uuid.uuid4())}})
    assert_problem(api.get(f"{ALARMS}?nextpage_opaque_marker={forged}"), 400, "nextpage_opaque_marker")
    assert_problem(api.get(f"{ALARMS}?limit=0"), 400)


def test_one_alarm_and_an_unknown_one(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    reply = api.get(f"{ALARMS}/{alarm['alarmEventRecordId']}")
    assert reply.status == 200 and reply.json() == alarm
    assert_problem(api.get(f"{ALARMS}/{uuid.uuid4()}"), 404, "no alarm event record")
    assert_problem(api.get(f"{ALARMS}/config%23alarmService"), 404)  # other items of the table are no alarms
    assert_problem(patch(api, str(uuid.uuid4()), {"alarmAcknowledged": True}), 404)


# --- acknowledging and clearing --------------------------------------------------------------------------------------


def test_acknowledge(api: Api, polled: Site) -> None:
    node = node_names(polled)[0]
    alarm = raise_on(polled, node)
    record_id = alarm["alarmEventRecordId"]

    reply = patch(api, record_id, {"alarmAcknowledged": True})
    assert reply.status == 200, reply.body
    assert reply.json() == {"alarmAcknowledged": True}
    record = api.get(f"{ALARMS}/{record_id}").json()
    assert record["alarmAcknowledged"] is True and record["perceivedSeverity"] == 1
    assert record["alarmAcknowledgedTime"] == record["alarmAcknowledgeTime"] == record["alarmChangedTime"]
    assert record["alarmAcknowledgedTime"] > alarm["alarmChangedTime"] and "alarmClearedTime" not in record
    assert nulls(record) == []
    [event] = alarm_events(polled)
    assert (event["source"], event["detailType"], event["eventType"]) == ("alarm", "ACKNOWLEDGE", "modified")
    assert event["objectId"] == record_id and event["backend"] == polled.adapter_id
    assert event["prior"]["alarmAcknowledged"] is False and event["post"] == record
    assert ids(open_alarms(polled, polled.adapter_id)) == {record_id}  # still open, in its evaluation scope

    assert_problem(patch(api, record_id, {"alarmAcknowledged": True}), 409, "already acknowledged")
    assert alarm_events(polled) == []

    # An acknowledged alarm no longer changes: a new reason for the same condition sends no CHANGE.
    set_condition(polled, node, "MemoryPressure", "True", reason="AnotherReason")
    inventory_handlers.poll_inventory(polled.components)
    assert alarm_events(polled) == []
    assert api.get(f"{ALARMS}/{record_id}").json() == record


def test_clear(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    record_id = alarm["alarmEventRecordId"]

    reply = patch(api, record_id, {"perceivedSeverity": 5}, content_type="application/json")
    assert reply.status == 200, reply.body
    assert reply.json() == {"perceivedSeverity": 5}
    record = api.get(f"{ALARMS}/{record_id}").json()
    assert record["perceivedSeverity"] == 5 and record["alarmClearedTime"] == record["alarmChangedTime"]
    assert record["extensions"]["clearedBy"] == "smo" and record["alarmAcknowledged"] is False
    assert nulls(record) == []
    [event] = alarm_events(polled)
    assert (event["source"], event["eventType"], event.get("detailType")) == ("alarm", "modified", None)
    assert event["prior"]["perceivedSeverity"] == 1 and event["post"] == record
    assert open_alarms(polled, polled.adapter_id) == []
    assert listed(api, "?filter=(eq,perceivedSeverity,5)") == [record]

    assert_problem(patch(api, record_id, {"perceivedSeverity": 5}), 409, "already cleared")
    assert alarm_events(polled) == []


def test_a_cleared_alarm_can_still_be_acknowledged(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    record_id = alarm["alarmEventRecordId"]
    assert patch(api, record_id, {"perceivedSeverity": 5}).json() == {"perceivedSeverity": 5}
    record = api.get(f"{ALARMS}/{record_id}").json()
    assert record["perceivedSeverity"] == 5 and record["alarmAcknowledged"] is False
    alarm_events(polled)

    # It stays cleared and out of the open index.
    reply = patch(api, record_id, {"alarmAcknowledged": True})
    assert reply.status == 200 and reply.json() == {"alarmAcknowledged": True}, reply.body
    acknowledged = api.get(f"{ALARMS}/{record_id}").json()
    assert acknowledged["alarmAcknowledged"] is True and acknowledged["perceivedSeverity"] == 5
    assert acknowledged["alarmClearedTime"] == record["alarmClearedTime"]
    assert acknowledged["alarmAcknowledgedTime"] == acknowledged["alarmChangedTime"] > record["alarmClearedTime"]
    [event] = alarm_events(polled)
    assert event["detailType"] == "ACKNOWLEDGE" and event["post"]["perceivedSeverity"] == 5
    assert open_alarms(polled, polled.adapter_id) == []


def test_media_type_parameters_are_accepted(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    reply = patch(
        api,
        alarm["alarmEventRecordId"],
        {"alarmAcknowledged": True},
        content_type="application/merge-patch+json; charset=utf-8",
    )
    assert reply.status == 200, reply.body
    assert reply.json() == {"alarmAcknowledged": True}
    record = api.get(f"{ALARMS}/{alarm['alarmEventRecordId']}").json()
    assert record["alarmAcknowledged"] is True and record["alarmAcknowledgedTime"]


BAD_BODIES: list[tuple[Any, str]] = [
    ({"alarmAcknowledged": True, "perceivedSeverity": 5}, "not both"),
    ({"alarmAcknowledged": False}, "only true"),
    ({"alarmAcknowledged": "true"}, "only true"),
    ({"perceivedSeverity": 3}, "only 5"),
    ({"perceivedSeverity": True}, "only 5"),
    ({"perceivedSeverity": "5"}, "only 5"),
    ({"alarmAcknowledged": True, "note": "x"}, "note"),
    ({}, "alarmAcknowledged"),
    ([{"alarmAcknowledged": True}], "alarmAcknowledged"),
    (None, "alarmAcknowledged"),
    (b"{not json", "not valid JSON"),
    (b"", "body is required"),
]


def test_bad_bodies_are_400_with_details(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    for body, detail in BAD_BODIES:
        for content_type in ("application/merge-patch+json", "application/json"):
            assert_problem(patch(api, alarm["alarmEventRecordId"], body, content_type=content_type), 400, detail)
    assert api.get(f"{ALARMS}/{alarm['alarmEventRecordId']}").json() == alarm
    assert alarm_events(polled) == []


def test_other_media_types_query_parameters_and_methods(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    record_id = alarm["alarmEventRecordId"]
    assert_problem(patch(api, record_id, b"alarmAcknowledged=true", content_type="text/plain"), 415)
    assert_problem(patch(api, record_id, {"alarmAcknowledged": True}, content_type="application/xml"), 415)
    reply = api.request("PATCH", f"{ALARMS}/{record_id}?force=1", body={"alarmAcknowledged": True})
    assert_problem(reply, 400, "force")
    for method, path, allowed in (
        ("DELETE", f"{ALARMS}/{record_id}", "GET, PATCH"),
        ("POST", ALARMS, "GET"),
        ("PUT", f"{ALARMS}/{record_id}", "GET, PATCH"),
        ("DELETE", CONFIGURATION, "GET, PATCH, PUT"),
    ):
        reply = api.request(method, path, body={} if method in ("POST", "PUT") else None)
        assert_problem(reply, 405, method)
        assert reply.header("allow") == allowed
    assert api.get(f"{ALARMS}/{record_id}").json() == alarm


def test_tokens_and_scopes(api: Api, polled: Site) -> None:
    alarm = raise_on(polled, node_names(polled)[0])
    record_id = alarm["alarmEventRecordId"]
    reader, writer = token_with("o2ims:read"), token_with("o2ims:write")

    assert_problem(api.get(ALARMS, token=None), 401, "bearer token")
    assert_problem(patch(api, record_id, {"alarmAcknowledged": True}, token=None), 401)
    assert_problem(api.get(CONFIGURATION, token=None), 401)
    assert_problem(api.get(ALARMS, token=token_with("o2dms:read")), 403, "o2ims:read")
    assert api.get(ALARMS, token=reader).json() == [alarm]
    assert api.get(f"{ALARMS}/{record_id}", token=reader).json() == alarm
    assert api.get(CONFIGURATION, token=reader).json() == api.get(CONFIGURATION).json()

    assert_problem(patch(api, record_id, {"alarmAcknowledged": True}, token=reader), 403, "o2ims:write")
    assert_problem(patch(api, record_id, {"perceivedSeverity": 5}, token=token_with("o2ims:subscribe")), 403)
    assert_problem(api.request("PUT", CONFIGURATION, body={"retentionPeriod": 3}, token=reader), 403, "o2ims:write")
    assert_problem(api.request("PATCH", CONFIGURATION, body={"retentionPeriod": 3}, token=reader), 403)
    assert api.get(f"{ALARMS}/{record_id}").json() == alarm and alarm_events(polled) == []
    assert patch(api, record_id, {"alarmAcknowledged": True}, token=writer).json() == {"alarmAcknowledged": True}
    assert api.get(f"{ALARMS}/{record_id}").json()["alarmAcknowledged"] is True


# --- the evaluator after the SMO -------------------------------------------------------------------------------------


def test_an_acknowledged_alarm_is_still_cleared_when_its_condition_goes_away(api: Api, polled: Site) -> None:
    node = node_names(polled)[0]
    alarm = raise_on(polled, node)
    record_id = alarm["alarmEventRecordId"]
    assert patch(api, record_id, {"alarmAcknowledged": True}).json() == {"alarmAcknowledged": True}
    acknowledged = api.get(f"{ALARMS}/{record_id}").json()
    alarm_events(polled)

    set_condition(polled, node, "MemoryPressure", "False")
    inventory_handlers.poll_inventory(polled.components)
    record = api.get(f"{ALARMS}/{record_id}").json()
    assert record["perceivedSeverity"] == 5 and record["alarmAcknowledged"] is True
    assert record["alarmAcknowledgedTime"] == acknowledged["alarmAcknowledgedTime"]  # the NOC's, kept
    assert record["extensions"]["clearedBy"] == "netweave" and record["alarmClearedTime"] == record["alarmChangedTime"]
    assert record["alarmClearedTime"] >= acknowledged["alarmAcknowledgedTime"]
    [event] = alarm_events(polled)
    assert event["objectId"] == record_id and event["post"]["perceivedSeverity"] == 5
    assert open_alarms(polled, polled.adapter_id) == []


def test_a_manually_cleared_automatic_alarm_whose_condition_persists_is_raised_again(api: Api, polled: Site,
                                                                                     site: Site) -> None:
    node = node_names(polled)[0]
    alarm = raise_on(polled, node)
    record_id = alarm["alarmEventRecordId"]
    assert patch(api, record_id, {"perceivedSeverity": 5}).json() == {"perceivedSeverity": 5}
    alarm_events(site)

    inventory_handlers.poll_inventory(polled.components)  # MemoryPressure is still True
    [again] = open_alarms(site, polled.adapter_id)
    assert again["alarmEventRecordId"] != record_id and again["alarmRaisedTime"] > alarm["alarmRaisedTime"]
    assert (again["alarmDefinitionID"], again["resourceID"]) == (alarm["alarmDefinitionID"], alarm["resourceID"])
    assert again["perceivedSeverity"] == 1 and again["alarmAcknowledged"] is False
    [event] = alarm_events(site)
    assert event["eventType"] == "created" and event["objectId"] == again["alarmEventRecordId"]
    old = api.get(f"{ALARMS}/{record_id}").json()
    assert old["perceivedSeverity"] == 5 and old["extensions"]["clearedBy"] == "smo"
    same_resource = listed(api, f"?filter=(eq,resourceID,{alarm['resourceID']})")
    assert ids(same_resource) == {record_id, again["alarmEventRecordId"]}

    inventory_handlers.poll_inventory(polled.components)  # and only once
    assert alarm_events(site) == [] and len(open_alarms(site, polled.adapter_id)) == 1


def _platform_records(o_cloud_id: str) -> list[tuple[AlarmEventRecord, str]]:
    """Open records of each evaluation scope, as the evaluator raises them: (record, scope)."""
    unreachable = rules.unreachable_conditions(o_cloud_id, "site-z", [str(uuid.uuid4())], "connection refused")
    failed = rules.deployment_conditions(
        o_cloud_id,
        [{"deploymentId": str(uuid.uuid4()), "status": "failed", "name": "du-1", "namespace": "ran"}],
        {},
        time.time(),
        600,
    )
    degraded = rules.pool_conditions(
        o_cloud_id,
        "site-z",
        [{"resourcePoolId": str(uuid.uuid4()), "name": "ng-1", "extensions": {"healthIssues": [{"code": "X"}]}}],
    )
    now = iso(time.time() - 60)
    return [
        (raise_alarm(unreachable[0], now), "site-z#reachability"),
        (raise_alarm(failed[0], now), rules.DEPLOYMENTS_SCOPE),
        (raise_alarm(degraded[0], now), "site-z"),
    ]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["ClusterUnreachable", "DeploymentFailed", "NodeGroupDegraded"])
def test_an_acknowledged_platform_alarm_stays_in_its_evaluation_scope(api: Api, polled: Site, index: int) -> None:
    o_cloud_id = polled.components.settings.gateway.o_cloud.resolved_o_cloud_id()
    record, scope = _platform_records(o_cloud_id)[index]
    store = polled.components.alarm_store
    assert store.put_raised(record, scope)

    assert patch(api, record.alarm_event_record_id, {"alarmAcknowledged": True}).json() == {"alarmAcknowledged": True}
    shown = api.get(f"{ALARMS}/{record.alarm_event_record_id}").json()
    assert shown["alarmAcknowledged"] is True and shown["alarmAcknowledgedTime"] and shown["perceivedSeverity"] == (
        record.perceived_severity)
    [event] = alarm_events(polled)
    assert event["backend"] == scope
    [open_record] = store.open_records(scope)
    assert open_record.alarm_event_record_id == record.alarm_event_record_id and open_record.alarm_acknowledged

    ports = AlarmPorts(store, polled.components.events_publisher, o_cloud_id)
    assert apply(ports, scope, []).cleared == 1  # the condition went away: the evaluator still clears it
    cleared = store.get(record.alarm_event_record_id)
    assert cleared is not None and cleared.cleared and cleared.alarm_acknowledged


def test_acknowledging_a_manual_alarm_and_clearing_it(api: Api, polled: Site) -> None:
    """DeploymentOperationFailed is MANUAL: only the SMO clears it, and it is never raised again."""
    o_cloud_id = polled.components.settings.gateway.o_cloud.resolved_o_cloud_id()
    deployment = {"deploymentId": str(uuid.uuid4()), "status": "deployed", "name": "du-1", "namespace": "ran"}
    failure = {
        deployment["deploymentId"]: {
            "operationId": str(uuid.uuid4()),
            "operationType": "upgrade",
            "error": {"detail": "helm: timed out"},
        }
    }
    conditions = rules.deployment_conditions(o_cloud_id, [deployment], failure, time.time(), 600)
    ports = AlarmPorts(polled.components.alarm_store, polled.components.events_publisher, o_cloud_id)
    assert apply(ports, rules.DEPLOYMENTS_SCOPE, conditions).raised == 1
    [record] = listed(api, "?filter=(eq,extensions/alarmName,DeploymentOperationFailed)")
    record_id = record["alarmEventRecordId"]
    assert record["perceivedSeverity"] == 3 and record["extensions"]["clearingType"] == "MANUAL"
    alarm_events(polled)

    assert apply(ports, rules.DEPLOYMENTS_SCOPE, []).cleared == 0  # not cleared automatically
    assert patch(api, record_id, {"alarmAcknowledged": True}).json() == {"alarmAcknowledged": True}
    acknowledged = api.get(f"{ALARMS}/{record_id}").json()
    assert (acknowledged["alarmAcknowledged"], acknowledged["perceivedSeverity"]) == (True, 3)
    assert acknowledged["alarmAcknowledgedTime"] and "alarmClearedTime" not in acknowledged
    assert patch(api, record_id, {"perceivedSeverity": 5}).json() == {"perceivedSeverity": 5}
    assert [e.get("detailType", "CLEAR") for e in alarm_events(polled)] == ["ACKNOWLEDGE", "CLEAR"]
    assert apply(ports, rules.DEPLOYMENTS_SCOPE, conditions).raised == 0  # the same failure: not raised again
    cleared = api.get(f"{ALARMS}/{record_id}").json()
    assert (cleared["perceivedSeverity"], cleared["alarmAcknowledged"], cleared["extensions"]["clearedBy"]) == (
        5, True, "smo")
    assert cleared["alarmAcknowledgedTime"] == acknowledged["alarmAcknowledgedTime"]
    assert cleared["alarmClearedTime"] == cleared["alarmChangedTime"] >= acknowledged["alarmAcknowledgedTime"]


class _StaleReads:
    """An AlarmStore whose `get` answers a record as it was read before a concurrent change."""

    def __init__(self, store: Any, stale: AlarmEventRecord) -> None:
        self.store, self.stale = store, stale

    def get(self, record_id: str) -> AlarmEventRecord:
        return self.stale

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_an_acknowledge_racing_the_evaluators_clear_does_not_reopen_the_alarm(polled: Site) -> None:
    node = node_names(polled)[0]
    alarm = raise_on(polled, node)
    store = polled.components.alarm_store
    stale = store.get(alarm["alarmEventRecordId"])
    assert stale is not None
    set_condition(polled, node, "MemoryPressure", "False")
    inventory_handlers.poll_inventory(polled.components)  # cleared between the SMO's read and its write

    ports = AlarmPorts(
        cast(AlarmStore, _StaleReads(store, stale)),
        polled.components.events_publisher,
        polled.components.settings.gateway.o_cloud.resolved_o_cloud_id(),
    )
    with contextlib.suppress(Conflict):  # a 409 (the SMO reads again) is a correct answer too
        alarm_service.modify_alarm(ports, alarm["alarmEventRecordId"], {"alarmAcknowledged": True})
    after = store.get(alarm["alarmEventRecordId"])
    assert after is not None and after.cleared
    assert open_alarms(polled, polled.adapter_id) == []


# --- the alarm service configuration and retention -------------------------------------------------------------------


def test_service_configuration_get_put_patch(api: Api, polled: Site) -> None:
    assert api.get(CONFIGURATION).json() == {"retentionPeriod": 30, "extensions": {}}

    bad_puts: list[Any] = [
        {"retentionPeriod": 0},
        {"retentionPeriod": -1},
        {"retentionPeriod": "7"},
        {"retentionPeriod": 1.5},
        {"retentionPeriod": True},
        {"extensions": {}},
        {"retentionPeriod": 7},  # a replacement names both members (the O2ims model requires `extensions`)
        {"retentionPeriod": 7, "extensions": []},
        {"retentionPeriod": 7, "other": 1},
        [],
    ]
    for body in bad_puts:
        assert_problem(api.request("PUT", CONFIGURATION, body=body), 400, "invalid body")
    assert_problem(api.request("PUT", CONFIGURATION, body=b"{", headers={"Content-Type": "application/json"}), 400)
    assert api.get(CONFIGURATION).json() == {"retentionPeriod": 30, "extensions": {}}

    put = api.request("PUT", CONFIGURATION, body={"retentionPeriod": 7, "extensions": {"owner": "noc", "tier": 1}})
    assert put.status == 200 and put.json() == {"retentionPeriod": 7, "extensions": {"owner": "noc", "tier": 1}}
    assert api.get(CONFIGURATION).json() == put.json()

    merged = api.request(
        "PATCH", CONFIGURATION, body={"extensions": {"tier": None, "site": "edge"}}, headers=MERGE_PATCH
    )
    assert merged.status == 200, merged.body
    assert merged.json() == {"retentionPeriod": 7, "extensions": {"owner": "noc", "site": "edge"}}
    assert api.request("PATCH", CONFIGURATION, body={"retentionPeriod": 14}).json()["extensions"] == {
        "owner": "noc",
        "site": "edge",
    }
    assert api.request("PATCH", CONFIGURATION, body={}, headers=MERGE_PATCH).json()["retentionPeriod"] == 14
    bad_patches: list[dict[str, Any]] = [
        {"retentionPeriod": 0},
        {"retentionPeriod": None},
        {"retentionPeriod": "3"},
        {"other": 1},
        {"extensions": "x"},
    ]
    for body in bad_patches:
        assert_problem(api.request("PATCH", CONFIGURATION, body=body, headers=MERGE_PATCH), 400, "invalid body")
    assert api.get(CONFIGURATION).json() == {"retentionPeriod": 14, "extensions": {"owner": "noc", "site": "edge"}}

    replaced = api.request("PUT", CONFIGURATION, body={"retentionPeriod": 3, "extensions": {}})  # a full replace
    assert replaced.json() == {"retentionPeriod": 3, "extensions": {}}
    assert_problem(api.request("PUT", CONFIGURATION, body=b"x", headers={"Content-Type": "text/plain"}), 415)
    assert_problem(api.get(f"{CONFIGURATION}?all_fields"), 400, "all_fields")


def _cleared_record(site: Site, days_ago: float) -> AlarmEventRecord:
    """A node alarm raised and cleared `days_ago` days ago, stored the way the evaluator stores it."""
    node = str(uuid.uuid4())
    condition = Condition(
        key=f"definition|{node}|",
        alarm_definition_id=str(uuid.uuid4()),
        resource_type_id=str(uuid.uuid4()),
        resource_id=node,
        severity=Severity.MAJOR,
        clearing_type=ClearingType.AUTOMATIC,
        backend="site-old",
        attributes={"alarmName": "DiskPressure"},
    )
    cleared_at = time.time() - days_ago * DAY
    record = raise_alarm(condition, iso(cleared_at - 3600))
    store = site.components.alarm_store
    assert store.put_raised(record, "site-old")
    cleared = clear_alarm(record, iso(cleared_at), by="netweave")
    store.clear(cleared, store.configuration().retention_period)
    return cleared


def _expires_at(site: Site, record_id: str) -> int:
    table = site.components.settings.table_name(resources.ALARMS)
    client = site.components.clients.dynamodb
    item = client.get_item(TableName=table, Key={"alarmEventRecordId": {"S": record_id}})["Item"]
    return int(item["expiresAt"]["N"])


def test_retention_purges_old_cleared_alarms(api: Api, polled: Site) -> None:
    open_alarm = raise_on(polled, node_names(polled)[0])
    old, recent, fresh = _cleared_record(polled, 10), _cleared_record(polled, 2.5), _cleared_record(polled, 0.1)
    store = polled.components.alarm_store
    assert store.purge(30, time.time()) == 0
    assert {old.alarm_event_record_id, recent.alarm_event_record_id} <= ids(listed(api))

    reply = api.request("PUT", CONFIGURATION, body={"retentionPeriod": 5, "extensions": {}})  # shorter: now
    assert reply.status == 200 and reply.json()["retentionPeriod"] == 5, reply.body
    assert api.get(CONFIGURATION).json() == reply.json()
    assert_problem(api.get(f"{ALARMS}/{old.alarm_event_record_id}"), 404)
    kept = api.get(f"{ALARMS}/{recent.alarm_event_record_id}")
    assert kept.status == 200 and kept.json()["alarmClearedTime"] == recent.alarm_cleared_time
    cleared_at = dt.datetime.fromisoformat(recent.alarm_cleared_time.replace("Z", "+00:00")).timestamp()  # type: ignore[union-attr]
    assert _expires_at(polled, recent.alarm_event_record_id) == int(cleared_at) + 5 * DAY  # TTL re-dated to 5 days

    patched = api.request("PATCH", CONFIGURATION, body={"retentionPeriod": 2}, headers=MERGE_PATCH)
    assert patched.status == 200 and patched.json()["retentionPeriod"] == 2, patched.body
    assert api.get(f"{ALARMS}/{recent.alarm_event_record_id}").status == 404
    assert store.purge(1, time.time() + DAY) == 1  # the explicit purge the schedule runs
    assert ids(listed(api)) == {open_alarm["alarmEventRecordId"]}  # open alarms are never purged
    assert_problem(api.get(f"{ALARMS}/{fresh.alarm_event_record_id}"), 404)


def test_openapi_lists_the_monitoring_routes(api: Api) -> None:
    document = api.get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths[ALARMS]) == {"get"}
    assert set(paths[f"{ALARMS}/{{alarmEventRecordId}}"]) == {"get", "patch"}
    assert set(paths[CONFIGURATION]) == {"get", "put", "patch"}
    operation = paths[f"{ALARMS}/{{alarmEventRecordId}}"]["patch"]
    assert operation["security"] == [{"bearerAuth": ["o2ims:write"]}]
    assert {"404", "409", "415"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["AlarmEventRecordModifications"]["properties"]) == {"alarmAcknowledged", "perceivedSeverity"}
    assert {"retentionPeriod", "extensions"} <= set(schemas["AlarmServiceConfigurationUpdate"]["required"])
