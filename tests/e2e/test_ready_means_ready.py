"""Ready means ready (issue 16): `make run`'s banner comes once the first inventory and deployment polls are stored,
so the first answers after it are the whole O-Cloud, and a subscription made at that moment hears only what changes
afterwards — not a create for every object that was there all along."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import start_stack, stop_stack
from tests.e2e.test_notifications_live import SUBSCRIPTIONS, reaches_the_subscription

pytestmark = pytest.mark.xdist_group("lifecycle")  # a stack of its own, started by the test
ROOT = "/o2ims-infrastructureInventory/v1"


@pytest.mark.timeout(600)  # a stack of its own (first polls of the cluster and the DTIAS fleet), then the probe
def test_the_first_answers_after_the_banner_are_the_whole_site_and_a_subscription_hears_only_later_changes(
    tmp_path: Path,
) -> None:
    smo = Receiver(secrets=[])
    receiver = serve(smo)
    callback = f"http://127.0.0.1:{receiver.server_address[1]}/notify/{uuid.uuid4().hex[:8]}"
    stack = start_stack(tmp_path / "stack")
    try:
        with stack.client() as client, stack.client(token=None) as anyone:
            # The very first requests after the banner, before anything else had a chance to happen.
            created = client.post(SUBSCRIPTIONS, json={"callback": callback, "consumerSubscriptionId": "at-banner"})
            types = client.get(f"{ROOT}/resourceTypes").json()
            pools = client.get(f"{ROOT}/resourcePools").json()
            managers = client.get(f"{ROOT}/deploymentManagers").json()
            ready = anyone.get("/ready")
        assert created.status_code == 201, created.text
        assert types and pools and managers, (types, pools, managers)
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        smo.secrets.append(created.json()["secret"])
        # A change after the subscription reaches it (as a modification); by then the first poll's events, queued
        # before it, have long been through fan-out (one ordered queue).
        reaches_the_subscription(stack, smo)
        received = [r.body for r in smo.notifications()]
        assert received and all(r.verified for r in smo.notifications())
        creates = [n.get("objectRef") for n in received if n["notificationEventType"] == 0]
        assert creates == [], f"creates for pre-existing objects: {creates[:5]} ({len(creates)} in all)"
    finally:
        stop_stack(stack)
        receiver.shutdown()
