"""Alarms on the running local stack as an operator and an SMO see them: a node condition set with kubectl raises an
O2ims alarm that arrives, signed, at the SMO's alarm subscription; the NOC acknowledges it; restoring the condition
clears it."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import LocalStack, binary, eventually
from tests.e2e.test_notifications_live import FIRST_EVENTS_SECONDS
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
MONITORING = "/o2ims-infrastructureMonitoring/v1"


@pytest.fixture()
def receiver() -> Iterator[tuple[Receiver, str]]:
    smo = Receiver(secrets=[])
    server = serve(smo)
    yield smo, f"http://127.0.0.1:{server.server_address[1]}/alarms/{uuid.uuid4().hex[:8]}"
    server.shutdown()


def kubectl(stack: LocalStack, *args: str) -> str:
    done = subprocess.run([binary("kubectl"), "--kubeconfig", str(stack.kubeconfig), *args], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout


def set_disk_pressure(stack: LocalStack, node: str, status: str, reason: str = "E2eDemo") -> None:
    """What an operator types: a strategic merge patch of the node's status (conditions merge by type)."""
    patch = {"status": {"conditions": [{"type": "DiskPressure", "status": status, "reason": reason,
                                        "message": f"disk pressure {status}"}]}}
    kubectl(stack, "patch", "node", node, "--subresource=status", "--type=strategic", "-p", json.dumps(patch))


def reaches_the_subscription(stack: LocalStack, smo: Receiver, probe_node: str) -> None:
    """Fan-out reads subscriptions through a short cache (docs/architecture.md §4), in the pump's process: raise and
    clear an alarm on `probe_node` until one of its notifications arrives. From then on every alarm event reaches the
    new subscription (the cache is per kind, see SubscriptionStore.active). The probe node ends without the alarm."""
    toggles = iter(["True", "False"] * FIRST_EVENTS_SECONDS)

    def arrived() -> bool:
        if about(smo, probe_node):
            return True
        set_disk_pressure(stack, probe_node, next(toggles), reason="E2eProbe")
        return False

    try:  # two inventory polls (a second each) see each state, so every toggle raises or clears the alarm
        wait_until(arrived, timeout=FIRST_EVENTS_SECONDS, interval=2,
                   what=f"an alarm of the probe node {probe_node} reaching the SMO")
    finally:
        set_disk_pressure(stack, probe_node, "False", reason="E2eProbe")


def about(smo: Receiver, node: str) -> list[dict[str, Any]]:
    return [r.body for r in smo.notifications() if r.verified and r.body.get("extensions", {}).get("nodeName") == node]


def test_a_node_condition_set_with_kubectl_raises_and_clears_an_alarm_at_the_smo(
        stack: LocalStack, receiver: tuple[Receiver, str]) -> None:
    smo, callback = receiver
    with stack.client() as client:
        assert eventually(lambda: client.get("/o2ims-infrastructureInventory/v1/resourcePools").json())
        reply = client.post(f"{MONITORING}/alarmSubscriptions",
                            json={"callback": callback, "consumerSubscriptionId": "noc-1"})
        assert reply.status_code == 201, reply.text
        smo.secrets.append(reply.json()["secret"])
        nodes = [n["metadata"]["name"] for n in json.loads(kubectl(stack, "get", "nodes", "-o", "json"))["items"]]
        node, probe_node = nodes[-1], nodes[0]
        reaches_the_subscription(stack, smo, probe_node)

        set_disk_pressure(stack, node, "True")
        raised = eventually(lambda: [n for n in about(smo, node) if n["notificationEventType"] == 0])
        assert raised, f"no NEW alarm notification for {node}"
        new = raised[0]
        assert new["extensions"]["alarmName"] == "DiskPressure" and new["perceivedSeverity"] == 1
        assert new["consumerSubscriptionId"] == "noc-1" and new["globalCloudID"]
        assert new["objectRef"] == f"{MONITORING}/alarms/{new['alarmEventRecordId']}"
        shown = client.get(new["objectRef"])
        assert shown.status_code == 200, shown.text
        raised_record = shown.json()
        assert (raised_record["alarmEventRecordId"], raised_record["perceivedSeverity"],
                raised_record["alarmAcknowledged"]) == (new["alarmEventRecordId"], 1, False)
        assert "alarmAcknowledgedTime" not in raised_record and "alarmClearedTime" not in raised_record

        # The NOC acknowledges it: the record says so, and so does an ACKNOWLEDGE notification.
        reply = client.patch(new["objectRef"], json={"alarmAcknowledged": True},
                             headers={"Content-Type": "application/merge-patch+json"})
        assert reply.status_code == 200 and reply.json() == {"alarmAcknowledged": True}, reply.text
        acknowledged = client.get(new["objectRef"]).json()
        assert acknowledged["alarmAcknowledged"] is True and acknowledged["perceivedSeverity"] == 1
        assert acknowledged["alarmAcknowledgedTime"] >= raised_record["alarmChangedTime"]
        assert "alarmClearedTime" not in acknowledged
        notes = eventually(lambda: [n for n in about(smo, node) if n["notificationEventType"] == 3])
        assert notes, f"no ACKNOWLEDGE notification for {node}: {about(smo, node)}"
        assert (notes[0]["alarmEventRecordId"], notes[0]["alarmAcknowledged"]) == (new["alarmEventRecordId"], True)

        # The condition goes away: netweave clears the (acknowledged) alarm.
        set_disk_pressure(stack, node, "False")
        cleared = eventually(lambda: [n for n in about(smo, node) if n["notificationEventType"] == 2])
        assert cleared, f"no CLEAR notification for {node}"
        assert cleared[0]["alarmEventRecordId"] == new["alarmEventRecordId"]
        assert cleared[0]["perceivedSeverity"] == 5
        record = client.get(new["objectRef"]).json()
        assert record["perceivedSeverity"] == 5 and record["alarmClearedTime"] >= acknowledged["alarmChangedTime"]
        assert record["alarmAcknowledged"] is True and record["alarmAcknowledgedTime"] == (
            acknowledged["alarmAcknowledgedTime"])
        assert record["extensions"]["clearedBy"] == "netweave"
