"""The alarm dictionary of DTIAS servers (docs/alarms.md "DTIAS servers"): which server states raise alarms.

Pure and data-driven, like the EC2 one: each definition names the server resource's extension it watches
(`extensionField`) and the values that raise it (`raisedWhenValue`), so the alarm evaluator
(`chalicelib/domain/alarm_rules.py`) raises and clears them from each poll without DTIAS-specific code. DTIAS has
no event API in the published client (reference §6): these are polled.
"""

from __future__ import annotations

from chalicelib.domain.inventory import AlarmDefinition, AlarmDictionary, stable_id

# alarm name -> (extension field, values that raise it, severity, description, proposed repair)
SERVER_ALARMS: dict[str, tuple[str, str, str, str, str]] = {
    "ServerHealthCritical": ("health", "Critical", "CRITICAL",
                             "The server's rolled-up Redfish health (as DTIAS reports it) is Critical.",
                             "Read the server's iDRAC lifecycle log; replace the failed part or move its workloads."),
    "ServerHealthWarning": ("health", "Warning", "WARNING",
                            "The server's rolled-up Redfish health (as DTIAS reports it) is Warning.",
                            "Read the server's iDRAC lifecycle log (a predicted drive failure, a redundancy loss)."),
    "ServerPoweredOff": ("powerState", "Off|PoweringOff", "MAJOR",
                         "The server is powered off; whatever it hosts is down.",
                         "Power the server on through DTIAS or its iDRAC, or release it from its pool."),
    "ServerConfigurationDrift": ("driftState", "Drifted|NonCompliant", "WARNING",
                                 "DTIAS reports the server's BIOS or firmware drifted from its profile.",
                                 "Re-apply the server's resource profile in DTIAS."),
}


def alarm_dictionary(adapter_id: str, manufacturer: str, model: str) -> AlarmDictionary:
    dictionary_id = stable_id(adapter_id, "alarmDictionary", "server", manufacturer, model)
    definitions = [
        AlarmDefinition(alarm_definition_id=stable_id(dictionary_id, "alarmDefinition", name), alarm_name=name,
                        alarm_last_change="1.0", alarm_change_type="ADDED", alarm_description=description,
                        proposed_repair_actions=repair, clearing_type="AUTOMATIC",
                        alarm_additional_fields={"extensionField": field, "raisedWhenValue": values,
                                                 "perceivedSeverity": severity})
        for name, (field, values, severity, description, repair) in SERVER_ALARMS.items()
    ]
    return AlarmDictionary(alarm_dictionary_id=dictionary_id, alarm_dictionary_version="1.0",
                           alarm_dictionary_schema_version="1.0", entity_type=f"{manufacturer} {model} server (DTIAS)",
                           vendor=manufacturer, alarm_definition=definitions)
