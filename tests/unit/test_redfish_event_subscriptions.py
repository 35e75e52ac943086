"""The `redfish` backend keeps one EventService subscription per BMC that offers events (docs/redfish-backend.md
"Events"): found or made on the first poll, checked with one GET afterwards, re-made when it is gone, never an
error for the poll, and no request at all on a BMC without EventService. A fake BMC stands in for sushy's connector."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import sushy.exceptions

from chalicelib.adapters.ims.redfish_events import EventSubscriptions
from chalicelib.domain.redfish_events import TOKEN_HEADER, EventsOptions

DESTINATION = "https://o2.example.net/ops/redfish-events/bare-metal"
TOKEN = "t" * 40
ROOT = {"@odata.id": "/redfish/v1/", "EventService": {"@odata.id": "/redfish/v1/EventService"}}
SUBSCRIPTIONS = "/redfish/v1/EventService/Subscriptions"


@dataclass
class Reply:
    document: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int = 200

    @property
    def content(self) -> bytes:
        return json.dumps(self.document).encode() if self.document is not None else b""

    def json(self) -> Any:
        return self.document


class FakeBmc:
    """A Redfish service as far as subscriptions go: the EventService, its collection, a limit like iDRAC's."""

    def __init__(self, enabled: bool = True, event_types: list[str] | None = None, limit: int = 20) -> None:
        self.service = {"@odata.id": "/redfish/v1/EventService", "ServiceEnabled": enabled,
                        "Subscriptions": {"@odata.id": SUBSCRIPTIONS},
                        "EventTypesForSubscription": ["Alert", "StatusChange", "MetricReport"]
                        if event_types is None else event_types}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.headers: dict[str, list[dict[str, str]]] = {}  # write-only on a real BMC: kept apart
        self.requests: list[str] = []
        self.limit = limit

    def get(self, path: str = "", **_: Any) -> Reply:
        self.requests.append(f"GET {path}")
        if path == "/redfish/v1/EventService":
            return Reply(self.service)
        assert path == SUBSCRIPTIONS
        return Reply({"Members": [{"@odata.id": p} for p in self.subscriptions]})

    def post(self, path: str = "", data: Any = None, **_: Any) -> Reply:
        self.requests.append(f"POST {path}")
        if len(self.subscriptions) >= self.limit:
            raise sushy.exceptions.BadRequestError("POST", path, Reply({"error": {  # quoting what it was sent
                "code": "Base.1.12.CreateLimitReachedForResource", "message": f"limit reached for {data}"}},
                status_code=400))
        location = f"{SUBSCRIPTIONS}/{len(self.requests)}"
        self.subscriptions[location] = {"@odata.id": location, **{k: v for k, v in data.items() if k != "HttpHeaders"},
                                        "HttpHeaders": None}
        self.headers[location] = data["HttpHeaders"]
        return Reply(self.subscriptions[location], {"Location": f"https://10.0.0.1{location}"}, 201)

    def delete(self, path: str = "", **_: Any) -> Reply:
        self.requests.append(f"DELETE {path}")
        del self.subscriptions[path]
        return Reply(status_code=204)

    def collection(self, path: str) -> list[dict[str, Any]]:  # the adapter's reader: members with $expand
        self.requests.append(f"GET {path}?$expand")
        return list(self.subscriptions.values())


@pytest.fixture()
def subscriber(monkeypatch: pytest.MonkeyPatch) -> EventSubscriptions:
    monkeypatch.setenv("EVENT_TOKEN", TOKEN)
    return EventSubscriptions("bare-metal", EventsOptions(destination=DESTINATION, token_env="EVENT_TOKEN"), None)


def ensure(subscriber: EventSubscriptions, bmc: FakeBmc, endpoint: str = "du-1", root: dict[str, Any] = ROOT) -> str:
    return subscriber.ensure(endpoint, root, bmc, bmc)


