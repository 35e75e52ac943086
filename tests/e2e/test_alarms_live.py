"""Alarms on the running local stack as an operator and an SMO see them: a node condition set with kubectl raises an
O2ims alarm that arrives, signed, at the SMO's alarm subscription; restoring the condition clears it."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import LocalStack, binary, eventually

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


def set_disk_pressure(stack: LocalStack, node: str, status: str) -> None:
    """What an operator types: a strategic merge patch of the node's status (conditions merge by type)."""
    patch = {"status": {"conditions": [{"type": "DiskPressure", "status": status, "reason": "E2eDemo",
                                        "message": f"disk pressure {status}"}]}}
    kubectl(stack, "patch", "node", node, "--subresource=status", "--type=strategic", "-p", json.dumps(patch))


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
        time.sleep(6)  # fan_out caches the subscription list for 5 s
        node = json.loads(kubectl(stack, "get", "nodes", "-o", "json"))["items"][-1]["metadata"]["name"]

        set_disk_pressure(stack, node, "True")
        raised = eventually(lambda: [n for n in about(smo, node) if n["notificationEventType"] == 0])
        assert raised, f"no NEW alarm notification for {node}"
        new = raised[0]
        assert new["extensions"]["alarmName"] == "DiskPressure" and new["perceivedSeverity"] == 1
        assert new["consumerSubscriptionId"] == "noc-1" and new["globalCloudID"]
        assert new["objectRef"] == f"{MONITORING}/alarms/{new['alarmEventRecordId']}"
        shown = client.get(new["objectRef"])
        assert shown.status_code == 200 and shown.json()["perceivedSeverity"] == 1

        set_disk_pressure(stack, node, "False")
        cleared = eventually(lambda: [n for n in about(smo, node) if n["notificationEventType"] == 2])
        assert cleared, f"no CLEAR notification for {node}"
        assert cleared[0]["alarmEventRecordId"] == new["alarmEventRecordId"]
        assert cleared[0]["perceivedSeverity"] == 5
        record = client.get(new["objectRef"]).json()
        assert record["perceivedSeverity"] == 5 and record["alarmClearedTime"]
