"""The Redfish event receiver (services/redfish_events.py): a BMC's event with the right token asks for one poll of
its backend; anything else is refused before the body is read, and a refusal never says which part was wrong
beyond what the route already shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.domain.errors import BadRequest, NetweaveError, NotFound, ServiceUnavailable, Unauthorized
from chalicelib.services.redfish_events import MAX_EVENT_BYTES, EventTooLarge, receive_event
from chalicelib.settings import AdapterConfig, AuthSettings, GatewayConfig, Settings

TOKEN = "s" * 48
EVENT = {"Context": "netweave:bare-metal", "Events": [
    {"EventType": "Alert", "MessageId": "iDRAC.2.9.SYS1003", "Severity": "Critical",
     "OriginOfCondition": {"@odata.id": "/redfish/v1/Systems/System.Embedded.1"}}]}


def redfish(backend: str, events: dict[str, Any] | None) -> AdapterConfig:
    options: dict[str, Any] = {"endpoints": [{"name": "du-1", "url": "https://10.0.0.1"}]}
    if events is not None:
        options["events"] = {"destination": f"https://o2.example.net/ops/redfish-events/{backend}", **events}
    return AdapterConfig(id=backend, type="redfish", options=options)


@dataclass
class Ports:
    settings: Settings
    secrets: dict[str, str] = field(default_factory=dict)
    polls: list[str] = field(default_factory=list)

    def secret(self, ssm_parameter: str) -> str:
        return self.secrets[ssm_parameter]  # KeyError: SSM unreachable, as far as the service can tell

    @property
    def poll_trigger(self) -> Any:
        return self.polls.append


@pytest.fixture()
def ports(monkeypatch: pytest.MonkeyPatch) -> Ports:
    monkeypatch.setenv("EVENT_TOKEN", TOKEN)
    monkeypatch.setenv("SHORT_TOKEN", "guessable")
    gateway = GatewayConfig(ims_adapters=[
        redfish("bare-metal", {"tokenEnv": "EVENT_TOKEN"}), redfish("far-edge", {"tokenSsmParameter": "/p"}),
        redfish("weak", {"tokenEnv": "SHORT_TOKEN"}), redfish("unset", {"tokenEnv": "NO_SUCH_VARIABLE"}),
        redfish("polled-only", None), AdapterConfig(id="edge", type="kubernetes", options={"events": {}})])
    settings = Settings(gateway=gateway, auth=AuthSettings(issuer="i", audience="a", shared_secret="x" * 32))
    return Ports(settings, secrets={"/p": "p" * 40})


def body(document: Any = EVENT) -> bytes:
    return json.dumps(document).encode()


def test_an_event_with_the_token_asks_for_one_poll_of_its_backend(ports: Ports) -> None:
    event = receive_event("bare-metal", TOKEN, body(), ports)
    assert ports.polls == ["bare-metal"]
    assert event.events[0].message_id == "iDRAC.2.9.SYS1003"
    receive_event("far-edge", "p" * 40, body(), ports)  # the token kept in SSM
    assert ports.polls == ["bare-metal", "far-edge"]


@pytest.mark.parametrize("token", [None, "", TOKEN[:-1], TOKEN + "x", "p" * 40])
def test_a_wrong_or_missing_token_is_refused_without_reading_the_body(ports: Ports, token: str | None) -> None:
    with pytest.raises(Unauthorized) as refused:
        receive_event("bare-metal", token, b"not even json", ports)
    assert TOKEN not in refused.value.detail
    assert ports.polls == []


@pytest.mark.parametrize("backend", ["nope", "polled-only", "edge", "weak", "unset"])
def test_a_backend_that_takes_no_events_is_not_found_whatever_the_token(ports: Ports, backend: str) -> None:
    # `weak` and `unset`: a token too short or missing never turns into "any token will do"
    for token in (TOKEN, "guessable", "", None):
        with pytest.raises(NotFound) as refused:
            receive_event(backend, token, body(), ports)
        assert refused.value.detail == "no event receiver here"  # the same words for every reason
    assert ports.polls == []


@pytest.mark.parametrize(("raw", "error"), [
    (b"{", BadRequest), (body({"Events": []}), BadRequest), (body({"Events": [{"EventType": "Alert"}]}), BadRequest),
    (body([EVENT]), BadRequest), (b" " * (MAX_EVENT_BYTES + 1), EventTooLarge),
    (b'{"Events":' + b"[" * 30000 + b"]" * 30000 + b"}", BadRequest),  # nested past the parser's limit: no 500
])
def test_a_body_that_is_no_redfish_event_is_refused(ports: Ports, raw: bytes, error: type[NetweaveError]) -> None:
    with pytest.raises(error):
        receive_event("bare-metal", TOKEN, raw, ports)
    assert ports.polls == []


def test_an_unreadable_token_is_a_503_not_a_crash(ports: Ports) -> None:
    ports.secrets.clear()
    with pytest.raises(ServiceUnavailable):
        receive_event("far-edge", "p" * 40, body(), ports)
