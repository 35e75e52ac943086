"""Which alarm conditions hold now, and what that means for the open alarm records. Pure: no I/O.

Node alarms are data-driven: each node's resource type carries its alarm dictionary, whose definitions say which node
condition raises them (`alarmAdditionalFields.nodeCondition` / `raisedWhenStatus`), how long a cordon may last
(`cordonedForSeconds`), or which value of an extension does (`extensionField` / `raisedWhenValue`, e.g. an EC2
instance's state, or a server's health, with `reportedExtensions` copied into the alarm). Alarms about things that
are not O2ims resources — a cluster's API, an EKS node group, a deployment — come from the O-Cloud's *platform*
dictionary, whose definitions and pseudo resource types have ids derived from the O-Cloud id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.alarms import (
    AlarmEventRecord,
    ClearingType,
    Condition,
    Severity,
    change_alarm,
    clear_alarm,
    raise_alarm,
)
from chalicelib.domain.inventory import AlarmDefinition, AlarmDictionary, ObjectType, stable_id

# name -> (severity, clearing type, description, proposed repair actions)
PLATFORM_ALARMS: dict[str, tuple[Severity, ClearingType, str, str]] = {
    "ClusterUnreachable": (Severity.CRITICAL, ClearingType.AUTOMATIC,
                           "netweave cannot reach the cluster's API (or the cloud API that manages it).",
                           "Check the API endpoint, its certificates and credentials, and the network path."),
    "BackendUnreachable": (Severity.MAJOR, ClearingType.AUTOMATIC,
                           "netweave cannot reach an inventory backend that has no deployment manager (DTIAS, a "
                           "Redfish fleet); the pool's resources show their last known state.",
                           "Check the backend's address, network path, certificate and credentials."),
    "NodeGroupDegraded": (Severity.MAJOR, ClearingType.AUTOMATIC,
                          "The cloud reports health issues for a node group (e.g. instances failing to join).",
                          "Read the issues in the alarm's extensions; fix capacity, IAM or subnet problems."),
    "DeploymentFailed": (Severity.MAJOR, ClearingType.AUTOMATIC,
                         "A deployment's release failed or lost readiness; cleared when it is deployed again.",
                         "Read the deployment's status and logs; roll back or fix the values or package."),
    "DeploymentUnready": (Severity.MINOR, ClearingType.AUTOMATIC,
                          "A deployment has stayed deployed-but-not-ready longer than allowed.",
                          "Check the pods of the deployment (scheduling, image pulls, probes)."),
    "DeploymentOperationFailed": (Severity.WARNING, ClearingType.MANUAL,
                                  "An operation on a deployment (install, upgrade, scale, rollback, delete) failed.",
                                  "Read the operation's error; the SMO clears this alarm when it has handled it."),
}
PLATFORM_TYPES = ("deploymentManager", "resourcePool", "deployment")


def platform_dictionary_id(o_cloud_id: str) -> str:
    return stable_id(o_cloud_id, "alarmDictionary", "platform")


def platform_definition_id(o_cloud_id: str, name: str) -> str:
    return stable_id(platform_dictionary_id(o_cloud_id), "alarmDefinition", name)


def platform_type_id(o_cloud_id: str, kind: str) -> str:
    """The `resourceTypeID` of an alarm about a deployment manager, a resource pool or a deployment."""
    return stable_id(o_cloud_id, "alarmSubjectType", kind)


def platform_dictionary(o_cloud_id: str) -> AlarmDictionary:
    dictionary_id = platform_dictionary_id(o_cloud_id)
    definitions = [
        AlarmDefinition(alarm_definition_id=platform_definition_id(o_cloud_id, name), alarm_name=name,
                        alarm_last_change="1.0", alarm_change_type="ADDED", alarm_description=description,
                        proposed_repair_actions=repair, clearing_type=clearing.value,
                        alarm_additional_fields={"perceivedSeverity": severity.name})
        for name, (severity, clearing, description, repair) in PLATFORM_ALARMS.items()
    ]
    return AlarmDictionary(alarm_dictionary_id=dictionary_id, alarm_dictionary_version="1.0",
                           alarm_dictionary_schema_version="1.0",
                           entity_type="netweave platform: deployment managers, resource pools, deployments",
                           vendor="netweave", alarm_definition=definitions)


def _platform_condition(o_cloud_id: str, name: str, kind: str, subject_id: str, backend: str,
                        attributes: dict[str, Any], discriminator: str = "") -> Condition:
    severity, clearing, _, _ = PLATFORM_ALARMS[name]
    definition = platform_definition_id(o_cloud_id, name)
    return Condition(key=f"{definition}|{subject_id}|{discriminator}", alarm_definition_id=definition,
                     resource_type_id=platform_type_id(o_cloud_id, kind), resource_id=subject_id, severity=severity,
                     clearing_type=clearing, backend=backend, attributes={"alarmName": name, **attributes})


# --- infrastructure -------------------------------------------------------------------------------------------------

def _epoch(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    try:
        return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class NodeView:
    """A node resource and its type's alarm definitions."""

    resource: Mapping[str, Any]
    definitions: list[Mapping[str, Any]]


