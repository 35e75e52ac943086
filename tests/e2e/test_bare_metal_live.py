"""The local stack's bare-metal fleet as an SMO sees it: a server both DTIAS and its BMC describe is listed once and
linked to the other view, with its components; a server whose health degrades raises an alarm that clears when it
recovers."""

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


def listed_servers(client: Any, pool_name: str) -> dict[str, dict[str, Any]]:
    pools = client.get(f"{ROOT}/resourcePools?filter=(eq,name,{pool_name})").json()
    if not pools:
        return {}
    resources = client.get(f"{ROOT}/resourcePools/{pools[0]['resourcePoolId']}/resources", params={"limit": 1000})
    return {r["extensions"].get("serviceTag"): r for r in resources.json() if "parentId" not in r}


def test_a_server_dtias_and_its_bmc_both_see_is_listed_once(stack: LocalStack) -> None:
    """The Redfish fleet's two XR11s are DTIAS servers of Newark too (docs/o2-conventions.md §10): DTIAS's view is
    listed, linked to the BMC's, which stays readable by id with its components."""
    with stack.client() as client:
        # linked at the first poll of each backend after both saw the machine: within one poll interval
        linked = eventually(lambda: (found := listed_servers(client, "dc-newark-1-ran-du").get("7XR11A1"))
                            and found["extensions"].get("sameAs")
                            and "7XR11A1" not in listed_servers(client, "bare-metal-du") and found)
        assert linked, "the machine was never listed once, as DTIAS sees it, linked to its BMC's view"
        (link,) = linked["extensions"]["sameAs"]
        reply = client.get(f"{ROOT}/resourcePools/{link['resourcePoolId']}/resources/{link['resourceId']}",
                           params={"fields": "elements"})  # components are outside the default representation
        assert reply.status_code == 200
        bmc_view = reply.json()
        assert bmc_view["extensions"]["mergedInto"] == linked["resourceId"]
        assert bmc_view["globalAssetId"] == linked["globalAssetId"] == "dell:servicetag:7XR11A1"
        assert bmc_view["extensions"]["powerState"] == "On"
        assert any("ACC100" in e["extensions"].get("model", "") for e in bmc_view["elements"])


def test_a_degraded_server_raises_an_alarm_on_its_bmc_view_that_clears(stack: LocalStack) -> None:
    with stack.client() as client:
        linked = eventually(lambda: (found := listed_servers(client, "dc-newark-1-ran-du").get("7XR11A2"))
                            and found["extensions"].get("sameAs") and found)
        assert linked, "the DTIAS server was never linked to its BMC's view"
        bmc_view_id = linked["extensions"]["sameAs"][0]["resourceId"]
        knob(stack, "servers/7XR11A2/health", {"health": "Critical", "rollup": "StorageRollupStatus"})
        try:
            query = f"{MONITORING}/alarms?filter=(eq,resourceID,{bmc_view_id})"
            raised = eventually(lambda: [a for a in client.get(query).json() if "alarmClearedTime" not in a])
            assert raised, "no alarm for the degraded server"
            assert raised[0]["extensions"]["alarmName"] == "SystemHealthCritical"
            assert raised[0]["perceivedSeverity"] == 0
        finally:
            knob(stack, "servers/7XR11A2/health", {"health": "OK"})
        record = f"{MONITORING}/alarms/{raised[0]['alarmEventRecordId']}"
        cleared = eventually(lambda: "alarmClearedTime" in client.get(record).json())
        assert cleared, "the alarm did not clear when the server recovered"
