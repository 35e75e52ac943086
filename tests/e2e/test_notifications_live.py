"""Notifications on the running local stack, as an SMO receives them: signed, complete through an outage, and
each failure mode ending where it should (docs/architecture.md §4, §7; issue 4)."""

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
SUBSCRIPTIONS = "/o2ims-infrastructureInventory/v1/subscriptions"


@pytest.fixture(scope="module", autouse=True)
def first_poll_done(stack: LocalStack) -> None:
    """Changes made before the stack's first inventory poll would arrive as creations, not modifications."""
    with stack.client() as client:
        assert eventually(lambda: client.get("/o2ims-infrastructureInventory/v1/deploymentManagers").json())
    time.sleep(3)  # the poll that filled the snapshot has published its events


@pytest.fixture()
def receiver() -> Iterator[tuple[Receiver, str]]:
    smo = Receiver(secrets=[])
    server = serve(smo)
    yield smo, f"http://127.0.0.1:{server.server_address[1]}/notify/{uuid.uuid4().hex[:8]}"
    server.shutdown()


def subscribe(stack: LocalStack, smo: Receiver, callback: str, flt: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"callback": callback, "consumerSubscriptionId": f"smo-{uuid.uuid4().hex[:6]}"}
    if flt:
        body["filter"] = flt
    with stack.client() as client:
        reply = client.post(SUBSCRIPTIONS, json=body)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    smo.secrets.append(created["secret"])
    # fan_out caches the subscription list for 5 s (docs/architecture.md §4): later changes reach the new one
    time.sleep(6)
    return dict(created)


def relabel(stack: LocalStack, value: str, count: int = 1) -> list[str]:
    nodes = json.loads(subprocess.run(
        [binary("kubectl"), "--kubeconfig", str(stack.kubeconfig), "get", "nodes", "-o", "json"],
        capture_output=True, text=True, timeout=60, check=True).stdout)["items"][:count]
    names = [n["metadata"]["name"] for n in nodes]
    for name in names:
        subprocess.run([binary("kubectl"), "--kubeconfig", str(stack.kubeconfig), "label", "node", name,
                        f"e2e.netweave.io/mark={value}", "--overwrite"], capture_output=True, timeout=60, check=True)
    return names


def about(smo: Receiver, value: str) -> list[dict[str, Any]]:
    """Verified notifications whose new state carries our label value."""
    return [r.body for r in smo.notifications()
            if value in json.dumps(r.body.get("postObjectState", {})) and r.verified]


def test_a_cluster_change_reaches_the_smo_signed_and_in_the_o2_shape(stack: LocalStack,
                                                                     receiver: tuple[Receiver, str]) -> None:
    smo, callback = receiver
    created = subscribe(stack, smo, callback, flt="(neq,objectType,ResourceInfo)|(neq,parentId,null)")
    value = uuid.uuid4().hex[:8]
    relabel(stack, value)
    arrived = eventually(lambda: about(smo, value))
    assert arrived, "no notification arrived"
    note = arrived[0]
    assert note["notificationEventType"] == 1
    assert note["consumerSubscriptionId"] == created["consumerSubscriptionId"]
    assert note["objectRef"].startswith("/o2ims-infrastructureInventory/v1/resourcePools/")
    assert "parentId" not in note["postObjectState"] and "elements" not in note["postObjectState"]
    assert all(r.verified for r in smo.notifications())


def test_an_smo_down_for_a_while_receives_every_notification_afterwards(stack: LocalStack,
                                                                        receiver: tuple[Receiver, str]) -> None:
    smo, callback = receiver
    subscribe(stack, smo, callback, flt="(neq,objectType,ResourceInfo)|(neq,parentId,null)")
    smo.answer = 503
    value = uuid.uuid4().hex[:8]
    nodes = relabel(stack, value, count=3)
    assert eventually(lambda: len(smo.notifications()) >= 3, timeout=30), "no attempt reached the SMO"
    time.sleep(3)  # keep refusing a little longer: retries pile up
    smo.answer = 204
    delivered = eventually(lambda: len({n["notificationId"] for n in about(smo, value)}) >= len(nodes), timeout=90)
    assert delivered, f"only {len({n['notificationId'] for n in about(smo, value)})} of {len(nodes)} arrived"
    by_id: dict[str, int] = {}
    for note in about(smo, value):
        by_id[note["notificationId"]] = by_id.get(note["notificationId"], 0) + 1
    assert len(by_id) == len(nodes)  # one notification per change, however many attempts
    assert max(by_id.values()) >= 2  # retried: the same notificationId came again


def test_410_disables_the_subscription(stack: LocalStack, receiver: tuple[Receiver, str]) -> None:
    smo, callback = receiver
    created = subscribe(stack, smo, callback)
    smo.answer = 410
    relabel(stack, uuid.uuid4().hex[:8])
    path = f"{SUBSCRIPTIONS}/{created['subscriptionId']}"
    with stack.client() as client:
        disabled = eventually(lambda: client.get(path).json().get("status") == "disabled")
        assert disabled, client.get(path).text
        assert "secret" not in client.get(path).json()


def test_a_400_from_the_smo_ends_in_the_dlq_and_can_be_replayed(stack: LocalStack,
                                                                receiver: tuple[Receiver, str]) -> None:
    smo, callback = receiver
    created = subscribe(stack, smo, callback, flt="(neq,objectType,ResourceInfo)|(neq,parentId,null)")
    smo.answer = 400
    value = uuid.uuid4().hex[:8]
    relabel(stack, value)
    with stack.client() as client:
        def dead() -> list[dict[str, Any]]:
            listed = client.get("/ops/deliveries/dead?limit=100").json()
            return [d for d in listed if d["subscriptionId"] == created["subscriptionId"]]

        letters = eventually(dead)
        assert letters and "400" in json.dumps(letters[0])
        refused = len(about(smo, value))
        smo.answer = 204
        ids = [d["notificationId"] for d in letters]
        replayed = client.post("/ops/deliveries/dead/replay", json={"notificationIds": ids}).json()
        assert sorted(replayed["replayed"]) == sorted(ids)
    assert eventually(lambda: len(about(smo, value)) > refused), "the replayed notification never arrived"
