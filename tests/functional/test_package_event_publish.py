# ruff: noqa: F811  (pytest fixtures imported from test_packages_api are parameters here)
"""Package uploads and deletions publish their event to the real `events` queue (moto), and a change whose event
cannot be queued is undone: no package exists without its PackageCreated, none is gone without its PackageDeleted
(docs/dms.md, "Events")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.adapters.queue.events_queue import SqsEventPublisher
from chalicelib.bootstrap import Components
from tests.functional.conftest import Api, assert_problem
from tests.functional.test_packages_api import (  # noqa: F401  (fixtures)
    COLLECTION,
    MakeChart,
    _register,
    _stored,
    _upload,
    chart_source,
    make_chart,
    packages_api,
)


def package_events(components: Components, package_id: str) -> list[dict[str, Any]]:
    """This package's events on the events queue (taken off it); other tests' messages are put straight back."""
    sqs, url = components.clients.sqs, components.queue_url(resources.EVENTS)
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                          VisibilityTimeout=5).get("Messages", []):
        others = []
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("objectId") == package_id:
                found.append(event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                others.append(message)
        if others:
            for message in others:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=0)
            break  # what is left belongs to others; reading on would only meet it again
    return found


def unreachable_events_queue(components: Components) -> None:
    """The events queue as a deleted or misconfigured one answers: SQS refuses every send."""
    missing = components.queue_url(resources.EVENTS).replace("events", "no-such-events-queue")
    components.events_publisher = SqsEventPublisher(components.clients.sqs, missing)  # type: ignore[misc]


def test_an_upload_and_a_deletion_publish_their_events(components: Components, packages_api: Api,
                                                       make_chart: MakeChart) -> None:
    _, data = make_chart("3.0.0")
    package = _upload(packages_api, data).json()
    assert packages_api.request("DELETE", f"{COLLECTION}/{package['packageId']}").status == 204
    events = package_events(components, package["packageId"])
    assert [e["detailType"] for e in events] == ["PackageCreated", "PackageDeleted"]
    assert events[0]["post"] == package and events[1]["prior"] == package
    assert all(e["source"] == "dms" and e["shared"] for e in events), "the shared catalogue: news to every tenant"


def test_an_upload_whose_event_cannot_be_queued_stores_nothing(components: Components, packages_api: Api,
                                                               make_chart: MakeChart) -> None:
    before = _stored(components)
    unreachable_events_queue(components)
    name, data = make_chart("3.1.0")
    reply = _upload(packages_api, data)
    assert_problem(reply, 503, "could not be queued")
    assert reply.header("Retry-After")
    assert _stored(components) == before, "neither the archive nor the record stays"
    assert packages_api.get(f"{COLLECTION}?filter=(eq,name,{name})").json() == []


@pytest.mark.parametrize("registered", [False, True], ids=["archive", "reference"])
def test_a_deletion_whose_event_cannot_be_queued_keeps_the_package(components: Components, packages_api: Api,
                                                                   make_chart: MakeChart, registered: bool) -> None:
    if registered:
        reply = _register(packages_api, "https://charts.example.net/stable")
    else:
        reply = _upload(packages_api, make_chart("3.2.0")[1])
    assert reply.status == 201, reply.body
    package = reply.json()
    unreachable_events_queue(components)
    assert_problem(packages_api.request("DELETE", f"{COLLECTION}/{package['packageId']}"), 503, "undone")
    assert packages_api.get(f"{COLLECTION}/{package['packageId']}").json() == package, "still there, unchanged"