def test_one_subscription_is_made_then_checked_with_one_get_per_poll(subscriber: EventSubscriptions) -> None:
    bmc = FakeBmc()
    assert ensure(subscriber, bmc) == "created"
    [(location, created)] = bmc.subscriptions.items()
    assert created["Destination"] == DESTINATION and created["Context"] == "netweave:bare-metal"
    assert created["Protocol"] == "Redfish"
    assert created["EventTypes"] == ["Alert", "StatusChange"]  # what we want of what the BMC offers
    assert bmc.headers[location] == [{TOKEN_HEADER: TOKEN}]  # the shared token rides in HttpHeaders

    bmc.requests.clear()
    assert [ensure(subscriber, bmc) for _ in range(3)] == ["kept"] * 3
    assert bmc.requests == [f"GET {SUBSCRIPTIONS}"] * 3  # one GET per poll, nothing else
    assert len(bmc.subscriptions) == 1


def test_a_subscription_deleted_on_the_bmc_is_made_again(subscriber: EventSubscriptions) -> None:
    bmc = FakeBmc()
    ensure(subscriber, bmc)
    bmc.subscriptions.clear()  # an operator, a BMC reset to defaults
    assert ensure(subscriber, bmc) == "created"
    assert len(bmc.subscriptions) == 1


def test_a_new_process_replaces_ours_so_the_bmc_holds_the_current_token(
        subscriber: EventSubscriptions, monkeypatch: pytest.MonkeyPatch) -> None:
    bmc = FakeBmc()
    ensure(subscriber, bmc)
    bmc.subscriptions["/other"] = {"@odata.id": "/other", "Destination": "https://siem.example.net/", "Context": "x"}
    monkeypatch.setenv("EVENT_TOKEN", "r" * 40)  # rotated; the BMC never shows which token it holds
    fresh = EventSubscriptions("bare-metal", subscriber.options, None)  # a cold container
    assert ensure(fresh, bmc) == "created"
    ours = [p for p, d in bmc.subscriptions.items() if d["Context"] == "netweave:bare-metal"]
    assert len(ours) == 1 and bmc.headers[ours[0]] == [{TOKEN_HEADER: "r" * 40}]
    assert "/other" in bmc.subscriptions  # someone else's subscription is left alone


def test_no_request_on_a_bmc_without_event_service_and_one_read_when_it_is_disabled(
        subscriber: EventSubscriptions) -> None:
    bmc = FakeBmc()
    assert ensure(subscriber, bmc, root={"@odata.id": "/redfish/v1/"}) == "unsupported"
    assert bmc.requests == []
    disabled = FakeBmc(enabled=False)
    assert [ensure(subscriber, disabled, "du-2") for _ in range(2)] == ["disabled"] * 2
    assert disabled.requests == ["GET /redfish/v1/EventService"]  # read once per process, not per poll


def test_a_service_without_event_types_gets_no_filter(subscriber: EventSubscriptions) -> None:
    bmc = FakeBmc(event_types=[])  # EventTypes deprecated: RegistryPrefixes/ResourceTypes, none meaning all
    ensure(subscriber, bmc)
    [created] = bmc.subscriptions.values()
    assert "EventTypes" not in created and "RegistryPrefixes" not in created


def test_a_full_bmc_refuses_and_the_poll_goes_on(subscriber: EventSubscriptions,
                                                caplog: pytest.LogCaptureFixture) -> None:
    bmc = FakeBmc(limit=0)
    assert ensure(subscriber, bmc) == "refused"
    assert bmc.subscriptions == {}
    [error] = [str(getattr(r, "error", "")) for r in caplog.records if hasattr(r, "error")]
    assert "CreateLimitReachedForResource" in error and DESTINATION in error
    assert TOKEN not in error  # never in the log, even when the BMC quotes the request


def test_no_subscription_without_a_usable_token(monkeypatch: pytest.MonkeyPatch,
                                                subscriber: EventSubscriptions) -> None:
    monkeypatch.setenv("EVENT_TOKEN", "short")
    bmc = FakeBmc()
    assert ensure(subscriber, bmc) == "refused"
    assert bmc.subscriptions == {}
