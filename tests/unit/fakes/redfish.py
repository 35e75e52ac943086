"""Redfish readings for unit tests: what the adapter reads from the simulator's iDRAC, without HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.adapters.ims.redfish_components import AdapterReading, PcieReading, SystemReading
from devtools.redfish_sim.fleet import SEED, Ids, ServerState, render_server


def reading(tag: str = "7XR11A1", endpoint: str = "site", health: str = "OK", rollup: str | None = None
            ) -> SystemReading:
    """What the adapter reads from the simulator's iDRAC for one seed server (same documents, no HTTP)."""
    spec = next(s for s in SEED if s.service_tag == tag)
    state = ServerState(spec, health=health, rollup=rollup, uuid=str(uuid.uuid5(uuid.NAMESPACE_DNS, tag)))
    docs = render_server(state, Ids())
    system = docs["/redfish/v1/Systems/System.Embedded.1"]

    def members(path: str) -> list[dict[str, Any]]:
        return [docs[m["@odata.id"]] for m in docs[path]["Members"]]

    chassis = docs["/redfish/v1/Chassis/System.Embedded.1"]
    adapters = [AdapterReading(a, tuple(members(a["Ports"]["@odata.id"])))
                for a in members(chassis["NetworkAdapters"]["@odata.id"])]
    pcie = [PcieReading(d, tuple(members(d["PCIeFunctions"]["@odata.id"])))
            for d in members(system["PCIeDevices"]["@odata.id"])]
    storage = members(system["Storage"]["@odata.id"])
    return SystemReading(
        endpoint=endpoint, system=system, chassis=chassis, manager=docs["/redfish/v1/Managers/iDRAC.Embedded.1"],
        processors=tuple(members(system["Processors"]["@odata.id"])), memory=tuple(members(system["Memory"][
            "@odata.id"])), ethernet_interfaces=tuple(members(system["EthernetInterfaces"]["@odata.id"])),
        network_adapters=tuple(adapters), drives=tuple(docs[d["@odata.id"]] for s in storage for d in s["Drives"]),
        pcie_devices=tuple(pcie))