def node_views(objects: Iterable[tuple[str, Mapping[str, Any]]]) -> list[NodeView]:
    """Top-level resources with their type's dictionary, from (object type, document) pairs of one snapshot."""
    documents = list(objects)
    dictionaries = {d["resourceTypeId"]: (d.get("alarmDictionary") or {}).get("alarmDefinition") or []
                    for t, d in documents if t == ObjectType.RESOURCE_TYPE.value}
    return [NodeView(d, dictionaries.get(d["resourceTypeId"], [])) for t, d in documents
            if t == ObjectType.RESOURCE.value and not d.get("parentId")]


def node_conditions(backend: str, nodes: Iterable[NodeView], now: float,
                    first_seen: Mapping[str, float]) -> tuple[list[Condition], dict[str, float]]:
    """Conditions of nodes now; and the cordons seen but not yet old enough, with when they were first seen
    (the caller keeps those between evaluations when the cluster does not say since when a node is cordoned)."""
    found: list[Condition] = []
    pending: dict[str, float] = {}
    for node in nodes:
        extensions = node.resource.get("extensions") or {}
        statuses = {c.get("type"): c for c in extensions.get("conditions") or []}
        for definition in node.definitions:
            fields = definition.get("alarmAdditionalFields") or {}
            condition = _node_condition(backend, node.resource, definition, fields, statuses, extensions)
            if condition is None:
                continue
            wait = fields.get("cordonedForSeconds")
            if wait is not None:
                since = _cordoned_since(extensions) or first_seen.get(condition.key, now)
                if now - since < float(wait):
                    pending[condition.key] = since
                    continue
                condition.attributes["cordonedSince"] = dt.datetime.fromtimestamp(since, dt.UTC).isoformat()
            found.append(condition)
    return found, pending


def _node_condition(backend: str, resource: Mapping[str, Any], definition: Mapping[str, Any],
                    fields: Mapping[str, Any], statuses: Mapping[Any, Mapping[str, Any]],
                    extensions: Mapping[str, Any]) -> Condition | None:
    attributes: dict[str, Any] = {"alarmName": definition.get("alarmName"), "nodeName": extensions.get("name")}
    if "nodeCondition" in fields:
        status = statuses.get(fields["nodeCondition"])
        raising = str(fields.get("raisedWhenStatus", "True")).split("|")
        # A node that stopped reporting a condition altogether counts as Unknown.
        observed = str(status.get("status")) if status else ("Unknown" if fields["nodeCondition"] == "Ready" else "")
        if observed not in raising:
            return None
        attributes.update(conditionStatus=observed, reason=(status or {}).get("reason"),
                          message=str((status or {}).get("message") or "")[:500] or None)
    elif "cordonedForSeconds" in fields:
        if not extensions.get("unschedulable"):
            return None
    elif "extensionField" in fields:  # e.g. an EC2 instance's `state`
        value = extensions.get(str(fields["extensionField"]))
        if value is None or str(value) not in str(fields.get("raisedWhenValue", "")).split("|"):
            return None
        attributes[str(fields["extensionField"])] = value
        for name in fields.get("reportedExtensions") or []:  # context for the SMO, e.g. which subsystem failed
            attributes[str(name)] = extensions.get(str(name))
    else:
        return None
    severity = Severity[str(fields.get("perceivedSeverity", "MAJOR"))]
    definition_id = str(definition["alarmDefinitionId"])
    return Condition(key=f"{definition_id}|{resource['resourceId']}|", alarm_definition_id=definition_id,
                     resource_type_id=str(resource["resourceTypeId"]), resource_id=str(resource["resourceId"]),
                     severity=severity, clearing_type=ClearingType(definition.get("clearingType", "AUTOMATIC")),
                     backend=backend, attributes={k: v for k, v in attributes.items() if v is not None})


def _cordoned_since(extensions: Mapping[str, Any]) -> float | None:
    for taint in extensions.get("taints") or []:
        if taint.get("key") == "node.kubernetes.io/unschedulable":
            return _epoch(taint.get("timeAdded"))
    return None


