"""On the running local stack, the DTIAS simulator's bare-metal site is listed beside the cluster: its pools at the
`dc-…` sites, its servers with their components, and a server whose health degrades raises an alarm that clears."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LocalStack, eventually

pytestmark = pytest.mark.xdist_group("stack")
ROOT = "/o2ims-infrastructureInventory/v1"
ALARMS = "/o2ims-infrastructureMonitoring/v1/alarms"


def dtias_url(stack: LocalStack) -> str:
    [line] = [ln for ln in stack.banner.splitlines() if ln.strip().startswith("DTIAS ")]
    return line.split()[1]


def pools_by_name(stack: LocalStack) -> dict[str, dict[str, Any]]:
    with stack.client() as client:
        return {p["name"]: p for p in client.get(f"{ROOT}/resourcePools?limit=1000").json()}


def test_the_bare_metal_site_is_listed_beside_the_cluster(stack: LocalStack) -> None:
    pools = eventually(lambda: (found := pools_by_name(stack)) and "dc-newark-1-ran-du" in found and found)
    assert "far-edge-du" in pools and "general-compute" in pools  # the cluster's
    bare_metal = pools["dc-newark-1-ran-du"]
    assert bare_metal["location"] == "dc-newark-1" and bare_metal["oCloudSiteId"]
    with stack.client() as client:
        reply = client.get(f"{ROOT}/resourcePools/{bare_metal['resourcePoolId']}/resources?limit=1000")
    servers = [r for r in reply.json() if "parentId" not in r]
    assert len(servers) == 6 and all(s["globalAssetId"].startswith("dell:servicetag:") for s in servers)
    parents = {r["parentId"] for r in reply.json() if "parentId" in r}
    assert all(s["resourceId"] in parents for s in servers), "every server has its components"


def open_alarm_for(stack: LocalStack, server: str) -> list[dict[str, Any]]:
    with stack.client() as client:
        records = client.get(f"{ALARMS}?filter=(eq,extensions/nodeName,{server});(eq,alarmClearedTime,null)").json()
    return [r for r in records if r["extensions"]["alarmName"] == "ServerHealthWarning"]


def test_a_server_whose_health_degrades_raises_an_alarm_that_clears(stack: LocalStack) -> None:
    url = dtias_url(stack)
    eventually(lambda: pools_by_name(stack).get("dc-chicago-1-core-compute"))
    httpx.post(f"{url}/_sim/servers/chi-r760-21", json={"health": "Warning"}, timeout=10).raise_for_status()
    try:
        [alarm] = eventually(lambda: open_alarm_for(stack, "chi-r760-21"))
        assert alarm["perceivedSeverity"] == 3 and alarm["extensions"]["backend"] == "dc-fleet"
    finally:
        httpx.post(f"{url}/_sim/servers/chi-r760-21", json={"health": "OK"}, timeout=10).raise_for_status()
    assert eventually(lambda: not open_alarm_for(stack, "chi-r760-21"))
