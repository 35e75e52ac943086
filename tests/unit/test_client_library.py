"""The SMO client library (client/) against httpx.MockTransport: paging, ProblemDetails as typed errors, retries,
tokens, waiting and notification signatures, for the blocking and the asyncio client alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from netweave_client import (
    AlarmEventNotification,
    AsyncClient,
    Client,
    ClientCredentials,
    Conflict,
    DeploymentNotification,
    InventoryChangeNotification,
    NotFound,
    NotificationReceiver,
    OperationFailed,
    PoolFailed,
    RetryPolicy,
    ServiceUnavailable,
    SignatureError,
    Unauthorized,
    WaitTimeout,
)
from netweave_client.models import OperationStatus
from standardwebhooks.webhooks import Webhook

BASE = "http://gw.test"
POOLS = "/o2ims-infrastructureInventory/v1/resourcePools"
Handler = Callable[[httpx.Request], httpx.Response]


def pool(n: int, **extensions: Any) -> dict[str, Any]:
    return {"resourcePoolId": f"p{n}", "name": f"pool-{n}", "description": "", "oCloudId": "oc",
            "globalLocationId": "loc", "location": "edge", "extensions": extensions}


def operation(status: str, error: dict[str, Any] | None = None, progress: int = 0) -> dict[str, Any]:
    body = {"operationId": "op1", "deploymentId": "d1", "operationType": "create", "status": status,
            "createdAt": "2026-12-07T00:00:00Z", "progress": [{"at": "t", "message": f"m{i}"} for i in range(progress)]}
    return {**body, "error": error} if error else body


def client(handler: Handler, sleeps: list[float] | None = None, **kwargs: Any) -> Client:
    return Client(BASE, kwargs.pop("token", "tok"), transport=httpx.MockTransport(handler),
                  sleep=(sleeps.append if sleeps is not None else lambda _: None), **kwargs)


def problem(status: int, **extra: Any) -> httpx.Response:
    body = {"type": f"https://netweave.io/problems/{status}", "title": "t", "status": status, "detail": "d", **extra}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


def paged(seen: list[httpx.Request]) -> Handler:
    """Three pages of two pools; each links to the next with the marker the gateway would issue."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params.get("nextpage_opaque_marker", "1"))
        headers = {}
        if page < 3:
            headers["Link"] = f'<{BASE}{POOLS}?filter=x&nextpage_opaque_marker={page + 1}>; rel="next"'
        return httpx.Response(200, json=[pool(2 * page - 1), pool(2 * page)], headers=headers)

    return handle


def test_paging_follows_the_next_link_across_three_pages() -> None:
    seen: list[httpx.Request] = []
    with client(paged(seen)) as nw:
        pools = nw.inventory.resource_pools(filter="(eq,name,x)", limit=2).all()
    assert [p.resource_pool_id for p in pools] == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert len(seen) == 3
    assert seen[0].url.params["filter"] == "(eq,name,x)" and seen[0].url.params["limit"] == "2"
    assert all(r.headers["Authorization"] == "Bearer tok" for r in seen)


def test_the_pager_is_lazy_and_yields_pages() -> None:
    seen: list[httpx.Request] = []
    with client(paged(seen)) as nw:
        pager = nw.inventory.resource_pools()
        assert seen == []
        first = next(iter(pager))
        assert first.name == "pool-1" and len(seen) == 1
        assert [len(page) for page in pager.pages()] == [2, 2, 2]


def test_a_problem_becomes_a_typed_error_with_every_member() -> None:
    handler = lambda r: problem(409, requestId="req-1", activeOperationId="op9")  # noqa: E731
    with client(handler) as nw, pytest.raises(Conflict) as raised:
        nw.dms.scale("d1", 3)
    error = raised.value
    assert (error.status, error.title, error.detail, error.request_id) == (409, "t", "d", "req-1")
    assert error.type == "https://netweave.io/problems/409"
    assert error.extra == {"activeOperationId": "op9"}