def unreachable_conditions(o_cloud_id: str, backend: str, manager_ids: Iterable[str],
                           reason: str, pool_ids: Iterable[str] = ()) -> list[Condition]:
    """ClusterUnreachable on each of the backend's deployment managers; a backend without any (bare metal) carries
    BackendUnreachable on each of its resource pools instead, so the SMO sees which pools show last known state."""
    managers = list(manager_ids)
    if managers:
        return [_platform_condition(o_cloud_id, "ClusterUnreachable", "deploymentManager", manager_id, backend,
                                    {"error": reason[:500]}) for manager_id in managers]
    return [_platform_condition(o_cloud_id, "BackendUnreachable", "resourcePool", pool_id, backend,
                                {"error": reason[:500]}) for pool_id in pool_ids]


def pool_conditions(o_cloud_id: str, backend: str, pools: Iterable[Mapping[str, Any]]) -> list[Condition]:
    """EKS node groups whose `health.issues` are not empty (the AWS adapter puts them in `extensions.healthIssues`)."""
    found = []
    for pool in pools:
        issues = (pool.get("extensions") or {}).get("healthIssues") or []
        if issues:
            codes = sorted({str(i.get("code")) for i in issues})
            found.append(_platform_condition(o_cloud_id, "NodeGroupDegraded", "resourcePool", pool["resourcePoolId"],
                                             backend, {"issueCodes": codes, "issues": issues[:10],
                                                       "poolName": pool.get("name")}))
    return found


# --- deployments ----------------------------------------------------------------------------------------------------

DEPLOYMENTS_SCOPE = "deployments"


def deployment_conditions(o_cloud_id: str, deployments: Iterable[Mapping[str, Any]],
                          failed_operations: Mapping[str, Mapping[str, Any]], now: float,
                          unready_after_seconds: float) -> list[Condition]:
    """`deployments` in wire form; `failed_operations` maps a deployment id to its last operation when that failed."""
    found = []
    for deployment in deployments:
        deployment_id = str(deployment["deploymentId"])
        extensions = deployment.get("extensions") or {}
        attributes = {"deploymentName": deployment.get("name"), "namespace": deployment.get("namespace"),
                      "dmsAdapter": extensions.get("dmsAdapter"), "statusReason": extensions.get("statusReason")}
        attributes = {k: v for k, v in attributes.items() if v is not None}
        idle = not extensions.get("activeOperationId")
        if deployment.get("status") == "failed":
            found.append(_platform_condition(o_cloud_id, "DeploymentFailed", "deployment", deployment_id,
                                             DEPLOYMENTS_SCOPE, attributes))
        elif idle and deployment.get("status") == "deploying":
            since = _epoch(deployment.get("updatedAt")) or now
            if now - since >= unready_after_seconds:
                found.append(_platform_condition(o_cloud_id, "DeploymentUnready", "deployment", deployment_id,
                                                 DEPLOYMENTS_SCOPE, attributes))
        operation = failed_operations.get(deployment_id)
        if operation is not None:
            error = operation.get("error") or {}
            found.append(_platform_condition(
                o_cloud_id, "DeploymentOperationFailed", "deployment", deployment_id, DEPLOYMENTS_SCOPE,
                {**attributes, "operationId": operation["operationId"], "operationType": operation["operationType"],
                 "error": str(error.get("detail", ""))[:500]}, discriminator=str(operation["operationId"])))
    return found


# --- reconciling -----------------------------------------------------------------------------------------------------

@dataclass
class AlarmChanges:
    raised: list[AlarmEventRecord] = field(default_factory=list)
    changed: list[tuple[AlarmEventRecord, AlarmEventRecord]] = field(default_factory=list)  # (prior, post)
    cleared: list[tuple[AlarmEventRecord, AlarmEventRecord]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.raised or self.changed or self.cleared)


def reconcile(open_records: Iterable[AlarmEventRecord], conditions: Iterable[Condition], now: str) -> AlarmChanges:
    """Open records of one scope against the conditions found in it now: raise the new, change the different
    (unless acknowledged: an acknowledged alarm no longer changes), clear the AUTOMATIC ones whose condition is gone
    (MANUAL ones wait for the SMO)."""
    changes = AlarmChanges()
    by_key = {record.key: record for record in open_records}
    seen: set[str] = set()
    for condition in conditions:
        if condition.key in seen:
            continue
        seen.add(condition.key)
        record = by_key.get(condition.key)
        if record is None:
            changes.raised.append(raise_alarm(condition, now))
        elif not record.alarm_acknowledged and (updated := change_alarm(record, condition, now)) is not None:
            changes.changed.append((record, updated))
    for key, record in by_key.items():
        if key not in seen and record.extensions.get("clearingType") != ClearingType.MANUAL.value:
            changes.cleared.append((record, clear_alarm(record, now, "netweave")))
    return changes
