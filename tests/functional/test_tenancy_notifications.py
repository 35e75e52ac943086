"""DMS notifications never cross tenants (docs/o2-conventions.md §6, "Tenancy"; docs/security.md "Tenancy"): two
tenants and an admin subscribe to deployment events with real webhook receivers on 127.0.0.1; each tenant deploys;
the DMS worker runs each create (its events are published before the backend is reached, and this stage's cluster is
never reachable), `fan_out` and `deliver` run as Lambda would run them. A tenant's receiver gets its own deployment's
events and nothing of the other's (names, namespaces, values); the admin's gets both."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.handlers import dms as dms_handlers
from chalicelib.handlers import notifications
from devtools.smo_receiver import Receiver, serve
from tests.functional.conftest import Api
from tests.functional.tenancy_fixtures import (
    SUBSCRIPTIONS,
    api_of,
    chart_archive,
    deploy,
    drain,
    stage_components,
    tenants,
    upload,
)

pytestmark = pytest.mark.xdist_group("tenancy")


@pytest.fixture()
def parts(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Components:
    return stage_components(tmp_path_factory.mktemp("tenancy-events"))


@pytest.fixture()
def receivers() -> Iterator[dict[str, tuple[Receiver, ThreadingHTTPServer]]]:
    started = {}
    for name in ("a", "b", "admin"):
        receiver = Receiver(secrets=[], echo=False)
        started[name] = (receiver, serve(receiver))
    yield started
    for _, server in started.values():
        server.shutdown()
        server.server_close()


def subscribe(api: Api, token: str, server: ThreadingHTTPServer) -> str:
    collection, _ = SUBSCRIPTIONS["dms"]
    callback = f"http://127.0.0.1:{server.server_address[1]}/notify"
    reply = api.request("POST", collection, token=token, body={"callback": callback})
    assert reply.status == 201, reply.body
    return str(reply.json()["secret"])


def run_pipeline(parts: Components) -> None:
    """The worker over every queued operation, then fan-out over every event, then delivery of every notification."""
    operations = drain(parts, resources.DMS_OPERATIONS, delete=False)  # left for the retry, as SQS would
    assert operations
    dms_handlers.run_operations_batch({"Records": operations}, parts)  # fails at the backend: retried later
    events = drain(parts, resources.EVENTS)
    assert events, "the worker published no event"
    assert notifications.fan_out_batch({"Records": events}, parts) == {"batchItemFailures": []}
    deliveries = drain(parts, resources.DELIVERIES, delete=False)  # deliver deletes what it delivered
    assert notifications.deliver_batch({"Records": deliveries}, None, parts) == {"batchItemFailures": []}


def test_a_tenants_dms_subscription_receives_nothing_of_another_tenants_deployments(
        parts: Components, receivers: dict[str, tuple[Receiver, ThreadingHTTPServer]],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    who = tenants()
    with api_of(parts) as api:
        for name, token in (("a", who.a), ("b", who.b), ("admin", who.admin)):
            receivers[name][0].secrets.append(subscribe(api, token, receivers[name][1]))
        package_id = upload(api, who.a, chart_archive(tmp_path_factory.mktemp("chart")))
        of_a = deploy(api, who.a, package_id, {"cellId": "a-secret"})["deploymentId"]
        of_b = deploy(api, who.b, package_id, {"cellId": "b-secret"})["deploymentId"]
    run_pipeline(parts)
    seen = {name: receiver.notifications() for name, (receiver, _) in receivers.items()}
    assert all(n.verified for got in seen.values() for n in got)  # signed with each subscription's own secret
    deployments = {name: {n.body["deploymentId"] for n in got} for name, got in seen.items()}
    assert deployments == {"a": {of_a}, "b": {of_b}, "admin": {of_a, of_b}}, deployments
    assert all(n.body["eventType"] == "DeploymentCreated" for got in seen.values() for n in got)
    assert "a-secret" not in str([n.body for n in seen["b"]]) and "b-secret" not in str([n.body for n in seen["a"]])