def test_an_error_without_a_problem_body_still_is_typed() -> None:
    with client(lambda r: httpx.Response(404, text="nope")) as nw, pytest.raises(NotFound) as raised:
        nw.inventory.resource_pool("x")
    assert raised.value.status == 404 and raised.value.detail == "nope"


def test_429_is_retried_after_the_retry_after_it_names() -> None:
    answers = iter([problem(429), problem(429), httpx.Response(200, json=[pool(1)])])
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response = next(answers)
        if response.status_code == 429:
            response.headers["Retry-After"] = "7"
        return response

    with client(handle, sleeps) as nw:
        assert [p.name for p in nw.inventory.resource_pools()] == ["pool-1"]
    assert len(seen) == 3 and sleeps == [7.0, 7.0]


def test_retries_are_bounded_in_count_and_in_delay() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response = problem(503)
        response.headers["Retry-After"] = "3600"
        return response

    with client(handle, sleeps, retry=RetryPolicy(attempts=3, max_delay=5)) as nw, pytest.raises(ServiceUnavailable):
        nw.inventory.ocloud()
    assert len(seen) == 3 and sleeps == [5.0, 5.0]


def test_client_credentials_are_fetched_once_and_refreshed_before_expiry() -> None:
    now = [1000.0]
    grants: list[httpx.Request] = []
    used: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            grants.append(request)
            return httpx.Response(200, json={"access_token": f"t{len(grants)}", "expires_in": 300})
        used.append(request.headers["Authorization"])
        return httpx.Response(200, json={"oCloudId": "oc", "globalCloudId": "g", "globalcloudId": "g", "name": "n",
                                         "description": "", "serviceUri": BASE})

    credentials = ClientCredentials(f"{BASE}/token", "smo", "s3cret", scope="o2ims:read", refresh_margin=60)
    with client(handle, token=credentials, clock=lambda: now[0]) as nw:
        nw.inventory.ocloud()
        now[0] += 200  # 100 s before expiry: still outside the margin
        nw.inventory.ocloud()
        now[0] += 50  # 50 s before expiry: inside the margin, replaced before the request leaves
        nw.inventory.ocloud()
    assert used == ["Bearer t1", "Bearer t1", "Bearer t2"]
    assert len(grants) == 2
    form = dict(x.split("=") for x in grants[0].content.decode().split("&"))
    assert form == {"grant_type": "client_credentials", "scope": "o2ims%3Aread"}
    assert grants[0].headers["Authorization"].startswith("Basic ")


def test_a_refused_token_is_refreshed_once_then_the_401_reaches_the_caller() -> None:
    grants: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            grants.append(1)
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return problem(401)

    credentials = ClientCredentials(f"{BASE}/token", "smo", "s3cret")
    with client(handle, token=credentials) as nw, pytest.raises(Unauthorized):
        nw.inventory.ocloud()
    assert len(grants) == 2


def operations(*bodies: dict[str, Any]) -> Handler:
    answers = iter(bodies)
    return lambda request: httpx.Response(200, json=next(answers))


def test_wait_follows_an_operation_to_success_reporting_progress() -> None:
    seen: list[int] = []
    handler = operations(operation("queued"), operation("running", progress=1), operation("succeeded", progress=2))
    with client(handler) as nw:
        done = nw.dms.wait("op1", progress=lambda op: seen.append(len(op.progress or [])))
    assert done.status is OperationStatus.SUCCEEDED and seen == [0, 1, 2]


def test_wait_raises_the_operations_problem_when_it_fails() -> None:
    error = {"title": "helm failed", "status": 422, "detail": "context deadline exceeded"}
    with client(operations(operation("running"), operation("failed", error))) as nw, \
            pytest.raises(OperationFailed) as raised:
        nw.dms.wait("op1")
    assert raised.value.operation.error is not None
    assert raised.value.operation.error.detail == "context deadline exceeded"
    assert "context deadline exceeded" in str(raised.value)


def test_wait_gives_up_at_its_timeout() -> None:
    with client(operations(operation("running"))) as nw, pytest.raises(WaitTimeout) as raised:
        nw.dms.wait("op1", timeout=0)
    assert raised.value.last is not None


