"""Alarm rules without I/O: which conditions hold, and how open records follow them (raise, change, clear)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.ims.aws_mapping import alarm_dictionary as ec2_dictionary
from chalicelib.adapters.ims.kubernetes_alarms import alarm_dictionary as node_dictionary
from chalicelib.domain import alarm_rules as rules
from chalicelib.domain.alarms import ClearingType, Severity, acknowledge_alarm, alarm_event, clear_alarm

CLOUD = "6f1c0c2e-0000-4000-8000-000000000001"
NOW = 1_800_000_000.0


def node(name: str, conditions: dict[str, str], type_id: str = "type-1", **extensions: Any) -> dict[str, Any]:
    return {"resourceId": f"res-{name}", "resourceTypeId": type_id, "resourcePoolId": "pool",
            "extensions": {"name": name, "conditions": [{"type": k, "status": v} for k, v in conditions.items()],
                           **extensions}}


def k8s_type(cordon_seconds: int = 3600) -> dict[str, Any]:
    return {"resourceTypeId": "type-1",
            "alarmDictionary": node_dictionary("a", "m5", "amd64", "x", cordon_seconds).to_wire()}


def views(*nodes: dict[str, Any], cordon_seconds: int = 3600) -> list[rules.NodeView]:
    objects = [("ResourceTypeInfo", k8s_type(cordon_seconds))] + [("ResourceInfo", n) for n in nodes]
    return rules.node_views(objects)


def names(conditions: list[Any]) -> list[str]:
    return sorted(c.attributes["alarmName"] for c in conditions)


def test_node_conditions_raise_their_definitions_with_severity() -> None:
    healthy = node("a", {"Ready": "True", "MemoryPressure": "False"})
    sick = node("b", {"Ready": "Unknown", "DiskPressure": "True", "PIDPressure": "True"})
    found, pending = rules.node_conditions("site", views(healthy, sick), NOW, {})
    assert names(found) == ["DiskPressure", "NodeNotReady", "PIDPressure"] and pending == {}
    severities = {c.attributes["alarmName"]: c.severity for c in found}
    assert severities == {"NodeNotReady": Severity.CRITICAL, "DiskPressure": Severity.MAJOR,
                          "PIDPressure": Severity.MAJOR}
    assert all(c.resource_id == "res-b" and c.resource_type_id == "type-1" for c in found)


def test_a_node_without_a_ready_condition_counts_as_not_ready() -> None:
    found, _ = rules.node_conditions("site", views(node("a", {})), NOW, {})
    assert names(found) == ["NodeNotReady"] and found[0].attributes["conditionStatus"] == "Unknown"


def test_a_cordon_raises_only_after_the_allowed_time() -> None:
    cordoned = node("a", {"Ready": "True"}, unschedulable=True)
    found, pending = rules.node_conditions("site", views(cordoned, cordon_seconds=600), NOW, {})
    assert found == [] and list(pending.values()) == [NOW]
    found, pending = rules.node_conditions("site", views(cordoned, cordon_seconds=600), NOW + 601, pending)
    assert names(found) == ["NodeCordoned"] and pending == {}
    tainted = node("b", {"Ready": "True"}, unschedulable=True,
                   taints=[{"key": "node.kubernetes.io/unschedulable", "timeAdded": "2020-01-01T00:00:00Z"}])
    found, _ = rules.node_conditions("site", views(tainted, cordon_seconds=600), NOW, {})
    assert names(found) == ["NodeCordoned"] and found[0].attributes["cordonedSince"].startswith("2020-01-01")


def test_an_ec2_instance_that_stopped_raises_instance_not_running() -> None:
    dictionary = ec2_dictionary("aws", "c5.metal").to_wire()
    objects = [("ResourceTypeInfo", {"resourceTypeId": "t", "alarmDictionary": dictionary}),
               ("ResourceInfo", {"resourceId": "i-1", "resourceTypeId": "t", "extensions": {"state": "stopped"}}),
               ("ResourceInfo", {"resourceId": "i-2", "resourceTypeId": "t", "extensions": {"state": "running"}})]
    found, _ = rules.node_conditions("aws", rules.node_views(objects), NOW, {})
    assert [(c.resource_id, c.attributes["state"]) for c in found] == [("i-1", "stopped")]


def test_node_group_health_issues_and_unreachable_clusters_use_the_platform_dictionary() -> None:
    issues = [{"code": "AsgInstanceLaunchFailures", "message": "no capacity", "resourceIds": ["asg"]}]
    pools = [{"resourcePoolId": "p1", "name": "du", "extensions": {"healthIssues": issues}},
             {"resourcePoolId": "p2", "name": "ok", "extensions": {}}]
    [degraded] = rules.pool_conditions(CLOUD, "aws", pools)
    [down] = rules.unreachable_conditions(CLOUD, "aws", ["dm-1"], "connection refused")
    definitions = {d.alarm_name: d.alarm_definition_id for d in rules.platform_dictionary(CLOUD).alarm_definition}
    assert degraded.alarm_definition_id == definitions["NodeGroupDegraded"]
    assert degraded.attributes["issueCodes"] == ["AsgInstanceLaunchFailures"] and degraded.resource_id == "p1"
    assert down.alarm_definition_id == definitions["ClusterUnreachable"] and down.severity is Severity.CRITICAL
    assert down.resource_type_id == rules.platform_type_id(CLOUD, "deploymentManager")


def test_a_backend_without_deployment_managers_carries_its_outage_on_its_pools() -> None:
    definitions = {d.alarm_name: d.alarm_definition_id for d in rules.platform_dictionary(CLOUD).alarm_definition}
    found = rules.unreachable_conditions(CLOUD, "dc-fleet", [], "DTIAS answered 503", pool_ids=["p1", "p2"])
    assert [(c.resource_id, c.alarm_definition_id) for c in found] == [
        ("p1", definitions["BackendUnreachable"]), ("p2", definitions["BackendUnreachable"])]
    assert all(c.severity is Severity.MAJOR and c.clearing_type is ClearingType.AUTOMATIC for c in found)
    assert found[0].resource_type_id == rules.platform_type_id(CLOUD, "resourcePool")
    assert found[0].attributes == {"alarmName": "BackendUnreachable", "error": "DTIAS answered 503"}
    # A cluster backend keeps one ClusterUnreachable per deployment manager, not one per pool
    [cluster] = rules.unreachable_conditions(CLOUD, "aws", ["dm-1"], "refused", pool_ids=["p1"])
    assert cluster.alarm_definition_id == definitions["ClusterUnreachable"]


def deployment(status: str, **extensions: Any) -> dict[str, Any]:
    return {"deploymentId": f"d-{status}", "name": "vdu", "namespace": "ran", "status": status,
            "updatedAt": "2020-01-01T00:00:00Z", "extensions": {"dmsAdapter": "helm", **extensions}}


def test_deployment_conditions() -> None:
    failed_op = {"operationId": "op-1", "operationType": "upgrade", "error": {"detail": "deadline exceeded"}}
    found = rules.deployment_conditions(
        CLOUD, [deployment("failed"), deployment("deploying"), deployment("deployed"),
                deployment("pending", activeOperationId="op-2")], {"d-failed": failed_op}, NOW, 600)
    assert names(found) == ["DeploymentFailed", "DeploymentOperationFailed", "DeploymentUnready"]
    manual = [c for c in found if c.clearing_type is ClearingType.MANUAL]
    assert [c.attributes["operationId"] for c in manual] == ["op-1"]
    recent = rules.deployment_conditions(CLOUD, [deployment("deploying") | {"updatedAt": "2027-01-15T08:00:00Z"}],
                                         {}, NOW, 600)
    assert recent == []  # deploying for less than the allowed time is not an alarm


def test_reconcile_raises_changes_and_clears_only_automatic_alarms() -> None:
    sick = node("b", {"Ready": "False", "MemoryPressure": "True"})
    found, _ = rules.node_conditions("site", views(sick), NOW, {})
    first = rules.reconcile([], found, "2027-01-01T00:00:00Z")
    assert len(first.raised) == 2 and not first.changed and not first.cleared
    again = rules.reconcile(first.raised, found, "2027-01-01T00:01:00Z")
    assert not again  # nothing changed
    recovered = rules.reconcile(first.raised, [], "2027-01-01T00:02:00Z")
    assert len(recovered.cleared) == 2 and all(post.perceived_severity is Severity.CLEARED
                                               for _, post in recovered.cleared)
    manual = rules.deployment_conditions(CLOUD, [deployment("deployed")], {"d-deployed": {
        "operationId": "op-9", "operationType": "scale", "error": {"detail": "x"}}}, NOW, 600)
    raised = rules.reconcile([], manual, "t1").raised
    assert rules.reconcile(raised, [], "t2").cleared == []  # MANUAL: waits for the SMO


def test_an_acknowledged_alarm_no_longer_changes_but_still_clears() -> None:
    sick = node("b", {"Ready": "False"})
    found, _ = rules.node_conditions("site", views(sick), NOW, {})
    [record] = rules.reconcile([], found, "t1").raised
    acked = acknowledge_alarm(record, "t2")
    worse = rules.node_conditions("site", views(node("b", {"Ready": "Unknown"})), NOW, {})[0]
    assert not rules.reconcile([acked], worse, "t3").changed
    assert len(rules.reconcile([acked], [], "t4").cleared) == 1


def test_alarm_events_have_stable_ids_per_transition() -> None:
    found, _ = rules.node_conditions("site", views(node("b", {"Ready": "False"})), NOW, {})
    [record] = rules.reconcile([], found, "2027-01-01T00:00:00Z").raised
    cleared = clear_alarm(record, "2027-01-01T00:05:00Z", "netweave")
    raise_event, clear_event = alarm_event(None, record, "site"), alarm_event(record, cleared, "site")
    assert raise_event.event_id == alarm_event(None, record, "site").event_id != clear_event.event_id
    assert clear_event.post is not None
    assert raise_event.event_type.value == "created" and clear_event.post["perceivedSeverity"] == 5
