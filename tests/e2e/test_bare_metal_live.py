"""The local stack's bare-metal fleet as an SMO sees it: the simulated Dell servers beside the cluster's nodes, with
their components, and a server whose health degrades raises an alarm that clears when it recovers."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack, eventually

pytestmark = pytest.mark.xdist_group("stack")
ROOT = "/o2ims-infrastructureInventory/v1"
MONITORING = "/o2ims-infrastructureMonitoring/v1"


def redfish_fleet(stack: LocalStack) -> str:
    [line] = [ln for ln in stack.banner.splitlines() if ln.startswith("Redfish fleet: ")]
    return line.split()[2]


def knob(stack: LocalStack, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{redfish_fleet(stack)}/_sim/{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def test_bare_metal_servers_are_listed_with_components_and_raise_health_alarms(stack: LocalStack) -> None:
    with stack.client() as client:
        pools = eventually(lambda: client.get(f"{ROOT}/resourcePools?filter=(eq,name,bare-metal-du)").json())
        assert pools, "the Redfish backend's pool never appeared"
        resources = client.get(f"{ROOT}/resourcePools/{pools[0]['resourcePoolId']}/resources",
                               params={"limit": 1000}).json()
        servers = {r["extensions"]["serviceTag"]: r for r in resources if "parentId" not in r}
        assert sorted(servers) == ["7XR11A1", "7XR11A2"]  # the two PowerEdge XR11 far-edge servers
        server = servers["7XR11A1"]
        parts = [r for r in resources if r.get("parentId")]
        assert any("ACC100" in r["extensions"].get("model", "") for r in parts)
        assert server["globalAssetId"] == "7XR11A1" and server["extensions"]["powerState"] == "On"

        knob(stack, "servers/7XR11A2/health", {"health": "Critical", "rollup": "StorageRollupStatus"})
        try:
            query = f"{MONITORING}/alarms?filter=(eq,resourceID,{servers['7XR11A2']['resourceId']})"
            raised = eventually(lambda: [a for a in client.get(query).json() if "alarmClearedTime" not in a])
            assert raised, "no alarm for the degraded server"
            assert raised[0]["extensions"]["alarmName"] == "SystemHealthCritical"
            assert raised[0]["perceivedSeverity"] == 0
        finally:
            knob(stack, "servers/7XR11A2/health", {"health": "OK"})
        record = f"{MONITORING}/alarms/{raised[0]['alarmEventRecordId']}"
        cleared = eventually(lambda: "alarmClearedTime" in client.get(record).json())
        assert cleared, "the alarm did not clear when the server recovered"
