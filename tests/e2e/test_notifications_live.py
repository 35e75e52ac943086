"""Notifications on the running local stack, as an SMO receives them: signed, complete through an outage, and
each failure mode ending where it should (docs/architecture.md §4, §7; issue 4)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import LocalStack, binary, eventually
from tests.waiting import wait_until

# A new subscription hears a probe only after fan-out has worked through the first polls' events queued before it
# (about 830 with the cluster and the DTIAS fleet: seconds on a busy two-core machine; this bound is for a starved one).
FIRST_EVENTS_SECONDS = 180
pytestmark = pytest.mark.xdist_group("stack")
SUBSCRIPTIONS = "/o2ims-infrastructureInventory/v1/subscriptions"


@pytest.fixture(scope="module", autouse=True)
def first_poll_done(stack: LocalStack) -> None:
    """The inventory is there (the stack's first poll ran). `subscribe` waits for a change to arrive as a
    modification, so no test relabels a node before the poll that knows it as it was."""
    with stack.client() as client:
        assert eventually(lambda: client.get("/o2ims-infrastructureInventory/v1/deploymentManagers").json())


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
    reaches_the_subscription(stack, smo)
    return dict(created)


def reaches_the_subscription(stack: LocalStack, smo: Receiver) -> None:
    """Fan-out reads subscriptions through a short cache (docs/architecture.md §4), in the pump's process: relabel a
    node with a fresh probe value until one of these changes arrives, verified and as a modification. From then on
    every change reaches the new subscription (the cache is per kind, see SubscriptionStore.active)."""
    probes: list[str] = []

    def arrived() -> bool:
        if any(n["notificationEventType"] == 1 for probe in probes for n in about(smo, probe)):
            return True
        probes.append(f"probe-{uuid.uuid4().hex[:8]}")
        relabel(stack, probes[-1])
        return False

    wait_until(arrived, timeout=FIRST_EVENTS_SECONDS, interval=1, what="a probe change reaching the new subscription")


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

    def attempts() -> dict[str, int]:
        """How often each notification about our change has been sent so far."""
        counts: dict[str, int] = {}
        for note in about(smo, value):
            counts[note["notificationId"]] = counts.get(note["notificationId"], 0) + 1
        return counts

    # One subscription's notifications go out in order: the refused first one is retried, the others wait behind it.
    wait_until(attempts, 30, what="a notification about the change reaching the SMO")
    wait_until(lambda: max(attempts().values()) >= 2, 30, what="the refused notification sent again")
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
            """The dead letters of the notifications about our change (not of the probe's)."""
            ours = {n["notificationId"] for n in about(smo, value)}
            listed = client.get("/ops/deliveries/dead?limit=100").json()
            return [d for d in listed
                    if d["subscriptionId"] == created["subscriptionId"] and d["notificationId"] in ours]

        letters = eventually(dead)
        assert letters and "400" in json.dumps(letters[0])
        refused = len(about(smo, value))
        smo.answer = 204
        ids = [d["notificationId"] for d in letters]
        replayed = client.post("/ops/deliveries/dead/replay", json={"notificationIds": ids}).json()
        assert sorted(replayed["replayed"]) == sorted(ids)
    assert eventually(lambda: len(about(smo, value)) > refused), "the replayed notification never arrived"
