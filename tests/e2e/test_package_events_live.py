"""Package events on the running local stack, as a DMS subscriber hears them (docs/dms.md, "Events"): a subscription
that names `PackageCreated`/`PackageDeleted` receives an upload and a deletion, signed, with the package in it; a
subscription that names no event types keeps hearing deployment events only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.chart_repo import build_repository
from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import LocalStack
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
DMS = "/o2dms/v1"
PACKAGE_TYPES = ["PackageCreated", "PackageDeleted"]


@pytest.fixture()
def smo() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(secrets=[], echo=False)
    server = serve(receiver)
    yield receiver, f"http://127.0.0.1:{server.server_address[1]}/o2dms/notify"
    server.shutdown()


def subscribe(client: httpx.Client, smo: Receiver, callback: str, **body: Any) -> dict[str, Any]:
    reply = client.post(f"{DMS}/subscriptions", json={"callback": callback, **body})
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    smo.secrets.append(created["secret"])
    return created


def upload(client: httpx.Client, archive: Path) -> dict[str, Any]:
    reply = client.post(f"{DMS}/deploymentPackages", content=archive.read_bytes(),
                        headers={"Content-Type": "application/gzip"})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def package_notes(smo: Receiver, subscription: dict[str, Any], event_type: str) -> dict[str, dict[str, Any]]:
    """Verified notifications of one subscription and event type, by package id."""
    return {r.body["packageId"]: r.body for r in smo.notifications()
            if r.verified and r.body.get("eventType") == event_type and "packageId" in r.body
            and r.body.get("consumerSubscriptionId") == subscription["consumerSubscriptionId"]}


def test_a_dms_subscriber_hears_a_package_upload_and_its_deletion(stack: LocalStack, smo: tuple[Receiver, str],
                                                                  tmp_path: Path) -> None:
    receiver, callback = smo
    name = f"pkg-events-{uuid.uuid4().hex[:6]}"
    uploaded: list[dict[str, Any]] = []
    with stack.client() as client:
        # Made first: once `asked` hears anything, fan-out's cached list of DMS subscriptions holds this one too.
        deployments_only = subscribe(client, receiver, f"{callback}/deployments",
                                     consumerSubscriptionId=f"deployments-{name}")
        asked = subscribe(client, receiver, f"{callback}/packages", consumerSubscriptionId=f"packages-{name}",
                          eventTypes=PACKAGE_TYPES, filter=f"(eq,name,{name})")

        def created_arrived() -> bool:
            """Fan-out caches subscriptions for a few seconds: upload a new version until one's event arrives."""
            if set(package_notes(receiver, asked, "PackageCreated")) & {p["packageId"] for p in uploaded}:
                return True
            version = f"0.0.{len(uploaded) + 1}"
            directory = build_repository(tmp_path / version, [(name, version)])
            uploaded.append(upload(client, directory / f"{name}-{version}.tgz"))
            return False

        wait_until(created_arrived, timeout=60, interval=1, what="a PackageCreated reaching the subscription")
        latest = uploaded[-1]
        created = wait_until(lambda: package_notes(receiver, asked, "PackageCreated").get(latest["packageId"], {}),
                             timeout=30, interval=0.5, what="the last upload's PackageCreated")
        assert created["objectRef"] == f"{DMS}/deploymentPackages/{latest['packageId']}"
        assert created["deploymentPackage"] == client.get(f"{DMS}/deploymentPackages/{latest['packageId']}").json()

        for package in uploaded:
            assert client.delete(f"{DMS}/deploymentPackages/{package['packageId']}").status_code == 204
        deleted = wait_until(lambda: package_notes(receiver, asked, "PackageDeleted").get(latest["packageId"], {}),
                             timeout=30, interval=0.5, what="the PackageDeleted of the last package")
        assert deleted["priorDeploymentPackage"]["version"] == latest["version"]
        assert "deploymentPackage" not in deleted
        for subscription in (asked, deployments_only):
            client.delete(f"{DMS}/subscriptions/{subscription['subscriptionId']}")

    order = [r.body["eventType"] for r in receiver.notifications()
             if r.body.get("packageId") == latest["packageId"]]
    assert order == PACKAGE_TYPES, "one creation, then one deletion, in that order"
    assert not [r for r in receiver.notifications() if r.body.get("consumerSubscriptionId") == f"deployments-{name}"
                and "packageId" in r.body and r.body.get("eventType", "").startswith("Package")], \
        "a subscription that named no event types must not start receiving package events"
