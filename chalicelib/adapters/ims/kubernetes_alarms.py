"""The alarm dictionary of Kubernetes nodes: the node conditions that raise alarms, and the cordon alarm.

Pure, like `kubernetes_mapping`: one dictionary per instance type and architecture, with stable ids, so the alarm
evaluator finds a raised condition's definition from the node's type and the alarm name.
"""

from __future__ import annotations

from chalicelib.domain.inventory import AlarmDefinition, AlarmDictionary, stable_id


def alarm_dictionary_id(adapter_id: str, itype: str, arch: str) -> str:
    return stable_id(adapter_id, "alarmDictionary", itype, arch)


def alarm_definition_id(dictionary_id: str, alarm_name: str) -> str:
    """The alarm evaluator finds a raised condition's definition from the node's type and the alarm name."""
    return stable_id(dictionary_id, "alarmDefinition", alarm_name)


# alarm name -> (node condition, condition status that raises it, severity, description, proposed repair)
NODE_ALARMS: dict[str, tuple[str, str, str, str, str]] = {
    "NodeNotReady": ("Ready", "False|Unknown", "CRITICAL", "The kubelet reports NotReady or stopped posting status.",
                     "Check the kubelet, the container runtime and the path to the API server; drain the node."),
    "MemoryPressure": ("MemoryPressure", "True", "MAJOR", "The node is low on memory; the kubelet evicts pods.",
                       "Move workloads off the node or lower their memory requests and limits."),
    "DiskPressure": ("DiskPressure", "True", "MAJOR", "The node is low on disk space or inodes; the kubelet evicts "
                     "pods.", "Free disk space (unused images, logs, emptyDir volumes) or enlarge the filesystem."),
    "PIDPressure": ("PIDPressure", "True", "MAJOR", "The node is running out of process ids; the kubelet evicts pods.",
                    "Limit workloads that fork excessively (pod PID limits) or raise the node's pid_max."),
    "NetworkUnavailable": ("NetworkUnavailable", "True", "CRITICAL", "The node's pod network is not configured.",
                           "Check the CNI plugin and the cloud routes of the node."),
}


CORDON_ALARM = ("NodeCordoned", "WARNING", "The node has been cordoned (unschedulable) for longer than allowed; "
                "its capacity is lost to new workloads.", "Finish the maintenance and uncordon the node, or remove it.")


def alarm_dictionary(adapter_id: str, itype: str, arch: str, vendor: str,
                     cordon_alarm_seconds: int = 3600) -> AlarmDictionary:
    dictionary_id = alarm_dictionary_id(adapter_id, itype, arch)
    name, severity, description, repair = CORDON_ALARM
    cordon = AlarmDefinition(alarm_definition_id=alarm_definition_id(dictionary_id, name), alarm_name=name,
                             alarm_last_change="1.0", alarm_change_type="ADDED", alarm_description=description,
                             proposed_repair_actions=repair, clearing_type="AUTOMATIC",
                             alarm_additional_fields={"cordonedForSeconds": cordon_alarm_seconds,
                                                      "perceivedSeverity": severity})
    definitions = [
        AlarmDefinition(alarm_definition_id=alarm_definition_id(dictionary_id, name), alarm_name=name,
                        alarm_last_change="1.0", alarm_change_type="ADDED", alarm_description=description,
                        proposed_repair_actions=repair, clearing_type="AUTOMATIC",
                        alarm_additional_fields={"nodeCondition": condition, "raisedWhenStatus": status,
                                                 "perceivedSeverity": severity})
        for name, (condition, status, severity, description, repair) in NODE_ALARMS.items()
    ] + [cordon]
    return AlarmDictionary(alarm_dictionary_id=dictionary_id, alarm_dictionary_version="1.0",
                           alarm_dictionary_schema_version="1.0", entity_type=f"{itype} ({arch}) Kubernetes node",
                           vendor=vendor, alarm_definition=definitions)