def test_wait_for_a_pool_treats_not_yet_visible_as_pending_and_checks_the_size() -> None:
    answers = iter([problem(404), httpx.Response(200, json=pool(1, status="provisioning", readyNodes=0,
                                                                desiredNodes=3)),
                    httpx.Response(200, json=pool(1, status="ready", readyNodes=2, desiredNodes=2)),
                    httpx.Response(200, json=pool(1, status="ready", readyNodes=3, desiredNodes=3))])
    with client(lambda r: next(answers)) as nw:
        ready = nw.inventory.wait_resource_pool("p1", expect_nodes=3)
    assert ready is not None and ready.extensions == {"status": "ready", "readyNodes": 3, "desiredNodes": 3}


def test_wait_for_a_pool_that_fails_raises() -> None:
    handler = lambda r: httpx.Response(200, json=pool(1, status="failed", statusReason="no capacity"))  # noqa: E731
    with client(handler) as nw, pytest.raises(PoolFailed, match="no capacity"):
        nw.inventory.wait_resource_pool("p1")


def signed(secret: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    now = datetime.now(UTC)
    signature = Webhook(secret).sign("msg-1", now, raw)
    return raw, {"webhook-id": "msg-1", "webhook-timestamp": str(int(now.timestamp())),
                 "webhook-signature": signature}


SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes, as the standard allows


def test_a_signed_notification_verifies_and_parses_into_its_shape() -> None:
    receiver = NotificationReceiver(["whsec_" + "c2Vjb25kLXNlY3JldC1vZi0yNC1ieXRlcw==", SECRET])
    shapes: list[tuple[dict[str, Any], type]] = [
        ({"notificationId": "n1", "notificationEventType": 1, "objectRef": "/o2ims-infrastructureInventory/v1/x",
          "priorObjectState": {"a": 1}, "postObjectState": {"a": 2}}, InventoryChangeNotification),
        ({"notificationId": "n2", "globalCloudID": "g", "notificationEventType": 3,
          "objectRef": "/o2ims-infrastructureMonitoring/v1/alarms/a1", "alarmEventRecordId": "a1",
          "perceivedSeverity": 1}, AlarmEventNotification),
        ({"notificationId": "n3", "eventType": "DeploymentReady", "deploymentId": "d1",
          "timestamp": "t", "deployment": {"status": "deployed"}}, DeploymentNotification),
    ]
    for body, shape in shapes:
        notification = receiver.receive(*signed(SECRET, body))
        assert isinstance(notification, shape)
        assert getattr(notification, "notification_id", None) == body["notificationId"]


def test_a_notification_with_a_wrong_or_tampered_signature_is_refused() -> None:
    body = {"notificationId": "n1", "notificationEventType": 0}
    raw, headers = signed(SECRET, body)
    with pytest.raises(SignatureError):
        NotificationReceiver(["whsec_" + "c2Vjb25kLXNlY3JldC1vZi0yNC1ieXRlcw=="]).receive(raw, headers)
    with pytest.raises(SignatureError):
        NotificationReceiver([SECRET]).receive(raw.replace(b"0", b"2"), headers)


def test_the_async_client_pages_retries_and_waits_like_the_blocking_one() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    pages = paged(seen)
    ops = iter([problem(503), httpx.Response(200, json=operation("running")),
                httpx.Response(200, json=operation("succeeded"))])

    def handle(request: httpx.Request) -> httpx.Response:
        return pages(request) if request.url.path == POOLS else next(ops)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario() -> tuple[list[str], OperationStatus]:
        async with AsyncClient(BASE, "tok", transport=httpx.MockTransport(handle), sleep=sleep) as nw:
            names = [p.name async for p in nw.inventory.resource_pools()]
            done = await nw.dms.wait("op1", interval=1)
            return names, done.status

    names, status = asyncio.run(scenario())
    assert names == [f"pool-{n}" for n in range(1, 7)] and len(seen) == 3
    assert status is OperationStatus.SUCCEEDED
    assert len(sleeps) == 2 and sleeps[1] == 1  # a backoff after the 503, then the wait's interval
