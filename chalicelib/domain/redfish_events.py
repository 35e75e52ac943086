"""Redfish events delivered to netweave (docs/redfish-backend.md "Events"): the `events` option of a `redfish` backend,
which both the adapter (it subscribes) and the receiver route (it checks the token) read, and the Event body a BMC
POSTs. Pure: no I/O."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.domain.models import WireModel

# The header a subscription asks the BMC to send with every event (EventDestination `HttpHeaders`). Not
# `Authorization`: the receiver is public to the JWT middleware, and a bearer scheme would suggest a JWT.
TOKEN_HEADER = "X-Netweave-Event-Token"
MIN_TOKEN_LENGTH = 32  # a shared secret, not a password: generated (`openssl rand -hex 32`), never typed
RECEIVER_PATH = "/ops/redfish-events/"


def subscription_context(backend_id: str) -> str:
    """The `Context` of netweave's subscription on a BMC: with the Destination, how the adapter finds its own."""
    return f"netweave:{backend_id}"


class EventsOptions(BaseModel):
    """`options.events` of a `redfish` backend: where BMCs deliver events, and where the shared token is kept."""

    # defer_build: only a redfish backend with events reads it; the API function imports it for the receiver route
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    destination: str = Field(pattern=r"^https?://[^/\s]+/\S*$")  # the public gateway's receiver route
    token_env: str | None = Field(default=None, alias="tokenEnv")
    token_ssm_parameter: str | None = Field(default=None, alias="tokenSsmParameter")

    @model_validator(mode="after")
    def _one_token_source(self) -> EventsOptions:
        if (self.token_env is None) == (self.token_ssm_parameter is None):
            raise ValueError("events: set exactly one of `tokenEnv` and `tokenSsmParameter`")
        return self

    def check_destination(self, backend_id: str) -> None:
        """A destination that names another backend (or another route) would deliver nothing usable."""
        if not re.search(rf"{re.escape(RECEIVER_PATH)}{re.escape(backend_id)}/?$", self.destination):
            raise ValueError(f"events.destination must end with {RECEIVER_PATH}{backend_id}")


class EventOrigin(WireModel):
    model_config = ConfigDict(extra="allow")

    odata_id: str = Field(alias="@odata.id", max_length=2048)


class EventRecord(WireModel):
    """One record of an Event (DMTF Event v1: `Events[]`)."""

    model_config = ConfigDict(extra="allow")

    message_id: str = Field(alias="MessageId", min_length=1, max_length=256)
    event_type: str | None = Field(default=None, alias="EventType", max_length=64)  # deprecated since Event v1.3
    origin_of_condition: EventOrigin | None = Field(default=None, alias="OriginOfCondition")


class RedfishEvent(WireModel):
    """The body a BMC POSTs to a subscription's Destination (DMTF Event v1). Only what netweave reads is checked;
    vendors add their own members (Oem, MessageArgs, Severity, …)."""

    model_config = ConfigDict(extra="allow")

    context: str | None = Field(default=None, alias="Context", max_length=256)
    events: list[EventRecord] = Field(alias="Events", min_length=1, max_length=100)
